"""JSON readers: a top-level array of records (``json``) and one record a line (``jsonl``).

Both stream with bounded memory and read the source twice: the first pass learns every
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
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, cast

import orjson
import pyarrow as pa

from ldtransform.errors import ConfigError, ReadError
from ldtransform.frames import Frames
from ldtransform.protocols import Source
from ldtransform.readers._jsonflat import (
    FlattenError,
    Inference,
    Layout,
    build_batch,
    flatten,
)
from ldtransform.readers._jsonscan import SYNTAX_HINT, ArrayScanner, kind_of, syntax_problem
from ldtransform.readers._text import (
    GZIP_MAGIC,
    SAMPLE_BYTES,
    detect_encoding,
    invalid_bytes_error,
    source_name,
)
from ldtransform.readers._vetting import check_regular_file, check_text

__all__ = ["JsonLinesReader", "JsonReader"]

_Records = Iterator[tuple[int, dict[str, Any]]]


@dataclass
class _Opened:
    """A decompressed stream at the start of the data, and how to decode it."""

    stream: BinaryIO
    codec: str
    compression: str | None


class _Input:
    """A source that can be streamed from its start more than once."""

    def __init__(self, source: Source, encoding: str) -> None:
        self.name = source_name(source)
        self._encoding = encoding
        self._path: Path | None = None
        self._start, self._owned = 0, False
        if isinstance(source, str | os.PathLike):
            check_regular_file(source)
            self._path = Path(source)
            return
        if isinstance(source, io.TextIOBase):
            raise ConfigError(f"{self.name} is open in text mode; JSON readers need bytes, "
                              "e.g. open(path, 'rb')")
        self._file = source
        with _reading(self.name):
            if source.seekable():
                self._start = source.tell()
            else:
                # Two passes need the bytes twice: spool them to disk, not to memory.
                spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
                self._file, self._owned = cast(BinaryIO, spool), True
                shutil.copyfileobj(source, self._file)

    def close(self) -> None:
        """Drop the spooled copy, if any (never the caller's own file)."""
        if self._owned:
            self._file.close()

    @contextmanager
    def open(self) -> Iterator[_Opened]:
        """The decompressed bytes from the start, with the codec to decode them."""
        if self._path is None:
            raw = self._file
            raw.seek(self._start)
        else:
            try:
                raw = cast(BinaryIO, self._path.open("rb"))
            except OSError as exc:
                raise ReadError(f"cannot open the file: {exc.strerror or exc}",
                                source=self.name) from exc
        try:
            with _reading(self.name):
                opened = self._decompressed(raw)
            yield opened
        finally:
            if self._path is not None:
                raw.close()

    def _decompressed(self, raw: BinaryIO) -> _Opened:
        start = raw.tell()
        gzipped = raw.read(2) == GZIP_MAGIC or self.name.lower().endswith(".gz")

        def rewound() -> BinaryIO:
            raw.seek(start)
            return cast(BinaryIO, gzip.GzipFile(fileobj=raw, mode="rb")) if gzipped else raw

        sample = rewound().read(SAMPLE_BYTES)
        check_text(sample, self._encoding, self.name, whole=len(sample) < SAMPLE_BYTES)
        codec, _ = detect_encoding(sample, self._encoding, source=self.name)
        return _Opened(rewound(), codecs.lookup(codec).name, "gzip" if gzipped else None)


@contextmanager
def _reading(source: str) -> Iterator[None]:
    """Turn decompression and I/O failures inside the block into :class:`ReadError`."""
    try:
        yield
    except (OSError, EOFError, zlib.error) as exc:
        raise ReadError(f"cannot read the data: {exc}", source=source,
                        hint="A .gz file may be truncated or not gzip at all") from exc


def _jsonl_records(opened: _Opened, source: str) -> _Records:
    """(line number, record) for every non-blank line."""
    for number, line in _lines(opened):
        if not (line.strip(b" \t\r\n") if isinstance(line, bytes) else line.strip(" \t\r\n")):
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            value = _parse_slowly(line, opened.codec, number, source)
        if type(value) is not dict:
            raise ReadError(f"the line holds {kind_of(value)}, not an object", source=source,
                            line=number, hint="Each line of a .jsonl file must be one record "
                            "{...}; for a JSON array use format='json'")
        yield number, value


def _lines(opened: _Opened) -> Iterator[tuple[int, bytes | str]]:
    """Physical lines numbered from 1: bytes where orjson can take them, else text."""
    codec, stream = opened.codec, opened.stream
    if codec.startswith("utf-8"):
        lines = iter(stream)  # orjson checks the UTF-8 itself, faster than decoding
        first = next(lines, b"")
        yield 1, first.removeprefix(codecs.BOM_UTF8)
        yield from enumerate(lines, start=2)
    elif "\n{".encode(codec) == b"\n{":
        # Splitting the bytes on b"\n" is safe: no character's bytes hold 0x0A here.
        for number, line in enumerate(stream, start=1):
            yield number, line.decode(codec)
    else:
        # Only "\n" ends a line: a raw U+2028 may sit inside a JSON string.
        text = io.TextIOWrapper(stream, encoding=codec, newline="\n")
        try:
            yield from enumerate(text, start=1)
        finally:
            text.detach()  # closing the wrapper must not close the stream under it


def _parse_slowly(line: bytes | str, codec: str, number: int, source: str) -> Any:
    """Parse a line orjson refused: the stdlib accepts NaN and huge integers, and says
    exactly where the problem is when there is one."""
    text = line.decode(codec) if isinstance(line, bytes) else line
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReadError(f"invalid JSON at column {exc.colno}: "
                        f"{syntax_problem(exc.msg, text, exc.pos)}", source=source,
                        line=number, hint=SYNTAX_HINT) from exc
    except RecursionError as exc:
        raise ReadError("the record is nested too deeply", source=source,
                        line=number) from exc


class _JsonReaderBase:
    """What both JSON readers share: the two passes, batching and error locations."""

    format: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]]
    #: Whether a record's number is its physical line (jsonl) or array index (json).
    _numbers_lines: ClassVar[bool]

    def __init__(self, *, encoding: str = "utf-8") -> None:
        if encoding != "auto":
            try:
                "\n".encode(encoding)  # a text codec, not e.g. "hex"
            except LookupError as exc:
                raise ConfigError(f"unknown encoding {encoding!r}; pass a Python codec name "
                                  "such as 'utf-8' or 'cp1252', or 'auto'") from exc
        self.encoding = encoding

    def read(self, source: Source, *, schema: pa.Schema | None = None,
             batch_size: int = 65_536) -> Frames:
        """Stream ``source`` (a path or binary file, gzip allowed) into Frames.

        Without ``schema`` a first pass infers it; with one, its types are used and a
        field it lacks is an error. ``_headers.*`` fields in it mean LD items.
        """
        if batch_size < 1:
            raise ConfigError(f"batch_size must be a positive number of rows, got {batch_size}")
        data = _Input(source, self.encoding)
        with data.open() as opened:
            layout = self._infer(data, opened) if schema is None else Layout.from_schema(schema)
        info = {"format": self.format, "encoding": opened.codec,
                "compression": opened.compression, "envelope": layout.envelope,
                "mixed_columns": list(layout.mixed)}
        return Frames(layout.schema, self._batches(data, layout, batch_size),
                      batch_size=batch_size, source=data.name, info=info)

    def _parse(self, opened: _Opened, source: str) -> _Records:
        raise NotImplementedError

    def _records(self, data: _Input, opened: _Opened) -> _Records:
        """The records of ``opened``; bad bytes and I/O failures become ReadErrors."""
        try:
            with _reading(data.name):
                yield from self._parse(opened, data.name)
        except UnicodeDecodeError as exc:
            # Find the bad bytes from the start (a UTF-8 BOM is valid UTF-8).
            codec = "utf-8" if opened.codec == "utf-8-sig" else opened.codec
            with data.open() as again:
                raise invalid_bytes_error(again.stream, codec, data.name,
                                          requested=self.encoding) from exc

    def _infer(self, data: _Input, opened: _Opened) -> Layout:
        """Pass 1; read again without unwrapping if LD items turn into other records."""
        inference = Inference()
        if not self._observe(data, opened, inference):
            with data.open() as again:
                inference = Inference(allow_envelope=False)
                self._observe(data, again, inference)
        try:
            return inference.layout()
        except RecursionError as exc:
            raise ReadError("the records are nested too deeply to make columns of",
                            source=data.name) from exc

    def _observe(self, data: _Input, opened: _Opened, inference: Inference) -> bool:
        for number, record in self._records(data, opened):
            try:
                if not inference.add(record):
                    return False
            except FlattenError as exc:
                raise self._located(exc, data.name, number) from exc
        return True

    def _batches(self, data: _Input, layout: Layout, batch_size: int
                 ) -> Iterator[tuple[int, pa.RecordBatch]]:
        """Pass 2: batches of consecutive records, each with its first record's number."""
        try:
            with data.open() as opened:
                rows: list[dict[str, Any]] = []
                first = following = 0
                for number, record in self._records(data, opened):
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
            where = "lines" if self._numbers_lines else "records"
            raise ReadError(f"in {where} {first}-{first + len(rows) - 1}: {exc}",
                            source=source, hint="Pass a schema that fits the data, or none "
                            "to infer one") from exc

    def _located(self, exc: FlattenError, source: str, number: int) -> ReadError:
        if self._numbers_lines:
            return ReadError(str(exc), source=source, line=number)
        return ReadError(f"record {number}: {exc}", source=source)


class JsonReader(_JsonReaderBase):
    """Reads a top-level JSON array of records (objects), e.g. an LD items file.

    Option: ``encoding`` (default ``"utf-8"``, a BOM is accepted; ``"auto"`` detects).
    Record numbers are 1-based array indexes.
    """

    format: ClassVar[str] = "json"
    suffixes: ClassVar[tuple[str, ...]] = (".json", ".json.gz")
    _numbers_lines = False

    def _parse(self, opened: _Opened, source: str) -> _Records:
        for index, value in ArrayScanner(opened.stream, opened.codec, source).elements():
            if type(value) is not dict:
                raise ReadError(f"record {index} is {kind_of(value)}, not an object",
                                source=source, hint="Every element of the array must be "
                                "a record {...}")
            yield index, value


class JsonLinesReader(_JsonReaderBase):
    """Reads JSON Lines: one record (object) per line; blank lines are skipped.

    Option: ``encoding`` as for :class:`JsonReader`. Record numbers are line numbers.
    """

    format: ClassVar[str] = "jsonl"
    suffixes: ClassVar[tuple[str, ...]] = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
    _numbers_lines = True

    def _parse(self, opened: _Opened, source: str) -> _Records:
        return _jsonl_records(opened, source)
