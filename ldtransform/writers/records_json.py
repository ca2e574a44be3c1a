"""Plain records as JSON (an array) or JSON Lines: one object per row, no envelope.

For pandas users and other tools: keys are the column names, values as in LD items
(dates as ``2014-02-01T05:00:00+0000``, numbers as numbers, child records nested). Works
with or without an itemType schema.
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa

from ldtransform.writers import RecordWriter
from ldtransform.writers._framing import JsonArrayFile, JsonLinesFile
from ldtransform.writers._values import join_pieces, member_pieces

__all__ = ["RecordsJsonLinesWriter", "RecordsJsonWriter"]


class RecordsJsonWriter(JsonArrayFile, RecordWriter):
    """A JSON array of plain records, one per line."""

    format: ClassVar[str] = "json"
    suffix: ClassVar[str] = ".json"

    def encode(self, batch: pa.RecordBatch) -> pa.Array:
        members = member_pieces(zip(batch.schema.names, batch.columns, strict=True),
                                timezone=self.timezone, unset=self.unset)
        return join_pieces([self.separator.decode() + "{", *members, "}" + self.terminator],
                           batch.num_rows)


class RecordsJsonLinesWriter(JsonLinesFile, RecordsJsonWriter):
    """Plain records as JSON Lines."""

    format: ClassVar[str] = "jsonl"
    suffix: ClassVar[str] = ".jsonl"
