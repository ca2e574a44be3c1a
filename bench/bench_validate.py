"""Validation speed, memory and findings of ldtransform next to pandera and frictionless.

    .venv/bin/python bench/bench_validate.py [--rows N] [--quick] [--workdir DIR]
        [--repeat R] [--slow-repeat S] [--frictionless-rows M] [--profile]

Copies the seeded account CSV of bench_read.py (with unique account ids) and puts one known
error into about 1 % of its rows: a non-number in a number column, a bad date, a value
outside an enum, a too-long text, a pattern mismatch, an empty required value, a value below
a minimum, a duplicate primary key. The truth (row, kind, field, value of each) is kept in a
JSON beside the file; both are cached in --workdir. The file is then validated against
``bench/schemas/bench_accounts.json`` by ldtransform, by pandera (the same rules, lazy) and
by frictionless (the same Table Schema), each in a fresh process, and a Markdown table gives
time, peak memory and what each tool found, kind by kind and row by row, against the truth.
Rows are numbered as a spreadsheet shows them: the header is row 1, a record with quoted
newlines is one row. Targets are printed, never asserted.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench_read import (
    GENERATOR_VERSION,
    account_table,
    child_runs,
    peak_rss,
    read_pandas_csv,
    warm_up,
)
from results import recorded

ERRORS_VERSION = 1  # bump when the injected errors change, to invalidate cached files
ERROR_SHARE = 0.01
SCHEMA = Path(__file__).with_name("schemas") / "bench_accounts.json"
NUMBER_FIELDS = ("exposure", "limit", "orderCount")
DATE_FIELDS = ("licenseValidFrom", "licenseValidTo")
NOTE = "Call ahead, the loading dock is shared with the bakery next door.\n" * 4
INJECTED: dict[str, dict[str, list[str]]] = {  # kind: {column: bad values, one picked per row}
    "not-a-number": {f: ["n/a", "12,5", "1.2.3", "twelve", "$40"] for f in NUMBER_FIELDS},
    "bad-date": {f: ["2021-02-30", "2019-04-31", "31/12/2020", "2020-13-01"]
                 for f in DATE_FIELDS},
    "not-in-enum": {"accountClass": ["Credit", "cash"], "currency": ["GBP", "usd"],
                    "paymentTerms": ["NET60", "Net 30"], "channel": ["40", "1O"]},
    "too-long": {"name": ["Harbor View Wholesale Grocery and Beverage Distribution Company "
                          "of New England, Inc."],
                 "addressLine1": ["Unit 12, Building 7, Loading Dock B, Rear Entrance, "
                                  "Commerce Way Industrial Park"],
                 "notes": [NOTE]},  # a multi-line value: the row count must not drift
    "pattern-mismatch": {"licenseNumber": ["LIC-12345", "lic-123456", "LIC 123456"],
                         "postalCode": ["1234", "0210A", "02139-1234"],
                         "phoneNumber": ["617-555-0100", "555010", "+16175550100"]},
    "missing-value": {f: [""] for f in ("name", "accountClass", "currency", "city")},
    "below-minimum": {"exposure": ["-12.5"], "limit": ["-1000"], "orderCount": ["-3"]},
    "duplicate-key": {"accountId": []},  # an earlier row's key, copied
}
KINDS = list(INJECTED)
#: Table Schema constraint (frictionless) or pandera check → ldtransform's issue code.
CONSTRAINT_CODES = {"required": "missing-value", "enum": "not-in-enum", "maxLength": "too-long",
                    "minLength": "too-short", "pattern": "pattern-mismatch",
                    "minimum": "below-minimum", "maximum": "above-maximum",
                    "unique": "duplicate-value"}
PANDERA_CODES = {"coerce_dtype": "type-error", "isin": "not-in-enum", "str_length": "too-long",
                 "str_matches": "pattern-mismatch", "not_nullable": "missing-value",
                 "field_uniqueness": "duplicate-key", "greater_than_or_equal_to": "below-minimum",
                 "is_number": "type-error", "is_integer": "type-error", "is_date": "type-error"}
BOOLEAN_TEXT = ["true", "True", "TRUE", "1", "false", "False", "FALSE", "0"]  # Table Schema's


def kind_of(code: str, field: str) -> str:
    """The injected kind an issue (ldtransform's code + field) stands for."""
    if code == "type-error" and field in NUMBER_FIELDS:
        return "not-a-number"
    if code == "type-error" and field in DATE_FIELDS:
        return "bad-date"
    return code


# -- the data: the bench CSV with known errors ------------------------------------------------

def cached(workdir: Path, rows: int) -> tuple[Path, Path]:
    """The CSV with injected errors and its truth JSON, generated (in a child) if missing."""
    stem = f"accounts-errors-{rows}-v{GENERATOR_VERSION}.{ERRORS_VERSION}"
    path = workdir / f"{stem}.csv"
    truth = truth_file(path)
    if not (path.exists() and truth.exists()):
        started = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--generate", str(path), str(rows)],
                       check=True)
        print(f"generated {path} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return path, truth


def make_error_csv(path: Path, rows: int) -> None:
    """Write ``path`` and its ``.truth.json``; each is renamed into place when complete."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    table = account_table(rows)
    rng = np.random.default_rng(2024)
    columns = dict(zip(table.column_names, table.columns, strict=True))
    # Unique keys (the generator's random ones repeat): 8 digits up to 11 million rows.
    unique = pa.array(rng.permutation(rows) * 9 + rng.integers(0, 9, rows)).cast(pa.string())
    columns["accountId"] = pc.utf8_lpad(unique, width=8, padding="0")
    ids = columns["accountId"].to_numpy(zero_copy_only=False)
    count = max(len(KINDS), round(rows * ERROR_SHARE))
    at = np.sort(rng.choice(np.arange(1, rows), count, replace=False))  # row 0 stays clean
    is_error = np.zeros(rows, dtype=bool)
    is_error[at] = True
    edits: dict[str, dict[int, str]] = defaultdict(dict)
    truth: list[list[Any]] = []
    for position, k in zip(at.tolist(), rng.integers(0, len(KINDS), count).tolist(),
                           strict=True):
        kind = KINDS[k]
        field = str(rng.choice(list(INJECTED[kind])))
        if kind == "duplicate-key":
            source = int(rng.integers(0, position))
            while is_error[source]:  # copy a clean row's key; row 0 always is one
                source = int(rng.integers(0, position))
            value = str(ids[source])
        else:
            value = str(rng.choice(INJECTED[kind][field]))
        edits[field][position] = value
        truth.append([position + 2, kind, field, value])  # header = row 1
    for field, changes in edits.items():
        text = pc.cast(columns[field], pa.string()).to_numpy(zero_copy_only=False).copy()
        text[list(changes)] = list(changes.values())
        columns[field] = pa.array(text, pa.string())
    partial = path.with_name(path.name + ".partial")
    pacsv.write_csv(pa.table(columns), partial)  # quotes every string; nulls stay empty
    truth_path = truth_file(path)
    truth_partial = truth_path.with_name(truth_path.name + ".partial")
    expected = Counter(kind for _, kind, _, _ in truth)
    truth_partial.write_text(json.dumps({
        "file": path.name, "rows": rows, "seed": 2024,
        "expected": {kind: expected[kind] for kind in KINDS}, "errors": truth}))
    partial.replace(path)
    truth_partial.replace(truth_path)


def truth_file(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".csv") + ".truth.json")


# -- the tools being compared; each runs in a fresh child process ---------------------------
# Each returns (what it found, late) right after its work: ``late()`` turns the tool's own
# report into rows [row, code, field] after the clock and the memory reading.

Findings = tuple[dict[str, Any], Callable[[], dict[str, Any]] | None]
ERROR_ENTRY = re.compile(r"(?:^|; )([^:;]+): .*?\[([a-z]+(?:-[a-z]+)*)\](?=; |$)", re.S)


def validate_ldtransform(path: str, quarantine: str | None = None) -> Findings:
    from ldtransform.quarantine import QuarantineFile
    from ldtransform.readers import read_for_validation
    from ldtransform.validation import Validation

    v = Validation(SCHEMA)
    frames = read_for_validation(path)
    if quarantine is None:
        for _ in v.run(frames, on_rejected=lambda batch: None):
            pass
    else:
        with QuarantineFile(quarantine) as sink:
            for _ in v.run(frames, on_rejected=sink):
                pass
    report = v.finish()
    found = {"rows": report.rows_read, "rejected": report.rows_rejected,
             "issues": report.issue_count, "by_code": dict(report.by_code)}
    return found, None if quarantine is None else lambda: quarantined_rows(quarantine)


def quarantined_rows(path: str) -> dict[str, Any]:
    """Rows and reasons read back from the quarantine file (then deleted)."""
    findings = []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        names = next(reader)
        row_at, errors_at = names.index("_row"), names.index("_errors")
        for record in reader:
            findings += [[int(record[row_at]), code, field] for field, code
                         in ERROR_ENTRY.findall(record[errors_at])]
    os.remove(path)
    return {"findings": findings}


def validate_ldtransform_quarantine(path: str) -> Findings:
    return validate_ldtransform(path, quarantine=str(Path(path).with_suffix(".rejected.csv")))


def pandera_schema(document: dict[str, Any], *, coerce: bool = True) -> Any:
    """The Table Schema's rules as a pandera DataFrameSchema, column by column.

    ``coerce``: types are pandera dtypes with ``coerce=True`` (the usual way). Otherwise
    every column stays text and the types are vectorised checks (``pd.to_numeric`` and
    ``pd.to_datetime`` with ``errors="coerce"``): pandera's fastest form of the same rules.
    """
    import pandera.pandas as pa
    from pandera.engines import pandas_engine

    columns = {}
    for field in document["fields"]:
        c, kind, checks = field.get("constraints", {}), field["type"], []
        dtype: Any = {"number": "float64", "integer": "Int64", "date": pandas_engine.DateTime(
            to_datetime_kwargs={"format": "%Y-%m-%d"})}.get(kind, str) if coerce else str
        if kind == "boolean":  # pandera coerces the text "false" to True: check the words
            checks.append(pa.Check.isin(BOOLEAN_TEXT))
        elif not coerce and kind != "string":
            checks.append(pa.Check(_is_type(kind), name=f"is_{kind}"))
        if "enum" in c:
            checks.append(pa.Check.isin(c["enum"]))
        if "minLength" in c or "maxLength" in c:
            checks.append(pa.Check.str_length(c.get("minLength"), c.get("maxLength")))
        if "pattern" in c:
            checks.append(pa.Check.str_matches(f"^(?:{c['pattern']})$"))
        if "minimum" in c:
            checks.append(pa.Check.ge(c["minimum"]) if coerce else pa.Check(
                _at_least(c["minimum"]), name="greater_than_or_equal_to"))
        columns[field["name"]] = pa.Column(
            dtype, checks, nullable=not c.get("required", False),
            unique=field["name"] in document["primaryKey"], report_duplicates="exclude_first",
            coerce=coerce and kind not in ("string", "boolean"))
    return pa.DataFrameSchema(columns, strict=True)


def _is_type(kind: str) -> Callable[[Any], Any]:
    import pandas as pd

    def check(text: pd.Series) -> pd.Series:
        if kind == "date":
            return pd.to_datetime(text, format="%Y-%m-%d", errors="coerce").notna()
        number = pd.to_numeric(text, errors="coerce")
        return number.notna() & (number % 1 == 0) if kind == "integer" else number.notna()
    return check


def _at_least(minimum: float) -> Callable[[Any], Any]:
    import pandas as pd

    def check(text: pd.Series) -> pd.Series:
        return ~(pd.to_numeric(text, errors="coerce") < minimum)  # a non-number is no failure
    return check


def validate_pandera(path: str, coerce: bool = True) -> Findings:
    import pandas as pd
    import pandera.pandas as pa

    started = time.perf_counter()
    # Only the empty string is missing (the schema's missingValues); "NA" stays text.
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    read_seconds = time.perf_counter() - started
    try:
        schema = pandera_schema(json.loads(SCHEMA.read_text()), coerce=coerce)
        schema.validate(frame, lazy=True)
        cases = None
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    return {"rows": len(frame), "read_seconds": read_seconds}, lambda: pandera_rows(cases)


def validate_pandera_checks(path: str) -> Findings:
    return validate_pandera(path, coerce=False)


def pandera_rows(cases: Any) -> dict[str, Any]:
    findings, failed_checks = [], []
    for column, check, value, index in ([] if cases is None else cases[
            ["column", "check", "failure_case", "index"]].itertuples(index=False)):
        if index is None or index != index:  # the check itself raised: it could not run
            failed_checks.append(f"{column}: {check} raised {value}")
        elif not check.startswith("dtype("):  # repeats each coerce_dtype failure
            code = PANDERA_CODES.get(check.split("(")[0], check)
            findings.append([int(index) + 2, code, column])
    return {"findings": findings, "failed_checks": failed_checks}


def table_schema() -> dict[str, Any]:
    document = json.loads(SCHEMA.read_text())
    return {key: document[key] for key in ("fields", "primaryKey", "missingValues")}


def validate_frictionless(path: str, limit_rows: int = 0) -> Findings:
    from frictionless import Schema, system, validate

    with system.use_context(trusted=True):  # else an absolute path is refused as unsafe
        report = validate(path, schema=Schema.from_descriptor(table_schema()),
                          limit_errors=10**9, limit_rows=limit_rows or None)
    task = report.tasks[0]
    found = {"rows": task.stats.get("rows"), "warnings": list(task.warnings)}
    return found, lambda: frictionless_rows(task.errors)


def frictionless_rows(errors: list[Any]) -> dict[str, Any]:
    findings, other = [], []
    for error in errors:
        row = getattr(error, "row_number", None)
        if error.type == "primary-key":
            findings.append([row, "duplicate-key", "accountId"])
        elif error.type == "type-error":
            findings.append([row, "type-error", error.field_name])
        elif error.type == "constraint-error":
            constraint = re.search(r'constraint "(\w+)"', error.note)
            name = constraint.group(1) if constraint else "?"
            findings.append([row, CONSTRAINT_CODES.get(name, name), error.field_name])
        elif row is not None:
            findings.append([row, error.type, getattr(error, "field_name", "") or ""])
        else:
            other.append(f"{error.type}: {error.note}")
    return {"findings": findings, "failed_checks": other}


def read_pandas(path: str) -> Findings:
    return {"rows": read_pandas_csv(path)}, None


TOOLS: dict[str, tuple[str, Callable[..., Findings], list[str]]] = {
    # key: (label, function, modules imported before the clock and the baseline RSS)
    "ld": ("ldtransform", validate_ldtransform,
           ["pandas", "ldtransform.validation", "ldtransform.readers", "ldtransform.quarantine"]),
    "ld-quarantine": ("ldtransform, writing the quarantine CSV", validate_ldtransform_quarantine,
                      ["pandas", "ldtransform.validation", "ldtransform.readers",
                       "ldtransform.quarantine"]),
    "pandera": ("pandera (lazy, coerce=True)", validate_pandera, ["pandas", "pandera.pandas"]),
    "pandera-checks": ("pandera (lazy, text + vectorised type checks)", validate_pandera_checks,
                       ["pandas", "pandera.pandas"]),
    "frictionless": ("frictionless", validate_frictionless, ["frictionless"]),
    "pandas": ("pandas.read_csv(dtype=str) alone", read_pandas, ["pandas"]),
}


SLOW = ("pandera", "pandera-checks", "frictionless")
SHORT = {"ld-quarantine": "ldtransform", "pandera": "pandera (coerce)",
         "pandera-checks": "pandera (checks)", "frictionless": "frictionless"}


def child(key: str, path: str, options: str) -> None:
    """Run one measurement and print it as JSON (in the child process)."""
    _, function, modules = TOOLS[key]
    warm_up(key, path, modules)
    baseline = peak_rss()
    started = time.perf_counter()
    found, late = function(path, **json.loads(options))
    seconds = time.perf_counter() - started
    peak = peak_rss()
    result = {**found, "seconds": seconds, "peak": peak, "added": peak - baseline}
    print(json.dumps({**result, **(late() if late else {})}))


def measure(key: str, path: Path, repeat: int, **options: Any) -> dict[str, Any]:
    """Best time and the highest peak memory of ``repeat`` fresh child processes."""
    runs = child_runs(__file__, [key, str(path), json.dumps(options)], repeat)
    if isinstance(runs, str):
        return {"error": runs}
    best = min(runs, key=lambda r: r["seconds"])
    return {**runs[0], "seconds": best["seconds"], "read_seconds": best.get("read_seconds"),
            "peak": max(r["peak"] for r in runs), "added": max(r["added"] for r in runs)}


# -- comparing with the truth and printing ----------------------------------------------------

def compare(findings: list[list[Any]], truth: list[list[Any]], last_row: int | None = None
            ) -> dict[str, dict[str, Any]]:
    """Per kind: expected, found, found at the right rows, and the differences."""
    expected = defaultdict(dict)
    for row, kind, field, value in truth:
        if last_row is None or row <= last_row:
            expected[kind][row] = (field, value)
    found: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row, code, field in findings:
        found[kind_of(code, field)].append((row, field))
    result = {}
    for kind in [*KINDS, *sorted(set(found) - set(KINDS))]:
        rows = Counter(row for row, _ in found[kind])
        right = sum(1 for row in expected[kind] if row in rows)
        result[kind] = {
            "expected": len(expected[kind]), "found": len(found[kind]), "right": right,
            "missed": [(row, *expected[kind][row]) for row in expected[kind] if row not in rows],
            "extra": sorted((row, field) for row, field in found[kind]
                            if row not in expected[kind] or rows[row] > 1)}
    return result


def exact(kinds: dict[str, dict[str, Any]]) -> bool:
    return all(k["found"] == k["expected"] == k["right"] for k in kinds.values())


def cell(k: dict[str, Any]) -> str:
    if k["found"] == k["expected"] == k["right"]:
        return f"{k['found']:,} ✓"
    return f"**{k['found']:,}** ({k['right']:,} at the right rows)"


def mismatches(label: str, kinds: dict[str, dict[str, Any]]) -> list[str]:
    """What a tool found differently from the truth, by kind, with sample rows."""
    lines = []
    for kind, k in kinds.items():
        if k["missed"]:
            values = Counter(repr(v) if len(v) < 30 else repr(v[:27] + "…")
                             for _, _, v in k["missed"])
            sample = ", ".join(f"row {r} {f}={v!r}" for r, f, v in k["missed"][:4])
            lines.append(f"- {label}, {kind}: missed {len(k['missed']):,} of "
                         f"{k['expected']:,}; values missed: "
                         f"{', '.join(f'{v} ×{n}' for v, n in values.most_common(6))}; "
                         f"e.g. {sample}")
        if k["extra"]:
            fields = Counter(f for _, f in k["extra"])
            sample = ", ".join(f"row {r} {f}" for r, f in k["extra"][:4])
            lines.append(f"- {label}, {kind}: {len(k['extra']):,} not in the truth "
                         f"(by field: {dict(fields.most_common(6))}); e.g. {sample}")
    return lines


def main_table(results: dict[str, dict[str, Any]], kinds: dict[str, dict], rows: int,
               notes: dict[str, str]) -> list[str]:
    mib, ld = 2**20, results["ld"].get("seconds")
    lines = ["| tool | time (s) | of which read_csv (s) | × ldtransform's time | rows/s "
             "| peak RSS (MiB) | added RSS (MiB) | issues found | at the right rows |",
             "|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for key, r in results.items():
        label = TOOLS[key][0] + notes.get(key, "")
        if "error" in r:
            lines.append(f"| {label} | failed: {r['error']} | | | | | | | |")
            continue
        seconds = r.get("estimated", r["seconds"])
        read = f"{r['read_seconds']:.2f}" if r.get("read_seconds") else ""
        times = f"{seconds / ld:.1f}" if ld else ""
        found = right = ""
        if key in kinds:
            found = f"{sum(k['found'] for k in kinds[key].values()):,}"
            right = (f"{sum(k['right'] for k in kinds[key].values()):,} of "
                     f"{sum(k['expected'] for k in kinds[key].values()):,}")
        if key == "ld":
            found = f"{r['issues']:,}"
        lines.append(f"| {label} | {seconds:.2f} | {read} | {times} | {rows / seconds:,.0f} | "
                     f"{r['peak'] / mib:,.0f} | {r['added'] / mib:,.0f} | {found} | {right} |")
    return lines


def kinds_table(truth: dict[str, Any], kinds: dict[str, dict[str, dict]]) -> list[str]:
    tools = list(kinds)
    lines = ["| kind of error (ldtransform code) | injected | "
             + " | ".join(SHORT[t] for t in tools) + " |",
             "|---|--:|" + "--:|" * len(tools)]
    every = [*KINDS, *sorted({k for t in tools for k in kinds[t]} - set(KINDS))]
    for kind in every:
        code = "type-error" if kind in ("not-a-number", "bad-date") else kind
        cells = [cell(kinds[t][kind]) if kind in kinds[t] else "" for t in tools]
        injected = truth["expected"].get(kind, 0)
        lines.append(f"| {kind} ({code}) | {injected:,} | " + " | ".join(cells) + " |")
    return lines


def targets(results: dict[str, dict[str, Any]], ld_kinds: dict[str, dict] | None,
            estimated: bool) -> list[str]:
    def ratio(key: str) -> float | None:
        r, ld = results[key], results["ld"]
        if "seconds" not in r or "seconds" not in ld:
            return None
        return float(r.get("estimated", r["seconds"]) / ld["seconds"])

    def peak(key: str) -> float | None:
        return results[key].get("peak")

    pandas, ld, ldq = peak("pandas"), peak("ld"), peak("ld-quarantine")
    rows = [
        ("≥ 5× faster than pandera (coerce=True)", ratio("pandera"), lambda x: x >= 5,
         "× faster"),
        ("≥ 5× faster than pandera (vectorised checks)", ratio("pandera-checks"),
         lambda x: x >= 5, "× faster"),
        ("≥ 20× faster than frictionless" + (" (extrapolated)" if estimated else ""),
         ratio("frictionless"), lambda x: x >= 20, "× faster"),
        ("peak memory below pandas.read_csv's", None if not (pandas and ld) else ld / pandas,
         lambda x: x < 1, " of pandas.read_csv's peak RSS"),
        ("… also when writing the quarantine file",
         None if not (pandas and ldq) else ldq / pandas, lambda x: x < 1,
         " of pandas.read_csv's peak RSS"),
    ]
    lines = []
    for target, value, passes, unit in rows:
        if value is None:
            lines.append(f"- n/a {target}: a run failed")
        else:
            lines.append(f"- {'met' if passes(value) else 'NOT met'}: {target}: "
                         f"{value:.2f}{unit}")
    if ld_kinds is not None:
        lines.append(f"- {'met' if exact(ld_kinds) else 'NOT met'}: finds the same errors "
                     "(every injected error, kind and row, nothing else)")
    return lines


def profile(path: Path) -> None:
    """cProfile of one ldtransform validation in this process: the top functions."""
    import cProfile
    import pstats
    warm_up("ld", str(path), TOOLS["ld"][2])  # as in the child
    profiler = cProfile.Profile()
    profiler.runcall(validate_ldtransform, str(path))
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("tottime").print_stats(20)
    stats.sort_stats("cumulative").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="CSV rows")
    parser.add_argument("--workdir", type=Path,
                        default=Path(tempfile.gettempdir()) / "ldtransform-bench")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of ldtransform and pandas.read_csv; best time wins")
    parser.add_argument("--slow-repeat", type=int, default=1,
                        help="runs of pandera and frictionless; best time wins")
    parser.add_argument("--frictionless-rows", type=int, default=0,
                        help="run frictionless on the first N rows only and extrapolate its "
                        "time linearly (0: the whole file)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 50k rows")
    parser.add_argument("--profile", action="store_true",
                        help="only profile ldtransform's validation of the file (cProfile)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)  # TOOL PATH OPTIONS
    parser.add_argument("--generate", nargs=2, help=argparse.SUPPRESS)  # PATH ROWS
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.generate:
        make_error_csv(Path(args.generate[0]), int(args.generate[1]))
        return
    if args.quick:
        args.rows = 50_000
    args.workdir.mkdir(parents=True, exist_ok=True)
    path, truth_path = cached(args.workdir, args.rows)
    if args.profile:
        profile(path)
        return
    truth = json.loads(truth_path.read_text())
    prefix = args.frictionless_rows if 0 < args.frictionless_rows < args.rows else 0
    results = {}
    for key in TOOLS:
        repeat = args.slow_repeat if key in SLOW else args.repeat
        options = {"limit_rows": prefix} if key == "frictionless" else {}
        results[key] = measure(key, path, repeat, **options)
        print(f"{key}: {results[key].get('seconds', results[key].get('error'))}",
              file=sys.stderr)
    notes = {key: f" {version(key.split('-')[0])}" for key in SLOW}
    fr = results["frictionless"]
    if prefix and "seconds" in fr:
        fr["estimated"] = fr["seconds"] * args.rows / prefix
        notes["frictionless"] += (f", **time extrapolated** from the first {prefix:,} rows "
                                  f"({fr['seconds']:.1f} s; memory and findings of those rows)")
    kinds = {}
    for key in results:
        if "findings" in results[key]:
            last = prefix + 1 if key == "frictionless" and prefix else None
            kinds[key] = compare(results[key]["findings"], truth["errors"], last)
    with recorded("bench_validate"):
        report(args, path, truth, results, kinds, notes, bool(prefix))


def report(args: argparse.Namespace, path: Path, truth: dict[str, Any],
           results: dict[str, dict[str, Any]], kinds: dict[str, dict], notes: dict[str, str],
           estimated: bool) -> None:
    injected = sum(truth["expected"].values())
    print(f"{path.name}: {path.stat().st_size / 2**20:,.0f} MiB, {args.rows:,} rows, "
          f"{injected:,} injected errors (one per row); best of {args.repeat} "
          f"(pandera, frictionless: {args.slow_repeat}); Python {sys.version.split()[0]}, "
          f"pandas {version('pandas')}, pyarrow {version('pyarrow')}, "
          f"{os.cpu_count()} CPUs\n")
    print("\n".join(main_table(results, kinds, args.rows, notes)))
    print()
    print("\n".join(kinds_table(truth, kinds)))
    ld, ldq = results["ld"], results["ld-quarantine"]
    print(f"\nldtransform report: rows read {ld.get('rows')}, rejected {ld.get('rejected')}, "
          f"issues {ld.get('issues')}, by_code {ld.get('by_code')}")
    if ld.get("by_code") != ldq.get("by_code"):
        print(f"- the quarantine run counted differently: {ldq.get('by_code')}")
    for key, r in results.items():
        if r.get("rows") not in (None, args.rows) and not (key == "frictionless" and estimated):
            print(f"- {TOOLS[key][0]} read {r['rows']:,} rows, not {args.rows:,}")
        for failed in r.get("failed_checks", [])[:6]:
            print(f"- {TOOLS[key][0]}: {failed[:200]}")
        for warning in r.get("warnings", []):
            print(f"- {TOOLS[key][0]} warns: {warning}")
    different = [line for key in kinds for line in mismatches(SHORT[key], kinds[key])]
    if different:
        print("\nDifferences from the truth:\n" + "\n".join(different))
    print("\nTargets (ldtransform without a quarantine file unless said):")
    print("\n".join(targets(results, kinds.get("ld-quarantine"), estimated)))


if __name__ == "__main__":
    main()
