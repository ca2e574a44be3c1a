"""Rows as XML records: ``<records><record>…</record>…</records>``.

The mirror of the reader: a column is a child element, ``@name`` an attribute, a dotted
name (``address.city``) a nested element, a list of records (``list<struct>``) repeated
child elements (``#text`` their text, ``@name`` their attributes), a list of values
repeated leaf elements. A null value writes no element, so reading the file back gives
null; the empty string writes an empty element. Flat columns are encoded a batch at a
time with Arrow compute; only list columns are spelled row by row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from ldtransform.errors import ConfigError, UnwritableValueError
from ldtransform.schema import ItemSchema
from ldtransform.writers import RecordWriter
from ldtransform_xml._shape import TEXT

__all__ = ["XmlWriter"]

_NAME = re.compile(r"^[^\W\d][\w.\-]*$")
#: Characters XML 1.0 cannot hold at all, even escaped (for Arrow, and for Python).
_FORBIDDEN = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{fffe}\x{ffff}]"
_FORBIDDEN_PY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TEXT_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;"))
_ATTRIBUTE_ESCAPES = (*_TEXT_ESCAPES, ('"', "&quot;"), ("\n", "&#10;"), ("\t", "&#9;"))


class XmlWriter(RecordWriter):
    """XML records, one a line, under one root element.

    Options: ``root`` (the root element's name, default ``records``) and ``record`` (each
    record's, default ``record``).
    """

    format: ClassVar[str] = "xml"
    suffix: ClassVar[str] = ".xml"
    separator: ClassVar[bytes] = b"\n"

    def __init__(self, *, schema: ItemSchema | None = None, root: str = "records",
                 record: str = "record") -> None:
        super().__init__(schema=schema)
        for option, name in (("root", root), ("record", record)):
            if not _NAME.match(name):
                raise ConfigError(f"{option} must be an XML element name, got {name!r}")
        self.root = root
        self.record = record

    def begin(self) -> bytes:
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<{self.root}>'.encode()

    def end(self) -> bytes:
        return f"\n</{self.root}>\n".encode()

    def encode(self, batch: pa.RecordBatch) -> pa.Array:
        tree = _Element.of(batch.schema.names)
        columns = dict(zip(batch.schema.names, batch.columns, strict=True))
        start = "\n<" + self.record
        pieces = [pa.scalar(start), *tree.attributes(columns), pa.scalar(">"),
                  *tree.content(columns, batch.num_rows), pa.scalar(f"</{self.record}>")]
        return _join(pieces, batch.num_rows)


class _Element:
    """Columns grouped by the element they belong to: ``a.b`` and ``a.@c`` under ``a``."""

    def __init__(self) -> None:
        self.attribute_columns: list[tuple[str, str]] = []  # (attribute name, column)
        self.text_column: str | None = None
        self.children: dict[str, _Element | str] = {}  # element name → nested, or column

    @classmethod
    def of(cls, names: Iterable[str]) -> _Element:
        element = cls()
        for column in names:
            element._add(column, column.split("."))
        return element

    def _add(self, column: str, steps: list[str]) -> None:
        step, rest = steps[0], steps[1:]
        if not rest and step.startswith("@"):
            _check_name(step[1:], column)
            self.attribute_columns.append((step[1:], column))
        elif not rest and step == TEXT:
            self.text_column = column
        else:
            _check_name(step, column)
            child = self.children.get(step)
            if not rest:
                if isinstance(child, _Element):  # "a" and "a.b": a's text, then b
                    child.text_column = column
                else:
                    self.children[step] = column
                return
            if not isinstance(child, _Element):
                nested = _Element()
                if child is not None:
                    nested.text_column = child
                self.children[step] = child = nested
            child._add(column, rest)

    def attributes(self, columns: dict[str, pa.Array]) -> list[pa.Array | pa.Scalar]:
        pieces: list[pa.Array | pa.Scalar] = []
        for name, column in self.attribute_columns:
            text = _escaped(_text(columns[column], column), _ATTRIBUTE_ESCAPES)
            pieces.append(pc.if_else(pc.is_null(text), "",
                                     _join([pa.scalar(f' {name}="'), text, pa.scalar('"')],
                                           len(text))))
        return pieces

    def content(self, columns: dict[str, pa.Array], rows: int) -> list[pa.Array | pa.Scalar]:
        pieces: list[pa.Array | pa.Scalar] = []
        if self.text_column is not None:
            text = _escaped(_text(columns[self.text_column], self.text_column), _TEXT_ESCAPES)
            pieces.append(pc.fill_null(text, ""))
        for name, child in self.children.items():
            if isinstance(child, str):
                pieces.append(_leaf(name, columns[child], child))
                continue
            inner = _join([*child.content(columns, rows)] or [pa.scalar("")], rows)
            attributes = _join(child.attributes(columns) or [pa.scalar("")], rows)
            empty = pc.and_(pc.equal(inner, ""), pc.equal(attributes, ""))
            if child.text_column is not None:  # an empty text still makes the element
                empty = pc.and_(empty, pc.is_null(columns[child.text_column]))
            element = _join([pa.scalar(f"<{name}"), attributes, pa.scalar(">"), inner,
                             pa.scalar(f"</{name}>")], rows)
            pieces.append(pc.if_else(empty, "", element))
        return pieces


def _leaf(name: str, column: pa.Array, column_name: str) -> pa.Array:
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        return pa.array([_repeated(name, values) for values in column.to_pylist()],
                        pa.string())
    if pa.types.is_struct(column.type):
        return pa.array([_repeated(name, [value]) if value is not None else ""
                         for value in column.to_pylist()], pa.string())
    text = _escaped(_text(column, column_name), _TEXT_ESCAPES)
    element = _join([pa.scalar(f"<{name}>"), text, pa.scalar(f"</{name}>")], len(column))
    return pc.if_else(pc.is_null(text), "", element)


def _repeated(name: str, values: list[Any] | None) -> str:
    """Child records (or values) as repeated elements, spelled row by row."""
    if not values:
        return ""
    return "".join(_element_of(name, value) for value in values if value is not None)


def _element_of(name: str, value: Any) -> str:
    if not isinstance(value, dict):
        return f"<{name}>{_escape_one(_spell(value), _TEXT_ESCAPES)}</{name}>"
    attributes = "".join(
        f' {key[1:]}="{_escape_one(_spell(item), _ATTRIBUTE_ESCAPES)}"'
        for key, item in value.items() if key.startswith("@") and item is not None)
    text = value.get(TEXT)
    body = "" if text is None else _escape_one(_spell(text), _TEXT_ESCAPES)
    for key, item in value.items():
        if key.startswith("@") or key == TEXT or item is None:
            continue
        _check_name(key, key)
        body += _repeated(key, item) if isinstance(item, list) else _element_of(key, item)
    return f"<{name}{attributes}>{body}</{name}>"


def _spell(value: Any) -> str:
    """One value's text, as the vectorised path spells it (see :func:`_text`)."""
    spelled = _text(pa.array([value]), "a child record")[0].as_py()
    return str(spelled)


def _escape_one(text: str, escapes: tuple[tuple[str, str], ...]) -> str:
    if _FORBIDDEN_PY.search(text):
        raise UnwritableValueError(f"{text!r} holds a character XML cannot carry")
    for character, escape in escapes:
        text = text.replace(character, escape)
    return text


def _text(column: pa.Array, name: str) -> pa.Array:
    """The values of ``column`` as text: numbers in their shortest exact form, booleans
    ``true``/``false``, dates ``2014-02-01``, times ``2014-02-01T05:00:00.000000Z``."""
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return column
    if pa.types.is_timestamp(kind):
        return pc.replace_substring(pc.cast(column, pa.string()), " ", "T",
                                    max_replacements=1)
    if pa.types.is_binary(kind) or pa.types.is_nested(kind):
        raise UnwritableValueError(f"column {name!r} holds {kind}, which has no XML text")
    return pc.cast(column, pa.string())


def _escaped(text: pa.Array, escapes: tuple[tuple[str, str], ...]) -> pa.Array:
    if pc.any(pc.match_substring_regex(text, _FORBIDDEN)).as_py():
        bad = pc.filter(text, pc.match_substring_regex(text, _FORBIDDEN))[0].as_py()
        raise UnwritableValueError(f"{bad!r} holds a character XML cannot carry")
    for character, escape in escapes:
        text = pc.replace_substring(text, character, escape)
    return text


def _check_name(name: str, column: str) -> None:
    if not _NAME.match(name):
        raise ConfigError(f"column {column!r}: {name!r} cannot be an XML name; rename it "
                          "(a mapping can) to letters, digits, '_', '-' and '.'")


def _join(pieces: list[pa.Array | pa.Scalar], rows: int) -> pa.Array:
    if not any(isinstance(piece, pa.Array) for piece in pieces):
        return pa.array(["".join(p.as_py() for p in pieces)] * rows, pa.string())
    return pc.binary_join_element_wise(*pieces, "")
