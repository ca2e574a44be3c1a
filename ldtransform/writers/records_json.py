"""Plain records as JSON (an array) or JSON Lines: one object per row, no envelope.

For pandas users and other tools: keys are the column names, values as in LD items
(dates as ``2014-02-01T05:00:00+0000``, numbers as numbers, child records nested). Works
with or without an itemType schema.
"""

from __future__ import annotations

from typing import ClassVar

import orjson
import pyarrow as pa

from ldtransform.writers import RecordWriter
from ldtransform.writers._values import join_pieces, json_pieces

__all__ = ["RecordsJsonLinesWriter", "RecordsJsonWriter"]


class RecordsJsonWriter(RecordWriter):
    """A JSON array of plain records, one per line."""

    format: ClassVar[str] = "json"
    suffix: ClassVar[str] = ".json"
    separator: ClassVar[bytes] = b",\n"
    terminator: ClassVar[str] = ""  # after each record

    def begin(self) -> bytes:
        return b"[\n"

    def end(self) -> bytes:
        return b"\n]\n"

    def encode(self, batch: pa.RecordBatch) -> pa.Array:
        parts: list[pa.Array | str] = [self.separator.decode() + "{"]
        for i, name in enumerate(batch.schema.names):
            parts.append(("," if i else "") + orjson.dumps(name).decode() + ":")
            parts += json_pieces(batch.column(i), timezone=self.timezone, unset=self.unset)
        parts.append("}" + self.terminator)
        return join_pieces(parts, batch.num_rows)


class RecordsJsonLinesWriter(RecordsJsonWriter):
    """Plain records as JSON Lines."""

    format: ClassVar[str] = "jsonl"
    suffix: ClassVar[str] = ".jsonl"
    separator: ClassVar[bytes] = b""
    terminator: ClassVar[str] = "\n"

    def begin(self) -> bytes:
        return b""

    def end(self) -> bytes:
        return b""
