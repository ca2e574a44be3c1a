"""Flattening JSON records into columns, and typing them.

:func:`flatten` spreads nested objects into dotted column names (``address.city``)
while lists stay list columns (lists of objects become ``list<struct>`` with the union of
their keys). :class:`Inference` watches every record of a first pass and decides one Arrow
type per column; :func:`build_batch` turns the records of the second pass into batches of
exactly that schema.
"""

from __future__ import annotations

import json
import json.scanner
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

__all__ = [
    "HEADERS_PREFIX",
    "FlattenError",
    "Inference",
    "Layout",
    "build_batch",
    "flatten",
    "is_envelope",
]

#: Prefix of the columns holding an LD item's ``headers`` (``_headers.action``, ...).
HEADERS_PREFIX = "_headers."

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_EXACT = 2**53  # integers up to this size are exact as float64 too
_NONE = type(None)
#: Types recorded as they are; lists, dicts and large integers need a closer look.
_PLAIN = frozenset({str, float, bool, _NONE})

Converter = Callable[[Any], Any]


class _WideInt:
    """Marks integers that fit int64 but not float64 exactly (no float column for them)."""


class _BigInt:
    """Marks integers outside int64 (they cannot be int64 values, so they become text)."""


def _int_kind(value: int) -> type:
    if -_EXACT <= value <= _EXACT:
        return int
    return _WideInt if _INT64_MIN <= value <= _INT64_MAX else _BigInt


class FlattenError(ValueError):
    """A record cannot become a row of the layout; the reader adds where it is."""


def is_envelope(record: dict[str, Any]) -> bool:
    """Whether ``record`` is an LD item: exactly ``headers`` and ``data``, both objects."""
    return (len(record) == 2 and type(record.get("headers")) is dict
            and type(record.get("data")) is dict)


def flatten(record: dict[str, Any], *, envelope: bool = False) -> dict[str, Any]:
    """``record`` with nested objects spread into dotted names (``address.city``).

    With ``envelope`` the record must be an LD item; its ``data`` fields become the
    columns and its headers become ``_headers.<name>`` columns. An empty object is a null
    value, so its column still exists. Two fields landing on one name raise
    :class:`FlattenError` rather than one silently replacing the other.
    """
    if envelope:
        if not is_envelope(record):
            raise FlattenError("the record is not an LD item ({'headers': {...}, 'data': {...}})")
        out: dict[str, Any] = {}
        _flatten_into(out, record["headers"], HEADERS_PREFIX)
        _flatten_into(out, record["data"], "")
        return out
    if dict not in map(type, record.values()):
        return record  # already flat: the common case costs no copy
    out = {}
    _flatten_into(out, record, "")
    return out


def _flatten_into(out: dict[str, Any], obj: dict[str, Any], prefix: str) -> None:
    for key, value in obj.items():
        name = prefix + key
        if type(value) is dict and value:
            _flatten_into(out, value, name + ".")
            continue
        if name in out:
            raise FlattenError(f"two fields both become the column {name!r} when flattened")
        out[name] = None if type(value) is dict else value


class _Shape:
    """Every kind of value one column (or list item, or struct field) has held."""

    __slots__ = ("fields", "items", "kinds")

    def __init__(self) -> None:
        self.kinds: set[type] = set()
        self.fields: dict[str, _Shape] = {}
        self.items: _Shape | None = None

    def observe(self, value: Any) -> None:
        kind = type(value)
        if kind is int:
            kind = _int_kind(value)
        elif kind is list:
            if self.items is None:
                self.items = _Shape()
            for item in value:
                self.items.observe(item)
        elif kind is dict:
            for key, item in value.items():
                shape = self.fields.get(key)
                if shape is None:
                    shape = self.fields[key] = _Shape()
                shape.observe(item)
        self.kinds.add(kind)


@dataclass
class Layout:
    """The schema records become, and how to get their values into it."""

    schema: pa.Schema
    envelope: bool = False
    #: Per column: applied to each non-null value before Arrow sees it.
    converters: dict[str, Converter] = field(default_factory=dict)
    #: Columns (or nested paths) whose values mixed kinds and are now JSON text.
    mixed: list[str] = field(default_factory=list)
    #: A schema given by the caller: a field it does not name is an error, not a column.
    given: bool = False

    @classmethod
    def from_schema(cls, schema: pa.Schema) -> Layout:
        """The layout for a caller's schema; ``_headers.*`` fields mean LD items."""
        envelope = any(name.startswith(HEADERS_PREFIX) for name in schema.names)
        return cls(schema, envelope=envelope, given=True)


class Inference:
    """Learns the columns and their types from records, one by one (the first pass)."""

    def __init__(self, *, allow_envelope: bool = True) -> None:
        self.envelope = allow_envelope
        self.records = 0
        self._columns: dict[str, _Shape] = {}

    def add(self, record: dict[str, Any]) -> bool:
        """Observe one record; False if it ends the LD-item reading (start over)."""
        if self.envelope and not is_envelope(record):
            if self.records:
                return False
            self.envelope = False
        columns = self._columns
        for name, value in flatten(record, envelope=self.envelope).items():
            shape = columns.get(name)
            if shape is None:
                shape = columns[name] = _Shape()
            kind = type(value)
            if kind in _PLAIN:
                shape.kinds.add(kind)
            elif kind is int:
                shape.kinds.add(_int_kind(value))
            else:
                try:
                    shape.observe(value)
                except RecursionError as exc:
                    raise FlattenError(f"the field {name!r} is nested too deeply") from exc
        self.records += 1
        return True

    def layout(self) -> Layout:
        """The layout for everything observed (no records: no columns)."""
        layout = Layout(pa.schema([]), envelope=self.envelope and self.records > 0)
        fields = []
        for name, shape in self._columns.items():
            arrow_type, converter = _resolve(shape, name, layout.mixed)
            fields.append(pa.field(name, arrow_type))
            if converter is not None:
                layout.converters[name] = converter
        layout.schema = pa.schema(fields)
        return layout


def _resolve(shape: _Shape, path: str, mixed: list[str]) -> tuple[pa.DataType, Converter | None]:
    """The Arrow type for ``shape`` and, where values need it, a converter."""
    kinds = shape.kinds - {_NONE}
    if not kinds or kinds == {str}:
        return pa.string(), None
    if kinds == {bool}:
        return pa.bool_(), None
    if kinds <= {int, _WideInt}:
        return pa.int64(), None
    if kinds <= {int, float}:
        return pa.float64(), None
    if kinds == {list}:
        item_type, convert = _resolve(shape.items or _Shape(), path + "[]", mixed)
        return pa.list_(item_type), None if convert is None else _each(convert)
    if kinds == {dict}:
        return _resolve_struct(shape, path, mixed)
    mixed.append(path)
    return pa.string(), json_text


def _resolve_struct(shape: _Shape, path: str, mixed: list[str]
                    ) -> tuple[pa.DataType, Converter | None]:
    fields, converters = [], {}
    for key, child in shape.fields.items():
        arrow_type, convert = _resolve(child, f"{path}.{key}", mixed)
        fields.append(pa.field(key, arrow_type))
        if convert is not None:
            converters[key] = convert
    return pa.struct(fields), _fields(converters) if converters else None


def _each(convert: Converter) -> Converter:
    def each(items: list[Any]) -> list[Any]:
        return [None if item is None else convert(item) for item in items]
    return each


def _fields(converters: dict[str, Converter]) -> Converter:
    def fields(obj: dict[str, Any]) -> dict[str, Any]:
        return {key: value if value is None or key not in converters
                else converters[key](value) for key, value in obj.items()}
    return fields


def json_text(value: Any) -> str:
    """A string as it is; anything else as its compact JSON text (``5`` → ``"5"``)."""
    if type(value) is str:
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def build_batch(rows: list[dict[str, Any]], layout: Layout) -> pa.RecordBatch:
    """One record batch of ``layout.schema`` from flattened ``rows`` (which it may change).

    Raises :class:`FlattenError` naming the column when values do not fit its type, or
    (for a given schema) when rows hold a field the schema lacks.
    """
    if layout.given:
        extra = set().union(*rows).difference(layout.schema.names)
        if extra:
            raise FlattenError(f"field(s) {', '.join(map(repr, sorted(extra)))} "
                               "are not in the given schema")
    for name, convert in layout.converters.items():
        for row in rows:
            value = row.get(name)
            if value is not None:
                row[name] = convert(value)
    try:
        # Arrow converts the dicts in one go (missing keys are nulls), several times
        # faster than column by column.
        rows_array = pa.array(rows, type=pa.struct(list(layout.schema)))
        return pa.RecordBatch.from_struct_array(rows_array)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, UnicodeEncodeError):
        pass  # convert column by column, to render text or to name the culprit
    arrays = [_to_arrow([row.get(column.name) for row in rows], column)
              for column in layout.schema]
    return pa.RecordBatch.from_arrays(arrays, schema=layout.schema)


def _to_arrow(values: list[Any], column: pa.Field) -> pa.Array:
    try:
        return pa.array(values, type=column.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, UnicodeEncodeError) as exc:
        problem = exc
    if column.type == pa.string() and not isinstance(problem, UnicodeEncodeError):
        # A given schema's text column may meet numbers or booleans: keep their JSON text.
        # (All text now, so only a lone surrogate can fail again, and that raises.)
        return _to_arrow([None if v is None else json_text(v) for v in values], column)
    if isinstance(problem, UnicodeEncodeError):
        reason = "a string holds a lone surrogate (\\ud800-\\udfff), which is not valid text"
    else:
        reason = str(problem)
    raise FlattenError(f"column {column.name!r} ({column.type}) cannot hold these values: "
                       f"{reason}") from problem
