"""Tokens and secrets: login, renewal before expiry and once on a 401, secrets never shown."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import httpx
import pytest
from conftest import CANARY_PW, CANARY_SECRET, account, canary_credentials, write_items

from ldtransform.client import AuthError, Credentials, JobRejected, LDClient
from ldtransform.client._auth import TokenState
from ldtransform.server.clock import Clock


def logins(caplog: pytest.LogCaptureFixture) -> int:
    return sum("obtained a token" in r.getMessage() for r in caplog.records)


def test_an_expired_token_is_renewed_once_on_401(client: LDClient, server: tuple[str, Clock],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "ldtransform.client")
    client.whoami()
    server[1].advance(4000)  # the server's token has expired; the client cannot know
    assert client.whoami()["user"] == "canary"
    assert logins(caplog) == 2


def test_concurrent_401s_share_one_renewal(client: LDClient, server: tuple[str, Clock],
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "ldtransform.client")
    client.whoami()
    server[1].advance(4000)
    users: list[str] = []
    threads = [threading.Thread(target=lambda: users.append(client.whoami()["user"]))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert users == ["canary"] * 6
    assert logins(caplog) == 2


def test_token_is_renewed_before_it_expires() -> None:
    now = [0.0]
    state = TokenState(Credentials(url="http://127.0.0.1", username="u", password="p"),
                       clock=lambda: now[0])
    assert state.needs_login()
    state.accept({"access_token": "t1", "expires_in": 100})
    now[0] = 89.0
    assert not state.needs_login()
    now[0] = 90.0
    assert state.needs_login()


def test_a_second_401_after_renewal_is_an_auth_error() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": f"tok-{len(seen)}"})
        return httpx.Response(401, json={"error": "invalid_token"})

    with LDClient(credentials=Credentials(url="http://127.0.0.1", username="u",
                                          password=CANARY_PW),
                  transport=httpx.MockTransport(answer)) as ld, \
            pytest.raises(AuthError, match="renewed token"):
        ld.whoami()
    assert seen == ["/ls/api/oauth2/token", "/ls/api/oauth2/tokenInfo"] * 2


def test_a_given_token_is_never_renewed(server: tuple[str, Clock]) -> None:
    with LDClient(credentials=Credentials(url=server[0], token="not-a-token")) as ld, \
            pytest.raises(AuthError, match="LD_TOKEN"):
        ld.whoami()


def test_a_given_token_is_used(client: LDClient, server: tuple[str, Clock]) -> None:
    client.whoami()
    token = client._tokens.headers()["Authorization"].split()[1]
    with LDClient(credentials=Credentials(url=server[0], token=token)) as ld:
        assert ld.whoami()["user"] == "canary"


def test_wrong_password_is_refused_without_showing_it(server: tuple[str, Clock]) -> None:
    wrong = "canary-wrong-3c9d"
    with LDClient(credentials=canary_credentials(server[0], password=wrong)) as ld, \
            pytest.raises(AuthError, match="invalid_grant") as caught:
        ld.whoami()
    assert wrong not in str(caught.value) and wrong not in repr(caught.value)


def test_secrets_appear_in_no_repr_message_or_log(client: LDClient, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    client.whoami()
    token = client._tokens.headers()["Authorization"].split()[1]
    path = write_items(tmp_path / "a.json", [account(1)])
    with pytest.raises(JobRejected) as caught:
        client.wait(client.import_file(path, "NoSuchType"))
    shown = [repr(client), repr(client.credentials), repr(client._tokens), str(caught.value),
             repr(caught.value), repr(caught.value.job), caplog.text,
             "".join(capsys.readouterr())]
    assert CANARY_PW in client.credentials.password  # type: ignore[operator]
    for secret in (CANARY_PW, CANARY_SECRET, token):
        assert not [text for text in shown if secret in text]
    assert "password=***" in repr(client.credentials)
