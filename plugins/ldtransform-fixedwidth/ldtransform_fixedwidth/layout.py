"""Record layouts: where each field sits in a record and what type it has.

A layout is written in TOML (see the plugin's README) or, when none is given, read from a
header line whose names start at their fields' first columns.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from ldtransform.errors import ConfigError, ReadError

__all__ = ["Field", "FieldType", "Layout", "from_header", "load_layout"]

FieldType = Literal["string", "integer", "decimal", "date"]
TYPES: tuple[FieldType, ...] = ("string", "integer", "decimal", "date")
#: Decimal fields become decimal128 values of this precision: room for any width we slice.
DECIMAL_PRECISION = 38


@dataclass(frozen=True)
class Field:
    """One field: ``start`` counts characters from 0 here (the TOML counts from 1);
    ``width`` None means "to the end of the record" (the last field of a header)."""

    name: str
    start: int
    width: int | None
    type: FieldType = "string"
    decimals: int = 0
    format: str = "%Y%m%d"

    @property
    def stop(self) -> int | None:
        return None if self.width is None else self.start + self.width

    @property
    def arrow_type(self) -> pa.DataType:
        if self.type == "integer":
            return pa.int64()
        if self.type == "decimal":
            return pa.decimal128(DECIMAL_PRECISION, self.decimals)
        if self.type == "date":
            return pa.date32()
        return pa.string()


@dataclass(frozen=True)
class Layout:
    """The fields of a record, how many lines precede the records, and, for files of
    fixed-length records with no line separators, the length of one record in bytes."""

    fields: tuple[Field, ...]
    skip_lines: int = 0
    record_length: int | None = None
    source: str | None = None

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(f.name, f.arrow_type) for f in self.fields])

    @property
    def minimum_length(self) -> int:
        """A record shorter than this is short: it ends before the last field does (or,
        for an open-ended last field, before it starts)."""
        return max(f.start if f.stop is None else f.stop for f in self.fields)


_FIELD_KEYS = {"name", "start", "width", "type", "decimals", "format"}
_LAYOUT_KEYS = {"fields", "skip_lines", "record_length"}


def load_layout(path: str | os.PathLike[str]) -> Layout:
    """Read and check a TOML layout; every mistake is a ConfigError naming the file."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as file:
            document = tomllib.load(file)
    except FileNotFoundError as exc:
        raise ConfigError(f"layout {name}: no such file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"layout {name}: not valid TOML: {exc}") from exc
    return parse_layout(document, name)


def parse_layout(document: dict[str, Any], name: str = "<layout>") -> Layout:
    """A Layout from the parsed TOML ``document``."""
    def fail(problem: str) -> ConfigError:
        return ConfigError(f"layout {name}: {problem}")

    _refuse_unknown(document, _LAYOUT_KEYS, "", fail)
    entries = document.get("fields")
    if not isinstance(entries, list) or not entries:
        raise fail("needs at least one [[fields]] table")
    fields = tuple(_field(entry, number, fail) for number, entry in enumerate(entries, 1))
    names = [f.name for f in fields]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise fail(f"field name(s) used twice: {', '.join(twice)}")
    skip_lines = _whole(document.get("skip_lines", 0), "skip_lines", 0, fail)
    record_length = document.get("record_length")
    layout = Layout(fields, skip_lines, None, name)
    if record_length is not None:
        record_length = _whole(record_length, "record_length", 1, fail)
        if record_length < layout.minimum_length:
            raise fail(f"record_length {record_length} is shorter than the fields, "
                       f"which end at column {layout.minimum_length}")
        layout = Layout(fields, skip_lines, record_length, name)
    return layout


def _refuse_unknown(table: dict[str, Any], valid: set[str], where: str, fail: Any) -> None:
    unknown = sorted(set(table) - valid)
    if unknown:
        raise fail(f"{where}unknown key(s) {', '.join(unknown)}; "
                   f"valid keys: {', '.join(sorted(valid))}")


def _field(entry: object, number: int, fail: Any) -> Field:
    if not isinstance(entry, dict):
        raise fail(f"field {number} is not a table")
    _refuse_unknown(entry, _FIELD_KEYS, f"field {number}: ", fail)
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise fail(f"field {number} needs a name")
    kind = entry.get("type", "string")
    if kind not in TYPES:
        raise fail(f"field {name}: type {kind!r} is not one of {', '.join(TYPES)}")
    if "decimals" in entry and kind != "decimal":
        raise fail(f"field {name}: decimals applies to decimal fields only")
    if "format" in entry and kind != "date":
        raise fail(f"field {name}: format applies to date fields only")
    date_format = entry.get("format", "%Y%m%d")
    if not isinstance(date_format, str) or "%" not in date_format:
        raise fail(f"field {name}: format must be a strftime pattern such as '%Y%m%d'")
    return Field(
        name=name,
        start=_whole(entry.get("start"), f"field {name}: start", 1, fail) - 1,
        width=_whole(entry.get("width"), f"field {name}: width", 1, fail),
        type=kind,
        decimals=_whole(entry.get("decimals", 0), f"field {name}: decimals", 0, fail,
                        most=DECIMAL_PRECISION - 1),
        format=date_format,
    )


def _whole(value: object, what: str, least: int, fail: Any, most: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < least or (
            most is not None and value > most):
        bound = f"from {least}" + (f" to {most}" if most is not None else "")
        raise fail(f"{what} must be a whole number {bound}, got {value!r}")
    return value


_NAME = re.compile(r"\S+")


def from_header(line: str, source: str) -> Layout:
    """The layout a header line shows: each name starts its field, which runs to where the
    next name starts; the last runs to the end of the record. Text fields only."""
    starts = [(match.start(), match.group()) for match in _NAME.finditer(line)]
    hint = "Pass layout= the file's TOML layout if its first line is no header"
    if not starts:
        raise ReadError("the first line is blank, so it names no fields", source=source,
                        line=1, hint=hint)
    names = [name for _, name in starts]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ReadError(f"the header names {', '.join(twice)} twice", source=source, line=1,
                        hint=hint)
    stops = [start for start, _ in starts[1:]] + [None]
    return Layout(tuple(Field(name, start, None if stop is None else stop - start)
                        for (start, name), stop in zip(starts, stops, strict=True)),
                  skip_lines=1)
