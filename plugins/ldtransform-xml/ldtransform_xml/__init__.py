"""A streaming reader for record-oriented XML: an example ldtransform plugin."""

from __future__ import annotations

import os
import shutil
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any, ClassVar

import pyarrow as pa

from ldtransform import Frames, ReadError
from ldtransform.protocols import Source

__all__ = ["XmlReader"]


class XmlReader:
    """Reads ``<root><record><field>text</field>…</record>…</root>`` as text columns.

    Two streaming passes: the first learns every field name (in order of first
    appearance), the second builds batches, so memory stays bounded by the batch size.
    """

    format: ClassVar[str] = "xml"
    suffixes: ClassVar[tuple[str, ...]] = (".xml",)

    def read(self, source: Source, *, schema: pa.Schema | None = None,
             batch_size: int = 65_536) -> Frames:
        """Stream the records of ``source`` as Frames."""
        if isinstance(source, str | os.PathLike):
            name = path = os.fspath(source)
        else:  # a stream is read twice, so keep a copy on disk
            name = str(getattr(source, "name", "<stream>"))
            with tempfile.NamedTemporaryFile(suffix=".xml", delete=False) as copy:
                shutil.copyfileobj(source, copy)
            path = copy.name
        fields: dict[str, None] = {}
        for record in _records(path, name):
            fields.update(dict.fromkeys(record))
        arrow_schema = pa.schema([(field, pa.string()) for field in fields])
        return Frames(arrow_schema, _batches(path, name, arrow_schema, batch_size),
                      batch_size=batch_size, source=name, info={"format": self.format})


def _records(path: str, name: str) -> Iterator[dict[str, str]]:
    depth = 0
    try:
        for event, element in ET.iterparse(path, events=("start", "end")):
            depth += 1 if event == "start" else -1
            if event == "end" and depth == 1:  # a record just closed under the root
                yield {child.tag: child.text or "" for child in element}
                element.clear()
    except ET.ParseError as exc:
        line, column = exc.position
        raise ReadError(f"malformed XML at column {column + 1}: {exc.msg}", source=name,
                        line=line, hint="Fix the XML; every tag must be closed") from exc
    except FileNotFoundError as exc:
        raise ReadError("no such file", source=name) from exc


def _batches(path: str, name: str, schema: pa.Schema, batch_size: int
             ) -> Iterator[tuple[int, pa.RecordBatch]]:
    pending: list[dict[str, Any]] = []
    first_row = 1
    for record in _records(path, name):
        pending.append(record)
        if len(pending) == batch_size:
            yield first_row, pa.RecordBatch.from_pylist(pending, schema=schema)
            first_row += len(pending)
            pending = []
    if pending:
        yield first_row, pa.RecordBatch.from_pylist(pending, schema=schema)
