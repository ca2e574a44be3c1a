"""The eight job statuses of the Batch API and which of them end a job."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ACTIVE", "TERMINAL", "JobStatus", "is_terminal"]


class JobStatus(StrEnum):
    """A batch job's ``status``, spelled as on the wire (and in the server's database)."""

    INITIALIZED = "Initialized"
    """Received; its parameters and file are being checked."""
    ACCEPTED = "Accepted"
    """Checked and stored; waits for its turn."""
    PROCESSING = "Processing"
    """Being worked on."""
    COMPLETED = "Completed"
    """Done; an export's result links are on the status object."""
    REJECTED = "Rejected"
    """Its parameters or file are wrong; nothing was applied."""
    FAILED = "Failed"
    """An error stopped it."""
    CANCELING = "Canceling"
    """A cancel was asked for; it takes effect at the job's next turn."""
    CANCELED = "Canceled"
    """Ended at the user's request."""


#: The statuses a job never leaves: a client stops polling at these.
TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.REJECTED, JobStatus.FAILED,
                      JobStatus.CANCELED})
#: The statuses of a job that has not ended (a cancel request applies to these).
ACTIVE = frozenset(JobStatus) - TERMINAL


def is_terminal(status: str) -> bool:
    """Whether ``status`` (a :class:`JobStatus` or its text) ends a job."""
    return status in TERMINAL
