"""OAuth2 token, validation and every way authentication can fail."""

from __future__ import annotations

import base64
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from ldkit import LD, SCHEMAS, make_config

from ldtransform.server import running
from ldtransform.server.auth import hash_password, verify_password

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
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert r.json()["error"] in ("invalid_request", "invalid_token")
    assert httpx.get(url + "/health").status_code == 200


def test_set_community(server: tuple[str, Path]) -> None:
    client = LD(*server, user="both", password="both-pw", community="Demo")
    r = client.post("/ls/api/oauth2/setCommunity", data={"community": "Acme"})
    assert r.status_code == 200 and r.json()["community"] == "Acme"
    assert client.post("/ls/api/oauth2/tokenInfo").json()["community"] == "Acme"
    r = client.post("/ls/api/oauth2/setCommunity", data={"community": "Nowhere"})
    assert r.status_code == 403


def test_tokens_expire(tmp_path: Path) -> None:
    config = make_config(auth={"token_ttl": 1})
    with running(data_dir=tmp_path, schemas=SCHEMAS, config=config) as url:
        r = token(url)
        assert r.json()["expires_in"] == 1
        auth = {"Authorization": "Bearer " + r.json()["access_token"]}
        assert httpx.get(url + "/ls/api/oauth2/validate", headers=auth).status_code == 200
        time.sleep(1.2)
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
