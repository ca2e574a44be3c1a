"""The client's protocol logic, without I/O: both :class:`LDClient` and
:class:`AsyncLDClient` drive :func:`exchange` and build their requests here.

:func:`exchange` is a generator that yields actions (:class:`Attempt`, :class:`Sleep`,
:class:`Login`) and is sent their results (or thrown an ``httpx.TransportError``). It
decides what to retry, renews the token once on a 401, and turns error answers into
:mod:`ldtransform.client.errors`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Generator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import httpx

from ldtransform import ld
from ldtransform.client._retry import Retrying, RetryPolicy, retry_after_seconds
from ldtransform.client.errors import (
    ApiError,
    AuthError,
    LinkExpired,
    TransportError,
    UploadOutcomeUnknown,
)
from ldtransform.client.jobs import Job

__all__ = ["Answer", "Attempt", "Call", "Login", "Safety", "Sleep", "Timeouts", "exchange"]

log = logging.getLogger("ldtransform.client")


@dataclass(frozen=True)
class Timeouts:
    """Seconds to connect, to wait for any bytes, and for a whole request (``deadline``).

    The deadline also bounds a server that answers one byte at a time, which a read
    timeout alone does not. ``None`` turns a limit off.
    """

    connect: float | None = 5.0
    read: float | None = 30.0
    deadline: float | None = 300.0

    def httpx(self) -> httpx.Timeout:
        """The per-operation timeouts in httpx's terms."""
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.read,
                             pool=self.connect)


DEFAULT_TIMEOUTS = Timeouts()


class Safety(Enum):
    """What may be repeated after a failure."""

    REPEATABLE = "repeatable"
    """Reads and idempotent requests: any failure may be retried."""
    SUBMIT = "submit"
    """Creates a job: retried only if it never reached the server, or on 429/503."""
    UPLOAD = "upload"
    """An import: as SUBMIT, and an unknown outcome raises UploadOutcomeUnknown."""


@dataclass
class Call:
    """One HTTP request as the client means it (re-built for each attempt)."""

    method: str
    url: str
    safety: Safety = Safety.REPEATABLE
    data: Mapping[str, str] | None = None
    #: Builds the file parts of a multipart body; files it opens go on the stack.
    files: Callable[[ExitStack], dict[str, Any]] | None = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    authed: bool = True
    #: Receives a successful answer's body instead of keeping it in memory.
    sink: Any = None


@dataclass(frozen=True)
class Answer:
    """An HTTP answer (its body, unless a sink took it)."""

    status: int
    headers: httpx.Headers
    body: bytes
    url: str

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass(frozen=True)
class Attempt:
    """Send ``call`` once; the result is an :class:`Answer`."""

    call: Call


@dataclass(frozen=True)
class Sleep:
    """Wait ``seconds`` before the next attempt."""

    seconds: float


@dataclass(frozen=True)
class Login:
    """Make sure a valid token is held; ``rejected`` is the generation a 401 refused."""

    rejected: int | None = None


RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Answers that say the server did nothing with the request.
REFUSED_STATUSES = frozenset({429, 503})
#: Answers after which an upload may still have reached the server behind a gateway.
GATEWAY_STATUSES = frozenset({500, 502, 504})
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def may_retry_status(safety: Safety, status: int) -> bool:
    """Whether an answer with ``status`` may be retried for a request of ``safety``."""
    if safety is Safety.REPEATABLE:
        return status in RETRY_STATUSES
    return status in REFUSED_STATUSES


def may_retry_error(safety: Safety, error: httpx.TransportError) -> bool:
    """Whether a request of ``safety`` may be sent again after ``error``."""
    return safety is Safety.REPEATABLE or isinstance(error, NEVER_SENT)


def transport_error(call: Call, error: httpx.TransportError) -> TransportError:
    """The client error for a request that could not be completed."""
    what = f"{call.method} {call.url}: {type(error).__name__}"
    detail = str(error)
    if detail:
        what += f" ({detail})"
    if call.safety is Safety.UPLOAD and not isinstance(error, NEVER_SENT):
        return UploadOutcomeUnknown(f"{what}; the import may or may not have reached the "
                                    "server: check before sending it again")
    return TransportError(f"{what}; the server could not be reached or did not answer")


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret value replaced by ``***``."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def api_error(answer: Answer, secrets: tuple[str, ...]) -> ApiError:
    """The :class:`ApiError` of an HTTP error answer."""
    code, description = "", ""
    try:
        doc = answer.json()
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        code = str(doc.get("error") or "")
        description = str(doc.get("error_description") or "")
    elif answer.body:
        description = answer.body[:200].decode("utf-8", "replace")
    return ApiError(answer.status, scrub(code, secrets), scrub(description, secrets),
                    scrub(answer.url, secrets))


def exchange(call: Call, *, tokens_generation: Callable[[], int], retry: RetryPolicy,
             secrets: tuple[str, ...]) -> Generator[Attempt | Sleep | Login, Any, Answer]:
    """Run ``call`` to an answer: retries what is safe, renews the token once on 401."""
    retrying = Retrying(retry)
    renewed = False
    while True:
        generation = 0
        if call.authed:
            yield Login()
            generation = tokens_generation()
        try:
            answer: Answer = yield Attempt(call)
        except httpx.TransportError as failure:
            delay = retrying.next_delay() if may_retry_error(call.safety, failure) else None
            if delay is None:
                raise transport_error(call, failure) from None
            log.info("%s %s failed (%s); retrying in %.2fs", call.method, call.url,
                     type(failure).__name__, delay)
            yield Sleep(delay)
            continue
        log.debug("%s %s -> %d", call.method, call.url, answer.status)
        if answer.status == 401 and call.authed:
            if renewed:
                raise AuthError("the server refused a freshly renewed token: check the "
                                "user's rights and the community")
            renewed = True
            yield Login(rejected=generation)
            continue
        if may_retry_status(call.safety, answer.status):
            delay = retrying.next_delay(retry_after_seconds(answer.headers))
            if delay is not None:
                log.info("%s %s answered %d; retrying in %.2fs", call.method, call.url,
                         answer.status, delay)
                yield Sleep(delay)
                continue
        if answer.status >= 400:
            if call.safety is Safety.UPLOAD and answer.status in GATEWAY_STATUSES:
                raise UploadOutcomeUnknown(
                    f"{call.method} {call.url} answered {answer.status}; the import may or "
                    "may not have reached the server: check before sending it again")
            if answer.status == 410 and call.method == "GET":
                raise LinkExpired(answer.url)
            error = api_error(answer, secrets)
            if not call.authed and call.url == ld.TOKEN and answer.status in (400, 401):
                raise AuthError(f"login refused: {error.code}"
                                + (f": {error.description}" if error.description else ""))
            raise error
        return answer


def job_of(answer: Answer) -> Job:
    """The job of a batch route's answer."""
    doc = answer.json()
    if not isinstance(doc, dict) or "jobId" not in doc:
        raise ApiError(answer.status, "bad_answer", "the answer is not a job status object",
                       answer.url)
    return Job.from_status(doc)


def job_id_of(job_or_id: Job | str) -> str:
    """The id of a :class:`Job`, or the id itself."""
    return job_or_id.job_id if isinstance(job_or_id, Job) else job_or_id


def status_call(job_id: str) -> Call:
    """``POST /status`` of a job."""
    return Call("POST", ld.STATUS, data={ld.JOB_ID: job_id})


def cancel_call(job_id: str) -> Call:
    """``POST /cancel`` of a job (repeatable: canceling twice changes nothing)."""
    return Call("POST", ld.CANCEL, data={ld.JOB_ID: job_id})


def token_info_call() -> Call:
    """``POST /tokenInfo``."""
    return Call("POST", ld.TOKEN_INFO)


def whoami_of(answer: Answer) -> dict[str, Any]:
    """The user and community of a tokenInfo answer (and the rest of it)."""
    doc = answer.json()
    return {"user": doc.get("userId"), "community": doc.get("community"), **doc}
