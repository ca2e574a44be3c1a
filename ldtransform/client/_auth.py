"""The bearer token: obtained by the password grant, held in memory only, renewed in time.

:class:`TokenState` is sans-IO: the clients send the form it builds and hand it the
answer. ``generation`` counts tokens obtained, so after a 401 only the first of several
concurrent requests renews; the others see a newer generation and just retry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ldtransform.client.credentials import Credentials
from ldtransform.client.errors import AuthError, CredentialsError

__all__ = ["TokenState"]

ASSUMED_LIFETIME = 3600.0
RENEW_AT = 0.9


class TokenState:
    """The current token, when it must be renewed, and the login form."""

    def __init__(self, credentials: Credentials,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._credentials = credentials
        self._clock = clock
        self._token: str | None = credentials.token
        #: A token given by the user is used as is and never renewed.
        self.fixed = credentials.token is not None
        self._renew_after = float("inf")
        self.generation = 1 if self.fixed else 0
        if not self.fixed and not (credentials.username and credentials.password):
            raise CredentialsError("no LD credentials: give a username and password "
                                   "(LD_USERNAME, LD_PASSWORD) or a token (LD_TOKEN)")

    def __repr__(self) -> str:
        return f"TokenState(generation={self.generation}, fixed={self.fixed})"

    def needs_login(self) -> bool:
        """Whether a (new) token must be obtained before the next request."""
        if self.fixed:
            return False
        return self._token is None or self._clock() >= self._renew_after

    def headers(self) -> dict[str, str]:
        """The ``Authorization`` header of the current token."""
        assert self._token is not None
        return {"Authorization": f"Bearer {self._token}"}

    def login_form(self) -> dict[str, str]:
        """The form of ``POST /ls/api/oauth2/token`` (password grant)."""
        c = self._credentials
        form = {"grant_type": "password", "username": c.username or "",
                "password": c.password or ""}
        if c.client_id:
            form["client_id"] = c.client_id
            form["client_secret"] = c.client_secret or ""
        if c.community:
            form["scope"] = f"community={c.community}"
        return form

    def accept(self, answer: Any) -> None:
        """Keep the token of a successful token answer."""
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthError("the server's token answer has no access_token")
        lifetime = answer.get("expires_in")
        try:
            seconds = float(lifetime) if lifetime is not None else ASSUMED_LIFETIME
        except (TypeError, ValueError):
            seconds = ASSUMED_LIFETIME
        self._token = token
        self._renew_after = self._clock() + RENEW_AT * seconds
        self.generation += 1

    def wants_login(self, rejected: int | None) -> bool:
        """Whether to log in now: after a 401 of token generation ``rejected`` (see
        :meth:`rejected`), or before a request when the token is missing or due."""
        return self.rejected(rejected) if rejected is not None else self.needs_login()

    def rejected(self, generation: int) -> bool:
        """A request made with token ``generation`` got 401: True if it should renew.

        False when another request already renewed (just retry with the new token).
        Raises :class:`AuthError` when the token is the user's own and cannot be renewed.
        """
        if self.fixed:
            raise AuthError("the server refused the given token (LD_TOKEN): it has "
                            "expired or is wrong; get a new one or log in with a password")
        if generation != self.generation:
            return False
        # Keep the old token until the new one arrives: requests already under way use
        # it, get their own 401 and then find the newer generation.
        self._renew_after = float("-inf")
        return True
