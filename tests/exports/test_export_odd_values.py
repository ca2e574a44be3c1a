"""Odd values survive every export form: typed rows, written as items, exported by the
server's writer as JSON or CSV (header or not) and read back, are the same rows."""

from __future__ import annotations

import datetime as dt
import tempfile
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
from exportfiles import ODD, server_files, stored_items
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ldtransform

# Text as people type it, plus what breaks files: quotes, commas, line breaks, tabs,
# control characters, leading zeros, non-Latin scripts, emoji. Never "" (validation makes
# it a missing value) nor lone surrogates (not text) nor NUL (no CSV carries it).
TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
               min_size=1, max_size=12) | st.sampled_from(
    ["007", " padded ", '"', ",", "\n", "\r\n", "a\"b,c\nd", "ø", "🙂", "null", "None",
     "true", "1e5", "[1]", "{}"])
DAYS = st.dates(dt.date(1900, 1, 1), dt.date(2199, 12, 31))
SECONDS = st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2199, 12, 31)).map(
    lambda moment: moment.replace(microsecond=0, tzinfo=dt.UTC))
FLOATS = st.floats(allow_nan=False, allow_infinity=False).filter(
    lambda x: x == 0 or abs(x) >= 2.2250738585072014e-308)
DECIMALS = st.decimals(min_value=Decimal("-999999999.999"), max_value=Decimal("999999999.999"),
                       places=3, allow_nan=False, allow_infinity=False)


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


ROW = st.fixed_dictionaries({
    "key": TEXT, "text": maybe(TEXT), "code": maybe(st.sampled_from(["a", "b,c", 'q"uote'])),
    "n": maybe(st.integers(-(2**63), 2**63 - 1)), "x": maybe(FLOATS), "d": maybe(DECIMALS),
    "flag": maybe(st.booleans()), "day": maybe(DAYS), "at": maybe(SECONDS),
    "tags": st.lists(TEXT, max_size=3),
    "kids": st.lists(st.fixed_dictionaries({"name": maybe(TEXT), "born": maybe(DAYS),
                                            "flag": maybe(st.booleans())}), max_size=2),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROW, min_size=1, max_size=6),
       form=st.sampled_from(["json", "csv", "csv-headless"]))
def test_every_export_form_reads_back_the_rows(rows: list[dict], form: str) -> None:
    table = pa.Table.from_pylist(rows, schema=ODD.to_arrow())
    items = stored_items(table, ODD)
    with tempfile.TemporaryDirectory() as folder:
        paths = server_files(Path(folder), items, ODD, per_file=4,
                             content_type="application/json" if form == "json"
                             else "text/plain", row_header=form == "csv")
        got = ldtransform.read_export(paths, ODD, enums="values").to_table()
    assert got.to_pylist() == table.to_pylist()
