"""The server's error answers: one base class; each kind carries its HTTP status and code.

Raise one of these anywhere in a request; the app's single handler turns it into the
answer ``{"error": code, "error_description": text}`` with the class's status and headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

__all__ = ["AuthError", "InvalidClient", "InvalidRequest", "InvalidScope", "InvalidToken",
           "LinkExpired", "MissingToken", "NotAMember", "NotFound", "ServerError", "TooLarge",
           "TooManyLogins"]


class ServerError(Exception):
    """An error answer: ``status_code`` and the RFC 6749-style ``error`` code are set on
    the class and may be overridden per instance; ``description`` is the text."""

    status_code: ClassVar[int] = 500
    error: str = "server_error"
    #: Headers every answer of the class carries (e.g. ``WWW-Authenticate``).
    default_headers: ClassVar[Mapping[str, str]] = {}

    def __init__(self, description: str, *, error: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(description)
        self.description = description
        if error is not None:
            self.error = error
        self.headers = {**self.default_headers, **(headers or {})}


class InvalidRequest(ServerError):
    """A request with a missing or malformed field or body."""

    status_code = 400
    error = "invalid_request"


class TooLarge(ServerError):
    """A body, part or field count over a configured limit."""

    status_code = 413
    error = "too_large"


class NotFound(ServerError):
    """No such job or file in the caller's community."""

    status_code = 404
    error = "not_found"


class LinkExpired(ServerError):
    """A download link whose time is up."""

    status_code = 410
    error = "expired"


class MissingToken(ServerError):
    """A protected route called without a bearer token (RFC 6750 3.1)."""

    status_code = 401
    error = "invalid_request"
    default_headers: ClassVar[Mapping[str, str]] = {"WWW-Authenticate": 'Bearer realm="ld"'}


class InvalidToken(MissingToken):
    """A bearer token that is unknown or expired."""

    error = "invalid_token"
    default_headers: ClassVar[Mapping[str, str]] = {
        "WWW-Authenticate": 'Bearer realm="ld", error="invalid_token"'}


class AuthError(ServerError):
    """A refused token request (RFC 6749 5.2); ``error`` names the reason."""

    status_code = 400
    error = "invalid_request"


class InvalidClient(AuthError):
    """Client credentials that are missing, malformed or wrong."""

    status_code = 401
    error = "invalid_client"


class InvalidScope(AuthError):
    """A login for a community its user is not a member of."""

    error = "invalid_scope"


class NotAMember(InvalidScope):
    """A token switched to a community its user is not a member of."""

    status_code = 403


class TooManyLogins(AuthError):
    """Logins throttled after failures; ``Retry-After`` says for how many seconds."""

    status_code = 429
    error = "too_many_requests"

    def __init__(self, seconds: int) -> None:
        super().__init__(f"too many failed logins; try again in {seconds} s",
                         headers={"Retry-After": str(seconds)})
