"""``manifest.json``: what a conversion wrote into its folder, as typed values.

The pipeline writes one last into every output folder it completes (so a folder with a
manifest is a complete run); an uploader or a quarantine round trip reads it back with
:meth:`Manifest.read`. :meth:`Manifest.to_dict` gives the JSON's keys in their written order.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import orjson

from ldtransform._atomic import atomic_writer
from ldtransform.errors import ReadError

__all__ = ["MANIFEST", "ConfigFile", "Manifest", "ManifestError", "OutputFile", "SourceFile",
           "Totals", "ValidationSummary", "clock"]

MANIFEST = "manifest.json"
_CREATED = "%Y-%m-%dT%H:%M:%S%z"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


#: Where a new manifest's ``created`` time comes from; a test sets it to compare bytes.
clock: Callable[[], dt.datetime] = _utc_now


class ManifestError(ReadError):
    """A manifest is not what the pipeline writes; ``key`` is where (``parts[0].sha256``)
    and ``detail`` what is wrong there."""

    def __init__(self, problem: str, *, source: str | Path, key: str,
                 hint: str | None = None) -> None:
        self.key = key
        self.detail = problem
        super().__init__(f"{key}: {problem}", source=source, hint=hint)


#: ``(source_index, first_row, count)``: ``count`` records built from the rows
#: ``first_row`` ... of the source ``sources[source_index]``.
Origins = tuple[tuple[int, int, int], ...]


@dataclass(frozen=True)
class OutputFile:
    """A data part or rejected-rows file: its name in the folder (the full path of a
    rejected-rows file kept elsewhere), records, bytes and SHA-256; for a data part, the
    source rows its records came from (``origins``: empty when unknown)."""

    file: str
    records: int
    bytes: int
    sha256: str
    origins: Origins = ()

    def to_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"file": self.file, "records": self.records,
                                 "bytes": self.bytes, "sha256": self.sha256}
        if self.origins:
            entry["origins"] = [list(origin) for origin in self.origins]
        return entry

    def origin(self, record: int) -> tuple[int, int] | None:
        """``(source_index, row)`` of the ``record``-th record (from 1); None when the
        origins are unknown."""
        if not 1 <= record <= self.records:
            raise ValueError(f"{self.file} holds records 1 to {self.records}, not {record}")
        if not self.origins:
            return None
        at = bisect.bisect_left(self._ends, record)
        source, first_row, count = self.origins[at]
        return source, first_row + count - (self._ends[at] - record) - 1

    @functools.cached_property
    def _ends(self) -> list[int]:
        """The number of the last record of each range."""
        return list(itertools.accumulate(count for _, _, count in self.origins))


@dataclass(frozen=True)
class SourceFile:
    """A source file converted: its path, bytes and SHA-256 as read."""

    path: str
    bytes: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "bytes": self.bytes, "sha256": self.sha256}


@dataclass(frozen=True)
class ConfigFile:
    """The schema, mapping or template file a conversion used, with its SHA-256."""

    path: str
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256}


@dataclass(frozen=True)
class Totals:
    """The data parts summed: files, records and bytes (rejected-rows files not counted)."""

    files: int
    records: int
    bytes: int

    @classmethod
    def of(cls, parts: tuple[OutputFile, ...]) -> Totals:
        return cls(len(parts), sum(p.records for p in parts), sum(p.bytes for p in parts))

    def to_dict(self) -> dict[str, Any]:
        return {"files": self.files, "records": self.records, "bytes": self.bytes}


@dataclass(frozen=True)
class ValidationSummary:
    """The validation report's counts (:meth:`ldtransform.report.Report.summary`)."""

    item_type: str | None
    sources: tuple[str, ...]
    rows_read: int
    rows_valid: int
    rows_rejected: int
    rows_dropped: int
    #: Rows dropped, by the transform that dropped them.
    dropped_by: Mapping[str, int]
    issues: int
    issues_listed: int
    errors: int
    warnings: int
    #: Issues by code and by field, most frequent first.
    by_code: Mapping[str, int]
    by_field: Mapping[str, int]

    @classmethod
    def from_dict(cls, summary: Mapping[str, Any]) -> ValidationSummary:
        return _Parser(summary, "<summary>", "validation").summary()

    def to_dict(self) -> dict[str, Any]:
        return {"item_type": self.item_type, "sources": list(self.sources),
                "rows_read": self.rows_read, "rows_valid": self.rows_valid,
                "rows_rejected": self.rows_rejected, "rows_dropped": self.rows_dropped,
                "dropped_by": dict(self.dropped_by), "issues": self.issues,
                "issues_listed": self.issues_listed, "errors": self.errors,
                "warnings": self.warnings, "by_code": dict(self.by_code),
                "by_field": dict(self.by_field)}


@dataclass(frozen=True)
class Manifest:
    """What a conversion wrote: the parts, the rejected-rows files, the sources and the
    schema, mapping and template it used (each with its SHA-256), and the validation summary.
    """

    #: The ldtransform version that wrote it.
    ldtransform: str
    item_type: str | None
    #: The writer (``items-json``, ``csv``, ...).
    format: str
    #: The LD action the items carry, for the item writers.
    action: str | None
    #: For LD items: what an empty value became (``"omit"`` or ``"clear"``) and the fields
    #: left out of the items because a source had no column for them.
    empty: str | None
    left_out: tuple[str, ...]
    sources: tuple[SourceFile, ...]
    schema: ConfigFile | None
    mapping: ConfigFile | None
    template: ConfigFile | None
    parts: tuple[OutputFile, ...]
    rejected: tuple[OutputFile, ...]
    validation: ValidationSummary
    created: dt.datetime = field(default_factory=lambda: clock())

    @property
    def totals(self) -> Totals:
        return Totals.of(self.parts)

    def origin(self, part_file: str, record: int) -> tuple[str, int] | None:
        """The source path and row (from 1) the ``record``-th record (from 1) of the data
        part ``part_file`` was built from; None when the manifest does not know (no
        ``origins`` for that part). A part or record the manifest does not list is a
        ValueError."""
        part = self._parts_by_file.get(part_file)
        if part is None:
            raise ValueError(f"{part_file!r} is not a data part of this manifest")
        found = part.origin(record)
        if found is None:
            return None
        source, row = found
        return self.sources[source].path, row

    @functools.cached_property
    def _parts_by_file(self) -> dict[str, OutputFile]:
        return {part.file: part for part in self.parts}

    def to_dict(self) -> dict[str, Any]:
        def optional(entry: ConfigFile | None) -> dict[str, Any] | None:
            return entry.to_dict() if entry is not None else None

        return {
            "created": self.created.strftime(_CREATED),
            "ldtransform": self.ldtransform,
            "itemType": self.item_type,
            "format": self.format,
            "action": self.action,
            "empty": self.empty,
            "leftOut": list(self.left_out),
            "sources": [source.to_dict() for source in self.sources],
            "schema": optional(self.schema),
            "mapping": optional(self.mapping),
            "template": optional(self.template),
            "parts": [part.to_dict() for part in self.parts],
            "rejected": [file.to_dict() for file in self.rejected],
            "totals": self.totals.to_dict(),
            "validation": self.validation.to_dict(),
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2) + b"\n"

    def write(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``manifest.json`` into ``folder`` atomically; returns its path."""
        path = Path(folder) / MANIFEST
        with atomic_writer(path) as file:
            file.write(self.to_json())
        return path

    @classmethod
    def read(cls, folder_or_path: str | os.PathLike[str]) -> Manifest:
        """The manifest in a folder (or the file itself); a :class:`ManifestError` naming
        the file and the key when it is not one the pipeline writes."""
        path = Path(folder_or_path)
        if path.is_dir():
            path = path / MANIFEST
        try:
            data = orjson.loads(path.read_bytes())
        except OSError as exc:
            raise ReadError(f"cannot read the manifest: {exc.strerror or exc}",
                            source=path) from exc
        except orjson.JSONDecodeError as exc:
            raise ManifestError(f"not JSON ({exc})", source=path, key="(file)") from exc
        return _Parser(data, path, "").manifest()


_T = TypeVar("_T")


class _Parser:
    """Reads one JSON object of a manifest, naming the key of any mistake."""

    def __init__(self, data: Any, source: str | Path, key: str) -> None:
        self.source = source
        self.key = key
        if not isinstance(data, dict):
            self.fail("is not an object", key)
        self.data: dict[str, Any] = data

    def fail(self, problem: str, key: str) -> NoReturn:
        raise ManifestError(problem, source=self.source, key=key or "(top level)")

    def where(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name

    def get(self, name: str, kind: type[_T], *, optional: bool = False) -> _T:
        if name not in self.data:
            self.fail("is missing", self.where(name))
        value = self.data[name]
        if value is None and optional:
            return None  # type: ignore[return-value]  # only where the field allows null
        # A bool is an int to Python, never a count in a manifest.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            wanted = {str: "a string", int: "an integer", list: "a list",
                      dict: "an object"}[kind]
            self.fail(f"should be {wanted}{' or null' if optional else ''}, not "
                      f"{orjson.dumps(value).decode()[:60]}", self.where(name))
        return value

    def child(self, name: str, *, optional: bool = False) -> _Parser | None:
        value = self.get(name, dict, optional=optional)
        return None if value is None else _Parser(value, self.source, self.where(name))

    def children(self, name: str) -> list[_Parser]:
        return [_Parser(value, self.source, f"{self.where(name)}[{i}]")
                for i, value in enumerate(self.get(name, list))]

    def strings(self, name: str) -> tuple[str, ...]:
        values = self.get(name, list)
        for i, value in enumerate(values):
            if not isinstance(value, str):
                self.fail("should be a string", f"{self.where(name)}[{i}]")
        return tuple(values)

    def counts(self, name: str) -> dict[str, int]:
        values = self.get(name, dict)
        for key, value in values.items():
            if not isinstance(value, int) or isinstance(value, bool):
                self.fail("should be an integer", f"{self.where(name)}.{key}")
        return dict(values)

    def output(self) -> OutputFile:
        records = self.get("records", int)
        return OutputFile(self.get("file", str), records, self.get("bytes", int),
                          self.get("sha256", str), self.origins(records))

    def origins(self, records: int) -> Origins:
        """The optional ``origins`` ranges (absent in older manifests); they must cover
        exactly ``records`` records."""
        if "origins" not in self.data:
            return ()
        found: list[tuple[int, int, int]] = []
        for i, value in enumerate(self.get("origins", list)):
            if not (isinstance(value, list) and len(value) == 3
                    and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                            for n in value)) or value[1] < 1 or value[2] < 1:
                self.fail("should be [source_index, first_row, count] with a row and a "
                          "count from 1", f"{self.where('origins')}[{i}]")
            found.append((value[0], value[1], value[2]))
        if found and sum(count for _, _, count in found) != records:
            self.fail(f"count {sum(c for _, _, c in found)} records, not {records}",
                      self.where("origins"))
        return tuple(found)

    def config(self) -> ConfigFile:
        return ConfigFile(self.get("path", str), self.get("sha256", str))

    def summary(self) -> ValidationSummary:
        return ValidationSummary(
            item_type=self.get("item_type", str, optional=True),
            sources=self.strings("sources"), rows_read=self.get("rows_read", int),
            rows_valid=self.get("rows_valid", int),
            rows_rejected=self.get("rows_rejected", int),
            rows_dropped=self.get("rows_dropped", int), dropped_by=self.counts("dropped_by"),
            issues=self.get("issues", int), issues_listed=self.get("issues_listed", int),
            errors=self.get("errors", int), warnings=self.get("warnings", int),
            by_code=self.counts("by_code"), by_field=self.counts("by_field"))

    def manifest(self) -> Manifest:
        created = self.get("created", str)
        try:
            when = dt.datetime.strptime(created, _CREATED)
        except ValueError:
            self.fail(f"should be a time like 2025-01-31T12:00:00+0000, not {created!r}",
                      "created")

        def config(name: str) -> ConfigFile | None:
            entry = self.child(name, optional=True)
            return entry.config() if entry is not None else None

        validation = self.child("validation")
        assert validation is not None
        manifest = Manifest(
            created=when, ldtransform=self.get("ldtransform", str),
            item_type=self.get("itemType", str, optional=True),
            format=self.get("format", str), action=self.get("action", str, optional=True),
            empty=self.get("empty", str, optional=True), left_out=self.strings("leftOut"),
            sources=tuple(SourceFile(s.get("path", str), s.get("bytes", int),
                                     s.get("sha256", str)) for s in self.children("sources")),
            schema=config("schema"), mapping=config("mapping"), template=config("template"),
            parts=tuple(part.output() for part in self.children("parts")),
            rejected=tuple(file.output() for file in self.children("rejected")),
            validation=validation.summary())
        for i, part in enumerate(manifest.parts):
            if any(source >= len(manifest.sources) for source, _, _ in part.origins):
                self.fail(f"name a source beyond the {len(manifest.sources)} listed",
                          f"parts[{i}].origins")
        totals = self.child("totals")
        assert totals is not None
        written = Totals(totals.get("files", int), totals.get("records", int),
                         totals.get("bytes", int))
        if written != manifest.totals:
            self.fail(f"do not add up the parts: {written.to_dict()} written, "
                      f"{manifest.totals.to_dict()} summed", "totals")
        return manifest
