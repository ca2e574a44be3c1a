"""Batch jobs as the client sees them: the parsed status object, and how to wait for one."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ldtransform.client.errors import (
    ApiError,
    JobCanceled,
    JobError,
    JobFailed,
    JobRejected,
    JobTimeout,
    TransportError,
    UnknownStatusError,
)
from ldtransform.ld import JobStatus, is_terminal

__all__ = ["Job", "WaitPolicy", "Waiting", "raise_for_outcome"]

_OUTCOMES: dict[str, type[JobError]] = {
    JobStatus.REJECTED: JobRejected, JobStatus.FAILED: JobFailed,
    JobStatus.CANCELED: JobCanceled,
}


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


@dataclass(frozen=True)
class Job:
    """A batch job's status object; ``status`` stays a plain string if it is unknown."""

    job_id: str
    job_name: str | None = None
    job_type: str | None = None
    item_type: str | None = None
    content_type: str | None = None
    status: JobStatus | str = ""
    reason: str | None = None
    records_processed: int = 0
    records_rejected: int = 0
    run_time_ms: int = 0
    submit_time: str | None = None
    links: tuple[str, ...] = ()
    links_expire: str | None = None
    rejection_file: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_status(cls, raw: dict[str, Any]) -> Job:
        """Parse the JSON status object every batch route answers with."""
        text = str(raw.get("status", ""))
        status: JobStatus | str = JobStatus(text) if text in JobStatus._value2member_map_ else text
        return cls(
            job_id=str(raw.get("jobId", "")), job_name=raw.get("jobName"),
            job_type=raw.get("jobType"), item_type=raw.get("itemType"),
            content_type=raw.get("contentType"), status=status, reason=raw.get("reason"),
            records_processed=_int(raw.get("recordsProcessed")),
            records_rejected=_int(raw.get("recordsRejected")),
            run_time_ms=_int(raw.get("runTime")), submit_time=raw.get("submitTime"),
            links=tuple(raw.get("links") or ()), links_expire=raw.get("linksExpire"),
            rejection_file=raw.get("rejectionFile"), raw=raw)

    @property
    def known(self) -> bool:
        """Whether the status is one of the Batch API's eight."""
        return isinstance(self.status, JobStatus)

    @property
    def done(self) -> bool:
        """Whether the job has ended (whatever the outcome)."""
        return is_terminal(self.status)


def raise_for_outcome(job: Job) -> Job:
    """Return ``job`` if it completed; raise its typed outcome otherwise."""
    if job.status == JobStatus.COMPLETED:
        return job
    if not job.known:
        raise UnknownStatusError(job)
    outcome = _OUTCOMES.get(job.status)
    if outcome is None:
        raise JobTimeout(job)  # still running: only a wait that ran out gets here
    raise outcome(job)


@dataclass(frozen=True)
class WaitPolicy:
    """Polling: first ``interval`` seconds, growing 1.5x up to ``cap``; ``timeout`` overall."""

    interval: float = 0.5
    cap: float = 5.0
    timeout: float | None = None


DEFAULT_WAIT = WaitPolicy()


class Waiting:
    """The state of one wait (sans-IO): what to do after each poll or failed poll."""

    def __init__(self, policy: WaitPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self._started = clock()
        self._interval = policy.interval
        self.last: Job | None = None

    def _left(self) -> float:
        if self.policy.timeout is None:
            return float("inf")
        return self.policy.timeout - (self._clock() - self._started)

    def _pause(self) -> float:
        pause = min(self._interval, self._left())
        self._interval = min(self.policy.cap, self._interval * 1.5)
        return pause

    def seen(self, job: Job) -> float | None:
        """After a poll: None when the job ended, else seconds to sleep before the next.

        Raises :class:`UnknownStatusError` for a status the client does not know and
        :class:`JobTimeout` when the policy's timeout has passed.
        """
        self.last = job
        if not job.known:
            raise UnknownStatusError(job)
        if job.done:
            return None
        if self._left() <= 0:
            raise JobTimeout(job)
        return self._pause()

    def failed(self, error: Exception) -> float:
        """After a poll that failed: seconds to sleep if the failure is transient, else raise."""
        transient = isinstance(error, TransportError) or (
            isinstance(error, ApiError) and (error.status >= 500 or error.status == 429))
        if not transient:
            raise error
        if self._left() <= 0:
            if self.last is not None:
                raise JobTimeout(self.last) from error
            raise error
        return self._pause()
