"""The whole data path on the messy data, each job next to its anchor: whole processes,
A and B in turn, medians.

    .venv/bin/python bench/bench_issue_table.py [--rows N] [--repeat R] [--workdir DIR]
        [--quick]

Data: ``bench/datasets.py``'s messy Account CSV (22 columns, 1 % bad rows) and its LD
export of the same size (a JSON array of envelopes with nested address lists, and the same
envelopes as JSON Lines). Each job runs in a fresh process, timed from start to exit
(interpreter, imports and all), and its peak RSS is the process's own; the
parent imports nothing heavy, since Linux carries a parent's peak RSS into its children.
Every round runs each job's tools one after the other (A B A B ...); the table gives the
median time and peak RSS over --repeat rounds, and the ratio of the medians.

The jobs (ldtransform through its public API only, so it measures whatever it is now):

- CSV → validate → LD item JSON Lines: ``ldtransform.convert(to="items-jsonl")`` next to
  polars with the schema's rules written as expressions, the valid rows typed and written
  as NDJSON;
- the same without validation: polars' raw read → NDJSON, and DuckDB's ``COPY``;
- validate only: ``ldtransform.read(csv).validate(schema)`` streamed, next to the polars
  rules alone;
- read only, streamed: ``ldtransform.read(csv)``'s batches, next to ``pyarrow.csv.open_csv``;
- the LD export (JSON array) → DataFrame: ``ldtransform.read(path).to_pandas()`` (and typed,
  ``read_export(path, schema)``), next to ``pyarrow.json.read_json`` on the JSON Lines,
  flattened, to pandas;
- the export as JSON Lines → DataFrame: ``ldtransform.read(jsonl).to_pandas()``.

Every tool reports the rows it kept, so a table whose anchors keep other rows says so.
Nothing is asserted.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from datasets import EXPORT_SCHEMA, MESSY_SCHEMA, messy_csv, messy_export
from results import load, recorded

TRUE_WORDS = ["true", "yes", "y", "t", "1", "on"]
FALSE_WORDS = ["false", "no", "n", "f", "0", "off"]


# -- the tools; each runs in a fresh child and returns the rows it kept -------------------------

def ld_convert(files: dict[str, str], out: str) -> int:
    import ldtransform
    result = ldtransform.convert(files["csv"], schema=MESSY_SCHEMA, out=out, to="items-jsonl",
                                 overwrite=True)
    return int(result.records_written)


def ld_validate(files: dict[str, str], _: str) -> int:
    import ldtransform
    return sum(batch.num_rows for batch in ldtransform.read(files["csv"]).validate(MESSY_SCHEMA))


def ld_read(files: dict[str, str], _: str) -> int:
    import ldtransform
    return sum(batch.num_rows for batch in ldtransform.read(files["csv"], batch_size=65_536))


def ld_export(files: dict[str, str], _: str) -> int:
    import ldtransform
    return len(ldtransform.read(files["export"]).to_pandas())


def ld_export_typed(files: dict[str, str], _: str) -> int:
    import ldtransform
    return len(ldtransform.read_export(files["export"], EXPORT_SCHEMA).to_pandas())


def ld_export_lines(files: dict[str, str], _: str) -> int:
    import ldtransform
    return len(ldtransform.read(files["jsonl"]).to_pandas())


def polars_rules() -> tuple[list[Any], Any]:
    """The messy schema's rules as polars expressions: (typed columns, row is valid)."""
    import polars as pl

    schema = json.loads(MESSY_SCHEMA.read_text(encoding="utf-8"))
    typed, errors = [], []
    for field in schema["fields"]:
        name, kind, rules = field["name"], field["type"], field.get("constraints", {})
        text = pl.col(name)
        blank = text.is_null() | (text == "")
        value: Any = pl.when(blank).then(None).otherwise(text)
        if kind == "integer":
            value = value.cast(pl.Int64, strict=False)
        elif kind == "number":
            value = value.cast(pl.Float64, strict=False)
        elif kind == "boolean":
            word = value.str.strip_chars().str.to_lowercase()
            value = pl.when(word.is_in(TRUE_WORDS)).then(True) \
                .when(word.is_in(FALSE_WORDS)).then(False).otherwise(None)
        elif kind == "date":
            value = value.str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
        elif kind == "datetime":
            value = value.str.strip_chars().str.to_datetime("%Y-%m-%dT%H:%M:%S%z",
                                                            strict=False, time_zone="UTC")
        if kind != "string":
            errors.append(~blank & value.is_null())
        if rules.get("required"):
            errors.append(blank)
        if "pattern" in rules:
            errors.append(~blank & ~text.str.contains(rules["pattern"]).fill_null(False))
        if "enum" in rules:
            errors.append(~blank & ~text.is_in(rules["enum"]))
        if "maxLength" in rules:
            errors.append(text.str.len_chars() > rules["maxLength"])
        if "minimum" in rules:
            errors.append(value < rules["minimum"])
        if name in schema.get("primaryKey", []):
            errors.append(~blank & ~text.is_first_distinct())  # later copies of a key
        typed.append(value.alias(name))
    return typed, ~pl.any_horizontal([e.fill_null(False) for e in errors])


def polars_frame(path: str) -> Any:
    import polars as pl
    return pl.read_csv(path, infer_schema=False)


def polars_convert(files: dict[str, str], out: str) -> int:
    typed, valid = polars_rules()
    frame = polars_frame(files["csv"]).filter(valid).select(typed)
    frame.write_ndjson(Path(out) / "accounts.jsonl")
    return frame.height


def polars_validate(files: dict[str, str], _: str) -> int:
    _, valid = polars_rules()
    return int(polars_frame(files["csv"]).select(valid.sum()).item())


def polars_raw(files: dict[str, str], out: str) -> int:
    frame = polars_frame(files["csv"])
    frame.write_ndjson(Path(out) / "accounts.jsonl")
    return frame.height


def duckdb_raw(files: dict[str, str], out: str) -> int:
    import duckdb
    written = duckdb.connect().execute(
        f"COPY (SELECT * FROM read_csv('{files['csv']}', all_varchar=true)) "
        f"TO '{Path(out) / 'accounts.jsonl'}' (FORMAT json)").fetchone()
    return int(written[0]) if written else 0


def pyarrow_read(files: dict[str, str], _: str) -> int:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    with open(files["csv"], encoding="utf-8") as f:
        names = f.readline().strip().replace('"', "").split(",")
    reader = pacsv.open_csv(files["csv"], parse_options=pacsv.ParseOptions(
        newlines_in_values=True), convert_options=pacsv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string())))
    return sum(batch.num_rows for batch in reader)


def pyarrow_export(files: dict[str, str], _: str) -> int:
    import pyarrow.json as pajson
    return len(pajson.read_json(files["jsonl"]).flatten().to_pandas())


TOOLS: dict[str, tuple[str, Callable[[dict[str, str], str], int]]] = {
    "ld-convert": ("ldtransform", ld_convert),
    "polars-convert": ("polars, the same rules as expressions, valid rows typed → NDJSON",
                       polars_convert),
    "polars-raw": ("polars raw read → NDJSON", polars_raw),
    "duckdb-raw": ("DuckDB `COPY … (FORMAT json)`", duckdb_raw),
    "ld-validate": ("ldtransform", ld_validate),
    "polars-validate": ("polars, the same rules, counting valid rows", polars_validate),
    "ld-read": ("ldtransform", ld_read),
    "pyarrow-read": ("`pyarrow.csv.open_csv`, all text, streamed", pyarrow_read),
    "ld-export": ("ldtransform.read", ld_export),
    "ld-export-typed": ("ldtransform.read_export(schema)", ld_export_typed),
    "pyarrow-export": ("`pyarrow.json.read_json` on the JSON Lines, flattened, to pandas",
                       pyarrow_export),
    "ld-export-lines": ("ldtransform.read", ld_export_lines),
}
#: job: (its ldtransform tools, its anchors); the ratio is the first of each.
JOBS: dict[str, tuple[list[str], list[str]]] = {
    "CSV → validate → LD item JSON Lines": (["ld-convert"], ["polars-convert"]),
    "same, no validation": ([], ["polars-raw", "duckdb-raw"]),
    "validate only": (["ld-validate"], ["polars-validate"]),
    "read only (streamed)": (["ld-read"], ["pyarrow-read"]),
    "LD export (JSON array, {export}) → DataFrame": (["ld-export", "ld-export-typed"],
                                                     ["pyarrow-export"]),
    "same export as JSON Lines → DataFrame": (["ld-export-lines"], ["pyarrow-export"]),
}


def child(key: str, files: str) -> None:
    """Run one tool (in its own process); print the rows it kept and its peak RSS."""
    out = tempfile.mkdtemp(prefix=f"bench-issue-{key}-")
    try:
        rows = TOOLS[key][1](json.loads(files), out)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    # The process's own peak, imports included (the parent is small: see the docstring).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"rows": rows, "peak": peak}))


def run(key: str, files: dict[str, str]) -> dict[str, Any]:
    """One whole process: seconds from start to exit, its peak RSS, the rows it kept."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", key, json.dumps(files)],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1][:160]}
    return {"seconds": seconds, **json.loads(done.stdout.splitlines()[-1])}


def cell(results: list[dict[str, Any]]) -> str:
    """``median s (min–max), peak MiB`` of the runs of one tool."""
    if any("error" in r for r in results):
        return "failed: " + next(r["error"] for r in results if "error" in r)
    times = [r["seconds"] for r in results]
    peak = statistics.median(r["peak"] for r in results) / 2**20
    spread = f" ({min(times):.1f}–{max(times):.1f})" if len(times) > 1 else ""
    size = f"{peak / 1024:.2f} GiB" if peak >= 1024 else f"{peak:,.0f} MiB"
    return f"{statistics.median(times):.2f} s{spread}, {size}"


def median_seconds(results: list[dict[str, Any]]) -> float | None:
    if not results or any("error" in r for r in results):
        return None
    return statistics.median(r["seconds"] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of A B A B")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir())
                        / "ldtransform-bench")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20,000 rows, 1 round")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.quick:
        args.rows, args.repeat = 20_000, 1
    csv_path = messy_csv(args.workdir, args.rows)
    export, jsonl = messy_export(args.workdir, args.rows)
    files = {"csv": str(csv_path), "export": str(export), "jsonl": str(jsonl)}
    with recorded("bench_issue_table"):
        measured: dict[str, list[dict[str, Any]]] = {key: [] for key in TOOLS}
        loads = [load()]
        order = dict.fromkeys(key for ours, anchors in JOBS.values() for key in ours + anchors)
        for _ in range(args.repeat):
            for key in order:  # each job's tools one after the other
                measured[key].append(run(key, files))
            loads.append(load())
        print_table(args, csv_path, export, measured, loads)


def print_table(args: argparse.Namespace, csv_path: Path, export: Path,
                measured: dict[str, list[dict[str, Any]]], loads: list[str]) -> None:
    invalid = len(json.loads((csv_path.with_name(csv_path.name.split(".")[0] + ".truth.json"))
                             .read_text(encoding="utf-8"))["rows"])
    print(f"\n{args.rows:,}-row messy Account CSV ({csv_path.stat().st_size / 2**20:,.0f} MiB, "
          f"22 columns, {invalid:,} bad rows); its export {export.stat().st_size / 1e6:,.0f} MB; "
          f"whole processes, A B A B, median (min–max) of {args.repeat}, peak RSS median; "
          f"Python {sys.version.split()[0]}\n")
    print("| job | ldtransform | anchor | ratio |\n|---|--:|--:|--:|")
    for job, (ours, anchors) in JOBS.items():
        label = job.format(export=f"{export.stat().st_size / 1e6:,.0f} MB")
        ld = "; ".join(("" if len(ours) == 1 else TOOLS[k][0] + ": ") + cell(measured[k])
                       for k in ours) or "—"
        anchor = "; ".join(f"{TOOLS[k][0]}: {cell(measured[k])}" for k in anchors)
        a, b = (median_seconds(measured[ours[0]]) if ours else None,
                median_seconds(measured[anchors[0]]))
        ratio = "" if a is None or b is None else \
            f"**{a / b:.2f}x slower**" if a >= b else f"**{b / a:.2f}x faster**"
        print(f"| {label} | {ld} | {anchor} | {ratio} |")
    print("\nRows kept (valid rows written, or rows read): " + ", ".join(
        f"{key} {measured[key][0].get('rows', 0):,}" for key in TOOLS if measured[key]))
    print("\nLoad during the run: " + " → ".join(loads))


if __name__ == "__main__":
    main()
