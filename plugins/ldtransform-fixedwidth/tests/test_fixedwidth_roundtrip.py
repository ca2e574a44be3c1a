"""Property tests: whatever the rows, encoding and record framing, writing them by a layout
and reading them back gives the rows; truncated lines become issues on their own lines."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import ldtransform

WIDTHS = {"name": 12, "amount": 10, "count": 6}
LAYOUT = """
[[fields]]
name = "name"
start = 1
width = 12

[[fields]]
name = "amount"
start = 13
width = 10
type = "decimal"
decimals = 2

[[fields]]
name = "count"
start = 23
width = 6
type = "integer"
"""
RECORD = sum(WIDTHS.values())


def text(encoding: str) -> st.SearchStrategy[str | None]:
    # Any character but line ends and controls; for cp037 only what it can encode.
    alphabet = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"),
                             max_codepoint=0xFF if encoding == "cp037" else 0x10FFFF)
    return st.one_of(st.none(), st.text(alphabet, min_size=1, max_size=WIDTHS["name"]))


def rows(encoding: str) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(st.fixed_dictionaries({
        "name": text(encoding),
        "amount": st.one_of(st.none(), st.integers(-(10**8) + 1, 10**9 - 1)),
        "count": st.one_of(st.none(), st.integers(-99_999, 999_999)),
    }), min_size=1, max_size=30)  # an empty file is a ReadError before any reader runs


def spell(row: dict[str, Any]) -> str:
    def field(name: str, right: bool) -> str:
        value = row[name]
        value = "" if value is None else str(value)
        return value.rjust(WIDTHS[name]) if right else value.ljust(WIDTHS[name])

    return field("name", False) + field("amount", True) + field("count", True)


def expected(row: dict[str, Any]) -> dict[str, Any]:
    name = row["name"].rstrip(" ") if row["name"] is not None else None
    amount = None if row["amount"] is None else Decimal(row["amount"]).scaleb(-2)
    return {"name": name or None, "amount": amount, "count": row["count"]}


def read_back(data: bytes, layout: str, **options: Any) -> ldtransform.Frames:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "layout.toml").write_text(layout)
        (Path(folder) / "export.dat").write_bytes(data)
        frames = ldtransform.read(Path(folder) / "export.dat", format="fixedwidth",
                                  layout=Path(folder) / "layout.toml", batch_size=7, **options)
        frames.table = frames.to_table()  # type: ignore[attr-defined]
        return frames


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["utf-8", "cp037"]).flatmap(lambda e: st.tuples(st.just(e), rows(e))),
       st.sampled_from(["\n", "\r\n"]))
def test_lines_round_trip(case: tuple[str, list[dict[str, Any]]], end: str) -> None:
    encoding, table = case
    data = "".join(spell(row) + end for row in table).encode(encoding)
    frames = read_back(data, LAYOUT, encoding=encoding)
    assert frames.table.to_pylist() == [expected(row) for row in table]  # type: ignore[attr-defined]


@settings(max_examples=30, deadline=None)
@given(rows("cp037"))
def test_fixed_length_cp037_round_trips(table: list[dict[str, Any]]) -> None:
    data = "".join(spell(row) for row in table).encode("cp037")
    frames = read_back(data, f"record_length = {RECORD}\n" + LAYOUT, encoding="cp037")
    got = frames.table.to_pylist()  # type: ignore[attr-defined]
    assert got == [expected(row) for row in table]


@settings(max_examples=30, deadline=None)
@given(rows("utf-8"), st.data())
def test_short_lines_are_issues_on_their_own_lines(table: list[dict[str, Any]],
                                                   data: st.DataObject) -> None:
    cut = data.draw(st.lists(st.integers(0, len(table) - 1), unique=True), label="cut")
    lines = [spell(row) for row in table]
    for index in cut:
        lines[index] = lines[index][:data.draw(st.integers(0, RECORD - 1))]
    frames = read_back("".join(line + "\n" for line in lines).encode(), LAYOUT,
                       on_bad_row="report")
    assert sorted(i.row for i in frames.issues) == sorted(index + 1 for index in cut)
    assert {i.code for i in frames.issues} <= {"short-line"}
    kept = [expected(row) for index, row in enumerate(table) if index not in cut]
    assert frames.table.to_pylist() == kept  # type: ignore[attr-defined]
