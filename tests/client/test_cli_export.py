"""``ldtransform export`` and ``pull`` in-process, against the real local server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.csv as pacsv
import pytest
from clirun import run_cli
from conftest import CANARY_PW, SCHEMAS, account, server_config, write_items

from ldtransform.client import LDClient
from ldtransform.server import running


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A server holding 30 accounts (a third in EUR), and the environment of a user; the
    tests that change its data get their own (``own_env``)."""
    yield from _server_with_accounts(tmp_path_factory.mktemp("export"))


@pytest.fixture
def own_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    yield from _server_with_accounts(tmp_path / "server")


def _server_with_accounts(folder: Path) -> Iterator[dict[str, str]]:
    with running(data_dir=folder / "ld", schemas=SCHEMAS,
                 config=server_config(limits={"records_per_file": 8})) as url:
        items = [account(n, currency="EUR" if n % 3 == 0 else "USD",
                         deliveryDays=["Mon", "Thu"]) for n in range(30)]
        with LDClient(url, username="canary", password=CANARY_PW) as client:
            client.wait(client.import_file(write_items(folder / "a.json", items), "Account"))
        yield {"LD_URL": url, "LD_USERNAME": "canary", "LD_PASSWORD": CANARY_PW,
               "XDG_STATE_HOME": str(folder / "state")}


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".json", ".jsonl"])
def test_export_writes_every_result_file_in_the_format_of_the_suffix(
        env: dict[str, str], tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"accounts{suffix}"
    done = run_cli("export", "Account", "--schema", SCHEMAS / "Account.json", "--out", out,
                   env=env)
    assert done.returncode == 0, done.stderr
    assert "30 rows from 4 result file(s)" in done.stdout      # 8 records per file
    if suffix == ".parquet":
        frame = pd.read_parquet(out)
        assert list(frame["deliveryDays"].iloc[0]) == ["Mon", "Thu"]
    elif suffix == ".csv":
        frame = pacsv.read_csv(out).to_pandas()
        assert json.loads(frame["deliveryDays"].iloc[0]) == ["Mon", "Thu"]
    elif suffix == ".json":
        frame = pd.DataFrame(json.loads(out.read_text(encoding="utf-8")))
    else:
        frame = pd.read_json(out, lines=True, dtype=False)
    assert sorted(frame["accountId"]) == [f"A{n:06d}" for n in range(30)]
    assert CANARY_PW not in done.stdout + done.stderr


def test_export_with_filters_and_sql(env: dict[str, str], tmp_path: Path) -> None:
    euros = run_cli("export", "Account", "--filter", "currency=EUR", "--out",
                    tmp_path / "eur.jsonl", env=env)
    assert euros.returncode == 0, euros.stderr
    assert "10 rows" in euros.stdout
    query = run_cli("export", "Account", "--sql",
                    "SELECT accountId FROM Account WHERE currency = 'USD' ORDER BY accountId",
                    "--out", tmp_path / "usd.csv", env=env)
    assert query.returncode == 0, query.stderr
    assert pacsv.read_csv(tmp_path / "usd.csv").column_names == ["accountId"]


def test_export_refuses_what_it_cannot_write(env: dict[str, str], tmp_path: Path) -> None:
    done = run_cli("export", "Account", "--out", tmp_path / "a.xlsx", env=env)
    assert done.returncode == 2 and "write .parquet, .csv, .json or .jsonl" in done.stderr
    bad = run_cli("export", "Account", "--filter", "currency", "--out", tmp_path / "a.csv",
                  env=env)
    assert bad.returncode == 2 and "not FIELD=VALUE" in bad.stderr
    rejected = run_cli("export", "Account", "--sql", "DELETE FROM Account", "--out",
                       tmp_path / "b.csv", env=env)
    assert rejected.returncode == 6 and "Rejected" in rejected.stderr
    assert not (tmp_path / "b.csv").exists() and list(tmp_path.iterdir()) == []


def test_pull_remembers_where_it_ended(own_env: dict[str, str], tmp_path: Path) -> None:
    env = own_env
    first = run_cli("pull", "Account", "--out", tmp_path / "all.parquet", env=env)
    assert first.returncode == 0, first.stderr
    everything = pd.read_parquet(tmp_path / "all.parquet")
    assert len(everything) == 30 and "_headers.revisionId" in everything.columns
    nothing = run_cli("pull", "Account", "--since-last", "--out", tmp_path / "none.jsonl",
                      env=env)
    assert nothing.returncode == 0 and "0 changed Account items" in nothing.stdout
    with LDClient(env["LD_URL"], username="canary", password=CANARY_PW) as client:
        client.upsert([account(999)])
    changed = run_cli("pull", "Account", "--since-last", "--page-size", "2", "--out",
                      tmp_path / "new.jsonl", env=env)
    assert changed.returncode == 0, changed.stderr
    rows = [json.loads(line) for line in
            (tmp_path / "new.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [row["accountId"] for row in rows] == ["A000999"]


def test_pull_marks_deleted_items(own_env: dict[str, str], tmp_path: Path) -> None:
    env = own_env
    run_cli("pull", "Account", "--out", tmp_path / "before.jsonl", env=env)
    gone = account(1)
    gone["headers"]["action"] = "Delete"
    with LDClient(env["LD_URL"], username="canary", password=CANARY_PW) as client:
        assert not client.upsert([gone]).rejected
    done = run_cli("pull", "Account", "--since-last", "--out", tmp_path / "after.jsonl",
                   env=env)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in
            (tmp_path / "after.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["accountId"], r["_headers.action"]) for r in rows] == [("A000001", "Delete")]
