"""The uploader against the real local server: resume, skip, lost answers, Ctrl-C."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SCHEMAS, account, canary_credentials, server_config, write_items
from faultproxy import FaultProxy

from ldtransform.client import Job, LDClient
from ldtransform.client.arrival import ArrivalCheck
from ldtransform.client.journal import Journal, PartState
from ldtransform.client.parts import parts_to_upload
from ldtransform.client.uploader import Uploader, UploadEvents
from ldtransform.server import running


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running(data_dir=tmp_path_factory.mktemp("ld"), schemas=SCHEMAS,
                 config=server_config()) as base:
        yield base


def _client(url: str, **options: Any) -> LDClient:
    return LDClient(credentials=canary_credentials(url), **options)


def _file(tmp_path: Path, first: int, count: int, name: str = "part.json") -> Path:
    return write_items(tmp_path / name, [account(n) for n in range(first, first + count)])


def _upload(client: LDClient, journal: Journal, paths: list[Path], *, grace: float = 0.5,
            **options: Any) -> Any:
    parts = parts_to_upload(paths, item_type="Account", key_fields=("accountId",))
    uploader = Uploader(client, journal, arrival=ArrivalCheck(client, grace_ms=int(grace * 1000)),
                        **options)
    return uploader.run(parts)


def _revisions(client: LDClient, first: int, count: int) -> dict[str, str]:
    """revisionId of each of the accounts, as the updates API shows them."""
    wanted = {f"A{n:06d}" for n in range(first, first + count)}
    found: dict[str, str] = {}
    for page in client.updates("Account", max=500):
        for item in page.items:
            key = item["data"]["accountId"]
            if key in wanted:
                found[key] = str(item["headers"]["revisionId"])
    return found


def test_a_second_run_sends_nothing(url: str, tmp_path: Path) -> None:
    files = [_file(tmp_path, 100, 5, "a.json"), _file(tmp_path, 105, 5, "b.json")]
    with _client(url) as client, Journal(tmp_path / "j.sqlite3") as journal:
        first = _upload(client, journal, files)
        assert [o.word for o in first.outcomes] == ["Completed", "Completed"]
        second = _upload(client, journal, files)
        assert [o.word for o in second.outcomes] == ["Skipped", "Skipped"]
        assert second.ok
        assert set(_revisions(client, 100, 10).values()) == {"1"}


def test_a_renamed_part_is_the_same_part(url: str, tmp_path: Path) -> None:
    path = _file(tmp_path, 200, 3)
    with _client(url) as client, Journal(tmp_path / "j.sqlite3") as journal:
        _upload(client, journal, [path])
        moved = path.rename(tmp_path / "renamed.json")
        assert [o.word for o in _upload(client, journal, [moved]).outcomes] == ["Skipped"]


def test_a_lost_answer_is_found_on_the_server_and_not_sent_again(url: str,
                                                                 tmp_path: Path) -> None:
    path = _file(tmp_path, 300, 4)
    port = int(url.rsplit(":", 1)[1])
    with FaultProxy(port) as proxy, _client(proxy.url) as client, \
            Journal(tmp_path / "j.sqlite3") as journal:
        client.whoami()                      # log in through a clean connection
        proxy.set_faults(["reset_after"])    # the import's answer is lost
        report = _upload(client, journal, [path], grace=5)
        assert [o.word for o in report.outcomes] == ["Arrived"]
        assert journal.entries()[0].state is PartState.ARRIVED
        imports = [e for e in proxy.exchanges if e.path.endswith("/batch/import")]
        assert len(imports) == 1
        assert _revisions(client, 300, 4) == {f"A{n:06d}": "1" for n in range(300, 304)}
        again = _upload(client, journal, [path])
        assert [o.word for o in again.outcomes] == ["Skipped"]


def test_an_import_that_never_arrived_is_sent_again(url: str, tmp_path: Path) -> None:
    path = _file(tmp_path, 400, 4)
    port = int(url.rsplit(":", 1)[1])
    with FaultProxy(port) as proxy, _client(proxy.url) as client, \
            Journal(tmp_path / "j.sqlite3") as journal:
        client.whoami()
        proxy.set_faults(["reset_before"])   # the import never reaches the server
        report = _upload(client, journal, [path], grace=0.5)
        assert [o.word for o in report.outcomes] == ["Completed"]
        assert journal.entries()[0].attempts == 2
        assert _revisions(client, 400, 4) == {f"A{n:06d}": "1" for n in range(400, 404)}


def test_an_earlier_import_of_the_same_keys_does_not_pass_for_a_lost_one(
        url: str, tmp_path: Path) -> None:
    """Same keys, other data: the data decides whether the part arrived."""
    old = write_items(tmp_path / "old.json", [account(n, name="old") for n in range(500, 503)])
    new = write_items(tmp_path / "new.json", [account(n, name="new") for n in range(500, 503)])
    port = int(url.rsplit(":", 1)[1])
    with FaultProxy(port) as proxy, _client(proxy.url) as client, \
            Journal(tmp_path / "j.sqlite3") as journal:
        _upload(client, journal, [old])
        proxy.set_faults(["reset_before"])
        report = _upload(client, journal, [new], grace=0.5)
        assert [o.word for o in report.outcomes] == ["Completed"]
        names = {item["data"]["name"] for page in client.updates("Account", max=500)
                 for item in page.items if item["data"]["accountId"] == "A000500"}
        assert "new" in names


def test_without_a_key_a_lost_answer_stays_unresolved_until_told(url: str,
                                                                tmp_path: Path) -> None:
    path = _file(tmp_path, 600, 2)
    port = int(url.rsplit(":", 1)[1])
    with FaultProxy(port) as proxy, _client(proxy.url) as client, \
            Journal(tmp_path / "j.sqlite3") as journal:
        client.whoami()
        proxy.set_faults(["reset_before"])
        parts = parts_to_upload([path], item_type="Account")   # no key known
        report = Uploader(client, journal).run(parts)
        assert [o.word for o in report.outcomes] == ["Unresolved"]
        assert not report.ok
        assert "--resend-unknown" in report.outcomes[0].detail
        forced = Uploader(client, journal, resend_unknown=True).run(parts)
        assert [o.word for o in forced.outcomes] == ["Completed"]


def test_a_job_followed_by_a_later_run(url: str, tmp_path: Path) -> None:
    path = _file(tmp_path, 700, 3)
    with _client(url) as client, Journal(tmp_path / "j.sqlite3") as journal:
        handed = _upload(client, journal, [path], wait=False)
        assert [o.word for o in handed.outcomes] == ["Submitted"]
        assert handed.ok
        followed = _upload(client, journal, [path])
        assert [o.word for o in followed.outcomes] == ["Completed"]
        assert journal.entries()[0].attempts == 1


def test_without_waiting_every_part_is_handed_over(url: str, tmp_path: Path) -> None:
    files = [_file(tmp_path, 750 + 2 * n, 2, f"p{n}.json") for n in range(3)]
    with _client(url) as client, Journal(tmp_path / "j.sqlite3") as journal:
        handed = _upload(client, journal, files, wait=False)
        assert [o.word for o in handed.outcomes] == ["Submitted"] * 3
        assert len({o.entry.job_id for o in handed.outcomes if o.entry}) == 3


class _CtrlC(UploadEvents):
    """Presses Ctrl-C when the first job reports it is processing."""

    def job(self, part: Any, job: Job) -> None:
        if job.records_processed > 0:
            raise KeyboardInterrupt


def test_ctrl_c_cancels_the_running_jobs(tmp_path: Path) -> None:
    path = _file(tmp_path, 800, 40)
    config = server_config(processing={"records_per_second": 20, "chunk_size": 5})
    with running(data_dir=tmp_path / "ld", schemas=SCHEMAS, config=config) as base, \
            _client(base) as client, Journal(tmp_path / "j.sqlite3") as journal:
        with pytest.raises(KeyboardInterrupt):
            _upload(client, journal, [path], events=_CtrlC())
        entry = journal.entries()[0]
        assert entry.state is PartState.CANCELED
        assert entry.job_id is not None
        assert client.wait(entry.job_id, raise_on_failure=False).status == "Canceled"


def test_no_cancel_leaves_the_job_running(tmp_path: Path) -> None:
    path = _file(tmp_path, 900, 20)
    config = server_config(processing={"records_per_second": 40, "chunk_size": 5})
    with running(data_dir=tmp_path / "ld", schemas=SCHEMAS, config=config) as base, \
            _client(base) as client, Journal(tmp_path / "j.sqlite3") as journal:
        with pytest.raises(KeyboardInterrupt):
            _upload(client, journal, [path], events=_CtrlC(), cancel_on_interrupt=False)
        entry = journal.entries()[0]
        assert entry.state is PartState.SENT
        assert client.wait(entry.job_id or "").status == "Completed"
        assert [o.word for o in _upload(client, journal, [path]).outcomes] == ["Completed"]


def test_a_part_changed_after_convert_is_refused(tmp_path: Path) -> None:
    from ldtransform import convert
    from ldtransform.client.errors import UploadError

    source = tmp_path / "accounts.csv"
    source.write_text("accountId,name,accountClass,currency\nA1,One,"
                      "/Account/accountClass[invoiced],USD\n")
    convert(source, schema=SCHEMAS / "Account.json", out=tmp_path / "out")
    part = next((tmp_path / "out").glob("Account-*.json"))
    part.write_bytes(part.read_bytes().replace(b"One", b"Two"))
    with pytest.raises(UploadError, match="changed since the conversion"):
        parts_to_upload([tmp_path / "out"], item_type=None)



def test_csv_parts_with_an_import_template_round_trip(url: str, tmp_path: Path) -> None:
    """convert --to csv with a Jinja2 template, upload with LD's import template, export:
    the fields the CSV carries come back as the item JSON conversion has them."""
    from ldtransform import convert, read_export

    samples = SCHEMAS.parent
    common = {"schema": SCHEMAS / "Account.json",
              "mapping": samples / "mappings" / "accounts.toml", "sheet": "Accounts"}
    convert(samples / "accounts.xlsx", out=tmp_path / "csv", to="csv", max_records=10,
            template=samples / "templates" / "account-import.csv.j2", **common)
    convert(samples / "accounts.xlsx", out=tmp_path / "json", **common)
    parts = parts_to_upload([tmp_path / "csv"], item_type=None,
                            template=samples / "templates" / "account-import.json")
    assert [p.content_type for p in parts] == ["text/plain"] * 3
    with _client(url) as client, Journal(tmp_path / "j.sqlite3") as journal:
        report = Uploader(client, journal).run(parts)
        assert [o.word for o in report.outcomes] == ["Completed"] * 3
        assert sum(o.job.records_processed for o in report.outcomes if o.job) == 25
        job = client.wait(client.export("Account", sql="SELECT * FROM Account"))
        exported = read_export(client.download(job, tmp_path / "export"),
                               SCHEMAS / "Account.json").to_pandas()
    expected = [item["data"] for part in sorted((tmp_path / "json").glob("Account-*.json"))
                for item in json.loads(part.read_text(encoding="utf-8"))]
    got = exported.set_index("accountId").loc[[e["accountId"] for e in expected]]
    for name in ("name", "accountClass", "currency", "paymentTerms", "creditBlock",
                 "exposure", "limit"):
        assert [str(v) for v in got[name]] == [str(e[name]) for e in expected], name
    assert [list(v) for v in got["deliveryDays"]] == [e["deliveryDays"] for e in expected]
    assert [a[0]["city"] for a in got["addresses"]] == [
        e["addresses"][0]["city"] for e in expected]


def test_records_ld_rejects_are_traced_to_their_source_rows(tmp_path: Path) -> None:
    """A server whose Account takes only USD rejects the other rows' records; each is named
    by its source file and row, printed and saved beside the quarantine file."""
    import csv as csvlib

    from ldtransform import convert

    samples = SCHEMAS.parent
    strict = tmp_path / "strict"
    strict.mkdir()
    schema = json.loads((SCHEMAS / "Account.json").read_text(encoding="utf-8"))
    for field in schema["fields"]:
        if field["name"] == "currency":
            field["constraints"]["enum"] = ["USD"]
    (strict / "Account.json").write_text(json.dumps(schema), encoding="utf-8")
    source = samples / "accounts.csv"
    convert(source, schema=SCHEMAS / "Account.json", out=tmp_path / "out", max_records=7,
            mapping=samples / "mappings" / "accounts-flat.toml")
    rows = list(csvlib.DictReader(source.open(encoding="utf-8")))
    with running(data_dir=tmp_path / "ld", schemas=strict, config=server_config()) as base, \
            _client(base) as client, Journal(tmp_path / "j.sqlite3") as journal:
        report = Uploader(client, journal).run(parts_to_upload([tmp_path / "out"],
                                                               item_type=None))
    rejected = [r for o in report.outcomes for r in o.rejections]
    not_usd = [n for n, row in enumerate(rows, start=2) if row["currency"] != "USD"]
    assert sorted(r.row for r in rejected if r.row is not None) == not_usd
    for record in rejected:
        assert record.source == str(source)
        assert rows[(record.row or 0) - 2]["accountId"] == record.key[0]
        assert record.errors[0]["code"] == "not-in-enum"
        assert record.where() == f"{source} row {record.row}"
    saved = [o.rejections_file for o in report.outcomes if o.rejections_file]
    assert saved and all(path.parent == tmp_path / "out" for path in saved)
    lines = [line for path in saved
             for line in csvlib.DictReader(path.open(encoding="utf-8"))]
    assert sorted(int(line["row"]) for line in lines) == not_usd
