"""The fixed-width reader: records streamed in blocks, cut into columns by a layout."""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, ClassVar, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ldtransform import Frames, ReadError
from ldtransform.errors import ConfigError
from ldtransform.protocols import Issue, Source
from ldtransform_fixedwidth._columns import Problem, cut
from ldtransform_fixedwidth.layout import Layout, from_header, load_layout

__all__ = ["FixedWidthReader"]

BadRowPolicy = Literal["raise", "report"]
#: Bytes read at a time: large enough that Arrow's per-call cost vanishes, small enough
#: that memory stays bounded whatever the file's size.
BLOCK_BYTES = 4 << 20


class FixedWidthReader:
    """Reads fixed-width text: each record is a line (LF, CRLF or EBCDIC NL), or, when the
    layout sets ``record_length``, a run of that many bytes with no separators.

    Options: ``layout`` (path of a TOML layout; without one the first line is a header
    whose names start at their fields' columns, and every field is text), ``encoding``
    (any Python codec, e.g. ``cp037`` for EBCDIC; default UTF-8, BOM allowed),
    ``on_bad_row`` (``"raise"``, or ``"report"``: a short record or a value that does not
    parse becomes an Issue on ``frames.issues`` and its row is set aside). Row numbers are
    line numbers (record numbers for fixed-length records), counted from 1.
    """

    format: ClassVar[str] = "fixedwidth"
    #: None: fixed-width exports share their suffixes (.txt, .dat) with other formats, so
    #: the reader is chosen by name (``format="fixedwidth"``), never by guessing.
    suffixes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, layout: str | os.PathLike[str] | None = None,
                 encoding: str = "utf-8", on_bad_row: BadRowPolicy = "raise") -> None:
        try:
            codec = codecs.lookup(encoding)
        except LookupError as exc:
            raise ConfigError(f"unknown encoding {encoding!r}") from exc
        if on_bad_row not in ("raise", "report"):
            raise ConfigError(f"on_bad_row must be 'raise' or 'report', got {on_bad_row!r}")
        # A UTF-8 file may start with a byte order mark; it is no part of the first record.
        self.encoding = "utf-8-sig" if codec.name == "utf-8" else codec.name
        self.layout = load_layout(layout) if layout is not None else None
        self.on_bad_row = on_bad_row

    def read(self, source: Source, *, schema: pa.Schema | None = None,
             batch_size: int = 65_536) -> Frames:
        """Stream the records of ``source`` as Frames (a ``schema`` is not needed: the
        layout types the columns)."""
        if isinstance(source, str | os.PathLike):
            name = os.fspath(source)
            try:
                stream: BinaryIO = open(name, "rb")  # noqa: SIM115 (closed by _Scan)
            except OSError as exc:
                raise ReadError(f"cannot open: {exc.strerror}", source=name) from exc
            size: int | None = Path(name).stat().st_size
        else:
            stream, name, size = source, str(getattr(source, "name", "<stream>")), None
        scan = _Scan(stream, name, self.encoding, self.layout,
                     owned=isinstance(source, str | os.PathLike))
        layout = scan.start()
        issues: list[Issue] = []
        frames = Frames(layout.schema, self._batches(scan, layout, issues),
                        batch_size=batch_size, source=name, issues=issues,
                        info={"format": self.format, "encoding": self.encoding.removesuffix(
                            "-sig"), "layout": layout.source or "header line",
                              "record_length": layout.record_length})
        if size:
            frames.fraction = lambda: min(1.0, scan.consumed / size)
        return frames

    def _batches(self, scan: _Scan, layout: Layout, issues: list[Issue]
                 ) -> Iterator[tuple[int, pa.RecordBatch]]:
        for first_row, records in scan.blocks():
            columns, problems = cut(records, layout)
            batch = pa.RecordBatch.from_arrays(columns, schema=layout.schema)
            if not problems:
                yield first_row, batch
                continue
            if self.on_bad_row == "raise":
                raise _read_error(problems[0], first_row, scan.name)
            issues.extend(_issue(p, first_row, scan.name) for p in problems)
            yield from _between(batch, first_row, [p.index for p in problems])


class _Scan:
    """One pass over the bytes of a source: decoded blocks of whole records."""

    def __init__(self, stream: BinaryIO, name: str, encoding: str, layout: Layout | None,
                 *, owned: bool) -> None:
        self.stream = stream
        self.owned = owned  # a file this reader opened, so closes
        self.name = name
        self.encoding = encoding
        self.layout = layout
        self.consumed = 0  # bytes read so far, for frames.fraction
        self.records = 0  # records (or lines) handed on or skipped so far
        self._first: list[pa.StringArray] = []  # what start() read ahead
        self._rest: Iterator[pa.StringArray] = iter(())

    def start(self) -> Layout:
        """The layout, reading the header line when there is no layout given."""
        if self.layout is not None:
            return self.layout
        blocks = self._lines()
        for block in blocks:
            if len(block):
                self.layout = from_header(block[0].as_py(), self.name)
                self.records = 1
                self._first = [block.slice(1)]
                self._rest = blocks
                return self.layout
        self._close()
        raise ReadError("no header line, so no field names", source=self.name,
                        hint="Pass layout= the file's TOML layout")

    def blocks(self) -> Iterator[tuple[int, pa.StringArray]]:
        """(row number of the first record, the records) for every block."""
        assert self.layout is not None
        if self._first:
            source: Iterator[pa.StringArray] = _chain(self._first, self._rest)
        elif self.layout.record_length:
            source = self._fixed_length(self.layout.record_length)
        else:
            source = self._lines()
        skip = self.layout.skip_lines - self.records
        for records in source:
            if skip > 0:
                skipped, records = records[:skip], records.slice(min(skip, len(records)))
                self.records += len(skipped)
                skip -= len(skipped)
            if len(records):
                yield self.records + 1, records
                self.records += len(records)

    def _read(self) -> Iterator[bytes]:
        try:
            while raw := self.stream.read(BLOCK_BYTES):
                self.consumed += len(raw)
                yield raw
        finally:
            self._close()

    def _close(self) -> None:
        if self.owned:
            self.stream.close()

    def _lines(self) -> Iterator[pa.StringArray]:
        decoder = codecs.getincrementaldecoder(self.encoding)()
        rest, lines = "", 0
        for raw in _ending(self._read()):
            final = raw is None
            try:
                text = rest + decoder.decode(raw or b"", final=final)
            except UnicodeDecodeError as exc:
                line = lines + 1 + (rest + (raw or b"")[:exc.start].decode(
                    self.encoding, "replace")).count("\n")
                raise ReadError(f"bytes that are not {self.encoding.removesuffix('-sig')} "
                                f"({exc.reason})", source=self.name, line=line,
                                hint="Pass the file's encoding= (cp037 for EBCDIC, "
                                     "latin-1, ...)") from exc
            # Lines end in LF, CRLF, or NL (EBCDIC's line end, U+0085 once decoded).
            text = text.replace("\r\n", "\n").replace("\x85", "\n")
            end = len(text) if final else text.rfind("\n") + 1
            whole, rest = text[:end], text[end:]
            if whole.endswith("\n"):
                whole = whole[:-1]
            elif not whole:
                continue
            # Split in Arrow: one call, no Python string a line.
            block = pc.split_pattern(pa.array([whole], pa.string()), "\n").flatten()
            lines += len(block)
            yield block

    def _fixed_length(self, length: int) -> Iterator[pa.StringArray]:
        rest, number = b"", 0
        for raw in _ending(self._read()):
            data = rest + (raw or b"")
            end = len(data) if raw is None else len(data) - len(data) % length
            whole, rest = data[:end], data[end:]
            if not whole:
                continue
            hint = "Pass encoding= the file's code page (cp037, latin-1, ...)"
            try:
                text = whole.decode(self.encoding)
            except UnicodeDecodeError as exc:
                raise ReadError(f"bytes that are not {self.encoding.removesuffix('-sig')} "
                                f"({exc.reason})", source=self.name,
                                line=number + exc.start // length + 1, hint=hint) from exc
            if len(text) != len(whole):
                raise ReadError(f"fixed-length records need an encoding of one byte a "
                                f"character, and {self.encoding} is not one here",
                                source=self.name, line=number + 1, hint=hint)
            block = _cut_every(text, length)
            number += len(block)
            yield block


def _ending(blocks: Iterator[bytes]) -> Iterator[bytes | None]:
    """The blocks, then None to say the source has ended."""
    yield from blocks
    yield None


def _chain(first: list[pa.StringArray], rest: Iterator[pa.StringArray]
           ) -> Iterator[pa.StringArray]:
    yield from first
    yield from rest


def _cut_every(text: str, length: int) -> pa.StringArray:
    """``text`` as records of ``length`` characters (the last may be shorter), cut with
    offsets into its UTF-8 bytes rather than one Python string a record."""
    data = text.encode("utf-8")
    count = -(-len(text) // length)
    if len(data) == len(text):  # ASCII: characters are bytes
        offsets = np.minimum(np.arange(count + 1, dtype=np.int64) * length, len(data))
    else:
        octets = np.frombuffer(data, dtype=np.uint8)
        starts = np.flatnonzero((octets & 0xC0) != 0x80)  # where each character begins
        offsets = np.append(starts[::length], len(data))
    return pa.StringArray.from_buffers(count, pa.py_buffer(offsets.astype(np.int32).tobytes()),
                                       pa.py_buffer(data))


def _between(batch: pa.RecordBatch, first_row: int, skipped: list[int]
             ) -> Iterator[tuple[int, pa.RecordBatch]]:
    """The runs of ``batch`` between the rows at ``skipped`` (sorted), with row numbers."""
    start = 0
    for index in [*skipped, batch.num_rows]:
        if index > start:
            yield first_row + start, batch.slice(start, index - start)
        start = index + 1


def _issue(problem: Problem, first_row: int, source: str) -> Issue:
    return Issue(code=problem.code, message=problem.message, row=first_row + problem.index,
                 field=problem.field, value=problem.value, source=source)


def _read_error(problem: Problem, first_row: int, source: str) -> ReadError:
    return ReadError(problem.message, source=source, line=first_row + problem.index,
                     column=problem.field,
                     hint="Check the layout against the file, or pass on_bad_row='report' "
                          "to set such records aside as issues and read the rest")
