"""The XML writer passes the writer contract, and what it writes reads back as it was."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from ldtransform_xml import XmlWriter

import ldtransform
from ldtransform.errors import ConfigError, UnwritableValueError
from ldtransform.testing import WriterContract, canonical_table


def spelled(value: Any) -> str | None:
    """How the writer spells a value: numbers in their shortest exact form."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def read_xml(data: bytes, **options: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = ldtransform.read(io.BytesIO(data), format="xml",
                                                  **options).to_table().to_pylist()
    return rows


class TestXmlWriterContract(WriterContract):
    format = "xml"

    def make_writer(self) -> XmlWriter:
        return XmlWriter()

    def read_back(self, data: bytes) -> list[dict[str, Any]]:
        # A file of one record has no column for what that record lacks: those are null.
        columns = canonical_table().column_names
        return [{name: row.get(name) for name in columns} for row in read_xml(data)]

    def expected_rows(self, table: pa.Table) -> list[dict[str, Any]]:
        return [{name: spelled(value) for name, value in row.items()}
                for row in table.to_pylist()]


def write(table: pa.Table, **options: Any) -> bytes:
    sink = io.BytesIO()
    XmlWriter(**options).write(ldtransform.Frames.from_table(table, batch_size=2), sink)
    return sink.getvalue()


ORDERS = b"""<orders>
  <order id="1"><customer>Zo\xc3\xab &amp; &lt;Co&gt;</customer>
    <address kind="home"><city>K\xc3\xb6ln</city></address>
    <line sku="A-1" qty="2">first</line><line sku="B&quot;2"/>
    <tag>x</tag><tag>y</tag></order>
  <order id="2"><customer/><id>inner</id><tag>z</tag></order>
  <order id="3"><line sku="C"><part>p1</part><part>p2</part></line><tag>w</tag></order>
</orders>"""


def test_what_the_reader_reads_writes_back_to_the_same_rows() -> None:
    table = ldtransform.read(io.BytesIO(ORDERS), format="xml").to_table()
    assert "line" in table.column_names and pa.types.is_list(table.schema.field("line").type)
    again = write(table, root="orders", record="order")
    assert read_xml(again) == table.to_pylist()


def test_special_characters_are_escaped_in_text_and_attributes() -> None:
    table = pa.table({"@code": ['a "quoted"\tvalue\nnext & <more>'],
                      "text": ["<b>bold</b> & 'so'\r\n"]})
    data = write(table)
    assert b"<b>" not in data
    assert read_xml(data) == [{"code": 'a "quoted"\tvalue\nnext & <more>',
                               "text": "<b>bold</b> & 'so'\r\n"}]


def test_dotted_columns_nest_and_nulls_write_nothing() -> None:
    table = pa.table({"id": ["1", "2"], "address.city": ["Köln", None],
                      "address.@kind": ["home", None], "when": [dt.datetime(2014, 2, 1, 5),
                                                                None]})
    data = write(table)
    assert b'<address kind="home"><city>K' in data
    assert b"<record><id>2</id></record>" in data
    assert read_xml(data)[0]["when"] == "2014-02-01T05:00:00.000000"


def test_characters_xml_cannot_hold_are_refused() -> None:
    with pytest.raises(UnwritableValueError, match="XML cannot carry"):
        write(pa.table({"a": ["bell \x07"]}))


@pytest.mark.parametrize("name", ["first name", "1st", "a..b"])
def test_columns_that_cannot_be_element_names_are_config_errors(name: str) -> None:
    with pytest.raises(ConfigError, match="cannot be an XML name"):
        write(pa.table({name: ["x"]}))


def test_written_by_a_conversion_through_the_registry(tmp_path: Path) -> None:
    result = ldtransform.read(io.BytesIO(ORDERS), format="xml").write(tmp_path / "out",
                                                                       to="xml")
    parts = sorted((tmp_path / "out").glob("*.xml"))
    assert result is not None and len(parts) == 1
    assert [row["id"] for row in read_xml(parts[0].read_bytes())] == [None, "inner", None]
