"""Reading an uploaded import file as a stream of records.

JSON files are arrays of LD item envelopes, decoded one element at a time so a file of any
size is read in bounded memory. CSV files are mapped to item data by an *import template*
(a JSON document; see ``docs/server.md``)::

    {"columns": [{"column": "Account ID", "field": "accountId"},
                 {"column": "City", "field": "addresses[0].city"},
                 {"column": "Days", "field": "deliveryDays", "split": ";"}],
     "constants": {"accountClass": "/Account/accountClass[invoiced]"},
     "action": "Create", "delimiter": ","}

A record is ``(number, headers, data)``; a record that cannot be read as an item is
``(number, None, problem)`` and ends up in the rejection file like any invalid record.
"""

from __future__ import annotations

import codecs
import copy
import csv
import io
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ldtransform.fieldpath import MAX_LIST_INDEX, FieldPath, FieldPathError
from ldtransform.readers.jsonscan import ArrayScanner
from ldtransform.schema import FieldSpec, ItemSchema

__all__ = [
    "CsvTemplate",
    "LayoutChanged",
    "Record",
    "TemplateError",
    "Wanted",
    "csv_records",
    "json_records",
    "parse_template",
    "sniff_json",
]

Record = tuple[int, dict[str, Any] | None, Any]
#: Which records (by number) a reader should give; the others are passed over unread.
Wanted = Callable[[int], bool]
ACTIONS = ("Create", "Merge", "Update", "Delete")
#: The field names a template's path may use (the grammar allows more).
_NAME = re.compile(r"[A-Za-z_]\w*")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


class TemplateError(ValueError):
    """An import template that cannot be used; the message says why."""


class LayoutChanged(Exception):
    """A JSON file read in part (``wanted``) is not one element per line after all."""


@dataclass(frozen=True)
class Column:
    """One template column: where the value comes from and which field it fills."""

    source: str | int | None
    path: tuple[tuple[str, int | None], ...]
    split: str | None
    leaf: FieldSpec | None


@dataclass(frozen=True)
class CsvTemplate:
    """A parsed import template."""

    columns: tuple[Column, ...]
    constants: tuple[tuple[tuple[tuple[str, int | None], ...], Any], ...]
    action: str
    delimiter: str
    encoding: str


def sniff_json(path: Path) -> str | None:
    """A reason the file cannot be a JSON array of items, or None when it may be one."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
    text = head.lstrip(codecs.BOM_UTF8).lstrip()
    if not text:
        return "the file is empty; expected a JSON array of items"
    if text[:1] != b"[":
        return "the file is not a JSON array of items (it must start with '[')"
    return None


def json_records(path: Path, wanted: Wanted | None = None) -> Iterator[Record]:
    """The envelopes of a JSON array file, numbered from 1.

    Files written one element per line (the common machine-made layout) are read line by
    line with orjson; other arrays of objects (on one line, pretty-printed) are cut between
    objects and each piece decoded with orjson; where neither fits, reading goes on with
    the general streaming parser, skipping the elements already given, so any valid JSON is
    read and any invalid JSON is reported by the same parser.

    With ``wanted``, only those elements are given and the others are not even decoded;
    this needs the one-per-line layout, and :class:`LayoutChanged` is raised where it ends.
    """
    done = 0
    for record in _line_records(path, wanted or _everything):
        if isinstance(record, int):
            done = record
            break
        yield record
    else:
        return
    if wanted is not None:
        # Lines passed over unread may not have been one element each: numbers past here
        # cannot be trusted, and the general parser reads everything anyway.
        raise LayoutChanged(f"the file is not laid out element by element from element "
                            f"{done + 1}")
    for record in _object_records(path, done):
        if isinstance(record, int):
            done = max(done, record)  # it reads from the start: it may stop before done
            break
        yield record
    else:
        return
    with open(path, "rb") as handle:
        if handle.read(3) != codecs.BOM_UTF8:
            handle.seek(0)
        scanner = ArrayScanner(handle, "utf-8", "file")
        for number, element in scanner.elements():
            if number > done:
                yield _envelope(number, element)


def _everything(number: int) -> bool:
    return True


def _line_records(path: Path, wanted: Wanted) -> Iterator[Record | int]:
    """Elements of an array laid out one element per line.

    When the file turns out not to be laid out so, the last item is the number of
    elements read up to there (wanted or not).
    """
    loads, number, started, ended, open_comma = orjson.loads, 0, False, False, True
    with open(path, "rb") as handle:
        head = handle.read(_LINE_LIMIT)
        if len(head) == _LINE_LIMIT and b"\n" not in head.strip():
            yield 0  # an array on one long line: not read as a line, memory stays bounded
            return
        handle.seek(0)
        for raw in handle:
            line = raw.strip()
            if not started:
                line = line.removeprefix(codecs.BOM_UTF8).lstrip()
                if not line:
                    continue
                if line[:1] != b"[":
                    yield number
                    return
                started, line = True, line[1:].strip()
            if not line:
                continue
            if ended or line == b"]":
                ended = ended or line == b"]"
                if line != b"]" or (number and open_comma):
                    yield number
                    return
                continue
            if not open_comma:
                yield number
                return
            open_comma = line.endswith(b",")
            if not wanted(number + 1):
                number += 1
                continue
            try:
                element = loads(line[:-1] if open_comma else line)
            except orjson.JSONDecodeError:
                yield number
                return
            number += 1
            yield _envelope(number, element)
    if not ended:
        yield number


def _object_records(path: Path, skip: int) -> Iterator[Record | int]:
    """Elements of an array of objects on any lines (often one long line), after ``skip``.

    Objects are cut where one ends and the next begins (``},{``, JSON whitespace allowed)
    and each piece is decoded with orjson; a piece that does not decode was cut inside a
    string or a nested list, and grows to the next cut. As with :func:`_line_records`, the
    last item is the number of elements read when the file cannot be read so (an element
    that is not an object, a syntax error), for the general parser to take over.
    """
    loads, number = orjson.loads, 0
    with open(path, "rb") as handle:
        buffer = handle.read(_BLOCK).removeprefix(codecs.BOM_UTF8)
        pos = _after_space(buffer, 0)
        if buffer[pos:pos + 1] != b"[":
            yield 0
            return
        pos = _after_space(buffer, pos + 1)
        if buffer[pos:pos + 1] == b"]":  # an empty array, then nothing but whitespace
            if buffer[pos + 1:].strip(_SPACE) or handle.read(1):
                yield 0
            return
        search, misses = pos + 1, 0
        while True:
            if buffer[pos:pos + 1] != b"{":
                yield number
                return
            cut = _NEXT_OBJECT.search(buffer, search)
            if cut is None:
                more = handle.read(_BLOCK)
                if more:
                    buffer, search, pos = buffer[pos:] + more, search - pos, 0
                    continue
                body = buffer[pos:].rstrip(_SPACE)  # the last element, then "]"
                try:
                    element = loads(body[:-1]) if body.endswith(b"]") else None
                except orjson.JSONDecodeError:
                    element = None
                if element is None:
                    yield number
                    return
                number += 1
                if number > skip:
                    yield _envelope(number, element)
                return
            try:
                element = loads(buffer[pos:cut.start() + 1])
            except orjson.JSONDecodeError:
                # cut inside a string or a nested list: go on to the next cut, but not for
                # ever (each try decodes the piece again), the general parser is linear
                misses += 1
                if misses > _MAX_MISSES:
                    yield number
                    return
                search = cut.start() + 1
                continue
            number += 1
            if number > skip:
                yield _envelope(number, element)
            pos = cut.end() - 1
            search, misses = pos + 1, 0


def _after_space(buffer: bytes, pos: int) -> int:
    return len(buffer) - len(buffer[pos:].lstrip(_SPACE))


_BLOCK = 1 << 20
#: Wrong cuts allowed in one element (a long nested list of objects) before giving up.
_MAX_MISSES = 16
#: A file with no line break in its first bytes this long is not read line by line.
_LINE_LIMIT = 1 << 20
_SPACE = b" \t\n\r"  # JSON's whitespace, no other
_NEXT_OBJECT = re.compile(rb"\}[ \t\n\r]*,[ \t\n\r]*\{")



def _envelope(number: int, element: Any) -> Record:
    if not isinstance(element, dict):
        return number, None, f"element {number} is not an item object"
    headers, data = element.get("headers", {}), element.get("data")
    if not isinstance(headers, dict) or not isinstance(data, dict):
        return number, None, "an item is an object with 'headers' and 'data' objects"
    return number, headers, data


def _field_path(text: str, schema: ItemSchema) -> tuple[tuple[tuple[str, int | None], ...],
                                                       FieldSpec]:
    """Parse ``addresses[0].city`` and find the schema field its value goes into.

    The path must follow the schema: an index only on a list, one on every list it passes
    through, at most :data:`MAX_LIST_INDEX`. An index at the end makes the field an element
    of the list (``deliveryDays[0]`` is one string).
    """
    try:
        steps = FieldPath.parse(text).steps
    except FieldPathError:
        steps = ()
    if not steps or not all(_NAME.fullmatch(step.name) for step in steps):
        raise TemplateError(f"field {text!r}: write a path like addresses[0].city")
    parts: list[tuple[str, int | None]] = []
    specs: tuple[FieldSpec, ...] = schema.fields
    spec: FieldSpec | None = None
    index: int | None = None
    for depth, step in enumerate(steps):
        name, index = step.name, step.index
        spec = next((s for s in specs if s.name == name), None)
        if spec is None:
            raise TemplateError(f"field {text!r}: the {schema.item_type} schema has no "
                                f"field {name!r} there")
        if index is not None and spec.type != "array":
            raise TemplateError(f"field {text!r}: {name} is not a list; write it without "
                                f"[{index}]")
        if index is not None and index > MAX_LIST_INDEX:
            raise TemplateError(f"field {text!r}: list index {index} is over the limit of "
                                f"{MAX_LIST_INDEX}")
        if depth < len(steps) - 1 and spec.type == "array" and index is None:
            raise TemplateError(f"field {text!r}: {name} is a list; name an element, e.g. "
                                f"{name}[0].{steps[depth + 1].name}")
        parts.append((name, index))
        specs = spec.fields
    assert spec is not None  # a parsed path has at least one step
    if index is not None:  # one element of the list
        spec = FieldSpec(spec.name, "object", fields=spec.fields) if spec.fields else \
            FieldSpec(spec.name, spec.items or "string")
    return tuple(parts), spec


def _check_column(i: int, text: str, leaf: FieldSpec, split: Any) -> None:
    """A column's cell must fit its field: plain values, or a list of them."""
    if leaf.fields:
        kind = "a list of records" if leaf.type == "array" else "a record"
        raise TemplateError(f"columns[{i}]: field {text!r} is {kind}; map a column to "
                            f"each of its fields, e.g. {text}{'[0]' * (leaf.type == 'array')}"
                            f".{leaf.fields[0].name}")
    if split is None:
        return
    if not isinstance(split, str) or not split:
        raise TemplateError(f"columns[{i}].split is the text between list values, e.g. "
                            f"\";\", not {_shown(split)}")
    if leaf.type != "array":
        raise TemplateError(f"columns[{i}].split: field {text!r} is not a list; remove "
                            "'split'")


def _check_overlaps(paths: list[tuple[str, tuple[tuple[str, int | None], ...]]]) -> None:
    """Refuse two mappings of one field, or of a field and something inside it."""
    keyed: list[tuple[tuple[str, ...], str]] = []
    for text, path in paths:
        steps: list[str] = []
        for name, index in path:
            steps.append("." + name)
            if index is not None:
                steps.append(f"[{index}]")
        keyed.append((tuple(steps), text))
    keyed.sort()
    # In sorted order, a path that is a prefix of others comes right before them.
    for (key, text), (next_key, next_text) in itertools.pairwise(keyed):
        if next_key[:len(key)] == key:
            what = "twice" if next_key == key else f"and also inside it, by {next_text!r}"
            raise TemplateError(f"field {text!r} is mapped {what}; map each field once")


def _shown(value: Any) -> str:
    """A value for a message, cut short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _text_encoding(value: Any) -> str:
    """The name of a codec that decodes bytes to text (not rot13, base64, a number)."""
    problem = f"'encoding' {_shown(value)} is not a text encoding"
    if isinstance(value, str) and value:
        try:
            io.TextIOWrapper(io.BytesIO(), encoding=value)
            return value
        except (LookupError, ValueError):
            pass
    raise TemplateError(f"{problem}; use e.g. utf-8-sig (the default), utf-8, cp1252 or "
                        "latin-1")


def parse_template(raw: bytes | str, schema: ItemSchema) -> CsvTemplate:
    """Check and compile an import template against the itemType schema."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise TemplateError(f"the template is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or "columns" not in doc:
        raise TemplateError("the template is a JSON object with a 'columns' list")
    entries = doc["columns"]
    if isinstance(entries, dict):
        entries = [{"column": k, "field": v} for k, v in entries.items()]
    if not isinstance(entries, list) or not entries:
        raise TemplateError("'columns' must be a non-empty list of {column, field}")
    columns = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("field"), str):
            raise TemplateError(f"columns[{i}] needs a 'field' (an item field path)")
        source = entry.get("column")
        if not isinstance(source, str | int) or isinstance(source, bool):
            raise TemplateError(f"columns[{i}].column is a header name or a 1-based number")
        if isinstance(source, int) and source < 1:
            raise TemplateError(f"columns[{i}].column: column numbers start at 1, not "
                                f"{source}")
        path, leaf = _field_path(entry["field"], schema)
        _check_column(i, entry["field"], leaf, entry.get("split"))
        columns.append(Column(source, path, entry.get("split"), leaf))
    action = doc.get("action", "Create")
    if action not in ACTIONS:
        raise TemplateError(f"action must be one of {', '.join(ACTIONS)}")
    constants = doc.get("constants", {})
    if not isinstance(constants, dict):
        raise TemplateError("'constants' maps field names to fixed values")
    fixed = tuple((_field_path(name, schema)[0], value) for name, value in constants.items())
    _check_overlaps([(entry["field"], column.path)
                     for entry, column in zip(entries, columns, strict=True)]
                    + [(name, path) for name, (path, _) in zip(constants, fixed, strict=True)])
    delimiter = doc.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '\r\n"':
        raise TemplateError("'delimiter' is a single character other than a quote or a "
                            "line break")
    return CsvTemplate(tuple(columns), fixed, action, delimiter,
                       _text_encoding(doc.get("encoding", "utf-8-sig")))


def _convert(text: str, leaf: FieldSpec | None, split: str | None) -> Any:
    """A CSV cell as the JSON value the schema field expects (left as text if it is not)."""
    kind = leaf.type if leaf is not None else "string"
    if split is not None or kind == "array":
        inner = leaf.items if leaf is not None and leaf.items else "string"
        parts = [p.strip() for p in text.split(split or ";")] if text else []
        return [_convert(p, FieldSpec("item", inner), None) for p in parts]
    if text == "":
        return ""
    try:
        if kind == "integer":
            return int(text)
        if kind in ("number", "decimal"):
            return float(text)
    except ValueError:
        return text
    if kind == "boolean":
        low = text.strip().lower()
        return True if low in _TRUE else False if low in _FALSE else text
    return text


def _put(data: dict[str, Any], path: tuple[tuple[str, int | None], ...], value: Any) -> None:
    target: Any = data
    for depth, (name, index) in enumerate(path):
        last = depth == len(path) - 1
        if index is None:
            if last:
                target[name] = value
            else:
                target = target.setdefault(name, {})
            continue
        items = target.setdefault(name, [])
        while len(items) <= index:
            items.append({})
        if last:
            items[index] = value
        else:
            target = items[index]


def _resolve(columns: tuple[Column, ...], header: list[str] | None) -> list[int]:
    positions = []
    for column in columns:
        if isinstance(column.source, int):
            positions.append(column.source - 1)
        elif header is None:
            raise TemplateError(f"column {column.source!r} is named, but the file has no "
                                "header row (headerRow=false): use column numbers")
        elif column.source in header:
            positions.append(header.index(column.source))
        else:
            raise TemplateError(f"the file has no column {column.source!r}; its header is "
                                f"{', '.join(header)}")
    return positions


def csv_records(path: Path, template: CsvTemplate, *, header_row: bool,
                wanted: Wanted | None = None) -> Iterator[Record]:
    """The rows of a CSV file mapped to item data; numbers are data row numbers.

    Rows not ``wanted`` are parsed (to find where rows end) but not mapped or given.
    """
    with open(path, encoding=template.encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=template.delimiter)
        try:
            yield from _mapped_rows(reader, template, header_row, wanted)
        except csv.Error as exc:
            raise ValueError(f"line {reader.line_num}: not readable as CSV: {exc}") from exc


def _mapped_rows(reader: Iterator[list[str]], template: CsvTemplate, header_row: bool,
                 wanted: Wanted | None) -> Iterator[Record]:
    header = next(reader, None) if header_row else None
    if header_row and header is None:
        return
    positions = _resolve(template.columns, header)
    headers = {"action": template.action}
    for number, row in enumerate(reader, start=1):
        if wanted is not None and not wanted(number):
            continue
        if not row:
            yield number, None, "an empty line"
            continue
        yield number, headers, _row_data(row, positions, template)


def _row_data(row: list[str], positions: list[int],
              template: CsvTemplate) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for path, value in template.constants:
        _put(data, path, copy.deepcopy(value))
    for column, position in zip(template.columns, positions, strict=True):
        text = row[position] if position < len(row) else ""
        _put(data, column.path, _convert(text, column.leaf, column.split))
    return data


def check_csv_header(path: Path, template: CsvTemplate, *, header_row: bool) -> None:
    """Raise :class:`TemplateError` when the file's header does not fit the template."""
    try:
        with open(path, encoding=template.encoding, newline="") as handle:
            sample = handle.read(1 << 16)
    except UnicodeDecodeError as exc:
        raise TemplateError(f"the file is not {template.encoding} text: {exc.reason} at "
                            f"byte {exc.start}") from exc
    except UnicodeError as exc:  # e.g. UTF-16 without a byte order mark
        raise TemplateError(f"the file is not {template.encoding} text: {exc}") from exc
    reader = csv.reader(io.StringIO(sample), delimiter=template.delimiter)
    try:
        first = next(reader, None)
    except csv.Error as exc:
        raise TemplateError(f"the file's first line cannot be read as CSV: {exc}") from exc
    if header_row and first is None:
        raise TemplateError("the file is empty")
    _resolve(template.columns, first if header_row else None)
    numbers = [c.source for c in template.columns if isinstance(c.source, int)]
    if first and numbers and max(numbers) > len(first):
        raise TemplateError(f"column {max(numbers)} is named, but the file's first line "
                            f"has {len(first)} columns")

