"""Streaming the elements of a top-level JSON array out of a byte stream.

:class:`ArrayScanner` decodes text into a sliding buffer and hands out one element at a
time, so a file of any size is read in bounded memory. Errors are put in plain words.
"""

from __future__ import annotations

import codecs
import json
import json.scanner
import re
from collections.abc import Iterator
from typing import IO, Any

import orjson

from ldtransform.errors import ReadError

__all__ = ["CHUNK_BYTES", "SYNTAX_HINT", "ArrayScanner", "duplicate_key", "kind_of",
           "syntax_problem"]

#: Bytes the array scanner reads at a time (tests shrink it to cut elements anywhere).
CHUNK_BYTES = 1 << 20

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_SEPARATOR = re.compile(r"[ \t\n\r]*,[ \t\n\r]*")
_DECODE = json.JSONDecoder().raw_decode
#: The C scanner under raw_decode, called directly on the hot path.
_SCAN = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
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
SYNTAX_HINT = "Check for a missing comma, quote or bracket at that place"
_WHITESPACE_BYTES = b" \t\n\r"

def syntax_problem(message: str, text: str, pos: int) -> str:
    """A stdlib decoder message in plain words, with the text around ``pos``."""
    start = max(text.rfind("\n", 0, pos) + 1, pos - 30)
    end = text.find("\n", pos)
    near = text[start:min(pos + 30, len(text) if end < 0 else end)]
    return f"{_PROBLEMS.get(message, message)}; near {near!r}"


def duplicate_key(raw: str | bytes, value: dict[str, Any], start: int = 0,
                  end: int | None = None) -> str | None:
    """A property name that appears twice in one object of ``raw[start:end]``, the JSON
    text that parsed into ``value``; ``None`` when every name is unique.

    Parsers keep the last of two equal names without a word. Rather than parse again,
    cheap byte counts bound the names in the text from above and those in ``value`` from
    below; only when the bounds leave room for a duplicate is the text parsed again, name
    by name. A flat record without colons in its values costs one count; a record that
    is exactly its own compact JSON, one comparison more.
    """
    if isinstance(raw, str):
        raw = raw[start:end].encode("utf-8", "surrogatepass")
        start, end = 0, None
    end = len(raw) if end is None else end
    if raw.count(b":", start, end) <= len(value):
        return None  # every colon is a top-level name's
    try:
        compact = orjson.dumps(value)
    except orjson.JSONEncodeError:
        compact = b""  # an integer beyond 64 bits: no shortcut, no bound
    text = raw[start:end]
    if compact and text.startswith(compact) and not text[len(compact):].strip():
        return None  # the same text has the same names
    # Names end with a quote and a colon once whitespace is gone; in compact JSON so may
    # an escaped quote in a string ('\\":'), not counted.
    most = text.translate(None, _WHITESPACE_BYTES).count(b'":')
    fewest = max(len(value), compact.count(b'":') - compact.count(b'\\":'))
    if most <= fewest:
        return None
    return _first_duplicate(text.decode("utf-8", "surrogatepass"))


def _first_duplicate(text: str) -> str | None:
    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for name, _ in items:
            if name in seen and not found:
                found.append(name)
            seen.add(name)
        return dict(items)

    try:
        json.loads(text, object_pairs_hook=pairs)
    except (ValueError, RecursionError):
        return None  # the caller parsed it already; nothing more to learn
    return found[0] if found else None


def kind_of(value: Any) -> str:
    """What a JSON value is, in words ("an array", "a number", ...)."""
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(value), "a value")


class ArrayScanner:
    """The elements of a top-level JSON array, decoded one by one from a byte stream.

    Text is decoded into a sliding buffer. An element cut off at the end of the buffer
    fails to decode *near the end* (or as an unclosed string); then more is read and the
    element decoded again. Any other failure is a real syntax error. Invalid bytes raise
    :class:`UnicodeDecodeError` and I/O failures :class:`OSError`: the caller, which can
    reopen the source, says where.
    """

    def __init__(self, stream: IO[bytes], codec: str, source: str) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder(codec)()
        self._source = source
        self._buf = ""
        self._eof = False
        self._chars = 0  # absolute offset of _buf[0]
        self._lines = 0  # newlines before _buf[0]
        self._line_start = 0  # absolute offset where the line holding _buf[0] starts
        self._element = (0, 0)  # where the element last handed out lies in _buf

    def elements(self) -> Iterator[tuple[int, Any]]:
        """Yield (1-based index, element) pairs."""
        pos = self._skip(0)
        if self._char(pos) != "[":
            raise self._top_level_error(pos)
        pos = self._skip(pos + 1)
        index = 0
        if self._char(pos) == "]":
            pos = -1
        while pos >= 0:
            index += 1
            value, start, pos = self._value(pos, index)
            self._element = (start, pos)
            yield index, value
            pos = self._next(pos, index)

    def element_text(self) -> str:
        """The JSON text of the element last handed out (ask before taking the next)."""
        return self._buf[slice(*self._element)]

    def element_line(self) -> int:
        """The line where the element last handed out starts."""
        return self._where(self._element[0])[0]

    def element_duplicate(self, value: dict[str, Any]) -> str | None:
        """A name appearing twice in an object of the element last handed out."""
        return duplicate_key(self._buf, value, *self._element)

    def _char(self, pos: int) -> str:
        return self._buf[pos] if pos < len(self._buf) else ""

    def _skip(self, pos: int) -> int:
        """The position of the next non-whitespace character, reading more as needed."""
        while True:
            pos = _WHITESPACE.match(self._buf, pos).end()  # type: ignore[union-attr]
            if pos < len(self._buf) or self._eof:
                return pos
            pos = self._refill(pos)

    def _value(self, pos: int, index: int) -> tuple[Any, int, int]:
        """The element at ``pos``, where it starts (reading more may move it) and ends."""
        try:
            value, end = _SCAN(self._buf, pos)
            # A number (or true/false/null) ending at the buffer's end may go on.
            if end < len(self._buf):
                return value, pos, end
        except (StopIteration, json.JSONDecodeError, RecursionError):
            pass  # the slow path reads on, or says exactly what is wrong
        return self._value_slowly(pos, index)

    def _value_slowly(self, pos: int, index: int) -> tuple[Any, int, int]:
        while True:
            try:
                value, end = _DECODE(self._buf, pos)
            except json.JSONDecodeError as exc:
                # Cut-off tokens fail at most a few characters before the end ("tru",
                # "\ud83d\ude0"), cut-off strings where they start.
                cut = exc.msg.startswith("Unterminated string") or exc.pos >= len(self._buf) - 16
                if cut and not self._eof:
                    pos = self._refill(pos)
                    continue
                problem = syntax_problem(exc.msg, self._buf, exc.pos)
                raise self._error(f"invalid JSON in element {index}: {problem}", exc.pos,
                                  SYNTAX_HINT) from exc
            except RecursionError as exc:
                raise self._error(f"element {index} is nested too deeply", pos) from exc
            if end < len(self._buf) or self._eof:
                return value, pos, end
            pos = self._refill(pos)

    def _next(self, pos: int, index: int) -> int:
        """From the end of element ``index`` to the start of the next; -1 after ']'."""
        match = _SEPARATOR.match(self._buf, pos)
        if match is not None and match.end() < len(self._buf) and self._buf[match.end()] != "]":
            return match.end()
        pos = self._skip(pos)
        char = self._char(pos)
        if char == "]":
            self._end(pos + 1)
            return -1
        if char != ",":
            raise self._separator_error(pos, index)
        pos = self._skip(pos + 1)
        if self._char(pos) == "]":
            raise self._error(f"a ',' after element {index} is followed by ']'", pos,
                              "JSON allows no trailing comma; remove it")
        return pos

    def _refill(self, pos: int) -> int:
        """Drop the text before ``pos``, append more; return ``pos`` in the new buffer."""
        self._forget(pos)
        # Read at least as much as is held, so a huge element is decoded O(log n) times.
        size = max(CHUNK_BYTES, len(self._buf))
        while not self._eof:
            data = self._stream.read(size)
            self._eof = not data
            text = self._decoder.decode(data, final=self._eof)
            self._buf += text
            if text:
                break
        return 0

    def _forget(self, pos: int) -> None:
        newlines = self._buf.count("\n", 0, pos)
        if newlines:
            self._lines += newlines
            self._line_start = self._chars + self._buf.rfind("\n", 0, pos) + 1
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
        char = self._char(pos)
        if char == "\x00":
            return self._error("the text starts with a zero byte", pos, "The file may be "
                               "UTF-16 or UTF-32: pass encoding='utf-16-le' (or its codec)")
        found = {"{": "an object", '"': "a string", "t": "a boolean", "f": "a boolean",
                 "n": "null"}.get(char, "a number" if char in "-0123456789" else "not JSON")
        return self._error(
            f"the top level must be a JSON array of records, but it is {found}", pos,
            "Wrap the records in [...], or read one object per line with format='jsonl'")

    def _separator_error(self, pos: int, index: int) -> ReadError:
        if pos >= len(self._buf):
            return self._error(f"the file ends after element {index}; expected ',' or ']'",
                               pos, "The file may be truncated")
        return self._error(f"expected ',' or ']' after element {index}, found "
                           f"{self._buf[pos:pos + 10]!r}", pos, SYNTAX_HINT)

    def _end(self, pos: int) -> None:
        pos = self._skip(pos)
        if pos < len(self._buf):
            raise self._error(f"unexpected data after the closing ']': "
                              f"{self._buf[pos:pos + 10]!r}", pos,
                              "A .json file holds one array; remove what follows it")
