"""``drop_empty_rows``: drop rows with nothing in them (a spreadsheet's trailing blank
lines, ``,,,,`` lines of an export)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ldtransform.transforms import RowFilter, check_columns

__all__ = ["DropEmptyRows"]


class DropEmptyRows(RowFilter):
    """Drop rows whose every column (or every one of ``columns``) is missing, empty or
    only whitespace."""

    name: ClassVar[str] = "drop_empty_rows"

    def __init__(self, columns: Sequence[str] | None = None) -> None:
        self.columns = list(columns) if columns is not None else None

    def bind(self, schema: pa.Schema, source: str | None) -> None:
        if self.columns is not None:
            check_columns(self.columns, schema, "drop_empty_rows", source)

    def keep(self, batch: pa.RecordBatch) -> np.ndarray:
        filled = np.zeros(batch.num_rows, dtype=bool)
        for name in self.columns or batch.schema.names:
            filled |= _filled(batch.column(name))
        return filled


def _filled(column: pa.Array) -> np.ndarray:
    present = pc.is_valid(column)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        blank = pc.equal(pc.utf8_trim_whitespace(column), "")
        present = pc.and_(present, pc.invert(blank.fill_null(True)))
    return np.asarray(present.to_numpy(zero_copy_only=False), dtype=bool)
