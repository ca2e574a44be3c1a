"""Where convert's CPU goes: per thread, and per column for the field checks.

    .venv/bin/python bench/bench_convert_cpu.py [--rows N] [--workdir DIR] [--quick]

Converts the messy Account CSV (bench/datasets.py, as bench_issue_table.py) to LD item JSON
Lines once, in a fresh process, reading every thread's CPU time from /proc while it runs
(Linux), and the CPU each column's field checks take; then polars running the same rules
(bench_issue_table.py's expressions), in a fresh process too, for its whole CPU time. A
diagnosis, not a target: it says what a faster convert would have to take from.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from datasets import MESSY_SCHEMA, messy_csv
from results import child_result, recorded

#: Thread names (less any ``_N`` a pool adds) and what the threads do.
ROLES = {
    "MainThread": "main: batches through the validation, rejected rows",
    "ldtransform": "worker pool: field checks, encoding the items (in two halves)",
    "ldtransform-write": "write-behind: writes the items the pool encoded, SHA-256",
    "ldtransform-read-ahead": "CSV parse (Arrow, one thread)",
    "ldtransform-keys": "primary-key index",
    "ldtransform-csv-scan": "stray-quote scan",
    "ldtransform-hash": "SHA-256 of the source",
}


def _thread_cpu(names: dict[int, str], seen: dict[int, float]) -> None:
    """Every thread's CPU seconds so far, by native id (kept after the thread ends)."""
    tick = os.sysconf("SC_CLK_TCK")
    for thread in threading.enumerate():
        if thread.native_id:
            names[thread.native_id] = thread.name
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seen[int(tid)] = (int(fields[11]) + int(fields[12])) / tick


def child_ldtransform(csv: str, out: str) -> dict[str, Any]:
    import ldtransform
    from ldtransform import validation

    by_field: Counter[str] = Counter()
    check = validation.check_field

    def timed(column: Any, spec: Any, context: Any) -> Any:
        started = time.thread_time()
        try:
            return check(column, spec, context)
        finally:
            by_field[f"{spec.name} ({spec.type})"] += time.thread_time() - started

    validation.check_field = timed  # type: ignore[assignment]
    names: dict[int, str] = {}
    seen: dict[int, float] = {}
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.02):
            _thread_cpu(names, seen)

    watcher = threading.Thread(target=watch, name="watcher", daemon=True)
    watcher.start()
    started, cpu = time.perf_counter(), time.process_time()
    result = ldtransform.convert(csv, schema=MESSY_SCHEMA, out=out, to="items-jsonl",
                                 overwrite=True)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    done.set()
    watcher.join()
    _thread_cpu(names, seen)
    main = threading.main_thread().native_id
    threads: Counter[str] = Counter()
    for tid, used in seen.items():
        name = "MainThread" if tid == main else names.get(tid, "Arrow's own threads")
        if name == "watcher":
            continue
        base, _, number = name.rpartition("_")
        threads[base if number.isdigit() else name] += used
    return {"rows": result.records_written, "seconds": seconds, "cpu": cpu,
            "threads": dict(threads), "fields": dict(by_field)}


def child_polars(csv: str, out: str) -> dict[str, Any]:
    import bench_issue_table

    started, cpu = time.perf_counter(), time.process_time()
    rows = bench_issue_table.polars_convert({"csv": csv}, out)
    return {"rows": rows, "seconds": time.perf_counter() - started,
            "cpu": time.process_time() - cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir())
                        / "ldtransform-bench")
    parser.add_argument("--quick", action="store_true", help="20,000 rows")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        tool, csv, out = args.child
        run = child_ldtransform if tool == "ldtransform" else child_polars
        print(json.dumps(run(csv, out)))
        return
    if args.quick:
        args.rows = 20_000
    if not Path("/proc/self/task").is_dir():
        sys.exit("this benchmark reads threads' CPU from /proc (Linux)")
    csv = str(messy_csv(args.workdir, args.rows))
    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as out, recorded("bench_convert_cpu"):
        ours = child_result(__file__, "ldtransform", csv, out)
        theirs = child_result(__file__, "polars", csv, out)
        if isinstance(ours, str) or isinstance(theirs, str):
            sys.exit(f"a run failed: {ours if isinstance(ours, str) else theirs}")
        print(f"Converting the {args.rows:,}-row messy Account CSV to LD item JSON Lines, "
              "one run each\n")
        print("| run | rows written | seconds | process CPU (s) |\n|---|--:|--:|--:|")
        print(f"| ldtransform.convert | {ours['rows']:,} | {ours['seconds']:.2f} "
              f"| {ours['cpu']:.2f} |")
        print(f"| polars, the same rules → NDJSON | {theirs['rows']:,} "
              f"| {theirs['seconds']:.2f} | {theirs['cpu']:.2f} |")
        print("\nldtransform's CPU by thread:\n\n| thread | does | CPU (s) |\n|---|---|--:|")
        for name, used in sorted(ours["threads"].items(), key=lambda kv: -kv[1]):
            if used >= 0.005:
                print(f"| {name} | {ROLES.get(name, '')} | {used:.2f} |")
        fields = sorted(ours["fields"].items(), key=lambda kv: -kv[1])
        print(f"\nField checks, {sum(ours['fields'].values()):.2f} s of CPU in all; "
              "the costliest columns:\n\n| column | CPU (s) |\n|---|--:|")
        for name, used in fields[:8]:
            print(f"| {name} | {used:.2f} |")


if __name__ == "__main__":
    main()
