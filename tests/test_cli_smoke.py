"""Each command once as a user runs it: a real process, the installed entry point's module.

Everything else about the commands is tested in-process with click's CliRunner, which is
many times faster; these make sure the process around them (imports, exit codes, stdout
and stderr, the working directory) holds together.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ldtransform import convert, ld
from ldtransform.cli import main
from ldtransform.server import running
from ldtransform.server.testing import free_port, start_server

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SCHEMA = SAMPLES / "schemas" / "Account.json"
MAPPING = SAMPLES / "mappings" / "accounts.toml"
SMOKED = {"cancel", "convert", "export", "inspect", "jobs", "login", "plugin", "plugins", "pull",
          "run", "schema", "serve", "status", "template", "upload", "validate"}


def ldtransform(*args: str | Path, cwd: Path | None = None,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ldtransform", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def ld_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A local LD server in this process, and the environment that points a command at it."""
    with running(data_dir=tmp_path_factory.mktemp("ld"), schemas=SAMPLES / "schemas",
                 processes=False) as url:
        yield {"LD_URL": url, "LD_USERNAME": "demo", "LD_PASSWORD": "demo"}


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("converted") / "out"
    convert(SAMPLES / "accounts.xlsx", schema=SCHEMA, mapping=MAPPING, out=out)
    return out


def test_every_command_has_a_smoke_test() -> None:
    assert set(main.commands) == SMOKED


def test_inspect() -> None:
    done = ldtransform("inspect", SAMPLES / "accounts.csv", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"] == 25


def test_inspect_exit_code_and_message_on_stderr() -> None:
    done = ldtransform("inspect", "no/such/file.csv")
    assert done.returncode == 3 and done.stdout == ""
    assert "no such file" in done.stderr and "Traceback" not in done.stderr


def test_validate(tmp_path: Path) -> None:
    done = ldtransform("validate", SAMPLES / "accounts.xlsx", "--schema", SCHEMA,
                       "--mapping", MAPPING, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "25 rows read = 25 valid + 0 rejected" in done.stdout
    assert list(tmp_path.iterdir()) == []


def test_schema(tmp_path: Path) -> None:
    done = ldtransform("schema", "infer", SAMPLES / "accounts.csv", "--item-type", "Account",
                       "--out", "draft.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "draft.json").read_text(encoding="utf-8"))["itemType"] == \
        "Account"


def test_convert(tmp_path: Path) -> None:
    done = ldtransform("convert", SAMPLES / "accounts.xlsx", "--schema", SCHEMA, "--mapping",
                       MAPPING, "--out", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert "25 rows in = 25 written + 0 rejected; wrote 1 file(s)" in done.stdout
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["parts"]) == 1


def test_run(tmp_path: Path, ld_env: dict[str, str]) -> None:
    # The sample as shipped, but writing under tmp_path rather than into the repository.
    text = (SAMPLES / "pipeline.toml").read_text(encoding="utf-8")
    for relative in ("schemas/", "mappings/", "accounts.xlsx"):
        text = text.replace(f'"{relative}', f'"{SAMPLES.as_posix()}/{relative}')
    pipeline = tmp_path / "pipeline.toml"
    pipeline.write_text(text.replace('"../out/pipeline"', '"out/pipeline"'), encoding="utf-8")
    done = ldtransform("run", pipeline, env=ld_env)
    assert done.returncode == 0, done.stderr
    assert "25 rows in = 25 written + 0 rejected; wrote 3 file(s)" in done.stdout
    assert done.stdout.count("\nCompleted  Account-0000") == 3


def test_template(tmp_path: Path) -> None:
    out = tmp_path / "a.csv.j2"
    done = ldtransform("template", "init", "--schema", SCHEMA, "--out", out)
    assert done.returncode == 0, done.stderr
    assert "{% block row %}" in out.read_text(encoding="utf-8")


def test_plugins() -> None:
    done = ldtransform("plugins", "--json")
    assert done.returncode == 0, done.stderr
    assert {"kind": "reader", "name": "csv"}.items() <= json.loads(done.stdout)[0].items()


def test_plugin(tmp_path: Path) -> None:
    done = ldtransform("plugin", "new", "ldtransform-foo", "--kind", "reader", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "ldtransform-foo" / "ldtransform_foo" / "__init__.py").is_file()


def test_serve(tmp_path: Path) -> None:
    port = free_port()
    server = start_server(port, tmp_path / "data", SAMPLES / "schemas",
                          SAMPLES / "server.toml")
    try:
        assert httpx.get(f"http://127.0.0.1:{port}{ld.HEALTH}").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_login(ld_env: dict[str, str]) -> None:
    done = ldtransform("login", env=ld_env)
    assert done.returncode == 0, done.stderr
    assert "as demo in community Demo" in done.stdout


def test_upload(ld_env: dict[str, str], converted: Path) -> None:
    done = ldtransform("upload", converted, "--wait", env=ld_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Completed  Account-00001.json  job ")


def test_jobs(ld_env: dict[str, str], converted: Path) -> None:
    ldtransform("upload", converted, "--wait", env=ld_env)
    done = ldtransform("jobs", converted)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if "Account-00001.json" in line)
    assert line.split()[1:4] == [f"{ld_env['LD_URL']}#", "Account", "finished"]


def test_status(ld_env: dict[str, str], tmp_path: Path) -> None:
    done = ldtransform("status", "no-such-job", env=ld_env)
    assert done.returncode == 1 and "404" in done.stderr and "Traceback" not in done.stderr


def test_cancel(ld_env: dict[str, str]) -> None:
    job = httpx.post(f"{ld_env['LD_URL']}{ld.EXPORT}", data={
        "jobName": "smoke", "itemType": "Account", "contentType": "application/json"},
        headers={"Authorization": f"Bearer {_token(ld_env)}"}).json()
    done = ldtransform("cancel", job["jobId"], "--json", env=ld_env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["jobId"] == job["jobId"]


def _token(env: dict[str, str]) -> str:
    answer = httpx.post(f"{env['LD_URL']}{ld.TOKEN}", data={
        "grant_type": "password", "username": env["LD_USERNAME"],
        "password": env["LD_PASSWORD"]})
    token: str = answer.json()["access_token"]
    return token


def test_export(ld_env: dict[str, str], converted: Path, tmp_path: Path) -> None:
    ldtransform("upload", converted, "--wait", env=ld_env)
    done = ldtransform("export", "Account", "--sql", "SELECT * FROM Account WHERE channel = '20'",
                       "--schema", SCHEMA, "--out", tmp_path / "accounts.parquet", env=ld_env)
    assert done.returncode == 0, done.stderr
    import pandas as pd

    frame = pd.read_parquet(tmp_path / "accounts.parquet")
    assert len(frame) > 0 and set(frame["channel"].astype(str)) == {"20"}
    assert f"{len(frame)} rows from 1 result file(s)" in done.stdout


def test_pull(ld_env: dict[str, str], converted: Path, tmp_path: Path) -> None:
    ldtransform("upload", converted, "--wait", env=ld_env)
    env = {**ld_env, "XDG_STATE_HOME": str(tmp_path / "state")}
    first = ldtransform("pull", "Account", "--out", tmp_path / "all.jsonl", env=env)
    assert first.returncode == 0, first.stderr
    assert len((tmp_path / "all.jsonl").read_text(encoding="utf-8").splitlines()) == 25
    again = ldtransform("pull", "Account", "--since-last", "--out", tmp_path / "new.jsonl",
                        env=env)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "new.jsonl").read_text(encoding="utf-8") == ""
