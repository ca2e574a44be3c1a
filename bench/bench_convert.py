"""Converting a CSV to LD item JSON: ldtransform (with validation) next to what a user
would write today and next to DuckDB, the practical limit.

    .venv/bin/python bench/bench_convert.py [--rows N] [--memory-rows 100000,1000000,5000000]
        [--repeat R] [--rounds K] [--workdir DIR] [--quick] [--data accounts|messy]

The source is bench_validate.py's seeded account CSV (20 columns, ~1 % rows with an error),
or with ``--data messy`` bench/datasets.py's messy one (22 columns, multi-line text).
Each tool runs in a fresh process, best of --repeat:

- ldtransform: ``ldtransform.convert(csv, schema=bench_accounts.json, to="items-json")``,
  validation included (rejected rows quarantined);
- pandas: ``read_csv(dtype=str)`` + ``to_json(orient="records")``, no validation at all;
- DuckDB: ``COPY (SELECT * FROM read_csv(...)) TO ... (FORMAT json)``, no validation;
- ldtransform-jsonl: as ldtransform, to LD item JSON Lines (``to="items-jsonl"``);
- polars: the schema's rules (types, required, enum, pattern, lengths, minimum, primary
  key uniqueness) as polars expressions, the valid rows typed to NDJSON.

Then ldtransform-jsonl and polars in turn (A B A B, --rounds times): their medians, the
ratio, and the machine's load average next to each run, since the cores may be shared.

Peak memory is the child's ``ru_maxrss``; "added" subtracts its RSS after imports. Then
ldtransform alone on --memory-rows files, to show memory does not grow with the file.
Targets are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
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
TARGET_POLARS = 1.0   # no slower than polars running the same rules
VALIDATING = ("ldtransform", "ldtransform-jsonl", "polars")


def run_ldtransform(source: str, out: str, schema: str) -> dict[str, Any]:
    import ldtransform

    result = ldtransform.convert(source, schema=schema, out=out, to="items-json",
                                 overwrite=True)
    return {"rows": result.report.rows_read, "written": result.records_written,
            "rejected": result.report.rows_rejected, "bytes": result.bytes_written}


def run_ldtransform_lines(source: str, out: str, schema: str) -> dict[str, Any]:
    import ldtransform

    result = ldtransform.convert(source, schema=schema, out=out, to="items-jsonl",
                                 overwrite=True)
    return {"rows": result.report.rows_read, "written": result.records_written,
            "rejected": result.report.rows_rejected, "bytes": result.bytes_written}


def run_polars(source: str, out: str, schema: str) -> dict[str, Any]:
    """The schema's rules written as polars expressions; valid rows, typed, to NDJSON."""
    import polars as pl

    spec = json.loads(Path(schema).read_text())
    frame = pl.read_csv(source, infer_schema=False)
    checks, typed = [], []
    for field in spec["fields"]:
        name, rules = field["name"], field.get("constraints", {})
        raw = pl.when(pl.col(name) != "").then(pl.col(name))  # "" is missing
        value = _polars_typed(raw, field.get("type", "string"))
        ok = raw.is_null() | value.is_not_null()
        if rules.get("required"):
            ok = ok & raw.is_not_null()
        if "enum" in rules:
            ok = ok & (raw.is_null() | raw.is_in(rules["enum"]))
        if "pattern" in rules:
            ok = ok & (raw.is_null() | raw.str.contains(rules["pattern"]))
        if "maxLength" in rules:
            ok = ok & (raw.is_null() | (raw.str.len_chars() <= rules["maxLength"]))
        if "minimum" in rules:
            ok = ok & (value.is_null() | (value >= rules["minimum"]))
        checks.append(ok.fill_null(True))
        typed.append(value.alias(name))
    if spec.get("primaryKey"):
        checks.append(pl.struct(spec["primaryKey"]).is_first_distinct())
    valid = frame.lazy().filter(pl.all_horizontal(checks)).select(typed).collect()
    target = Path(out) / "accounts.jsonl"
    valid.write_ndjson(target)
    return {"rows": len(frame), "written": len(valid), "rejected": len(frame) - len(valid),
            "bytes": target.stat().st_size}


def _polars_typed(raw: Any, kind: str) -> Any:
    import polars as pl

    if kind == "integer":
        return raw.cast(pl.Int64, strict=False)
    if kind == "number":
        return raw.cast(pl.Float64, strict=False)
    if kind == "boolean":
        return raw.replace_strict({"true": True, "false": False}, default=None,
                                  return_dtype=pl.Boolean)
    if kind == "date":
        return raw.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    return raw


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
         "pandas": (run_pandas, ("pandas",)), "duckdb": (run_duckdb, ("duckdb",)),
         "ldtransform-jsonl": (run_ldtransform_lines, ("pandas", "ldtransform",
                                                       "ldtransform.pipeline",
                                                       "ldtransform.writers.items_json")),
         "polars": (run_polars, ("polars",))}


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
    used = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({**found, "seconds": seconds, "peak": peak, "added": peak - baseline,
                      "cpu": used.ru_utime + used.ru_stime}))


def measure(key: str, source: Path, repeat: int, schema: Path) -> dict[str, Any]:
    """Best time and the highest peak memory of ``repeat`` fresh child processes."""
    runs = child_runs(__file__, [key, str(source), str(schema)], repeat)
    if isinstance(runs, str):
        return {"error": runs}
    best = min(runs, key=lambda r: r["seconds"])
    return {**best, "peak": max(r["peak"] for r in runs), "added": max(r["added"] for r in runs)}


def alternate(ours: str, theirs: str, source: Path, rounds: int, schema: Path) -> None:
    """``ours`` and ``theirs`` in turn, ``rounds`` times each; medians and their ratio."""
    if rounds < 1:
        return
    print(f"\n{ours} and {theirs} in turn (A B A B), {rounds} rounds:\n")
    print("| round | tool | time (s) | process CPU (s) | peak RSS (MiB) | load (1 min) |")
    print("|--:|---|--:|--:|--:|--:|")
    times: dict[str, list[float]] = {ours: [], theirs: []}
    for number in range(1, rounds + 1):
        for key in (ours, theirs):
            result = measure(key, source, 1, schema)
            if "error" in result:
                print(f"| {number} | {key} | error: {result['error']} | | | |")
                return
            times[key].append(result["seconds"])
            print(f"| {number} | {key} | {result['seconds']:.2f} | {result['cpu']:.2f} | "
                  f"{mib(result['peak'])} | {os.getloadavg()[0]:.1f} |")
    mine, other = statistics.median(times[ours]), statistics.median(times[theirs])
    met = mine <= TARGET_POLARS * other
    print(f"\n- {'met' if met else 'NOT met'}: no slower than {theirs} with the same rules: "
          f"medians {mine:.2f} s and {other:.2f} s, {mine / other:.2f}x {theirs}' time")


def mib(value: float) -> str:
    return f"{value / 2**20:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--memory-rows", default="100000,1000000,5000000",
                        help="comma-separated sizes for the memory run ('' to skip)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3,
                        help="A B A B rounds of ldtransform-jsonl and polars (0 to skip)")
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
        args.rows, args.memory_rows, args.repeat, args.rounds = 50_000, "", 1, 1
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
        alternate("ldtransform-jsonl", "polars", source, args.rounds, schema)
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
        print(f"| {key} | {'yes' if key in VALIDATING else 'no'} | "
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
