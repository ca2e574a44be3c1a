"""Validation: rows checked against an itemType schema, streaming and vectorised.

:class:`Validation` runs sources through (mapping →) conversion → checks, batch by batch.
Valid rows come out typed as the schema says; rejected rows go, in the source's own columns
plus ``_row`` and ``_errors``, to whatever takes them (a quarantine file, a table); every
problem is counted in the :class:`~ldtransform.report.Report`. Rows read always equal
valid plus rejected. :func:`validate` is the one-call form for scripts and notebooks.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ldtransform import issue_codes as codes
from ldtransform import registry
from ldtransform._batching import coalesced, prefetched
from ldtransform._empty import mapping_empty, with_presence
from ldtransform._fieldcheck import Context, Finding, check_field
from ldtransform._keyindex import KeyIndex, hash_keys
from ldtransform._sheet_hint import with_sheet_hint
from ldtransform._threads import KEYS, POOL
from ldtransform.errors import ConfigError, MappingError
from ldtransform.frames import Frames, NumberedBatch
from ldtransform.protocols import Issue, Severity, Validator
from ldtransform.report import Report
from ldtransform.schema import FieldSpec, ItemSchema, load_schema
from ldtransform.transforms import Chain, TransformSpec, make_transforms

if TYPE_CHECKING:
    from ldtransform.mapping import BoundMapping, Mapping

__all__ = ["RejectedSink", "ValidBatch", "Validation", "as_mapping", "rejected_schema"]

ExtraColumns = Literal["warn", "error", "ignore"]
#: Columns a quarantine file adds; ignored when such a file is fed back in.
ROW_COLUMN, ERRORS_COLUMN = "_row", "_errors"
#: Columns an LD item envelope's headers become (see the JSON reader); not data fields.
ENVELOPE_PREFIX = "_headers."
RejectedSink = Callable[[pa.RecordBatch], None]
SOURCE_SHIFT = 40  # row keys remember their source: index << 40 | row
#: Rows checked together: small reader batches are joined up to this. Each batch costs a
#: fixed handful of calls per field, and up to five of them are in hand at once (read
#: ahead, checked, encoded, written), so this sets both the speed and the memory.
CHECK_ROWS = 57_344


class ValidBatch(NamedTuple):
    """The valid rows of one checked batch, and the source row number (from 1, as the
    report and the quarantine number rows) of each of them."""

    #: The source row number of the first row checked with them (valid or not).
    first_row: int
    batch: pa.RecordBatch
    #: int64, one per row of ``batch``, ascending.
    rows: np.ndarray


def rejected_schema(source_schema: pa.Schema) -> pa.Schema:
    """The columns of rejected rows: the source's own, then ``_row`` and ``_errors``."""
    own = [f for f in source_schema if f.name not in (ROW_COLUMN, ERRORS_COLUMN)]
    return pa.schema([*own, pa.field(ROW_COLUMN, pa.int64()),
                      pa.field(ERRORS_COLUMN, pa.string())])


class Validation:
    """One validation run over one or more sources, sharing key checks and a report.

    ``schema`` is an :class:`ItemSchema` or a path to one; ``mapping`` a
    :class:`~ldtransform.mapping.Mapping`, a dict or a TOML path. ``extra_columns`` says
    what a source column that is not a field is (without a mapping): a warning, an error
    that rejects every row, or nothing. Custom ``validators`` run after the built-in
    checks, as do those the schema lists under ``checks``. ``transforms`` (and those the
    mapping names) run on each source's rows before the mapping; rows they drop are counted.

    ``partial=True`` checks items that change stored ones (``Merge``, ``Update``): a field
    may have no column and an empty value leaves the stored one as it is, so only the
    primary key is required.
    """

    def __init__(self, schema: ItemSchema | str | os.PathLike[str], *,
                 mapping: Mapping | dict[str, Any] | str | os.PathLike[str] | None = None,
                 extra_columns: ExtraColumns = "warn", max_issues: int = 1000,
                 validators: Iterable[Validator] = (), partial: bool = False,
                 transforms: Iterable[TransformSpec] = ()) -> None:
        if extra_columns not in ("warn", "error", "ignore"):
            raise ConfigError(f"extra_columns is 'warn', 'error' or 'ignore', "
                              f"not {extra_columns!r}")
        self.schema = schema if isinstance(schema, ItemSchema) else load_schema(schema)
        self.mapping = as_mapping(mapping)
        self.extra_columns = extra_columns
        self.report = Report(item_type=self.schema.item_type, max_issues=max_issues)
        self.validators = [*validators, *_schema_validators(self.schema)]
        #: The fields as checked: with ``partial``, only the primary key is required.
        self.fields = tuple(_optional(f) if partial and f.name not in self.schema.primary_key
                            else f for f in self.schema.fields)
        self.output_schema = pa.schema([pa.field(f.name, f.to_arrow(), nullable=not f.required)
                                        for f in self.fields])
        #: Per source, the fields it had no column for (their values are all null).
        self.fields_without_column: dict[str, list[str]] = {}
        # One instance per run: dedupe remembers keys across all sources of the run.
        named = self.mapping.spec.transforms if self.mapping else ()
        where = f"{self.mapping.source or 'the mapping'}: transforms" if self.mapping else ""
        self.transforms = [*make_transforms(named, where=where), *make_transforms(transforms)]
        self._context = Context(self.schema.missing_values, self.schema.timezone)
        self._unique = {name: KeyIndex() for name in self._unique_fields()}
        self._primary = KeyIndex() if self.schema.primary_key else None
        #: The fields whose values are remembered across batches (unique, primary key).
        self.key_names = frozenset(self._unique) | frozenset(self.schema.primary_key)

    def _unique_fields(self) -> list[str]:
        return [f.name for f in self.schema.fields if f.constraints.get("unique")
                and (f.name,) != self.schema.primary_key]

    def key_indexes(self) -> dict[str, KeyIndex]:
        """The indexes remembering keys across batches and sources, by what they check:
        ``primaryKey``, or ``unique:<field>``."""
        indexes = {f"unique:{name}": index for name, index in self._unique.items()}
        if self._primary is not None:
            indexes["primaryKey"] = self._primary
        return indexes

    def run(self, frames: Frames, *, on_rejected: RejectedSink | None = None) -> Frames:
        """Valid rows of ``frames``, lazily; rejected rows go to ``on_rejected``."""
        run = self._source_run(frames, on_rejected)
        batches = ((valid.first_row, valid.batch) for valid in run.valid_batches())
        return Frames(run.output_schema, batches, source=run.frames.source,
                      info=run.frames.info)

    def run_numbered(self, frames: Frames, *,
                     on_rejected: RejectedSink | None = None) -> Iterator[ValidBatch]:
        """As :meth:`run`, each batch of valid rows with the source row of each row."""
        return self._source_run(frames, on_rejected).valid_batches()

    def _source_run(self, frames: Frames, on_rejected: RejectedSink | None) -> _SourceRun:
        source_index = len(self.report.sources)
        self.report.sources.append(frames.source or "<data>")
        chain = Chain(self.transforms, frames) if self.transforms else None
        if chain is not None:
            frames = chain.output
        try:
            bound = self.mapping.bind(frames.schema, source_path=frames.source,
                                      schema=self.schema) if self.mapping else None
        except MappingError as exc:
            hinted = with_sheet_hint(exc, frames.source, frames.info)
            if hinted is not exc:
                raise hinted from exc
            # Columns missing because of a wrong delimiter: say so beside the mapping error.
            hints = [i.message for i in frames.issues if i.code == codes.DELIMITER_HINT]
            if not hints:
                raise
            raise MappingError(f"{exc.problem}. {hints[0]}", path=exc.path,
                               source=exc.source) from exc
        return _SourceRun(self, frames, bound, source_index, on_rejected, chain)

    def finish(self) -> Report:
        """Collect what validators can only say at the end; return the report."""
        for validator in self.validators:
            for issue in validator.finish():
                self.report.add(issue)
        return self.report


class _SourceRun:
    """The batches of one source going through a :class:`Validation`."""

    def __init__(self, validation: Validation, frames: Frames, bound: BoundMapping | None,
                 source_index: int, on_rejected: RejectedSink | None,
                 chain: Chain | None = None) -> None:
        self.v = validation
        self.chain = chain
        self.frames = frames
        self.bound = bound
        self.source = frames.source or "<data>"
        self.source_index = source_index
        self.on_rejected = on_rejected
        self.rejected_schema = rejected_schema(frames.schema)
        self.file_errors = self._file_level_checks()
        absent = validation.fields_without_column[self.source]
        empty = bound.mapping.spec.empty if bound is not None else mapping_empty(frames.schema)
        #: The item schema, marking the fields without a column (see ``_empty``).
        self.output_schema = with_presence(validation.output_schema, absent, empty)

    def _file_level_checks(self) -> list[str]:
        """Missing and extra columns: reported once; errors among them reject every row."""
        report, schema = self.v.report, self.v.schema
        for issue in self.frames.issues:  # what the reader noticed on opening the source
            if issue.severity == "warning":
                report.add(issue)
        if self.bound is not None:
            for issue in self.bound.issues:
                report.add(issue)
            names = set(self.bound.output_schema.names)
        else:
            names = set(self.frames.schema.names)
        errors: list[str] = []
        self.v.fields_without_column[self.source] = [
            spec.name for spec in schema.fields if spec.name not in names]
        for spec in self.v.fields:
            if spec.name not in names and spec.required:
                issue = Issue(code=codes.MISSING_COLUMN,
                              message=codes.message(codes.MISSING_COLUMN, field=spec.name),
                              field=spec.name, source=self.source)
                report.add(issue)
                errors.append(_reason(issue))
        if self.bound is None and self.v.extra_columns != "ignore":
            fields = set(schema.field_names) | {ROW_COLUMN, ERRORS_COLUMN}
            severity: Severity = "error" if self.v.extra_columns == "error" else "warning"
            for name in self.frames.schema.names:
                if name not in fields and not name.startswith(ENVELOPE_PREFIX):
                    issue = Issue(code=codes.EXTRA_COLUMN,
                                  message=codes.message(codes.EXTRA_COLUMN, column=repr(name),
                                                        item_type=schema.item_type),
                                  field=name, severity=severity, source=self.source)
                    report.add(issue)
                    if severity == "error":
                        errors.append(_reason(issue))
        return errors

    def valid_batches(self) -> Iterator[ValidBatch]:
        self.frames.read_in_bulk()  # the batches are joined up to CHECK_ROWS anyway
        for numbered in prefetched(coalesced(self.frames.numbered(), CHECK_ROWS), depth=1):
            valid, rows = self._check(numbered)
            if valid.num_rows:
                yield ValidBatch(numbered.first_row, valid, rows)
        self._reader_rejections()
        self._account_dropped()
        if self.bound is not None:
            for issue in self.bound.finish():  # child rows no parent claimed
                self.v.report.add(issue)

    def _check(self, numbered: NumberedBatch) -> tuple[pa.RecordBatch, np.ndarray]:
        """The valid rows of ``numbered`` and their source row numbers."""
        source_batch, first_row = numbered.batch, numbered.first_row
        # The source row number of each row: consecutive, unless transforms dropped some.
        rows = np.arange(first_row, first_row + source_batch.num_rows, dtype=np.int64)
        if self.chain is not None and self.chain.row_filters:
            source_batch, rows = self.chain.filter(source_batch, rows)
            if not source_batch.num_rows:
                return pa.RecordBatch.from_pylist([], schema=self.output_schema), rows
        n = source_batch.num_rows
        mapped = self.bound.transform(source_batch) if self.bound else source_batch
        present = set(mapped.schema.names)
        columns: list[pa.Array] = []
        findings: list[Finding] = []

        def one(spec: FieldSpec) -> tuple[pa.Array, list[Finding]]:
            if spec.name not in present:  # absent: null (reported once if required)
                return pa.nulls(n, spec.to_arrow()), []
            return check_field(mapped.column(spec.name), spec, self.v._context)

        # Arrow kernels release the GIL: fields are checked on two threads at once, and
        # keys on a third as soon as their columns are typed.
        typed_by_name: dict[str, pa.Array] = {}
        keys: Future[list[Finding]] | None = None
        key_names = self.v.key_names
        fields = self.v.fields
        for spec, (typed, found) in zip(fields, POOL.map(one, fields), strict=True):
            columns.append(typed)
            findings += found
            typed_by_name[spec.name] = typed
            if keys is None and key_names and key_names <= typed_by_name.keys():
                keys = KEYS.submit(self._key_findings, dict(typed_by_name), rows)
        typed_batch = pa.RecordBatch.from_arrays(columns, schema=self.output_schema)
        if keys is not None:
            findings += keys.result()
        issues = [*self._findings_to_issues(findings, rows),
                  *self._custom_issues(typed_batch, rows)]
        bad = np.zeros(n, dtype=bool)
        reasons: dict[int, list[str]] = {}
        position = _positions_of(rows)
        for issue in issues:
            if issue.severity == "error" and issue.row is not None:
                at = position(issue.row)
                bad[at] = True
                reasons.setdefault(at, []).append(_reason(issue))
        if self.file_errors:
            bad[:] = True
            for at in range(n):
                reasons.setdefault(at, []).extend(self.file_errors)
        rejected = int(bad.sum())
        self._account(n, rejected)
        if not rejected:
            return typed_batch, rows
        self._reject(source_batch, rows, bad, reasons)
        return _rows_kept(typed_batch, ~bad), rows[~bad]

    def _findings_to_issues(self, findings: list[Finding], rows: np.ndarray) -> list[Issue]:
        """Count every finding; build Issue objects for all of them (rejections need
        their messages) and list the first ones in row order."""
        issues: list[Issue] = []
        for f in findings:
            self.v.report.count(f.code, f.field, f.severity, len(f.rows))
            fields, messages = f.fields(), f.messages()
            issues.extend(
                Issue(code=f.code, message=message, row=int(rows[at]), field=field,
                      value=value, severity=f.severity, source=self.source)
                for at, field, value, message in zip(f.rows, fields, f.values, messages,
                                                      strict=True))
        issues.sort(key=lambda issue: issue.row or 0)
        self.v.report.list_issues(issues)
        return issues

    def _custom_issues(self, typed_batch: pa.RecordBatch, rows: np.ndarray) -> list[Issue]:
        found: list[Issue] = []
        for validator, (start, length) in ((v, run) for v in self.v.validators
                                           for run in _consecutive_runs(rows)):
            piece = typed_batch.slice(start, length) if length < len(rows) else typed_batch
            for issue in validator.check(piece, first_row=int(rows[start])):
                if issue.source is None:
                    issue = dataclasses.replace(issue, source=self.source)
                self.v.report.add(issue)
                found.append(issue)
        return found

    def _key_findings(self, typed: dict[str, pa.Array], rows: np.ndarray) -> list[Finding]:
        n = len(rows)
        keyed = (np.int64(self.source_index) << SOURCE_SHIFT) | rows
        found: list[Finding] = []
        schema = self.v.schema
        checks: list[tuple[str, tuple[str, ...], KeyIndex]] = [
            (codes.DUPLICATE_VALUE, (name,), index) for name, index in self.v._unique.items()]
        if self.v._primary is not None:
            checks.append((codes.DUPLICATE_KEY, schema.primary_key, self.v._primary))
        for code, names, index in checks:
            columns = [typed[name] for name in names]
            present = np.ones(n, dtype=bool)
            for column in columns:
                present &= ~np.asarray(column.is_null().to_numpy(zero_copy_only=False))
            at = np.flatnonzero(present)
            if not len(at):
                continue
            if len(at) < n:
                columns = [column.take(pa.array(at)) for column in columns]
            hashes = hash_keys(columns)
            earlier = index.add(hashes, keyed[at])
            dup = np.flatnonzero(earlier)
            if len(dup):
                found.append(self._duplicate_finding(code, names, typed, at[dup],
                                                     earlier[dup]))
        return found

    def _duplicate_finding(self, code: str, names: tuple[str, ...],
                           typed: dict[str, pa.Array], at: np.ndarray,
                           earlier: np.ndarray) -> Finding:
        keys = [" / ".join(str(typed[n][int(i)].as_py()) for n in names) for i in at]
        label = " + ".join(names)
        what = "primary key" if code == codes.DUPLICATE_KEY else "value"
        texts = [f"{label} {key!r}: this {what} already appears in {self._place(int(e))}"
                 for key, e in zip(keys, earlier, strict=True)]
        return Finding(code, label, at, list(keys), "", texts=texts)

    def _place(self, keyed: int) -> str:
        index, row = keyed >> SOURCE_SHIFT, keyed & ((1 << SOURCE_SHIFT) - 1)
        if index == self.source_index:
            return f"row {row}"
        return f"row {row} of {self.v.report.sources[index]}"

    def _account(self, rows: int, rejected: int) -> None:
        report = self.v.report
        report.rows_read += rows
        report.rows_rejected += rejected
        report.rows_valid += rows - rejected

    def _account_dropped(self) -> None:
        """Rows the transforms dropped count as read: nothing read goes uncounted."""
        if self.chain is None:
            return
        report = self.v.report
        for name, dropped in self.chain.dropped().items():
            report.rows_read += dropped
            report.rows_dropped += dropped
            report.dropped_by[name] += dropped

    def _reject(self, batch: pa.RecordBatch, rows: np.ndarray, bad: np.ndarray,
                reasons: dict[int, list[str]]) -> None:
        if self.on_rejected is None:
            return
        at = np.flatnonzero(bad)
        kept = [c for c in self.frames.schema.names if c not in (ROW_COLUMN, ERRORS_COLUMN)]
        rejected = batch.select(kept).take(pa.array(at))
        numbers = pa.array(rows[at], pa.int64())
        errors = pa.array(["; ".join(reasons.get(int(i), [])) for i in at], pa.string())
        arrays = [*rejected.columns, numbers, errors]
        self.on_rejected(pa.RecordBatch.from_arrays(arrays, schema=self.rejected_schema))

    def _reader_rejections(self) -> None:
        """Rows the reader could not split into fields: rejected, raw text kept."""
        bad_rows = [i for i in self.frames.issues if i.row is not None and i.severity == "error"]
        for issue in bad_rows:
            self.v.report.add(issue)
        self._account(len(bad_rows), len(bad_rows))
        if not bad_rows or self.on_rejected is None:
            return
        n = len(bad_rows)
        arrays = [pa.nulls(n, f.type) for f in self.rejected_schema][:-2]
        arrays.append(pa.array([i.row for i in bad_rows], pa.int64()))
        arrays.append(pa.array([f"{i.message} [{i.code}]; raw text: {i.value}"
                                for i in bad_rows], pa.string()))
        self.on_rejected(pa.RecordBatch.from_arrays(arrays, schema=self.rejected_schema))


def _positions_of(rows: np.ndarray) -> Callable[[int], int]:
    """Row number → position in the batch (rows ascend; consecutive unless filtered)."""
    first = int(rows[0]) if len(rows) else 0
    if not len(rows) or int(rows[-1]) - first == len(rows) - 1:
        return lambda row: row - first
    return {int(row): at for at, row in enumerate(rows)}.__getitem__


def _consecutive_runs(rows: np.ndarray) -> list[tuple[int, int]]:
    """``(start, length)`` of each run of consecutive row numbers."""
    if not len(rows) or int(rows[-1]) - int(rows[0]) == len(rows) - 1:
        return [(0, len(rows))]
    starts = [0, *(np.flatnonzero(np.diff(rows) != 1) + 1).tolist(), len(rows)]
    return [(a, b - a) for a, b in itertools.pairwise(starts)]


def _rows_kept(batch: pa.RecordBatch, keep: np.ndarray) -> pa.RecordBatch:
    """The rows of ``batch`` where ``keep`` is true, filtered a column at a time: Arrow
    filters a whole batch by gathering row indices, slower than copying each column's
    runs of kept rows when few rows go."""
    mask = pa.array(keep)
    return pa.RecordBatch.from_arrays([pc.filter(column, mask) for column in batch.columns],
                                      schema=batch.schema)


def _reason(issue: Issue) -> str:
    """How an issue reads in a rejected row's ``_errors``."""
    return f"{issue.field}: {issue.message} [{issue.code}]"


def _optional(spec: FieldSpec) -> FieldSpec:
    """``spec`` without its ``required`` constraint."""
    constraints = {k: v for k, v in spec.constraints.items() if k != "required"}
    return dataclasses.replace(spec, constraints=constraints)


def as_mapping(mapping: Any) -> Mapping | None:
    """A :class:`~ldtransform.mapping.Mapping` from a Mapping, a dict or a TOML path."""
    if mapping is None:
        return None
    from ldtransform.mapping import Mapping

    if isinstance(mapping, Mapping):
        return mapping
    if isinstance(mapping, dict):
        return Mapping.from_dict(mapping)
    return Mapping.load(mapping)


def _schema_validators(schema: ItemSchema) -> list[Validator]:
    """The custom validators a schema names under ``checks``, built with their options."""
    found: list[Validator] = []
    for options in schema.checks:
        options = dict(options)
        cls = registry.load("validator", options.pop("name"))
        found.append(cls(**options))
    return found

