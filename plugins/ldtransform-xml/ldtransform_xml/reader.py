"""A streaming reader for record-oriented XML."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from typing import Any, ClassVar

import pyarrow as pa

from ldtransform import Frames
from ldtransform.protocols import Source
from ldtransform_xml._shape import Shape, record_values
from ldtransform_xml._stream import RecordPath, records

__all__ = ["XmlReader"]


class XmlReader:
    """Reads the record elements of an XML file as rows.

    Option ``records``: the path of the record elements (``account``,
    ``accounts/account``, ``/export/a:account``; see :class:`RecordPath`); by default
    each child of the root is a record. Attributes and child elements are text columns,
    nested elements dotted columns, repeated ones child records (see
    :mod:`ldtransform_xml._shape`). Two streaming passes: the first learns the columns, the
    second builds batches, so memory stays bounded by one record and the batch size. Row
    numbers are record numbers, from 1.
    """

    format: ClassVar[str] = "xml"
    suffixes: ClassVar[tuple[str, ...]] = (".xml",)

    def __init__(self, *, records: str | None = None) -> None:
        self.records = RecordPath(records)

    def read(self, source: Source, *, schema: pa.Schema | None = None,
             batch_size: int = 65_536) -> Frames:
        """Stream the records of ``source`` as Frames."""
        copy = None
        if isinstance(source, str | os.PathLike):
            name = path = os.fspath(source)
        else:  # a stream is read twice, so it is kept on disk meanwhile
            name = str(getattr(source, "name", "<stream>"))
            with tempfile.NamedTemporaryFile(suffix=".xml", delete=False) as file:
                shutil.copyfileobj(source, file)
            path = copy = file.name
        try:
            shape = Shape()
            count = 0
            for element in records(path, name, self.records):
                shape.learn_record(element)
                count += 1
            shape.settle()
        except BaseException:
            _remove(copy)
            raise
        arrow_schema = pa.schema(shape.columns())
        batches = _batches(path, name, self.records, shape, arrow_schema, batch_size, copy)
        frames = Frames(arrow_schema, batches, batch_size=batch_size, source=name,
                        info={"format": self.format, "records": self.records.text,
                              "rows": count})
        if copy is not None:  # removed once read, or when the frames are dropped unread
            weakref.finalize(frames, _remove, copy)
        return frames


def _batches(path: str, name: str, record_path: RecordPath, shape: Shape, schema: pa.Schema,
             batch_size: int, copy: str | None) -> Iterator[tuple[int, pa.RecordBatch]]:
    pending: list[dict[str, Any]] = []
    first_row = 1
    try:
        for element in records(path, name, record_path):
            pending.append(record_values(element, shape))
            if len(pending) == batch_size:
                yield first_row, pa.RecordBatch.from_pylist(pending, schema=schema)
                first_row += len(pending)
                pending = []
        if pending:
            yield first_row, pa.RecordBatch.from_pylist(pending, schema=schema)
    finally:
        _remove(copy)


def _remove(copy: str | None) -> None:
    if copy is not None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(copy)
