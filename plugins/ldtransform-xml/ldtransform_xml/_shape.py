"""The shape of XML records: which names they use, which repeat, and the columns that
follow; then each record's values in those columns.

Names are local names (a namespace is matched by the record path, not spelled in
columns). Attributes and child elements become columns; a child element holding others
spreads into dotted columns (``address.city``), the way nested JSON objects do; a child
element that occurs more than once in a record makes the column a list: a
``list<struct>`` of child records when it has attributes or children of its own
(``#text`` holds its text, if any), a ``list<string>`` when it holds only text.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

__all__ = ["TEXT", "Shape", "local_name", "record_values"]

#: The field of a child record that holds its element's own text.
TEXT = "#text"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


def local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


class Shape:
    """What an element path holds across every record seen: attributes, children (in the
    order first seen), whether it has text of its own and whether it repeats."""

    __slots__ = ("attributes", "children", "repeated", "text")

    def __init__(self) -> None:
        self.attributes: dict[str, str] = {}  # local name → column name
        self.children: dict[str, Shape] = {}
        self.repeated = False
        self.text = False

    def learn_record(self, element: Any) -> None:
        """Take in one record: its text, if more than layout whitespace, is ``#text``."""
        if (element.text or "").strip():
            self.text = True
        self.learn(element)

    def columns(self) -> list[pa.Field]:
        """The columns of the records this shape has learnt."""
        own = [pa.field(TEXT, pa.string())] if self.text else []
        return own + self.fields()

    def learn(self, element: Any) -> None:
        """Take in the attributes and children of ``element`` (part of a record)."""
        for key in element.attrib:
            if not key.startswith(XSI):
                name = local_name(key)
                self.attributes.setdefault(name, name)
        seen: set[str] = set()
        for child in element:
            if not isinstance(child.tag, str):  # a comment or processing instruction
                continue
            name = local_name(child.tag)
            shape = self.children.get(name)
            if shape is None:
                shape = self.children[name] = Shape()
            elif name in seen:
                shape.repeated = True
            seen.add(name)
            if (len(child) == 0 and not _attributes(child)) or (child.text or "").strip():
                shape.text = True
            shape.learn(child)

    def settle(self) -> None:
        """Name the columns: an attribute that shares its name with a child element is
        spelled ``@name``."""
        for name in self.attributes:
            self.attributes[name] = f"@{name}" if name in self.children else name
        for child in self.children.values():
            child.settle()

    @property
    def structured(self) -> bool:
        return bool(self.attributes or self.children)

    def fields(self, prefix: str = "") -> list[pa.Field]:
        """The columns this shape spreads into, names starting with ``prefix``."""
        fields = [pa.field(prefix + column, pa.string()) for column in self.attributes.values()]
        for name, child in self.children.items():
            if child.repeated:
                fields.append(pa.field(prefix + name, pa.list_(child.item_type())))
                continue
            if child.text:
                fields.append(pa.field(prefix + name, pa.string()))
            fields += child.fields(f"{prefix}{name}.")
        return fields

    def item_type(self) -> pa.DataType:
        if not self.structured:
            return pa.string()
        return pa.struct(self.columns())


def record_values(element: Any, shape: Shape) -> dict[str, Any]:
    """The values of the record ``element`` by column, as :meth:`Shape.columns` names
    them."""
    return _values(element, shape, "", {TEXT: _text(element)} if shape.text else {})


def _values(element: Any, shape: Shape, prefix: str, values: dict[str, Any]
            ) -> dict[str, Any]:
    for key, value in element.attrib.items():
        if not key.startswith(XSI):
            values[prefix + shape.attributes[local_name(key)]] = value
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = local_name(child.tag)
        child_shape = shape.children[name]
        if child_shape.repeated:
            values.setdefault(prefix + name, []).append(_item(child, child_shape))
            continue
        if child_shape.text:
            values[prefix + name] = _text(child)
        _values(child, child_shape, f"{prefix}{name}.", values)
    return values


def _item(element: Any, shape: Shape) -> Any:
    if not shape.structured:
        return _text(element)
    return record_values(element, shape)


def _attributes(element: Any) -> bool:
    return any(not key.startswith(XSI) for key in element.attrib)


def _text(element: Any) -> str | None:
    """An element's own text: ``xsi:nil="true"`` is null; an empty leaf is ``""``; an
    element holding others has text only where it is more than layout whitespace."""
    if element.get(XSI + "nil") in ("true", "1"):
        return None
    text = element.text or ""
    if len(element) == 0 and not _attributes(element):
        return text
    return text if text.strip() else None
