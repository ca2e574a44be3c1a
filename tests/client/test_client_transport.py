"""Retries, deadlines and streaming: what is repeated, what never is, and bounded memory."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import SCHEMAS, account, canary_credentials, server_config, write_items

from ldtransform.client import (
    ApiError,
    Credentials,
    LDClient,
    RetryPolicy,
    Timeouts,
    TransportError,
    UploadOutcomeUnknown,
    WaitPolicy,
)
from ldtransform.ld import CANCEL, EXPORT, IMPORT, STATUS, JobStatus
from ldtransform.server import running


def faulty(tmp_path: Path, *faults: dict[str, Any]) -> Any:
    return running(data_dir=tmp_path / "ld", schemas=SCHEMAS,
                   config=server_config(faults=list(faults)))


def test_503_and_429_are_retried_after_retry_after(tmp_path: Path) -> None:
    slept: list[float] = []
    policy = RetryPolicy(sleep=slept.append)
    with faulty(tmp_path,
                {"route": IMPORT, "status": 503, "first": 1, "retry_after": 3},
                {"route": EXPORT, "status": 429, "first": 1, "retry_after": 2},
                {"route": STATUS, "status": 503, "first": 2, "retry_after": 1}) as url, \
            LDClient(credentials=canary_credentials(url), retry=policy) as ld:
        job = ld.import_file(write_items(tmp_path / "a.json", [account(1)]), "Account")
        assert slept == [3.0]
        ld.status(job.job_id)
        assert slept == [3.0, 1.0, 1.0]
        ld.export("Account")
        assert slept == [3.0, 1.0, 1.0, 2.0]


def test_retries_stop_at_the_attempts_and_budget(tmp_path: Path) -> None:
    slept: list[float] = []
    with faulty(tmp_path, {"route": STATUS, "status": 503, "retry_after": 4}) as url:
        policy = RetryPolicy(attempts=10, budget=10.0, sleep=slept.append)
        with LDClient(credentials=canary_credentials(url), retry=policy) as ld, \
                pytest.raises(ApiError) as caught:
            ld.status("some-job")
        assert caught.value.status == 503 and slept == [4.0, 4.0]
        slept.clear()
        policy = RetryPolicy(attempts=3, sleep=slept.append, random=lambda a, b: b)
        with LDClient(credentials=canary_credentials(url), retry=policy) as ld, \
                pytest.raises(ApiError):
            ld.cancel("some-job")  # the cancel route has no fault: 404 is not retried
        assert slept == []


def test_backoff_is_capped_and_jittered() -> None:
    drawn: list[tuple[float, float]] = []
    policy = RetryPolicy(base=1.0, cap=4.0, random=lambda a, b: drawn.append((a, b)) or b)
    assert [policy.backoff(n) for n in range(5)] == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert {a for a, _ in drawn} == {0.0}


def test_wait_goes_on_through_failed_polls(tmp_path: Path) -> None:
    with faulty(tmp_path, {"route": STATUS, "status": 503, "first": 3}) as url, \
            LDClient(credentials=canary_credentials(url),
                     retry=RetryPolicy(attempts=1)) as ld:
        job = ld.import_file(write_items(tmp_path / "a.json", [account(1)]), "Account")
        with pytest.raises(ApiError):
            ld.status(job.job_id)
        done = ld.wait(job, policy=WaitPolicy(interval=0.01))
        assert done.status == JobStatus.COMPLETED


def mock_client(handler: Any, **kwargs: Any) -> LDClient:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        result: httpx.Response = handler(request)
        return result

    return LDClient(credentials=Credentials(url="http://127.0.0.1", username="u",
                                            password="p"),
                    transport=httpx.MockTransport(answer),
                    retry=RetryPolicy(sleep=lambda s: None), **kwargs)


def job_answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"jobId": "j1", "status": "Accepted"})


def test_an_import_whose_answer_is_lost_is_never_resent(tmp_path: Path) -> None:
    sent: list[str] = []

    def drop(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        request.read()
        raise httpx.ReadError("connection reset", request=request)

    path = write_items(tmp_path / "a.json", [account(1)])
    with mock_client(drop) as ld, pytest.raises(UploadOutcomeUnknown, match="check before"):
        ld.import_file(path, "Account")
    assert sent == [IMPORT]
    sent.clear()
    with mock_client(drop) as ld, pytest.raises(TransportError) as caught:
        ld.export("Account")
    assert sent == [EXPORT] and not isinstance(caught.value, UploadOutcomeUnknown)


def test_an_import_that_never_connected_is_sent_again(tmp_path: Path) -> None:
    sent: list[str] = []

    def refuse_once(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        if len(sent) == 1:
            raise httpx.ConnectError("refused", request=request)
        return job_answer(request)

    path = write_items(tmp_path / "a.json", [account(1)])
    with mock_client(refuse_once) as ld:
        assert ld.import_file(path, "Account").job_id == "j1"
    assert sent == [IMPORT, IMPORT]


def test_repeatable_requests_retry_any_network_failure() -> None:
    sent: list[str] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        if len(sent) < 3:
            raise httpx.ReadError("reset", request=request)
        return job_answer(request)

    with mock_client(flaky) as ld:
        assert ld.cancel("j1").job_id == "j1"
    assert sent == [CANCEL] * 3


def test_an_unknown_status_ends_the_wait_as_an_error() -> None:
    from ldtransform.client import UnknownStatusError

    def odd(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"jobId": "j1", "status": "Paused"})

    with mock_client(odd) as ld, pytest.raises(UnknownStatusError, match="Paused"):
        ld.wait("j1")


def test_the_deadline_bounds_a_server_answering_byte_by_byte(dribbling_server: str) -> None:
    with LDClient(credentials=Credentials(url=dribbling_server, token="t"),
                  timeout=Timeouts(read=5, deadline=1.0),
                  retry=RetryPolicy(attempts=1)) as ld:
        started = time.monotonic()
        with pytest.raises(TransportError, match="deadline"):
            ld.status("j1")
        assert time.monotonic() - started < 2.0


def test_a_large_import_is_streamed_not_read_into_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    line = (b'{"headers": {"type": "Account"}, "data": {"accountId": "A%07d", "name": "'
            + b"x" * 400 + b'"}}')
    with path.open("wb") as out:
        out.write(b"[\n")
        for n in range(110_000):
            out.write((b",\n" if n else b"") + line % n)
        out.write(b"\n]\n")
    size = path.stat().st_size
    assert size > 50_000_000
    with faulty(tmp_path) as url, LDClient(credentials=canary_credentials(url)) as ld:
        ld.whoami()
        tracemalloc.start()
        try:
            job = ld.import_file(path, "NoSuchType")  # rejected at once: no processing
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert job.status == JobStatus.REJECTED
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte upload"


def test_result_file_names_cannot_leave_the_folder() -> None:
    from ldtransform.client._batch import target_names

    base = "http://h/ls/api/batch/download/abc/"
    names = target_names((base + "..", base + "%2e%2e%2fetc%2fpasswd", base + "a b.json",
                          base + "a_b.json", base + ".hidden", "http://h/"))
    assert names == ["part0001", "_etc_passwd", "a_b.json", "4-a_b.json", "hidden",
                     "part0006"]


def test_retry_after_as_seconds_or_http_date() -> None:
    from ldtransform.client._retry import retry_after_seconds

    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"},
                               now=1445412480.0) == 10.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_a_short_download_is_fetched_again(tmp_path: Path) -> None:
    from ldtransform.client import Job

    tries: list[int] = []

    def short_once(request: httpx.Request) -> httpx.Response:
        tries.append(1)
        body = b"0123456789"
        sent = body[:4] if len(tries) == 1 else body
        return httpx.Response(200, stream=httpx.ByteStream(sent),
                              headers={"Content-Length": "10"})

    job = Job("j1", job_type="export", status=JobStatus.COMPLETED,
              links=("http://127.0.0.1/ls/api/batch/download/x/r.json",))
    progress: list[tuple[int, int | None]] = []
    with mock_client(short_once) as ld:
        [path] = ld.download(job, tmp_path, progress=lambda n, t: progress.append((n, t)))
    assert path.read_bytes() == b"0123456789" and len(tries) == 2
    assert progress[-1] == (10, 10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_download_needs_a_completed_export(tmp_path: Path) -> None:
    from ldtransform.client import ClientError, Job

    with mock_client(job_answer) as ld, pytest.raises(ClientError, match="wait for it"):
        ld.download(Job("j1", job_type="export", status=JobStatus.PROCESSING), tmp_path)


@pytest.mark.parametrize("status", [500, 502, 504])
def test_an_import_answered_by_a_gateway_error_has_an_unknown_outcome(
        status: int, tmp_path: Path) -> None:
    sent: list[str] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return httpx.Response(status, text="upstream went away")

    path = write_items(tmp_path / "a.json", [account(1)])
    with mock_client(gateway) as ld, pytest.raises(UploadOutcomeUnknown, match=str(status)):
        ld.import_file(path, "Account")
    assert sent == [IMPORT]


def test_the_token_goes_only_to_the_servers_own_origin(tmp_path: Path) -> None:
    from ldtransform.client import Job

    auth: dict[str, str | None] = {}

    def record(request: httpx.Request) -> httpx.Response:
        auth[request.url.host] = request.headers.get("Authorization")
        return httpx.Response(200, stream=httpx.ByteStream(b"[]"))

    job = Job("j1", job_type="export", status=JobStatus.COMPLETED,
              links=("http://127.0.0.1/ls/api/batch/download/x/a.json",
                     "https://elsewhere.example/x/b.json"))
    with mock_client(record) as ld:
        ld.download(job, tmp_path)
    assert auth == {"127.0.0.1": "Bearer t", "elsewhere.example": None}
