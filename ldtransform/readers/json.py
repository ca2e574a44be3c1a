"""JSON readers: a top-level array of records (``json``) and one record a line (``jsonl``).

Both stream with bounded memory and read a path twice: the first pass learns every
column and its type (so Frames has its schema before the first batch), the second builds
batches. Unseekable streams are spooled to a temporary file first. Nested objects become
dotted columns, lists stay list columns, and LD item files (``{"headers": ..., "data":
...}`` records) are unwrapped so the data fields are the columns (see :mod:`._jsonflat`).
"""

from __future__ import annotations

import codecs
import gzip
import json
import os
import re
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO, ClassVar

import orjson
import pyarrow as pa

from ldtransform.errors import ConfigError, EncodingError, ReadError
from ldtransform.frames import Frames
from ldtransform.protocols import Source
from ldtransform.readers._jsonflat import FlattenError, Inference, Layout, build_batch, flatten

__all__ = ["JsonLinesReader", "JsonReader"]

#: Bytes read at a time by the array reader (tests shrink it to cut elements anywhere).
_CHUNK_BYTES = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = codecs.BOM_UTF8
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODE = json.JSONDecoder().raw_decode
#: The stdlib decoder's words, put the way a person fixing the file needs them.
_PROBLEMS = {
    "Expecting value": "expected a value (string, number, object, array, true, false, null)",
    "Expecting ',' delimiter": "expected ',' or a closing bracket",
    "Expecting ':' delimiter": "expected ':' after a property name",
    "Expecting property name enclosed in double quotes":
        "expected a property name in double quotes (JSON allows no trailing comma)",
    "Unterminated string starting at": "a string is never closed",
    "Invalid control character at": "a raw control character (newline, tab, ...) inside "
                                    "a string; it must be escaped",
    "Invalid \\escape": "invalid backslash escape in a string",
    "Invalid \\uXXXX escape": "invalid \\uXXXX escape in a string",
    "Extra data": "more data after the value",
}
_SYNTAX_HINT = "Check for a missing comma, quote or bracket at that place"


def _syntax_problem(message: str, text: str, pos: int) -> str:
    """A decoder message in plain words, with the text around ``pos``."""
    start = max(text.rfind("\n", 0, pos) + 1, pos - 30)
    end = text.find("\n", pos)
    near = text[start:min(pos + 30, len(text) if end < 0 else end)]
    return f"{_PROBLEMS.get(message, message)}; near {near!r}"


@dataclass
class _Opened:
    """A decompressed stream positioned after any UTF-8 BOM, and what was detected."""

    stream: IO[bytes]
    codec: str
    encoding: str
    compression: str | None


class _Input:
    """A source that can be streamed from its start more than once."""

    def __init__(self, source: Source, encoding: str) -> None:
        self._encoding = encoding
        self._path: Path | None = None
        self._file: IO[bytes] | None = None
        if isinstance(source, str | os.PathLike):
            self._path = Path(source)
            self.name = str(source)
            return
        name = getattr(source, "name", None)
        self.name = name if isinstance(name, str) else "<stream>"
        if source.seekable():
            self._file, self._start, self._owned = source, source.tell(), False
        else:
            # Two passes need the bytes twice: spool once, to disk, not to memory.
            self._file, self._start, self._owned = tempfile.TemporaryFile(), 0, True
            shutil.copyfileobj(source, self._file)

    def close(self) -> None:
        """Drop the spooled copy, if any (never the caller's own file)."""
        if self._file is not None and self._owned:
            self._file.close()

    @contextmanager
    def open(self) -> Iterator[_Opened]:
        """The decompressed bytes from the start, with the encoding to read them in."""
        if self._path is not None:
            try:
                raw: IO[bytes] = self._path.open("rb")
            except OSError as exc:
                raise ReadError(f"cannot open the file: {exc.strerror or exc}",
                                source=self.name) from exc
        else:
            assert self._file is not None
            raw = self._file
            raw.seek(self._start)
        try:
            yield self._decompressed(raw)
        finally:
            if self._path is not None:
                raw.close()

    def _decompressed(self, raw: IO[bytes]) -> _Opened:
        start = raw.tell()
        magic = raw.read(2)
        raw.seek(start)
        compression = None
        stream: IO[bytes] = raw
        if magic == _GZIP_MAGIC or self.name.lower().endswith(".gz"):
            compression, stream = "gzip", gzip.GzipFile(fileobj=raw, mode="rb")
        head = _guard(lambda: stream.read(4), self.name)
        codec, encoding = _resolve_encoding(self._encoding, head)
        if compression is None:
            raw.seek(start)
        else:
            stream = gzip.GzipFile(fileobj=raw, mode="rb") if raw.seek(start) >= 0 else stream
        if codec == "utf-8" and head.startswith(_UTF8_BOM):
            stream.read(len(_UTF8_BOM))
        return _Opened(stream, codec, encoding, compression)


def _guard(read: Any, source: str) -> Any:
    """Call ``read``, turning decompression and I/O failures into :class:`ReadError`."""
    try:
        return read()
    except (OSError, EOFError, zlib.error) as exc:
        raise ReadError(f"cannot read the data: {exc}", source=source,
                        hint="A .gz file may be truncated or not gzip at all") from exc


def _resolve_encoding(requested: str, head: bytes) -> tuple[str, str]:
    """(codec to decode with, encoding to report) for ``requested`` and the first bytes."""
    if requested == "auto":
        requested = _sniff(head)
    codec = codecs.lookup(requested).name
    if codec in ("utf-8", "utf-8-sig"):
        # BOM-aware UTF-8: the BOM is skipped before decoding, so offsets stay exact.
        return "utf-8", "utf-8-sig" if head.startswith(_UTF8_BOM) else "utf-8"
    return codec, codec


def _sniff(head: bytes) -> str:
    """JSON's own encodings (RFC 4627): by BOM, else by where the zero bytes are."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    zeros = tuple(byte == 0 for byte in head[:4])
    return {
        (True, True, True, False): "utf-32-be",
        (False, True, True, True): "utf-32-le",
    }.get(zeros) or {(True, False): "utf-16-be", (False, True): "utf-16-le"}.get(
        zeros[:2], "utf-8")
