"""JSON readers: a top-level array of records (``json``) and one record a line (``jsonl``).

Both stream with bounded memory. UTF-8 input goes through Arrow's JSON parser a block
at a time (see :mod:`._jsonfast`): parsed once, spooled, then cast to the schema all the
blocks settle. Input that path cannot read exactly as the record-by-record path does
(other encodings, bad records, mixed kinds...) is read record by record, twice: the first
pass learns every column and its type (so Frames has its schema before the first batch),
the second builds batches. Unseekable streams are spooled to a temporary file first.
Nested objects become dotted columns, lists stay list columns, and LD item files
(``{"headers": ..., "data": ...}`` records) are unwrapped so the data fields are the
columns (see :mod:`._jsonflat`). A record that cannot be a row (bad syntax in a line,
not an object, a name twice) raises :class:`~ldtransform.errors.ReadError`, or with
``on_bad_row="report"`` becomes an Issue.
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
from typing import Any, BinaryIO, ClassVar, Literal, cast

import orjson
import pyarrow as pa

from ldtransform import issue_codes as codes
from ldtransform.errors import ConfigError, ReadError
from ldtransform.frames import Frames
from ldtransform.protocols import Issue, Source
from ldtransform.readers._jsonblocks import (
    array_blocks,
    line_blocks,
    recut_elements,
    split_array_blocks,
)
from ldtransform.readers._jsonfast import FastRead, Unfit, batches_of_size
from ldtransform.readers._jsonflat import (
    FlattenError,
    Inference,
    Layout,
    build_batch,
    flatten,
    json_text,
)
from ldtransform.readers._text import (
    GZIP_MAGIC,
    SAMPLE_BYTES,
    detect_encoding,
    invalid_bytes_error,
    source_name,
)
from ldtransform.readers._vetting import check_regular_file, check_text
from ldtransform.readers.jsonscan import (
    SYNTAX_HINT,
    ArrayScanner,
    duplicate_key,
    kind_of,
    syntax_problem,
)

__all__ = ["JsonLinesReader", "JsonReader"]

#: Bytes of JSON parsed at a time: enough for Arrow's threads, little next to the batches.
READ_BLOCK_BYTES = 2 << 20

_Records = Iterator[tuple[int, "dict[str, Any] | _BadRecord"]]
BadRowPolicy = Literal["raise", "report"]


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


@dataclass(frozen=True)
class _BadRecord:
    """A record that cannot become a row, with its raw text (raised or reported)."""

    code: str
    problem: str
    text: str
    line: int | None
    hint: str | None = None


_LINE_HINT = ("Each line of a .jsonl file must be one record {...}; for a JSON array use "
              "format='json'")
_DUPLICATE_HINT = ("Keep one of the two values (JSON allows each name once in an object; "
                   "readers silently keep the last)")


def _duplicate(name: str, text: str, line: int) -> _BadRecord:
    return _BadRecord(codes.DUPLICATE_JSON_KEY, f"the name {name!r} appears twice in one object",
                      text, line, _DUPLICATE_HINT)


def _jsonl_records(opened: _Opened, check: bool) -> _Records:
    """(line number, record or what is wrong with it) for every non-blank line; ``check``
    looks for names appearing twice."""
    for number, line in _lines(opened):
        if not (line.strip(b" \t\r\n") if isinstance(line, bytes) else line.strip(" \t\r\n")):
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            value = _parse_slowly(line, opened.codec, number)
        if type(value) is dict:
            name = duplicate_key(line, value) if check else None
            yield number, value if name is None else _duplicate(
                name, _text_of(line, opened.codec), number)
        elif isinstance(value, _BadRecord):
            yield number, value
        else:
            yield number, _BadRecord(codes.NOT_AN_OBJECT, f"the line holds {kind_of(value)}, not "
                                     "an object", _text_of(line, opened.codec), number,
                                     _LINE_HINT)


def _text_of(line: bytes | str, codec: str) -> str:
    """A line as text, without its line break."""
    text = line.decode(codec) if isinstance(line, bytes) else line
    return text.removesuffix("\n").removesuffix("\r")


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


def _parse_slowly(line: bytes | str, codec: str, number: int) -> Any:
    """Parse a line orjson refused: the stdlib accepts NaN and huge integers, and says
    exactly where the problem is when there is one (a :class:`_BadRecord`)."""
    text = _text_of(line, codec)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        problem = syntax_problem(exc.msg, text, exc.pos)
        return _BadRecord(codes.INVALID_JSON, f"invalid JSON at column {exc.pos + 1}: {problem}",
                          text, number, SYNTAX_HINT)
    except RecursionError:
        return _BadRecord(codes.NESTED_TOO_DEEPLY, "the record is nested too deeply", text,
                          number)


class _JsonReaderBase:
    """What both JSON readers share: the two passes, batching and error locations."""

    format: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]]
    #: Whether a record's number is its physical line (jsonl) or array index (json).
    _numbers_lines: ClassVar[bool]

    def __init__(self, *, encoding: str = "utf-8", on_bad_row: BadRowPolicy = "raise") -> None:
        if encoding != "auto":
            try:
                "\n".encode(encoding)  # a text codec, not e.g. "hex"
            except LookupError as exc:
                raise ConfigError(f"unknown encoding {encoding!r}; pass a Python codec name "
                                  "such as 'utf-8' or 'cp1252', or 'auto'") from exc
        if on_bad_row not in ("raise", "report"):
            raise ConfigError(f"on_bad_row must be 'raise' or 'report', got {on_bad_row!r}")
        self.encoding = encoding
        self.on_bad_row = on_bad_row

    def read(self, source: Source, *, schema: pa.Schema | None = None,
             batch_size: int = 65_536) -> Frames:
        """Stream ``source`` (a path or binary file, gzip allowed) into Frames.

        Without ``schema`` a first pass infers it; with one, its types are used and a
        field it lacks is an error. ``_headers.*`` fields in it mean LD items.
        """
        if batch_size < 1:
            raise ConfigError(f"batch_size must be a positive number of rows, got {batch_size}")
        data = _Input(source, self.encoding)
        # Names appearing twice are looked for once: by pass 1 when it runs, else pass 2.
        duplicates: dict[int, _BadRecord] | None = None
        with data.open() as opened:
            pass  # the encoding, checked
        fast = self._fast(data) if schema is None and opened.codec.startswith("utf-8") else None
        if fast is not None:
            layout = fast.layout
        elif schema is None:
            with data.open() as opened:
                duplicates = {}
                layout = self._infer(data, opened, duplicates)
        else:
            layout = Layout.from_schema(schema)
        info = {"format": self.format, "encoding": opened.codec,
                "compression": opened.compression, "envelope": layout.envelope,
                "mixed_columns": list(layout.mixed)}
        issues: list[Issue] = []
        batches = (self._fast_batches(data, fast, batch_size) if fast is not None
                   else self._batches(data, layout, batch_size, issues, duplicates))
        return Frames(layout.schema, batches,
                      batch_size=batch_size, source=data.name, info=info, issues=issues)

    def _parse(self, opened: _Opened, source: str, check: bool) -> _Records:
        raise NotImplementedError

    def _blocks(self, data: _Input, block_bytes: int
                ) -> Iterator[tuple[int, bytes | bytearray]]:
        """The records as blocks of JSON Lines: (lines, text)."""
        raise NotImplementedError

    def _recut(self, text: bytes | bytearray) -> tuple[int, bytes | bytearray] | None:
        """A block whose lines Arrow does not read as one record each, cut again where
        the records really end; None where only the other path can say what is wrong."""
        return None

    def _fast(self, data: _Input) -> FastRead | None:
        """Pass 1 through Arrow's parser; None where the records need the other path."""
        try:
            with _reading(data.name):
                return FastRead(self._blocks(data, READ_BLOCK_BYTES), recut=self._recut)
        except (Unfit, RecursionError):
            return None

    @staticmethod
    def _fast_batches(data: _Input, fast: FastRead, batch_size: int
                      ) -> Iterator[tuple[int, pa.RecordBatch]]:
        try:
            yield from batches_of_size(fast.tables(), batch_size)
        finally:
            fast.close()
            data.close()

    def _records(self, data: _Input, opened: _Opened, *, check: bool = True) -> _Records:
        """The records of ``opened``; bad bytes and I/O failures become ReadErrors, and so
        do bad records unless they are reported."""
        try:
            with _reading(data.name):
                for number, record in self._parse(opened, data.name, check):
                    if isinstance(record, _BadRecord) and self.on_bad_row == "raise":
                        raise self._refusal(record, data.name)
                    yield number, record
        except UnicodeDecodeError as exc:
            # Find the bad bytes from the start (a UTF-8 BOM is valid UTF-8).
            codec = "utf-8" if opened.codec == "utf-8-sig" else opened.codec
            with data.open() as again:
                raise invalid_bytes_error(again.stream, codec, data.name,
                                          requested=self.encoding) from exc

    @staticmethod
    def _refusal(bad: _BadRecord, source: str) -> ReadError:
        return ReadError(bad.problem, source=source, line=bad.line,
                         hint=f"{bad.hint or 'Fix the record'}; or read with "
                         "on_bad_row='report' to set such records aside and read the rest")

    def _infer(self, data: _Input, opened: _Opened, duplicates: dict[int, _BadRecord]
               ) -> Layout:
        """Pass 1; read again without unwrapping if LD items turn into other records."""
        inference = Inference()
        if not self._observe(data, opened, inference, duplicates):
            with data.open() as again:
                inference = Inference(allow_envelope=False)
                self._observe(data, again, inference, duplicates)
        try:
            return inference.layout()
        except RecursionError as exc:
            raise ReadError("the records are nested too deeply to make columns of",
                            source=data.name) from exc

    def _observe(self, data: _Input, opened: _Opened, inference: Inference,
                 duplicates: dict[int, _BadRecord]) -> bool:
        """Pass 1 over every usable record (pass 2 reports the others); records with a
        name twice go to ``duplicates``, for pass 2."""
        for number, record in self._records(data, opened):
            if isinstance(record, _BadRecord):
                if record.code == codes.DUPLICATE_JSON_KEY:
                    duplicates[number] = record
                continue
            try:
                if not inference.add(record):
                    return False
            except FlattenError as exc:
                if self.on_bad_row == "raise":
                    raise self._refusal(self._unflattened(exc, record, number),
                                        data.name) from exc
        return True

    def _batches(self, data: _Input, layout: Layout, batch_size: int, issues: list[Issue],
                 duplicates: dict[int, _BadRecord] | None) -> Iterator[tuple[int, pa.RecordBatch]]:
        """Pass 2: batches of consecutive records, each with its first record's number;
        records that cannot be rows become ``issues`` (or ReadErrors). ``duplicates`` are
        the records pass 1 found with a name twice (``None``: look for them here)."""
        try:
            with data.open() as opened:
                rows: list[dict[str, Any]] = []
                first = following = 0
                for number, record in self._records(data, opened, check=duplicates is None):
                    if duplicates and number in duplicates:
                        record = duplicates[number]
                    if not isinstance(record, _BadRecord):
                        try:
                            flat = flatten(record, envelope=layout.envelope)
                        except FlattenError as exc:
                            record = self._unflattened(exc, record, number)
                            if self.on_bad_row == "raise":
                                raise self._refusal(record, data.name) from exc
                    if isinstance(record, _BadRecord):
                        issues.append(self._issue(record, number, data.name))
                        continue
                    if rows and (number != following or len(rows) >= batch_size):
                        yield first, self._batch(rows, layout, data.name, first)
                        rows = []
                    if not rows:
                        first = number
                    rows.append(flat)
                    following = number + 1
                if rows:
                    yield first, self._batch(rows, layout, data.name, first)
        finally:
            data.close()

    def _issue(self, bad: _BadRecord, number: int, source: str) -> Issue:
        where = "" if self._numbers_lines else f" (line {bad.line})"
        return Issue(code=bad.code, message=bad.problem + where, row=number, value=bad.text,
                     source=source)

    def _batch(self, rows: list[dict[str, Any]], layout: Layout, source: str, first: int
               ) -> pa.RecordBatch:
        try:
            return build_batch(rows, layout)
        except FlattenError as exc:
            where = "lines" if self._numbers_lines else "records"
            raise ReadError(f"in {where} {first}-{first + len(rows) - 1}: {exc}",
                            source=source, hint="Pass a schema that fits the data, or none "
                            "to infer one") from exc

    def _unflattened(self, exc: FlattenError, record: dict[str, Any], number: int
                     ) -> _BadRecord:
        """A record whose fields cannot become columns, as a bad record."""
        problem = str(exc) if self._numbers_lines else f"record {number}: {exc}"
        return _BadRecord(codes.COLUMN_CLASH, problem, json_text(record),
                          number if self._numbers_lines else None)


class JsonReader(_JsonReaderBase):
    """Reads a top-level JSON array of records (objects), e.g. an LD items file.

    Options: ``encoding`` (default ``"utf-8"``, a BOM is accepted; ``"auto"`` detects),
    ``on_bad_row`` (``"raise"``, or ``"report"``: an element that is not an object or has
    a name twice becomes an Issue on ``frames.issues``, raw text kept). Record numbers are
    1-based array indexes.
    """

    format: ClassVar[str] = "json"
    suffixes: ClassVar[tuple[str, ...]] = (".json", ".json.gz")
    _numbers_lines = False

    def _blocks(self, data: _Input, block_bytes: int
                ) -> Iterator[tuple[int, bytes | bytearray]]:
        @contextmanager
        def stream() -> Iterator[BinaryIO]:
            with data.open() as opened:
                yield opened.stream

        started = False
        for block in array_blocks(stream, data.name, block_bytes, scan=False):
            if block is None:
                break
            yield block
            started = True
        else:
            return
        if started:
            raise Unfit("one element per line no further")
        with stream() as laid_out:  # not one element per line: any layout
            for block in split_array_blocks(laid_out, block_bytes):
                if block is None:
                    raise Unfit("not a JSON array of records")
                yield block

    def _recut(self, text: bytes | bytearray) -> tuple[int, bytes | bytearray] | None:
        return recut_elements(text)

    def _parse(self, opened: _Opened, source: str, check: bool) -> _Records:
        scanner = ArrayScanner(opened.stream, opened.codec, source)
        for index, value in scanner.elements():
            if type(value) is dict:
                name = scanner.element_duplicate(value) if check else None
                if name is None:
                    yield index, value
                    continue
                problem = f"record {index}: the name {name!r} appears twice in one object"
                bad = _BadRecord(codes.DUPLICATE_JSON_KEY, problem, scanner.element_text(),
                                 scanner.element_line(), _DUPLICATE_HINT)
            else:
                bad = _BadRecord(codes.NOT_AN_OBJECT, f"record {index} is {kind_of(value)}, not "
                                 "an object", scanner.element_text(), scanner.element_line(),
                                 "Every element of the array must be a record {...}")
            yield index, bad


class JsonLinesReader(_JsonReaderBase):
    """Reads JSON Lines: one record (object) per line; blank lines are skipped.

    Options as for :class:`JsonReader`; with ``on_bad_row="report"`` a line that is not
    valid JSON is reported too, and the lines after it are read. Record numbers are line
    numbers.
    """

    format: ClassVar[str] = "jsonl"
    suffixes: ClassVar[tuple[str, ...]] = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
    _numbers_lines = True

    def _parse(self, opened: _Opened, source: str, check: bool) -> _Records:
        return _jsonl_records(opened, check)

    def _blocks(self, data: _Input, block_bytes: int
                ) -> Iterator[tuple[int, bytes | bytearray]]:
        with data.open() as opened:
            for text in line_blocks(opened.stream, block_bytes):
                yield text.count(b"\n") + (not text.endswith(b"\n")), text
