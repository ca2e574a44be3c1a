"""Where the client's URL and secrets come from: arguments, environment, a profile file.

Arguments win, then the environment (``LD_URL``, ``LD_USERNAME``, ``LD_PASSWORD``,
``LD_CLIENT_ID``, ``LD_CLIENT_SECRET``, ``LD_COMMUNITY``, ``LD_TOKEN``), then the profile
``[profiles.<name>]`` of ``~/.config/ldtransform/credentials.toml`` (``LDTRANSFORM_CONFIG``
names another file). The file must not be readable by group or others. Secrets are never
shown: :func:`repr` masks them.
"""

from __future__ import annotations

import ipaddress
import os
import stat
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ldtransform.client.errors import CredentialsError

__all__ = ["Credentials", "default_config_path"]

#: Environment variable of each field.
ENV = {"url": "LD_URL", "username": "LD_USERNAME", "password": "LD_PASSWORD",
       "client_id": "LD_CLIENT_ID", "client_secret": "LD_CLIENT_SECRET",
       "community": "LD_COMMUNITY", "token": "LD_TOKEN"}
SECRETS = ("password", "client_secret", "token")


def default_config_path(environ: Mapping[str, str] = os.environ) -> Path:
    """``$LDTRANSFORM_CONFIG``, else ``~/.config/ldtransform/credentials.toml``."""
    given = environ.get("LDTRANSFORM_CONFIG")
    return Path(given) if given else Path.home() / ".config" / "ldtransform" / "credentials.toml"


@dataclass(frozen=True, repr=False)
class Credentials:
    """The server to talk to and how to log in; secrets are masked in ``repr``."""

    url: str | None = None
    username: str | None = None
    password: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    community: str | None = None
    token: str | None = None
    insecure: bool = False

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            shown.append(f"{f.name}=***" if f.name in SECRETS else f"{f.name}={value!r}")
        return f"Credentials({', '.join(shown)})"

    def secrets(self) -> tuple[str, ...]:
        """The secret values given (to scrub them from any text shown)."""
        return tuple(v for v in (getattr(self, n) for n in SECRETS) if v)

    @classmethod
    def resolve(cls, profile: str | None = None, config_path: str | os.PathLike[str] | None = None,
                environ: Mapping[str, str] = os.environ,
                prompt: Callable[[str], str] | None = None, **given: Any) -> Credentials:
        """Credentials from ``given`` arguments, then ``environ``, then a profile file.

        ``prompt`` (e.g. :func:`getpass.getpass`) asks for a password that is still
        missing. Raises :class:`CredentialsError` when no URL is known, the profile file is
        readable by others, or the URL is plain ``http://`` to a host that is not loopback
        (unless ``insecure=True``).
        """
        unknown = set(given) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"unknown credential field(s): {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        for name, var in ENV.items():
            if name not in values and environ.get(var):
                values[name] = environ[var]
        path = Path(config_path) if config_path is not None else default_config_path(environ)
        if profile is not None or path.exists():
            stored = _profile(path, profile or "default", explicit=profile is not None)
            for name, value in stored.items():
                values.setdefault(name, value)
        found = cls(**values)
        found.check()
        if found.token is None and found.username and not found.password and prompt:
            found = replace(found, password=prompt(f"LD password for {found.username}: "))
        return found

    @property
    def target(self) -> str:
        """Where work goes: ``<url>#<community>`` (the upload journal keeps parts per target)."""
        return f"{(self.url or '').rstrip('/')}#{self.community or ''}"

    def check(self) -> None:
        """Raise :class:`CredentialsError` if the URL is missing or unsafe."""
        if not self.url:
            raise CredentialsError("no LD server URL: pass url=, set LD_URL or name it in "
                                   "a credentials profile")
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CredentialsError(f"the LD URL {self.url!r} is not an http(s) URL")
        if parts.scheme == "http" and not self.insecure and not is_loopback(parts.hostname):
            raise CredentialsError(f"refusing plain http:// to {parts.hostname}: use https://, "
                                   "or --insecure if you accept sending secrets unencrypted")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _profile(path: Path, name: str, *, explicit: bool) -> dict[str, Any]:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise CredentialsError(f"no credentials file {path} (for profile {name!r})") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CredentialsError(f"{path} can be read by other users; run: chmod 600 {path}")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CredentialsError(f"{path}: cannot read it as TOML ({exc})") from None
    table = doc.get("profiles", {}).get(name)
    if table is None:
        if explicit:
            raise CredentialsError(f"{path} has no [profiles.{name}]")
        return {}
    allowed = {f.name for f in fields(Credentials)}
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise CredentialsError(f"{path}: [profiles.{name}] has unknown key(s) "
                               f"{', '.join(unknown)}; known: {', '.join(sorted(allowed))}")
    return dict(table)
