"""CSV and TSV: sniffed delimiter, detected encoding, text kept as text, nothing lost.

Parsing is pyarrow's streaming CSV reader, single-threaded so that every bad row comes
with its row number. Values stay text unless a schema says otherwise (``007`` stays
``007``; ``NA``, ``null`` and the empty string stay distinct). Structural problems (wrong
number of fields, an unterminated quote, text after a closing quote as in ``"ab"c``, a row
over 16 MiB, a duplicate or blank header, invalid bytes) raise
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

from ldtransform import issue_codes as codes
from ldtransform.errors import ConfigError, ReadError
from ldtransform.frames import Frames
from ldtransform.protocols import Issue, Source
from ldtransform.readers import _csvtext, _vetting
from ldtransform.readers._text import (
    SAMPLE_BYTES,
    Opened,
    Utf8Text,
    column_letter,
    detect_encoding,
    invalid_bytes_error,
    open_binary,
    utf8_text,
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
            parse.issues.append(Issue(code=codes.DELIMITER_HINT, message=hint, row=skipped + 1,
                                      severity="warning", source=opened.name))
        parse.binary = "\x00" in text  # NUL is no character of any text file
        frames = Frames(columns, parse.batches(), batch_size=batch_size, source=opened.name,
                        info=info, issues=parse.issues)
        if opened.path is not None and not opened.compressed:
            size = opened.path.stat().st_size - opened.start
            frames.fraction = lambda: parse.fraction(size)
        frames.read_in_bulk = parse.read_in_bulk
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
        self.reported = 0  # the last bad row made an Issue (a new attempt meets it again)
        self.block_size = _csvtext.block_size_for(sample, batch_size)
        self.bulk_block_size = _csvtext.block_size_for(sample, batch_size, bulk=True)
        self.resume = (reader.header_row or 0) + 1  # the first row not yet handed on
        self.strays: set[int] = set()  # rows with a stray quote: reported, not handed on
        self.text: Utf8Text | None = None
        self.scan: _csvtext.StrayQuoteScan | None = None
        self.stream: pa.NativeFile | None = None
        self.delimiter_hint: str | None = None
        self.raw: pa.NativeFile | None = None  # what self.stream decompresses, or itself
        self.finished = False
        self.binary = False  # whether the start of the source holds NUL characters

    def _on_invalid_row(self, row: pacsv.InvalidRow) -> str:
        self.bad_rows.append(row)
        if row.number in self.strays:
            return "skip"  # reported once, as a stray quote
        if self.reader.on_bad_row == "raise":
            return "error"
        if row.number is None or row.number > self.reported:
            self.issues.append(_csvtext.bad_row_issue(row, self.opened.name))
            self.reported = row.number or self.reported
        return "skip"

    def _open(self, text: Utf8Text) -> pacsv.CSVStreamingReader:
        header_row = self.reader.header_row
        read_options = pacsv.ReadOptions(
            use_threads=False,  # keeps row numbers on invalid rows
            block_size=self.block_size,
            skip_rows=(header_row or 1) - 1,
            column_names=None if header_row else self.schema.names,
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
        self.stream, self.raw = text.open_with_raw()
        return pacsv.open_csv(self.stream, read_options=read_options,
                              parse_options=parse_options, convert_options=convert_options)

    def read_in_bulk(self) -> None:
        """Parse in bigger blocks, unless the parse has begun."""
        if self.text is None:
            self.block_size = self.bulk_block_size

    def fraction(self, size: int) -> float | None:
        """How far through the file the parser has read (for a progress bar)."""
        if self.finished:
            return 1.0
        stream = self.stream
        if stream is None or size <= 0:
            return None
        try:  # asked from another thread: the read may close the stream meanwhile
            return min(1.0, int(stream.tell()) / size)
        except (OSError, ValueError, pa.ArrowException):
            return None

    def _read_so_far(self) -> int | None:
        """Where pyarrow's read-ahead stands in the raw bytes, with a margin for the
        bytes a decompressor has read but not yet given out."""
        if self.raw is None or self.text is None:
            return None
        return int(self.raw.tell()) + ((1 << 20) if self.text.gzip else 0)

    def batches(self) -> Iterator[tuple[int, pa.RecordBatch]]:
        """Yield ``(first row, batch)``; rows skipped as bad leave gaps in the numbering.

        A row longer than a block makes pyarrow fail; the parse then starts again with
        bigger blocks and hands on only the rows not handed on before.
        """
        try:
            self.text = text = utf8_text(self.opened, self.encoding)
            self.scan = _csvtext.StrayQuoteScan(text.open_with_raw(), self.delimiter)
            while True:
                try:
                    yield from self._attempt(text)
                    self.finished = True
                    return
                except pa.ArrowInvalid as exc:
                    if not _csvtext.row_too_long(exc):
                        raise
                    if self.block_size >= _csvtext.MAX_ROW_BYTES:
                        raise self._row_too_long(text) from exc
                    self.block_size = min(self.block_size * 4, _csvtext.MAX_ROW_BYTES)
        except (pa.ArrowInvalid, UnicodeDecodeError, OSError, EOFError) as exc:
            raise self._explain(exc) from exc
        finally:
            if self.stream is not None:
                self.stream.close()
            if self.raw is not None:
                self.raw.close()
            if self.scan is not None:
                self.scan.close()
            if self.text is not None:
                self.text.close()

    def _attempt(self, text: Utf8Text) -> Iterator[tuple[int, pa.RecordBatch]]:
        next_row = (self.reader.header_row or 0) + 1
        # Bad rows the parser reported that are not yet placed among a batch's rows.
        self.bad_rows, pending = [], list[int]()
        # The last batch's rows wait for the next one: at the end of the file its last
        # row may turn out to be an unterminated quote, to report rather than hand on.
        held: list[tuple[int, pa.RecordBatch]] = []
        last_value = None
        reader = self._open(text)
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                self._check_stray_quotes(None)
                last_row = held[-1][0] + held[-1][1].num_rows - 1 if held else None
                open_row = self._check_final_quote(text, last_value, last_row)
                yield from self._hand_on(held, before=open_row)
                return
            pending.extend(r.number for r in self.bad_rows if r.number)
            self.bad_rows.clear()
            skipped = _csvtext.gaps_within(pending, next_row, batch.num_rows)
            pieces = list(_csvtext.split_at_gaps(batch, next_row, skipped))
            next_row += batch.num_rows + len(skipped)
            if pieces:
                yield from self._hand_on(held)
                held = pieces
                last_value = batch.column(batch.num_columns - 1)[-1].as_py()

    def _hand_on(self, pieces: list[tuple[int, pa.RecordBatch]], before: int | None = None
                 ) -> Iterator[tuple[int, pa.RecordBatch]]:
        """Yield the rows of ``pieces`` not handed on by an earlier attempt (and, when
        ``before`` is given, only those before that row), leaving out stray quotes."""
        self._check_stray_quotes(None if before is not None else self._read_so_far())
        for row, piece in _csvtext.drop_rows(pieces, self.strays):
            if row < self.resume:
                piece = piece.slice(min(self.resume - row, piece.num_rows))
                row = self.resume
            if before is not None:
                piece = piece.slice(0, max(0, min(before - row, piece.num_rows)))
            if piece.num_rows:
                self.resume = row + piece.num_rows
                yield row, piece

    def _check_final_quote(self, text: Utf8Text, last_value: object, last_row: int | None
                           ) -> int | None:
        """Catch a quote left open at the end of the file, which pyarrow accepts; return
        its row when it is reported as an Issue (that row is then not handed on).

        pyarrow then reads everything after the quote as the last value of the last row,
        so the file ends with that quote and value; Python's csv module in strict mode
        confirms it (a stray quote inside an unquoted field is legal). A last column typed
        by the schema is checked by counting quotes.
        """
        if last_row is None:
            return None
        if isinstance(last_value, str):
            opening = _csvtext.opening_quote_of(last_value)
            ends = self.scan.ends_with(opening) if self.scan is not None else None
            if not (text.tail(len(opening)) == opening if ends is None else ends):
                return None
        elif not self._odd_quotes(text):
            return None
        found = _csvtext.find_unterminated_quote(self._text_stream(), self.delimiter)
        if found is None or found[0] != last_row or found[0] in self.strays:
            return None  # a row with a stray quote is already reported, once
        row, line, value = found
        if self.reader.on_bad_row == "report":
            self.issues.append(Issue(code=codes.UNTERMINATED_QUOTE, row=row, value=value,
                                     source=self.opened.name,
                                     message=_csvtext.UNTERMINATED_QUOTE))
            return row
        raise ReadError(_csvtext.UNTERMINATED_QUOTE, source=self.opened.name, line=line, row=row,
                        hint="Close the quote (a quote inside a quoted value is written "
                        'twice: "")')

    def _check_stray_quotes(self, position: int | None) -> None:
        """Find ``"ab"c`` (read by pyarrow, as by Python's csv, as ``abc``) in the text up
        to ``position``, which pyarrow has read: each such row becomes a ``stray-quote``
        Issue and is not handed on, or raises a ReadError."""
        scan = self.scan
        if scan is None or not scan.found_up_to(position):
            return
        scan.close()  # the exact pass below covers the whole file
        for row, line, column, raw in _csvtext.stray_quotes(self._text_stream(),
                                                            self.delimiter):
            if row < self.resume:
                continue  # the header, or a row already handed on (the fast pass missed it)
            name = column_letter(column)
            if column < len(self.schema):
                name += f" ({self.schema.names[column]})"
            problem = _csvtext.STRAY_QUOTE.format(delimiter=repr(self.delimiter))
            if self.reader.on_bad_row == "raise":
                raise ReadError(problem, source=self.opened.name, line=line, row=row,
                                column=name, hint="Quote the whole value and double the "
                                'quotes inside it ("ab""c"), or read with '
                                "on_bad_row='report' to collect such rows as issues "
                                "(stray-quote) and go on")
            self.strays.add(row)
            self.issues[:] = [i for i in self.issues if i.row != row]  # one Issue a row
            self.issues.append(Issue(code=codes.STRAY_QUOTE, message=problem, row=row,
                                     field=self.schema.names[column]
                                     if column < len(self.schema) else None,
                                     value=raw, source=self.opened.name))

    @staticmethod
    def _odd_quotes(text: Utf8Text) -> bool:
        quotes = 0
        with text.open() as stream:
            while chunk := stream.read(1 << 20):
                quotes += bytes(chunk).count(b'"')
        return quotes % 2 == 1

    def _row_too_long(self, text: Utf8Text) -> ReadError:
        """The error for a row longer than the longest the reader takes."""
        with text.open() as stream:
            found = _csvtext.locate_long_row(stream, self.delimiter, _csvtext.MAX_ROW_BYTES)
        row, line, column = found if found else (self.resume, None, None)
        name = None
        if column is not None:
            header = self.schema.names[column] if column < len(self.schema) else None
            name = f"{column_letter(column)}" + (f" ({header})" if header else "")
        return ReadError(
            f"the row is longer than {_csvtext.MAX_ROW_MIB} MiB, the most one row may hold",
            source=self.opened.name, line=line, row=row, column=name,
            hint="Check that this is the CSV file you meant (not a binary or compressed "
            "file, and with its quotes closed); split values this long into several rows")

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
        if self.binary:
            return ReadError("not a text file: it holds NUL bytes", source=name,
                             hint="Check that this is the CSV file you meant")
        return ReadError(f"cannot parse as CSV: {exc}", source=name)

    def _text_stream(self) -> io.TextIOWrapper:
        return io.TextIOWrapper(self.opened.reopen(), encoding=self.encoding, newline="")
