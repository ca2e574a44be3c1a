"""Output split into numbered parts at record boundaries, each written atomically.

A part holds at most ``max_records`` records and ``max_bytes`` bytes (a record larger
than ``max_bytes`` on its own gets a part to itself: a record is never split). Every part
starts with the writer's ``begin()`` (a CSV header, ``[``) and ends with its ``end()``, and
appears under its final name only once complete. Each part's size and SHA-256 are kept for
the manifest, and, when the caller says which source rows the records are, the ranges of
source rows each part holds (see :mod:`ldtransform._origins`).
"""

from __future__ import annotations

import hashlib
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple

import numpy as np
import pyarrow as pa

from ldtransform._atomic import atomic_writer
from ldtransform._blockfile import BlockFile
from ldtransform._origins import Ranges, merged, ranges_of, to_tuples
from ldtransform.errors import ConfigError
from ldtransform.manifest import OutputFile
from ldtransform.writers import RecordWriter, record_bytes, value_offsets

__all__ = ["Origin", "PartInfo", "PartSink", "part_name"]

class Origin(NamedTuple):
    """The source rows a batch of records was built from: the source's index in the
    manifest's ``sources`` and the row number of each record (int64, ascending)."""

    source: int
    rows: np.ndarray


@dataclass
class PartInfo:
    """One written (or, in a dry run, planned) file."""

    path: Path
    records: int = 0
    bytes: int = 0
    sha256: str = ""
    #: ``(source_index, first_row, count)`` ranges of its records; empty when unknown.
    origins: tuple[tuple[int, int, int], ...] = ()

    def entry(self, file: str | None = None) -> OutputFile:
        """As the manifest lists it, under ``file`` (default: the file's name)."""
        return OutputFile(file or self.path.name, self.records, self.bytes, self.sha256,
                          self.origins)

    def to_dict(self) -> dict[str, object]:
        return self.entry().to_dict()


def part_name(stem: str, number: int, suffix: str) -> str:
    return f"{stem}-{number:05d}{suffix}"


class _Part:
    """The part being written: its file (none in a dry run), hash and counts."""

    def __init__(self, path: Path, writer: RecordWriter, dry_run: bool) -> None:
        self.info = PartInfo(path)
        self.hash = hashlib.sha256()
        self.stack = ExitStack()
        self.file: BlockFile | None = None
        if not dry_run:
            opened: AbstractContextManager[BinaryIO] = atomic_writer(path)
            self.file = BlockFile(self.stack.enter_context(opened).fileno())
        self.end = writer.end()
        self.separator = writer.separator
        #: The origins of the records so far; None once a record of unknown origin came.
        self.ranges: list[Ranges] | None = None if dry_run else []
        self.put(writer.begin())

    def note(self, origin: Origin | None, start: int, count: int) -> None:
        """Records ``start`` to ``start + count`` of a batch from ``origin`` were added."""
        if self.ranges is None:
            return
        if origin is None:
            self.ranges = None
            return
        self.ranges.append(ranges_of(origin.source, origin.rows[start:start + count]))

    def put(self, data: bytes | pa.Buffer) -> None:
        if self.file is not None:
            self.file.write(data)
        self.hash.update(data)
        self.info.bytes += data.size if isinstance(data, pa.Buffer) else len(data)

    def close(self) -> PartInfo:
        self.put(self.end)
        self.info.sha256 = self.hash.hexdigest()
        if self.ranges:
            self.info.origins = to_tuples(merged(np.concatenate(self.ranges)))
        if self.file is not None:
            self.file.close()
        self.stack.close()  # flushes the file to disk and renames it into place
        return self.info

    def abort(self) -> None:
        self.stack.__exit__(RuntimeError, RuntimeError("aborted"), None)


class PartSink:
    """Takes encoded record batches and spreads them over numbered parts."""

    def __init__(self, folder: Path, stem: str, writer: RecordWriter, *,
                 max_records: int | None = None, max_bytes: int | None = None,
                 dry_run: bool = False) -> None:
        if max_records is not None and max_records < 1:
            raise ConfigError("max_records must be at least 1")
        fixed = len(writer.begin()) + len(writer.end())
        if max_bytes is not None and max_bytes <= fixed:
            raise ConfigError(f"max_bytes must exceed {fixed}, the size of a part's "
                              "header and footer")
        self.folder, self.stem, self.writer = folder, stem, writer
        self.max_records, self.max_bytes, self.dry_run = max_records, max_bytes, dry_run
        self.parts: list[PartInfo] = []
        self._current: _Part | None = None

    def __enter__(self) -> PartSink:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if self._current is None:
            return
        if kind is None:
            self.parts.append(self._current.close())
        else:
            self._current.abort()
        self._current = None

    def add(self, records: pa.Array, origin: Origin | None = None) -> None:
        """Write one encoded batch (one element per record), built from the source rows
        ``origin`` says (None: unknown, and so are the origins of the parts it goes to)."""
        if origin is not None and len(origin.rows) != len(records):
            origin = None
        sizes = np.diff(value_offsets(records)).astype(np.int64)
        start = 0
        while start < len(records):
            part = self._open()
            taken = self._fits(part, sizes[start:])
            if taken == 0:
                if part.info.records:  # full: start the next part
                    self._roll()
                    continue
                taken = 1  # one record bigger than max_bytes: alone in its part
            self._write(part, records.slice(start, taken))
            part.note(origin, start, taken)
            start += taken
            if self._full(part):
                self._roll()

    def _fits(self, part: _Part, sizes: np.ndarray) -> int:
        """How many of the next records fit in ``part``."""
        count = len(sizes)
        if self.max_records is not None:
            count = min(count, self.max_records - part.info.records)
        if self.max_bytes is not None and count:
            # Sizes include the separator each record starts with; a part's first drops it.
            cost = np.cumsum(sizes[:count])
            if not part.info.records:
                cost -= len(part.separator)
            room = self.max_bytes - part.info.bytes - len(part.end)
            count = int(np.searchsorted(cost, room, side="right"))
        return max(count, 0)

    def _full(self, part: _Part) -> bool:
        return self.max_records is not None and part.info.records >= self.max_records

    def _write(self, part: _Part, records: pa.Array) -> None:
        part.put(record_bytes(records, skip=0 if part.info.records else len(part.separator)))
        part.info.records += len(records)

    def _open(self) -> _Part:
        if self._current is None:
            number = len(self.parts) + 1
            path = self.folder / part_name(self.stem, number, self.writer.suffix)
            self._current = _Part(path, self.writer, self.dry_run)
        return self._current

    def _roll(self) -> None:
        assert self._current is not None
        self.parts.append(self._current.close())
        self._current = None

    def finish(self) -> list[PartInfo]:
        """Close the last part (an empty output still gets one, valid, file; a count of
        records that fills the last part exactly gets no empty one after it)."""
        if not self.parts:
            self._open()
        self.__exit__(None, None, None)
        return self.parts
