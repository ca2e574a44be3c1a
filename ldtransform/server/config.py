"""The server's configuration: ``server.toml`` read with :mod:`tomllib`.

Every key has a default, so a server runs with no file at all (the demo user, client and
community are then the only ones). ``docs/server.md`` lists every key; a key the server
does not know is an error, so a typo never passes silently.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from ldtransform.errors import ConfigError

__all__ = ["AuthConfig", "Client", "Fault", "Limits", "ServerConfig", "User", "load_config"]

DEMO_USER = "demo"
DEMO_PASSWORD = "demo"
DEMO_CLIENT = "ldtransform"
DEMO_COMMUNITY = "Demo"
GIB = 1 << 30
WEEK = 7 * 24 * 3600


@dataclass(frozen=True)
class User:
    """A user who may obtain tokens; ``password`` is plain text or an ``scrypt$`` hash."""

    name: str
    password: str
    communities: tuple[str, ...] = (DEMO_COMMUNITY,)


@dataclass(frozen=True)
class Client:
    """An OAuth2 client (application) with its secret."""

    client_id: str
    client_secret: str


@dataclass(frozen=True)
class AuthConfig:
    """Who may log in, and for how long a token lives."""

    users: tuple[User, ...] = (User(DEMO_USER, DEMO_PASSWORD),)
    clients: tuple[Client, ...] = (Client(DEMO_CLIENT, DEMO_CLIENT),)
    token_ttl: float = 3600.0
    require_client: bool = False
    #: Wrong passwords for one user name within ``failure_window`` before 429 (0: no limit).
    max_failures: int = 5
    #: Wrong passwords from one client address within ``failure_window`` (0: no limit).
    max_failures_per_address: int = 20
    failure_window: float = 300.0


@dataclass(frozen=True)
class Limits:
    """Size, count and time limits."""

    max_upload_bytes: int = GIB
    max_fields: int = 32
    max_field_bytes: int = 1 << 20
    max_files: int = 2
    max_body_bytes: int = 64 << 20
    max_updates_page: int = 10_000
    sql_time_limit: float = 10.0
    sql_row_limit: int = 5_000_000
    records_per_file: int = 100_000
    link_ttl: float = float(WEEK)
    template_time_limit: float = 10.0
    template_value_chars: int = 10_000_000
    template_output_chars: int = 10_000_000
    export_row_bytes: int = 16 << 20
    export_max_bytes: int = 10 * GIB


@dataclass(frozen=True)
class Fault:
    """An injected fault: requests to ``route`` answer ``status`` (or are delayed)."""

    route: str
    status: int | None = None
    probability: float = 1.0
    first: int | None = None
    retry_after: float | None = None
    delay: float = 0.0
    methods: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServerConfig:
    """Everything the server needs to run."""

    data_dir: Path = Path("ldserver-data")
    schemas_dir: Path | None = None
    auth: AuthConfig = AuthConfig()
    limits: Limits = Limits()
    records_per_second: float | None = None
    chunk_size: int = 5_000
    workers: int = 2
    processes: bool = True
    recovery: str = "resume"
    faults: tuple[Fault, ...] = ()
    fault_seed: int = 0
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "ldtransform-server@localhost"
    public_url: str | None = None

    def with_overrides(self, **changes: Any) -> ServerConfig:
        """A copy with the given (non-None) keys replaced."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _check_keys(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; "
                          f"known keys are {', '.join(sorted(allowed))}")


def _names(cls: Any) -> set[str]:
    return {f.name for f in fields(cls)}


def _users(raw: Any, where: str) -> tuple[User, ...]:
    users = []
    for i, entry in enumerate(raw):
        _check_keys(entry, {"name", "password", "communities"}, f"{where}.users[{i}]")
        if "name" not in entry or "password" not in entry:
            raise ConfigError(f"{where}.users[{i}]: a user needs name and password")
        communities = tuple(entry.get("communities", [DEMO_COMMUNITY]))
        if not communities:
            raise ConfigError(f"{where}.users[{i}]: communities must not be empty")
        users.append(User(str(entry["name"]), str(entry["password"]), communities))
    return tuple(users)


def _clients(raw: Any, where: str) -> tuple[Client, ...]:
    clients = []
    for i, entry in enumerate(raw):
        _check_keys(entry, {"client_id", "client_secret"}, f"{where}.clients[{i}]")
        if "client_id" not in entry or "client_secret" not in entry:
            raise ConfigError(f"{where}.clients[{i}]: a client needs client_id and "
                              "client_secret")
        clients.append(Client(str(entry["client_id"]), str(entry["client_secret"])))
    return tuple(clients)


def _auth(raw: dict[str, Any], where: str) -> AuthConfig:
    _check_keys(raw, {"users", "clients", "token_ttl", "require_client", "max_failures",
                      "max_failures_per_address", "failure_window"}, where)
    base = AuthConfig()
    return AuthConfig(
        users=_users(raw["users"], where) if "users" in raw else base.users,
        clients=_clients(raw["clients"], where) if "clients" in raw else base.clients,
        token_ttl=float(raw.get("token_ttl", base.token_ttl)),
        require_client=bool(raw.get("require_client", base.require_client)),
        max_failures=int(raw.get("max_failures", base.max_failures)),
        max_failures_per_address=int(raw.get("max_failures_per_address",
                                             base.max_failures_per_address)),
        failure_window=float(raw.get("failure_window", base.failure_window)),
    )


def _faults(raw: Any) -> tuple[Fault, ...]:
    faults = []
    for i, entry in enumerate(raw):
        _check_keys(entry, _names(Fault), f"faults[{i}]")
        if "route" not in entry:
            raise ConfigError(f"faults[{i}]: a fault needs a route, e.g. "
                              "'/ls/api/batch/status'")
        status = entry.get("status")
        if status is not None and status not in (429, 500, 502, 503, 504):
            raise ConfigError(f"faults[{i}].status: use 429, 500, 502, 503 or 504")
        methods = tuple(m.upper() for m in entry.get("methods", []))
        faults.append(Fault(**{**entry, "methods": methods}))
    return tuple(faults)


def load_config(path: str | os.PathLike[str] | None = None) -> ServerConfig:
    """Read ``server.toml`` (or return the defaults when ``path`` is None)."""
    if path is None:
        return ServerConfig()
    try:
        with open(path, "rb") as handle:
            doc = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the server config: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return config_from_dict(doc, source=str(path))


def config_from_dict(doc: dict[str, Any], *, source: str = "config") -> ServerConfig:
    """Build a :class:`ServerConfig` from a parsed TOML document."""
    top = {"server", "auth", "limits", "processing", "faults", "notifications"}
    _check_keys(doc, top, source)
    server = doc.get("server", {})
    _check_keys(server, {"data_dir", "schemas", "public_url"}, f"{source}: [server]")
    processing = doc.get("processing", {})
    _check_keys(processing, {"records_per_second", "chunk_size", "workers", "processes",
                             "recovery", "fault_seed"},
                f"{source}: [processing]")
    notes = doc.get("notifications", {})
    _check_keys(notes, {"smtp_host", "smtp_port", "sender"}, f"{source}: [notifications]")
    limits = doc.get("limits", {})
    _check_keys(limits, _names(Limits), f"{source}: [limits]")
    recovery = processing.get("recovery", "resume")
    if recovery not in ("resume", "fail"):
        raise ConfigError(f"{source}: [processing] recovery is 'resume' or 'fail'")
    base = ServerConfig()
    return ServerConfig(
        data_dir=Path(server.get("data_dir", base.data_dir)),
        schemas_dir=Path(server["schemas"]) if "schemas" in server else None,
        public_url=server.get("public_url"),
        auth=_auth(doc.get("auth", {}), f"{source}: [auth]"),
        limits=replace(Limits(), **limits),
        records_per_second=processing.get("records_per_second"),
        chunk_size=int(processing.get("chunk_size", base.chunk_size)),
        workers=max(1, int(processing.get("workers", base.workers))),
        processes=bool(processing.get("processes", base.processes)),
        recovery=recovery,
        fault_seed=int(processing.get("fault_seed", 0)),
        faults=_faults(doc.get("faults", [])),
        smtp_host=notes.get("smtp_host"),
        smtp_port=int(notes.get("smtp_port", 25)),
        smtp_sender=str(notes.get("sender", base.smtp_sender)),
    )


def default_config() -> ServerConfig:
    """The configuration with no file: the demo credentials only."""
    return ServerConfig()

