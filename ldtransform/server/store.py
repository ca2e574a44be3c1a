"""The server's SQLite database: jobs, items, tokens and result files.

One file, ``ld.sqlite3`` in the data folder, in WAL mode so readers (status polls) never
wait for the writer (a running import). Every state change is one transaction; writers
use ``BEGIN IMMEDIATE`` so the processed-at clock taken inside it follows commit order,
which is what makes keyset paging of ``/ls/api/items/updates`` exact.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from ldtransform.ld import JobStatus

__all__ = ["Store", "connect"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    community TEXT NOT NULL,
    kind TEXT NOT NULL,
    job_name TEXT NOT NULL,
    item_type TEXT NOT NULL,
    content_type TEXT NOT NULL,
    notification_email TEXT,
    params TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    submit_time REAL NOT NULL,
    started REAL,
    finished REAL,
    records_processed INTEGER NOT NULL DEFAULT 0,
    records_rejected INTEGER NOT NULL DEFAULT 0,
    cursor INTEGER NOT NULL DEFAULT 0,
    rejects_bytes INTEGER NOT NULL DEFAULT 0,
    runner TEXT
);
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs(status, seq);
CREATE TABLE IF NOT EXISTS items (
    h_id INTEGER PRIMARY KEY AUTOINCREMENT,
    community TEXT NOT NULL,
    item_type TEXT NOT NULL,
    pk TEXT NOT NULL,
    category TEXT NOT NULL,
    data TEXT NOT NULL,
    processed_at INTEGER NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1,
    deleted INTEGER NOT NULL DEFAULT 0,
    UNIQUE (community, item_type, pk)
);
CREATE INDEX IF NOT EXISTS items_updates ON items(community, item_type, processed_at, h_id);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    client_id TEXT,
    community TEXT NOT NULL,
    expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    link_id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    community TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    records INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    expires REAL
);
CREATE INDEX IF NOT EXISTS files_job ON files(job_id);
"""


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode; transactions are begun explicitly."""
    if readonly:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                               isolation_level=None, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                               timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        # Fewer, larger checkpoints: bulk imports write ~1 KB per item.
        conn.execute("PRAGMA wal_autocheckpoint=16384")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.row_factory = sqlite3.Row
    return conn


class Store:
    """Access to the database, one connection per thread."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / "ld.sqlite3"
        data_dir.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._clock_lock = threading.Lock()
        self._last_ms = 0
        self.conn().executescript(_SCHEMA)
        row = self.conn().execute("SELECT max(processed_at) FROM items").fetchone()
        self._last_ms = int(row[0] or 0)

    def conn(self) -> sqlite3.Connection:
        """This thread's connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``), committed or rolled back."""
        conn = self.conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def clock_ms(self) -> int:
        """A processed-at time in epoch ms that never goes backwards."""
        with self._clock_lock:
            self._last_ms = max(self._last_ms, int(time.time() * 1000))
            return self._last_ms

    # -- jobs -----------------------------------------------------------------------

    def create_job(self, *, community: str, kind: str, fields: dict[str, Any],
                   params: dict[str, Any], status: JobStatus, reason: str,
                   job_id: str | None = None) -> str:
        """Insert a job and return its id."""
        job_id = job_id or str(uuid.uuid4())
        with self.write() as conn:
            seq = conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM jobs").fetchone()[0]
            conn.execute(
                "INSERT INTO jobs (job_id, seq, community, kind, job_name, item_type, "
                "content_type, notification_email, params, status, reason, submit_time) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (job_id, seq, community, kind, fields.get("jobName", ""),
                 fields.get("itemType", ""), fields.get("contentType", ""),
                 fields.get("notificationEmail"), orjson.dumps(params).decode(), status,
                 reason, time.time()))
        return job_id

    def job(self, job_id: str, community: str | None = None) -> sqlite3.Row | None:
        """The job row, or None (also when it belongs to another community)."""
        row: sqlite3.Row | None = self.conn().execute(
            "SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        if row is None or (community is not None and row["community"] != community):
            return None
        return row

    def set_status(self, job_id: str, status: JobStatus, reason: str, *,
                   only_from: tuple[JobStatus, ...] = (), **columns: Any) -> bool:
        """Move a job to ``status``; with ``only_from``, only from one of those statuses."""
        sets = ", ".join(f"{name} = ?" for name in columns)
        sql = f"UPDATE jobs SET status = ?, reason = ?{', ' + sets if sets else ''} " \
              "WHERE job_id = ?"
        args: list[Any] = [status, reason, *columns.values(), job_id]
        if only_from:
            sql += f" AND status IN ({', '.join('?' * len(only_from))})"
            args.extend(only_from)
        with self.write() as conn:
            return conn.execute(sql, args).rowcount == 1

    def claim_next(self) -> sqlite3.Row | None:
        """Take the oldest job waiting to run (``Accepted``, or ``Canceling`` before it ran:
        a running job being canceled belongs to its runner, which ends it).

        A claimed job gets a new ``runner`` token; progress is only written by the holder
        of the current token, so a runner left over from before a restart cannot write.
        """
        with self.write() as conn:
            row: sqlite3.Row | None = conn.execute(
                "SELECT * FROM jobs WHERE status = ? OR (status = ? AND runner IS NULL) "
                "ORDER BY seq LIMIT 1", (JobStatus.ACCEPTED, JobStatus.CANCELING)).fetchone()
            if row is None:
                return None
            if row["status"] == JobStatus.CANCELING:
                conn.execute("UPDATE jobs SET status = ?, reason = ?, finished = ? "
                             "WHERE job_id = ?", (JobStatus.CANCELED, "The job was canceled "
                                                  "before it started processing",
                                                  time.time(), row["job_id"]))
            else:
                runner = uuid.uuid4().hex
                conn.execute("UPDATE jobs SET status = ?, reason = ?, runner = ?, "
                             "started = coalesce(started, ?) WHERE job_id = ?",
                             (JobStatus.PROCESSING, "The job is being processed", runner,
                              time.time(), row["job_id"]))
                row = conn.execute("SELECT * FROM jobs WHERE job_id = ?",
                                   (row["job_id"],)).fetchone()
        return row

    def jobs_in(self, *statuses: JobStatus) -> list[sqlite3.Row]:
        """Every job in one of ``statuses``, oldest first."""
        marks = ", ".join("?" * len(statuses))
        return list(self.conn().execute(
            f"SELECT * FROM jobs WHERE status IN ({marks}) ORDER BY seq", statuses))

    def upload_dir(self, job_id: str) -> Path:
        """The folder of an import job's upload (``data``) and rejected records."""
        return self.data_dir / "uploads" / job_id

    # -- result files -----------------------------------------------------------------

    def add_file(self, *, job_id: str, community: str, kind: str, name: str, path: str,
                 records: int, size: int) -> str:
        """Register a downloadable file; returns its unguessable link id."""
        link_id = uuid.uuid4().hex
        with self.write() as conn:
            conn.execute("INSERT INTO files VALUES (?,?,?,?,?,?,?,?,NULL)",
                         (link_id, job_id, community, kind, name, path, records, size))
        return link_id

    def files_of(self, job_id: str) -> list[sqlite3.Row]:
        """The files of a job, in the order they were written."""
        return list(self.conn().execute(
            "SELECT * FROM files WHERE job_id = ? ORDER BY rowid", (job_id,)))

    def file(self, link_id: str) -> sqlite3.Row | None:
        """A registered file by link id."""
        row: sqlite3.Row | None = self.conn().execute(
            "SELECT * FROM files WHERE link_id = ?", (link_id,)).fetchone()
        return row

    def drop_files(self, job_id: str, kind: str) -> None:
        """Forget a job's files of one kind (an export restarted from scratch)."""
        with self.write() as conn:
            conn.execute("DELETE FROM files WHERE job_id = ? AND kind = ?", (job_id, kind))

    def complete_export(self, job_id: str, community: str, parts: list[tuple[str, str, int, int]],
                        reason: str, *, finished: float, expires: float) -> None:
        """Register an export's result files (name, path, records, bytes) with the links'
        expiry and mark the job ``Completed``, in one transaction: a poll never sees a
        completed export without its links and their expiry."""
        with self.write() as conn:
            conn.executemany("INSERT INTO files VALUES (?,?,?,?,?,?,?,?,?)", [
                (uuid.uuid4().hex, job_id, community, "result", name, path, records, size,
                 expires) for name, path, records, size in parts])
            conn.execute("UPDATE jobs SET status = ?, reason = ?, finished = ? "
                         "WHERE job_id = ?", (JobStatus.COMPLETED, reason, finished, job_id))
