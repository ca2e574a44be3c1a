"""Large outputs written to disk a block at a time, past the system's file cache if it can.

Written through the file cache, every page of a part is copied into the kernel, allocated
there and written out later, which costs the writing thread about as much CPU as encoding
the records did. Where the file system takes direct writes (``O_DIRECT`` on Linux), whole
blocks go from one page-aligned staging buffer straight to disk instead. The last,
partial block, and every file system or platform that refuses direct writes, take the
cached path, asking the system to start writing the cached pages out as the file grows,
so that the flush before a part is renamed into place waits for the last few only.
"""

from __future__ import annotations

import errno
import mmap
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["BlockFile"]

#: Bytes staged and written at once; a multiple of every disk's block size.
BLOCK_BYTES = 1 << 20
#: On the cached path, bytes written between asking the system to put them on disk.
WRITEBACK_BYTES = 32 << 20
_DIRECT = getattr(os, "O_DIRECT", 0)


class BlockFile:
    """Writes the bytes given to ``fd`` (open for writing, at its start) in whole blocks.

    ``close()`` writes what is still staged; the caller then flushes and closes ``fd``.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = mmap.mmap(-1, BLOCK_BYTES)  # page-aligned, as direct writes need
        self.staged = memoryview(self.buffer)
        self.filled = 0  # bytes staged
        self.written = 0  # bytes handed to the system
        self.on_disk = 0  # on the cached path: bytes the system was asked to write out
        self.direct = _set_direct(fd, True)

    def write(self, data: bytes | pa.Buffer) -> None:
        """Stage ``data`` (anything with the buffer protocol, such as a pyarrow Buffer),
        writing each block as it fills."""
        view = memoryview(data).cast("B")
        size = len(self.staged)
        while len(view):
            take = min(len(view), size - self.filled)
            self.staged[self.filled:self.filled + take] = view[:take]
            self.filled += take
            view = view[take:]
            if self.filled == size:
                self._write_staged()

    def close(self) -> None:
        """Write the last, partial block (through the cache: a direct write takes whole
        blocks only)."""
        # The staging buffer is left to the garbage collector: closing it by hand fails
        # while a view of it lives on, as in a frame a sampling profiler holds.
        if self.filled:
            self._cached()
            self._write_staged()

    def _write_staged(self) -> None:
        pending = self.staged[:self.filled]
        while len(pending):
            try:
                done = os.write(self.fd, pending)
            except OSError as error:
                if not (self.direct and error.errno == errno.EINVAL):
                    raise
                self._cached()  # the flag was taken, the write refused: the cache it is
                continue
            pending = pending[done:]
            if len(pending) and self.direct:  # short: the rest would be out of alignment
                self._cached()
        self.written += self.filled
        self.filled = 0
        if not self.direct and self.written - self.on_disk >= WRITEBACK_BYTES:
            self._start_writeback()

    def _cached(self) -> None:
        if self.direct:
            self.direct = _set_direct(self.fd, False)
            self.on_disk = self.written  # what was written directly is on disk already

    def _start_writeback(self) -> None:
        if hasattr(os, "posix_fadvise"):
            # On Linux, "don't need" starts writeback of the range's dirty pages at once.
            os.posix_fadvise(self.fd, self.on_disk, self.written - self.on_disk,
                             os.POSIX_FADV_DONTNEED)
        self.on_disk = self.written


def _set_direct(fd: int, on: bool) -> bool:
    """Turn direct writes on or off for ``fd``; whether they are on now."""
    if not _DIRECT:  # not offered here (macOS, Windows)
        return False
    import fcntl  # where there is O_DIRECT, there is fcntl

    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | _DIRECT if on else flags & ~_DIRECT)
    except OSError:
        if not on:
            raise
        return False  # a file system without direct writes
    return on
