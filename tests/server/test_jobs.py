"""The job status machine: progress, cancel, restart (clean and crash), recovery."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ldkit import AUTH, LD, SCHEMAS, account, make_config

from ldtransform.server import running
from ldtransform.server.testing import descendants, free_port, start_server

SLOW = {"records_per_second": 100, "workers": 1}


def wait_for(ld: LD, job_id: str, test: Any, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = ld.status(job_id)
        if test(status):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[LD]:
    config = make_config(processing=SLOW)
    with running(data_dir=tmp_path, schemas=SCHEMAS, config=config) as url:
        yield LD(url, tmp_path)


def test_progress_is_visible(slow: LD) -> None:
    job = slow.import_([account(i) for i in range(150)])
    assert job["status"] == "Accepted"
    first = wait_for(slow, job["jobId"], lambda s: s["status"] == "Processing"
                     and 0 < int(s["recordsProcessed"]) < 150)
    assert first["reason"]
    second = wait_for(slow, job["jobId"], lambda s: int(s["recordsProcessed"])
                      > int(first["recordsProcessed"]))
    assert int(second["runTime"]) > int(first["runTime"]) >= 0
    done = slow.wait(job["jobId"])
    assert done["status"] == "Completed" and done["recordsProcessed"] == "150"
    assert int(done["runTime"]) >= int(second["runTime"])


def test_cancel_while_processing(slow: LD) -> None:
    job = slow.import_([account(i) for i in range(500)])
    wait_for(slow, job["jobId"], lambda s: int(s["recordsProcessed"]) > 0)
    r = slow.post("/ls/api/batch/cancel", data={"jobId": job["jobId"]})
    assert r.status_code == 200
    assert r.json()["status"] in ("Canceling", "Canceled")
    done = slow.wait(job["jobId"])
    assert done["status"] == "Canceled"
    assert "Canceled" in done["reason"]
    processed = int(done["recordsProcessed"])
    assert 0 < processed < 500
    assert len(slow.all_items()) == processed


def test_cancel_before_start_and_after_end(slow: LD) -> None:
    running_job = slow.import_([account(i) for i in range(300)])
    queued = slow.import_([account(i) for i in range(1000, 1010)])
    r = slow.post("/ls/api/batch/cancel", data={"jobId": queued["jobId"]})
    assert r.json()["status"] == "Canceling"
    assert "cancel" in r.json()["reason"]
    slow.post("/ls/api/batch/cancel", data={"jobId": running_job["jobId"]})
    done = slow.wait(queued["jobId"])
    assert done["status"] == "Canceled" and done["recordsProcessed"] == "0"
    assert "before it started" in done["reason"]
    again = slow.post("/ls/api/batch/cancel", data={"jobId": queued["jobId"]}).json()
    assert again["status"] == "Canceled" and again["reason"] == done["reason"]


def test_clean_restart_resumes_or_fails(tmp_path: Path) -> None:
    records = [account(i) for i in range(200)]
    with running(data_dir=tmp_path, schemas=SCHEMAS,
                 config=make_config(processing=SLOW)) as url:
        ld = LD(url, tmp_path)
        resumed = ld.import_(records)["jobId"]
        wait_for(ld, resumed, lambda s: int(s["recordsProcessed"]) > 0)
        queued = ld.import_([account(i) for i in range(1000, 1050)])["jobId"]
    with running(data_dir=tmp_path, schemas=SCHEMAS, config=make_config()) as url:
        ld = LD(url, tmp_path)
        done = ld.wait(resumed)
        assert done["status"] == "Completed" and done["recordsProcessed"] == "200"
        # The second job was still queued: it simply runs now.
        assert ld.wait(queued)["status"] == "Completed"
        items = ld.all_items()
        assert len(items) == 250
        assert {i["headers"]["revisionId"] for i in items.values()} == {"1"}


def test_restart_with_recovery_fail(tmp_path: Path) -> None:
    with running(data_dir=tmp_path, schemas=SCHEMAS,
                 config=make_config(processing=SLOW)) as url:
        ld = LD(url, tmp_path)
        job = ld.import_([account(i) for i in range(200)])["jobId"]
        wait_for(ld, job, lambda s: int(s["recordsProcessed"]) > 0)
    config = make_config(processing={"recovery": "fail"})
    with running(data_dir=tmp_path, schemas=SCHEMAS, config=config) as url:
        done = LD(url, tmp_path).wait(job)
        assert done["status"] == "Failed"
        assert "restarted" in done["reason"]


def start(tmp_path: Path, port: int, toml: str) -> subprocess.Popen[str]:
    config = tmp_path / "server.toml"
    config.write_text(toml)
    return start_server(port, tmp_path / "data", SCHEMAS, config, output=subprocess.PIPE,
                        timeout=30)


def toml_auth() -> str:
    users = "\n".join(f'[[auth.users]]\nname = "{u["name"]}"\npassword = "{u["password"]}"\n'
                      f'communities = {json.dumps(u["communities"])}\n' for u in AUTH["users"])
    return users


@pytest.mark.parametrize("one_per_line", [True, False], ids=["one-per-line", "compact"])
def test_crash_mid_job_applies_no_record_twice(tmp_path: Path, one_per_line: bool) -> None:
    port = free_port()
    slow = start(tmp_path, port, "[processing]\nrecords_per_second = 150\n" + toml_auth())
    url = f"http://127.0.0.1:{port}"
    ld = LD(url, tmp_path / "data")
    accounts = [json.dumps(account(i)) for i in range(400)]
    # one element per line: the job's helper processes share the chunks out
    content = ("[\n" + ",\n".join(accounts) + "\n]" if one_per_line
               else "[" + ",".join(accounts) + "]")
    job = ld.import_(content)["jobId"]
    wait_for(ld, job, lambda s: int(s["recordsProcessed"]) >= 60)
    started = descendants(slow.pid)  # job processes and their import helpers
    assert started
    os.kill(slow.pid, signal.SIGKILL)
    slow.wait(10)
    deadline = time.monotonic() + 15
    while any(Path(f"/proc/{pid}").exists() for pid in started):  # they end by themselves
        assert time.monotonic() < deadline, "processes of the killed server live on"
        time.sleep(0.1)
    assert slow.stdout is not None
    banner = slow.stdout.read()
    assert url in banner and "demo" in banner and "ldtransform" in banner
    fast = start(tmp_path, port, toml_auth())
    try:
        ld = LD(url, tmp_path / "data")
        done = ld.wait(job)
        assert done["status"] == "Completed" and done["recordsProcessed"] == "400"
        items = ld.all_items()
        assert len(items) == 400
        assert {i["headers"]["revisionId"] for i in items.values()} == {"1"}
    finally:
        fast.send_signal(signal.SIGTERM)
        code = fast.wait(30)
    assert code == 0
    assert fast.stdout is not None and "stopped" in fast.stdout.read()


#: An export template that would render for days: 10^10 loop iterations per record.
ENDLESS_TEMPLATE = ("{% for i in range(100000) %}{% for j in range(100000) %}"
                    "{% endfor %}{% endfor %}{{ item.accountId }}")
#: A query that yields nothing until it has counted for ever.
ENDLESS_QUERY = ("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) "
                 "SELECT count(*) AS c FROM n")


def started(data_dir: Path, job: str, timeout: float = 30) -> None:
    """Wait until the export job's process has begun writing (its folder exists)."""
    deadline = time.monotonic() + timeout
    while not (data_dir / "exports" / job).exists():
        assert time.monotonic() < deadline, "the export did not start"
        time.sleep(0.05)


def test_template_over_its_time_limit_fails_and_is_not_resumed(tmp_path: Path) -> None:
    config = make_config(limits={"template_time_limit": 0.3})
    with running(data_dir=tmp_path, schemas=SCHEMAS, config=config) as url:
        ld = LD(url, tmp_path)
        ld.run_import([account(1), account(2)])
        started = time.monotonic()
        done = ld.run_export(contentType="text/csv", template=ENDLESS_TEMPLATE)
        assert time.monotonic() - started < 10
        assert done["status"] == "Failed", done
        assert "record 1" in done["reason"] and "limit of 0.3 s" in done["reason"]
        assert "links" not in done
        assert not (tmp_path / "exports" / done["jobId"]).exists()
    with running(data_dir=tmp_path, schemas=SCHEMAS, config=config) as url:
        again = LD(url, tmp_path).status(done["jobId"])
        assert (again["status"], again["reason"]) == ("Failed", done["reason"])


def test_cancel_interrupts_a_template_that_is_rendering(tmp_path: Path) -> None:
    config = make_config(limits={"template_time_limit": 300})
    with running(data_dir=tmp_path, schemas=SCHEMAS, config=config) as url:
        ld = LD(url, tmp_path)
        ld.run_import([account(1)])
        job = ld.export(contentType="text/csv", template=ENDLESS_TEMPLATE)["jobId"]
        started(tmp_path, job)
        ld.post("/ls/api/batch/cancel", data={"jobId": job})
        done = ld.wait(job, timeout=10)
        assert done["status"] == "Canceled" and "links" not in done
        assert not (tmp_path / "exports" / job).exists()


def test_sigterm_ends_the_server_whatever_its_jobs_do(tmp_path: Path) -> None:
    port = free_port()
    proc = start(tmp_path, port, "[limits]\nsql_time_limit = 300\ntemplate_time_limit = 300\n"
                 + toml_auth())
    try:
        ld = LD(f"http://127.0.0.1:{port}", tmp_path / "data")
        ld.run_import([account(1)])
        jobs = [ld.export(contentType="text/csv", template=ENDLESS_TEMPLATE)["jobId"],
                ld.export(sqlQuery=ENDLESS_QUERY)["jobId"]]
        for job in jobs:
            started(tmp_path / "data", job)
        processes = descendants(proc.pid)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(10)
    finally:
        proc.kill()
    assert code == 0
    assert proc.stdout is not None and "stopped" in proc.stdout.read()
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{pid}").exists() for pid in processes):
        assert time.monotonic() < deadline, "job processes outlive the server"
        time.sleep(0.1)
