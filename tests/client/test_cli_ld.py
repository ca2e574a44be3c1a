"""The commands that talk to LD (login, upload, status, cancel, jobs) against the local server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from clirun import run_cli
from conftest import CANARY_PW, SCHEMAS, account, canary_credentials, server_config, write_items

from ldtransform import convert
from ldtransform.client import LDClient
from ldtransform.server import running


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose Account schema takes only USD (the samples' schema also takes CAD and
    EUR), importing 100 records a second."""
    schemas = tmp_path_factory.mktemp("schemas")
    document = json.loads((SCHEMAS / "Account.json").read_text())
    for field in document["fields"]:
        if field["name"] == "currency":
            field["constraints"]["enum"] = ["USD"]
    (schemas / "Account.json").write_text(json.dumps(document))
    config = server_config(processing={"records_per_second": 100, "chunk_size": 5})
    with running(data_dir=tmp_path_factory.mktemp("ld"), schemas=schemas,
                 config=config) as base:
        yield base


@pytest.fixture(autouse=True)
def environment(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Canary credentials in the environment; no profile, a state folder of the test's."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("LDTRANSFORM_CONFIG", raising=False)
    for name, value in {"LD_URL": url, "LD_USERNAME": "canary", "LD_PASSWORD": CANARY_PW,
                        "LD_COMMUNITY": "Demo"}.items():
        monkeypatch.setenv(name, value)
    for name in ("LD_CLIENT_ID", "LD_CLIENT_SECRET", "LD_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def _conversion(tmp_path: Path, currencies: list[str], per_part: int = 2) -> Path:
    """A conversion's folder of one account per currency (valid for the samples' schema)."""
    source = tmp_path / "accounts.csv"
    rows = [f"A{n:06d},Account {n},/Account/accountClass[invoiced],{currency}"
            for n, currency in enumerate(currencies)]
    source.write_text("accountId,name,accountClass,currency\n" + "\n".join(rows) + "\n")
    convert(source, schema=SCHEMAS / "Account.json", out=tmp_path / "out",
            max_records=per_part)
    return tmp_path / "out"


def test_login_prints_user_and_community(url: str) -> None:
    done = run_cli("login")
    assert done.returncode == 0, done.stderr
    assert "canary" in done.stdout and "Demo" in done.stdout and url in done.stdout


def test_upload_wait_prints_completed_per_part_and_jobs_lists_them(tmp_path: Path) -> None:
    folder = _conversion(tmp_path, ["USD"] * 5)
    done = run_cli("upload", folder, "--wait")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if not line.startswith(" ")]
    parts = sorted(p.name for p in folder.glob("Account-*.json"))
    assert [line.split()[:2] for line in lines] == [["Completed", name] for name in parts]
    listed = run_cli("jobs", folder)
    assert listed.returncode == 0
    assert all(name in listed.stdout for name in parts)
    assert listed.stdout.count("Completed") == len(parts)
    again = run_cli("upload", folder, "--wait")
    assert again.returncode == 0
    assert again.stdout.count("Skipped") == len(parts)


def test_a_part_the_server_rejects_records_of_exits_6(tmp_path: Path) -> None:
    good = write_items(tmp_path / "good.json", [account(n) for n in range(100, 103)])
    mixed = write_items(tmp_path / "mixed.json", [account(103), account(104, currency="CAD")])
    done = run_cli("upload", good, mixed, "--item-type", "Account", "--key", "accountId",
                   "--wait")
    assert done.returncode == 6, done.stdout + done.stderr
    lines = {line.split()[1]: line for line in done.stdout.splitlines()
             if not line.startswith(" ")}
    assert lines["good.json"].startswith("Completed") and "rejected" not in lines["good.json"]
    assert lines["mixed.json"].startswith("Completed") and "1 rejected" in lines["mixed.json"]
    assert "currency" in done.stdout            # the record and why, from the rejection file
    again = run_cli("upload", good, mixed, "--item-type", "Account", "--key", "accountId",
                    "--wait")
    assert again.returncode == 6                # skipped, but still not all imported
    assert again.stdout.count("Skipped") == 2


def test_status_and_cancel_as_json(url: str, tmp_path: Path) -> None:
    path = write_items(tmp_path / "slow.json", [account(9000 + n) for n in range(300)])
    with LDClient(credentials=canary_credentials(url)) as client:
        job = client.import_file(path, "Account")
    status = run_cli("status", job.job_id, "--json")
    assert status.returncode == 0
    assert json.loads(status.stdout)["jobId"] == job.job_id
    canceled = run_cli("cancel", job.job_id, "--json")
    assert canceled.returncode == 0, canceled.stderr
    assert json.loads(canceled.stdout)["status"] in ("Canceling", "Canceled")
    plain = run_cli("status", job.job_id)
    assert plain.stdout.split()[:2][1] == job.job_id


def test_plain_http_to_another_host_is_refused_without_insecure() -> None:
    done = run_cli("login", "--url", "http://ld.example.com")
    assert done.returncode == 4
    assert "--insecure" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_password_without_a_terminal_is_a_clear_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LD_PASSWORD")
    done = run_cli("login")
    assert done.returncode == 4
    assert done.stderr.startswith("error:") and "LD_PASSWORD" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
