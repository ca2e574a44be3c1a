"""JSON result files: arrays of item envelopes, parsed a block of items at a time.

The server writes one element per line (``[``, then ``{...},`` lines, then ``]``): cut at
line ends and stripped of the separators, a block of such a file is JSON Lines, which
Arrow's JSON parser turns into columns at native speed. A file laid out any other way
(pretty-printed, all on one line) is read element by element with the toolkit's array
scanner, and its elements handed to the same parser; so is the rest of a file that stops
being one element per line part-way.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.json as pajson

from ldtransform.errors import ReadError
from ldtransform.readers.jsonscan import ArrayScanner, kind_of

__all__ = ["BLOCK_BYTES", "Block", "first_item", "ndjson_blocks", "parse_block"]

#: Bytes of items parsed at a time: a few thousand items, bounded memory at any size.
BLOCK_BYTES = 8 << 20
_PARSE_BLOCK = 1 << 20  # what Arrow hands each thread


Block = tuple[int, "bytes | bytearray"]
_NEWLINE, _COMMA, _SPACE, _OPEN, _CLOSE = b"\n, {}"


def ndjson_blocks(path: Path, block_bytes: int | None = None) -> Iterator[Block]:
    """The elements of the JSON array in ``path`` as blocks of JSON Lines of about
    ``block_bytes`` (default :data:`BLOCK_BYTES`), in order, each with the number of
    elements (lines) it holds."""
    block_bytes = block_bytes or BLOCK_BYTES
    done = 0
    with path.open("rb") as stream:
        head = stream.read(4)
        start = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
        stream.seek(start)
        if stream.readline().strip() == b"[":
            for block in _line_blocks(stream, block_bytes):
                if block is None:
                    break  # not one element per line after all: scan from here
                done += block[0]
                yield block
            else:
                return
    yield from _scanned_blocks(path, done, block_bytes)


def _line_blocks(stream: Any, block_bytes: int) -> Iterator[Block | None]:
    """Blocks of whole lines after the ``[`` line as JSON Lines; None when a block is not
    one element per line."""
    rest = b""
    chunk = stream.read(block_bytes)
    while chunk:
        following = stream.read(block_bytes)
        data = rest + chunk
        if following:
            cut = data.rfind(b"\n") + 1
            data, rest = data[:cut], data[cut:]
        else:
            data = data.rstrip()
            if not data.endswith(b"]"):
                yield None
                return
            data = data[:-1].rstrip()
            data = data + b"\n" if data else b""
        if data:
            block = _as_json_lines(data)
            yield block
            if block is None:
                return
        chunk = following


def _as_json_lines(data: bytes) -> Block | None:
    """Whole lines, each one element and a comma, as JSON Lines (the comma blanked out),
    with their count; None unless every line starts with ``{`` and ends with ``}`` or
    ``},``. Arrow's parser says if a line holds more than one object. (A raw line break
    cannot be inside a JSON string, so lines are elements' text.)"""
    text = bytearray(data)
    view = np.frombuffer(text, dtype=np.uint8)
    ends = np.flatnonzero(view == _NEWLINE)
    starts = np.concatenate(([0], ends[:-1] + 1))
    last = ends - 1
    comma = view[last] == _COMMA
    view[last[comma]] = _SPACE
    last[comma] -= 1
    if not ((view[starts] == _OPEN).all() and (view[last] == _CLOSE).all()):
        return None
    return len(ends), text


def _scanned_blocks(path: Path, skip: int, block_bytes: int) -> Iterator[Block]:
    """Elements after the first ``skip``, through the array scanner, as JSON Lines."""
    lines: list[bytes] = []
    size = 0
    with path.open("rb") as stream:
        scanner = ArrayScanner(stream, "utf-8-sig", str(path))
        for index, value in scanner.elements():
            if index <= skip:
                continue
            if type(value) is not dict:
                raise ReadError(f"element {index} is {kind_of(value)}, not an item object",
                                source=str(path), line=scanner.element_line())
            line = orjson.dumps(value, option=orjson.OPT_APPEND_NEWLINE)
            lines.append(line)
            size += len(line)
            if size >= block_bytes:
                yield len(lines), b"".join(lines)
                lines, size = [], 0
    if lines:
        yield len(lines), b"".join(lines)


def parse_block(block: Block, schema: pa.Schema, source: str, first_item: int) -> pa.Table:
    """Items of a JSON Lines block as a table of ``headers`` and ``data`` structs; fields
    of ``schema`` have its types, others are inferred."""
    count, text = block
    parse = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
    try:
        try:
            read = pajson.ReadOptions(block_size=max(_PARSE_BLOCK, len(text) // 4 + 1))
            return pajson.read_json(pa.BufferReader(text), read_options=read,
                                    parse_options=parse)
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc):
                raise
            # An item longer than Arrow's part of the block: the whole block as one part.
            read = pajson.ReadOptions(block_size=len(text) + 1)
            return pajson.read_json(pa.BufferReader(text), read_options=read,
                                    parse_options=parse)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        last = first_item + count - 1
        raise ReadError(f"items {first_item}-{last}: {exc}", source=source,
                        hint="A value does not have the type the schema gives its field; "
                        "pass the schema of the item type exported") from exc


def first_item(block: Block) -> dict[str, Any]:
    """The first element of a block."""
    text = block[1]
    value = orjson.loads(text[:text.index(b"\n")])
    return value if isinstance(value, dict) else {}
