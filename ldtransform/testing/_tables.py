"""What the suites feed plugins: the canonical table and an unseekable stream."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pyarrow as pa

__all__ = ["UnseekableStream", "canonical_table"]


class UnseekableStream(io.RawIOBase):
    """A readable binary stream that cannot seek, like standard input or a socket."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._data.readinto(buffer)


def canonical_table(newlines: bool = True) -> pa.Table:
    """The table every reader must reproduce: unicode, nulls, quotes, commas, newlines,
    dates, decimals and leading zeros. ``newlines=False`` gives the same table with no
    line break inside a value, for line-based formats that cannot hold one."""
    two_lines = "first line\nsecond line" if newlines else "first line, second line"
    return pa.table({
        "id": pa.array(["007", "0042", "A-1", "100", "x"], pa.string()),
        "name": pa.array([
            'Zoë\'s "Café", Ltd.',
            two_lines,
            "日本語 テキスト ✓",
            "  padded, with comma  ",
            None,
        ], pa.string()),
        "amount": pa.array([0.0, 1234.5, -0.125, 1e6, None], pa.float64()),
        "count": pa.array([1, 0, -5, 2**40, None], pa.int64()),
        "joined": pa.array(
            [dt.date(2014, 2, 1), dt.date(1999, 12, 31), None, dt.date(2024, 2, 29),
             dt.date(1970, 1, 1)], pa.date32()),
        "active": pa.array([True, False, None, True, False], pa.bool_()),
    })
