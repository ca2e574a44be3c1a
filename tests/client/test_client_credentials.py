"""Where credentials come from, and which URLs and files are refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ldtransform.client import Credentials, CredentialsError

PROFILE = """
[profiles.default]
url = "https://ld.example.com"
username = "fromfile"
password = "canary-pw-7f3a"

[profiles.other]
url = "https://other.example.com"
username = "other"
"""


def profile_file(tmp_path: Path, mode: int = 0o600) -> Path:
    path = tmp_path / "credentials.toml"
    path.write_text(PROFILE)
    os.chmod(path, mode)
    return path


def test_arguments_win_over_environment_over_profile(tmp_path: Path) -> None:
    path = profile_file(tmp_path)
    env = {"LD_USERNAME": "fromenv", "LD_COMMUNITY": "Acme"}
    found = Credentials.resolve(config_path=path, environ=env, community="Given")
    assert (found.url, found.username, found.password, found.community) == (
        "https://ld.example.com", "fromenv", "canary-pw-7f3a", "Given")


def test_named_profile_and_config_variable(tmp_path: Path) -> None:
    path = profile_file(tmp_path)
    found = Credentials.resolve(profile="other", environ={"LDTRANSFORM_CONFIG": str(path)},
                                prompt=lambda question: "typed")
    assert (found.url, found.username, found.password) == (
        "https://other.example.com", "other", "typed")


def test_a_profile_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = profile_file(tmp_path, 0o644)
    with pytest.raises(CredentialsError, match="chmod 600") as caught:
        Credentials.resolve(config_path=path, environ={})
    assert "canary" not in str(caught.value)


def test_a_missing_named_profile_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match=r"profiles\.nope"):
        Credentials.resolve(profile="nope", config_path=profile_file(tmp_path), environ={})


@pytest.mark.parametrize("url", ["http://127.0.0.1:8765", "http://localhost", "http://[::1]:9",
                                 "https://ld.example.com"])
def test_loopback_or_https_is_accepted(url: str, tmp_path: Path) -> None:
    found = Credentials.resolve(config_path=tmp_path / "none.toml", environ={"LD_URL": url})
    assert found.url == url


def test_plain_http_to_another_host_needs_insecure(tmp_path: Path) -> None:
    none = tmp_path / "none.toml"
    with pytest.raises(CredentialsError, match="--insecure"):
        Credentials.resolve(config_path=none, environ={}, url="http://ld.example.com")
    assert Credentials.resolve(config_path=none, environ={}, url="http://ld.example.com",
                               insecure=True).insecure


def test_no_url_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="LD_URL"):
        Credentials.resolve(config_path=tmp_path / "none.toml", environ={})


def test_repr_masks_every_secret() -> None:
    shown = repr(Credentials(url="https://x", username="u", password="canary-pw-7f3a",
                             client_secret="canary-s", token="canary-t"))
    assert "canary" not in shown
    assert "password=***" in shown and "token=***" in shown and "username='u'" in shown
