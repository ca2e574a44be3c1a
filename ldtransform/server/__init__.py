"""A local Liquid Decisions server: the Batch and Items API over HTTP on loopback.

Start it from the command line with ``ldtransform serve``, or in-process::

    from ldtransform.server import running
    with running(data_dir="ld-data") as url:
        ...  # talk to url with any HTTP client

The server stack (FastAPI, uvicorn) is the ``server`` extra and is imported only when a
server is started.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ldtransform.errors import LdTransformError, MissingDependencyError

if TYPE_CHECKING:
    from ldtransform.server.clock import Clock
    from ldtransform.server.config import ServerConfig

__all__ = ["build_config", "running"]


def build_config(*, data_dir: str | os.PathLike[str] | None = None,
                 schemas: str | os.PathLike[str] | None = None,
                 config: str | os.PathLike[str] | ServerConfig | None = None,
                 **overrides: Any) -> ServerConfig:
    """A :class:`ServerConfig` from a file (or object) plus explicit overrides."""
    from ldtransform.server.config import ServerConfig, load_config

    base = config if isinstance(config, ServerConfig) else load_config(config)
    return base.with_overrides(
        data_dir=Path(data_dir) if data_dir is not None else None,
        schemas_dir=Path(schemas) if schemas is not None else None, **overrides)


def _require_stack() -> None:
    for module in ("fastapi", "uvicorn", "python_multipart", "swagger_ui_bundle"):
        try:
            __import__(module)
        except ImportError as exc:
            raise MissingDependencyError(module, "server", "The local LD server") from exc


@contextmanager
def running(*, data_dir: str | os.PathLike[str] | None = None,
            schemas: str | os.PathLike[str] | None = None,
            config: str | os.PathLike[str] | ServerConfig | None = None,
            host: str = "127.0.0.1", port: int = 0, clock: Clock | None = None,
            **overrides: Any) -> Iterator[str]:
    """Run a server in a background thread; yields its base URL (a free port by default).

    Keyword ``overrides`` replace :class:`ServerConfig` fields (e.g.
    ``records_per_second=50``). ``clock`` (a :class:`~ldtransform.server.clock.Clock`)
    lets a test move the server's time forward. The server stops when the block ends.
    """
    _require_stack()
    import uvicorn

    from ldtransform.server.app import create_app

    settings = build_config(data_dir=data_dir, schemas=schemas, config=config, **overrides)
    app = create_app(settings, clock)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise LdTransformError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on",
                                           timeout_graceful_shutdown=5))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name="ld-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise LdTransformError("the local LD server did not start; see the log")
        time.sleep(0.01)
    url = f"http://{host if ':' not in host else f'[{host}]'}:{bound_port}"
    app.state.ld.worker.base_url = settings.public_url or url
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
