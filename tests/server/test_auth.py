"""OAuth2 token, validation and every way authentication can fail."""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ldkit import AUTH, LD, SCHEMAS, make_config

from ldtransform.server import running
from ldtransform.server.auth import hash_password, verify_password
from ldtransform.server.clock import Clock

GOOD = {"grant_type": "password", "client_id": "ldtransform", "client_secret": "ldtransform",
        "username": "demo", "password": "demo", "scope": "community=Demo"}


def token(url: str, **changes: Any) -> httpx.Response:
    data = {k: v for k, v in {**GOOD, **changes}.items() if v is not None}
    return httpx.post(url + "/ls/api/oauth2/token", data=data)


def test_token_happy_path(server: tuple[str, Path]) -> None:
    r = token(server[0])
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert len(body["access_token"]) >= 32
    assert r.headers["cache-control"] == "no-store"
    auth = {"Authorization": "Bearer " + body["access_token"]}
    assert httpx.get(server[0] + "/ls/api/oauth2/validate", headers=auth).status_code == 200
    info = httpx.post(server[0] + "/ls/api/oauth2/tokenInfo", headers=auth).json()
    assert info["userId"] == "demo" and info["community"] == "Demo"


@pytest.mark.parametrize(("changes", "status", "error"), [
    ({"password": "wrong"}, 400, "invalid_grant"),
    ({"username": "nobody"}, 400, "invalid_grant"),
    ({"username": None}, 400, "invalid_request"),
    ({"client_secret": "wrong"}, 401, "invalid_client"),
    ({"client_id": "someone-else"}, 401, "invalid_client"),
    ({"grant_type": None}, 400, "invalid_request"),
    ({"grant_type": "authorization_code"}, 400, "unsupported_grant_type"),
    ({"scope": "community=Acme"}, 400, "invalid_scope"),
])
def test_token_failures(server: tuple[str, Path], changes: dict[str, Any], status: int,
                        error: str) -> None:
    r = token(server[0], **changes)
    assert r.status_code == status
    body = r.json()
    assert body["error"] == error
    assert body["error_description"]
    assert "access_token" not in body


def test_scope_forms(server: tuple[str, Path]) -> None:
    # The wiki's bare "scope=MyCommunity" form, and no scope at all (first community).
    for scope in ("Acme", "community=Acme deviceId=TEST-1", None):
        r = token(server[0], username="both", password="both-pw", scope=scope)
        assert r.status_code == 200, r.text
        expected = "Demo" if scope is None else "Acme"
        assert r.json()["scope"] == f"community={expected}"


def test_client_credentials_by_basic_auth(server: tuple[str, Path]) -> None:
    basic = base64.b64encode(b"ldtransform:ldtransform").decode()
    r = httpx.post(server[0] + "/ls/api/oauth2/token", headers={"Authorization": f"Basic {basic}"},
                   data={"grant_type": "password", "username": "demo", "password": "demo"})
    assert r.status_code == 200


CHALLENGES = {"invalid_request": 'Bearer realm="ld"',
              "invalid_token": 'Bearer realm="ld", error="invalid_token"'}


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic ZGVtbzpkZW1v"},
    {"Authorization": "Bearer"},
])
def test_protected_routes_need_a_valid_token(server: tuple[str, Path],
                                             headers: dict[str, str]) -> None:
    url = server[0]
    for method, path in [("GET", "/ls/api/oauth2/validate"), ("POST", "/ls/api/batch/status"),
                         ("POST", "/ls/api/batch/import"), ("POST", "/ls/api/batch/export"),
                         ("POST", "/ls/api/items/upsert"), ("POST", "/ls/api/items/updates"),
                         ("POST", "/ls/api/oauth2/tokenInfo")]:
        r = httpx.request(method, url + path, headers=headers, data={"jobId": "x"})
        assert r.status_code == 401, (path, r.text)
        # RFC 6750 3.1: the error code is named in the header only when a token was sent
        assert r.headers["www-authenticate"] == CHALLENGES[r.json()["error"]]
        assert r.headers["cache-control"] == "no-store"
    assert httpx.get(url + "/health").status_code == 200


def test_set_community(server: tuple[str, Path]) -> None:
    client = LD(*server, user="both", password="both-pw", community="Demo")
    r = client.post("/ls/api/oauth2/setCommunity", data={"community": "Acme"})
    assert r.status_code == 200 and r.json()["community"] == "Acme"
    assert client.post("/ls/api/oauth2/tokenInfo").json()["community"] == "Acme"
    r = client.post("/ls/api/oauth2/setCommunity", data={"community": "Nowhere"})
    assert r.status_code == 403 and r.json()["error"] == "invalid_scope"


def test_tokens_expire(tmp_path: Path) -> None:
    clock = Clock()
    config = make_config(auth={"token_ttl": 600})
    with running(data_dir=tmp_path, schemas=SCHEMAS, config=config, clock=clock,
                 processes=False) as url:
        r = token(url)
        assert r.json()["expires_in"] == 600
        auth = {"Authorization": "Bearer " + r.json()["access_token"]}
        clock.advance(599)
        valid = httpx.get(url + "/ls/api/oauth2/validate", headers=auth)
        assert valid.status_code == 200 and valid.json()["expiresIn"] in (0, 1)
        clock.advance(2)
        r = httpx.get(url + "/ls/api/oauth2/validate", headers=auth)
        assert r.status_code == 401
        assert r.json()["error"] == "invalid_token"
        status = httpx.post(url + "/ls/api/batch/status", headers=auth, data={"jobId": "x"})
        assert status.status_code == 401


def test_client_required_when_configured(tmp_path: Path) -> None:
    config = make_config(auth={"require_client": True})
    with running(data_dir=tmp_path, schemas=SCHEMAS, config=config) as url:
        assert token(url, client_id=None, client_secret=None).status_code == 401
        assert token(url).status_code == 200


def test_secrets_are_not_stored_or_logged(tmp_path: Path,
                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with running(data_dir=tmp_path, schemas=SCHEMAS, config=make_config()) as url:
        issued = token(url, username="alice", password="alice-pw-7Qx",
                       scope="community=Acme").json()["access_token"]
        auth = {"Authorization": "Bearer " + issued}
        assert httpx.get(url + "/ls/api/oauth2/validate", headers=auth).status_code == 200
    stored = b"".join(p.read_bytes() for p in tmp_path.rglob("ld.sqlite3*"))
    assert b"alice-pw-7Qx" not in stored
    assert issued.encode() not in stored
    logged = caplog.text
    assert "alice-pw-7Qx" not in logged and issued not in logged


def test_password_hashes() -> None:
    stored = hash_password("s3cret")
    assert stored.startswith("scrypt$") and "s3cret" not in stored
    assert verify_password("s3cret", stored)
    assert not verify_password("s3cret!", stored)
    assert not verify_password("s3cret", "garbage")


@pytest.fixture
def throttled(tmp_path: Path) -> Iterator[tuple[str, Clock]]:
    """A server that allows 3 wrong passwords per user, 6 per address, in 60 s."""
    clock = Clock()
    config = make_config(auth={**AUTH, "max_failures": 3, "max_failures_per_address": 6,
                               "failure_window": 60})
    with running(data_dir=tmp_path, schemas=SCHEMAS, config=config, clock=clock,
                 processes=False) as url:
        yield url, clock


def test_wrong_passwords_for_a_user_are_throttled(throttled: tuple[str, Clock]) -> None:
    url, clock = throttled
    for _ in range(3):
        assert token(url, password="guess").status_code == 400
        clock.advance(1)
    refused = token(url)  # even the right password, while throttled
    assert refused.status_code == 429
    assert refused.json()["error"] == "too_many_requests"
    # when the first failure (3 s ago on the moved clock) leaves the 60 s window
    assert 55 <= int(refused.headers["retry-after"]) <= 57
    assert token(url, username="alice", password="alice-pw-7Qx",
                 scope="community=Acme").status_code == 200  # other users are not held up
    clock.advance(57)
    assert token(url).status_code == 200


def test_a_successful_login_resets_the_count(throttled: tuple[str, Clock]) -> None:
    url, _ = throttled
    for _ in range(2):
        assert token(url, password="guess").status_code == 400
    assert token(url).status_code == 200
    for _ in range(3):
        assert token(url, password="guess").status_code == 400
    assert token(url, password="guess").status_code == 429


def test_guesses_from_one_address_are_throttled(throttled: tuple[str, Clock]) -> None:
    # Spraying one password over many names: each name fails once, the address six times.
    url, clock = throttled
    for n in range(6):
        assert token(url, username=f"user{n}", password="Summer2026").status_code == 400
    assert token(url, username="user6", password="Summer2026").status_code == 429
    assert token(url).status_code == 429  # the address as a whole waits
    clock.advance(61)
    assert token(url).status_code == 200


def test_throttling_can_be_turned_off(tmp_path: Path) -> None:
    config = make_config(auth={**AUTH, "max_failures": 0, "max_failures_per_address": 0})
    with running(data_dir=tmp_path, schemas=SCHEMAS, config=config, processes=False) as url:
        for _ in range(7):  # past the default of 5
            assert token(url, password="guess").status_code == 400
        assert token(url).status_code == 200


def test_unknown_users_cost_the_same_hashing(server: tuple[str, Path],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # What takes the time of a login is scrypt: an unknown user must run it exactly as a
    # known user with a wrong password does, or the answer's timing tells who exists.
    calls: list[tuple[int, int, int]] = []
    scrypt = hashlib.scrypt

    def counted(password: bytes, **params: int) -> bytes:
        calls.append((params["n"], params["r"], params["p"]))
        return scrypt(password, **params)  # type: ignore[arg-type]
    monkeypatch.setattr(hashlib, "scrypt", counted)
    assert token(server[0], username="alice", password="wrong").status_code == 400
    known = list(calls)
    calls.clear()
    assert token(server[0], username="nobody-by-that-name", password="wrong").status_code \
        == 400
    assert calls == known and len(known) == 1


def test_logins_being_checked_count_but_only_delay_briefly() -> None:
    """Parallel guesses cannot slip past the limit while the first are being checked, but
    a user's clients logging in at once wait a second, not the failure window."""
    from ldtransform.server.auth import LoginThrottle

    throttle = LoginThrottle(300, Clock())
    limits = {"user:demo": 2}
    first, second = throttle.attempt(limits), throttle.attempt(limits)
    assert first[0] == second[0] == 0
    assert throttle.attempt(limits)[0] == 1.0          # two still being checked
    throttle.succeeded("user:demo", first[1])
    throttle.succeeded("user:demo", second[1])
    wrong = [throttle.attempt(limits) for _ in range(2)]
    assert [w[0] for w in wrong] == [0, 0]
    for _, keys in wrong:
        throttle.failed(keys)
    assert throttle.attempt(limits)[0] == pytest.approx(300, abs=1)   # failures: the window
