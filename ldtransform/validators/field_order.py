"""``field-order``: one field's value must not come after another's (dates, numbers).

Named in a schema's ``checks``::

    {"name": "field-order", "earlier": "accountLicenseInformation[].licenseValidFrom",
     "later": "accountLicenseInformation[].licenseValidTo"}

Both fields are top-level, or both belong to the same child record list (``list[].x``), in
which case each child record is compared with itself. Rows where either value is missing
are left to the ``required`` checks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ldtransform import issue_codes as codes
from ldtransform._fieldcheck import list_positions
from ldtransform.errors import ConfigError
from ldtransform.protocols import Issue

__all__ = ["FieldOrder"]


class FieldOrder:
    """Rejects rows (or child records) whose ``earlier`` value is after ``later``."""

    name: ClassVar[str] = "field-order"

    def __init__(self, *, earlier: str, later: str, allow_equal: bool = True) -> None:
        self.earlier, self.later, self.allow_equal = earlier, later, allow_equal
        parent_a, _, self.child_a = earlier.rpartition("[].")
        parent_b, _, self.child_b = later.rpartition("[].")
        if parent_a != parent_b:
            raise ConfigError(f"field-order compares fields of the same record: {earlier!r} "
                              f"and {later!r} belong to different records")
        self.parent = parent_a or None

    def check(self, batch: pa.RecordBatch, *, first_row: int) -> Iterable[Issue]:
        if self.parent is None:
            a, b = batch.column(self.earlier), batch.column(self.later)
            rows = np.arange(batch.num_rows)
            index = None
        else:
            lists = batch.column(self.parent)
            flat = lists.flatten()
            a, b = flat.field(self.child_a), flat.field(self.child_b)
            rows, index = list_positions(lists)
        wrong = pc.greater(a, b) if self.allow_equal else pc.greater_equal(a, b)
        at = np.flatnonzero(wrong.fill_null(False).to_numpy(zero_copy_only=False))
        return self._issues(at, a, b, rows, index, first_row)

    def _issues(self, at: np.ndarray, a: pa.Array, b: pa.Array, rows: np.ndarray,
                index: np.ndarray | None, first_row: int) -> Iterator[Issue]:
        for i in at:
            field = self.earlier if index is None else (
                f"{self.parent}[{index[i]}].{self.child_a}")
            first, second = _shown(a[int(i)].as_py()), _shown(b[int(i)].as_py())
            relation = "after" if self.allow_equal else "not before"
            yield Issue(code=codes.FIELD_ORDER, message=f"{self.earlier} ({first}) is "
                        f"{relation} {self.later} ({second})", row=first_row + int(rows[i]),
                        field=field, value=first)

    def finish(self) -> Iterable[Issue]:
        return ()


def _shown(value: object) -> object:
    """Dates and times as LD writes them (2014-02-01T05:00:00+0000)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.strftime("%Y-%m-%dT%H:%M:%S%z")
    return value
