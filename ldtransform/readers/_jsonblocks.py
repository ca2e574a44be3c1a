"""Cutting JSON input into blocks of JSON Lines at record boundaries, for Arrow's parser.

Arrow's JSON parser reads JSON Lines at native speed, a block at a time. JSON Lines input
is cut at line ends. A JSON array laid out one element per line (``[``, then ``{...},``
lines, then ``]``) becomes JSON Lines once each line's trailing comma is blanked out: a
raw line break cannot sit inside a JSON string, so its lines are its elements' text. An
array laid out any other way (pretty-printed, all on one line) is cut where its
structure says, outside strings (:func:`split_array_blocks`), or read element by element
with the array scanner and its elements written out as JSON Lines.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import IO

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.json as pajson

from ldtransform.errors import ReadError
from ldtransform.readers.jsonscan import ArrayScanner, kind_of

__all__ = [
    "BLOCK_BYTES",
    "Block",
    "array_blocks",
    "as_text",
    "line_blocks",
    "parse_json_lines",
    "recut_elements",
    "split_array_blocks",
]

#: Bytes of records parsed at a time: tens of thousands of records, bounded memory.
BLOCK_BYTES = 8 << 20

#: (number of records, their text as JSON Lines).
Block = tuple[int, "bytes | bytearray"]
Opener = Callable[[], AbstractContextManager[IO[bytes]]]
_PARSE_BLOCK = 1 << 20  # what Arrow hands each thread
_NEWLINE, _COMMA, _SPACE, _OPEN, _CLOSE, _RETURN, _TAB = b"\n, {}\r\t"


def line_blocks(stream: IO[bytes], block_bytes: int | None = None) -> Iterator[bytearray]:
    """Whole lines of ``stream`` (a UTF-8 byte order mark dropped), about ``block_bytes``
    at a time; the last block may lack its final line break."""
    block_bytes = block_bytes or BLOCK_BYTES
    rest = stream.read(len(codecs.BOM_UTF8)).removeprefix(codecs.BOM_UTF8)
    while chunk := stream.read(block_bytes):
        # One buffer, cut in place: a block costs twice its size at most.
        data = bytearray(rest)
        data += chunk
        del chunk
        cut = data.rfind(b"\n") + 1
        rest = bytes(data[cut:])
        del data[cut:]
        if data:
            yield data
    if rest:
        yield bytearray(rest)


def array_blocks(open_stream: Opener, source: str, block_bytes: int | None = None,
                 *, scan: bool = True) -> Iterator[Block | None]:
    """The elements of the JSON array that ``open_stream()`` streams (from its start), as
    blocks of JSON Lines, in order. A layout other than one element per line is scanned
    (reopening the stream) or, without ``scan``, ends the blocks with a ``None``."""
    block_bytes = block_bytes or BLOCK_BYTES
    done = 0
    with open_stream() as stream:
        head = stream.readline(4096)  # not a whole array on one line
        if head.removeprefix(codecs.BOM_UTF8).strip() == b"[":
            for block in _element_line_blocks(stream, block_bytes):
                if block is None:
                    break  # not one element per line after all: scan from here
                done += block[0]
                yield block
            else:
                return
    if not scan:
        yield None
        return
    yield from _scanned_blocks(open_stream, source, done, block_bytes)


def _element_line_blocks(stream: IO[bytes], block_bytes: int) -> Iterator[Block | None]:
    """Blocks of whole lines after the ``[`` line as JSON Lines; None when a block is not
    one element per line, or not followed by a comma but the last."""
    blocks = line_blocks(stream, block_bytes)
    for data in blocks:
        # Elements' lines end with '}' or '},': a block ending with ']' is the last.
        tail = data[-256:].rstrip()  # not a copy of the whole block
        end = len(data) - len(data[-256:]) + len(tail) if tail else len(data.rstrip())
        last = data[end - 1:end] == b"]"
        if last:
            if any(following.strip() for following in blocks):
                yield None
                return
            del data[len(data[:end - 1].rstrip()):]
            data += b"\n" if data else b""
        if data:
            block = _as_json_lines(data, last=last)
            yield block
            if block is None:
                return
        if last:
            return
    yield None  # the closing ']' is missing


def _as_json_lines(text: bytearray, *, last: bool) -> Block | None:
    """Whole lines, each one element and a comma (but the ``last`` block's last line), as
    JSON Lines in place (the comma blanked out), with their count; None unless every line
    starts with ``{`` and ends with ``}`` and its comma. Arrow's parser says if a line
    holds more than one object."""
    view = np.frombuffer(text, dtype=np.uint8)
    ends = np.flatnonzero(view == _NEWLINE)
    starts = np.concatenate(([0], ends[:-1] + 1))
    before = ends - 1
    if (before < starts).any():
        return None  # an empty line
    comma = view[before] == _COMMA
    if not (comma[:-1].all() and comma[-1] != last):
        return None  # a comma missing, or after the last element
    view[before[comma]] = _SPACE
    before[comma] -= 1
    if not ((view[starts] == _OPEN).all() and (view[before] == _CLOSE).all()):
        return None
    return len(ends), text


def _scanned_blocks(open_stream: Opener, source: str, skip: int, block_bytes: int
                    ) -> Iterator[Block]:
    """Elements after the first ``skip``, through the array scanner, as JSON Lines."""
    lines: list[bytes] = []
    size = 0
    with open_stream() as stream:
        scanner = ArrayScanner(stream, "utf-8-sig", source)
        for index, value in scanner.elements():
            if index <= skip:
                continue
            if type(value) is not dict:
                raise ReadError(f"element {index} is {kind_of(value)}, not an item object",
                                source=source, line=scanner.element_line())
            line = orjson.dumps(value, option=orjson.OPT_APPEND_NEWLINE)
            lines.append(line)
            size += len(line)
            if size >= block_bytes:
                yield len(lines), b"".join(lines)
                lines, size = [], 0
    if lines:
        yield len(lines), b"".join(lines)


def _part_size(size: int) -> int:
    """What Arrow hands each thread of a block of ``size`` bytes: parts of about
    ``_PARSE_BLOCK``, at most four, of about equal size (an eighth more, for the line a
    part ends short of), so that none is left with a few records at the end."""
    parts = min(4, max(1, -(-size // _PARSE_BLOCK)))
    return size // parts + size // (parts * 8) + 1


def parse_json_lines(text: bytes | bytearray, schema: pa.Schema | None = None, *,
                     unexpected: str = "infer") -> pa.Table:
    """A block of JSON Lines as a table, on Arrow's threads; fields of ``schema`` have its
    types, others are inferred (or, with ``unexpected="error"``, refused)."""
    parse = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior=unexpected)
    try:
        read = pajson.ReadOptions(block_size=_part_size(len(text)))
        try:
            return pajson.read_json(pa.BufferReader(text), read_options=read,
                                    parse_options=parse)
        except pa.ArrowNotImplementedError:
            # Arrow's threads, merging the types their parts inferred, at times give up
            # on one part (a list of records, which a part held only empty) and not
            # at others: one thread, in order, decides for sure.
            read.use_threads = False
            return pajson.read_json(pa.BufferReader(text), read_options=read,
                                    parse_options=parse)
    except pa.ArrowInvalid as exc:
        if "straddl" not in str(exc):
            raise
    # A record longer than Arrow's part of the block: the whole block as one part.
    read = pajson.ReadOptions(block_size=len(text) + 1)
    return pajson.read_json(pa.BufferReader(text), read_options=read, parse_options=parse)


#: The bytes the array splitter looks at; each is picked out by comparing the whole block
#: with it (vectorised), far cheaper than looking every byte up in a table.
_MARKED = b'"\\{}[],\n'
_WHITESPACE = b" \t\r\n"
_QUOTE, _BACKSLASH, _OPEN_LIST, _CLOSE_LIST = b'"\\[]'


def split_array_blocks(stream: IO[bytes], block_bytes: int | None = None
                       ) -> Iterator[Block | None]:
    """The elements of the JSON array in ``stream``, laid out in any way (pretty-printed,
    all on one line), as blocks of JSON Lines, each element on a line from its ``{``.
    Ends with a ``None`` where the text is not such an array (a raw line break in a
    string, a missing ``]``...): the array scanner says what is wrong.

    The first block is cut where the array's structure says (:func:`_split_elements`),
    and from the way its first two elements are set apart the rest is cut where that
    same text recurs (:class:`_Separator`), which costs a few passes of bytes methods.
    Such a cut is a guess: where it is wrong, Arrow's parser cannot read the block as
    one element per line, and :func:`recut_elements` cuts the block again."""
    block_bytes = block_bytes or BLOCK_BYTES
    head = stream.read(len(codecs.BOM_UTF8)).removeprefix(codecs.BOM_UTF8)
    head += stream.read(max(0, 64 - len(head)))
    start = len(head) - len(head.lstrip())
    if head[start:start + 1] != b"[":
        yield None
        return
    data = bytearray(head[start + 1:])  # from just after '[' or a comma, or at a '{'
    separator: _Separator | None = None
    while True:
        chunk = stream.read(block_bytes)
        if separator is not None and chunk:
            last = chunk.rfind(separator.text)
            if last >= 0:
                # What was left over and the chunk up to its last separator, copied once.
                data += memoryview(chunk)[:last + separator.close]
                yield separator.block(data)
                data = bytearray(memoryview(chunk)[last + separator.open:])
                continue
            data += chunk
            if len(data) <= 4 * block_bytes:
                continue  # no element ends here yet
        else:
            data += chunk
        # The first elements, the last ones, and any long run without the separator:
        original = bytes(data) if separator is None else b""
        split = _split_elements(data)
        if split is None:
            yield None
            return
        block, rest, closed = split
        if block[0]:
            yield block
        if closed:
            if rest.strip() or stream.read(1 << 16).strip():
                yield None  # more after the closing ']'
            return
        if not chunk:
            yield None  # the closing ']' is missing
            return
        separator = separator or _Separator.learned(original, block[1])
        data = rest


def recut_elements(text: bytes | bytearray) -> Block | None:
    """A block of an array's elements, one per line as far as a guess went (lines end
    only where elements were taken to), cut where the array's structure says."""
    data = bytearray(text.rstrip(b"\n").replace(b"\n", b","))
    data += b"]"
    split = _split_elements(data)
    if split is None:
        return None
    block, rest, closed = split
    return block if closed and not rest.strip() else None


def _tabs_for_line_breaks(text: bytearray, where: np.ndarray) -> None:
    """Line breaks (and carriage returns) between tokens become tabs, in place:
    whitespace there, and a control character Arrow's parser refuses inside a string, as
    a raw line break is. A tab is one below a line break, so a subtraction does it
    (bytes.translate would copy the block and look up every byte). ``where`` is room for
    a flag per byte."""
    view = np.frombuffer(text, dtype=np.uint8)
    if b"\n" in text:
        view -= np.equal(view, _NEWLINE, out=where)
    if b"\r" in text:
        view[np.equal(view, _RETURN, out=where)] = _TAB


class _Separator:
    """The text between one element's ``}`` and the next one's ``{`` (with the next
    element's first key where that is all on one line, so that lists of records within
    elements look different), taken to recur between every two elements.

    Where it recurs, it is outside strings: it holds a line break, which a string cannot,
    or a quote right after its ``{``, which in a string would have been escaped. Where it
    recurs within an element, or some elements are set apart otherwise, a block's lines
    are not one element each, and Arrow's parser says so."""

    _FIRST_KEY = re.compile(rb'[ \t\r\n]*"[^"\\\n]*"[ \t\r\n]*:')

    def __init__(self, text: bytes, close: int, open_: int) -> None:
        self.text = text
        self.close = close  # just after its '}'
        self.open = open_  # at its '{'
        self.comma = text.index(b",", close)
        self._bytes = np.frombuffer(text, dtype=np.uint8)
        self._flags = np.empty(0, dtype=bool)  # kept from block to block: no page faults

    def _flags_for(self, view: np.ndarray) -> np.ndarray:
        """Room for a flag per byte of ``view``."""
        if len(self._flags) < len(view):
            self._flags = np.empty(len(view) + (len(view) >> 2), dtype=bool)
        return self._flags[:len(view)]

    @classmethod
    def learned(cls, original: bytes, lines: bytes | bytearray) -> _Separator | None:
        """The separator between the first two elements of ``original`` (the text after
        ``[``), which :func:`_split_elements` made into ``lines``; None unless there
        are two elements to learn from."""
        first = len(original) - len(original.lstrip(_WHITESPACE))
        line = lines.find(b"\n")
        if line < 0 or line + 1 >= len(lines):
            return None
        opened = first + line + 1  # the second element's '{'
        end = original.rfind(b"}", 0, opened)
        begin = original.rfind(b"\n", 0, end) + 1
        if original[begin:end].strip(_WHITESPACE):
            begin = end  # the '}' ends a line with more on it
        elif begin:
            begin -= 1  # the line break and the indentation before the '}'
        text = original[begin:opened + 1]
        if b"\n" not in text[text.index(b"}"):]:
            key = cls._FIRST_KEY.match(original, opened + 1)
            if key is None:
                return None
            text += key.group()
        return cls(text, text.index(b"}") + 1, opened - begin)

    def block(self, elements: bytearray) -> Block:
        """Whole elements (from a ``{``, or whitespace before it) as JSON Lines, cut where
        the separator is."""
        head = bytes(elements[:256])  # whitespace before the first '{': a separator's
        del elements[:len(head) - len(head.lstrip(_WHITESPACE))]
        places = self._places(elements)
        view = np.frombuffer(elements, dtype=np.uint8)
        _tabs_for_line_breaks(elements, self._flags_for(view))
        view[places + self.comma] = _SPACE
        view[places + self.open - 1] = _NEWLINE  # each element's line starts at '{'
        del view
        elements += b"\n"
        return len(places) + 1, elements

    def _places(self, text: bytearray) -> np.ndarray:
        """Where the separator starts in ``text``, never overlapping: the places of its
        '}', kept where every other byte matches too (a '}' is a few per element)."""
        view = np.frombuffer(text, dtype=np.uint8)
        brace = self.close - 1
        places = np.flatnonzero(np.equal(view, _CLOSE, out=self._flags_for(view))) - brace
        places = places[(places >= 0) & (places <= len(view) - len(self.text))]
        for i, byte in enumerate(self._bytes):
            if i != brace:
                places = places[view[places + i] == byte]
        if len(places) > 1 and (np.diff(places) < len(self.text)).any():
            # Overlapping matches: keep the leftmost of each run, as bytes.replace would.
            kept = [int(places[0])]
            for place in places[1:].tolist():
                if place >= kept[-1] + len(self.text):
                    kept.append(place)
            places = np.array(kept, dtype=places.dtype)
        return places


def _split_elements(data: bytearray) -> tuple[Block, bytearray, bool] | None:
    """The whole elements at the start of ``data`` (which starts outside any string,
    just after ``[`` or a comma between elements) as JSON Lines, each line one element
    from its ``{``; what follows them; and whether the array's ``]`` was found.

    One pass over the bytes picks out those that matter (quotes, backslashes, brackets,
    commas, line breaks); everything else works on those few."""
    view = np.frombuffer(data, dtype=np.uint8)
    marked = view == _MARKED[0]
    for byte in _MARKED[1:]:
        marked |= view == byte
    marks = np.flatnonzero(marked)
    del marked
    kinds = view[marks]
    quotes = kinds == _QUOTE
    # A quote right after a backslash is escaped if an odd number of them precede it.
    for i in np.flatnonzero(quotes[1:] & (kinds[:-1] == _BACKSLASH)
                            & (marks[1:] == marks[:-1] + 1)).tolist():
        if _backslashes_before(data, int(marks[i + 1])) % 2:
            quotes[i + 1] = False
    inside = (np.cumsum(quotes, dtype=np.int32) & 1).astype(bool)  # within a string
    if (inside & (kinds == _NEWLINE)).any():
        return None  # a raw line break in a string: not JSON
    structure = ~inside & ~quotes & (kinds != _BACKSLASH) & (kinds != _NEWLINE)
    places = marks[structure]
    chars = kinds[structure]
    step = ((chars == _OPEN) | (chars == _OPEN_LIST)).astype(np.int32) \
        - ((chars == _CLOSE) | (chars == _CLOSE_LIST))
    depth = np.cumsum(step) - step  # the depth each mark is at, 0 inside the array
    top = depth == 0
    ends = places[top & (chars == _CLOSE_LIST)]
    commas = places[top & (chars == _COMMA)]
    closed = bool(len(ends))
    if closed:
        cut = int(ends[0])
        commas = commas[commas < cut]
    elif len(commas):
        cut = int(commas[-1])
        commas = commas[:-1]
    else:
        return (0, b""), data, False  # no element ends here yet
    if depth.min(initial=0) < 0:
        return None  # a bracket closes more than was opened
    opens = places[top & (chars == _OPEN)]
    opens = opens[opens < cut]
    if len(opens) != len(commas) + 1 and (len(opens) or len(commas)):
        return None  # an element is not one object, or missing
    rest = data[cut + 1:]
    if not len(opens):
        if data[:cut].strip():
            return None  # a value that is not an object
        return (0, b""), rest, closed
    # Between a comma and the next element's '{' there may be only whitespace: the comma
    # becomes a space, and that '{' starts a line.
    if data[:opens[0]].strip(_WHITESPACE) or not np.isin(
            view[opens[1:] - 1], np.frombuffer(_WHITESPACE + b",", dtype=np.uint8)).all():
        return None
    breaks = marks[(kinds == _NEWLINE) & ~inside]
    view[breaks[breaks < cut]] = _SPACE
    view[commas] = _SPACE
    view[opens[1:] - 1] = _NEWLINE
    del view
    text = data[int(opens[0]):cut]
    text += b"\n"
    return (len(opens), text), rest, closed


def _backslashes_before(data: bytearray, end: int) -> int:
    start = end
    while start and data[start - 1] == _BACKSLASH:
        start -= 1
    return end - start


def as_text(kind: pa.DataType, replaced: Callable[[pa.DataType], bool]) -> pa.DataType:
    """``kind`` with every type ``replaced`` says so of turned into text, also inside lists
    and records (Arrow's JSON parser takes date-like text for timestamps, and a column it
    saw no value of for null)."""
    if replaced(kind):
        return pa.string()
    if pa.types.is_list(kind):
        return pa.list_(as_text(kind.value_type, replaced))
    if pa.types.is_struct(kind):
        return pa.struct([pa.field(f.name, as_text(f.type, replaced)) for f in kind])
    return kind
