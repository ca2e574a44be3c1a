"""How a running job ends early: exceptions raised by the job code, caught by the worker."""

from __future__ import annotations

from ldtransform.ld import JobStatus

__all__ = ["JobCanceled", "JobEnded", "JobFailed", "JobInterrupted", "JobRejected"]


class JobEnded(Exception):
    """A job ends before its work is done; the message is the job's ``reason``."""

    status = JobStatus.FAILED


class JobRejected(JobEnded):
    """The job's parameters or file are wrong (nothing was applied)."""

    status = JobStatus.REJECTED


class JobFailed(JobEnded):
    """An error during processing stopped the job."""

    status = JobStatus.FAILED


class JobCanceled(JobEnded):
    """A cancel request was seen between two chunks."""

    status = JobStatus.CANCELED


class JobInterrupted(JobEnded):
    """The server is stopping; the job stays ``Processing`` and resumes on restart."""

    status = JobStatus.PROCESSING
