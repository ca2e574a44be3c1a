"""The example plugin passes the same contract as the built-in readers."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pyarrow as pa

import ldtransform
from ldtransform import registry
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
