"""What the routes share: configuration, store, authenticator, worker, schemas."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ldtransform import ld
from ldtransform.server.auth import Authenticator, Principal
from ldtransform.server.clock import Clock
from ldtransform.server.config import ServerConfig
from ldtransform.server.errors import InvalidToken, MissingToken
from ldtransform.server.items import TypeContext, load_types
from ldtransform.server.store import Store
from ldtransform.server.worker import Worker

__all__ = ["Caller", "ServerState", "form_doc", "load_types", "principal", "state_of"]

@dataclass
class ServerState:
    """The running server's parts."""

    config: ServerConfig
    store: Store
    auth: Authenticator
    worker: Worker
    types: dict[str, TypeContext]
    clock: Clock = field(default_factory=Clock)

    def base_url(self, request: Request) -> str:
        """The URL links are made from (``public_url`` if set, else the request's)."""
        base = self.config.public_url or str(request.base_url)
        if self.worker.base_url != base and not self.config.public_url:
            self.worker.base_url = base
        return base


def state_of(request: Request) -> ServerState:
    """The server state of the app handling ``request``."""
    state: ServerState = request.app.state.ld
    return state


_bearer = HTTPBearer(auto_error=False, description=f"The access_token from {ld.TOKEN}, "
                     "as 'Authorization: Bearer <token>'.")


def principal(request: Request,
              credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
              ) -> Principal:
    """The caller of a protected route (401 without a valid bearer token)."""
    if credentials is None:
        raise MissingToken("an 'Authorization: Bearer <token>' header is required")
    found = state_of(request).auth.resolve(credentials.credentials)
    if found is None:
        raise InvalidToken("the access token is unknown or expired")
    return found


def form_doc(fields: dict[str, str], *, required: tuple[str, ...] = (),
             files: tuple[str, ...] = (), multipart_only: bool = False) -> dict[str, Any]:
    """An OpenAPI ``requestBody`` for form fields (our routes parse forms themselves)."""
    props: dict[str, Any] = {
        name: ({"type": "string", "format": "binary", "description": text}
               if name in files else {"type": "string", "description": text})
        for name, text in fields.items()}
    schema = {"type": "object", "properties": props, "required": list(required)}
    content = {"multipart/form-data": {"schema": schema}}
    if not multipart_only:
        content = {"application/x-www-form-urlencoded": {"schema": schema}, **content}
    return {"requestBody": {"required": True, "content": content}}


#: A route parameter that is the authenticated caller.
Caller = Annotated[Principal, Depends(principal)]
