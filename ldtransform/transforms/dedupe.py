"""``dedupe``: pass on the first row of each key, drop later rows with the same key."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import ClassVar

import numpy as np
import pyarrow as pa

from ldtransform.errors import ConfigError
from ldtransform.transforms import RowFilter, check_columns

__all__ = ["Dedupe"]


class Dedupe(RowFilter):
    """Keep the first occurrence of each value of the columns ``on`` (all columns when
    not given), across batches and across the sources of one run.

    Keys are compared exactly (kept in memory, one entry per distinct key). A row whose key
    has an empty or missing part is always passed on: validation reports it, it is never
    taken for a duplicate of another row that lacks its key.
    """

    name: ClassVar[str] = "dedupe"

    def __init__(self, on: Sequence[str] | str | None = None) -> None:
        if isinstance(on, str):
            on = [on]
        if on is not None and (not on or not all(isinstance(c, str) for c in on)):
            raise ConfigError("dedupe: 'on' is a list of column names, e.g. on = [\"id\"]")
        self.on = list(on) if on is not None else None
        self.seen: set[Hashable] = set()

    def bind(self, schema: pa.Schema, source: str | None) -> None:
        if self.on is not None:
            check_columns(self.on, schema, "dedupe", source)

    def keep(self, batch: pa.RecordBatch) -> np.ndarray:
        names = self.on or batch.schema.names
        columns = [batch.column(name).to_pylist() for name in names]
        keys = columns[0] if len(columns) == 1 else list(zip(*columns, strict=True))
        parts = (lambda key: (key,)) if len(columns) == 1 else (lambda key: key)
        keep = np.ones(batch.num_rows, dtype=bool)
        seen = self.seen
        for at, key in enumerate(keys):
            if any(part is None or part == "" for part in parts(key)):
                continue
            hashable = _hashable(key)
            if hashable in seen:
                keep[at] = False
            else:
                seen.add(hashable)
        return keep


def _hashable(value: object) -> Hashable:
    """Lists and records (nested columns) as tuples, so they can be keys."""
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple((k, _hashable(v)) for k, v in value.items())
    return value
