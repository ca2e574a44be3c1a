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
import io
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
        with _reading(self.name):
            head = raw.read(4)
        raw.seek(start)
        compression = None
        stream: IO[bytes] = raw
        if head.startswith(_GZIP_MAGIC) or self.name.lower().endswith(".gz"):
            gzipped = gzip.GzipFile(fileobj=raw, mode="rb")
            compression, stream = "gzip", gzipped
            with _reading(self.name):
                head = gzipped.peek(4)[:4]
        codec, encoding = _resolve_encoding(self._encoding, head)
        if codec == "utf-8" and head.startswith(_UTF8_BOM):
            stream.read(len(_UTF8_BOM))
        return _Opened(stream, codec, encoding, compression)


@contextmanager
def _reading(source: str) -> Iterator[None]:
    """Turn decompression and I/O failures inside the block into :class:`ReadError`."""
    try:
        yield
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


class _ArrayScanner:
    """The elements of a top-level JSON array, decoded one by one from a byte stream.

    Text is decoded into a sliding buffer. An element cut off at the end of the buffer
    fails to decode *near the end* (or as an unclosed string); then more is read and the
    element decoded again. Any other failure is a real syntax error.
    """

    def __init__(self, opened: _Opened, source: str) -> None:
        self._stream = opened.stream
        self._codec = opened.codec
        self._decoder = codecs.getincrementaldecoder(opened.codec)()
        self._source = source
        self._buf = ""
        self._eof = False
        self._bytes = 0  # bytes decoded before the pending ones, for error offsets
        self._chars = 0  # absolute offset of _buf[0]
        self._lines = 0  # newlines before _buf[0]
        self._line_start = 0  # absolute offset where the line holding _buf[0] starts

    def elements(self) -> Iterator[tuple[int, Any]]:
        """Yield (1-based index, element) pairs."""
        pos = self._skip(0)
        if self._char(pos) != "[":
            raise self._top_level_error(pos)
        pos = self._skip(pos + 1)
        index = 0
        if self._char(pos) == "]":
            return self._end(pos + 1)
        while True:
            index += 1
            value, pos = self._value(pos, index)
            yield index, value
            pos = self._skip(pos)
            char = self._char(pos)
            if char == "]":
                return self._end(pos + 1)
            if char != ",":
                raise self._separator_error(pos, index)
            pos = self._skip(pos + 1)
            if self._char(pos) == "]":
                raise self._error(f"a ',' after element {index} is followed by ']'", pos,
                                  "JSON allows no trailing comma; remove it")

    def _char(self, pos: int) -> str:
        return self._buf[pos] if pos < len(self._buf) else ""

    def _skip(self, pos: int) -> int:
        """The position of the next non-whitespace character, reading more as needed."""
        while True:
            match = _WHITESPACE.match(self._buf, pos)
            assert match is not None  # the pattern matches the empty string
            pos = match.end()
            if pos < len(self._buf) or self._eof:
                return pos
            pos = self._refill(pos)

    def _value(self, pos: int, index: int) -> tuple[Any, int]:
        while True:
            try:
                value, end = _DECODE(self._buf, pos)
            except json.JSONDecodeError as exc:
                cut = exc.msg.startswith("Unterminated string") or exc.pos >= len(self._buf) - 16
                if cut and not self._eof:
                    pos = self._refill(pos)
                    continue
                problem = _syntax_problem(exc.msg, self._buf, exc.pos)
                raise self._error(f"invalid JSON in element {index}: {problem}", exc.pos,
                                  _SYNTAX_HINT) from exc
            except RecursionError as exc:
                raise self._error(f"element {index} is nested too deeply", pos) from exc
            # A number (or true/false/null) ending at the buffer's end may continue.
            if end < len(self._buf) or self._eof:
                return value, end
            pos = self._refill(pos)

    def _refill(self, pos: int) -> int:
        """Drop the text before ``pos``, append more; return ``pos`` in the new buffer."""
        self._forget(pos)
        # Read at least as much as is held, so a huge element is decoded O(n) times total.
        size = max(_CHUNK_BYTES, len(self._buf))
        while not self._eof:
            with _reading(self._source):
                data = self._stream.read(size)
            pending = len(self._decoder.getstate()[0])
            try:
                text = self._decoder.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                raise self._encoding_error(exc, pending) from exc
            self._bytes += len(data)
            self._eof = not data
            self._buf += text
            if text:
                break
        return 0

    def _forget(self, pos: int) -> None:
        dropped = self._buf[:pos]
        newlines = dropped.count("\n")
        if newlines:
            self._lines += newlines
            self._line_start = self._chars + dropped.rfind("\n") + 1
        self._chars += pos
        self._buf = self._buf[pos:]

    def _where(self, pos: int) -> tuple[int, int, int]:
        """(line, column, character offset), 1-based, of buffer position ``pos``."""
        newlines = self._buf.count("\n", 0, pos)
        line_start = (self._chars + self._buf.rfind("\n", 0, pos) + 1 if newlines
                      else self._line_start)
        offset = self._chars + pos
        return self._lines + newlines + 1, offset - line_start + 1, offset + 1

    def _error(self, problem: str, pos: int, hint: str | None = None) -> ReadError:
        line, column, offset = self._where(pos)
        return ReadError(f"{problem} (column {column}, character {offset})",
                         source=self._source, line=line, hint=hint)

    def _top_level_error(self, pos: int) -> ReadError:
        if pos >= len(self._buf):
            return self._error("the file is empty; expected a JSON array of records", pos)
        kind = {"{": "an object", '"': "a string"}.get(self._char(pos), "not an array")
        return self._error(
            f"the top level must be a JSON array of records, but it is {kind}", pos,
            "Wrap the records in [...], or read one object per line with format='jsonl'")

    def _separator_error(self, pos: int, index: int) -> ReadError:
        if pos >= len(self._buf):
            return self._error(f"the file ends after element {index}; expected ',' or ']'",
                               pos, "The file may be truncated")
        return self._error(f"expected ',' or ']' after element {index}, found "
                           f"{self._buf[pos:pos + 10]!r}", pos, _SYNTAX_HINT)

    def _end(self, pos: int) -> None:
        pos = self._skip(pos)
        if pos < len(self._buf):
            raise self._error(f"unexpected data after the closing ']': "
                              f"{self._buf[pos:pos + 10]!r}", pos,
                              "A .json file holds one array; remove what follows it")

    def _encoding_error(self, exc: UnicodeDecodeError, pending: int) -> EncodingError:
        before = bytes(exc.object[:exc.start]).decode(self._codec, "replace")
        line = self._lines + self._buf.count("\n") + before.count("\n") + 1
        offset = self._bytes - pending + exc.start
        return EncodingError(f"bytes invalid in {self._codec} at byte offset {offset}: "
                             f"{exc.reason}", source=self._source, line=line, hint=_ENCODING_HINT)


_ENCODING_HINT = ("JSON is normally UTF-8; if this file was saved in another encoding, pass "
                  "it as encoding= (e.g. 'cp1252'), or encoding='auto' for UTF-16/32")


def _jsonl_records(opened: _Opened, source: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) for every non-blank line."""
    for number, line in _numbered_lines(opened, source):
        if not line.strip(b" \t\r\n" if isinstance(line, bytes) else " \t\r\n"):
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            value = _parse_slowly(line, opened.codec, number, source)
        if type(value) is not dict:
            raise ReadError(f"the line holds {_kind(value)}, not an object", source=source,
                            line=number, hint="Each line of a .jsonl file must be one record "
                            "{...}; for a JSON array use format='json'")
        yield number, value


def _numbered_lines(opened: _Opened, source: str) -> Iterator[tuple[int, bytes | str]]:
    """Physical lines, numbered from 1; bytes where orjson can read them directly."""
    codec = opened.codec
    if codec == "utf-8" or "\n{".encode(codec) == b"\n{":
        # Splitting bytes on b"\n" is safe: no character's bytes hold 0x0A here.
        decode = codec != "utf-8"  # orjson checks UTF-8 itself, faster
        with _reading(source):
            for number, line in enumerate(opened.stream, start=1):
                yield number, _decoded(line, codec, number, source) if decode else line
        return
    # Only "\n" ends a line: a raw U+2028 may sit inside a JSON string.
    text = io.TextIOWrapper(opened.stream, encoding=codec, newline="\n")
    number = 0
    try:
        with _reading(source):
            for number, line in enumerate(text, start=1):
                yield number, line
    except UnicodeDecodeError as exc:
        raise EncodingError(f"bytes invalid in {codec}: {exc.reason}", source=source,
                            line=number + 1, hint=_ENCODING_HINT) from exc
    finally:
        text.detach()  # closing the wrapper must not close the stream under it


def _decoded(line: bytes | str, codec: str, number: int, source: str) -> str:
    if isinstance(line, str):
        return line
    try:
        return line.decode(codec)
    except UnicodeDecodeError as exc:
        raise EncodingError(f"bytes invalid in {codec} at column {exc.start + 1}: "
                            f"{exc.reason}", source=source, line=number,
                            hint=_ENCODING_HINT) from exc


def _parse_slowly(line: bytes | str, codec: str, number: int, source: str) -> Any:
    """Parse a line orjson refused: the stdlib accepts NaN and huge integers, and says
    exactly where the problem is when there is one."""
    text = _decoded(line, codec, number, source)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReadError(f"invalid JSON at column {exc.colno}: "
                        f"{_syntax_problem(exc.msg, text, exc.pos)}", source=source,
                        line=number, hint=_SYNTAX_HINT) from exc
    except RecursionError as exc:
        raise ReadError("the record is nested too deeply", source=source,
                        line=number) from exc


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), "a value")


class _JsonReaderBase:
    """What both JSON readers share: the two passes, batching and error locations."""

    format: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]]
    #: Whether a record's number is its physical line (jsonl) or array index (json).
    _numbers_lines: ClassVar[bool]

    def __init__(self, *, encoding: str = "utf-8") -> None:
        if encoding != "auto":
            try:
                codecs.lookup(encoding)
            except LookupError as exc:
                raise ConfigError(f"unknown encoding {encoding!r}; pass a Python codec name "
                                  "such as 'utf-8' or 'cp1252', or 'auto'") from exc
        self.encoding = encoding

    def read(self, source: Source, *, schema: pa.Schema | None = None,
             batch_size: int = 65_536) -> Frames:
        """Stream ``source`` (a path or binary file, gzip allowed) into Frames."""
        if batch_size < 1:
            raise ConfigError(f"batch_size must be a positive number of rows, got {batch_size}")
        data = _Input(source, self.encoding)
        with data.open() as opened:
            layout = Layout.from_schema(schema) if schema is not None else None
            if layout is None:
                layout = self._infer(data, opened)
        info = {"format": self.format, "encoding": opened.encoding,
                "compression": opened.compression, "envelope": layout.envelope,
                "mixed_columns": list(layout.mixed)}
        return Frames(layout.schema, self._batches(data, layout, batch_size),
                      batch_size=batch_size, source=data.name, info=info)

    def _records(self, opened: _Opened, source: str) -> Iterator[tuple[int, dict[str, Any]]]:
        raise NotImplementedError

    def _infer(self, data: _Input, opened: _Opened) -> Layout:
        """Pass 1; read again without unwrapping if LD items turn into other records."""
        inference = Inference()
        if not self._observe(opened, data.name, inference):
            with data.open() as again:
                inference = Inference(allow_envelope=False)
                self._observe(again, data.name, inference)
        return inference.layout()

    def _observe(self, opened: _Opened, source: str, inference: Inference) -> bool:
        for number, record in self._records(opened, source):
            try:
                if not inference.add(record):
                    return False
            except FlattenError as exc:
                raise self._located(exc, source, number) from exc
        return True

    def _batches(self, data: _Input, layout: Layout, batch_size: int
                 ) -> Iterator[tuple[int, pa.RecordBatch]]:
        """Pass 2: batches of consecutive records, each with its first record's number."""
        try:
            with data.open() as opened:
                rows: list[dict[str, Any]] = []
                first = following = 0
                for number, record in self._records(opened, data.name):
                    if rows and (number != following or len(rows) >= batch_size):
                        yield first, self._batch(rows, layout, data.name, first)
                        rows = []
                    if not rows:
                        first = number
                    try:
                        rows.append(flatten(record, envelope=layout.envelope))
                    except FlattenError as exc:
                        raise self._located(exc, data.name, number) from exc
                    following = number + 1
                if rows:
                    yield first, self._batch(rows, layout, data.name, first)
        finally:
            data.close()

    def _batch(self, rows: list[dict[str, Any]], layout: Layout, source: str, first: int
               ) -> pa.RecordBatch:
        try:
            return build_batch(rows, layout)
        except FlattenError as exc:
            last = first + len(rows) - 1
            where = "line" if self._numbers_lines else "record"
            raise ReadError(f"in {where}s {first}-{last}: {exc}", source=source,
                            hint="Pass a schema that fits the data, or none to infer one"
                            ) from exc

    def _located(self, exc: FlattenError, source: str, number: int) -> ReadError:
        if self._numbers_lines:
            return ReadError(str(exc), source=source, line=number)
        return ReadError(f"record {number}: {exc}", source=source)


class JsonReader(_JsonReaderBase):
    """Reads a top-level JSON array of records (objects), e.g. an LD items file.

    Options: ``encoding`` (default ``"utf-8"``, BOM accepted; ``"auto"`` also detects
    UTF-16/32). Record numbers are 1-based array indexes.
    """

    format: ClassVar[str] = "json"
    suffixes: ClassVar[tuple[str, ...]] = (".json", ".json.gz")
    _numbers_lines = False

    def _records(self, opened: _Opened, source: str) -> Iterator[tuple[int, dict[str, Any]]]:
        scanner = _ArrayScanner(opened, source)
        for index, value in scanner.elements():
            if type(value) is not dict:
                raise ReadError(f"record {index} is {_kind(value)}, not an object",
                                source=source, hint="Every element of the array must be "
                                "a record {...}")
            yield index, value


class JsonLinesReader(_JsonReaderBase):
    """Reads JSON Lines: one record (object) per line; blank lines are skipped.

    Options: ``encoding`` as for :class:`JsonReader`. Record numbers are line numbers.
    """

    format: ClassVar[str] = "jsonl"
    suffixes: ClassVar[tuple[str, ...]] = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
    _numbers_lines = True

    def _records(self, opened: _Opened, source: str) -> Iterator[tuple[int, dict[str, Any]]]:
        return _jsonl_records(opened, source)
