"""JSON records read by Arrow's JSON parser, a block of JSON Lines at a time, wherever
that gives exactly the rows and types the record-by-record path gives.

Pass 1 parses every block once, with the types Arrow infers, flattens nested objects into
dotted columns and spools the block to a temporary Arrow file; meanwhile it merges the
blocks' column types by the toolkit's rules (null gives way to any type, integers to
floats, date-like text stays text, lists of records take the union of their keys). Pass 2
reads the spooled blocks back and casts each to the merged schema: the JSON is parsed
once, and a field null for a million rows and text after that is a text column from the
first batch on.

Whatever those rules cannot settle the way the record-by-record path would (a syntax
error, a name twice, a column of mixed kinds, an empty or null object, an integer too big
to be exact as a float, a line that is not one record) raises :class:`Unfit` in pass 1,
before any batch is handed out: the reader then takes the record-by-record path, which
says where the problem is.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ldtransform._batching import mapped_ahead
from ldtransform.readers._jsonblocks import as_text, parse_json_lines
from ldtransform.readers._jsonflat import HEADERS_PREFIX, Layout, flatten

__all__ = ["FastRead", "Unfit", "batches_of_size"]

#: Integers beyond this are not exact as floats: the record-by-record path makes text of
#: them where floats share their column (beyond 2**63, always), Arrow makes floats.
_EXACT = 2**53

_NEWLINE, _OPEN = b"\n{"

#: Blocks parsed at once, besides the one being flattened and spooled.
_PARSED_AT_ONCE = 2


class Unfit(Exception):
    """The input needs the record-by-record path to be read as it always has been."""


@dataclass
class _Block:
    first: int  # the number of its first record
    numbers: list[int] | None  # every record's number when they do not follow on
    offset: int  # where its table lies in the spool
    size: int


@dataclass
class FastRead:
    """Pass 1 over blocks of JSON Lines (its constructor), then :meth:`tables` (pass 2).

    ``blocks`` yields (lines the block spans, its text); records are numbered by line
    from 1, and blank lines are no records. ``recut``, where given, cuts again a block
    whose lines Arrow does not read as one record each (the lines of an array's elements
    cut where its layout suggested): it returns the block's (records, text), or None.
    """

    blocks: Iterable[tuple[int, bytes | bytearray]]
    recut: Callable[[bytes | bytearray], tuple[int, bytes | bytearray] | None] | None = None
    layout: Layout = field(init=False)
    _spool: pa.NativeFile = field(init=False)
    _unspool: pa.NativeFile = field(init=False)
    _parts: list[_Block] = field(init=False, default_factory=list)
    _hint: pa.Schema | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        # Arrow's own file, blocks going in and out without passing through Python; gone
        # from the folder at once, it lives as long as the two handles.
        handle, path = tempfile.mkstemp(prefix="ldtransform-json-", suffix=".arrows")
        try:
            self._spool = pa.OSFile(path, "wb")
            self._unspool = pa.OSFile(path, "rb")
        finally:
            os.close(handle)
            os.unlink(path)
        try:
            self.layout = self._first_pass()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Drop the spooled blocks."""
        self._spool.close()
        self._unspool.close()

    def _first_pass(self) -> Layout:
        types: dict[str, pa.DataType] = {}
        order: dict[str, None] = {}  # the columns, as the record-by-record path orders them
        firsts: list[tuple[dict[str, Any], list[str]]] = []
        envelope = True
        following = 1  # the number of the next block's first line
        for text, lines, table, offsets in self._parsed():
            first, following = following, following + lines
            numbers = None if offsets is None else [first + i for i in offsets]
            if not table.num_rows:
                continue
            self._hint = _hint(table.schema)
            envelope = envelope and _is_envelope(table.schema)
            table = _flattened(table)
            names = table.schema.names
            if len(set(names)) < len(names):
                raise Unfit("two fields become one column")
            for name, kind in zip(names, table.schema.types, strict=True):
                types[name] = _merged(types[name], kind) if name in types else kind
            firsts.append((orjson.loads(text[:_line_end(text)]), names))
            self._spool_block(table, first, numbers)
        if not self._parts:
            raise Unfit("no records")  # the other path says why there are none
        rename = _envelope_names if envelope else _same_name
        for record, names in firsts:
            try:
                order.update(dict.fromkeys(flatten(record, envelope=envelope)))
            except ValueError as exc:
                raise Unfit(str(exc)) from exc
            order.update(dict.fromkeys(rename(n) for n in names))
        columns = {rename(name): kind for name, kind in types.items()}
        if set(columns) != set(order) or len(columns) < len(types):
            raise Unfit("the columns of the first records differ from the parsed ones")
        # A column (or items) never seen with a value is text.
        schema = pa.schema([pa.field(name, as_text(columns[name], pa.types.is_null))
                            for name in order])
        return Layout(schema, envelope=envelope)

    def _parsed(self) -> Iterator[_Parsed]:
        """The blocks parsed ahead, two at a time on threads, while this one is flattened
        and spooled and the next is read; a block is parsed with the types that blocks a
        few before it settled."""
        return mapped_ahead(lambda block: _parse_block(*block, self._hint, self.recut),
                            self.blocks, _PARSED_AT_ONCE, "ldtransform-json")

    def _spool_block(self, table: pa.Table, first: int, numbers: list[int] | None) -> None:
        offset = self._spool.tell()
        with pa.ipc.new_stream(self._spool, table.schema) as writer:
            writer.write_table(table)
        self._parts.append(_Block(first, numbers, offset, self._spool.tell() - offset))

    def tables(self) -> Iterator[tuple[int, pa.Table]]:
        """Pass 2: (number of the first row, rows that follow on) of the layout's schema."""
        rename = _envelope_names if self.layout.envelope else _same_name
        schema = self.layout.schema
        self._spool.flush()
        try:
            for part in self._parts:
                self._unspool.seek(part.offset)
                table = pa.ipc.open_stream(self._unspool.read_buffer(part.size)).read_all()
                table = table.rename_columns([rename(n) for n in table.schema.names])
                present = set(table.schema.names)
                table = pa.table([table.column(f.name) if f.name in present
                                  else pa.nulls(table.num_rows, f.type) for f in schema],
                                 schema=pa.schema([f if f.name not in present
                                                   else pa.field(f.name,
                                                                 table.schema.field(f.name).type)
                                                   for f in schema])).cast(schema)
                if part.numbers is None:
                    yield part.first, table
                else:
                    yield from _runs(table, part.numbers)
        finally:
            self.close()


#: A block parsed: (its text, lines it spans, its table, each record's line within it
#: unless they follow on from 0).
_Parsed = tuple["bytes | bytearray", int, pa.Table, "list[int] | None"]


def _parse_block(lines: int, text: bytes | bytearray, hint: pa.Schema | None,
                 recut: Callable[[bytes | bytearray], tuple[int, bytes | bytearray] | None]
                 | None) -> _Parsed:
    """:func:`_parse`, and where that finds the block unfit, the block cut again by
    ``recut`` and parsed once more."""
    try:
        return (text, lines, *_parse(lines, text, hint))
    except Unfit:
        again = recut(text) if recut is not None else None
        if again is None:
            raise
    lines, text = again
    return (text, lines, *_parse(lines, text, hint))


def _parse(lines: int, text: bytes | bytearray, hint: pa.Schema | None
           ) -> tuple[pa.Table, list[int] | None]:
    """A block parsed, and its records' places among its lines unless they follow on.
    Fields ``hint`` names are parsed as its types, which saves inferring them; date-like
    text is text."""
    try:
        _check_utf8(text)
        try:
            table = parse_json_lines(text, hint)
        except pa.ArrowInvalid:
            if hint is None:
                raise
            table = parse_json_lines(text)  # the hint does not fit: infer it all
        plain = pa.schema([pa.field(f.name, as_text(f.type, pa.types.is_timestamp))
                           for f in table.schema])
        if not plain.equals(table.schema):
            # Arrow takes date-like text for timestamps; parsed as text, it stays as it is.
            table = parse_json_lines(text, plain, unexpected="error")
    except (UnicodeDecodeError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise Unfit(str(exc)) from exc
    for column, kind in zip(table.columns, table.schema.types, strict=True):
        if _holds_numbers(kind):
            for chunk in column.chunks:
                _check_numbers(chunk, kind)
    numbers = None
    if table.num_rows != lines or not _each_line_opens(text):
        # Blank lines are no records; and Arrow would read two records on one line.
        numbers = [i for i, line in enumerate(bytes(text).split(b"\n"))
                   if line.strip(b" \t\r")]
        if len(numbers) != table.num_rows:
            raise Unfit("a line holds other than one record")
        if numbers == list(range(len(numbers))):
            numbers = None  # lines starting with spaces, none blank
    return table, numbers


def _check_numbers(values: pa.Array, kind: pa.DataType) -> None:
    """Raise where an object has no fields or a number is an integer beyond 2**53 (as
    an integer, text to the record-by-record path once floats share its column; Arrow
    reads integers beyond 2**63 as floats). Only arrays of numbers are looked at."""
    if pa.types.is_struct(kind):
        if not kind.num_fields:
            raise Unfit("an empty object")
        for i, child in enumerate(kind):
            if _holds_numbers(child.type):
                _check_numbers(values.field(i), child.type)
    elif pa.types.is_list(kind):
        if _holds_numbers(kind.value_type):
            _check_numbers(values.flatten(), kind.value_type)
    elif _largest(values) > _EXACT:
        if kind == pa.float64():
            # Only floats without a fraction can have been written as integers.
            values = pc.if_else(pc.equal(pc.floor(values), values), values, 0.0)
            if _largest(values) <= _EXACT:
                return
        raise Unfit("an integer beyond 2**53")


def _largest(values: pa.Array) -> float:
    low, high = pc.min_max(values).values()
    return float(max(abs(low.as_py() or 0), abs(high.as_py() or 0)))


def _holds_numbers(kind: pa.DataType) -> bool:
    if pa.types.is_struct(kind):
        return not kind.num_fields or any(_holds_numbers(f.type) for f in kind)
    if pa.types.is_list(kind):
        return _holds_numbers(kind.value_type)
    return kind in (pa.float64(), pa.int64())


def _each_line_opens(text: bytes | bytearray) -> bool:
    """Whether every line starts with ``{`` (so none is blank)."""
    view = np.frombuffer(text, dtype=np.uint8)
    starts = np.flatnonzero(view[:-1] == _NEWLINE) + 1
    return bool(view[0] == _OPEN and (view[starts] == _OPEN).all()) if len(view) else True


def _check_utf8(text: bytes | bytearray) -> None:
    """Raise unless ``text`` is UTF-8 (Arrow's parser would take invalid bytes into text);
    Arrow checks it in place, where decoding would copy it."""
    data = pa.py_buffer(text)
    offsets = pa.py_buffer(np.array([0, len(text)], dtype=np.int32))
    try:
        pa.Array.from_buffers(pa.string(), 1, [None, offsets, data]).validate(full=True)
    except pa.ArrowInvalid as exc:
        raise Unfit("invalid UTF-8") from exc


def _hint(schema: pa.Schema) -> pa.Schema | None:
    """The fields of ``schema`` whose types are settled, to parse the next block with."""
    fields = [f for f in schema if not _has_null(f.type)]
    return pa.schema(fields) if fields else None


def _has_null(kind: pa.DataType) -> bool:
    if pa.types.is_null(kind):
        return True
    if pa.types.is_list(kind):
        return _has_null(kind.value_type)
    if pa.types.is_struct(kind):
        return any(_has_null(f.type) for f in kind)
    return False


def _line_end(text: bytes | bytearray) -> int:
    end = text.find(b"\n")
    return len(text) if end < 0 else end


def _is_envelope(schema: pa.Schema) -> bool:
    """LD items: ``headers`` and ``data`` objects only (never null: see :func:`_flattened`)."""
    return (sorted(schema.names) == ["data", "headers"]
            and all(pa.types.is_struct(kind) for kind in schema.types))


def _flattened(table: pa.Table) -> pa.Table:
    """Nested objects spread into dotted columns. A null object, and one that may be
    empty (all its fields null), are :class:`Unfit`: the other path makes a column of
    each, and Arrow none."""
    if _may_be_empty(table.columns):
        raise Unfit("a record may be empty")
    while any(pa.types.is_struct(kind) for kind in table.schema.types):
        for column, kind in zip(table.columns, table.schema.types, strict=True):
            if not pa.types.is_struct(kind):
                continue
            if column.null_count:
                raise Unfit("a null object")
            fields = [pa.chunked_array([chunk.field(i) for chunk in column.chunks],
                                       type=kind.field(i).type)
                      for i in range(kind.num_fields)]
            if _may_be_empty(fields):
                raise Unfit("an object may be empty")
        table = table.flatten()
    return table


def _may_be_empty(columns: list[pa.ChunkedArray]) -> bool:
    """Whether some row has every one of ``columns`` null (or there are none)."""
    if not columns:
        return True
    if not all(column.null_count for column in columns):
        return False
    together = pc.is_null(columns[0])
    for column in columns[1:]:
        together = pc.and_(together, pc.is_null(column))
    return bool(pc.any(together).as_py())


def _envelope_names(name: str) -> str:
    if name.startswith("headers."):
        return HEADERS_PREFIX + name.removeprefix("headers.")
    return name.removeprefix("data.")


def _same_name(name: str) -> str:
    return name


_KNOWN = (pa.null(), pa.bool_(), pa.int64(), pa.float64(), pa.string())


def _merged(a: pa.DataType, b: pa.DataType) -> pa.DataType:
    """The type holding the values of both, as the record-by-record path decides it."""
    if a == b and not (pa.types.is_list(a) or pa.types.is_struct(a)):
        if a not in _KNOWN:
            raise Unfit(f"an unexpected type {a}")
        return a
    if pa.types.is_null(a):
        return _merged(b, b)
    if pa.types.is_null(b):
        return _merged(a, a)
    if {a, b} == {pa.int64(), pa.float64()}:
        return pa.float64()
    if pa.types.is_list(a) and pa.types.is_list(b):
        return pa.list_(_merged(a.value_type, b.value_type))
    if pa.types.is_struct(a) and pa.types.is_struct(b):
        fields = {f.name: f.type for f in a}
        for f in b:
            fields[f.name] = _merged(fields[f.name], f.type) if f.name in fields else f.type
        return pa.struct([pa.field(name, _merged(kind, kind)) for name, kind in fields.items()])
    raise Unfit(f"values of types {a} and {b} in one column")




def _runs(table: pa.Table, numbers: list[int]) -> Iterator[tuple[int, pa.Table]]:
    """Slices of ``table`` whose records' numbers follow on."""
    start = 0
    for i in range(1, len(numbers) + 1):
        if i == len(numbers) or numbers[i] != numbers[i - 1] + 1:
            yield numbers[start], table.slice(start, i - start)
            start = i


def batches_of_size(tables: Iterable[tuple[int, pa.Table]], size: int
                    ) -> Iterator[tuple[int, pa.RecordBatch]]:
    """Batches of ``size`` rows (fewer where numbers do not follow on, and at the end)."""
    pending: pa.Table | None = None
    first = 0
    for number, table in tables:
        if not table.num_rows:
            continue
        if pending is not None and number != first + pending.num_rows:
            if pending.num_rows:
                yield first, _one_batch(pending)
            pending = None
        if pending is None:
            pending, first = table, number
        else:
            pending = pa.concat_tables([pending, table])
        while pending.num_rows >= size:
            yield first, _one_batch(pending.slice(0, size))
            pending, first = pending.slice(size), first + size
    if pending is not None and pending.num_rows:
        yield first, _one_batch(pending)


def _one_batch(table: pa.Table) -> pa.RecordBatch:
    return table.combine_chunks().to_batches()[0]
