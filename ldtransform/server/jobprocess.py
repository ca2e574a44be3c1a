"""The life of a job process: set up once per process, then run the jobs it is handed.

The worker's process pool calls :func:`init` when it starts a process and :func:`run`
for each job; everything here runs in the job process, never in the server.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
import time

from ldtransform.server.config import ServerConfig
from ldtransform.server.items import load_types
from ldtransform.server.jobrunner import JobRunner, StopSignal
from ldtransform.server.prepare import Preparer
from ldtransform.server.store import Store

__all__ = ["init", "ready", "run"]

#: The job runner of this process (see :func:`init`).
_RUNNER: JobRunner | None = None
_JOB_NICENESS = 5


def init(config: ServerConfig, stop: StopSignal, parent: int) -> None:
    """Set up a job process: its own connection, schemas and the shared stop signal."""
    global _RUNNER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when to stop
    # Jobs are background work: when the cores are busy, API requests (status polls) come
    # first. The preparer processes inherit this.
    if hasattr(os, "nice"):  # not on Windows
        os.nice(_JOB_NICENESS)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    _RUNNER = JobRunner(config, Store(config.data_dir), load_types(config.schemas_dir), stop,
                        parent_pid=parent)
    # Two preparers keep two cores busy reading while this process writes; more would
    # only wait for the writer on most machines.
    _RUNNER.preparer = Preparer(config.schemas_dir, processes=min(2, os.cpu_count() or 1))
    _RUNNER.preparer.start()


def _watch_parent(parent: int) -> None:
    """End this job process as soon as the server process is gone (killed, crashed).

    Whatever it was writing is not committed; the restarted server resumes the job from
    its last committed chunk.
    """
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def ready() -> None:
    """Nothing: submitted once per process so the pool starts them at server start."""


def run(job_id: str, base_url: str) -> None:
    """Run one claimed job in this job process."""
    runner = _RUNNER
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
        runner.run(job)
    finally:
        gc.enable()
        gc.collect()
