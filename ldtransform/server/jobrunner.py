"""Running one job to its end, in chunks that are each one transaction.

An import chunk's item writes and the job's progress (``cursor``, counts, size of the
rejection file) commit together, so after a crash the job resumes at the last committed
record and no record is applied twice. Between chunks the runner checks for a cancel
request and for server shutdown, and sleeps as needed to honour the configured
processing speed (records per second), so progress can be watched.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

from ldtransform._template_limits import TemplateLimits
from ldtransform.ld import JobStatus, is_terminal
from ldtransform.schema import ItemSchema
from ldtransform.server.config import Limits, ServerConfig
from ldtransform.server.export import (
    ExportLimits,
    ExportSpec,
    parse_filters,
    run_export,
    safe_name,
)
from ldtransform.server.items import Plan, Rejection, TypeContext, apply_plan
from ldtransform.server.notify import notify
from ldtransform.server.outcomes import (
    JobCanceled,
    JobEnded,
    JobFailed,
    JobInterrupted,
    JobRejected,
)
from ldtransform.server.prepare import (
    ImportSource,
    Preparer,
    PreparerGone,
    Unreadable,
    read_plans,
)
from ldtransform.server.store import Store, connect, save_progress

__all__ = ["JobRunner", "StopSignal", "export_limits"]

log = logging.getLogger("ldtransform.server")

#: Seconds between two looks at the job's status while an export template renders.
_INTERRUPT_EVERY = 0.25


@dataclass
class _Run:
    """The running job's row values that change as it goes."""

    job: sqlite3.Row
    params: dict[str, Any]
    processed: int
    rejected: int
    rejects_bytes: int


class StopSignal(Protocol):
    """Set when the server stops (a thread's or a process's event)."""

    def is_set(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...


class JobRunner:
    """Runs one claimed job at a time: an import's chunks or an export's files, then the
    job's end (status, rejection file, notification).

    A job process has one of its own (:mod:`ldtransform.server.jobprocess`); with
    ``[processing] processes = false`` the worker's threads share the worker's.
    """

    def __init__(self, config: ServerConfig, store: Store, types: dict[str, TypeContext],
                 stop: StopSignal, *, parent_pid: int = 0) -> None:
        self.config = config
        self.store = store
        self.types = types
        self.schemas: dict[str, ItemSchema] = {k: v.schema for k, v in types.items()}
        self.stop = stop
        #: The server's process id in a job process: a job stops when the server is gone.
        self.parent_pid = parent_pid
        #: The helper processes that read and check imports (job processes only).
        self.preparer: Preparer | None = None
        #: Where links in notifications point; set once the server knows its address.
        self.base_url = config.public_url or "http://127.0.0.1"

    def run(self, job: sqlite3.Row) -> None:
        """Run a claimed job until it ends, or until the server stops (then it resumes)."""
        run = _Run(job, orjson.loads(job["params"]), job["records_processed"],
                   job["records_rejected"], job["rejects_bytes"])
        try:
            if job["kind"] == "import":
                self._import(run)
            else:
                self._export(run)
        except JobInterrupted:
            log.info("job %s interrupted by shutdown; it resumes on restart", job["job_id"])
            return
        except JobEnded as exc:
            self.finish(job, exc.status, str(exc))
        except Exception as exc:
            log.exception("job %s failed", job["job_id"])
            self.finish(job, JobStatus.FAILED, f"Internal error while processing: {exc}")

    def finish(self, job: sqlite3.Row, status: JobStatus, reason: str) -> None:
        """End a job that did not complete (and an import that did)."""
        if job["kind"] == "import":
            self._register_rejections(job["job_id"])
        else:  # an export that does not complete leaves no files behind
            self.store.drop_files(job["job_id"], "result")
            shutil.rmtree(self.store.export_dir(job["job_id"]), ignore_errors=True)
        self.store.set_status(job["job_id"], status, reason, finished=time.time())
        if job["kind"] == "import":  # the job is over: its upload is no longer needed
            self.store.upload_file(job["job_id"]).unlink(missing_ok=True)
        self.notify_finished(job["job_id"])

    def notify_finished(self, job_id: str) -> None:
        """Write (and send) the notification of a finished job that asked for one."""
        row = self.store.job(job_id)
        if row is None or not is_terminal(row["status"]) or not row["notification_email"]:
            return
        try:
            notify(self.config, self.store, row, self.base_url)
        except (OSError, ValueError):  # a notification never fails the job
            log.exception("cannot write the notification of job %s", job_id)

    def _checkpoint(self, run: _Run, done: float, chunk_started: float) -> None:
        """Between chunks: honour the speed limit, then cancel and shutdown requests."""
        rps = self.config.records_per_second
        if rps:
            wait = done / rps - (time.monotonic() - chunk_started)
            if wait > 0:
                self.stop.wait(wait)
        self._check_interruptions(run)

    def _check_interruptions(self, run: _Run) -> None:
        """Raise if the job was canceled or the server is stopping."""
        row = self.store.job(run.job["job_id"])
        if row is not None and row["status"] == JobStatus.CANCELING:
            raise JobCanceled(f"Canceled at the user's request after {run.processed} "
                              f"records; the records processed before remain")
        if self.stop.is_set() or (self.parent_pid and os.getppid() != self.parent_pid):
            raise JobInterrupted("server stopping")

    def _interrupter(self, run: _Run) -> Callable[[], None]:
        """A check of cancel and stop requests cheap enough to call in a render loop."""
        next_look = [0.0]

        def interrupt() -> None:
            now = time.monotonic()
            if now >= next_look[0]:
                next_look[0] = now + _INTERRUPT_EVERY
                self._check_interruptions(run)
        return interrupt

    def _chunk_size(self) -> int:
        rps = self.config.records_per_second
        size = self.config.chunk_size
        return max(1, min(size, int(rps / 5))) if rps else size

    # -- import -----------------------------------------------------------------------

    def _plans(self, run: _Run, path: Path) -> Generator[Plan, None, None]:
        params, job = run.params, run.job
        source = ImportSource(
            path=path, format=params["format"], item_type=job["item_type"],
            merge=params["merge"], template=params.get("template"),
            header_row=params["headerRow"], cursor=job["cursor"],
            chunk_size=self._chunk_size())
        if self.preparer is not None:
            return self.preparer.plans(source)
        return read_plans(source, self.types)

    def _import(self, run: _Run) -> None:
        job = run.job
        ctx = self.types.get(job["item_type"])
        path = self.store.upload_file(job["job_id"])
        if ctx is None or not path.exists():
            raise JobFailed("The uploaded file or the itemType schema is no longer there")
        rejects = self.store.rejections_file(job["job_id"])
        with open(rejects, "ab") as handle:
            handle.truncate(run.rejects_bytes)
        plans = self._plans(run, path)
        try:
            started = time.monotonic()
            for plan in plans:
                self._apply_chunk(run, plan, rejects)
                self._checkpoint(run, plan.count, started)
                started = time.monotonic()
        except Unreadable as exc:
            self._unreadable(run, exc)
        except PreparerGone as exc:
            raise JobFailed(f"Failed after record {run.processed}: {exc}; the "
                            f"{run.processed} records before were processed") from exc
        finally:
            plans.close()
        self._complete_import(run)

    def _unreadable(self, run: _Run, exc: Exception) -> None:
        if run.processed == 0:
            raise JobRejected(f"The file cannot be read: {exc}") from exc
        raise JobFailed(f"The file cannot be read past record {run.processed}: {exc}; "
                        f"the {run.processed} records before were processed") from exc

    def _apply_chunk(self, run: _Run, plan: Plan, rejects: Path) -> None:
        job = run.job
        with self.store.write() as conn:
            applied = apply_plan(conn, plan, community=job["community"], types=self.types,
                                 merge=run.params["merge"], now_ms=self.store.clock_ms())
            if applied.rejected:
                run.rejects_bytes += _append_rejections(rejects, applied.rejected)
            run.processed += plan.count
            run.rejected += len(applied.rejected)
            moved = save_progress(conn, job["job_id"], job["runner"],
                                  records_processed=run.processed,
                                  records_rejected=run.rejected, cursor=run.processed,
                                  rejects_bytes=run.rejects_bytes)
            if not moved:  # another runner owns the job now: write nothing
                raise JobInterrupted("the job was taken over")

    def _register_rejections(self, job_id: str) -> None:
        job = self.store.job(job_id)
        rejects = self.store.rejections_file(job_id)
        if job is None or not job["records_rejected"] or self.store.files_of(job_id):
            return
        self.store.add_file(job_id=job_id, community=job["community"], kind="rejects",
                            name=f"{safe_name(job['job_name'], 'import')}-rejected.ndjson",
                            path=rejects,
                            records=job["records_rejected"], size=rejects.stat().st_size)

    def _complete_import(self, run: _Run) -> None:
        job = run.job
        imported = run.processed - run.rejected
        reason = f"Imported {imported} of {run.processed} records"
        if run.rejected:
            reason += (f"; {run.rejected} records were rejected (see the file at "
                       "rejectionFile)")
        self.finish(job, JobStatus.COMPLETED, reason)

    # -- export -----------------------------------------------------------------------

    def _export(self, run: _Run) -> None:
        job, params = run.job, run.params
        schema = self.schemas.get(job["item_type"])
        if schema is None:
            raise JobRejected(f"No schema for itemType {job['item_type']!r}")
        folder = self.store.export_dir(job["job_id"])
        shutil.rmtree(folder, ignore_errors=True)  # a restarted export starts over
        folder.mkdir(parents=True)
        self.store.drop_files(job["job_id"], "result")
        spec = ExportSpec(job["community"], schema, job["content_type"],
                          params["rowHeader"], params.get("template"),
                          params.get("sqlQuery"), parse_filters(params.get("filters")))
        reader = connect(self.store.path)
        last = [0.0, time.monotonic()]

        def tick(count: int) -> None:
            run.processed = count
            if not self.store.set_progress(job["job_id"], job["runner"], count):
                raise JobInterrupted("the job was taken over")
            self._checkpoint(run, count - last[0], last[1])
            last[:] = [count, time.monotonic()]

        try:
            parts = run_export(spec, conn=reader, db_path=self.store.path, folder=folder,
                               stem=safe_name(job["job_name"]),
                               limits=export_limits(self.config.limits),
                               schemas=self.schemas, tick=tick,
                               interrupt=self._interrupter(run))
        finally:
            reader.close()
        files = "file" if len(parts) == 1 else "files"
        finished = time.time()
        self.store.complete_export(
            job["job_id"], job["community"],
            [(part.path.name, part.path, part.records, part.size) for part in parts],
            f"Exported {run.processed} records in {len(parts)} {files}; download them from "
            "the links", finished=finished, expires=finished + self.config.limits.link_ttl)
        self.notify_finished(job["job_id"])


def export_limits(limits: Limits) -> ExportLimits:
    """The export limits of the server's ``[limits]``."""
    return ExportLimits(
        per_file=limits.records_per_file, time_limit=limits.sql_time_limit,
        row_limit=limits.sql_row_limit, row_bytes=limits.export_row_bytes,
        max_bytes=limits.export_max_bytes,
        template=TemplateLimits(value_chars=limits.template_value_chars,
                                output_chars=limits.template_output_chars,
                                time_limit=limits.template_time_limit))


def _append_rejections(path: Path, rejected: list[Rejection]) -> int:
    """Append rejected records as JSON lines; returns the bytes written."""
    lines = []
    for r in rejected:
        headers = {**(r.headers or {}), "receiptType": r.receipt_type,
                   "receiptMessage": r.message}
        lines.append(orjson.dumps({
            "record": r.number, "headers": headers,
            "data": r.data if isinstance(r.data, dict) else None,
            "errors": [{"field": f, "code": c, "message": m} for f, c, m in r.problems],
        }) + b"\n")
    blob = b"".join(lines)
    with open(path, "ab") as handle:
        handle.write(blob)
    return len(blob)
