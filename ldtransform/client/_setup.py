"""What both clients do the same way when they are built."""

from __future__ import annotations

from typing import Any

from ldtransform.client.credentials import Credentials

__all__ = ["credentials_from"]


def credentials_from(credentials: Credentials | None, **given: Any) -> Credentials:
    """The credentials passed, checked; else resolved from arguments, environment, profile."""
    if credentials is not None:
        credentials.check()
        return credentials
    return Credentials.resolve(**given)
