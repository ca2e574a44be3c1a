"""The Dask engine: the stages of :func:`ldtransform.convert` and
:func:`ldtransform.validate` run on a Dask cluster, with the local engine's results.

Install with ``pip install 'ldtransform[dask]'`` and pass ``engine="dask"`` (CLI:
``--engine dask``). Each source (a file; an Excel source is one sheet) is one task, run by
:func:`ldtransform.partition.run_partition`, the code the local engine runs; this package
only plans the tasks, runs them and puts their results together. A large CSV is one task:
a quoted field may hold newlines, so a byte offset cannot be known to start a record
without reading from the top of the file, and a wrong guess would split a row in two.

Primary keys and ``unique`` fields are checked over the whole run by a shuffle of key
hashes (see :mod:`._keys` and :mod:`._run`): the first occurrence in (source order, row)
wins and the rejected row's message names both places, exactly as locally.

Workers write their parts into ``out`` (which every worker and the driver must see)
under names derived from the source's position (``Account-p00003-00001.json``); a task
run again replaces its own parts. The driver writes the manifest last.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ldtransform.engines.dask._cluster import client_for
from ldtransform.engines.dask._report import merged
from ldtransform.engines.dask._run import run_all, summaries
from ldtransform.engines.dask._sources import expand
from ldtransform.errors import ValidationFailed
from ldtransform.manifest import SourceFile
from ldtransform.partition import Job, PartitionOutcome, PartitionTask, partition_stem
from ldtransform.pipeline import (
    ConvertResult,
    Progress,
    _describe_empty,
    _manifest,
    _prepare,
    _unique,
)
from ldtransform.quarantine import rejected_name
from ldtransform.report import Report
from ldtransform.writers import make_writer

__all__ = ["REQUIRES", "client_for", "convert", "validate", "validate_files"]

#: What a run needs besides Dask itself (imported when used, so ``ddf.ld`` stays light).
REQUIRES = ("distributed", "fsspec")


def _tasks(names: list[str], rejected_format: str | None) -> list[PartitionTask]:
    taken: set[str] = set()
    return [PartitionTask(index, name, _unique(rejected_name(name, rejected_format), taken)
                          if rejected_format else None)
            for index, name in enumerate(names)]


def convert(sources: Any, job: Job, *, overwrite: bool = False,
            progress: Progress | None = None, scheduler: Any = None,
            workers: int | None = None, mapping_file: Any = None,
            template_file: Any = None) -> ConvertResult:
    """:func:`ldtransform.convert` on a Dask cluster (its engine options as there)."""
    assert job.out is not None
    job.check()
    names = expand(sources)
    writer = make_writer(job.to, job.schema, job.writer_options)  # option errors first
    folder = job.out
    earlier = _prepare(folder, overwrite=overwrite, dry_run=job.dry_run)
    if not job.dry_run:
        folder.mkdir(parents=True, exist_ok=True)
    tasks = _tasks(names, job.rejected_format)
    with client_for(scheduler, workers) as client:
        try:
            outcomes = summaries(client, run_all(client, job, tasks))
            report = merged([o.report for o in outcomes], item_type=job.schema.item_type,
                            sources=names, max_issues=job.max_issues)
            _raise_failure(outcomes, report)
        except BaseException:
            _remove(job, tasks)
            raise
    if progress is not None:
        for outcome, name in zip(outcomes, names, strict=True):
            progress(outcome.report.rows_read, name, 1.0)
    parts = [part for outcome in outcomes for part in outcome.parts]
    rejected = [outcome.rejected for outcome in outcomes if outcome.rejected is not None]
    result = ConvertResult(folder, parts, report, rejected, dry_run=job.dry_run,
                           replaces=earlier, needs_overwrite=bool(earlier) and not overwrite)
    validation = job.validation()
    validation.fields_without_column = {name: outcome.fields_without_column
                                        for name, outcome in zip(names, outcomes, strict=True)}
    _describe_empty(result, writer, validation)
    if not job.dry_run:
        hashed = [SourceFile(**o.source_file) for o in outcomes if o.source_file]
        result.manifest = _manifest(result, job.schema, job.to, writer, hashed, mapping_file,
                                    template_file).write(folder)
    return result


def _raise_failure(outcomes: list[PartitionOutcome], report: Report) -> None:
    """With ``on_error="fail"``: the first rejected row in source order ends the run."""
    for outcome in outcomes:
        if outcome.failure is not None:
            raise ValidationFailed(outcome.failure["message"], report=report,
                                   row=outcome.failure["row"],
                                   source=outcome.failure["source"])


def _remove(job: Job, tasks: list[PartitionTask]) -> None:
    """A failed run leaves none of its parts or rejected-rows files behind."""
    from ldtransform.partition import _clear

    if job.dry_run or job.out is None:
        return
    rejected_to = job.rejected_to or job.out
    suffix = make_writer(job.to, job.schema, job.writer_options).suffix
    for task in tasks:
        _clear(job.out, partition_stem(job.schema.item_type, task.index), suffix,
               rejected_to / task.rejected_as if task.rejected_as else None)


def validate(data: Any, job: Job, *, on_error: str = "quarantine", scheduler: Any = None,
             workers: int | None = None) -> Any:
    """:func:`ldtransform.validate` on a Dask cluster: one task per source, the valid and
    rejected rows of all sources in source order."""
    from ldtransform.result import Result, raise_if_rejected

    report, outcomes = validate_files(data, job, scheduler=scheduler, workers=workers,
                                      rows=True)
    if on_error == "fail":
        raise_if_rejected(report)
    valid = pa.concat_tables([o.valid for o in outcomes], promote_options="default")
    rejected = pa.concat_tables([o.rejected_rows for o in outcomes],
                                promote_options="permissive")
    return Result(valid, rejected, report, None, job.schema)


def validate_files(data: Any, job: Job, *, scheduler: Any = None, workers: int | None = None,
                   rows: bool = False) -> tuple[Report, list[PartitionOutcome]]:
    """The report of validating the files ``data`` names, and each source's outcome (with
    its valid and rejected rows when ``rows``; with ``job.rejected_to``, rejected rows go
    to ``<source>.rejected.csv`` files there instead)."""
    job.check()
    names = expand(data)
    tasks = _tasks(names, job.rejected_format if job.rejected_to is not None else None)
    with client_for(scheduler, workers) as client:
        futures = run_all(client, job, tasks)
        outcomes = summaries(client, futures, rows=rows)
    report = merged([o.report for o in outcomes], item_type=job.schema.item_type,
                    sources=names, max_issues=job.max_issues)
    return report, outcomes
