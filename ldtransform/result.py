"""validate(): the one-call form of a validation, for scripts and notebooks.

It reads everything, so it suits data that fits in memory (a DataFrame, a file of a few
million rows); :class:`~ldtransform.validation.Validation` streams files of any size.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa

from ldtransform.errors import ValidationFailed
from ldtransform.frames import Frames
from ldtransform.readers import is_in_memory, read_for_validation
from ldtransform.report import Report
from ldtransform.schema import ItemSchema
from ldtransform.validation import ROW_COLUMN, ExtraColumns, Validation, rejected_schema

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pandas as pd

    from ldtransform.mapping import Mapping
    from ldtransform.transforms import TransformSpec

__all__ = ["Result", "as_frames", "validate"]


@dataclass(frozen=True)
class Result:
    """What a validation produced: valid rows, rejected rows and the report.

    ``valid_table`` holds the valid rows typed as the schema says; ``rejected_table`` the
    rejected rows in the source's own columns plus ``_row`` (the row number, from 1) and
    ``_errors``. ``index`` is the index of the DataFrame validated, if one was; ``schema``
    the itemType schema the rows were validated against.
    """

    valid_table: pa.Table
    rejected_table: pa.Table
    report: Report
    index: pd.Index | None = field(default=None, repr=False, compare=False)
    schema: ItemSchema | None = None

    @property
    def valid(self) -> pd.DataFrame:
        """The valid rows as a DataFrame, under their labels in the DataFrame validated."""
        frame: pd.DataFrame = self.valid_table.to_pandas()
        if self.index is not None:
            kept = np.setdiff1d(np.arange(len(self.index)), self._rejected_positions())
            frame.index = self.index.take(kept)
        return frame

    @property
    def rejected(self) -> pd.DataFrame:
        """The rejected rows as a DataFrame, with ``_row`` and ``_errors``; from a
        DataFrame they keep its index, and ``_row`` is the row's index label, so
        ``df.loc[result.rejected.index]`` are the source rows."""
        frame: pd.DataFrame = self.rejected_table.to_pandas()
        if self.index is not None:
            labels = self.index.take(self._rejected_positions())
            frame.index = labels
            frame[ROW_COLUMN] = labels.to_numpy()
        return frame

    def _rejected_positions(self) -> np.ndarray:
        rows = self.rejected_table.column(ROW_COLUMN).to_numpy(zero_copy_only=False)
        positions: np.ndarray = rows.astype(np.int64) - 1
        return positions

    @property
    def ok(self) -> bool:
        return self.report.ok

    def valid_frames(self) -> Frames:
        """The valid rows as fresh Frames for the next stage, knowing their schema and
        report (so ``result.valid_frames().write_items("out")`` needs nothing more)."""
        frames = Frames.from_table(self.valid_table)
        frames.item_schema = self.schema
        frames.report = self.report
        return frames

    def _repr_html_(self) -> str:
        return self.report.to_html()

    def __repr__(self) -> str:
        return f"<Result {self.report!r}>"


def validate(data: Frames | pd.DataFrame | pa.Table | str | os.PathLike[str],
             schema: ItemSchema | str | os.PathLike[str], *,
             mapping: Mapping | dict[str, Any] | str | os.PathLike[str] | None = None,
             extra_columns: ExtraColumns = "warn", max_issues: int = 1000,
             on_error: Literal["quarantine", "fail"] = "quarantine", partial: bool = False,
             transforms: Iterable[TransformSpec] = (), engine: str = "local",
             scheduler: Any = None, workers: int | None = None,
             **read_options: Any) -> Result:
    """Validate ``data`` (Frames, a DataFrame, an Arrow table or a file path) against
    ``schema``, optionally through ``mapping``; reader options go to
    :func:`ldtransform.read` when ``data`` is a path. With ``on_error="fail"`` a rejected
    row raises :class:`~ldtransform.errors.ValidationFailed` (carrying the report);
    ``partial=True`` checks rows meant for a Merge or Update (see :class:`Validation`).
    ``transforms`` (``[{"name": "dedupe", "on": ["id"]}]``) run on the rows before the
    mapping; see :mod:`ldtransform.transforms`. The valid and rejected rows of a DataFrame
    keep its index.

    ``engine="dask"`` validates files (a path, a glob or URL, or a list of them) on a Dask
    cluster, one task per source, with the same results in source order; ``scheduler``
    and ``workers`` as for :func:`~ldtransform.convert`."""
    if engine != "local":
        from ldtransform.partition import Job
        from ldtransform.pipeline import engine_module
        from ldtransform.schema import load_schema
        from ldtransform.validation import as_mapping

        item = schema if isinstance(schema, ItemSchema) else load_schema(schema)
        job = Job(item, mapping=as_mapping(mapping), extra_columns=extra_columns,
                  max_issues=max_issues, transforms=tuple(transforms),
                  read_options=read_options, partial=partial)
        checked: Result = engine_module(engine).validate(
            data, job, on_error=on_error, scheduler=scheduler, workers=workers)
        return checked
    frames = as_frames(data, read_options)
    run = Validation(schema, mapping=mapping, extra_columns=extra_columns,
                     max_issues=max_issues, partial=partial, transforms=transforms)
    rejected: list[pa.RecordBatch] = []
    valid = run.run(frames, on_rejected=rejected.append).to_table()
    report = run.finish()
    if on_error == "fail":
        raise_if_rejected(report)
    rejected_table = pa.Table.from_batches(rejected, schema=rejected_schema(frames.schema))
    return Result(valid, rejected_table, report, _pandas_index(data), run.schema)


def raise_if_rejected(report: Report) -> None:
    """Raise :class:`ValidationFailed`, naming the first error, unless ``report`` is ok."""
    if report.ok:
        return
    first = next((i for i in report.issues if i.severity == "error"), None)
    where = f" (first: row {first.row}, {first.field}: {first.message})" if first else ""
    raise ValidationFailed(f"{report.rows_rejected} of {report.rows_read} rows rejected"
                           f"{where}", report=report, row=first.row if first else None,
                           source=first.source if first else None)


def _pandas_index(data: Any) -> pd.Index | None:
    """The index of ``data`` when it is a DataFrame (rows are read in its order)."""
    pandas = sys.modules.get("pandas")  # a DataFrame means pandas is already imported
    if pandas is not None and isinstance(data, pandas.DataFrame):
        index: pd.Index = data.index
        return index
    return None


def as_frames(data: Any, read_options: dict[str, Any]) -> Frames:
    """Frames from Frames, an Arrow table, a DataFrame or a path (read for validation)."""
    if isinstance(data, Frames):
        return data
    if isinstance(data, str | os.PathLike) or is_in_memory(data):
        return read_for_validation(data, **read_options)
    raise TypeError(f"validate() takes Frames, a DataFrame, an Arrow table or a path, "
                    f"not {type(data).__name__}")

