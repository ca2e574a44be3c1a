"""A client of the LD API (and of the local server): token, Batch jobs, Items.

::

    from ldtransform.client import LDClient

    with LDClient("https://ld.example.com", username="me", password=...) as ld:
        job = ld.wait(ld.import_file("accounts.json", "Account"))

The clients import httpx; ``import ldtransform`` does not import this package until a
client is asked for.
"""

from __future__ import annotations

from ldtransform.client._items import RejectedItem, UpdatesPage, UpsertResult
from ldtransform.client._protocol import Timeouts
from ldtransform.client._retry import RetryPolicy
from ldtransform.client.aio import AsyncLDClient
from ldtransform.client.credentials import Credentials
from ldtransform.client.errors import (
    ApiError,
    AuthError,
    ClientError,
    CredentialsError,
    JobCanceled,
    JobError,
    JobFailed,
    JobRejected,
    JobTimeout,
    LinkExpired,
    TransportError,
    UnknownStatusError,
    UploadOutcomeUnknown,
)
from ldtransform.client.jobs import Job, WaitPolicy, raise_for_outcome
from ldtransform.client.sync import LDClient

__all__ = [
    "ApiError", "AsyncLDClient", "AuthError", "ClientError", "Credentials",
    "CredentialsError", "Job", "JobCanceled", "JobError", "JobFailed", "JobRejected",
    "JobTimeout", "LDClient", "LinkExpired", "RejectedItem", "RetryPolicy", "Timeouts",
    "TransportError", "UnknownStatusError", "UpdatesPage", "UploadOutcomeUnknown",
    "UpsertResult", "WaitPolicy", "raise_for_outcome",
]
