"""The small text-level decisions of the CSV reader: sniffing, headers, row bookkeeping."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TextIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ldtransform import issue_codes as codes
from ldtransform.errors import ReadError
from ldtransform.protocols import Issue
from ldtransform.readers._text import column_letter, invalid_bytes_error

DELIMITERS = (",", "\t", ";", "|")
SNIFF_RECORDS = 200


STRAY_QUOTE = ("a quote closes the value but more text follows it before the next "
               "{delimiter}, so the value cannot be read as written")
UNTERMINATED_QUOTE = ("a quoted field opened in this row is never closed, so the rest of "
                      "the file was read as one value")


def decode_sample(sample: bytes, encoding: str, source: str) -> str:
    """Decode the leading bytes, ignoring a multi-byte character cut at the end."""
    try:
        return codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
    except UnicodeDecodeError:
        raise invalid_bytes_error(sample, encoding, source) from None


LINE_END = re.compile(r"\r\n|\n|\r")


def _records(text: str, skip_lines: int, delimiter: str) -> list[list[str]]:
    body = text
    for _ in range(skip_lines):  # title lines above the header, as pyarrow skips them
        end = LINE_END.search(body)
        body = body[end.end():] if end else ""
    records: list[list[str]] = []
    try:
        for record in csv.reader(io.StringIO(body, newline=""), delimiter=delimiter):
            records.append(record)
            if len(records) > SNIFF_RECORDS:
                break
    except csv.Error:
        pass  # a sample cut inside a quoted field: judge on what parsed
    # The last record may be cut by the sample's end; it does not vote.
    return records[:-1] if len(records) > 1 else records


def sniff_delimiter(text: str, skip_lines: int) -> str:
    """The delimiter that splits the sample into the most consistent number of fields."""
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        counts = [len(r) for r in _records(text, skip_lines, delimiter) if r]
        if not counts:
            continue
        common = max(set(counts), key=counts.count)
        if common < 2:
            continue
        score = (counts.count(common) / len(counts), common)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def header_names(text: str, delimiter: str, header_row: int | None, source: str
                 ) -> list[str] | None:
    """Column names from the header row (or ``column_N``); ``None`` for an empty file."""
    records = _records(text + "\n", (header_row or 1) - 1, delimiter)
    if not records or not records[0]:
        return None
    first = records[0]
    if header_row is None:
        return [f"column_{i + 1}" for i in range(len(first))]
    seen: dict[str, int] = {}
    for index, name in enumerate(first):
        where = f"column {index + 1} ({column_letter(index)})"
        if not name.strip():
            raise ReadError(f"the header of {where} is blank", source=source,
                            line=header_row, hint="Name every column in the header row, "
                            "or read with header_row=None to number the columns")
        if name in seen:
            other = seen[name]
            raise ReadError(
                f"header name {name!r} appears twice, in column {other + 1} "
                f"({column_letter(other)}) and {where}", source=source, line=header_row,
                hint="Rename one of the columns so every name is unique")
        seen[name] = index
    return first


QUOTE, CR, LF = ord('"'), ord("\r"), ord("\n")
MAX_ROW_MIB = 16
MAX_ROW_BYTES = MAX_ROW_MIB << 20  # the longest row read: pyarrow parses whole rows per block


def block_size_for(sample: bytes, batch_size: int, *, bulk: bool = False) -> int:
    """Bytes per parse block: about ``batch_size`` rows, but at least 64 KiB and at most
    128 KiB, or 512 KiB read in bulk.

    Each block becomes one batch. pyarrow reads up to 32 blocks ahead, so small blocks keep
    a stream's memory flat (128 KiB blocks hold 4 MiB there); every batch costs the same
    handful of steps, so a consumer that joins batches anyway (validation) asks for bulk,
    which makes fewer and holds 16 MiB ahead. A row longer than a block makes the reader
    start again with bigger ones.
    """
    per_row = len(sample) / max(sample.count(b"\n"), 1)
    return int(min(max(per_row * batch_size * 1.1, 1 << 16), 1 << (19 if bulk else 17)))


def row_too_long(exc: Exception) -> bool:
    """Whether pyarrow failed because a row did not fit in a block."""
    return "straddl" in str(exc)


def locate_long_row(stream: pa.NativeFile, delimiter: str, limit: int
                    ) -> tuple[int, int, int] | None:
    """``(row, line, 0-based column)`` where a record of UTF-8 CSV first runs past
    ``limit`` bytes, or ``None``. Rows count every record from 1, as the reader does."""
    special = re.compile(b"[" + re.escape(delimiter.encode()) + b'"\r\n]')
    quote, separator, cr, lf = ord('"'), ord(delimiter), ord("\r"), ord("\n")
    row, line, column, start, base, quoted, crlf = 1, 1, 0, 0, 0, False, -1
    while chunk := stream.read(1 << 20):
        for match in special.finditer(chunk):
            position = base + match.start()
            if position - start > limit:
                return row, line, column
            char = chunk[match.start()]
            if char == quote:
                quoted = not quoted
            elif quoted:
                line += char == lf
            elif char == separator:
                column += 1
            elif char == lf and position == crlf:  # the LF of a CRLF
                start = position + 1
            else:  # a line ending ends the record
                row, line, column, start = row + 1, line + 1, 0, position + 1
                crlf = position + 1 if char == cr else -1
        base += len(chunk)
        if base - start > limit:
            return row, line, column
    return None


def opening_quote_of(value: str) -> bytes:
    """How a file ends when ``value`` is its last value and its quote was never closed."""
    return ('"' + value.replace('"', '""')).encode()


def describe_bad_row(row: pacsv.InvalidRow) -> tuple[str, str]:
    """``(issue code, message)`` for a row pyarrow could not split as the header says."""
    if row.text.count('"') % 2:
        return codes.UNTERMINATED_QUOTE, UNTERMINATED_QUOTE
    kind = (codes.TOO_MANY_FIELDS if row.actual_columns > row.expected_columns
            else codes.TOO_FEW_FIELDS)
    return kind, (f"the row has {row.actual_columns} fields but the header has "
                  f"{row.expected_columns}")


def bad_row_issue(row: pacsv.InvalidRow, source: str) -> Issue:
    """An Issue keeping the raw text of a row that was skipped."""
    code, message = describe_bad_row(row)
    return Issue(code=code, message=message, row=row.number, value=row.text, source=source)


def gaps_within(pending: list[int], first_row: int, num_rows: int) -> list[int]:
    """Take from ``pending`` (sorted) the skipped rows that fall among a batch's rows."""
    end, taken = first_row + num_rows, 0
    while taken < len(pending) and pending[taken] < end:
        taken += 1
        end += 1
    gaps, pending[:] = pending[:taken], pending[taken:]
    return gaps


def split_at_gaps(batch: pa.RecordBatch, first_row: int, skipped: list[int]
                  ) -> Iterator[tuple[int, pa.RecordBatch]]:
    """Slice ``batch`` so each piece covers consecutive rows around skipped row numbers."""
    offset, row = 0, first_row
    for gap in skipped:
        count = gap - row
        if count > 0:
            yield row, batch.slice(offset, count)
            offset += count
        row = gap + 1
    if offset < batch.num_rows:
        yield row, batch.slice(offset)


def physical_line(text: TextIO, delimiter: str, row: int | None) -> int | None:
    """The physical line on which row ``row`` (counting every record from 1) starts."""
    if row is None:
        return None
    reader = csv.reader(text, delimiter=delimiter)
    start = 1
    try:
        for number, _ in enumerate(reader, start=1):
            if number == row:
                return start
            start = reader.line_num + 1
    except csv.Error:
        return start  # the record that could not be parsed starts here
    finally:
        text.close()
    return start


def find_unterminated_quote(text: TextIO, delimiter: str) -> tuple[int, int, str] | None:
    """``(row, start line, text from there)`` of a quote never closed, or ``None``."""
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    records, start = 0, 1
    try:
        for _ in reader:
            records += 1
            start = reader.line_num + 1
    except csv.Error:
        text.seek(0)
        lines = text.readlines()[start - 1:start + 2]
        return records + 1, start, "".join(lines)
    finally:
        text.close()
    return None


class StrayQuoteScan:
    """A fast pass for a quote with text right before and after it (``"ab"c``), over
    1 MiB chunks of UTF-8 CSV, kept a chunk ahead of the parser on a thread of its own
    (numpy compares whole chunks without the GIL, while pyarrow parses).

    Legal CSV has such a quote only inside an unquoted value (``ab"c``), which is rare,
    so the exact and slower :func:`stray_quotes` seldom runs.
    """

    CHUNK = 1 << 20

    def __init__(self, streams: tuple[pa.NativeFile, pa.NativeFile], delimiter: str) -> None:
        self.stream, self.raw = streams
        # A legal quote stands next to the delimiter, another quote or a line end.
        self.delimiter = ord(delimiter)
        self.carry = np.full(2, LF, dtype=np.uint8)  # the last bytes of the chunk before
        self.work = (np.empty(self.CHUNK + 2, np.uint8), *(np.empty(self.CHUNK + 2, bool)
                                                          for _ in range(3)))
        self.last: list[pa.Buffer] = []  # the last chunks scanned, for the end-of-file check
        self.chunks = 0  # how many were scanned
        self.reached = 0
        self.done = self.at_end = False
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="ldtransform-csv-scan")
        self.ahead: Future[tuple[bool, int | None]] | None = None

    def _next_chunk(self) -> tuple[bool, int | None]:
        """Scan one chunk: (a candidate seen, where the raw stream stands; None at the end)."""
        chunk = self.stream.read_buffer(self.CHUNK)
        if not chunk.size:
            return False, None
        self.last = [*self.last[-1:], chunk]
        self.chunks += 1
        data = np.frombuffer(chunk, dtype=np.uint8)
        size = data.size + 2
        text, quote, special, plain = (work[:size] for work in self.work)
        text[:2], text[2:] = self.carry, data  # two bytes of the chunk before, or blanks
        # A quote whose neighbours are both plain bytes (whole-array compares, into buffers
        # kept from chunk to chunk: a CSV file can hold tens of millions of quotes).
        np.equal(text, QUOTE, out=quote)
        np.equal(text, self.delimiter, out=special)
        special |= quote
        for line_end in (CR, LF):
            special |= np.equal(text, line_end, out=plain)
        np.logical_or(special[:-2], special[2:], out=plain[:-2])
        np.logical_not(plain[:-2], out=plain[:-2])
        plain[:-2] &= quote[1:-1]
        found = bool(plain[:-2].any())
        self.carry = text[-2:].copy()
        return found, int(self.raw.tell())

    def found_up_to(self, position: int | None) -> bool:
        """Scan on until the raw stream stands at ``position`` (the end when ``None``):
        True on a candidate."""
        while not self.done and (position is None or self.reached < position):
            ahead = self.ahead or self.pool.submit(self._next_chunk)
            self.ahead = None
            found, reached = ahead.result()
            if reached is None:
                self.done = self.at_end = True
                break
            self.reached = reached
            if found:
                return True
        if not self.done and self.ahead is None:
            self.ahead = self.pool.submit(self._next_chunk)
        return False

    def ends_with(self, suffix: bytes) -> bool | None:
        """Whether the text ends with ``suffix``; ``None`` when this scan cannot tell."""
        tail = b"".join(chunk.to_pybytes() for chunk in self.last)
        whole = self.chunks == len(self.last)  # every byte scanned is in tail
        if not self.at_end or (len(suffix) > len(tail) and not whole):
            return None
        return tail.endswith(suffix)

    def close(self) -> None:
        self.done = True
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.stream.close()
        self.raw.close()


def stray_quotes(text: TextIO, delimiter: str) -> list[tuple[int, int, int, str]]:
    """``(row, line, 0-based column, raw text)`` of each record where a closing quote is
    followed by more text. Python's csv module in strict mode finds them."""
    fed: list[str] = []

    def lines() -> Iterator[str]:
        for line in text:
            fed.append(line)
            yield line

    reader = csv.reader(lines(), delimiter=delimiter, strict=True)
    found, row, line = [], 0, 1
    try:
        while True:
            fed.clear()
            try:
                next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                if "expected after" not in str(exc):
                    break  # a quote never closed: the end-of-file check reports it
                raw = "".join(fed)
                found.append((row + 1, line, stray_column(raw, delimiter), raw))
            row += 1
            line = reader.line_num + 1
    finally:
        text.close()
    return found


def stray_column(raw: str, delimiter: str) -> int:
    """The 0-based column of the first stray quote in the raw text of one record."""
    column, quoted, at_start, index = 0, False, True, 0
    while index < len(raw):
        char = raw[index]
        if quoted and char == '"':
            if raw[index + 1:index + 2] == '"':
                index += 1  # a doubled quote inside a quoted value
            elif raw[index + 1:index + 2] not in (delimiter, "\r", "\n", ""):
                return column
            else:
                quoted = False
        elif not quoted and char == '"' and at_start:
            quoted = True
        elif not quoted and char == delimiter:
            column += 1
            at_start = True
            index += 1
            continue
        at_start = False
        index += 1
    return column


def drop_rows(pieces: list[tuple[int, pa.RecordBatch]], rows: set[int]
              ) -> list[tuple[int, pa.RecordBatch]]:
    """``pieces`` without the given row numbers."""
    if not rows:
        return pieces
    kept = []
    for first, piece in pieces:
        start = first
        for row in sorted(r for r in rows if first <= r < first + piece.num_rows):
            if row > start:
                kept.append((start, piece.slice(start - first, row - start)))
            start = row + 1
        if start < first + piece.num_rows:
            kept.append((start, piece.slice(start - first)))
    return kept
