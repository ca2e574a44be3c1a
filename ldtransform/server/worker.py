"""Background job processing, off the event loop, in chunks that are each one transaction.

An import chunk's item writes and the job's progress (``cursor``, counts, size of the
rejection file) commit together, so after a crash the job resumes at the last committed
record and no record is applied twice. Between chunks the worker checks for a cancel
request and for server shutdown, and sleeps as needed to honour the configured
processing speed (records per second), so progress can be watched.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import shutil
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Generator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
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
from ldtransform.server.items import Plan, Rejection, TypeContext, apply_plan, load_types
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
from ldtransform.server.store import Store, connect

__all__ = ["Worker"]

log = logging.getLogger("ldtransform.server")


@dataclass
class _Run:
    """The running job's row values that change as it goes."""

    job: sqlite3.Row
    params: dict[str, Any]
    processed: int
    rejected: int
    rejects_bytes: int


class _StopSignal(Protocol):
    def is_set(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...


#: The job runner of a job process (see :func:`_process_init`).
_PROCESS_RUNNER: Worker | None = None
_JOB_NICENESS = 5
_PARENT_PID = 0
#: Seconds a stopping server waits for its jobs before it kills their processes.
STOP_GRACE = 4.0
#: Seconds between two looks at the job's status while an export template renders.
_INTERRUPT_EVERY = 0.25


def _process_init(config: ServerConfig, stop: _StopSignal, parent: int) -> None:
    """Set up a job process: its own connection, schemas and the shared stop signal."""
    global _PROCESS_RUNNER, _PARENT_PID
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when to stop
    # Jobs are background work: when the cores are busy, API requests (status polls) come
    # first. The preparer processes inherit this.
    if hasattr(os, "nice"):  # not on Windows
        os.nice(_JOB_NICENESS)
    _PARENT_PID = parent
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    _PROCESS_RUNNER = Worker(config, Store(config.data_dir), load_types(config.schemas_dir))
    _PROCESS_RUNNER._stop = stop
    # Two preparers keep two cores busy reading while this process writes; more would
    # only wait for the writer on most machines.
    _PROCESS_RUNNER.preparer = Preparer(config.schemas_dir,
                                        processes=min(2, os.cpu_count() or 1))
    _PROCESS_RUNNER.preparer.start()


def _watch_parent(parent: int) -> None:
    """End this job process as soon as the server process is gone (killed, crashed).

    Whatever it was writing is not committed; the restarted server resumes the job from
    its last committed chunk.
    """
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def _process_ready() -> None:
    """Nothing: submitted once per process so the pool starts them at server start."""


def _process_run(job_id: str, base_url: str) -> None:
    """Run one claimed job in a job process."""
    runner = _PROCESS_RUNNER
    assert runner is not None
    runner.base_url = base_url
    job = runner.store.job(job_id)
    if job is None:
        return
    # A job process runs nothing but this job. Parsed items hold no reference cycles, yet
    # the cyclic collector keeps rescanning them: off for the job (about 30 % faster on a
    # big import), then one collection.
    gc.disable()
    try:
        runner._run(job)
    finally:
        gc.enable()
        gc.collect()


class Worker:
    """Runs queued jobs until stopped.

    Jobs run in a pool of processes (``[processing] processes = true``, the default), so
    the CPU work of a big import never competes with the server for Python's global lock
    and status polls stay fast; each job process reads and checks imports in a helper
    process of its own (:mod:`ldtransform.server.prepare`) while it writes. With
    ``processes = false`` jobs run on threads and read their records themselves.
    """

    def __init__(self, config: ServerConfig, store: Store,
                 types: dict[str, TypeContext]) -> None:
        self.config = config
        self.store = store
        self.types = types
        self.schemas: dict[str, ItemSchema] = {k: v.schema for k, v in types.items()}
        self._stop: _StopSignal = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pool: ProcessPoolExecutor | None = None
        self._process_stop: Any = None
        #: The helper process that reads and checks imports (job processes only).
        self.preparer: Preparer | None = None
        #: Where links in notifications point; set once the server knows its address.
        self.base_url = config.public_url or "http://127.0.0.1"

    # -- lifecycle --------------------------------------------------------------------

    def start(self, threads: int = 1) -> None:
        """Recover interrupted jobs, then start processing."""
        self.recover()
        if self.config.processes:
            context = multiprocessing.get_context("spawn")
            self._process_stop = context.Event()
            self._pool = ProcessPoolExecutor(
                max_workers=threads, mp_context=context, initializer=_process_init,
                initargs=(self.config, self._process_stop, os.getpid()))
            for _ in range(threads):  # start the processes now, not on the first job
                self._pool.submit(_process_ready)
        for n in range(threads):
            thread = threading.Thread(target=self._loop, name=f"ld-worker-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop after the current chunk; a running job stays ``Processing``.

        Jobs get ``grace`` seconds to stop; the processes of those that have not (a query
        or a template still running) are then killed, so the server always ends.
        """
        assert isinstance(self._stop, threading.Event)
        self._stop.set()
        if self._process_stop is not None:
            self._process_stop.set()
        self._wake.set()
        deadline = time.monotonic() + grace
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._pool is not None:
            if any(thread.is_alive() for thread in self._threads):
                for process in list(self._pool._processes.values()):
                    log.warning("job process %s did not stop in %g s: killed", process.pid,
                                grace)
                    process.kill()
            self._pool.shutdown(wait=True, cancel_futures=True)

    def wake(self) -> None:
        """A job was queued: look now instead of at the next poll."""
        self._wake.set()

    def recover(self) -> None:
        """Deal with jobs a stopped or crashed server left unfinished."""
        for job in self.store.jobs_in(JobStatus.INITIALIZED):
            self._finish(job, JobStatus.FAILED, "The server stopped while the upload was being "
                         "accepted; submit the job again")
        for job in self.store.jobs_in(JobStatus.CANCELING):
            if job["runner"] is not None:  # it was running when the server stopped
                self._finish(job, JobStatus.CANCELED, f"Canceled at the user's request after "
                             f"{job['records_processed']} records; the records processed "
                             "before remain")
        for job in self.store.jobs_in(JobStatus.PROCESSING):
            if self.config.recovery == "resume":
                self.store.set_status(job["job_id"], JobStatus.ACCEPTED, "The server restarted; "
                                      f"the job resumes after record {job['cursor']}",
                                      runner=None)
            else:
                self._finish(job, JobStatus.FAILED, "The server restarted while the job was "
                             f"processing; {job['records_processed']} records were "
                             "processed and kept")

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                job = self.store.claim_next()
            except sqlite3.Error:
                log.exception("cannot read the job queue")
                job = None
            if job is None:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            if job["status"] == JobStatus.CANCELING:
                self.notify_finished(job["job_id"])
            elif self._pool is not None:
                self._run_in_process(job)
            else:
                self._run(job)

    def _run_in_process(self, job: sqlite3.Row) -> None:
        assert self._pool is not None
        try:
            self._pool.submit(_process_run, job["job_id"], self.base_url).result()
        except BrokenProcessPool:
            # A job process died; leave the job to recovery unless we are stopping.
            if not self._stop.is_set():
                self._finish(job, JobStatus.FAILED, "The job's process ended unexpectedly")
        except RuntimeError:
            pass  # the pool is shutting down with the server

    # -- one job ----------------------------------------------------------------------

    def _run(self, job: sqlite3.Row) -> None:
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
            self._finish(job, exc.status, str(exc))
        except Exception as exc:
            log.exception("job %s failed", job["job_id"])
            self._finish(job, JobStatus.FAILED, f"Internal error while processing: {exc}")

    def _finish(self, job: sqlite3.Row, status: JobStatus, reason: str) -> None:
        """End a job that did not complete (and an import that did)."""
        if job["kind"] == "import":
            self._register_rejections(job["job_id"])
        else:  # an export that does not complete leaves no files behind
            self.store.drop_files(job["job_id"], "result")
            shutil.rmtree(self.store.data_dir / "exports" / job["job_id"], ignore_errors=True)
        self.store.set_status(job["job_id"], status, reason, finished=time.time())
        if job["kind"] == "import":  # the job is over: its upload is no longer needed
            (self.store.upload_dir(job["job_id"]) / "data").unlink(missing_ok=True)
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
                self._stop.wait(wait)
        self._check_interruptions(run)

    def _check_interruptions(self, run: _Run) -> None:
        """Raise if the job was canceled or the server is stopping."""
        row = self.store.job(run.job["job_id"])
        if row is not None and row["status"] == JobStatus.CANCELING:
            raise JobCanceled(f"Canceled at the user's request after {run.processed} "
                              f"records; the records processed before remain")
        if self._stop.is_set() or (_PARENT_PID and os.getppid() != _PARENT_PID):
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
        path = self.store.upload_dir(job["job_id"]) / "data"
        if ctx is None or not path.exists():
            raise JobFailed("The uploaded file or the itemType schema is no longer there")
        rejects = self.store.upload_dir(job["job_id"]) / "rejected.ndjson"
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
            moved = conn.execute(
                "UPDATE jobs SET records_processed = ?, records_rejected = ?, cursor = ?, "
                "rejects_bytes = ? WHERE job_id = ? AND runner = ?",
                (run.processed, run.rejected, run.processed, run.rejects_bytes, job["job_id"],
                 job["runner"])).rowcount
            if not moved:  # another runner owns the job now: write nothing
                raise JobInterrupted("the job was taken over")

    def _register_rejections(self, job_id: str) -> None:
        job = self.store.job(job_id)
        rejects = self.store.upload_dir(job_id) / "rejected.ndjson"
        if job is None or not job["records_rejected"] or self.store.files_of(job_id):
            return
        self.store.add_file(job_id=job_id, community=job["community"], kind="rejects",
                            name=f"{safe_name(job['job_name'], 'import')}-rejected.ndjson",
                            path=str(rejects.relative_to(self.store.data_dir)),
                            records=job["records_rejected"], size=rejects.stat().st_size)

    def _complete_import(self, run: _Run) -> None:
        job = run.job
        imported = run.processed - run.rejected
        reason = f"Imported {imported} of {run.processed} records"
        if run.rejected:
            reason += (f"; {run.rejected} records were rejected (see the file at "
                       "rejectionFile)")
        self._finish(job, JobStatus.COMPLETED, reason)

    # -- export -----------------------------------------------------------------------

    def _export(self, run: _Run) -> None:
        job, params = run.job, run.params
        schema = self.schemas.get(job["item_type"])
        if schema is None:
            raise JobRejected(f"No schema for itemType {job['item_type']!r}")
        folder = self.store.data_dir / "exports" / job["job_id"]
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
            with self.store.write() as conn:
                moved = conn.execute("UPDATE jobs SET records_processed = ? WHERE job_id = ? "
                                     "AND runner = ?", (count, job["job_id"], job["runner"]))
                if not moved.rowcount:
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
            [(part.path.name, str(part.path.relative_to(self.store.data_dir)), part.records,
              part.size) for part in parts],
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
