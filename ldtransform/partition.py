"""One source of a run on its own: the unit an engine that spreads work over machines runs.

:func:`run_partition` takes one source (a file, or one sheet of a workbook) through the
very code :func:`~ldtransform.convert` and :func:`~ldtransform.validate` use — read → map →
transforms → validate → write — and returns what the engine needs to put the run
together: the parts written (under names derived from the source's position, so running
a partition again replaces its own parts and never adds one), the rejected-rows file, the
source's report, the source file's hash, and the keys its rows hold (each distinct key
hash with the first ``(source, row)`` holding it).

Keys checked across the whole run (the primary key, ``unique`` fields) are what ties
partitions together. A partition runs first on its own; the engine then finds, per key,
the first place in (source order, row) holding it. A partition holding a key first held
by an earlier source runs again, *seeded* with those keys and their first places: its key
index then answers exactly as the local engine's would after reading every earlier
source, so the same rows are rejected with the same messages naming both places.
"""

from __future__ import annotations

import dataclasses
import glob
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ldtransform._memory import lean_memory_pool
from ldtransform._parts import PartInfo, PartSink
from ldtransform._quarantine_file import quarantine_files
from ldtransform._sources import SourceFiles
from ldtransform.errors import ConfigError, ValidationFailed
from ldtransform.frames import Frames
from ldtransform.pipeline import OnError, _Conversion, _removed_on_failure, rejected_file
from ldtransform.quarantine import QuarantineFile
from ldtransform.report import Report
from ldtransform.schema import ItemSchema
from ldtransform.validation import SOURCE_SHIFT, Validation, rejected_schema
from ldtransform.writers import WriterOptions, make_writer

__all__ = ["Job", "PartitionOutcome", "PartitionTask", "partition_stem", "run_partition"]

#: Per key check (``primaryKey``, ``unique:<field>``): sorted distinct hashes and, for
#: each, the first place holding it (``source index << 40 | row``).
Keys = dict[str, tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Job:
    """What every partition of one run shares. ``out`` None validates only: the valid
    rows come back as a table, and so do the rejected ones unless ``rejected_to`` says
    where to write them."""

    schema: ItemSchema
    mapping: Any = None
    extra_columns: Any = "warn"
    max_issues: int = 1000
    transforms: tuple[Any, ...] = ()
    read_options: dict[str, Any] = field(default_factory=dict)
    partial: bool = False
    to: str = "items-json"
    writer_options: WriterOptions = field(default_factory=WriterOptions)
    out: Path | None = None
    max_records: int | None = None
    max_bytes: int | None = None
    dry_run: bool = False
    on_error: OnError = "quarantine"
    rejected_to: Path | None = None
    rejected_format: str = "csv"

    def validation(self) -> Validation:
        return Validation(self.schema, mapping=self.mapping,
                          extra_columns=self.extra_columns, max_issues=self.max_issues,
                          partial=self.partial, transforms=self.transforms)

    def check(self) -> None:
        """Refuse what partitions cannot do as one process does: a transform remembering
        rows across sources (``dedupe``) would only see its own source."""
        mapping = self.validation().mapping
        named = [*self.transforms, *(mapping.spec.transforms if mapping else ())]
        if any(isinstance(spec, dict) and spec.get("name") == "dedupe" for spec in named):
            raise ConfigError("the dedupe transform remembers rows across sources, which "
                              "runs split by source cannot do; run it with the local engine")


@dataclass(frozen=True)
class PartitionTask:
    """One source of the run: its position, its name as reports show it, its
    rejected-rows file's name, and for a second run the keys earlier sources hold first
    with the names of those sources (``named``: by position)."""

    index: int
    source: str
    rejected_as: str | None = None
    seeds: Keys | None = None
    named: dict[int, str] = field(default_factory=dict)
    #: Its place among the sources of the run, when not ``index`` (the partitions of one
    #: DataFrame are one source).
    place: int | None = None

    def seeded(self, seeds: Keys, names: list[str]) -> PartitionTask:
        """This task run again from ``seeds``, with the names of the sources they name."""
        places = {int(place) for _, rows in seeds.values()
                  for place in np.unique(rows >> SOURCE_SHIFT)}
        return dataclasses.replace(self, seeds=seeds,
                                   named={place: names[place] for place in places})


@dataclass
class PartitionOutcome:
    """What one partition did."""

    index: int
    report: Report
    parts: list[PartInfo] = field(default_factory=list)
    rejected: PartInfo | None = None
    #: The source's manifest entry (path, bytes, sha256).
    source_file: dict[str, Any] | None = None
    fields_without_column: list[str] = field(default_factory=list)
    keys: Keys = field(default_factory=dict)
    #: With ``on_error="fail"``: the first rejected row (message, row, source).
    failure: dict[str, Any] | None = None
    #: Validation only: the valid rows and the rejected ones.
    valid: pa.Table | None = None
    rejected_rows: pa.Table | None = None

    def without_rows(self) -> PartitionOutcome:
        """This outcome without its keys and rows: what the driver needs to see."""
        return dataclasses.replace(self, keys={}, valid=None, rejected_rows=None)


def partition_stem(item_type: str, index: int) -> str:
    """The stem of the parts of the source at ``index``: ``Account-p00003``."""
    return f"{item_type}-p{index + 1:05d}"


@lean_memory_pool()  # as the local engine's convert: freed memory goes back
def run_partition(job: Job, task: PartitionTask, path: str | Path | None = None,
                  frames: Frames | None = None) -> PartitionOutcome:
    """Run one source through the stages; ``path`` is where to read it when that is not
    ``task.source`` itself (a local copy of a remote file); ``frames``, rows to validate
    instead of a file (one partition of a DataFrame, numbered where it starts)."""
    validation = job.validation()
    # The source takes its place in the run: row keys and messages name earlier sources.
    place = task.index if task.place is None else task.place
    validation.report.sources.extend(task.named.get(at, "") for at in range(place))
    indexes = validation.key_indexes()
    for name, (hashes, rows) in (task.seeds or {}).items():
        indexes[name].seed(hashes, rows)
    local = path if path is not None else task.source
    if job.out is None:
        return _validated(job, task, validation, frames or _read(job, local, task.source),
                          local)
    return _converted(job, task, validation, local)


def _read(job: Job, local: str | Path, name: str) -> Frames:
    from ldtransform.result import as_frames

    frames = as_frames(str(local), dict(job.read_options))
    if str(local) != name:  # a copy: reports name the source
        frames.source = name
        frames.issues[:] = [dataclasses.replace(issue, source=name)
                            if issue.source == str(local) else issue
                            for issue in frames.issues]
    return frames


def _validated(job: Job, task: PartitionTask, validation: Validation, frames: Frames,
               local: str | Path) -> PartitionOutcome:
    outcome = PartitionOutcome(task.index, validation.report)
    if job.rejected_to is not None and task.rejected_as:
        # Rejected rows to a file, as ``ldtransform validate`` writes them.
        original = frames.info.get("quarantine_of") or task.source
        with QuarantineFile(job.rejected_to / task.rejected_as, source=original,
                            reading=local) as quarantine:
            outcome.valid = validation.run(frames, on_rejected=quarantine).to_table()
        outcome.rejected = rejected_file(quarantine) if quarantine.rows else None
    else:
        rejected: list[pa.RecordBatch] = []
        outcome.valid = validation.run(frames, on_rejected=rejected.append).to_table()
        outcome.rejected_rows = pa.Table.from_batches(
            rejected, schema=rejected_schema(frames.schema))
    outcome.report = validation.finish()
    outcome.fields_without_column = _absent(validation, frames)
    outcome.keys = _keys(validation)
    return outcome


def _converted(job: Job, task: PartitionTask, validation: Validation,
               local: str | Path) -> PartitionOutcome:
    assert job.out is not None
    item = validation.schema
    writer = make_writer(job.to, item, job.writer_options)
    stem = partition_stem(item.item_type, task.index)
    rejected_to = job.rejected_to or job.out
    if not job.dry_run:
        _clear(job.out, stem, writer.suffix,
               rejected_to / task.rejected_as if task.rejected_as else None)
    sink = PartSink(job.out, stem, writer, max_records=job.max_records,
                    max_bytes=job.max_bytes, dry_run=job.dry_run)
    run = _Conversion(validation, writer, sink, rejected_to=rejected_to,
                      rejected_format=job.rejected_format, on_error=job.on_error,
                      dry_run=job.dry_run, progress=None, rejected_as=task.rejected_as)
    hashed = SourceFiles([local])  # before the reader opens it
    outcome = PartitionOutcome(task.index, validation.report)
    frames: Frames | None = None
    try:
        with _removed_on_failure(run.parts, run.rejected, hashed):
            frames = _read(job, local, task.source)
            outcome.parts = run.sources([frames], {}, [task.index])
            # A regular file only (as locally): what the manifest lists with its hash.
            outcome.source_file = next(({**entry, "path": task.source}
                                        for entry in hashed.verified()), None)
    except ValidationFailed as exc:
        outcome.failure = {"message": str(exc), "row": exc.row, "source": exc.source}
        hashed.stop()
    outcome.report = validation.finish()
    outcome.rejected = run.rejected[0] if run.rejected else None
    outcome.keys = _keys(validation)
    if frames is not None:
        outcome.fields_without_column = _absent(validation, frames)
    return outcome


def _absent(validation: Validation, frames: Frames) -> list[str]:
    return validation.fields_without_column.get(frames.source or "<data>", [])


def _keys(validation: Validation) -> Keys:
    return {name: index.entries() for name, index in validation.key_indexes().items()}


def _clear(folder: Path, stem: str, suffix: str, rejected: Path | None) -> None:
    """Remove what an earlier attempt at this partition left: its parts, its unfinished
    temporary files and its rejected-rows file. A retried partition replaces its own
    output and never adds to it."""
    part = re.escape(stem) + r"-\d{5,}" + re.escape(suffix)
    own = re.compile(rf"{part}|\.{part}\..*\.part")
    for path in folder.glob(f"*{glob.escape(stem)}-*"):
        if own.fullmatch(path.name):
            path.unlink(missing_ok=True)
    if rejected is not None:
        for path in quarantine_files(rejected):
            path.unlink(missing_ok=True)
            for unfinished in path.parent.glob(f".{glob.escape(path.name)}.*.part"):
                unfinished.unlink(missing_ok=True)
