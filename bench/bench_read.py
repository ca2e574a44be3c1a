"""Reading speed and memory of ldtransform next to the tools a user would pick instead.

    .venv/bin/python bench/bench_read.py [--rows N] [--xlsx-rows M] [--workdir DIR] [--quick]

Generates (once, cached in --workdir) a CSV and an XLSX of account-like data, then times
each reader in a fresh subprocess, best of --repeat runs, and prints a Markdown table.
Peak memory is the child's ``ru_maxrss``; "added" subtracts the child's RSS after its
imports, so it is the memory the read itself needed. Targets are printed, never asserted.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from datasets import messy_csv
from results import recorded

if TYPE_CHECKING:
    import pyarrow as pa

# numpy, pyarrow, pandas and ldtransform are imported inside functions: this file is also
# what each child process runs, and the parent must stay small (see ``cached``).
GENERATOR_VERSION = 1  # bump when the generated data changes, to invalidate cached files
FIRST = ["Café", "Müller", "Smith & Sons", 'The "Corner"', "O'Brien's", "Peña", "Harbor View",
         "Green Valley", "Blue Ridge", "Ørsted", "Lakeside", "Main Street", "Big Al's", "Bayou"]
SECOND = ["Market", "GmbH", "Pub", "Store, Inc.", "Deli & Café", "Liquors", "Foods, LLC", "Bakery"]
NOTES = ["Back door only", 'Ask for "Sam" at the counter', "Closed Mondays, cash only",
         "Deliver before 10am.\nDock closes at noon on Fridays.",
         'Owner says "no Sunday deliveries"\nUse side entrance']
NOTE_P = [0.05, 0.04, 0.04, 0.015, 0.015]  # 3 % of the rows have a multi-line note
CITIES = ["Boston", "Providence", "Newark", "Chicago", "Austin", "Denver", "New Orleans"]


def account_table(rows: int, seed: int = 42) -> pa.Table:
    """``rows`` seeded account-like rows, 20 columns; built column-wise, no Python loop."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    rng = np.random.default_rng(seed)

    def pick(values, p=None):
        return pa.array(values).take(pa.array(rng.choice(len(values), rows, p=p)))

    def digits(width: int, high: int):  # codes with leading zeros: "0004172"
        text = pa.array(rng.integers(0, high, rows)).cast(pa.string())
        return pc.utf8_lpad(text, width=width, padding="0")

    def join(*parts):
        return pc.binary_join_element_wise(*parts, "")

    unlicensed = pa.array(rng.random(rows) < 0.1)
    valid_from = np.datetime64("2014-01-01") + rng.integers(0, 3650, rows)
    notes = pick(["", *NOTES], p=[1 - sum(NOTE_P), *NOTE_P])
    columns = {
        "accountId": digits(8, 10**7),
        "name": join(pick(FIRST), " ", pick(SECOND)),
        "accountClass": pick(["Invoiced", "Cash"], p=[0.7, 0.3]),
        "channel": pick(["10", "20", "30"]),
        "currency": pick(["USD", "CAD", "EUR"], p=[0.8, 0.15, 0.05]),
        "paymentTerms": pick(["CCOD", "NET30", "NET15", "COD"]),
        "creditBlock": pa.array(rng.random(rows) < 0.2),
        "overallBlock": pa.array(rng.random(rows) < 0.05),
        "exposure": pa.array(np.round(rng.uniform(0, 10_000, rows), 2)),
        "limit": pick([0.0, 1000.0, 1250.5, 2500.0, 10_000.0]),
        "licenseNumber": pc.if_else(unlicensed, None, join("LIC-", digits(6, 10**6))),
        "licenseValidFrom": pc.if_else(unlicensed, None, pa.array(valid_from)),
        "licenseValidTo": pc.if_else(unlicensed, None, pa.array(valid_from + 365)),
        "addressLine1": join(pa.array(rng.integers(1, 9999, rows)).cast(pa.string()), " ",
                             pick(["Main St", "Harbor Rd", "Elm Ave", "Commerce Way"])),
        "city": pick(CITIES),
        "region": pick(["MA", "RI", "NJ", "IL", "TX", "CO", "LA"]),
        "postalCode": digits(5, 99_999),
        "phoneNumber": pa.array(rng.integers(2_000_000_000, 9_999_999_999, rows)).cast(pa.string()),
        "orderCount": pa.array(rng.integers(0, 500, rows)),
        "notes": pc.if_else(pa.array(rng.random(rows) < 0.02), None, notes),  # some empty
    }
    return pa.table(columns)


def cached(workdir: Path, kind: str, rows: int) -> Path:
    """The data file of ``kind`` with ``rows``, generated unless already there.

    Generated in a child so that this process stays small: Linux carries a parent's peak
    RSS over into the ``ru_maxrss`` of the children it starts, which would hide theirs.
    """
    path = workdir / f"accounts-{rows}-v{GENERATOR_VERSION}.{kind}"
    if not path.exists():
        started = time.perf_counter()
        partial = path.with_name(path.name + ".partial")
        subprocess.run([sys.executable, __file__, "--generate", kind, str(partial), str(rows)],
                       check=True)
        partial.replace(path)
        print(f"generated {path} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return path


def make_csv(path: Path, rows: int) -> None:
    import pyarrow.csv as pacsv
    pacsv.write_csv(account_table(rows), path)  # quotes every string; nulls stay empty


def make_xlsx(path: Path, rows: int) -> None:
    import openpyxl
    table = account_table(rows, seed=7)
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Accounts")
    sheet.append(table.column_names)
    for row in zip(*(column.to_pylist() for column in table.columns), strict=True):
        sheet.append(row)  # dates, booleans and numbers become typed cells
    workbook.save(path)


# -- the readers being compared; each runs in a fresh child process ------------------------

def read_ldtransform_stream(path: str) -> int:
    import ldtransform
    return sum(batch.num_rows for batch in ldtransform.read(path, batch_size=65_536))


def read_ldtransform_table(path: str) -> int:
    import ldtransform
    return int(ldtransform.read(path).to_table().num_rows)


def read_pyarrow(path: str) -> int:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    with open(path, encoding="utf-8", newline="") as f:
        names = next(csv.reader(f))
    convert = pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()))
    parse = pacsv.ParseOptions(newlines_in_values=True)  # the file has quoted newlines
    return int(pacsv.read_csv(path, parse_options=parse, convert_options=convert).num_rows)


def read_pandas_csv(path: str) -> int:
    import pandas as pd
    return len(pd.read_csv(path, dtype=str, keep_default_na=False))


def read_pandas_openpyxl(path: str) -> int:
    import pandas as pd
    return len(pd.read_excel(path, engine="openpyxl"))


READERS = {  # key: (label, function, modules imported before the baseline RSS is taken)
    "ld-stream": ("ldtransform.read, streamed", read_ldtransform_stream, ["ldtransform"]),
    "ld-table": ("ldtransform.read().to_table()", read_ldtransform_table, ["ldtransform"]),
    "pyarrow": ("pyarrow.csv.read_csv (all str)", read_pyarrow, ["pyarrow.csv"]),
    "pandas": ("pandas.read_csv(dtype=str)", read_pandas_csv, ["pandas"]),
    "openpyxl": ('pandas.read_excel(engine="openpyxl")', read_pandas_openpyxl,
                 ["pandas", "openpyxl"]),
}


def peak_rss() -> int:
    """This process's peak resident memory in bytes (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child_runs(script: str, args: list[str], repeat: int) -> list[dict] | str:
    """Run ``script --child *args`` in ``repeat`` fresh processes: the JSON line each one
    printed last, or the last line of the first failure's error output."""
    runs = []
    for _ in range(repeat):
        done = subprocess.run([sys.executable, script, "--child", *args],
                              capture_output=True, text=True)
        if done.returncode != 0:
            return (done.stderr.strip().splitlines() or ["no output"])[-1][:160]
        runs.append(json.loads(done.stdout.splitlines()[-1]))
    return runs


def warm_up(key: str, path: str, modules: Iterable[str]) -> None:
    """Import what a measurement needs before it starts: imports are not what is measured."""
    import importlib
    for module in modules:
        importlib.import_module(module)
    if key.startswith("ld"):  # ldtransform imports its reader lazily: do it before, too
        importlib.import_module("ldtransform.registry").reader_for_source(path)


def child(key: str, path: str) -> None:
    """Run one measurement and print it as JSON (in the child process)."""
    _, function, modules = READERS[key]
    warm_up(key, path, modules)
    baseline = peak_rss()
    started = time.perf_counter()
    rows = function(path)
    seconds = time.perf_counter() - started
    peak = peak_rss()
    print(json.dumps({"rows": rows, "seconds": seconds, "peak": peak, "added": peak - baseline}))


def measure(key: str, path: Path, repeat: int) -> dict:
    """Best time and the highest peak memory of ``repeat`` fresh child processes."""
    runs = child_runs(__file__, [key, str(path)], repeat)
    if isinstance(runs, str):
        return {"error": runs}
    return {"rows": runs[0]["rows"], "seconds": min(r["seconds"] for r in runs),
            "peak": max(r["peak"] for r in runs), "added": max(r["added"] for r in runs)}


def table_rows(path: Path, rows: int, results: dict[str, dict]) -> list[str]:
    """Markdown table rows; a reader that returned the wrong number of rows says so."""
    lines, size, mib = [], path.stat().st_size, 2**20
    for key, r in results.items():
        label = READERS[key][0]
        if r.get("rows", rows) != rows:
            label += f" (**{r['rows']:,} rows, expected {rows:,}**)"
        lines.append(f"| {path.name} | {label} | failed: {r['error']} | | | | |" if "error" in r
                     else f"| {path.name} | {label} | {r['seconds']:.2f} | "
                     f"{r['rows'] / r['seconds']:,.0f} | {r['peak'] / mib:,.0f} | "
                     f"{r['added'] / mib:,.0f} | {r['added'] / size:.2f} |")
    return lines


def ratio(results: dict[str, dict], a: str, b: str) -> float | None:
    """``a``'s time / ``b``'s time: how many times faster ``b`` was; None if either failed."""
    if "seconds" not in results[a] or "seconds" not in results[b]:
        return None
    return float(results[a]["seconds"] / results[b]["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="CSV rows")
    parser.add_argument("--xlsx-rows", type=int, default=100_000, help="XLSX rows")
    parser.add_argument("--workdir", type=Path,
                        default=Path(tempfile.gettempdir()) / "ldtransform-bench")
    parser.add_argument("--repeat", type=int, default=3, help="runs per reader; best time wins")
    parser.add_argument("--quick", action="store_true", help="smoke run: 50k / 5k rows")
    parser.add_argument("--data", choices=["accounts", "messy"], default="accounts",
                        help="the CSV: this file's accounts, or bench/datasets.py's messy ones")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)  # READER PATH
    parser.add_argument("--generate", nargs=3, help=argparse.SUPPRESS)  # csv|xlsx PATH ROWS
    args = parser.parse_args()
    if args.child:  # in a child process: measure one reader
        child(*args.child)
        return
    if args.generate:  # in a child process: write one data file
        kind, path, rows = args.generate
        (make_csv if kind == "csv" else make_xlsx)(Path(path), int(rows))
        return
    if args.quick:
        args.rows, args.xlsx_rows = 50_000, 5_000
    args.workdir.mkdir(parents=True, exist_ok=True)
    csv_path = (messy_csv(args.workdir, args.rows) if args.data == "messy"
                else cached(args.workdir, "csv", args.rows))
    xlsx_path = cached(args.workdir, "xlsx", args.xlsx_rows)
    csv_results = {k: measure(k, csv_path, args.repeat)
                   for k in ["ld-stream", "ld-table", "pyarrow", "pandas"]}
    xlsx_results = {k: measure(k, xlsx_path, args.repeat) for k in ["ld-table", "openpyxl"]}

    with recorded("bench_read" + ("-messy" if args.data == "messy" else "")):
        size = csv_path.stat().st_size
        print(f"CSV {size / 2**20:,.0f} MiB, {args.rows:,} rows; XLSX "
              f"{xlsx_path.stat().st_size / 2**20:,.1f} MiB, {args.xlsx_rows:,} rows; best of "
              f"{args.repeat}; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
        print("| file | reader | time (s) | rows/s | peak RSS (MiB) | added RSS (MiB) "
              "| added / file size |\n|---|---|--:|--:|--:|--:|--:|")
        print("\n".join(table_rows(csv_path, args.rows, csv_results)
                        + table_rows(xlsx_path, args.xlsx_rows, xlsx_results)))

        added = csv_results["ld-stream"].get("added")
        targets = [  # (target, value, passes?, unit); ldtransform measured with to_table()
            ("CSV at least as fast as pandas", ratio(csv_results, "pandas", "ld-table"),
             lambda x: x >= 1, "× faster"),
            ("CSV within 2× of pyarrow's time", ratio(csv_results, "ld-table", "pyarrow"),
             lambda x: x <= 2, "× pyarrow's time"),
            ("Excel ≥ 5× faster than openpyxl", ratio(xlsx_results, "openpyxl", "ld-table"),
             lambda x: x >= 5, "× faster"),
            ("streaming peak memory (added RSS) < 1/3 of the CSV size",
             None if added is None else added / size, lambda x: x < 1 / 3, " of the file size"),
        ]
        print()
        for target, value, passes, unit in targets:
            if value is None:
                print(f"- n/a {target}: a reader failed")
            else:
                print(f"- {'PASS' if passes(value) else 'FAIL'} {target}: {value:.2f}{unit}")


if __name__ == "__main__":
    main()
