"""The fault proxy breaks each request as told, against the real local server."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from faultproxy import FaultProxy

from ldtransform import ld
from ldtransform.ld import ImportField, is_terminal
from ldtransform.server import running

LOGIN = {"grant_type": "password", "client_id": "ldtransform", "client_secret": "ldtransform",
         "username": "demo", "password": "demo", "scope": "community=Demo"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running(data_dir=tmp_path_factory.mktemp("ld"), processes=False) as url:
        yield url


@pytest.fixture(scope="module")
def auth(server: str) -> dict[str, str]:
    token = httpx.post(server + ld.TOKEN, data=LOGIN).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def account(key: str) -> dict[str, Any]:
    return {"headers": {"category": "entity", "type": "Account", "action": "Create"},
            "data": {"accountId": key, "name": key, "currency": "USD",
                     "accountClass": "/Account/accountClass[invoiced]"}}


def import_accounts(http: httpx.Client, auth: dict[str, str], keys: list[str],
                    job_name: str) -> httpx.Response:
    content = json.dumps([account(k) for k in keys]).encode()
    return http.post(ld.IMPORT, headers=auth,
                     files={ImportField.FILE: ("data.json", content, "application/json")},
                     data={ImportField.JOB_NAME: job_name, ImportField.ITEM_TYPE: "Account",
                           ImportField.CONTENT_TYPE: "application/json"})


def status(server: str, auth: dict[str, str], job_id: str) -> dict[str, Any]:
    """A job's status through a connection of its own, past the proxy."""
    deadline = time.monotonic() + 20
    while True:
        job: dict[str, Any] = httpx.post(server + ld.STATUS, headers=auth,
                                         data={ld.JOB_ID: job_id}).json()
        if is_terminal(job["status"]) or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def stored_keys(server: str, auth: dict[str, str]) -> set[str]:
    """Every Account key the server holds (one page is enough for these tests)."""
    page = httpx.post(server + ld.UPDATES, headers=auth,
                      data={"itemType": "Account", "max": 1000}).json()
    return {item["data"]["accountId"] for item in page["items"]}


def test_pass_forwards_requests_and_answers(server: str, auth: dict[str, str]) -> None:
    with FaultProxy(server) as proxy, httpx.Client(base_url=proxy.url) as http:
        answer = import_accounts(http, auth, ["P1", "P2"], "passing")
        assert answer.status_code == 200
        job = status(server, auth, answer.json()["jobId"])
        assert job["status"] == "Completed" and job["jobName"] == "passing"
        [exchange] = proxy.exchanges
        assert (exchange.method, exchange.path, exchange.fault, exchange.status) == (
            "POST", ld.IMPORT, "pass", 200)
        assert json.loads(exchange.body or b"")["jobId"] == answer.json()["jobId"]


def test_chunked_request_bodies_are_forwarded(server: str, auth: dict[str, str]) -> None:
    def pieces() -> Iterator[bytes]:        # no length known: httpx sends it chunked
        body = json.dumps([account("C1"), account("C2")]).encode()
        yield from (body[i:i + 7] for i in range(0, len(body), 7))

    with FaultProxy(server) as proxy, httpx.Client(base_url=proxy.url) as http:
        answer = http.post(ld.UPSERT, content=pieces(),
                           headers={**auth, "Content-Type": "application/json"})
        assert answer.status_code == 200 and answer.json()["count"] == 2
        assert proxy.counts() == {"pass": 1}
    assert {"C1", "C2"} <= stored_keys(server, auth)


def test_reset_before_reaches_nothing(server: str, auth: dict[str, str]) -> None:
    with FaultProxy(server, faults=["reset_before"]) as proxy, \
            httpx.Client(base_url=proxy.url) as http:
        with pytest.raises((httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)):
            import_accounts(http, auth, ["RB1"], "reset before")
        [exchange] = proxy.exchanges
        assert (exchange.fault, exchange.status, exchange.path) == (
            "reset_before", None, ld.IMPORT)
    time.sleep(0.3)        # a job that did start would have applied its record by now
    assert "RB1" not in stored_keys(server, auth)


def test_reset_after_loses_the_answer_of_work_done(server: str, auth: dict[str, str]) -> None:
    with FaultProxy(server, faults=["reset_after"]) as proxy, \
            httpx.Client(base_url=proxy.url) as http:
        with pytest.raises(httpx.ReadError):
            import_accounts(http, auth, ["RA1", "RA2"], "reset after")
        [exchange] = proxy.exchanges
        assert (exchange.fault, exchange.status) == ("reset_after", 200)
    job_id = json.loads(exchange.body or b"")["jobId"]
    job = status(server, auth, job_id)
    assert (job["status"], job["jobName"], job["recordsProcessed"]) == (
        "Completed", "reset after", "2")
    assert {"RA1", "RA2"} <= stored_keys(server, auth)


def test_blackhole_never_answers(server: str, auth: dict[str, str]) -> None:
    with FaultProxy(server, faults=["blackhole"]) as proxy, \
            httpx.Client(base_url=proxy.url, timeout=httpx.Timeout(5, read=0.5)) as http:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            import_accounts(http, auth, ["BH1"], "blackhole")
        assert time.monotonic() - started >= 0.5
        [exchange] = proxy.exchanges
        assert exchange.fault == "blackhole"
    job = status(server, auth, json.loads(exchange.body or b"")["jobId"])
    assert job["status"] == "Completed"


def test_slow_answers_arrive_whole_but_late(server: str, auth: dict[str, str]) -> None:
    clean = httpx.post(server + ld.TOKEN_INFO, headers=auth).json()
    with FaultProxy(server, faults=["slow"], slow_delay=0.002, slow_chunk=1) as proxy, \
            httpx.Client(base_url=proxy.url) as http:
        started = time.monotonic()
        answer = http.post(ld.TOKEN_INFO, headers=auth)
        took = time.monotonic() - started
        assert answer.status_code == 200
        assert {k: v for k, v in answer.json().items() if k != "expiresIn"} == {
            k: v for k, v in clean.items() if k != "expiresIn"}
        [exchange] = proxy.exchanges
    # every byte of the head and the body waited its turn
    assert took >= 0.002 * (len(answer.content) + 100)
    assert exchange.fault == "slow"


def test_faults_change_per_request_on_one_kept_alive_connection(
        server: str, auth: dict[str, str]) -> None:
    faults = ["pass", "slow", "reset_after", "pass"]
    with FaultProxy(server, faults=faults, slow_delay=0.0005) as proxy, \
            httpx.Client(base_url=proxy.url) as http:
        assert http.post(ld.TOKEN_INFO, headers=auth).status_code == 200
        assert http.get(ld.HEALTH).status_code == 200
        with pytest.raises(httpx.ReadError):
            http.post(ld.STATUS, headers=auth, data={ld.JOB_ID: "nope"})
        assert http.get(ld.HEALTH).status_code == 200      # on a new connection
        seen = [(e.connection, e.path, e.fault, e.status) for e in proxy.exchanges]
    assert seen == [(1, ld.TOKEN_INFO, "pass", 200), (1, ld.HEALTH, "slow", 200),
                    (1, ld.STATUS, "reset_after", 404), (2, ld.HEALTH, "pass", 200)]


def test_random_faults_follow_the_seed(server: str) -> None:
    faults = {"reset_before": 0.3, "reset_after": 0.2}

    def run(seed: int) -> list[str]:
        with FaultProxy(server, faults=faults, seed=seed) as proxy, \
                httpx.Client(base_url=proxy.url) as http:
            for _ in range(40):
                with contextlib.suppress(httpx.TransportError):
                    http.get(ld.HEALTH)
            return [e.fault for e in proxy.exchanges]

    first, again, other = run(3), run(3), run(4)
    assert first == again != other
    assert {"pass", "reset_before", "reset_after"} == set(first)
    assert 4 <= first.count("reset_before") <= 20


def test_a_bad_fault_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown"):
        FaultProxy(1, faults=["drop"])
    with pytest.raises(ValueError, match="probabilities"):
        FaultProxy(1, faults={"slow": 0.7, "blackhole": 0.5})


def test_a_server_closing_an_idle_connection_is_reconnected_to() -> None:
    """A server may close a kept-alive connection when idle (uvicorn after 5 s): the
    proxy then opens a new one for the next request, which it has not forwarded yet."""
    listener = socket.create_server(("127.0.0.1", 0))
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"

    def serve_once_per_connection() -> None:
        for _ in range(2):
            conn, _ = listener.accept()
            with conn:
                while b"\r\n\r\n" not in conn.recv(65536):
                    pass
                conn.sendall(answer)        # then close, as at an idle timeout

    server = threading.Thread(target=serve_once_per_connection, daemon=True)
    server.start()
    with listener, FaultProxy(listener.getsockname()[1]) as proxy, \
            httpx.Client(base_url=proxy.url) as http:
        assert http.get("/one").text == "ok"
        time.sleep(0.2)
        assert http.get("/two").text == "ok"
        proxy.set_faults(["reset_before"])
        with pytest.raises(httpx.TransportError):
            http.get("/three")
        server.join(5)
        seen = [(e.connection, e.path, e.fault) for e in proxy.exchanges]
    assert seen == [(1, "/one", "pass"), (1, "/two", "pass"), (1, "/three", "reset_before")]
