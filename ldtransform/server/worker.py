"""The job scheduler: takes queued jobs off the store's queue and hands each to a runner.

Jobs run in a pool of job processes (:mod:`ldtransform.server.jobprocess`), or on the
worker's threads with ``[processing] processes = false``; either way a
:class:`~ldtransform.server.jobrunner.JobRunner` runs the job itself.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sqlite3
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ldtransform.ld import JobStatus
from ldtransform.server import jobprocess
from ldtransform.server.config import ServerConfig
from ldtransform.server.items import TypeContext
from ldtransform.server.jobrunner import JobRunner
from ldtransform.server.store import Store

__all__ = ["Worker"]

log = logging.getLogger("ldtransform.server")

#: Seconds a stopping server waits for its jobs before it kills their processes.
STOP_GRACE = 4.0


class Worker:
    """Hands queued jobs to runners until stopped.

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
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pool: ProcessPoolExecutor | None = None
        self._process_stop: Any = None
        #: Runs jobs on this worker's threads, and ends jobs the worker ends itself.
        self.runner = JobRunner(config, store, types, self._stop)

    @property
    def base_url(self) -> str:
        """Where links in notifications point; set once the server knows its address."""
        return self.runner.base_url

    @base_url.setter
    def base_url(self, url: str) -> None:
        self.runner.base_url = url

    # -- lifecycle --------------------------------------------------------------------

    def start(self, threads: int = 1) -> None:
        """Recover interrupted jobs, then start processing."""
        self.recover()
        if self.config.processes:
            context = multiprocessing.get_context("spawn")
            self._process_stop = context.Event()
            self._pool = ProcessPoolExecutor(
                max_workers=threads, mp_context=context, initializer=jobprocess.init,
                initargs=(self.config, self._process_stop, os.getpid()))
            for _ in range(threads):  # start the processes now, not on the first job
                self._pool.submit(jobprocess.ready)
        for n in range(threads):
            thread = threading.Thread(target=self._loop, name=f"ld-worker-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop after the current chunk; a running job stays ``Processing``.

        Jobs get ``grace`` seconds to stop; the processes of those that have not (a query
        or a template still running) are then killed, so the server always ends.
        """
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
            self.runner.finish(job, JobStatus.FAILED, "The server stopped while the upload "
                               "was being accepted; submit the job again")
        for job in self.store.jobs_in(JobStatus.CANCELING):
            if job["runner"] is not None:  # it was running when the server stopped
                self.runner.finish(job, JobStatus.CANCELED, "Canceled at the user's request "
                                   f"after {job['records_processed']} records; the records "
                                   "processed before remain")
        for job in self.store.jobs_in(JobStatus.PROCESSING):
            if self.config.recovery == "resume":
                self.store.set_status(job["job_id"], JobStatus.ACCEPTED, "The server restarted; "
                                      f"the job resumes after record {job['cursor']}",
                                      runner=None)
            else:
                self.runner.finish(job, JobStatus.FAILED, "The server restarted while the job "
                                   f"was processing; {job['records_processed']} records were "
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
                self.runner.run(job)

    def _run_in_process(self, job: sqlite3.Row) -> None:
        assert self._pool is not None
        try:
            self._pool.submit(jobprocess.run, job["job_id"], self.base_url).result()
        except BrokenProcessPool:
            # A job process died; leave the job to recovery unless we are stopping.
            if not self._stop.is_set():
                self.runner.finish(job, JobStatus.FAILED, "The job's process ended unexpectedly")
        except RuntimeError:
            pass  # the pool is shutting down with the server

    def notify_finished(self, job_id: str) -> None:
        """Write (and send) the notification of a finished job that asked for one."""
        self.runner.notify_finished(job_id)
