"""Excel and OpenDocument workbooks (.xlsx, .xlsm, .xls, .ods) through python-calamine.

calamine loads a whole sheet into memory, so the reader scans it once to give every
column one real type (int, float, bool, date, timestamp, time, duration or text), then
streams it as Arrow batches numbered with the Excel row a person sees.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, BinaryIO, ClassVar

import pyarrow as pa

from ldtransform.errors import ConfigError, MissingDependencyError, ReadError, WorkbookError
from ldtransform.frames import Frames
from ldtransform.protocols import Source
from ldtransform.readers._text import column_letter, source_name, spool

__all__ = ["ExcelReader", "sheet_names"]

Cell = Any  # whatever calamine returns: str, int, float, bool, date, datetime, time, timedelta
Row = Sequence[Cell]

_OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
# OLE directory entry names are UTF-16-LE; encrypted OOXML keeps its key data in this stream.
_ENCRYPTION_STREAM = "EncryptionInfo".encode("utf-16-le")
_INT64_LIMIT = 2**63
_SINGLE_KIND_TYPES = {"bool": pa.bool_(), "date": pa.date32(), "time": pa.time64("us"),
                      "duration": pa.duration("us"), "text": pa.string()}


@dataclass(frozen=True)
class _Sheet:
    """One loaded sheet: ``rows[0][0]`` is the cell at 0-based (``top``, ``left``)."""

    name: str
    names: list[str]
    top: int
    left: int
    rows: list[list[Cell]]


class ExcelReader:
    """Read one sheet of a workbook; ``sheet`` is a name or 0-based index (default first).

    ``header_row`` is the 1-based Excel row holding the column names (rows above it are
    ignored); ``None`` means there is no header and columns are ``column_1``, ``column_2``...
    """

    format: ClassVar[str] = "excel"
    suffixes: ClassVar[tuple[str, ...]] = (".xlsx", ".xlsm", ".xls", ".ods")

    def __init__(self, *, sheet: str | int | None = None, header_row: int | None = 1) -> None:
        if isinstance(sheet, bool) or not isinstance(sheet, str | int | None):
            raise ConfigError(f"sheet must be a sheet name or a 0-based index, got {sheet!r}")
        if header_row is not None and (type(header_row) is not int or header_row < 1):
            raise ConfigError(f"header_row must be a 1-based row number or None, "
                              f"got {header_row!r}")
        self.sheet = sheet
        self.header_row = header_row

    def read(
        self, source: Source, *, schema: pa.Schema | None = None, batch_size: int = 65_536
    ) -> Frames:
        """Read the chosen sheet into :class:`Frames` numbered by Excel row."""
        label = source_name(source)
        sheet = _load(source, label, self.sheet)
        names, data, first_row = _layout(sheet, self.header_row, label)
        fields, mixed = [], []
        for index, name in enumerate(names):
            column_type, is_mixed = _infer_type([row[index] for row in data])
            fields.append(pa.field(name, column_type))
            if is_mixed:
                mixed.append(name)
        inferred = pa.schema(fields)
        if schema is not None and schema.names != inferred.names:
            raise ReadError(f"the sheet's columns {inferred.names} do not match the "
                            f"schema's {schema.names}", source=label, sheet=sheet.name)
        info = {"format": self.format, "sheet": sheet.name, "sheets": sheet.names,
                "header_row": self.header_row, "mixed_columns": mixed}
        # Batches are built in the inferred types; Frames casts them to a declared schema.
        batches = _batches(data, first_row, inferred, set(mixed), batch_size)
        return Frames(schema if schema is not None else inferred, batches,
                      batch_size=batch_size, source=label, info=info)


def sheet_names(source: Source) -> list[str]:
    """The names of the sheets in a workbook, in workbook order."""
    return _load(source, source_name(source), None, names_only=True).names


# -- opening ---------------------------------------------------------------------------


def _protected(label: str) -> WorkbookError:
    return WorkbookError("the workbook is password-protected (encrypted)", source=label,
                         hint="Open it in Excel and save an unprotected copy, then read that")


def _is_encrypted(handle: BinaryIO) -> bool:
    """Whether ``handle`` is an encrypted OOXML workbook (an OLE file with EncryptionInfo)."""
    position = handle.tell()
    try:
        if handle.read(8) != _OLE_MAGIC:
            return False
        tail = b""
        while chunk := handle.read(1 << 20):
            if _ENCRYPTION_STREAM in tail + chunk:
                return True
            tail = chunk[-len(_ENCRYPTION_STREAM):]
        return False
    finally:
        handle.seek(position)


def _load(source: Source, label: str, choice: str | int | None, *,
          names_only: bool = False) -> _Sheet:
    """Open the workbook and load the chosen sheet's used range."""
    try:
        import python_calamine as calamine
    except ImportError as exc:
        raise MissingDependencyError("python_calamine", "excel", "Reading Excel workbooks"
                                     ) from exc
    with ExitStack() as stack:
        if isinstance(source, str | os.PathLike):
            handle: BinaryIO = stack.enter_context(open(source, "rb"))
        else:
            handle = source if source.seekable() else spool(source)  # calamine seeks
        if _is_encrypted(handle):
            raise _protected(label)
        try:
            # A file object makes calamine sniff the content, so a misnamed .xls still opens.
            book = stack.enter_context(calamine.CalamineWorkbook.from_filelike(handle))
            names = list(book.sheet_names)
            if names_only:
                return _Sheet("", names, 0, 0, [])
            name = _pick_sheet(names, choice, label)
            sheet = book.get_sheet_by_name(name)
            rows = sheet.to_python(skip_empty_area=True)
            top, left = sheet.start or (0, 0)
        except calamine.PasswordError as exc:
            raise _protected(label) from exc
        except calamine.CalamineError as exc:
            raise WorkbookError(f"not a readable Excel or OpenDocument workbook ({exc})",
                                source=label, hint="Check that the file is complete") from exc
    return _Sheet(name, names, top, left, rows)


def _pick_sheet(names: list[str], choice: str | int | None, label: str) -> str:
    if choice is None and names:
        return names[0]
    if isinstance(choice, int) and 0 <= choice < len(names):
        return names[choice]
    if isinstance(choice, str):
        if choice in names:
            return choice
        # Excel treats sheet names case-insensitively; accept an unambiguous match.
        folded = [name for name in names if name.casefold() == choice.casefold()]
        if len(folded) == 1:
            return folded[0]
    problem = ("the workbook has no sheets" if choice is None
               else f"there is no sheet at index {choice}" if isinstance(choice, int)
               else f"there is no sheet named {choice!r}")
    listing = ", ".join(f"{i}: {name!r}" for i, name in enumerate(names)) or "none"
    raise WorkbookError(problem, source=label,
                        hint=f"Its sheets are (0-based index: name) {listing}")


# -- layout: header, rows, columns -----------------------------------------------------


def _is_empty(value: Cell) -> bool:
    # calamine gives "" for an empty cell (and for error cells such as #DIV/0!).
    return value is None or (isinstance(value, str) and value == "")


def _used_width(rows: Sequence[Row]) -> int:
    width = 0
    for row in rows:
        for index in range(len(row) - 1, width - 1, -1):
            if not _is_empty(row[index]):
                width = index + 1
                break
    return width


def _layout(sheet: _Sheet, header_row: int | None, label: str
            ) -> tuple[list[str], list[list[Cell]], int]:
    """Column names, data rows and the Excel row number of the first data row."""
    rows = list(sheet.rows)
    while rows and all(_is_empty(value) for value in rows[-1]):
        rows.pop()  # trailing empty rows carry no data
    if header_row is None:
        width = _used_width(rows)
        return [f"column_{n}" for n in range(1, width + 1)], rows, sheet.top + 1
    at = header_row - 1 - sheet.top
    if rows and at >= len(rows):
        raise ReadError(f"header row {header_row} is below the last row with values "
                        f"(row {sheet.top + len(rows)})", source=label, sheet=sheet.name)
    header = rows[at] if at >= 0 else []
    data = rows[max(at + 1, 0):]
    width = _used_width([header, *data])
    first_row = sheet.top + 1 + max(at + 1, 0)
    names = _header_names(header, data, width, sheet, (header_row, first_row), label)
    return names, data, first_row


def _header_text(value: Cell) -> str:
    if _is_empty(value) or (isinstance(value, str) and not value.strip()):
        return ""
    return value if isinstance(value, str) else _render(value)


def _header_names(header: Row, data: Sequence[Row], width: int, sheet: _Sheet,
                  rows: tuple[int, int], label: str) -> list[str]:
    """Names from the header cells; ``rows`` is (header row, first data row)."""
    header_row, first_row = rows
    texts = [_header_text(header[i]) if i < len(header) else "" for i in range(width)]
    if width and not any(texts):
        found = next(first_row + n for n, row in enumerate(data)
                     if not all(map(_is_empty, row)))
        raise ReadError(f"header row {header_row} is empty", source=label, sheet=sheet.name,
                        hint=f"The first row with values below it is row {found}; pass "
                             f"header_row={found}, or header_row=None if there is no header")
    blank = [column_letter(sheet.left + i) for i, text in enumerate(texts)
             if not text and any(not _is_empty(row[i]) for row in data)]
    if blank:
        raise ReadError(f"column(s) {', '.join(blank)} have data but no name in header row "
                        f"{header_row}", source=label, sheet=sheet.name, row=header_row,
                        hint="Give every column with data a name")
    # A column with neither name nor data keeps its place under a positional name.
    names = [text or f"column_{i + 1}" for i, text in enumerate(texts)]
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in seen:
            first = column_letter(sheet.left + seen[name])
            second = column_letter(sheet.left + index)
            raise ReadError(f"the column name {name!r} appears twice, in columns {first} and "
                            f"{second}", source=label, sheet=sheet.name, row=header_row,
                            hint="Rename one of them so every column name is unique")
        seen[name] = index
    return names


# -- types and values ------------------------------------------------------------------


def _kind(cell_type: type) -> str:
    """The kind of a (non-empty) cell value's type; order matters for the subclasses."""
    for kind, base in (("bool", bool), ("number", int | float), ("datetime", dt.datetime),
                       ("date", dt.date), ("time", dt.time), ("duration", dt.timedelta)):
        if issubclass(cell_type, base):
            return kind
    return "text"


def _is_whole(value: float) -> bool:
    return float(value).is_integer() and -_INT64_LIMIT <= value < _INT64_LIMIT


def _infer_type(values: list[Cell]) -> tuple[pa.DataType, bool]:
    """One Arrow type for a column's values, and whether it mixes kinds (then text)."""
    kinds = {_kind(t) for t in {type(v) for v in values if not _is_empty(v)}}
    if not kinds:
        return pa.string(), False
    if kinds == {"number"}:
        # Excel stores every number as a float; whole ones are integers to people.
        whole = all(_is_whole(v) for v in values if not _is_empty(v))
        return (pa.int64() if whole else pa.float64()), False
    if kinds == {"date", "datetime"} or kinds == {"datetime"}:
        # calamine gives a date for a datetime cell at midnight; they are one column.
        return pa.timestamp("us"), False
    if len(kinds) == 1:
        return _SINGLE_KIND_TYPES[kinds.pop()], False
    return pa.string(), True


def _render(value: Cell) -> str:
    """Text for a non-text value in a mixed column, without losing anything."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"  # as Excel shows it
    if isinstance(value, float):
        return str(int(value)) if _is_whole(value) else repr(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _converter(column_type: pa.DataType, mixed: bool) -> Callable[[Cell], Any]:
    """How to turn one non-empty cell into a value of ``column_type``."""
    if mixed:
        return lambda value: value if isinstance(value, str) else _render(value)
    if pa.types.is_int64(column_type):
        return int
    if pa.types.is_timestamp(column_type):
        return lambda value: (value if isinstance(value, dt.datetime)
                              else dt.datetime.combine(value, dt.time()))
    return lambda value: value


def _batches(data: Sequence[Row], first_row: int, schema: pa.Schema, mixed: set[str],
             batch_size: int) -> Iterator[tuple[int, pa.RecordBatch]]:
    """Record batches of at most ``batch_size`` rows, each with its first Excel row."""
    converters = [_converter(field.type, field.name in mixed) for field in schema]
    for start in range(0, len(data), batch_size):
        chunk = data[start:start + batch_size]
        arrays = [
            pa.array([None if _is_empty(row[i]) else convert(row[i]) for row in chunk],
                     field.type)
            for i, (field, convert) in enumerate(zip(schema, converters, strict=True))
        ]
        yield first_row + start, pa.RecordBatch.from_arrays(arrays, schema=schema)
