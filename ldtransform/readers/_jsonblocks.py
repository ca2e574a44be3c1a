"""Cutting JSON input into blocks of JSON Lines at record boundaries, for Arrow's parser.

Arrow's JSON parser reads JSON Lines at native speed, a block at a time. JSON Lines input
is cut at line ends. A JSON array laid out one element per line (``[``, then ``{...},``
lines, then ``]``) becomes JSON Lines once each line's trailing comma is blanked out: a
raw line break cannot sit inside a JSON string, so its lines are its elements' text. An
array laid out any other way (pretty-printed, all on one line) is read element by element
with the array scanner and its elements written out as JSON Lines; so is the rest of an
array that stops being one element per line part-way.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import IO

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.json as pajson

from ldtransform.errors import ReadError
from ldtransform.readers.jsonscan import ArrayScanner, kind_of

__all__ = ["BLOCK_BYTES", "Block", "array_blocks", "line_blocks", "parse_json_lines"]

#: Bytes of records parsed at a time: tens of thousands of records, bounded memory.
BLOCK_BYTES = 8 << 20

#: (number of records, their text as JSON Lines).
Block = tuple[int, "bytes | bytearray"]
Opener = Callable[[], AbstractContextManager[IO[bytes]]]
_PARSE_BLOCK = 1 << 20  # what Arrow hands each thread
_NEWLINE, _COMMA, _SPACE, _OPEN, _CLOSE = b"\n, {}"


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
        head = stream.readline()
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


def parse_json_lines(text: bytes | bytearray, schema: pa.Schema | None = None, *,
                     unexpected: str = "infer") -> pa.Table:
    """A block of JSON Lines as a table, on Arrow's threads; fields of ``schema`` have its
    types, others are inferred (or, with ``unexpected="error"``, refused)."""
    parse = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior=unexpected)
    try:
        read = pajson.ReadOptions(block_size=max(_PARSE_BLOCK, len(text) // 4 + 1))
        return pajson.read_json(pa.BufferReader(text), read_options=read, parse_options=parse)
    except pa.ArrowInvalid as exc:
        if "straddl" not in str(exc):
            raise
    # A record longer than Arrow's part of the block: the whole block as one part.
    read = pajson.ReadOptions(block_size=len(text) + 1)
    return pajson.read_json(pa.BufferReader(text), read_options=read, parse_options=parse)
