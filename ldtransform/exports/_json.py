"""JSON result files: arrays of item envelopes, parsed a block of items at a time.

The server writes one element per line (``[``, then ``{...},`` lines, then ``]``): cut at
line ends and stripped of the separators, a block of such a file is JSON Lines, which
Arrow's JSON parser turns into columns at native speed. A file laid out any other way
(pretty-printed, all on one line) is read element by element with the toolkit's array
scanner, and its elements handed to the same parser; so is the rest of a file that stops
being one element per line part-way.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from ldtransform.errors import ReadError
from ldtransform.readers._jsonblocks import (
    BLOCK_BYTES,
    Block,
    array_blocks,
    parse_json_lines,
)

__all__ = ["BLOCK_BYTES", "Block", "first_item", "ndjson_blocks", "parse_block"]

def ndjson_blocks(path: Path, block_bytes: int | None = None) -> Iterator[Block]:
    """The elements of the JSON array in ``path`` as blocks of JSON Lines of about
    ``block_bytes`` (default :data:`BLOCK_BYTES`), in order, each with the number of
    elements (lines) it holds."""
    for block in array_blocks(lambda: path.open("rb"), str(path), block_bytes or BLOCK_BYTES):
        assert block is not None  # scanned, never given up
        yield block


def parse_block(block: Block, schema: pa.Schema, source: str, first_item: int) -> pa.Table:
    """Items of a JSON Lines block as a table of ``headers`` and ``data`` structs; fields
    of ``schema`` have its types, others are inferred."""
    count, text = block
    try:
        return parse_json_lines(text, schema, unexpected="infer")
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
