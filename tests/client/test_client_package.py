"""The client package's place: it needs neither the server nor a running event loop, and
``import ldtransform`` does not load it."""

from __future__ import annotations

import subprocess
import sys


def loaded_after(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code + "; import sys; print(' '.join(m for m "
                          "in ('httpx', 'ldtransform.client', 'ldtransform.server', 'fastapi') "
                          "if m in sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def test_import_ldtransform_does_not_load_the_client() -> None:
    assert loaded_after("import ldtransform") == []


def test_the_client_does_not_load_the_server() -> None:
    assert loaded_after("import ldtransform.client") == ["httpx", "ldtransform.client"]
