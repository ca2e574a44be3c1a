"""Built-in writers, one module per format, and the base they share.

Every built-in writer is a :class:`RecordWriter`: a file is ``begin()``, then the records
``encode()`` makes (one element per record, each complete with its line ending), joined by
``separator``, then ``end()``. That shape is what lets the pipeline split output into parts
at record boundaries, by count or by bytes, and repeat a CSV header in every part.
"""

from __future__ import annotations

from typing import BinaryIO, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ldtransform.frames import Frames
from ldtransform.schema import ItemSchema

__all__ = ["RecordWriter", "record_bytes", "value_offsets"]


class RecordWriter:
    """Base of the built-in writers (and a convenient one for plugins).

    Options go to ``__init__``; ``schema`` is the itemType schema of the frames, when
    known (it says the time zone of dates and how unset text is written).
    """

    format: ClassVar[str]
    suffix: ClassVar[str]
    separator: ClassVar[bytes] = b""

    def __init__(self, *, schema: ItemSchema | None = None) -> None:
        self.schema = schema

    @property
    def timezone(self) -> str:
        return self.schema.timezone if self.schema else "UTC"

    @property
    def unset(self) -> str | None:
        return self.schema.unset_text if self.schema else ""

    def begin(self) -> bytes:
        """What a file starts with (a CSV header, ``[``)."""
        return b""

    def encode(self, batch: pa.RecordBatch) -> pa.Array:
        """One string or binary element per record of ``batch``, in order."""
        raise NotImplementedError

    def end(self) -> bytes:
        """What a file ends with (``]``)."""
        return b""

    def write(self, frames: Frames, sink: BinaryIO) -> int:
        """Write every record of ``frames`` to ``sink`` as one file; return the count."""
        sink.write(self.begin())
        rows = 0
        for batch in frames:
            if batch.num_rows == 0:
                continue
            if rows and self.separator:
                sink.write(self.separator)
            sink.write(record_bytes(self.encode(batch), self.separator))
            rows += batch.num_rows
        sink.write(self.end())
        return rows


def record_bytes(records: pa.Array, separator: bytes = b"") -> bytes:
    """The records of an encoded batch as one byte string, joined by ``separator``.

    Zero-copy where it can be: the bytes are the slice of the array's data buffer."""
    if len(records) == 0:
        return b""
    if separator:
        records = pc.binary_join_element_wise(records, separator.decode("utf-8"), "")
    offsets = value_offsets(records)
    start, stop = int(offsets[0]), int(offsets[-1])
    data = records.buffers()[2]
    whole = b"" if data is None else data[start:stop].to_pybytes()
    return whole[: len(whole) - len(separator)] if separator else whole


def value_offsets(records: pa.Array) -> np.ndarray:
    """Where each record starts (and the last one ends) in the array's data buffer."""
    width = np.int64 if pa.types.is_large_string(records.type) \
        or pa.types.is_large_binary(records.type) else np.int32
    every = np.frombuffer(records.buffers()[1], dtype=width)
    return every[records.offset: records.offset + len(records) + 1]
