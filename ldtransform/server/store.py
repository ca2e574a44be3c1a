"""The server's SQLite database (jobs, items, tokens, result files) and its data folder.

Every SQL statement of the server's own is here (user queries for exports go through
:mod:`ldtransform.server.sqlguard`), and so is the layout of the data folder: where an
upload, its rejected records, an export's files and the notifications are written.

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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from ldtransform.ld import JobStatus

__all__ = ["Store", "connect", "live_item_data", "live_items", "save_progress", "write_items"]

#: Keys per lookup: below SQLite's default limit of bound parameters.
_LOOKUP_BATCH = 900
_UPSERT = ("INSERT INTO items (community, item_type, pk, category, data, processed_at) "
           "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (community, item_type, pk) DO UPDATE SET "
           "data = excluded.data, processed_at = excluded.processed_at, "
           "revision = revision + 1, deleted = 0")
_DELETE = ("UPDATE items SET deleted = 1, processed_at = ?, revision = revision + 1 "
           "WHERE community = ? AND item_type = ? AND pk = ? AND deleted = 0")

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

    def set_progress(self, job_id: str, runner: str, processed: int) -> bool:
        """Write a running export's count; False when another runner owns the job now."""
        with self.write() as conn:
            return save_progress(conn, job_id, runner, records_processed=processed)

    # -- the data folder --------------------------------------------------------------

    def upload_dir(self, job_id: str) -> Path:
        """The folder of an import job's upload and rejected records."""
        return self.data_dir / "uploads" / job_id

    def upload_file(self, job_id: str) -> Path:
        """The uploaded file of an import job."""
        return self.upload_dir(job_id) / "data"

    def rejections_file(self, job_id: str) -> Path:
        """The rejected records of an import job, as JSON lines."""
        return self.upload_dir(job_id) / "rejected.ndjson"

    def export_dir(self, job_id: str) -> Path:
        """The folder of an export job's result files."""
        return self.data_dir / "exports" / job_id

    def outbox(self) -> Path:
        """The folder of the notification messages (created on first use)."""
        folder = self.data_dir / "outbox"
        folder.mkdir(exist_ok=True)
        return folder

    # -- result files -----------------------------------------------------------------

    def add_file(self, *, job_id: str, community: str, kind: str, name: str, path: Path,
                 records: int, size: int) -> str:
        """Register a downloadable file in the data folder; returns its unguessable link
        id."""
        link_id = uuid.uuid4().hex
        with self.write() as conn:
            conn.execute("INSERT INTO files VALUES (?,?,?,?,?,?,?,?,NULL)",
                         (link_id, job_id, community, kind, name, self._relative(path),
                          records, size))
        return link_id

    def stored_path(self, row: sqlite3.Row) -> Path | None:
        """Where a registered file is, or None when it is gone or (tampered with) outside
        the data folder."""
        root = self.data_dir.resolve()
        path = (root / row["path"]).resolve()
        return path if path.is_relative_to(root) and path.is_file() else None

    def _relative(self, path: Path) -> str:
        return str(path.relative_to(self.data_dir))

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

    def complete_export(self, job_id: str, community: str,
                        parts: list[tuple[str, Path, int, int]], reason: str, *,
                        finished: float, expires: float) -> None:
        """Register an export's result files (name, path, records, bytes) with the links'
        expiry and mark the job ``Completed``, in one transaction: a poll never sees a
        completed export without its links and their expiry."""
        with self.write() as conn:
            conn.executemany("INSERT INTO files VALUES (?,?,?,?,?,?,?,?,?)", [
                (uuid.uuid4().hex, job_id, community, "result", name, self._relative(path),
                 records, size, expires) for name, path, records, size in parts])
            conn.execute("UPDATE jobs SET status = ?, reason = ?, finished = ? "
                         "WHERE job_id = ?", (JobStatus.COMPLETED, reason, finished, job_id))

    # -- items ------------------------------------------------------------------------

    def items_changed(self, community: str, item_type: str, *, after: int, last_id: int,
                      limit: int) -> list[sqlite3.Row]:
        """Up to ``limit`` items (deleted ones too) changed after the point (processed-at
        ``after``, row id ``last_id``), in the order they changed."""
        return self.conn().execute(
            "SELECT h_id, revision, processed_at, deleted, data FROM items "
            "WHERE community = ? AND item_type = ? AND "
            "(processed_at > ? OR (processed_at = ? AND h_id > ?)) "
            "ORDER BY processed_at, h_id LIMIT ?",
            (community, item_type, after, after, last_id, limit)).fetchall()

    # -- tokens -----------------------------------------------------------------------

    def add_token(self, token_hash: str, *, user: str, client_id: str | None, community: str,
                  expires: float, forget_before: float) -> None:
        """Store an issued token; tokens expired before ``forget_before`` are dropped."""
        with self.write() as conn:
            conn.execute("INSERT INTO tokens VALUES (?,?,?,?,?)",
                         (token_hash, user, client_id, community, expires))
            conn.execute("DELETE FROM tokens WHERE expires < ?", (forget_before,))

    def token(self, token_hash: str) -> sqlite3.Row | None:
        """A stored token's user, community, client_id and expires."""
        row: sqlite3.Row | None = self.conn().execute(
            "SELECT user, community, client_id, expires FROM tokens WHERE token_hash = ?",
            (token_hash,)).fetchone()
        return row

    def set_token_community(self, token_hash: str, community: str) -> None:
        """Switch a stored token to another community."""
        with self.write() as conn:
            conn.execute("UPDATE tokens SET community = ? WHERE token_hash = ?",
                         (community, token_hash))


# -- in the caller's write transaction -------------------------------------------------

def save_progress(conn: sqlite3.Connection, job_id: str, runner: str, **columns: int) -> bool:
    """Write a running job's progress ``columns``; False (nothing written) when another
    runner owns the job now."""
    sets = ", ".join(f"{name} = ?" for name in columns)
    return conn.execute(f"UPDATE jobs SET {sets} WHERE job_id = ? AND runner = ?",
                        (*columns.values(), job_id, runner)).rowcount == 1


def live_item_data(conn: sqlite3.Connection, community: str, item_type: str,
                   keys: list[str]) -> dict[str, dict[str, Any]]:
    """The data of the items with these keys that exist (are not deleted), by key."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(keys), _LOOKUP_BATCH):
        part = keys[start:start + _LOOKUP_BATCH]
        marks = ", ".join("?" * len(part))
        rows = conn.execute(
            f"SELECT pk, data FROM items WHERE community = ? AND item_type = ? AND "
            f"deleted = 0 AND pk IN ({marks})", (community, item_type, *part))
        for pk, data in rows:
            found[pk] = orjson.loads(data)
    return found


def write_items(conn: sqlite3.Connection, community: str, item_type: str, category: str,
                touched: Mapping[str, str | None], now_ms: int) -> None:
    """Store items given as JSON text by key; None deletes."""
    upserts = [(community, item_type, pk, category, text, now_ms)
               for pk, text in touched.items() if text is not None]
    deletes = [(now_ms, community, item_type, pk)
               for pk, text in touched.items() if text is None]
    if upserts:
        conn.executemany(_UPSERT, upserts)
    if deletes:
        conn.executemany(_DELETE, deletes)


def live_items(conn: sqlite3.Connection, community: str, item_type: str,
               matches: Sequence[tuple[str, Sequence[Any]]] = ()
               ) -> Iterator[tuple[int, int, str]]:
    """Row id, revision and JSON data of the existing items, in row-id order; each of
    ``matches`` (JSON path, values) keeps only items whose value there is one of those."""
    clauses, args = [], list[Any]()
    for path, values in matches:
        clauses.append(f"json_extract(data, ?) IN ({', '.join('?' * len(values))})")
        args.extend([path, *values])
    where = "".join(f" AND {clause}" for clause in clauses)
    yield from conn.execute(
        "SELECT h_id, revision, data FROM items WHERE community = ? AND item_type = ? "
        f"AND deleted = 0{where} ORDER BY h_id", (community, item_type, *args))
