"""The upload journal: what was sent to LD, so no part is imported twice or lost.

A SQLite file (WAL) with one row per *part* and server: a file's content SHA-256, item
type and merge flag (renaming the file does not make it a new part), for the LD server and
community it goes to (the same part sent to QA and to production is two rows). Every
state change is one transaction, and the state ``sending`` is committed *before* a request
goes out, so a run that dies mid-request leaves a trace the next run resolves instead of
blindly re-sending::

    planned ─sending()─▶ sending ─sent()────▶ sent ─update_status()─▶ finished
                            │                   └──canceled()──▶ canceled
                            └─unknown()─▶ unknown ─resolve()─▶ arrived | planned

Several processes may share a journal: :meth:`Journal.sending` is a claim that only one of
them wins (a compare-and-set inside ``BEGIN IMMEDIATE``). Each open journal holds an OS
lock on a file of its own while it lives; a ``sending`` row whose owner no longer holds its
lock (the process was killed) turns ``unknown`` when another journal looks at it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import secrets
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Protocol

from ldtransform.errors import LdTransformError
from ldtransform.ld import JobStatus, is_terminal
from ldtransform.manifest import MANIFEST

__all__ = ["JOURNAL_NAME", "Entry", "JobLike", "Journal", "JournalConflict", "Part",
           "PartState", "default_journal_path", "job_name_for"]

#: The journal's file name beside a manifest.
JOURNAL_NAME = ".ldtransform-journal.sqlite3"

#: The layout of the table below; a journal of another layout is refused, not misread.
_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS parts (
    id INTEGER PRIMARY KEY,
    target TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    item_type TEXT NOT NULL,
    merge INTEGER NOT NULL,
    size INTEGER NOT NULL,
    path TEXT NOT NULL,
    job_name TEXT NOT NULL,
    state TEXT NOT NULL,
    job_id TEXT,
    status TEXT,
    records_processed INTEGER,
    records_rejected INTEGER,
    reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    planned_ms INTEGER NOT NULL,
    send_ms INTEGER,
    answered_ms INTEGER,
    updated_ms INTEGER NOT NULL,
    owner TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    UNIQUE (target, sha256, item_type, merge)
)
"""


class PartState(StrEnum):
    """Where a part is on its way to LD."""

    PLANNED = "planned"
    """Known, not sent (or shown by the server never to have arrived)."""
    SENDING = "sending"
    """The import request is going out (committed before the first byte is sent)."""
    SENT = "sent"
    """The server answered with a job id; the job has not ended."""
    UNKNOWN = "unknown"
    """The connection broke after the request may have been sent: no job id."""
    FINISHED = "finished"
    """The job ended; ``status`` says how."""
    ARRIVED = "arrived"
    """An unknown send the server shows did arrive (its job id stays unknown)."""
    CANCELED = "canceled"
    """The user interrupted the run and the job was asked to cancel."""


#: States a part may be (re)claimed from for sending. A ``finished`` part may be sent
#: again unless it completed; ``sent`` and ``arrived`` parts never are.
_SENDABLE = {PartState.PLANNED, PartState.UNKNOWN, PartState.CANCELED, PartState.FINISHED}


class JournalConflict(LdTransformError):
    """A part cannot be claimed: another run is sending it, or it was already sent."""

    def __init__(self, message: str, entry: Entry) -> None:
        self.entry = entry
        super().__init__(message)


class JobLike(Protocol):
    """What :meth:`Journal.update_status` reads of a job (the client's ``Job`` fits)."""

    @property
    def status(self) -> str: ...
    @property
    def records_processed(self) -> int: ...
    @property
    def records_rejected(self) -> int: ...
    @property
    def reason(self) -> str | None: ...


def job_name_for(path: str | os.PathLike[str], sha256: str) -> str:
    """The deterministic job name of a part: ``<file stem>-<first 12 hex of its hash>``."""
    return f"{Path(path).stem}-{sha256[:12]}"


@dataclass(frozen=True)
class Part:
    """A file to import: its content identity and how it is imported."""

    path: Path
    sha256: str
    size: int
    item_type: str
    merge: bool = False

    @classmethod
    def of_file(cls, path: str | os.PathLike[str], item_type: str,
                merge: bool = False) -> Part:
        """Hash ``path`` in blocks (any size, bounded memory)."""
        digest = hashlib.sha256()
        size = 0
        with open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
                size += len(block)
        return cls(Path(path), digest.hexdigest(), size, item_type, merge)


@dataclass(frozen=True)
class Entry:
    """A part's row in the journal (times in epoch milliseconds)."""

    id: int
    target: str
    """The LD server and community the part goes to (``url#community``)."""
    path: str
    sha256: str
    size: int
    item_type: str
    merge: bool
    job_name: str
    state: PartState
    job_id: str | None
    status: str | None
    """The job's last status as the server spelled it (a :class:`JobStatus` value)."""
    records_processed: int | None
    records_rejected: int | None
    reason: str | None
    attempts: int
    """How many times sending was claimed."""
    planned_ms: int
    send_ms: int | None
    """When the last send was claimed (just before the request went out)."""
    answered_ms: int | None
    """When the server's job id was recorded."""
    updated_ms: int
    owner: str | None
    version: int
    """Changes with every write: a claim made from a stale entry fails."""

    @property
    def completed(self) -> bool:
        """Whether the part is in LD: its job completed, or the server showed it arrived."""
        return (self.state is PartState.ARRIVED
                or (self.state is PartState.FINISHED and self.status == JobStatus.COMPLETED))


_COLUMNS = ("id", "target", "path", "sha256", "size", "item_type", "merge", "job_name", "state",
            "job_id", "status", "records_processed", "records_rejected", "reason",
            "attempts", "planned_ms", "send_ms", "answered_ms", "updated_ms", "owner",
            "version")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM parts"


def _entry(row: tuple[Any, ...]) -> Entry:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["merge"] = bool(values["merge"])
    values["state"] = PartState(values["state"])
    return Entry(**values)


def _epoch_ms() -> int:
    return time.time_ns() // 1_000_000


def default_journal_path(for_path: str | os.PathLike[str], *,
                         environ: Mapping[str, str] = os.environ) -> Path:
    """Where the journal of an upload lives: beside the manifest (given the manifest or
    its folder), else the user's state folder (``$XDG_STATE_HOME/ldtransform`` or
    ``~/.local/state/ldtransform``) for loose files."""
    path = Path(for_path)
    if path.name == MANIFEST:
        return path.parent / JOURNAL_NAME
    if (path / MANIFEST).is_file():
        return path / JOURNAL_NAME
    state = environ.get("XDG_STATE_HOME") or str(Path(environ.get("HOME", "~"), ".local",
                                                       "state"))
    return Path(state).expanduser() / "ldtransform" / "journal.sqlite3"


class _OwnerLock:
    """A file locked for as long as its journal is open: it tells other processes the
    owner is alive (the OS drops the lock when the process dies, even by ``kill -9``)."""

    def __init__(self, folder: Path, token: str) -> None:
        folder.mkdir(mode=0o700, exist_ok=True)
        self.path = folder / f"{token}.lock"
        self.handle: IO[bytes] | None = open(self.path, "wb")  # noqa: SIM115 (held open)
        if not _try_lock(self.handle):
            raise LdTransformError(f"cannot lock {self.path}")

    def release(self) -> None:
        if self.handle is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            self.handle.close()
            self.handle = None

    @staticmethod
    def alive(folder: Path, token: str) -> bool:
        """Whether the journal of ``token`` is still open in some process."""
        path = folder / f"{token}.lock"
        try:
            handle = open(path, "rb+")  # noqa: SIM115 (closed below)
        except FileNotFoundError:
            return False
        with handle:
            if not _try_lock(handle):
                return True
            with contextlib.suppress(OSError):    # dead: its lock file goes too
                path.unlink()
            return False


def _try_lock(handle: IO[bytes]) -> bool:
    try:
        if sys.platform == "win32":
            import msvcrt
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class Journal:
    """The upload journal at ``path`` (created with its folder when missing).

    ``clock`` gives the time in epoch milliseconds (a test passes its own). Opening
    turns the ``sending`` parts of runs that died into ``unknown``; :meth:`close` does the
    same for this journal's own parts still ``sending``.
    """

    def __init__(self, path: str | os.PathLike[str], *, target: str = "",
                 clock: Callable[[], int] = _epoch_ms) -> None:
        self.path = Path(path)
        self.target = target
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self.owner = secrets.token_hex(8)
        self._mutex = threading.RLock()      # one connection, shared by the run's threads
        self._owners = self.path.with_name(self.path.name + "-owners")
        self._lock = _OwnerLock(self._owners, self.owner)
        try:
            self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            with self._transaction():
                self._create_or_check()
            self._recover()
        except BaseException:
            self._lock.release()
            raise

    # -- lifecycle -------------------------------------------------------------------------

    def _create_or_check(self) -> None:
        """Create the table in a new journal; refuse one of another layout (it would be
        misread) with what to do."""
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        tables = self._db.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'parts'").fetchone()[0]
        if tables and version != _VERSION:
            raise LdTransformError(
                f"{self.path}: an upload journal of another layout (version {version}, "
                f"this ldtransform writes {_VERSION}); move it aside to start a new one "
                "(parts it recorded will be sent again)")
        self._db.execute(_SCHEMA)
        self._db.execute(f"PRAGMA user_version = {_VERSION}")

    def close(self) -> None:
        """Mark this journal's parts still ``sending`` as ``unknown`` and close."""
        if self._lock.handle is None:
            return
        with self._transaction():
            self._db.execute("UPDATE parts SET state = ?, updated_ms = ?, owner = NULL, "
                             "version = version + 1 WHERE state = ? AND owner = ?",
                             (PartState.UNKNOWN, self.clock(), PartState.SENDING, self.owner))
        self._db.close()
        self._lock.release()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (``BEGIN IMMEDIATE``) so two processes
        never both read a part's state and then both change it."""
        with self._mutex:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _recover(self) -> None:
        """``sending`` parts whose run is gone become ``unknown``: the request may have
        reached the server, so only a look at the server may decide to send again."""
        with self._mutex:
            rows = self._db.execute("SELECT DISTINCT owner FROM parts WHERE state = ? AND "
                                    "owner != ?", (PartState.SENDING, self.owner)).fetchall()
        dead = [owner for (owner,) in rows if not _OwnerLock.alive(self._owners, owner)]
        if not dead:
            return
        with self._transaction():
            for owner in dead:
                self._db.execute("UPDATE parts SET state = ?, updated_ms = ?, owner = NULL, "
                                 "version = version + 1 WHERE state = ? AND owner = ?",
                                 (PartState.UNKNOWN, self.clock(), PartState.SENDING, owner))

    # -- reading ---------------------------------------------------------------------------

    def entries(self) -> list[Entry]:
        """Every part, in the order they were planned."""
        self._recover()
        with self._mutex:
            return [_entry(row) for row in self._db.execute(f"{_SELECT} ORDER BY id")]

    def find(self, sha256: str, item_type: str, merge: bool) -> Entry | None:
        """The part with this content, item type and merge flag, if the journal has it."""
        self._recover()
        with self._mutex:
            row = self._db.execute(
                f"{_SELECT} WHERE target = ? AND sha256 = ? AND item_type = ? AND merge = ?",
                (self.target, sha256, item_type, int(merge))).fetchone()
        return None if row is None else _entry(row)

    def get(self, entry: Entry) -> Entry:
        """The entry as the journal holds it now."""
        with self._mutex:
            return self._get(self._db, entry.id)

    @staticmethod
    def _get(db: sqlite3.Connection, entry_id: int) -> Entry:
        return _entry(db.execute(f"{_SELECT} WHERE id = ?", (entry_id,)).fetchone())

    # -- changes -----------------------------------------------------------------------------

    def plan(self, part: Part, job_name: str | None = None) -> Entry:
        """The part's entry, created ``planned`` when the journal does not have it yet.

        A known part keeps its state and job name; its (absolute) path follows the
        file's current name. ``job_name`` defaults to :func:`job_name_for`.
        """
        now = self.clock()
        with self._transaction() as db:
            db.execute(
                "INSERT INTO parts (target, sha256, item_type, merge, size, path, job_name, "
                "state, planned_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (target, sha256, item_type, merge) "
                "DO UPDATE SET path = excluded.path",
                (self.target, part.sha256, part.item_type, int(part.merge), part.size,
                 str(Path(part.path).absolute()),
                 job_name or job_name_for(part.path, part.sha256), PartState.PLANNED, now,
                 now))
            row = db.execute(f"{_SELECT} WHERE target = ? AND sha256 = ? AND item_type = ? "
                             "AND merge = ?", (self.target, part.sha256, part.item_type,
                                               int(part.merge))).fetchone()
        return _entry(row)

    def sending(self, entry: Entry, job_name: str | None = None,
                now_ms: int | None = None) -> Entry:
        """Claim the part for sending, committed before the request goes out.

        Succeeds only if the part is unchanged since ``entry`` was read and may be sent
        (``planned``, ``unknown``, ``canceled``, or ``finished`` without completing);
        otherwise :class:`JournalConflict` (another run claimed it first, or it is sent).
        """
        now = self.clock() if now_ms is None else now_ms
        with self._transaction() as db:
            current = self._get(db, entry.id)
            if current.version != entry.version:
                raise JournalConflict(
                    f"part {current.path} changed meanwhile (now {current.state}): "
                    "another upload is working on it", current)
            if current.state not in _SENDABLE or current.completed:
                raise JournalConflict(
                    f"part {current.path} is {current.state}"
                    + (f" as job {current.job_id}" if current.job_id else "")
                    + ": it is not sent again", current)
            db.execute(
                "UPDATE parts SET state = ?, job_name = ?, job_id = NULL, status = NULL, "
                "records_processed = NULL, records_rejected = NULL, reason = NULL, "
                "attempts = attempts + 1, send_ms = ?, answered_ms = NULL, updated_ms = ?, "
                "owner = ?, version = version + 1 WHERE id = ?",
                (PartState.SENDING, job_name or current.job_name, now, now, self.owner,
                 entry.id))
            return self._get(db, entry.id)

    def sent(self, entry: Entry, job_id: str, status: str | None = None) -> Entry:
        """The server answered the claimed send with ``job_id`` (and its first status)."""
        return self._own_send(entry, "state = ?, job_id = ?, status = ?, answered_ms = ?",
                              (PartState.SENT, job_id, status, self.clock()))

    def unknown(self, entry: Entry) -> Entry:
        """The claimed send broke after the request may have reached the server."""
        return self._own_send(entry, "state = ?", (PartState.UNKNOWN,))

    def _own_send(self, entry: Entry, assignments: str, values: tuple[Any, ...]) -> Entry:
        with self._transaction() as db:
            current = self._get(db, entry.id)
            if current.state is not PartState.SENDING or current.owner != self.owner:
                raise JournalConflict(
                    f"part {current.path} is not being sent by this run "
                    f"(it is {current.state})", current)
            db.execute(f"UPDATE parts SET {assignments}, owner = NULL, updated_ms = ?, "
                       "version = version + 1 WHERE id = ?",
                       (*values, self.clock(), entry.id))
            return self._get(db, entry.id)

    def update_status(self, entry: Entry, job: JobLike) -> Entry:
        """Record a status of the part's job; a terminal one makes the part ``finished``.

        A status read before a terminal one was recorded (two runs polling) does not
        overwrite it.
        """
        with self._transaction() as db:
            current = self._get(db, entry.id)
            if current.job_id is None:
                raise JournalConflict(f"part {current.path} has no job to update", current)
            if current.status is not None and is_terminal(current.status):
                return current
            state = PartState.FINISHED if is_terminal(job.status) else current.state
            db.execute(
                "UPDATE parts SET state = ?, status = ?, records_processed = ?, "
                "records_rejected = ?, reason = ?, updated_ms = ?, version = version + 1 "
                "WHERE id = ?",
                (state, str(job.status), job.records_processed, job.records_rejected,
                 job.reason, self.clock(), entry.id))
            return self._get(db, entry.id)

    def canceled(self, entry: Entry) -> Entry:
        """The run was interrupted and the part's job asked to cancel (a part still
        ``sending`` or ``unknown`` has no job to cancel and stays as it is)."""
        with self._transaction() as db:
            current = self._get(db, entry.id)
            if current.state is not PartState.SENT:
                return current
            db.execute("UPDATE parts SET state = ?, updated_ms = ?, version = version + 1 "
                       "WHERE id = ?", (PartState.CANCELED, self.clock(), entry.id))
            return self._get(db, entry.id)

    def resolve(self, entry: Entry, arrived: bool) -> Entry:
        """Settle an ``unknown`` part after looking at the server: ``arrived`` (its
        records are there; it is never sent again) or not (``planned``, to send again)."""
        with self._transaction() as db:
            current = self._get(db, entry.id)
            if current.state is not PartState.UNKNOWN or current.version != entry.version:
                raise JournalConflict(
                    f"part {current.path} is {current.state}, not unknown: "
                    "another upload resolved it", current)
            db.execute("UPDATE parts SET state = ?, updated_ms = ?, version = version + 1 "
                       "WHERE id = ?",
                       (PartState.ARRIVED if arrived else PartState.PLANNED, self.clock(),
                        entry.id))
            return self._get(db, entry.id)

    # -- for people ------------------------------------------------------------------------

    def summary(self) -> str:
        """A table of every part: when it was sent, its job id and last status."""
        header = ("part", "server", "items", "state", "sent (UTC)", "job id", "status",
                  "processed", "rejected")
        rows = [header]
        for e in self.entries():
            rows.append((Path(e.path).name, e.target or "-",
                         e.item_type + (" merge" if e.merge else ""),
                         str(e.state), _when(e.send_ms), e.job_id or "-", e.status or "-",
                         _count(e.records_processed), _count(e.records_rejected)))
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                         .rstrip() for row in rows)


def _when(epoch_ms: int | None) -> str:
    if epoch_ms is None:
        return "-"
    return dt.datetime.fromtimestamp(epoch_ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)
