"""Injected faults (seeded, per route) and the server config file."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from ldkit import LD, ROOT, SCHEMAS, make_config

from ldtransform.errors import ConfigError
from ldtransform.server import running
from ldtransform.server.config import load_config


def statuses(url: str, ld: LD, n: int) -> list[int]:
    return [ld.post("/ls/api/batch/status", data={"jobId": "x"}).status_code for _ in range(n)]


def test_first_requests_fail_with_retry_after(tmp_path: Path) -> None:
    config = make_config(faults=[{"route": "/ls/api/batch/status", "status": 503, "first": 2,
                                  "retry_after": 1}])
    with running(data_dir=tmp_path, schemas=SCHEMAS, config=config) as url:
        ld = LD(url, tmp_path)
        r = ld.post("/ls/api/batch/status", data={"jobId": "x"})
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert r.json()["error"] == "injected_fault"
        assert statuses(url, ld, 2) == [503, 404]
        assert ld.post("/ls/api/batch/export", data={}).status_code == 200


def test_random_faults_are_reproducible(tmp_path: Path) -> None:
    faults = [{"route": "/ls/api/items/*", "status": 429, "probability": 0.5,
               "retry_after": 2}]
    runs = []
    for seed in (7, 7, 8):
        config = make_config(faults=faults, processing={"fault_seed": seed})
        with running(data_dir=tmp_path / str(len(runs)), schemas=SCHEMAS,
                     config=config) as url:
            ld = LD(url, tmp_path)
            runs.append([ld.post("/ls/api/items/updates", data={"itemType": "Account"})
                         .status_code for _ in range(30)])
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert set(runs[0]) == {200, 429}


def test_delay(tmp_path: Path) -> None:
    config = make_config(faults=[{"route": "/health", "delay": 0.3}])
    with running(data_dir=tmp_path, schemas=SCHEMAS, config=config) as url:
        started = time.monotonic()
        assert httpx.get(url + "/health").status_code == 200
        assert time.monotonic() - started >= 0.3


def test_sample_config_loads() -> None:
    config = load_config(ROOT / "samples" / "server.toml")
    assert config.auth.users[0].name == "demo"
    assert config.limits.max_upload_bytes == 1 << 30
    assert config.records_per_second is None


@pytest.mark.parametrize(("text", "problem"), [
    ("[server]\nport = 1\n", "unknown key"),
    ("[limits]\nmax_uploads = 1\n", "unknown key"),
    ("[[faults]]\nstatus = 503\n", "needs a route"),
    ("[[faults]]\nroute = '/x'\nstatus = 404\n", "use 429"),
    ("[processing]\nrecovery = 'maybe'\n", "resume"),
    ("[[auth.users]]\nname = 'x'\n", "name and password"),
    ("not toml [", "not valid TOML"),
])
def test_bad_config_files(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "server.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=problem):
        load_config(path)
