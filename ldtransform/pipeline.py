"""The import arrow: read → map → validate → write, with rejected rows quarantined.

:func:`convert` turns one or more sources into import-ready files in a folder: numbered
data parts (``Account-00001.json``), ``manifest.json`` (every part with its records, bytes
and SHA-256; the sources and their hashes; schema, mapping and template; the validation
summary) and, when rows were rejected, ``<source>.rejected.csv``. Every file is written
atomically; the manifest is written last, so a folder with a manifest is complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from queue import Queue
from typing import TYPE_CHECKING, Any, Literal

from ldtransform._memory import lean_memory_pool
from ldtransform._parts import Origin, PartInfo, PartSink
from ldtransform._quarantine_file import quarantine_files, source_stem
from ldtransform._sources import SourceFiles
from ldtransform._threads import POOL
from ldtransform._version import __version__
from ldtransform.errors import ConfigError, ReadError, ValidationFailed
from ldtransform.frames import Frames
from ldtransform.manifest import (
    MANIFEST,
    ConfigFile,
    Manifest,
    ManifestError,
    SourceFile,
    ValidationSummary,
)
from ldtransform.quarantine import QuarantineFile, rejected_name
from ldtransform.report import Report
from ldtransform.schema import ItemSchema, load_schema
from ldtransform.validation import Validation
from ldtransform.writers import WriterOptions, make_writer

if TYPE_CHECKING:
    from ldtransform.mapping import Mapping
    from ldtransform.transforms import TransformSpec
    from ldtransform.writers import RecordWriter

__all__ = ["ConvertResult", "convert", "write_frames"]

OnError = Literal["quarantine", "fail"]
#: Told, after each batch, the rows read so far from the current source, its name, and
#: how far through it reading has come (0 to 1) when the reader knows, else None.
Progress = Callable[[int, str, "float | None"], None]


@dataclass
class ConvertResult:
    """What a conversion wrote (or, in a dry run, would write)."""

    out: Path
    parts: list[PartInfo]
    report: Report
    rejected: list[PartInfo] = field(default_factory=list)
    manifest: Path | None = None
    dry_run: bool = False
    #: For LD items: what an empty value became (``"omit"`` or ``"clear"``), and the
    #: fields left out of the items because a source had no column for them.
    empty: str | None = None
    left_out: list[str] = field(default_factory=list)
    #: Files of an earlier conversion in ``out`` that the run replaces (with
    #: ``overwrite``) or, in a dry run without it, that a real run would refuse to touch.
    replaces: list[Path] = field(default_factory=list)
    #: A dry run only: ``out`` holds an earlier conversion and ``overwrite`` was not given,
    #: so a real run would stop.
    needs_overwrite: bool = False

    @property
    def records_written(self) -> int:
        return sum(part.records for part in self.parts)

    @property
    def bytes_written(self) -> int:
        return sum(part.bytes for part in self.parts)

    def summary(self) -> dict[str, Any]:
        return {"rows_read": self.report.rows_read, "records_written": self.records_written,
                "rows_rejected": self.report.rows_rejected,
                "rows_dropped": self.report.rows_dropped, "files": len(self.parts),
                "bytes": self.bytes_written, "dry_run": self.dry_run,
                "replaces": [path.name for path in self.replaces],
                "needs_overwrite": self.needs_overwrite}


@lean_memory_pool()
def convert(sources: Any, *, schema: ItemSchema | str | os.PathLike[str],
            out: str | os.PathLike[str], to: str = "items-json",
            mapping: Mapping | dict[str, Any] | str | os.PathLike[str] | None = None,
            template: str | os.PathLike[str] | None = None, action: str | None = None,
            action_column: str | None = None, max_records: int | None = None,
            max_bytes: int | None = None, dry_run: bool = False, overwrite: bool = False,
            extra_columns: Any = "warn", max_issues: int = 1000,
            csv_delimiter: str | None = None, spreadsheet_safe: bool | None = None,
            on_error: OnError = "quarantine", progress: Progress | None = None,
            empty: str | None = None,
            rejected_dir: str | os.PathLike[str] | None = None, rejected_format: str = "csv",
            transforms: Iterable[TransformSpec] = (),
            writer_options: WriterOptions | None = None, engine: str = "local",
            scheduler: Any = None, workers: int | None = None,
            **read_options: Any) -> ConvertResult:
    """Read, map, validate and write ``sources`` (a path, Frames, a DataFrame, or a list
    of them) into the folder ``out`` as format ``to``; see the module docstring.

    ``template``, ``csv_delimiter`` and ``spreadsheet_safe`` go to the CSV writer,
    ``action``/``action_column`` and ``empty`` (``"omit"``/``"clear"``: what an empty value
    becomes, see :mod:`ldtransform.writers.items_json`) to the item writers; or all of them
    as one :class:`~ldtransform.writers.WriterOptions` in ``writer_options``. Other keywords
    are reader options.
    ``on_error="quarantine"`` writes valid rows and quarantines the others (in
    ``rejected_dir``, default ``out``, as ``rejected_format``: csv, jsonl or xlsx);
    ``on_error="fail"`` is all or nothing: the first rejected row raises
    :class:`~ldtransform.errors.ValidationFailed` and no output file is left behind.
    ``transforms`` (and those the mapping names) run on the rows before the mapping.

    ``engine="dask"`` runs each source as a task on a Dask cluster (``scheduler``: its
    address or a ``distributed.Client``; else a local cluster of ``workers`` processes)
    with the same results; see :mod:`ldtransform.engines.dask`.
    """
    if on_error not in ("quarantine", "fail"):
        raise ConfigError(f"on_error is 'quarantine' or 'fail', not {on_error!r}")
    asked = WriterOptions(template=template, delimiter=csv_delimiter,
                          spreadsheet_safe=bool(spreadsheet_safe), action=action,
                          action_column=action_column, empty=empty)
    if writer_options is not None and asked != WriterOptions():
        raise ConfigError("give the writer's options as keywords or as writer_options, "
                          "not both")
    options = writer_options or asked
    item = schema if isinstance(schema, ItemSchema) else load_schema(schema)
    if engine != "local":
        from ldtransform.partition import Job
        from ldtransform.validation import as_mapping

        job = Job(item, mapping=as_mapping(mapping), extra_columns=extra_columns,
                  max_issues=max_issues, transforms=tuple(transforms),
                  read_options=read_options, partial=options.partial, to=to,
                  writer_options=options, out=Path(out), max_records=max_records,
                  max_bytes=max_bytes, dry_run=dry_run, on_error=on_error,
                  rejected_to=Path(rejected_dir) if rejected_dir is not None else None,
                  rejected_format=rejected_format)
        converted: ConvertResult = engine_module(engine).convert(
            sources, job, overwrite=overwrite, progress=progress, scheduler=scheduler,
            workers=workers, mapping_file=mapping, template_file=options.template)
        return converted
    validation = Validation(item, mapping=mapping, extra_columns=extra_columns,
                            max_issues=max_issues, partial=options.partial,
                            transforms=transforms)
    writer = make_writer(to, item, options)
    folder = Path(out)
    earlier = _prepare(folder, overwrite=overwrite, dry_run=dry_run)
    listed = list(sources) if isinstance(sources, list | tuple) else [sources]
    run = _Conversion(
        validation, writer, PartSink(folder, item.item_type, writer, max_records=max_records,
                                     max_bytes=max_bytes, dry_run=dry_run),
        rejected_to=Path(rejected_dir) if rejected_dir is not None else folder,
        rejected_format=rejected_format, on_error=on_error, dry_run=dry_run,
        progress=progress)
    sources_read = SourceFiles(listed)  # before any reader opens them
    with _removed_on_failure(run.parts, run.rejected, sources_read):
        written = run.sources(listed, read_options, sources_read.indexes)
        # A source that changed meanwhile is an error.
        hashed = [SourceFile(**entry) for entry in sources_read.verified()]
        report = validation.finish()
        result = ConvertResult(folder, written, report, run.rejected, dry_run=dry_run,
                               replaces=earlier, needs_overwrite=bool(earlier) and not overwrite)
        _describe_empty(result, writer, validation)
        if not dry_run:
            result.manifest = _manifest(result, item, to, writer, hashed, mapping,
                                        options.template).write(folder)
    return result


def engine_module(engine: str) -> Any:
    """The module of an engine other than the local one (``dask``), loaded when asked
    for: the core never imports an engine's libraries."""
    import importlib

    if engine not in ("dask",):
        raise ConfigError(f"engine is 'local' or 'dask', not {engine!r}")
    try:
        module = importlib.import_module(f"ldtransform.engines.{engine}")
        for name in module.REQUIRES:  # imported by the engine only when it runs
            importlib.import_module(name)
        return module
    except ImportError as exc:
        raise ConfigError(f"the {engine} engine needs its libraries ({exc.name} is "
                          f"missing): pip install 'ldtransform[{engine}]'") from exc


def _describe_empty(result: ConvertResult, writer: RecordWriter,
                    validation: Validation) -> None:
    """Fill in ``result.empty`` and ``result.left_out`` for an LD item writer."""
    from ldtransform._empty import PARTIAL_ACTIONS, effective_empty

    action = getattr(writer, "action", None)
    if action is None or not hasattr(writer, "empty_rule"):
        return
    from_mapping = validation.mapping.spec.empty if validation.mapping else None
    result.empty = effective_empty(action, getattr(writer, "empty", None), from_mapping)
    if action in PARTIAL_ACTIONS or result.empty == "omit":
        absent = {n for names in validation.fields_without_column.values() for n in names}
        result.left_out = [name for name in validation.schema.field_names if name in absent]


@contextlib.contextmanager
def _removed_on_failure(parts: PartSink, rejected: list[PartInfo],
                        sources: SourceFiles | None = None) -> Iterator[None]:
    """A run that fails (a read error, a rejected row with on_error="fail", a writer
    error, Ctrl-C) removes every part and rejected-rows file it wrote: complete-looking
    parts without a manifest would pass for a conversion."""
    try:
        yield
    except BaseException as exc:
        if sources is not None:
            sources.stop()
        written = [info.path for info in parts.parts]
        written += [path for info in rejected for path in quarantine_files(info.path)]
        for path in written:
            path.unlink(missing_ok=True)
        # A source cut short while being read can fail to parse: say what really happened.
        changed = sources.change() if sources is not None and isinstance(
            exc, ReadError) else None
        if changed is not None and str(changed) != str(exc):
            raise changed from exc
        raise


@dataclass
class _Conversion:
    """What every source of one conversion goes through: the validation, the writer and
    the parts it writes into, where rejected rows go, and who is told the progress."""

    validation: Validation
    writer: RecordWriter
    parts: PartSink
    rejected_to: Path
    rejected_format: str
    on_error: OnError
    dry_run: bool
    progress: Progress | None
    #: The rejected-rows files written so far.
    rejected: list[PartInfo] = field(default_factory=list)
    #: The name of the rejected-rows file when the caller chose it (one source only).
    rejected_as: str | None = None
    _rejected_names: set[str] = field(default_factory=set)

    def sources(self, listed: list[Any], read_options: dict[str, Any],
                indexes: list[int | None]) -> list[PartInfo]:
        """Every source through validation into the parts; returns the parts written.
        ``indexes`` gives each source's index in the manifest's ``sources`` (None for one
        not listed there: the origins of its records are unknown)."""
        with self.parts, _WriteBehind(self.parts, self.writer) as sink:
            for source, index in zip(listed, indexes, strict=True):
                self._source(_frames(source, read_options), sink, index)
            sink.close()
            return self.parts.finish()

    def _source(self, frames: Frames, sink: _WriteBehind, index: int | None) -> None:
        quarantine = self._quarantine(frames)
        with quarantine or _NoQuarantine(self.on_error, self.validation) as keep:
            for valid in self.validation.run_numbered(frames, on_rejected=keep):
                sink.add(valid.batch, None if index is None else Origin(index, valid.rows))
                if self.progress:
                    self.progress(frames.rows_read, frames.source or "<data>",
                                  frames.fraction())
        if quarantine is not None and quarantine.rows:
            self.rejected.append(rejected_file(quarantine))

    def _quarantine(self, frames: Frames) -> QuarantineFile | None:
        """Where the rejected rows of ``frames`` go; None when none are written."""
        name = self.rejected_as or _unique(rejected_name(frames.source, self.rejected_format),
                                           self._rejected_names)
        if self.dry_run or self.on_error == "fail":
            return None
        original = frames.info.get("quarantine_of") or frames.source
        return QuarantineFile(self.rejected_to / name, source=original, reading=frames.source)


@lean_memory_pool()
def write_frames(frames: Frames, out: str | os.PathLike[str], *, to: str = "items-json",
                 schema: ItemSchema | str | os.PathLike[str] | None = None,
                 report: Report | None = None, max_records: int | None = None,
                 max_bytes: int | None = None, overwrite: bool = False,
                 **writer_options: Any) -> ConvertResult:
    """Write already-validated ``frames`` into ``out`` as parts plus a manifest."""
    item = schema if isinstance(schema, ItemSchema) or schema is None else load_schema(schema)
    options = WriterOptions.of(writer_options)
    writer = make_writer(to, item, options)
    folder = Path(out)
    earlier = _prepare(folder, overwrite=overwrite, dry_run=False)
    stem = item.item_type if item else source_stem(frames.source)
    sink = PartSink(folder, stem, writer, max_records=max_records, max_bytes=max_bytes)
    with _removed_on_failure(sink, []):
        with sink:
            for batch in frames:
                for records in encode_in_halves(writer, batch):
                    sink.add(records)
            parts = sink.finish()
        quarantine = frames.quarantine  # complete now that every batch was read
        rejected = [rejected_file(quarantine)] if quarantine and quarantine.rows else []
        report = report or Report(item_type=item.item_type if item else None)
        if report.rows_read == 0:
            report.rows_read = report.rows_valid = sum(p.records for p in parts)
        result = ConvertResult(folder, parts, report, rejected, replaces=earlier)
        result.manifest = _manifest(result, item, to, writer, [], None,
                                    options.template).write(folder)
    return result


def rejected_file(quarantine: QuarantineFile) -> PartInfo:
    """A finished rejected-rows file as the manifest lists it: rows, bytes, SHA-256."""
    digest, size = hashlib.sha256(), 0
    with quarantine.path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return PartInfo(quarantine.path, quarantine.rows, size, digest.hexdigest())


def encode_in_halves(writer: RecordWriter, batch: Any) -> list[Any]:
    """``writer.encode`` on the two halves of a big batch at once (Arrow releases the GIL
    while it builds the text), in order."""
    if batch.num_rows < 4096:
        return [writer.encode(batch)]
    half = batch.num_rows // 2
    return list(POOL.map(writer.encode, [batch.slice(0, half), batch.slice(half)]))


class _WriteBehind:
    """Hands valid batches to a thread that encodes them, writes and hashes the records,
    so the next batch is read and validated meanwhile. A batch is handed over once the
    one before is written (none waits: memory holds one batch fewer); an error is raised
    in the caller at its next call."""

    def __init__(self, sink: PartSink, writer: RecordWriter) -> None:
        self.sink = sink
        self.writer = writer
        self.queue: Queue[Any] = Queue(maxsize=1)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="ldtransform-write",
                                       daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self._write(*item)
                except BaseException as exc:  # raised in the caller, not lost
                    self.error = exc
            del item
            self.queue.task_done()

    def _write(self, batch: Any, origin: Origin | None) -> None:
        start = 0
        for records in encode_in_halves(self.writer, batch):
            end = start + len(records)
            self.sink.add(records, None if origin is None
                          else Origin(origin.source, origin.rows[start:end]))
            start = end

    def add(self, batch: Any, origin: Origin | None = None) -> None:
        """Encode and write ``batch``, whose rows ``origin`` says (None: unknown)."""
        self.queue.join()
        if self.error is not None:
            raise self.error
        self.queue.put((batch, origin))

    def close(self) -> None:
        """Wait until everything handed over is written."""
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
        if self.error is not None:
            raise self.error

    def __enter__(self) -> _WriteBehind:
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        if kind is None:
            self.close()
        elif self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()


class _NoQuarantine:
    """The rejected-rows sink when nothing is written: rows are counted by the report only
    (a dry run), or the first one ends the run (``on_error="fail"``)."""

    def __init__(self, on_error: OnError = "quarantine",
                 validation: Validation | None = None) -> None:
        self.on_error = on_error
        self.validation = validation

    def __enter__(self) -> Callable[[Any], None]:
        return self.take

    def take(self, batch: Any) -> None:
        if self.on_error != "fail":
            return
        row = batch.column("_row")[0].as_py()
        errors = batch.column("_errors")[0].as_py()
        source = self.validation.report.sources[-1] if self.validation else None
        raise ValidationFailed(f"{source}: row {row} is rejected ({errors}); nothing was "
                               "written (on_error='fail')",
                               report=self.validation.report if self.validation else None,
                               row=row, source=source)

    def __exit__(self, *exc: object) -> None:
        return None


def _frames(source: Any, read_options: dict[str, Any]) -> Frames:
    from ldtransform.result import as_frames

    return as_frames(source, read_options)


def _unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name`` numbered, so two sources never share a rejected-rows file."""
    stem, _, rest = name.partition(".")
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{stem}-{number}.{rest}"
    taken.add(candidate)
    return candidate


def _prepare(folder: Path, *, overwrite: bool, dry_run: bool) -> list[Path]:
    """Refuse to mix with an earlier run's output, unless asked to replace it; returns the
    earlier run's files that are (or, in a dry run, would be) replaced.

    A dry run never refuses: it reports the earlier files, and the caller says whether a
    real run would need ``overwrite``.
    """
    manifest = folder / MANIFEST
    if not manifest.exists():
        return []
    if not overwrite and not dry_run:
        raise ConfigError(f"{folder} already holds a conversion ({MANIFEST}); choose another "
                          "folder or pass overwrite (--overwrite) to replace it")
    try:
        old = Manifest.read(manifest)
    except ManifestError as exc:  # which files to replace is unknown: nothing is removed
        raise ManifestError(exc.detail, source=manifest, key=exc.key,
                            hint="The earlier conversion's files cannot be told from it "
                            "(another version of ldtransform may have written it), so "
                            "nothing was replaced: remove that folder, or choose another"
                            ) from exc
    # Only files in the folder: a rejected-rows file kept elsewhere is left alone.
    earlier = [folder / part.file for part in old.parts if Path(part.file).name == part.file]
    earlier += [path for file in old.rejected if Path(file.file).name == file.file
                for path in quarantine_files(folder / file.file)]
    # The manifest first: a folder is never left with a manifest naming missing files.
    earlier = [manifest, *(path for path in earlier if path.exists())]
    if not dry_run:
        for path in earlier:
            path.unlink(missing_ok=True)
    return earlier


def _config_file(path: Any) -> ConfigFile | None:
    if not isinstance(path, str | os.PathLike):
        return None
    return ConfigFile(str(path), hashlib.sha256(Path(path).read_bytes()).hexdigest())


def _manifest(result: ConvertResult, item: ItemSchema | None, to: str, writer: RecordWriter,
              sources: list[SourceFile], mapping: Any, template: Any) -> Manifest:
    return Manifest(
        ldtransform=__version__, item_type=item.item_type if item else None, format=to,
        action=getattr(writer, "action", None), empty=result.empty,
        left_out=tuple(result.left_out), sources=tuple(sources),
        schema=_config_file(item.source) if item and item.source else None,
        mapping=_config_file(mapping), template=_config_file(template),
        parts=tuple(part.entry() for part in result.parts),
        rejected=tuple(part.entry(_in_folder(part.path, result.out))
                       for part in result.rejected),
        validation=ValidationSummary.from_dict(result.report.summary()))


def _in_folder(path: Path, folder: Path) -> str:
    """The name of a file in ``folder``; the full path of one elsewhere (a rejected-rows
    file the caller put outside it), which ``overwrite`` then leaves alone."""
    return path.name if path.parent.resolve() == folder.resolve() else str(path.resolve())
