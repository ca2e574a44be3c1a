"""The fixed-width reader passes the same contract as the built-in readers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from ldtransform import registry
from ldtransform.testing import ReaderContract


def as_text(value: Any) -> str:
    """How the contract's files spell a value."""
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


class TestFixedWidthReaderContract(ReaderContract):
    format = "fixedwidth"
    carries_newlines: ClassVar[bool] = False

    def write_table(self, table: pa.Table, path: Path) -> None:
        # No layout: a header line whose names start at their fields' columns.
        columns = {name: [as_text(v) for v in table.column(name).to_pylist()]
                   for name in table.column_names}
        widths = [max([len(name), *map(len, values)]) + 1 for name, values in columns.items()]
        lines = ["".join(name.ljust(width) for name, width in zip(columns, widths,
                                                                 strict=True))]
        for row in zip(*columns.values(), strict=True):
            lines.append("".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def expected(self, table: pa.Table) -> pa.Table:
        # Without a layout every field is text; padding is dropped and blank is null.
        def text(value: Any) -> str | None:
            return as_text(value).rstrip(" ") or None

        return pa.table({name: pa.array([text(v) for v in table.column(name).to_pylist()],
                                        pa.string()) for name in table.column_names})

    def malformed_inputs(self) -> list[bytes]:
        return [
            b"id   name\n1    caf\xe9\n",  # latin-1 bytes in a UTF-8 file
            b"id   name\n1    one\n12\n",  # a line that ends before the last field starts
            b"id   id\n1    2\n",  # a header naming a field twice
            b"   \n1    2\n",  # a blank header
        ]


def test_discovered_through_its_entry_point() -> None:
    spec = registry.find("reader", "fixedwidth")
    assert spec.distribution == "ldtransform-fixedwidth"
    assert not spec.builtin
    assert registry.reader_for_source("export.dat", "fixedwidth").format == "fixedwidth"
    assert registry.load("reader", "fixedwidth").suffixes == ()  # never chosen by guessing


def test_options_come_from_the_command_line(tmp_path: Path) -> None:
    layout = tmp_path / "layout.toml"
    layout.write_text('[[fields]]\nname = "id"\nstart = 1\nwidth = 3\ntype = "integer"\n'
                      '[[fields]]\nname = "name"\nstart = 4\nwidth = 5\n')
    data = tmp_path / "export.dat"
    data.write_bytes("007Zoë  \n042Ana  \n".encode("cp037"))
    shown = subprocess.run(
        [sys.executable, "-m", "ldtransform", "inspect", str(data), "--format", "fixedwidth",
         "-o", f"layout={layout}", "-o", "encoding=cp037"],
        capture_output=True, text=True, check=True).stdout
    assert "Zoë" in shown and "int64" in shown
