"""The client's exceptions, all :class:`~ldtransform.errors.LdTransformError`.

::

    ClientError                  base; ``exit_code`` is what a command exits with (1)
    ├── CredentialsError         credentials missing, unsafe or badly configured (4)
    ├── AuthError                login refused, or the token cannot be renewed (4)
    ├── ApiError                 an HTTP error answer (``status``, ``code``, ``description``)
    ├── TransportError           network failure or timeout after the retry budget (7)
    │   └── UploadOutcomeUnknown an import was sent but no answer came back (6)
    ├── UploadError              a part cannot be sent: missing, changed, no itemType (3)
    ├── LinkExpired              a result link answered 410
    ├── UnknownStatusError       a job reports a status the client does not know (6)
    └── JobError                 a job ended other than Completed (``job``, ``reason``) (6)
        ├── JobRejected, JobFailed, JobCanceled
        └── JobTimeout           the wait ended before the job did

No message or ``repr`` ever holds a password, secret or token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ldtransform.errors import ConfigError, LdTransformError

if TYPE_CHECKING:
    from ldtransform.client.jobs import Job

__all__ = [
    "ApiError", "AuthError", "ClientError", "CredentialsError", "JobCanceled", "JobError",
    "JobFailed", "JobRejected", "JobTimeout", "LinkExpired", "TransportError",
    "UnknownStatusError", "UploadError", "UploadOutcomeUnknown",
]


class ClientError(LdTransformError):
    """Base of the LD client's exceptions."""

    exit_code = 1


class CredentialsError(ClientError, ConfigError):
    """Credentials are missing, or come from an unsafe place (a readable file, http://)."""

    exit_code = 4


class AuthError(ClientError):
    """The server refused the login, or a token could not be renewed."""

    exit_code = 4


class ApiError(ClientError):
    """The server answered with an HTTP error ``{"error", "error_description"}``."""

    def __init__(self, status: int, code: str, description: str, url: str) -> None:
        self.status = status
        self.code = code
        self.description = description
        self.url = url
        text = f": {description}" if description else ""
        super().__init__(f"{url} answered {status} {code}{text}")


class TransportError(ClientError):
    """The request could not be completed (network, timeout), retries included."""

    exit_code = 7


class UploadOutcomeUnknown(TransportError):
    """An import's body may have reached the server but no answer came back.

    It is never re-sent blindly: look (e.g. through the Items ``updates`` API) whether it
    arrived before sending it again.
    """

    exit_code = 6


class UploadError(ClientError):
    """What an upload names cannot be sent: a missing or changed part, no itemType, a CSV
    without its import template."""

    exit_code = 3


class LinkExpired(ClientError):
    """A result or rejection link answered 410: export again to get fresh links."""

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(f"the download link {url} has expired; run the export again "
                         "for fresh links")


class UnknownStatusError(ClientError):
    """A job reports a status that is not one of the Batch API's eight."""

    exit_code = 6

    def __init__(self, job: Job) -> None:
        self.job = job
        super().__init__(f"job {job.job_id} reports the unknown status {job.status!r}; "
                         "this client does not know whether it ended")


class JobError(ClientError):
    """A job ended other than ``Completed``; ``job`` is its last status."""

    exit_code = 6
    verb = "ended"

    def __init__(self, job: Job) -> None:
        self.job = job
        self.reason = job.reason
        why = f": {job.reason}" if job.reason else ""
        super().__init__(f"job {job.job_id} ({job.job_name}) {self.verb} {job.status}{why}")


class JobRejected(JobError):
    """The server rejected the job (bad parameters or file); nothing was applied."""


class JobFailed(JobError):
    """The job failed while processing; the reason says how much was applied."""


class JobCanceled(JobError):
    """The job was canceled."""


class JobTimeout(JobError):
    """The wait ran out before the job ended; the job itself goes on."""

    verb = "is still"
