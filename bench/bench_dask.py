"""The Dask engine against the local engine: one conversion of many files, on this machine.

    .venv/bin/python bench/bench_dask.py [--rows 10000000] [--files 20] [--workers 2]
        [--repeat-every 5] [--rounds 2] [--workdir DIR]

The source is bench_validate.py's seeded account CSV (20 columns, unique keys, ~1 % rows
with an error) cut into --files CSV files; every --repeat-every-th file starts with 0.1 %
of its rows repeating keys of the file before (duplicates across files, found by the
shuffle of key hashes; each such file is converted a second time, seeded: 1 makes that
every file after the first, the worst case; the injected errors include duplicate keys,
which spread over the files too). Each engine converts all of them to LD item JSON in a
fresh process, in turn (local, dask, local, dask: --rounds times), after one conversion
that loads what it imports, and the medians are compared; the load average is printed
next to every run, since the cores may be shared.

- local: ``ldtransform.convert(files, ...)``; peak memory is the process's own
  high-water mark (``VmHWM``);
- dask: the same with ``engine="dask"`` on a ``LocalCluster`` of --workers processes (one
  thread each); peak memory per worker is each worker's ``VmHWM``, and the task
  stream splits the time into partitions, the shuffle of key hashes, the partitions run
  again (seeded) and the driver's own work.

From that split, the time on N machines of --workers workers is estimated on paper:
driver work + the partitions spread over N x workers slots (longest first) + the
shuffle's compute spread over its buckets + its bytes over a 1 Gbit/s network + the
seeded partitions spread likewise. The estimate ignores stragglers, object-store reads
and the scheduler's own limits (a few thousand tasks a second).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_validate import SCHEMA, cached
from results import load, recorded

NETWORK = 125e6  # bytes/s: 1 Gbit/s
MACHINES = (1, 2, 4, 8, 16)


def split_files(source: Path, folder: Path, files: int, every: int) -> list[str]:
    """``source`` cut into ``files`` CSV files (by rows, read as text: quoted newlines
    stay whole), every ``every``-th repeating a few keys of the file before."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    stem = f"{source.stem}-{files}-{every}"
    paths = [folder / f"{stem}-{n:03d}.csv" for n in range(files)]
    if all(path.exists() for path in paths):
        return [str(path) for path in paths]
    with pacsv.open_csv(source) as reader:
        names = reader.schema.names
    table = pacsv.read_csv(source, convert_options=pacsv.ConvertOptions(
        column_types={name: pa.string() for name in names},
        strings_can_be_null=False), read_options=pacsv.ReadOptions(block_size=1 << 24),
        parse_options=pacsv.ParseOptions(newlines_in_values=True))
    size = -(-table.num_rows // files)
    previous = None
    for number, path in enumerate(paths):
        piece = table.slice(number * size, size)
        if previous is not None and piece.num_rows and number % every == 0:
            repeats = max(1, piece.num_rows // 1000)
            keys = previous.column("accountId").slice(0, repeats)
            head = piece.slice(0, repeats).set_column(
                piece.schema.get_field_index("accountId"), "accountId", keys)
            piece = pa.concat_tables([head, piece.slice(repeats)])
        pacsv.write_csv(piece, path.with_suffix(".part"))
        path.with_suffix(".part").rename(path)
        previous = piece
    return [str(path) for path in paths]


def peak_rss() -> int:
    # results.peak_rss (the own high-water mark; it says why), written out again because
    # client.run ships it to the workers by value and they do not have bench/ on their path.
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child_local(files: list[str], out: str) -> dict[str, Any]:
    import ldtransform

    ldtransform.convert(files[:1], schema=SCHEMA, out=out, overwrite=True)  # imports
    started = time.perf_counter()
    result = ldtransform.convert(files, schema=SCHEMA, out=out, overwrite=True)
    return {"seconds": time.perf_counter() - started, "peak": peak_rss(),
            "rows": result.report.rows_read, "rejected": result.report.rows_rejected,
            "written": result.records_written}


def child_dask(files: list[str], out: str, workers: int) -> dict[str, Any]:
    from distributed import Client, LocalCluster, get_task_stream

    import ldtransform

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        # Imports are not what is measured: one file on each worker first.
        ldtransform.convert(files[:workers], schema=SCHEMA, out=out, overwrite=True,
                            engine="dask", scheduler=client)
        with get_task_stream(client) as stream:
            started = time.perf_counter()
            result = ldtransform.convert(files, schema=SCHEMA, out=out, overwrite=True,
                                         engine="dask", scheduler=client)
            seconds = time.perf_counter() - started
        peaks = client.run(peak_rss)
    return {"seconds": seconds, "peaks": sorted(peaks.values()),
            "rows": result.report.rows_read, "rejected": result.report.rows_rejected,
            "written": result.records_written, "split": split_stream(stream.data, seconds)}


def kind(key: str) -> str:
    """What a task of the engine does, from its key."""
    text = key if isinstance(key, str) else str(key)
    if text.startswith("ldtransform-"):
        return "seeded" if text.endswith("-seeded") else (
            "job" if text.endswith("-job") else "partition")
    for prefix, name in (("split-", "shuffle"), ("getitem-", "shuffle"),
                         ("first_places-", "shuffle"), ("_keys-", "shuffle")):
        if text.startswith(prefix):
            return name
    return "gather"


def split_stream(records: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """Compute seconds per kind of task, the bytes the shuffle moved, the driver's share."""
    compute: dict[str, list[float]] = {}
    shuffle_bytes = 0
    first, last = float("inf"), 0.0
    for record in records:
        what = kind(record["key"])
        for step in record["startstops"]:
            first, last = min(first, step["start"]), max(last, step["stop"])
            if step["action"] == "compute":
                compute.setdefault(what, []).append(step["stop"] - step["start"])
        if what == "shuffle" and str(record["key"]).startswith("getitem-"):
            shuffle_bytes += record.get("nbytes", 0)
    busy = max(0.0, last - first) if records else 0.0
    return {"compute": compute, "shuffle_bytes": shuffle_bytes,
            "driver": max(0.0, seconds - busy), "tasks": len(records)}


def longest_first(durations: list[float], slots: int) -> float:
    """When the last of ``durations`` ends on ``slots`` workers, longest first."""
    ends = [0.0] * max(1, slots)
    for duration in sorted(durations, reverse=True):
        at = ends.index(min(ends))
        ends[at] += duration
    return max(ends)


def on_paper(split: dict[str, Any], workers: int, machines: int) -> float:
    compute = split["compute"]
    slots = machines * workers
    shuffle = sum(compute.get("shuffle", [])) / slots
    return (split["driver"] + longest_first(compute.get("partition", []), slots) + shuffle
            + split["shuffle_bytes"] / NETWORK
            + longest_first(compute.get("seeded", []), slots))


def run_child(args: list[str]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise SystemExit((done.stderr.strip().splitlines() or ["no output"])[-1])
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat-every", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir())
                        / "ldtransform-bench")
    parser.add_argument("--child", nargs="+")
    options = parser.parse_args()
    if options.child:
        engine, out, workers, *files = options.child
        measured = (child_local(files, out) if engine == "local"
                    else child_dask(files, out, int(workers)))
        print(json.dumps(measured))
        return
    options.workdir.mkdir(parents=True, exist_ok=True)
    source, _ = cached(options.workdir, options.rows)
    files = split_files(source, options.workdir, options.files, options.repeat_every)
    out = options.workdir / "dask-bench-out"
    with recorded("bench_dask"):
        print(f"{options.rows:,} rows in {options.files} CSV files, {options.workers} "
              f"workers; local and dask in turn, {options.rounds} round(s)\n")
        runs: dict[str, list[dict[str, Any]]] = {"local": [], "dask": []}
        for _ in range(options.rounds):
            for engine in ("local", "dask"):
                shutil.rmtree(out, ignore_errors=True)
                measured = run_child([engine, str(out), str(options.workers), *files])
                runs[engine].append(measured)
                print(f"{engine:5}  {measured['seconds']:7.2f} s  ({load()})")
        report(runs, options.workers)


def report(runs: dict[str, list[dict[str, Any]]], workers: int) -> None:
    local = statistics.median(r["seconds"] for r in runs["local"])
    dask = statistics.median(r["seconds"] for r in runs["dask"])
    same = {(r["rows"], r["rejected"], r["written"]) for rs in runs.values() for r in rs}
    print(f"\nsame counts in every run: {len(same) == 1} {sorted(same)}")
    print("\n| engine | median s | peak memory |\n|---|---:|---|")
    print(f"| local | {local:.2f} | {max(r['peak'] for r in runs['local']) / 2**20:,.0f} MiB |")
    peaks = max((r["peaks"] for r in runs["dask"]), key=max)
    print(f"| dask ({workers} workers) | {dask:.2f} | "
          + ", ".join(f"{p / 2**20:,.0f}" for p in peaks) + " MiB per worker |")
    print(f"\noverhead ratio dask / local: {dask / local:.2f}")
    split = runs["dask"][-1]["split"]
    print(f"\ntask stream of the last dask run: {split['tasks']} tasks")
    for what, durations in sorted(split["compute"].items()):
        print(f"- {what}: {len(durations)} task(s), {sum(durations):.2f} s of compute")
    print(f"- shuffle bytes: {split['shuffle_bytes']:,}; driver alone: "
          f"{split['driver']:.2f} s")
    print(f"\non paper, {workers} workers per machine (see the module docstring):\n")
    print("| machines | estimated s |\n|---:|---:|")
    for machines in MACHINES:
        print(f"| {machines} | {on_paper(split, workers, machines):.2f} |")


if __name__ == "__main__":
    main()
