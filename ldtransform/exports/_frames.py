"""The Frames of an export, its exploded child rows, and typed DataFrames of both."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ldtransform.errors import LdTransformError
from ldtransform.frames import Frames, RawBatch

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ChildRows", "ExportFrames", "typed_pandas"]


def typed_pandas(table: pa.Table) -> pd.DataFrame:
    """A DataFrame with the dtypes the schema means: integers as nullable ``Int64``,
    booleans as nullable ``boolean``, dates and date-times as timestamps, decimals as
    exact :class:`~decimal.Decimal` values, dictionary columns as categories; text stays
    text. Lists and records stay Arrow-backed (``pd.ArrowDtype``): no Python object is made
    per child record until one is looked at (``frame["addresses"].iloc[0]`` is a list of
    dicts)."""
    import pandas as pd

    nullable = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}

    def dtype(kind: pa.DataType) -> Any:
        return pd.ArrowDtype(kind) if pa.types.is_nested(kind) else nullable.get(kind)

    frame: pd.DataFrame = table.to_pandas(types_mapper=dtype, date_as_object=False)
    return frame


class ChildRows:
    """The rows exploded from one list column of the items (``children="explode"``).

    They are gathered while the items are read: read the items first (iterate the
    Frames, or call ``to_table()``/``to_pandas()`` on them), then these.
    """

    def __init__(self, name: str, schema: pa.Schema) -> None:
        self.name = name
        self.schema = schema
        self.complete = False
        self._batches: list[pa.RecordBatch] = []

    def __repr__(self) -> str:
        state = f"{sum(b.num_rows for b in self._batches)} rows" if self.complete \
            else "not read yet"
        return f"<ChildRows {self.name} {state}>"

    def add(self, batch: pa.RecordBatch) -> None:
        self._batches.append(batch)

    def to_table(self) -> pa.Table:
        """Every child row, once the items have been read."""
        if not self.complete:
            raise LdTransformError(
                f"the {self.name!r} rows are gathered while the items are read: read the "
                "items first (iterate the Frames, or call .to_table() or .to_pandas())")
        return pa.Table.from_batches(self._batches, schema=self.schema)

    def to_pandas(self) -> pd.DataFrame:
        """Every child row as a typed DataFrame (see :func:`typed_pandas`)."""
        return typed_pandas(self.to_table())


class ExportFrames(Frames):
    """Frames of exported items; ``children`` holds the exploded child rows by list name
    (empty unless ``children="explode"``), and :meth:`to_pandas` gives typed columns."""

    def __init__(self, schema: pa.Schema, batches: Iterable[RawBatch], *,
                 children: dict[str, ChildRows], **options: Any) -> None:
        super().__init__(schema, batches, **options)
        self.children = children

    def to_pandas(self) -> pd.DataFrame:
        """Every item as a DataFrame typed as the schema says (see :func:`typed_pandas`)."""
        return typed_pandas(self.to_table())
