"""``ddf.ld.validate(schema)``: a Dask DataFrame validated lazily, as pandas' ``df.ld``.

Each partition runs :func:`ldtransform.partition.run_partition` on its rows, numbered
where the partition starts, so row numbers, messages and the valid and rejected rows are
those ``df.ld.validate`` gives for the whole DataFrame computed; keys repeated across
partitions are found by the same shuffle of key hashes as files (:mod:`._keys`).
Nothing runs until ``valid``, ``rejected`` or ``report`` is computed; :meth:`compute`
computes all three in one pass.
"""

from __future__ import annotations

import operator
import os
import uuid
from functools import cached_property
from typing import TYPE_CHECKING, Any

import dask.dataframe as dd
import numpy as np
from dask.base import compute
from dask.dataframe.extensions import register_dataframe_accessor
from dask.delayed import delayed

from ldtransform.engines.dask._keys import first_places, split
from ldtransform.engines.dask._report import merged
from ldtransform.partition import Job, Keys, PartitionOutcome, PartitionTask, run_partition
from ldtransform.report import Report
from ldtransform.schema import ItemSchema, load_schema
from ldtransform.validation import as_mapping

if TYPE_CHECKING:
    import pandas as pd

    from ldtransform.result import Result

__all__ = ["DaskLdAccessor", "LazyResult"]

SOURCE = "<DataFrame>"
BUCKETS = 4


@register_dataframe_accessor("ld")
class DaskLdAccessor:
    """ldtransform on a Dask DataFrame: ``ddf.ld.validate(schema)``."""

    def __init__(self, frame: dd.DataFrame) -> None:
        self._frame = frame

    def validate(self, schema: ItemSchema | str | os.PathLike[str], *, mapping: Any = None,
                 extra_columns: Any = "warn", max_issues: int = 1000, partial: bool = False,
                 transforms: Any = ()) -> LazyResult:
        """This DataFrame validated against ``schema`` (options as
        :func:`ldtransform.validate`), lazily."""
        item = schema if isinstance(schema, ItemSchema) else load_schema(schema)
        job = Job(item, mapping=as_mapping(mapping), extra_columns=extra_columns,
                  max_issues=max_issues, transforms=tuple(transforms), partial=partial)
        job.check()
        return LazyResult(self._frame, job)


class LazyResult:
    """The valid and rejected rows of a Dask DataFrame as Dask DataFrames, and the report,
    computed when asked for."""

    def __init__(self, frame: dd.DataFrame, job: Job) -> None:
        run = uuid.uuid4().hex[:8]
        self._item_type, self._max_issues = job.schema.item_type, job.max_issues
        shared = delayed(job, name=f"ldtransform-job-{run}")
        parts = frame.to_delayed()
        starts = delayed(_starts)([delayed(len)(part) for part in parts])
        first = [delayed(_validate, pure=False)(
            shared, part, number, delayed(operator.getitem)(starts, number), None)
            for number, part in enumerate(parts)]
        seeds = _shuffled(first)
        final = [delayed(_again, pure=False)(
            shared, part, number, delayed(operator.getitem)(starts, number), outcome,
            seeds) for number, (part, outcome) in enumerate(zip(parts, first, strict=True))]
        meta = _empty_result(frame, job)
        at = [delayed(operator.getitem)(starts, number) for number in range(len(parts))]
        self.valid: dd.DataFrame = dd.from_delayed(
            [delayed(_valid)(*args) for args in zip(final, parts, at, strict=True)],
            meta=_nested_as_arrow(meta.valid, meta.valid_table), verify_meta=False)
        self.rejected: dd.DataFrame = dd.from_delayed(
            [delayed(_rejected)(*args) for args in zip(final, parts, at, strict=True)],
            meta=_nested_as_arrow(meta.rejected, meta.rejected_table), verify_meta=False)
        self._report = delayed(_merged)([delayed(_report_of)(outcome)
                                              for outcome in final], job.schema.item_type,
                                             job.max_issues)
        self._all = [delayed(_three)(*args) for args in zip(final, parts, at, strict=True)]

    @cached_property
    def report(self) -> Report:
        """The report (computed on first use)."""
        report: Report = self._report.compute()
        return report

    def compute(self) -> tuple[pd.DataFrame, pd.DataFrame, Report]:
        """The valid rows, the rejected rows and the report, in one pass."""
        import pandas as pd

        (computed,) = compute(self._all)
        valid = pd.concat([one[0] for one in computed])
        rejected = pd.concat([one[1] for one in computed])
        report = _merged([one[2] for one in computed], self._item_type, self._max_issues)
        self.__dict__["report"] = report
        return valid, rejected, report


def _starts(lengths: list[int]) -> list[int]:
    """Where each partition starts, as a row number counted from 0."""
    starts: list[int] = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(int).tolist()
    return starts


def _validate(job: Job, part: pd.DataFrame, number: int, start: int,
              seeds: Keys | None) -> PartitionOutcome:
    from ldtransform.frames import Frames

    rows = Frames.from_pandas(part)
    shifted = Frames(rows.schema, ((n.first_row + start, n.batch) for n in rows.numbered()),
                     source=SOURCE)
    # Every partition is the one source: earlier partitions' rows are "row n" alike.
    task = PartitionTask(number, SOURCE, seeds=seeds, place=0)
    return run_partition(job, task, frames=shifted)


def _shuffled(outcomes: list[Any]) -> Any:
    """Per partition, the keys an earlier partition holds first, by a shuffle."""
    numbers = list(range(len(outcomes)))
    buckets = max(1, min(BUCKETS, len(outcomes)))
    parts = [delayed(split)(delayed(operator.attrgetter("keys"))(outcome), buckets)
             for outcome in outcomes]
    found = [delayed(first_places)([delayed(operator.getitem)(part, number)
                                         for part in parts], numbers)
             for number in range(buckets)]
    return delayed(_joined)(found)


def _joined(found: list[dict[int, Keys]]) -> dict[int, Keys]:
    joined: dict[int, Keys] = {}
    for bucket in found:
        for number, checks in bucket.items():
            for name, (hashes, rows) in checks.items():
                have = joined.setdefault(number, {}).get(name)
                joined[number][name] = (hashes, rows) if have is None else (
                    np.concatenate([have[0], hashes]), np.concatenate([have[1], rows]))
    return joined


def _again(job: Job, part: pd.DataFrame, number: int, start: int, outcome: PartitionOutcome,
           seeds: dict[int, Keys]) -> PartitionOutcome:
    """The partition's outcome, run again with its seeds when an earlier one holds keys."""
    if number not in seeds:
        return outcome
    return _validate(job, part, number, start, seeds[number])


def _result(outcome: PartitionOutcome, part: pd.DataFrame, start: int) -> Result:
    """The partition's rows as pandas' ``df.ld.validate`` gives them: under their labels."""
    import pyarrow as pa

    from ldtransform.result import Result
    from ldtransform.validation import ROW_COLUMN

    rejected = outcome.rejected_rows
    assert outcome.valid is not None and rejected is not None
    # Result finds a rejected row's label by its row number within this partition.
    at = rejected.schema.get_field_index(ROW_COLUMN)
    within = pa.array(rejected.column(at).to_numpy(zero_copy_only=False) - start, pa.int64())
    rejected = rejected.set_column(at, ROW_COLUMN, within)
    return Result(outcome.valid, rejected, outcome.report, part.index)


def _valid(outcome: PartitionOutcome, part: pd.DataFrame, start: int) -> pd.DataFrame:
    result = _result(outcome, part, start)
    return _nested_as_arrow(result.valid, result.valid_table)


def _rejected(outcome: PartitionOutcome, part: pd.DataFrame, start: int) -> pd.DataFrame:
    result = _result(outcome, part, start)
    return _nested_as_arrow(result.rejected, result.rejected_table)


def _nested_as_arrow(frame: pd.DataFrame, table: Any) -> pd.DataFrame:
    """Child records (lists, records) as Arrow-backed columns: Dask takes every column of
    Python objects for text and would turn them into strings."""
    import pandas as pd
    import pyarrow as pa

    for field in table.schema:
        if pa.types.is_nested(field.type):
            frame[field.name] = pd.Series(pd.arrays.ArrowExtensionArray(
                table.column(field.name)), index=frame.index)
    return frame


def _three(outcome: PartitionOutcome, part: pd.DataFrame,
           start: int) -> tuple[pd.DataFrame, pd.DataFrame, Report]:
    result = _result(outcome, part, start)
    return result.valid, result.rejected, outcome.report


def _report_of(outcome: PartitionOutcome) -> Report:
    return outcome.report


def _merged(reports: list[Report], item_type: str, max_issues: int) -> Report:
    return merged(reports, item_type=item_type, sources=[SOURCE], max_issues=max_issues)


def _empty_result(frame: dd.DataFrame, job: Job) -> Result:
    from ldtransform.result import validate

    return validate(frame._meta, job.schema, mapping=job.mapping,
                    extra_columns=job.extra_columns, max_issues=job.max_issues,
                    partial=job.partial)
