"""How JSON writers frame their records: one array per file, or one record per line."""

from __future__ import annotations

from typing import ClassVar

__all__ = ["JsonArrayFile", "JsonLinesFile"]


class JsonArrayFile:
    """``[`` record ``,`` record ... ``]``, one record per line."""

    separator: ClassVar[bytes] = b",\n"
    terminator: ClassVar[str] = ""  # after each record

    def begin(self) -> bytes:
        return b"[\n"

    def end(self) -> bytes:
        return b"\n]\n"


class JsonLinesFile:
    """JSON Lines: each record on its own line, nothing around them."""

    separator: ClassVar[bytes] = b""
    terminator: ClassVar[str] = "\n"

    def begin(self) -> bytes:
        return b""

    def end(self) -> bytes:
        return b""
