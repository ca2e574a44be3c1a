"""CSV and TSV: sniffed delimiter, detected encoding, text kept as text, nothing lost.

Parsing is pyarrow's streaming CSV reader, single-threaded so that every bad row comes
with its row number. Values stay text unless a schema says otherwise (``007`` stays
``007``; ``NA``, ``null`` and the empty string stay distinct). Structural problems (wrong
number of fields, an unterminated quote, a duplicate or blank header, invalid bytes) raise
:class:`~ldtransform.errors.ReadError` naming the physical line, or, with
``on_bad_row="report"``, become :class:`~ldtransform.protocols.Issue` values on
``frames.issues`` that keep the raw text of the row.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import ClassVar, Literal

import pyarrow as pa
import pyarrow.csv as pacsv

from ldtransform.errors import ConfigError, ReadError
from ldtransform.frames import Frames
from ldtransform.protocols import Issue, Source
from ldtransform.readers import _csvtext, _vetting
from ldtransform.readers._text import (
    SAMPLE_BYTES,
    Opened,
    detect_encoding,
    invalid_bytes_error,
    open_binary,
)

__all__ = ["CsvReader"]

BadRowPolicy = Literal["raise", "report"]


class CsvReader:
    """Reads delimited text (``.csv``, ``.tsv``, gzip-compressed too).

    Options: ``encoding`` (codec name, ``"auto"``, or ``None`` for UTF-8 unless a BOM says
    otherwise), ``delimiter`` (sniffed among ``, ; TAB |`` when ``None``), ``header_row``
    (1-based row of the header, lines above it skipped; ``None`` for no header, columns
    ``column_1``…), ``on_bad_row`` (``"raise"`` or ``"report"``).
    """

    format: ClassVar[str] = "csv"
    suffixes: ClassVar[tuple[str, ...]] = (".csv", ".tsv", ".tab", ".csv.gz", ".tsv.gz")

    def __init__(
        self,
        *,
        encoding: str | None = None,
        delimiter: str | None = None,
        header_row: int | None = 1,
        on_bad_row: BadRowPolicy = "raise",
    ) -> None:
        if delimiter is not None and len(delimiter) != 1:
            raise ConfigError(f"delimiter must be one character, got {delimiter!r}")
        if header_row is not None and header_row < 1:
            raise ConfigError(f"header_row counts from 1 (or None for no header), "
                              f"got {header_row}")
        if on_bad_row not in ("raise", "report"):
            raise ConfigError(f"on_bad_row must be 'raise' or 'report', got {on_bad_row!r}")
        self.encoding = encoding
        self.delimiter = delimiter
        self.header_row = header_row
        self.on_bad_row = on_bad_row

    def read(
        self, source: Source, *, schema: pa.Schema | None = None, batch_size: int = 65_536
    ) -> Frames:
        """Stream ``source`` as Frames of at most ``batch_size`` rows."""
        opened = open_binary(source)
        sample = opened.sample()
        _vetting.check_text(sample, self.encoding, opened.name,
                            whole=len(sample) < SAMPLE_BYTES)
        encoding, how = detect_encoding(sample, self.encoding, source=opened.name)
        text = _csvtext.decode_sample(sample, encoding, opened.name)
        skipped = (self.header_row or 1) - 1
        delimiter = self.delimiter or _csvtext.sniff_delimiter(text, skipped)
        header = _csvtext.header_names(text, delimiter, self.header_row, opened.name)
        hint = _vetting.delimiter_hint(header or [], self.delimiter,
                                       _csvtext.sniff_delimiter(text, skipped)
                                       ) if self.delimiter else None
        info = {
            "format": self.format,
            "encoding": encoding,
            "encoding_source": how,
            "delimiter": delimiter,
            "header_row": self.header_row,
            "compressed": opened.compressed,
        }
        if header is None:  # no header within the file: nothing to read, nothing lost
            return Frames(pa.schema([]), iter(()), source=opened.name, info=info)
        columns = pa.schema([
            pa.field(name, schema.field(name).type if schema and name in schema.names
                     else pa.string())
            for name in header
        ])
        parse = _Parse(self, opened, encoding, delimiter, columns, sample, batch_size)
        if hint:
            parse.delimiter_hint = hint
            parse.issues.append(Issue(code="delimiter-hint", message=hint, row=skipped + 1,
                                      severity="warning", source=opened.name))
        frames = Frames(columns, parse.batches(), batch_size=batch_size, source=opened.name,
                        info=info, issues=parse.issues)
        if opened.path is not None and not opened.compressed:
            size = opened.path.stat().st_size - opened.start
            frames.fraction = lambda: parse.fraction(size)
        return frames


class _Parse:
    """One streaming parse of a CSV source, turning pyarrow's errors into ours."""

    def __init__(self, reader: CsvReader, opened: Opened, encoding: str, delimiter: str,
                 schema: pa.Schema, sample: bytes, batch_size: int) -> None:
        self.reader = reader
        self.opened = opened
        self.encoding = encoding
        self.delimiter = delimiter
        self.schema = schema
        self.issues: list[Issue] = []
        self.bad_rows: list[pacsv.InvalidRow] = []
        self.block_size = _csvtext.block_size_for(sample, batch_size)
        self.stream: _csvtext.PacedStream | None = None
        self.delimiter_hint: str | None = None

    def _on_invalid_row(self, row: pacsv.InvalidRow) -> str:
        self.bad_rows.append(row)
        if self.reader.on_bad_row == "raise":
            return "error"
        self.issues.append(_csvtext.bad_row_issue(row, self.opened.name))
        return "skip"

    def _open(self) -> tuple[pacsv.CSVStreamingReader, _csvtext.PacedStream]:
        header_row = self.reader.header_row
        read_options = pacsv.ReadOptions(
            use_threads=False,  # keeps row numbers on invalid rows
            block_size=self.block_size,
            skip_rows=(header_row or 1) - 1,
            column_names=None if header_row else self.schema.names,
            encoding="utf8" if self.encoding in ("utf-8", "utf-8-sig") else self.encoding,
        )
        parse_options = pacsv.ParseOptions(
            delimiter=self.delimiter,
            newlines_in_values=True,
            ignore_empty_lines=False,  # an empty line is a row; row numbers stay true
            invalid_row_handler=self._on_invalid_row,
        )
        convert_options = pacsv.ConvertOptions(
            column_types={field.name: field.type for field in self.schema},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            null_values=[],
            true_values=["true", "True", "TRUE"],
            false_values=["false", "False", "FALSE"],
            check_utf8=True,
        )
        self.stream = _csvtext.PacedStream(
            self.opened.reopen(), count_quotes=_csvtext.ascii_compatible(self.encoding))
        reader = pacsv.open_csv(self.stream, read_options=read_options,
                                parse_options=parse_options, convert_options=convert_options)
        return reader, self.stream

    def fraction(self, size: int) -> float | None:
        """How far through the file the parser has read (for a progress bar)."""
        if self.stream is None or size <= 0:
            return None
        return min(1.0, self.stream.bytes_read / size)

    def batches(self) -> Iterator[tuple[int, pa.RecordBatch]]:
        """Yield ``(first row, batch)``; rows skipped as bad leave gaps in the numbering."""
        next_row = (self.reader.header_row or 0) + 1
        # Bad rows the parser reported that are not yet placed among a batch's rows.
        taken, pending = 0, list[int]()
        try:
            reader, stream = self._open()
            while True:
                stream.allow_one_more()
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    self._check_final_quote()
                    return
                pending.extend(r.number for r in self.bad_rows[taken:] if r.number)
                taken = len(self.bad_rows)
                skipped = _csvtext.gaps_within(pending, next_row, batch.num_rows)
                yield from _csvtext.split_at_gaps(batch, next_row, skipped)
                next_row += batch.num_rows + len(skipped)
        except (pa.ArrowInvalid, UnicodeDecodeError, OSError, EOFError) as exc:
            raise self._explain(exc) from exc

    def _check_final_quote(self) -> None:
        """Catch a quote left open at the end of the file, which pyarrow accepts.

        An odd number of quote characters is the cheap sign; Python's csv module in strict
        mode then finds the record (a stray quote inside an unquoted field is legal).
        """
        stream = self.stream
        if stream is None or not stream.count_quotes or stream.quotes % 2 == 0:
            return
        found = _csvtext.find_unterminated_quote(self._text_stream(), self.delimiter)
        if found is None:
            return
        row, line, text = found
        if self.reader.on_bad_row == "report":
            self.issues.append(Issue(code="unterminated-quote", row=row, value=text,
                                     source=self.opened.name,
                                     message=_csvtext.UNTERMINATED_QUOTE))
            return
        raise ReadError(_csvtext.UNTERMINATED_QUOTE, source=self.opened.name, line=line, row=row,
                        hint="Close the quote (a quote inside a quoted value is written "
                        'twice: "")')

    def _explain(self, exc: Exception) -> ReadError:
        """Turn a pyarrow/codec failure into a ReadError with the physical line."""
        name = self.opened.name
        if isinstance(exc, UnicodeDecodeError) or "invalid UTF8" in str(exc):
            return invalid_bytes_error(self.opened.reopen(), self.encoding, name,
                                       requested=self.reader.encoding)
        if self.bad_rows:
            row = self.bad_rows[-1]
            line = _csvtext.physical_line(self._text_stream(), self.delimiter, row.number)
            code, problem = _csvtext.describe_bad_row(row)
            return ReadError(problem, source=name, line=line, row=row.number,
                             hint=self.delimiter_hint or "Fix the row, or read with "
                             "on_bad_row='report' to collect such rows as issues "
                             f"({code}) and go on")
        return ReadError(f"cannot parse as CSV: {exc}", source=name)

    def _text_stream(self) -> io.TextIOWrapper:
        return io.TextIOWrapper(self.opened.reopen(), encoding=self.encoding, newline="")

