"""Run ``ldtransform serve`` as a child process, for tests and benchmarks.

A server in its own process can be killed mid-job and measured alone, which the in-process
:func:`ldtransform.server.running` cannot offer. Standard library and httpx only: no pytest.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

from ldtransform import ld

__all__ = ["descendants", "free_port", "start_server"]


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(port: int, data_dir: str | os.PathLike[str], schemas: str | os.PathLike[str],
                 config: str | os.PathLike[str], *, output: int | IO[str] = subprocess.DEVNULL,
                 timeout: float = 60) -> subprocess.Popen[str]:
    """Start ``ldtransform serve`` on ``port`` and return it once ``/health`` answers 200.

    ``output`` receives the server's stdout and stderr (``subprocess.PIPE`` to read them).
    Raises :class:`RuntimeError` (after killing it) if the server exits or stays silent
    for ``timeout`` seconds.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "ldtransform", "serve", "--port", str(port),
         "--data-dir", str(data_dir), "--schemas", str(schemas), "--config", str(config)],
        stdout=output, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{ld.HEALTH}").status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    said = proc.communicate()[0] if output == subprocess.PIPE else None
    raise RuntimeError(f"the server on port {port} did not start" + (f":\n{said}" if said else ""))


def descendants(pid: int) -> list[int]:
    """Every process started by ``pid``, and by those, and so on (Linux ``/proc``)."""
    children = [int(c) for task in Path(f"/proc/{pid}/task").iterdir()
                for c in (task / "children").read_text().split()]
    return children + [d for child in children for d in descendants(child)]
