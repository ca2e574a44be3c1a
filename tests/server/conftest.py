"""Fixtures: local LD servers on loopback, and logged-in clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ldkit import LD, SCHEMAS, make_config

from ldtransform.server import running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A server shared by a test module: small chunks, fast processing."""
    data_dir = tmp_path_factory.mktemp("ld")
    config = make_config(processing={"chunk_size": 10},
                         limits={"records_per_file": 10, "sql_time_limit": 2.0})
    with running(data_dir=data_dir, schemas=SCHEMAS, config=config) as url:
        yield url, data_dir


@pytest.fixture
def own_ld(tmp_path: Path) -> Iterator[LD]:
    """A client (demo, community Demo) of a server of its own: for a test that must see
    exactly the data it made. Jobs run on threads, which start faster."""
    config = make_config(processing={"chunk_size": 10, "processes": False})
    with running(data_dir=tmp_path, schemas=SCHEMAS, config=config) as url:
        client = LD(url, tmp_path)
        yield client
        client.http.close()


@pytest.fixture
def ld(server: tuple[str, Path]) -> Iterator[LD]:
    """A client logged in as demo in community Demo."""
    client = LD(*server)
    yield client
    client.http.close()


@pytest.fixture
def acme(server: tuple[str, Path]) -> Iterator[LD]:
    """A client logged in as alice in community Acme."""
    client = LD(*server, user="alice", password="alice-pw-7Qx", community="Acme")
    yield client
    client.http.close()
