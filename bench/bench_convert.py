"""Converting a CSV to LD item JSON: ldtransform (with validation) next to what a user
would write today and next to DuckDB, the practical limit.

    .venv/bin/python bench/bench_convert.py [--rows N] [--memory-rows 100000,1000000,5000000]
        [--repeat R] [--workdir DIR] [--quick] [--data accounts|messy]

The source is bench_validate.py's seeded account CSV (20 columns, ~1 % rows with an error),
or with ``--data messy`` bench/datasets.py's messy one (22 columns, multi-line text).
Each tool runs in a fresh process, best of --repeat:

- ldtransform: ``ldtransform.convert(csv, schema=bench_accounts.json, to="items-json")``,
  validation included (rejected rows quarantined);
- pandas: ``read_csv(dtype=str)`` + ``to_json(orient="records")``, no validation at all;
- DuckDB: ``COPY (SELECT * FROM read_csv(...)) TO ... (FORMAT json)``, no validation.

Peak memory is the child's ``ru_maxrss``; "added" subtracts its RSS after imports. Then
ldtransform alone on --memory-rows files, to show memory does not grow with the file.
Targets are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_read import child_runs, peak_rss
from bench_validate import SCHEMA, cached
from datasets import MESSY_SCHEMA, messy_csv
from results import recorded

TARGET_PANDAS = 2.0   # at least 2x faster than pandas read_csv + to_json
TARGET_DUCKDB = 2.0   # within 2x of DuckDB's COPY ... (FORMAT json)


def run_ldtransform(source: str, out: str, schema: str) -> dict[str, Any]:
    import ldtransform

    result = ldtransform.convert(source, schema=schema, out=out, to="items-json",
                                 overwrite=True)
    return {"rows": result.report.rows_read, "written": result.records_written,
            "rejected": result.report.rows_rejected, "bytes": result.bytes_written}


def run_pandas(source: str, out: str, _: str) -> dict[str, Any]:
    import pandas as pd

    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    target = Path(out) / "accounts.json"
    frame.to_json(target, orient="records")
    return {"rows": len(frame), "written": len(frame), "bytes": target.stat().st_size}


def run_duckdb(source: str, out: str, _: str) -> dict[str, Any]:
    import duckdb

    target = Path(out) / "accounts.json"
    connection = duckdb.connect()
    # COPY answers the number of rows it wrote: no second scan of the file is timed.
    written = connection.execute(f"COPY (SELECT * FROM read_csv('{source}', all_varchar=true)) "
                                 f"TO '{target}' (FORMAT json)").fetchone()
    rows = written[0] if written else 0
    return {"rows": rows, "written": rows, "bytes": target.stat().st_size}


TOOLS = {"ldtransform": (run_ldtransform, ("pandas", "ldtransform", "ldtransform.pipeline",
                                           "ldtransform.writers.items_json")),
         "pandas": (run_pandas, ("pandas",)), "duckdb": (run_duckdb, ("duckdb",))}


def child(key: str, source: str, schema: str) -> None:
    """One measurement, printed as JSON (in the child process)."""
    import importlib

    function, modules = TOOLS[key]
    for module in modules:
        importlib.import_module(module)
    baseline = peak_rss()
    out = tempfile.mkdtemp(prefix=f"bench-convert-{key}-")
    try:
        started = time.perf_counter()
        found = function(source, out, schema)
        seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(out, ignore_errors=True)
    peak = peak_rss()
    print(json.dumps({**found, "seconds": seconds, "peak": peak, "added": peak - baseline}))


def measure(key: str, source: Path, repeat: int, schema: Path) -> dict[str, Any]:
    """Best time and the highest peak memory of ``repeat`` fresh child processes."""
    runs = child_runs(__file__, [key, str(source), str(schema)], repeat)
    if isinstance(runs, str):
        return {"error": runs}
    best = min(runs, key=lambda r: r["seconds"])
    return {**best, "peak": max(r["peak"] for r in runs), "added": max(r["added"] for r in runs)}


def mib(value: float) -> str:
    return f"{value / 2**20:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--memory-rows", default="100000,1000000,5000000",
                        help="comma-separated sizes for the memory run ('' to skip)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir())
                        / "ldtransform-bench")
    parser.add_argument("--quick", action="store_true", help="smoke run: 50k rows, no memory")
    parser.add_argument("--data", choices=["accounts", "messy"], default="accounts",
                        help="bench_validate.py's accounts, or bench/datasets.py's messy ones")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.quick:
        args.rows, args.memory_rows, args.repeat = 50_000, "", 1
    args.workdir.mkdir(parents=True, exist_ok=True)
    messy = args.data == "messy"
    schema = MESSY_SCHEMA if messy else SCHEMA

    def data(rows: int) -> Path:
        return messy_csv(args.workdir, rows) if messy else cached(args.workdir, rows)[0]

    source = data(args.rows)
    with recorded("bench_convert" + ("-messy" if messy else "")):
        results = {key: measure(key, source, args.repeat, schema) for key in TOOLS}
        print(f"\n{source.name}: {mib(source.stat().st_size)} MiB, {args.rows:,} rows, "
              f"{22 if messy else 20} columns; best of {args.repeat}\n")
        print_comparison(results, args.rows)
        sizes = [int(n) for n in args.memory_rows.split(",") if n]
        if sizes:
            print("\n| rows | file (MiB) | ldtransform time (s) | peak RSS (MiB) "
                  "| added RSS (MiB) |\n|--:|--:|--:|--:|--:|")
        for rows in sizes:
            path = data(rows)
            result = measure("ldtransform", path, 1, schema)
            if "error" in result:
                print(f"| {rows:,} | | error: {result['error']} | | |")
                continue
            print(f"| {rows:,} | {mib(path.stat().st_size)} | {result['seconds']:.2f} | "
                  f"{mib(result['peak'])} | {mib(result['added'])} |")


def print_comparison(results: dict[str, dict[str, Any]], rows: int) -> None:
    """The table of the tools and the targets met or not."""
    print("| tool | validates | time (s) | rows/s | peak RSS (MiB) | added RSS (MiB) "
          "| output (MiB) |")
    print("|---|---|--:|--:|--:|--:|--:|")
    for key, result in results.items():
        if "error" in result:
            print(f"| {key} | | error: {result['error']} | | | | |")
            continue
        print(f"| {key} | {'yes' if key == 'ldtransform' else 'no'} | "
              f"{result['seconds']:.2f} | {rows / result['seconds']:,.0f} | "
              f"{mib(result['peak'])} | {mib(result['added'])} | {mib(result['bytes'])} |")
    ours = results["ldtransform"].get("seconds")
    if not ours:
        return
    print()
    for key, target, word in (("pandas", TARGET_PANDAS, "faster than"),
                              ("duckdb", TARGET_DUCKDB, "within")):
        theirs = results[key].get("seconds")
        if not theirs:
            continue
        ratio = theirs / ours
        met = ratio >= target if key == "pandas" else ours <= target * theirs
        shown = f"{ratio:.2f}x" if key == "pandas" else f"{ours / theirs:.2f}x DuckDB's time"
        print(f"- {'met' if met else 'NOT met'}: {word} {target:g}x {key}: {shown}")

if __name__ == "__main__":
    main()
