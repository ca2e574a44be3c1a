"""Built-in writers, one module per format, and the base they share.

Every built-in writer is a :class:`RecordWriter`: a file is ``begin()``, then the records
``encode()`` makes (one element per record, each complete with its line ending, and each
starting with ``separator`` — which the first record of a file drops), then ``end()``.
That shape lets the pipeline split output into parts at record boundaries, by count or
by bytes, repeat a CSV header in every part, and write a batch's records straight from
the Arrow buffer that holds them.
"""

from __future__ import annotations

from typing import BinaryIO, ClassVar

import pyarrow as pa

from ldtransform._bytelayout import value_offsets
from ldtransform.frames import Frames
from ldtransform.schema import ItemSchema
from ldtransform.writers._options import WriterOptions, make_writer

__all__ = ["RecordWriter", "WriterOptions", "make_writer", "record_bytes", "value_offsets"]


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
        """One string element per record of ``batch``, in order, each starting with
        ``separator``."""
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
            sink.write(record_bytes(self.encode(batch),
                                    skip=0 if rows else len(self.separator)))
            rows += batch.num_rows
        sink.write(self.end())
        return rows


def record_bytes(records: pa.Array, *, skip: int = 0) -> pa.Buffer:
    """The records of an encoded batch, back to back, less the first ``skip`` bytes (the
    separator before a file's first record): a slice of the Arrow buffer, not a copy."""
    offsets = value_offsets(records)
    start, stop = int(offsets[0]) + skip, int(offsets[-1])
    data = records.buffers()[2]
    if data is None or stop <= start:
        return pa.py_buffer(b"")
    return data.slice(start, stop - start)


