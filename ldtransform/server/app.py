"""The FastAPI application: OAuth2 routes, error answers, and the app factory."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from ldtransform import ld
from ldtransform.server import batch, itemsapi
from ldtransform.server.auth import Authenticator
from ldtransform.server.clock import Clock
from ldtransform.server.config import ServerConfig
from ldtransform.server.errors import AuthError, InvalidClient, InvalidRequest, ServerError
from ldtransform.server.faults import FaultInjector
from ldtransform.server.items import load_types
from ldtransform.server.state import Caller, ServerState, form_doc, state_of
from ldtransform.server.store import Store
from ldtransform.server.uploads import read_form
from ldtransform.server.worker import Worker

__all__ = ["create_app"]

log = logging.getLogger("ldtransform.server")

TOKEN_FIELDS = {
    "grant_type": "password",
    "client_id": "The application's client id.",
    "client_secret": "The application's client secret.",
    "username": "The LD user.",
    "password": "The user's password.",
    "scope": "Space-separated key=value pairs, e.g. community=Demo.",
}


def _error(status: int, error: str, description: str,
           headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status,
                        headers={"Cache-Control": "no-store", **(headers or {})})


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServerError)
    async def server_error(_: Request, exc: ServerError) -> JSONResponse:
        return _error(exc.status_code, exc.error, exc.description, exc.headers)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        # Routing's own answers (no such route, wrong method) in the shape of the others.
        code = _HTTP_CODES.get(exc.status_code, "invalid_request")
        return _error(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(400, "invalid_request", str(exc.errors()[:3]))


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
#: Where /docs takes Swagger UI's script and style from.
DOCS_ASSETS = "/docs-assets"


def _install_docs(app: FastAPI) -> None:
    """/docs: Swagger UI from the installed package's files, so it works offline."""
    from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

    app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title=f"{app.title} - API docs",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png")


def _client_from_basic(request: Request) -> tuple[str | None, str | None]:
    """RFC 6749 2.3.1: client credentials may come as HTTP Basic instead of fields."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None, None
    try:
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        raise InvalidClient("malformed Basic credentials") from None
    return client_id, secret


def _install_oauth(app: FastAPI) -> None:
    @app.post(ld.TOKEN, tags=["oauth2"],
              openapi_extra=form_doc(TOKEN_FIELDS, required=("grant_type", "username",
                                                             "password")))
    async def token(request: Request) -> JSONResponse:
        """Password grant: answers access_token, token_type and expires_in."""
        state = state_of(request)
        fields = await read_form(request, state.config.limits)
        grant = fields.get("grant_type")
        if not grant:
            raise AuthError("grant_type is required")
        if grant != "password":
            raise AuthError(f"grant_type {grant!r} is not supported; use password",
                            error="unsupported_grant_type")
        basic_id, basic_secret = _client_from_basic(request)
        issued, who = await run_in_threadpool(
            lambda: state.auth.password_grant(
                username=fields.get("username"), password=fields.get("password"),
                client_id=fields.get("client_id") or basic_id,
                client_secret=fields.get("client_secret") or basic_secret,
                scope=fields.get("scope"),
                address=request.client.host if request.client else None))
        log.info("token issued to %s for community %s", who.user, who.community)
        return JSONResponse({"access_token": issued, "token_type": "bearer",
                             "expires_in": int(state.auth.ttl),
                             "scope": f"community={who.community}"},
                            headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @app.get(ld.VALIDATE, tags=["oauth2"])
    def validate(request: Request, who: Caller) -> dict[str, Any]:
        """200 when the bearer token is valid, 401 when it is not."""
        return {"valid": True, "expiresIn": int(who.expires - state_of(request).clock.now())}

    @app.post(ld.TOKEN_INFO, tags=["oauth2"])
    def token_info(request: Request, who: Caller) -> dict[str, Any]:
        """Who the token belongs to and its community."""
        return {"userId": who.user, "authenticatedUserId": who.user,
                "community": who.community, "clientId": who.client_id,
                "expiresIn": int(who.expires - state_of(request).clock.now())}

    @app.post(ld.SET_COMMUNITY, tags=["oauth2"],
              openapi_extra=form_doc({"community": "A community of the token's user."},
                                     required=("community",)))
    async def set_community(request: Request,
                            who: Caller) -> dict[str, Any]:
        """Switch the token to another community of its user."""
        state = state_of(request)
        fields = await read_form(request, state.config.limits)
        community = (fields.get("community") or "").strip()
        if not community:
            raise InvalidRequest("the form field community is required")
        token = request.headers["authorization"].split(None, 1)[1]
        changed = state.auth.set_community(token, who, community)
        return {"community": changed.community, "userId": changed.user}


def create_app(config: ServerConfig, clock: Clock | None = None) -> FastAPI:
    """The LD server application for ``config`` (the worker runs while the app does).

    ``clock`` is the time that token lifetimes, link expiry and login throttling follow
    (tests move it forward).
    """
    types = load_types(config.schemas_dir)
    store = Store(config.data_dir)
    clock = clock or Clock()
    state = ServerState(config, store, Authenticator(config.auth, store, clock),
                        Worker(config, store, types), types, clock)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state.worker.start(threads=config.workers)
        try:
            yield
        finally:
            state.worker.stop()

    app = FastAPI(title="ldtransform local LD server", version="1.0",
                  description="Liquid Decisions Batch and Items API on loopback. "
                  f"Get a token at {ld.TOKEN}, then send it as a bearer token.",
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.ld = state
    _install_handlers(app)
    _install_docs(app)
    _install_oauth(app)
    app.include_router(batch.router)
    app.include_router(itemsapi.router)

    @app.get(ld.HEALTH, tags=["server"])
    def health() -> dict[str, str]:
        """Liveness check; needs no token."""
        return {"status": "ok"}

    if config.faults:
        app.add_middleware(FaultInjector, faults=config.faults, seed=config.fault_seed)
    return app
