"""Fixtures: a local LD server on loopback with a canary user, and clients of it."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ldtransform.client import Credentials, LDClient
from ldtransform.server import running
from ldtransform.server.clock import Clock
from ldtransform.server.config import ServerConfig, config_from_dict

#: Secrets no output, message, repr or log may ever show.
CANARY_PW = "canary-pw-7f3a"
CANARY_SECRET = "canary-secret-51d0"
SCHEMAS = Path(__file__).resolve().parents[2] / "samples" / "schemas"


def server_config(**sections: Any) -> ServerConfig:
    """A test server's config: the canary user and client, jobs on threads."""
    doc: dict[str, Any] = {
        "auth": {"users": [{"name": "canary", "password": CANARY_PW,
                            "communities": ["Demo"]}],
                 "clients": [{"client_id": "tool", "client_secret": CANARY_SECRET}]},
        "processing": {"processes": False, "chunk_size": 10},
    }
    for name, table in sections.items():
        doc[name] = {**doc.get(name, {}), **table} if isinstance(table, dict) else table
    return config_from_dict(doc)


def canary_credentials(url: str, **changes: Any) -> Credentials:
    values = {"url": url, "username": "canary", "password": CANARY_PW, "client_id": "tool",
              "client_secret": CANARY_SECRET, "community": "Demo", **changes}
    return Credentials(**values)


def account(n: int, **changes: Any) -> dict[str, Any]:
    """A valid Account envelope."""
    data = {"accountId": f"A{n:06d}", "name": f"Account {n}",
            "accountClass": "/Account/accountClass[invoiced]", "currency": "USD",
            **changes}
    return {"headers": {"type": "Account", "action": "Create"}, "data": data}


def write_items(path: Path, items: list[dict[str, Any]]) -> Path:
    """A JSON array file, one envelope per line."""
    path.write_text("[\n" + ",\n".join(json.dumps(i) for i in items) + "\n]\n")
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Clock]]:
    """A server shared by a module: small result files, a clock the test can move."""
    clock = Clock()
    config = server_config(limits={"records_per_file": 10, "link_ttl": 600})
    with running(data_dir=tmp_path_factory.mktemp("ld"), schemas=SCHEMAS, config=config,
                 clock=clock) as url:
        yield url, clock


@pytest.fixture
def client(server: tuple[str, Clock]) -> Iterator[LDClient]:
    with LDClient(credentials=canary_credentials(server[0])) as ld:
        yield ld


@pytest.fixture
def dribbling_server() -> Iterator[str]:
    """A server that answers every request one byte every 0.2 s."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            body = b'{"jobId": "j1", "status": "Accepted"}'
            answer = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            for byte in answer:
                if stop.wait(0.2):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()
