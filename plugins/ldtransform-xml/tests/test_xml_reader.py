"""The XML reader passes the same contract as the built-in readers, and reads records
chosen by a path, their attributes, nested and repeated elements, in any namespace."""

from __future__ import annotations

import gc
import io
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pyarrow as pa
import pytest

import ldtransform
from ldtransform import registry
from ldtransform.errors import ConfigError, ReadError
from ldtransform.testing import ReaderContract


class TestXmlReaderContract(ReaderContract):
    format = "xml"

    def write_table(self, table: pa.Table, path: Path) -> None:
        root = ET.Element("records")
        for row in table.to_pylist():
            record = ET.SubElement(root, "record")
            for name, value in row.items():
                if value is not None:
                    text = str(value).lower() if isinstance(value, bool) else str(value)
                    ET.SubElement(record, name).text = text
        if table.num_rows == 0:  # no record to carry the field names: declare them
            record = ET.SubElement(root, "record")
            for name in table.column_names:
                ET.SubElement(record, name)
        ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)

    def expected(self, table: pa.Table) -> pa.Table:
        def text(value: object) -> str | None:
            if value is None:
                return None
            return str(value).lower() if isinstance(value, bool) else str(value)

        if table.num_rows == 0:
            return table
        return pa.table({name: pa.array([text(v) for v in table.column(name).to_pylist()],
                                        pa.string()) for name in table.column_names})

    def malformed_inputs(self) -> list[bytes]:
        return [b"<records><record><a>1</a></record>", b"<records><record><a>1</b>"]

    def test_empty_input_still_has_schema(self, tmp_path: Path) -> None:
        # An XML file with no records cannot name its fields; the declared-fields record
        # written above counts as one row of empty strings.
        path = tmp_path / "empty.xml"
        self.write_table(pa.table({"a": pa.array([], pa.string())}), path)
        frames = ldtransform.read(path)
        assert frames.schema.names == ["a"]
        assert frames.to_table().to_pylist() == [{"a": ""}]


def test_discovered_through_its_entry_point() -> None:
    spec = registry.find("reader", "xml")
    assert spec.distribution == "ldtransform-xml"
    assert not spec.builtin
    assert registry.reader_for_source("accounts.xml").format == "xml"


def test_listed_by_the_cli(tmp_path: Path) -> None:
    listing = subprocess.run([sys.executable, "-m", "ldtransform", "plugins", "--json"],
                             capture_output=True, text=True, check=True).stdout
    assert '"distribution": "ldtransform-xml"' in listing


ORDERS = """<?xml version="1.0" encoding="UTF-8"?>
<ex:export xmlns:ex="urn:example:export" xmlns="urn:example:default"
           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <ex:meta><ex:created>2024-01-31</ex:created></ex:meta>
  <ex:orders>
    <ex:order id="1" status="open">
      <ex:customer>Zoë &amp; Co</ex:customer>
      <ex:address kind="home"><ex:city>Köln</ex:city><ex:zip>50667</ex:zip></ex:address>
      <ex:line sku="A-1" qty="2">first</ex:line>
      <ex:line sku="B-2" qty="1"/>
      <ex:tag>x</ex:tag><ex:tag>y</ex:tag>
      <ex:note xsi:nil="true"/>
    </ex:order>
    <!-- a comment between records -->
    <ex:order id="2"><ex:customer/><ex:id>inner</ex:id><ex:tag>z</ex:tag></ex:order>
  </ex:orders>
  <order>in the default namespace</order>
</ex:export>
"""


@pytest.fixture
def orders(tmp_path: Path) -> Path:
    path = tmp_path / "orders.xml"
    path.write_text(ORDERS, encoding="utf-8")
    return path


def test_attributes_nested_and_repeated_elements_become_columns(orders: Path) -> None:
    table = ldtransform.read(orders, records="ex:order").to_table()
    line = pa.struct([("#text", pa.string()), ("sku", pa.string()), ("qty", pa.string())])
    assert table.schema == pa.schema([
        ("@id", pa.string()),  # an attribute named like a child element of the record
        ("status", pa.string()),
        ("customer", pa.string()),
        ("address.kind", pa.string()),
        ("address.city", pa.string()),
        ("address.zip", pa.string()),
        ("line", pa.list_(line)),
        ("tag", pa.list_(pa.string())),
        ("note", pa.string()),
        ("id", pa.string()),
    ])
    first, second = table.to_pylist()
    assert first == {
        "@id": "1", "status": "open", "customer": "Zoë & Co", "address.kind": "home",
        "address.city": "Köln", "address.zip": "50667",
        "line": [{"#text": "first", "sku": "A-1", "qty": "2"},
                 {"#text": None, "sku": "B-2", "qty": "1"}],
        "tag": ["x", "y"], "note": None, "id": None,
    }
    assert second["customer"] == "" and second["id"] == "inner" and second["tag"] == ["z"]
    assert second["status"] is None and second["line"] is None


@pytest.mark.parametrize(("path", "rows"), [
    ("ex:order", 2),  # the prefix the document declares
    ("{urn:example:export}order", 2),
    ("orders/order", 2),
    ("/export/orders/order", 2),
    ("/export/*/order", 2),
    ("/orders/order", 0),  # anchored: orders is not the root
    ("order", 3),  # a bare name matches in any namespace
    ("{urn:example:default}order", 1),
    ("nope:order", 0),  # a prefix the document does not declare
])
def test_records_are_chosen_by_a_path(orders: Path, path: str, rows: int) -> None:
    assert ldtransform.read(orders, records=path).to_table().num_rows == rows


def test_by_default_the_children_of_the_root_are_records(orders: Path) -> None:
    table = ldtransform.read(orders).to_table()
    assert table.num_rows == 3
    assert table.column("created").to_pylist() == ["2024-01-31", None, None]


@pytest.mark.parametrize("path", ["", "/", "a//b"])
def test_an_empty_step_is_a_config_error(orders: Path, path: str) -> None:
    with pytest.raises(ConfigError, match="records must be a path"):
        ldtransform.read(orders, records=path)


def test_malformed_xml_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.xml"
    path.write_text("<records>\n<record><a>1</a></record>\n<record><a>2</b></record>\n")
    with pytest.raises(ReadError, match="line 3") as caught:
        ldtransform.read(path).to_table()
    assert caught.value.line == 3


def test_row_numbers_count_records(orders: Path) -> None:
    frames = ldtransform.read(orders, records="order", batch_size=2)
    assert [(n.first_row, n.batch.num_rows) for n in frames.numbered()] == [(1, 2), (3, 1)]


def test_options_come_from_the_command_line(orders: Path) -> None:
    shown = subprocess.run([sys.executable, "-m", "ldtransform", "inspect", str(orders),
                            "-o", "records=ex:order"],
                           capture_output=True, text=True, check=True).stdout
    assert "address.city" in shown and "list<" in shown


def test_a_stream_is_copied_once_and_the_copy_removed(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    data = ORDERS.encode()
    assert ldtransform.read(io.BytesIO(data), format="xml").to_table().num_rows == 3
    assert list(tmp_path.iterdir()) == []  # read through: removed
    unread = ldtransform.read(io.BytesIO(data), format="xml")
    assert len(list(tmp_path.iterdir())) == 1
    del unread
    gc.collect()
    assert list(tmp_path.iterdir()) == []  # dropped unread: removed too
