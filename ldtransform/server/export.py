"""Batch export: choosing the rows, and writing them as CSV or JSON result files.

Rows come from the caller's ``sqlQuery`` (see :mod:`~ldtransform.server.sqlguard`), from
``filters`` (field = value, all must hold; a list value means any of), or are every item
of the type. CSV is written with plain columns or through a Jinja2 template, which stands
in for LD's Velocity templates. Output is split into files of at most
``records_per_file`` records, each registered as a download link of the job.
"""

from __future__ import annotations

import ast
import csv
import io
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from jinja2 import Template
from jinja2 import TemplateError as JinjaError

from ldtransform._template_limits import (
    LimitedSandbox,
    NotDataError,
    TemplateLimitError,
    TemplateLimits,
    join_output,
    template_line,
)
from ldtransform.schema import ItemSchema
from ldtransform.server.outcomes import JobEnded, JobFailed, JobRejected
from ldtransform.server.sqlguard import GuardedQuery, QueryError
from ldtransform.server.store import live_items

__all__ = ["ExportLimits", "ExportSpec", "Part", "parse_filters", "run_export", "safe_name"]

JSON_TYPES = ("application/json",)
CSV_TYPES = ("text/plain", "plain/text", "text/csv")
_HEADER_LINE = re.compile(r"\A##\s*header:\s*(.*?)\s*(?:\r?\n|\Z)")
_ITEM_REF = re.compile(r"\bitem\.([A-Za-z_]\w*)")

Row = tuple[dict[str, Any], dict[str, Any]]


@dataclass(frozen=True)
class ExportSpec:
    """What an export job was asked to do."""

    community: str
    schema: ItemSchema
    content_type: str
    row_header: bool
    template: str | None
    sql_query: str | None
    filters: dict[str, Any] | None


@dataclass(frozen=True)
class ExportLimits:
    """How far an export may go (the server's ``[limits]``)."""

    per_file: int
    time_limit: float
    row_limit: int
    #: Most bytes of one written record (and of any text or blob a query makes).
    row_bytes: int = 16 << 20
    #: Most bytes of all the export's files together.
    max_bytes: int = 10 << 30
    template: TemplateLimits = field(default_factory=TemplateLimits)


@dataclass(frozen=True)
class Part:
    """One written result file."""

    path: Path
    records: int
    size: int


def safe_name(text: str, default: str = "export") -> str:
    """A file name made only of letters, digits, ``.``, ``_`` and ``-``."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[:80]
    return cleaned or default


def parse_filters(raw: str | None) -> dict[str, Any] | None:
    """``filters`` as JSON, as a Python dict's text, or ``0``/empty for none."""
    text = (raw or "").strip()
    if text in ("", "0", "None", "null", "{}"):
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError) as exc:
            raise JobRejected(f"filters are neither JSON nor a Python dict: {text[:80]!r}") \
                from exc
    if value in (0, None, {}):
        return None
    if not isinstance(value, dict):
        raise JobRejected("filters must be an object of field: value pairs")
    return value


def _matches(schema: ItemSchema, filters: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    """The filters as (JSON path, values) pairs: a field's value is one of the values."""
    matches = []
    names = set(schema.field_names)
    for name, value in filters.items():
        if name not in names:
            raise JobRejected(f"filter field {name!r} is not a field of {schema.item_type}")
        path = '$."' + name.replace('"', '""') + '"'
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, dict | list) for v in values) or not values:
            raise JobRejected(f"filter {name!r}: compare with plain values only")
        matches.append((path, [int(v) if isinstance(v, bool) else v for v in values]))
    return matches


def _item_rows(conn: sqlite3.Connection, spec: ExportSpec) -> Iterator[Row]:
    matches = _matches(spec.schema, spec.filters) if spec.filters else []
    headers = {"category": spec.schema.category, "type": spec.schema.item_type}
    for h_id, revision, data in live_items(conn, spec.community, spec.schema.item_type,
                                           matches):
        yield ({**headers, "id": str(h_id), "revisionId": str(revision)}, orjson.loads(data))


def _query_error(exc: QueryError, row_bytes: int) -> JobEnded:
    if "too big" in str(exc):  # SQLite's length limit, set to the row limit
        return JobFailed(f"sqlQuery: a value is longer than the limit of {row_bytes} "
                         "bytes a row may have")
    return JobRejected(f"sqlQuery: {exc}")


def _sql_rows(query: GuardedQuery, spec: ExportSpec, row_bytes: int
              ) -> tuple[list[str], Iterator[Row]]:
    try:
        columns, rows = query.rows(spec.sql_query or "")
    except QueryError as exc:
        raise _query_error(exc, row_bytes) from exc
    nested = {f.name for f in spec.schema.fields if f.type in ("object", "array")}
    headers = {"category": spec.schema.category, "type": spec.schema.item_type}

    def generate() -> Iterator[Row]:
        try:
            for row in rows:
                data = dict(zip(columns, row, strict=True))
                for name in nested.intersection(data):
                    if isinstance(data[name], str):
                        data[name] = orjson.loads(data[name])
                h_id = data.pop("h_id", None)
                yield ({**headers, "id": str(h_id)} if h_id is not None else headers, data)
        except QueryError as exc:
            raise _query_error(exc, row_bytes) from exc
    return columns, generate()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def _csv_quote(value: Any) -> str:
    return _csv_row([_cell(value)], "")


def _csv_row(cells: list[str], end: str) -> str:
    """Cells as one CSV line. Python's csv module quotes a lone CR only when it is part of
    the line ending, so such a cell is quoted here: unquoted, no reader could tell it
    from a line break."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()[:-2] + end


class _Formatter:
    """Turns rows into text for one output format."""

    def __init__(self, spec: ExportSpec, columns: list[str], limits: TemplateLimits,
                 interrupt: Callable[[], None] | None = None) -> None:
        self.json = spec.content_type in JSON_TYPES
        self.env = LimitedSandbox(autoescape=False, keep_trailing_newline=False,
                                  limits=limits)
        self.env.interrupt = interrupt
        self.env.filters["csv"] = _csv_quote
        self.first_line = 1
        self.columns = [c for c in columns if c != "h_id"] or columns
        self.header: str | None = None
        self.template: Template | None = None
        if spec.template and spec.template.strip() and not self.json:
            self._compile(spec.template, spec.row_header)
        elif spec.row_header and not self.json:
            self.header = self._line(self.columns)

    def _compile(self, text: str, row_header: bool) -> None:
        match = _HEADER_LINE.match(text)
        body = text[match.end():] if match else text
        self.first_line = 2 if match else 1
        try:
            self.template = self.env.from_string(body)
        except JinjaError as exc:
            raise JobRejected(f"the export template does not compile: {exc}") from exc
        if row_header:
            names = match.group(1) if match else ",".join(dict.fromkeys(
                _ITEM_REF.findall(body)))
            self.header = names + "\n"

    @staticmethod
    def _line(values: list[Any]) -> str:
        return _csv_row([_cell(v) for v in values], "\n")

    def text(self, number: int, row: Row) -> str:
        headers, data = row
        if self.json:
            return orjson.dumps({"headers": headers, "data": data}).decode()
        if self.template is not None:
            out = self._render(number, headers, data)
            return out if not out or out.endswith("\n") else out + "\n"
        return self._line([data.get(c) for c in self.columns])

    def _render(self, number: int, headers: dict[str, Any], data: dict[str, Any]) -> str:
        """One record through the template, within the template limits."""
        assert self.template is not None
        self.env.begin_record()
        try:
            return join_output(self.template.generate(item=data, headers=headers, row=number),
                               self.env.limits)
        except (TemplateLimitError, JinjaError, ArithmeticError, LookupError, TypeError,
                ValueError, RecursionError) as exc:
            line = template_line(exc, "<template>")
            where = f"record {number}" + (f", template line {line + self.first_line - 1}"
                                          if line is not None else "")
            if isinstance(exc, TemplateLimitError):
                raise JobFailed(f"the export template went over a limit on {where}: "
                                f"{exc}") from exc
            problem = str(exc) if isinstance(exc, JinjaError | NotDataError) else \
                f"{type(exc).__name__}: {exc}"
            raise JobRejected(f"the export template failed on {where}: {problem}") from exc


class _PartWriter:
    """Writes records into numbered files of at most ``per_file`` records, within the
    limits of bytes per record and per export."""

    def __init__(self, folder: Path, stem: str, fmt: _Formatter, limits: ExportLimits) -> None:
        self.folder, self.stem, self.fmt, self.limits = folder, stem, fmt, limits
        self.suffix = ".json" if fmt.json else ".csv"
        self.parts: list[Part] = []
        self._handle: BinaryIO | None = None
        self._count = 0
        self._total = 0  # bytes written so far, all files

    def _open(self) -> BinaryIO:
        path = self.folder / f"{self.stem}-part{len(self.parts) + 1:04d}{self.suffix}"
        handle = open(path, "wb")  # noqa: SIM115
        self._put(handle, "[" if self.fmt.json else self.fmt.header or "")
        self._count = 0
        self._handle = handle
        return handle

    def _put(self, handle: BinaryIO, text: str) -> None:
        data = text.encode("utf-8")
        self._total += len(data)
        if self._total > self.limits.max_bytes:
            raise JobFailed(f"the export is larger than the limit of "
                            f"{self.limits.max_bytes} bytes; narrow it with filters or a "
                            "sqlQuery")
        handle.write(data)

    def write(self, number: int, text: str) -> None:
        if not text:
            return
        size = len(text.encode("utf-8")) if len(text) * 4 > self.limits.row_bytes \
            else len(text)
        if size > self.limits.row_bytes:
            raise JobFailed(f"record {number} is {size} bytes long, more than the limit of "
                            f"{self.limits.row_bytes} bytes a record may have")
        handle = self._handle or self._open()
        if self.fmt.json:
            self._put(handle, ",\n" if self._count else "\n")
        self._put(handle, text)
        self._count += 1
        if self._count >= self.limits.per_file:
            self.close()

    def close(self) -> None:
        if self._handle is None:
            return
        if self.fmt.json:
            self._put(self._handle, "\n]\n" if self._count else "]\n")
        path = Path(self._handle.name)
        self._handle.close()
        self._handle = None
        self.parts.append(Part(path, self._count, path.stat().st_size))

    def abandon(self) -> None:
        """Close the open file of an export that stops here (the caller deletes it)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def finish(self) -> list[Part]:
        if self._handle is None and not self.parts:
            self._open()
        self.close()
        return self.parts


def run_export(spec: ExportSpec, *, conn: sqlite3.Connection, db_path: Path, folder: Path,
               stem: str, limits: ExportLimits, schemas: dict[str, ItemSchema],
               tick: Callable[[int], None],
               interrupt: Callable[[], None] | None = None) -> list[Part]:
    """Write the export's files into ``folder``; ``tick(n)`` reports progress and
    ``interrupt()``, called now and then while a template renders, may stop it."""
    query: GuardedQuery | None = None
    try:
        if spec.sql_query:
            query = GuardedQuery(db_path, spec.community, schemas,
                                 time_limit=limits.time_limit, row_limit=limits.row_limit,
                                 value_bytes=limits.row_bytes)
            columns, rows = _sql_rows(query, spec, limits.row_bytes)
        else:
            columns, rows = spec.schema.field_names, _item_rows(conn, spec)
        fmt = _Formatter(spec, columns, limits.template, interrupt)
        writer = _PartWriter(folder, stem, fmt, limits)
        count = 0
        try:
            for count, row in enumerate(rows, start=1):
                writer.write(count, fmt.text(count, row))
                if count % 2000 == 0:
                    tick(count)
        except BaseException:
            writer.abandon()
            raise
        parts = writer.finish()
        tick(count)
        return parts
    finally:
        if query is not None:
            query.close()
