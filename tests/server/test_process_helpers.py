"""The helpers that run the server as a child process, for tests and benchmarks."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest
from ldkit import SCHEMAS

from ldtransform.server.testing import descendants, free_port, start_server


def test_free_port_can_be_listened_on() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()


def test_descendants_reach_grandchildren() -> None:
    parent = subprocess.Popen(["sh", "-c", "sh -c 'sleep 30 & wait' & wait"])
    try:
        deadline = time.monotonic() + 10
        while len(found := descendants(parent.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(found) == 2
        child = found[0]
        assert descendants(child) == found[1:]
    finally:
        for pid in [*descendants(parent.pid), parent.pid]:
            subprocess.run(["kill", str(pid)], check=False)
        parent.wait()


def test_a_server_that_exits_is_reported_with_its_output(tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    config.write_text("[no_such_section\n")
    with pytest.raises(RuntimeError, match="did not start") as caught:
        start_server(free_port(), tmp_path / "data", SCHEMAS, config,
                     output=subprocess.PIPE, timeout=30)
    assert "server.toml: not valid TOML" in str(caught.value)
