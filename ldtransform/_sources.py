"""The source files of a conversion: hashed, and checked not to change while converted.

The manifest promises the SHA-256 of the bytes that were converted. The readers read a
file in their own way (pyarrow's native streams, workbooks and Parquet files seeking
around), so the hash cannot be taken from their reads without tying it to each reader.
Instead each file's identity (device, inode, size, modification time) is taken before any
reader opens it, the file is hashed by a separate read beside the conversion, and the
identity is taken again once both are done. A file that kept one identity from before
the first read to after the last gave the reader and the hash the same bytes; one that did
not (appended to, truncated, rewritten, replaced) is a :class:`ReadError`, and the caller
writes no manifest.

A rewrite that keeps the size and lands within the file system's timestamp resolution
(a few milliseconds at most) is the one change this cannot see.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ldtransform.errors import ReadError

__all__ = ["SourceFiles"]

CHUNK = 1 << 20


@dataclass(frozen=True)
class _Identity:
    device: int
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, status: os.stat_result) -> _Identity:
        return cls(status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


@dataclass(frozen=True)
class _Hashed:
    sha256: str
    size: int
    opened: _Identity  # the identity of the file the hash read


class SourceFiles:
    """The regular files among ``sources``, hashed on a thread from construction on.

    Construct it before anything reads the sources; call :meth:`verified` after the
    conversion read them all; :meth:`stop` when the conversion failed.
    """

    def __init__(self, sources: list[Any]) -> None:
        self.files: list[tuple[Path, _Identity]] = []
        #: Per source given, its index among the files (and the manifest's ``sources``);
        #: None for one that is not a regular file.
        self.indexes: list[int | None] = []
        for source in sources:
            self.indexes.append(None)
            if not isinstance(source, str | os.PathLike):
                continue
            try:
                status = os.stat(source)
            except OSError:
                continue  # the reader reports a missing or unreadable source itself
            if stat.S_ISREG(status.st_mode):  # never block on a FIFO or read a device
                self.indexes[-1] = len(self.files)
                self.files.append((Path(source), _Identity.of(status)))
        self._hashed: dict[Path, _Hashed] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ldtransform-hash",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for path, _ in self.files:
            digest, size = hashlib.sha256(), 0
            try:
                with path.open("rb") as file:
                    opened = _Identity.of(os.fstat(file.fileno()))
                    while chunk := file.read(CHUNK):
                        if self._stop.is_set():
                            return
                        digest.update(chunk)
                        size += len(chunk)
            except OSError:
                continue  # reported by verified() as a change
            self._hashed[path] = _Hashed(digest.hexdigest(), size, opened)

    def stop(self) -> None:
        """Stop hashing (the conversion failed; nothing will use the hashes)."""
        self._stop.set()

    def change(self) -> ReadError | None:
        """The error for the first file that is no longer what it was, if any (by its
        identity only: for explaining another failure, such as a read error)."""
        for path, before in self.files:
            try:
                now: _Identity | None = _Identity.of(os.stat(path))
            except OSError:
                now = None
            if now != before:
                return _changed(path, before, now)
        return None

    def verified(self) -> list[dict[str, Any]]:
        """The manifest's entries (path, bytes, sha256) of the files, once each is known
        to be what it was before the conversion began; else a ReadError naming it."""
        self._thread.join()
        entries: list[dict[str, Any]] = []
        for path, before in self.files:
            try:
                now: _Identity | None = _Identity.of(os.stat(path))
            except OSError:
                now = None
            hashed = self._hashed.get(path)
            if now != before or hashed is None or hashed.opened != before \
                    or hashed.size != before.size:
                raise _changed(path, before, now)
            entries.append({"path": str(path), "bytes": before.size, "sha256": hashed.sha256})
        return entries


def _changed(path: Path, before: _Identity, now: _Identity | None) -> ReadError:
    return ReadError(f"changed while it was converted ({_change(before, now)}); nothing was "
                     "written", source=str(path),
                     hint="Convert it again once whatever writes the file is done")


def _change(before: _Identity, now: _Identity | None) -> str:
    if now == before:
        return "it could not be read a second time to hash it"
    if now is None:
        return "it was removed or cannot be read any more"
    if (now.device, now.inode) != (before.device, before.inode):
        return "it was replaced by another file"
    if now.size != before.size:
        return f"{before.size:,} bytes became {now.size:,}"
    return "it was rewritten"
