"""Template CSV: rows/s for a 20-column template, column mode vs row mode vs the naive way.

The naive way is what a user would write without ldtransform: Python's ``csv`` module
over ``to_pylist()``. Prints a table; never asserts (timings are not tests).

    .venv/bin/python bench/bench_template.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import csv
import io
import time
from datetime import UTC, datetime, timedelta

import pyarrow as pa
from results import recorded

from ldtransform.writers import record_bytes
from ldtransform.writers.csv_template import TemplateCsvWriter

COLUMNS = 20
BATCH = 65_536


def make_table(rows: int) -> pa.Table:
    """20 columns: text (some needing quotes), numbers, booleans, date-times."""
    base = datetime(2014, 2, 1, 5, tzinfo=UTC)
    n = range(rows)
    columns: dict[str, pa.Array] = {}
    for i in range(12):
        columns[f"text{i}"] = pa.array([f"v{i}-{r}" if r % 50 else f'say "hi", {r}'
                                        for r in n], pa.string())
    for i in range(4):
        columns[f"number{i}"] = pa.array([r * 0.25 + i for r in n], pa.float64())
    for i in range(2):
        columns[f"flag{i}"] = pa.array([r % 3 == i for r in n], pa.bool_())
    for i in range(2):
        columns[f"when{i}"] = pa.array([base + timedelta(minutes=r + i) for r in n],
                                       pa.timestamp("us", tz="UTC"))
    assert len(columns) == COLUMNS
    return pa.table(columns)


def template(names: list[str]) -> str:
    header = ",".join(names)
    row = ",".join("{{ item." + name + " }}" for name in names)
    return f"{{% block header %}}{header}{{% endblock %}}\n{{% block row %}}{row}{{% endblock %}}"


def run_writer(table: pa.Table, mode: str) -> float:
    writer = TemplateCsvWriter(template_text=template(table.column_names), mode=mode)  # type: ignore[arg-type]
    sink = io.BytesIO()
    start = time.perf_counter()
    sink.write(writer.begin())
    for batch in table.to_batches(max_chunksize=BATCH):
        lines = writer.encode(batch)
        sink.write(record_bytes(lines))
    return time.perf_counter() - start


def run_naive(table: pa.Table) -> float:
    sink = io.StringIO()
    start = time.perf_counter()
    out = csv.writer(sink, lineterminator="\r\n")
    out.writerow(table.column_names)
    for batch in table.to_batches(max_chunksize=BATCH):
        out.writerows(tuple(row.values()) for row in batch.to_pylist())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--row-mode-rows", type=int, default=200_000,
                        help="row mode is slow: time it on fewer rows")
    args = parser.parse_args()
    table = make_table(args.rows)
    small = table.slice(0, args.row_mode_rows)
    results = [
        ("ldtransform, column mode", args.rows, run_writer(table, "column")),
        ("ldtransform, row mode (Jinja2 sandbox)", small.num_rows, run_writer(small, "row")),
        ("naive: csv module over to_pylist()", args.rows, run_naive(table)),
    ]
    with recorded("bench_template"):
        print(f"Template CSV, {COLUMNS} columns\n")
        print("| way | rows | time (s) | rows/s |")
        print("|---|--:|--:|--:|")
        for name, rows, seconds in results:
            print(f"| {name} | {rows:,} | {seconds:.2f} | {rows / seconds:,.0f} |")
        print("\n(the naive way does not write LD dates or quote per LD; it only sets the pace)")


if __name__ == "__main__":
    main()
