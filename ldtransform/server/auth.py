"""OAuth2 password grant, bearer tokens and password hashing.

Passwords are kept only as scrypt hashes (a config file may hold either the plain text or
an ``scrypt$...`` hash made with :func:`hash_password`). Tokens are random and stored only
as their SHA-256, so neither the database nor a log holds a usable secret.

Guessing is slowed down: after ``max_failures`` wrong passwords for one user name (or
``max_failures_per_address`` from one client address) within ``failure_window`` seconds,
logins for it answer 429 with ``Retry-After`` until the oldest failure leaves the window.
An unknown user costs the same scrypt work as a known one, so timing does not tell them
apart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import threading
import uuid
from collections import deque
from dataclasses import dataclass

from ldtransform.server.clock import Clock
from ldtransform.server.config import AuthConfig
from ldtransform.server.errors import (
    AuthError,
    InvalidClient,
    InvalidScope,
    NotAMember,
    TooManyLogins,
)
from ldtransform.server.store import Store

__all__ = ["Authenticator", "LoginThrottle", "Principal", "hash_password",
           "verify_password"]

_N, _R, _P = 1 << 14, 8, 1


@dataclass(frozen=True)
class Principal:
    """Who a valid token belongs to."""

    user: str
    community: str
    client_id: str | None
    expires: float


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """An ``scrypt$N$r$p$salt$hash`` string for a password."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    enc = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${enc(salt).decode()}${enc(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a hash made by :func:`hash_password`."""
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n),
                             r=int(r), p=int(p), dklen=len(expected))
    except ValueError:
        return False
    return hmac.compare_digest(got, expected)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_scope(scope: str | None) -> dict[str, str]:
    """``community=Demo deviceId=x`` as a dict; a bare word is taken as the community."""
    values: dict[str, str] = {}
    for part in (scope or "").split():
        key, sep, value = part.partition("=")
        if sep:
            values[key] = value
        elif "community" not in values:
            values["community"] = key
    return values


class LoginThrottle:
    """Recent login failures per key (a user name, a client address) in a sliding window.

    Attempts still being checked count against the limit too, so parallel guesses cannot
    all slip in before the first is found wrong; but while the limit is reached only
    because of them, the wait is a second (they end soon), not the window: many clients
    of one user logging in at once are slowed a little, never locked out.
    """

    #: Keys kept before those with no failure left in the window are dropped.
    _PRUNE_AT = 10_000

    def __init__(self, window: float, clock: Clock) -> None:
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._checking: dict[str, int] = {}
        self._lock = threading.Lock()

    def attempt(self, limits: dict[str, int]) -> tuple[float, tuple[str, ...]]:
        """Let an attempt through unless a key is at its limit (0: no limit).

        Returns the seconds to wait (0 when let through) and the keys the attempt counts
        for, which :meth:`failed` or :meth:`succeeded` must settle.
        """
        with self._lock:
            now = self._clock.now()
            limited = {key: limit for key, limit in limits.items() if limit > 0}
            wait = 0.0
            for key, limit in limited.items():
                times = self._recent(key, now)
                if len(times) >= limit:
                    wait = max(wait, times[0] + self.window - now)
                elif len(times) + self._checking.get(key, 0) >= limit:
                    wait = max(wait, 1.0)
            if wait > 0:
                return wait, ()
            if len(self._failures) >= self._PRUNE_AT:
                for stale in [k for k in self._failures if not self._recent(k, now)]:
                    del self._failures[stale]
            for key in limited:
                self._checking[key] = self._checking.get(key, 0) + 1
            return 0.0, tuple(limited)

    def failed(self, keys: tuple[str, ...]) -> None:
        """A wrong password: a failure for every key of the attempt."""
        with self._lock:
            now = self._clock.now()
            for key in keys:
                self._settle(key)
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, user_key: str, keys: tuple[str, ...]) -> None:
        """A right password: the user's failures are forgotten.

        The other keys (the address) keep their earlier failures, so one known password
        does not reset the count of guesses at other users' passwords.
        """
        with self._lock:
            for key in keys:
                self._settle(key)
            self._failures.pop(user_key, None)

    def _settle(self, key: str) -> None:
        left = self._checking.get(key, 0) - 1
        if left > 0:
            self._checking[key] = left
        else:
            self._checking.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times


class Authenticator:
    """Checks credentials, issues tokens and resolves bearer tokens to principals."""

    def __init__(self, config: AuthConfig, store: Store, clock: Clock | None = None) -> None:
        self.ttl = config.token_ttl
        self.require_client = config.require_client
        self.clock = clock or Clock()
        self._store = store
        self._users = {u.name: (u.password if u.password.startswith("scrypt$")
                                else hash_password(u.password), u.communities)
                       for u in config.users}
        # What an unknown user's password is checked against: the same work as a known one.
        self._nobody = hash_password(secrets.token_urlsafe())
        self._max_failures = config.max_failures
        self._max_per_address = config.max_failures_per_address
        self._throttle = LoginThrottle(config.failure_window, self.clock)
        self._clients = {c.client_id: c.client_secret for c in config.clients}
        self._cache: dict[str, Principal] = {}
        self._lock = threading.Lock()

    def _check_client(self, client_id: str | None, client_secret: str | None) -> None:
        if client_id is None:
            if self.require_client:
                raise InvalidClient("client_id and client_secret are required")
            return
        secret = self._clients.get(client_id)
        if secret is None or not hmac.compare_digest(secret.encode(),
                                                     (client_secret or "").encode()):
            raise InvalidClient("unknown client or wrong client secret")

    def password_grant(self, *, username: str | None, password: str | None,
                       client_id: str | None, client_secret: str | None,
                       scope: str | None, address: str | None = None) -> tuple[str, Principal]:
        """Check a password grant; returns the new token and its principal.

        ``address`` is the client's address, for throttling failures per address.
        """
        if not username or password is None:
            raise AuthError("username and password are required")
        self._check_client(client_id, client_secret)
        user_key, address_key = "user:" + username, f"address:{address}"
        limits = {user_key: self._max_failures}
        if address:
            limits[address_key] = self._max_per_address
        wait, keys = self._throttle.attempt(limits)
        if wait > 0:
            raise TooManyLogins(math.ceil(wait))
        user = self._users.get(username)
        try:
            # An unknown user's password is checked too, so timing does not tell who exists.
            right = verify_password(password, user[0] if user else self._nobody)
        except BaseException:
            self._throttle.failed(keys)
            raise
        if not right or user is None:
            self._throttle.failed(keys)
            raise AuthError("wrong username or password", error="invalid_grant")
        self._throttle.succeeded(user_key, keys)
        community = parse_scope(scope).get("community") or user[1][0]
        if community not in user[1]:
            raise InvalidScope(f"user {username!r} is not a member of community "
                               f"{community!r}")
        return self._issue(username, client_id, community)

    def _issue(self, user: str, client_id: str | None,
               community: str) -> tuple[str, Principal]:
        token = str(uuid.uuid4())
        principal = Principal(user, community, client_id, self.clock.now() + self.ttl)
        self._store.add_token(_token_hash(token), user=user, client_id=client_id,
                              community=community, expires=principal.expires,
                              forget_before=self.clock.now() - 86400)
        with self._lock:
            self._cache[_token_hash(token)] = principal
        return token, principal

    def resolve(self, token: str) -> Principal | None:
        """The principal of a valid, unexpired token (None otherwise)."""
        key = _token_hash(token)
        with self._lock:
            principal = self._cache.get(key)
        if principal is None:
            row = self._store.token(key)
            if row is None:
                return None
            principal = Principal(row[0], row[1], row[2], row[3])
            with self._lock:
                self._cache[key] = principal
        return principal if principal.expires > self.clock.now() else None

    def set_community(self, token: str, principal: Principal, community: str) -> Principal:
        """Switch a token to another community of its user."""
        user = self._users.get(principal.user)
        if user is None or community not in user[1]:
            raise NotAMember(f"user {principal.user!r} is not a member of community "
                             f"{community!r}")
        changed = Principal(principal.user, community, principal.client_id,
                            principal.expires)
        key = _token_hash(token)
        self._store.set_token_community(key, community)
        with self._lock:
            self._cache[key] = changed
        return changed
