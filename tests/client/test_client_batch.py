"""LDClient against the local server: imports, exports, downloads and every job outcome."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SCHEMAS, account, canary_credentials, server_config, write_items

from ldtransform.client import (
    Job,
    JobCanceled,
    JobFailed,
    JobRejected,
    JobTimeout,
    LDClient,
    LinkExpired,
    WaitPolicy,
)
from ldtransform.ld import JobStatus
from ldtransform.server import running
from ldtransform.server.clock import Clock

CSV = ("Account ID,Name,Class,Currency\n"
       "C000001,Alpha Ltd,/Account/accountClass[invoiced],USD\n"
       "C000002,\"Beta, Inc.\",/Account/accountClass[cash],EUR\n")
TEMPLATE = {"columns": [{"column": "Account ID", "field": "accountId"},
                        {"column": "Name", "field": "name"},
                        {"column": "Class", "field": "accountClass"},
                        {"column": "Currency", "field": "currency"}]}


def test_whoami_names_the_user_and_community(client: LDClient) -> None:
    me = client.whoami()
    assert (me["user"], me["community"]) == ("canary", "Demo")


def test_json_import_completes_and_reports_progress(client: LDClient, tmp_path: Path) -> None:
    path = write_items(tmp_path / "accounts.json", [account(n) for n in range(25)])
    sent: list[tuple[int, int | None]] = []
    job = client.import_file(path, "Account",
                             progress=lambda done, total: sent.append((done, total)))
    assert job.job_name == "accounts.json" and job.job_type == "import"
    seen: list[JobStatus | str] = []
    done = client.wait(job, policy=WaitPolicy(interval=0.05),
                       on_progress=lambda j: seen.append(j.status))
    assert done.status == JobStatus.COMPLETED and done.records_processed == 25
    assert seen[-1] == JobStatus.COMPLETED
    assert sent[-1] == (path.stat().st_size, path.stat().st_size)


@pytest.mark.parametrize("as_path", [True, False])
def test_csv_import_with_a_template(client: LDClient, tmp_path: Path, as_path: bool) -> None:
    data = tmp_path / "accounts.csv"
    data.write_text(CSV)
    template_path = tmp_path / "template.json"
    template_path.write_text(json.dumps(TEMPLATE))
    template = template_path if as_path else json.dumps(TEMPLATE)
    job = client.wait(client.import_file(data, "Account", template=template))
    assert job.records_processed == 2 and job.records_rejected == 0


def test_rejected_job_raises_with_the_servers_reason(client: LDClient, tmp_path: Path) -> None:
    path = write_items(tmp_path / "x.json", [account(1)])
    job = client.import_file(path, "NoSuchType")
    with pytest.raises(JobRejected) as caught:
        client.wait(job)
    assert caught.value.job.job_id == job.job_id
    assert caught.value.reason and "NoSuchType" in caught.value.reason
    assert caught.value.reason in str(caught.value)
    assert client.wait(job, raise_on_failure=False).status == JobStatus.REJECTED


def test_failed_export_raises_job_failed(tmp_path: Path) -> None:
    config = server_config(limits={"export_row_bytes": 1000})
    with running(data_dir=tmp_path / "ld", schemas=SCHEMAS, config=config) as url, \
            LDClient(credentials=canary_credentials(url)) as ld:
        ld.upsert([account(1)])
        job = ld.export("Account", sql="SELECT hex(zeroblob(800)) AS big FROM Account")
        with pytest.raises(JobFailed) as caught:
            ld.wait(job, policy=WaitPolicy(interval=0.05))
        assert caught.value.reason


def test_rejected_records_are_downloadable(client: LDClient, tmp_path: Path) -> None:
    bad = account(2)
    del bad["data"]["name"]
    path = write_items(tmp_path / "mixed.json", [account(1), bad])
    job = client.wait(client.import_file(path, "Account"))
    assert job.records_rejected == 1 and job.rejection_file
    saved = client.download_rejections(job, tmp_path / "rejects")
    assert saved is not None and saved.parent == tmp_path / "rejects"
    assert "A000002" in saved.read_text()
    assert not list(saved.parent.glob("*.part"))


def test_export_with_several_links_downloads_every_file(client: LDClient,
                                                        tmp_path: Path) -> None:
    assert not client.upsert([account(n, userId="u77") for n in range(100, 125)]).rejected
    job = client.wait(client.export("Account", filters={"userId": "u77"}))
    assert len(job.links) == 3 and job.links_expire
    files = client.download(job, tmp_path / "out")
    assert [f.parent for f in files] == [tmp_path / "out"] * 3
    ids = [item["data"]["accountId"] for f in files for item in json.loads(f.read_bytes())]
    assert sorted(ids) == [f"A{n:06d}" for n in range(100, 125)]
    assert not list((tmp_path / "out").glob("*.part"))


def test_sql_export_as_csv(client: LDClient, tmp_path: Path) -> None:
    client.upsert([account(200, userId="u88")])
    job = client.wait(client.export(
        "Account", content_type="text/plain",
        sql="SELECT accountId, name FROM Account WHERE userId = 'u88'"))
    [file] = client.download(job, tmp_path)
    assert file.read_text().splitlines() == ["accountId,name", "A000200,Account 200"]


def test_an_expired_link_says_so(client: LDClient, server: tuple[str, Clock],
                                 tmp_path: Path) -> None:
    job = client.wait(client.export("Account"))
    server[1].advance(601)
    with pytest.raises(LinkExpired, match="expired"):
        client.download(job, tmp_path)
    assert not list(tmp_path.iterdir())


@pytest.fixture(scope="module")
def slow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LDClient]:
    config = server_config(processing={"records_per_second": 40, "chunk_size": 5})
    with running(data_dir=tmp_path_factory.mktemp("slow"), schemas=SCHEMAS,
                 config=config) as url, LDClient(credentials=canary_credentials(url)) as ld:
        yield ld


def test_cancel_ends_a_running_job_canceled(slow: LDClient, tmp_path: Path) -> None:
    path = write_items(tmp_path / "many.json", [account(n) for n in range(400)])
    job = slow.import_file(path, "Account")

    def watch(seen: Job) -> None:
        if seen.records_processed >= 10 and seen.status == JobStatus.PROCESSING:
            slow.cancel(seen.job_id)

    with pytest.raises(JobCanceled) as caught:
        slow.wait(job, policy=WaitPolicy(interval=0.1, cap=0.2), on_progress=watch)
    assert 10 <= caught.value.job.records_processed < 400


def test_wait_times_out_while_the_job_goes_on(slow: LDClient, tmp_path: Path) -> None:
    path = write_items(tmp_path / "many.json", [account(n) for n in range(400, 800)])
    job = slow.import_file(path, "Account")
    with pytest.raises(JobTimeout) as caught:
        slow.wait(job, policy=WaitPolicy(interval=0.05, timeout=0.5))
    assert caught.value.job.status in (JobStatus.ACCEPTED, JobStatus.PROCESSING)
    assert slow.cancel(job.job_id).status in (JobStatus.CANCELING, JobStatus.CANCELED)
