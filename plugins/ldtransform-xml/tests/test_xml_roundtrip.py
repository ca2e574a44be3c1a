"""Property test: any text XML can hold, in elements, attributes and child records, reads
back exactly as written; text it cannot hold is refused, never written wrong."""

from __future__ import annotations

import io
import re
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ldtransform_xml import XmlWriter

import ldtransform
from ldtransform.errors import UnwritableValueError

FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
LINE = pa.struct([("@sku", pa.string()), ("qty", pa.string())])


@st.composite
def tables(draw: st.DrawFn) -> pa.Table:
    count = draw(st.integers(1, 6))
    # Every column has a value in the first row, so reading back finds every column;
    # every row has two lines, so they read back as child records.
    def column(strategy: st.SearchStrategy[Any]) -> list[Any]:
        return [draw(strategy)] + [draw(st.one_of(st.none(), strategy))
                                   for _ in range(count - 1)]

    lines = st.lists(st.fixed_dictionaries({"@sku": TEXT, "qty": TEXT}),
                     min_size=2, max_size=3)
    return pa.table({"@code": pa.array(column(TEXT), pa.string()),
                     "name": pa.array(column(TEXT), pa.string()),
                     "address.city": pa.array(column(TEXT), pa.string()),
                     "line": pa.array([draw(lines) for _ in range(count)], pa.list_(LINE))})


def cells(table: pa.Table) -> list[str]:
    found: list[str] = []
    for row in table.to_pylist():
        for value in row.values():
            if isinstance(value, str):
                found.append(value)
            elif isinstance(value, list):
                found += [v for item in value for v in item.values()]
    return found


@settings(max_examples=60, deadline=None)
@given(tables())
def test_text_round_trips_or_is_refused(table: pa.Table) -> None:
    sink = io.BytesIO()
    writer = XmlWriter()
    if any(FORBIDDEN.search(text) for text in cells(table)):
        with pytest.raises(UnwritableValueError):
            writer.write(ldtransform.Frames.from_table(table), sink)
        return
    writer.write(ldtransform.Frames.from_table(table, batch_size=2), sink)
    back = ldtransform.read(io.BytesIO(sink.getvalue()), format="xml").to_table()
    assert back.column_names == ["code", "name", "address.city", "line"]
    assert back.column("line").to_pylist() == [
        [{"sku": item["@sku"], "qty": item["qty"]} for item in lines]
        for lines in table.column("line").to_pylist()]
    for written, read in (("@code", "code"), ("name", "name"), ("address.city",
                                                                  "address.city")):
        assert back.column(read).to_pylist() == table.column(written).to_pylist()
