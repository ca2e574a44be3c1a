"""Plain records as JSON (an array) or JSON Lines: one object per row, no envelope.

For pandas users and other tools: keys are the column names, values as in LD items
(dates as ``2014-02-01T05:00:00+0000``, numbers as numbers, child records nested). Works
with or without an itemType schema.
"""

from __future__ import annotations

from typing import ClassVar

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ldtransform.writers import RecordWriter
from ldtransform.writers._values import json_literal

__all__ = ["RecordsJsonLinesWriter", "RecordsJsonWriter"]


class RecordsJsonWriter(RecordWriter):
    """A JSON array of plain records, one per line."""

    format: ClassVar[str] = "json"
    suffix: ClassVar[str] = ".json"
    separator: ClassVar[bytes] = b",\n"

    def begin(self) -> bytes:
        return b"[\n"

    def end(self) -> bytes:
        return b"\n]\n"

    def encode(self, batch: pa.RecordBatch) -> pa.Array:
        parts: list[pa.Array | str] = ["{"]
        for i, name in enumerate(batch.schema.names):
            parts += [("," if i else "") + orjson.dumps(name).decode() + ":",
                      json_literal(batch.column(i), timezone=self.timezone,
                                   unset=self.unset)]
        parts.append("}")
        if len(parts) == 2:
            return pa.array(["{}"] * batch.num_rows, pa.string())
        return pc.binary_join_element_wise(*parts, "")


class RecordsJsonLinesWriter(RecordsJsonWriter):
    """Plain records as JSON Lines."""

    format: ClassVar[str] = "jsonl"
    suffix: ClassVar[str] = ".jsonl"
    separator: ClassVar[bytes] = b""

    def begin(self) -> bytes:
        return b""

    def end(self) -> bytes:
        return b""

    def encode(self, batch: pa.RecordBatch) -> pa.Array:
        return pc.binary_join_element_wise(super().encode(batch), "\n", "")
