"""Tables with seeded, known errors: the report finds exactly those, no fewer, no more.

Each case is a CSV of valid rows into which hypothesis injects errors of every kind at
chosen cells. The same file is also validated by Frictionless against the same Table
Schema, and both must flag the same (row, field) cells where the standard covers the check.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ldtransform
from ldtransform import ItemSchema

SCHEMA: dict[str, Any] = {
    "itemType": "Order",
    "primaryKey": ["id"],
    "fields": [
        {"name": "id", "constraints": {"required": True, "pattern": "O[0-9]+"}},
        {"name": "customer", "constraints": {"required": True, "maxLength": 12}},
        {"name": "qty", "type": "integer", "constraints": {"minimum": 1, "maximum": 999}},
        {"name": "price", "type": "number", "constraints": {"minimum": 0}},
        {"name": "paid", "type": "boolean"},
        {"name": "day", "type": "date"},
        {"name": "status", "constraints": {"enum": ["open", "shipped", "closed"]}},
        {"name": "code", "constraints": {"minLength": 3}},
    ],
}
COLUMNS = [f["name"] for f in SCHEMA["fields"]]

# For each column: (code, a bad value) pairs that break exactly one check of that column.
BREAKERS: dict[str, list[tuple[str, str]]] = {
    "id": [("missing-value", ""), ("pattern-mismatch", "X12")],
    "customer": [("missing-value", ""), ("too-long", "Ω" * 13)],
    "qty": [("type-error", "1.5"), ("type-error", "ten"), ("below-minimum", "0"),
            ("above-maximum", "1000")],
    "price": [("type-error", "12,50"), ("below-minimum", "-0.01")],
    "paid": [("type-error", "perhaps")],
    "day": [("type-error", "2021-02-29"), ("type-error", "03/04/2021")],
    "status": [("not-in-enum", "Open"), ("not-in-enum", "lost")],
    "code": [("too-short", "ab")],
}

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
valid_row = st.fixed_dictionaries({
    "customer": text.filter(lambda s: s != "" and s.strip() == s and len(s) <= 12),
    "qty": st.integers(1, 999).map(str),
    "price": st.decimals(0, 10**6, places=2).map(str),
    "paid": st.sampled_from(["true", "false", "yes", "no", "1", "0", "", "TRUE"]),
    "day": st.dates().filter(lambda d: d.year >= 1000).map(lambda d: d.isoformat()),
    "status": st.sampled_from(["open", "shipped", "closed", ""]),
    "code": text.filter(lambda s: len(s) >= 3 or s == ""),
})


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[dict[str, str]], set[tuple[int, str, str]]]:
    rows = draw(st.lists(valid_row, min_size=1, max_size=30))
    for i, row in enumerate(rows):
        row["id"] = f"O{i}"
    cells = draw(st.lists(st.tuples(st.integers(0, len(rows) - 1), st.sampled_from(COLUMNS)),
                          unique=True, max_size=3 * len(rows)))
    expected = set()
    for index, column in cells:
        code, bad = draw(st.sampled_from(BREAKERS[column]))
        if column == "id" and bad:
            bad += str(index)  # two bad keys alike would be a (real) duplicate key too
        rows[index][column] = bad
        expected.add((index + 2, column, code))  # header is row 1
    # Duplicate keys: copy an earlier clean key onto a row whose own key is clean.
    clean = [i for i in range(len(rows)) if not any(r == i + 2 and c == "id"
                                                    for r, c, _ in expected)]
    chosen = draw(st.lists(st.sampled_from(clean), unique=True, max_size=3)) if clean else []
    for later in chosen:
        earlier = [i for i in clean if i < later and i not in chosen]
        if earlier:
            rows[later]["id"] = rows[draw(st.sampled_from(earlier))]["id"]
            expected.add((later + 2, "id", "duplicate-key"))
    return rows, expected


# Each case writes and reads a real file: no deadline, and tmp_path is shared across cases.
FILE_CASES = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                            HealthCheck.function_scoped_fixture])


def write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


@settings(FILE_CASES, max_examples=60)
@given(case=tables())
def test_exactly_the_injected_errors_are_found(tmp_path: Path, case: Any) -> None:
    rows, expected = case
    path = write(tmp_path / "orders.csv", rows)
    result = ldtransform.validate(path, ItemSchema.from_dict(SCHEMA), batch_size=7)
    report = result.report
    assert {(i.row, i.field, i.code) for i in report.issues} == expected
    assert report.issue_count == len(expected)
    bad_rows = {row for row, _, _ in expected}
    assert report.rows_rejected == len(bad_rows)
    assert report.rows_read == len(rows) == report.rows_valid + report.rows_rejected
    assert sorted(result.rejected["_row"]) == sorted(bad_rows)


@settings(FILE_CASES, max_examples=25)
@given(case=tables())
def test_frictionless_flags_the_same_cells(tmp_path: Path, case: Any) -> None:
    import frictionless

    rows, expected = case
    path = write(tmp_path / "orders.csv", rows)
    ours = ldtransform.validate(path, ItemSchema.from_dict(SCHEMA)).report
    table_schema = {"fields": SCHEMA["fields"], "primaryKey": SCHEMA["primaryKey"],
                    "missingValues": [""]}
    # Frictionless reads "1"/"0" as numbers, not booleans; say what we accept.
    table_schema["fields"] = [dict(f, trueValues=["true", "TRUE", "yes", "1"],
                                   falseValues=["false", "no", "0"])
                              if f.get("type") == "boolean" else f for f in SCHEMA["fields"]]
    resource = frictionless.Resource(
        path.name, basepath=str(tmp_path), format="csv", encoding="utf-8",
        schema=frictionless.Schema.from_descriptor(table_schema))
    theirs = frictionless.validate(resource, limit_errors=10_000).flatten(
        ["rowNumber", "fieldName", "type"])
    assert all(kind != "resource-error" for _, _, kind in theirs), theirs
    their_cells = {(r, f) for r, f, kind in theirs if kind in (
        "type-error", "constraint-error")}
    their_cells |= {(r, "id") for r, _, kind in theirs if kind == "primary-key"}
    our_cells = {(i.row, i.field) for i in ours.issues}
    assert our_cells == their_cells, (rows, theirs)
    assert len(our_cells) == len({(r, f) for r, f, _ in expected})
