"""``filter``: pass on the rows an expression holds for (see :mod:`._expression`)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa

from ldtransform.transforms import RowFilter, check_columns
from ldtransform.transforms._expression import parse

__all__ = ["Filter"]


class Filter(RowFilter):
    """Keep the rows for which ``where`` holds, e.g. ``'country = "US" and amount > 0'``;
    drop the others. Rows where a value could not be compared are kept."""

    name: ClassVar[str] = "filter"

    def __init__(self, where: str) -> None:
        self.expression = parse(where)

    def bind(self, schema: pa.Schema, source: str | None) -> None:
        check_columns(self.expression.columns, schema,
                      f"filter {self.expression.text!r}", source)

    def keep(self, batch: pa.RecordBatch) -> np.ndarray:
        return self.expression.keep(batch)
