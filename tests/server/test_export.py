"""Batch export: everything, filters, SQL, CSV with and without header or template, links."""

from __future__ import annotations

import csv
import email
import io
import json
import sqlite3
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from ldkit import LD, SCHEMAS, account, make_config, outbox

from ldtransform.schema import load_schema
from ldtransform.server import running
from ldtransform.server.clock import Clock
from ldtransform.server.jobview import job_status
from ldtransform.server.sqlguard import GuardedQuery
from ldtransform.server.store import Store


@pytest.fixture(scope="module")
def loaded(server: tuple[str, Path]) -> Iterator[LD]:
    """The module's server holding 25 accounts (10 records per export file)."""
    client = LD(*server)
    items = [account(i, channel="10" if i < 5 else "20", userId=f"u{i % 3}")
             for i in range(25)]
    assert client.run_import(items)["status"] == "Completed"
    yield client


def csv_rows(ld: LD, status: dict[str, Any]) -> list[list[str]]:
    rows: list[list[str]] = []
    for link in status["links"]:
        rows.extend(csv.reader(io.StringIO(ld.download(link).text)))
    return rows


def test_everything_as_json_over_several_files(loaded: LD) -> None:
    status = loaded.run_export(filters="0")
    assert status["status"] == "Completed" and status["recordsProcessed"] == "25"
    assert len(status["links"]) == 3
    assert status["linksExpire"].endswith("+0000")
    items = loaded.exported_items(status)
    assert len(items) == 25
    assert items[0]["headers"]["type"] == "Account" and "id" in items[0]["headers"]
    assert items[0]["data"] == account(0, channel="10", userId="u0")["data"]


@pytest.mark.parametrize("filters", [
    json.dumps({"channel": "10", "userId": "u1"}),
    str({"channel": "10", "userId": "u1"}),
])
def test_filters_as_json_or_python_dict_text(loaded: LD, filters: str) -> None:
    status = loaded.run_export(filters=filters)
    ids = [i["data"]["accountId"] for i in loaded.exported_items(status)]
    assert ids == ["A000001", "A000004"]


def test_filter_on_unknown_field_is_rejected(loaded: LD) -> None:
    status = loaded.run_export(filters="{'colour': 'red'}")
    assert status["status"] == "Rejected" and "colour" in status["reason"]


def test_bad_filters_text_is_rejected(loaded: LD) -> None:
    assert loaded.run_export(filters="{channel: ")["status"] == "Rejected"


def test_sql_query_wins_over_filters(loaded: LD) -> None:
    status = loaded.run_export(
        sqlQuery="SELECT accountId, name FROM Account WHERE exposure >= 23 ORDER BY accountId",
        filters=json.dumps({"channel": "10"}), contentType="text/plain", rowHeader="true")
    assert status["status"] == "Completed"
    assert csv_rows(loaded, status) == [["accountId", "name"], ["A000023", "Account 23"],
                                        ["A000024", "Account 24"]]


def test_sql_with_ld_table_name_and_json_output(loaded: LD) -> None:
    status = loaded.run_export(sqlQuery="SELECT * FROM Demo_entity_Account WHERE "
                               "accountId = 'A000007'")
    items = loaded.exported_items(status)
    assert len(items) == 1
    assert items[0]["data"]["accountId"] == "A000007"
    assert items[0]["data"]["exposure"] == 7.0


def test_csv_without_header(loaded: LD) -> None:
    status = loaded.run_export(contentType="text/plain", rowHeader="false",
                               sqlQuery="SELECT accountId, creditBlock FROM Account "
                               "WHERE accountId IN ('A000001', 'A000002') ORDER BY 1")
    assert csv_rows(loaded, status) == [["A000001", "0"], ["A000002", "1"]]


def test_plain_csv_of_items_with_header_in_every_file(loaded: LD) -> None:
    status = loaded.run_export(contentType="text/csv", rowHeader="True")
    rows = csv_rows(loaded, status)
    header = rows[0]
    assert header[:3] == ["accountId", "accountNumber", "name"]
    assert sum(1 for r in rows if r == header) == 3
    data = [dict(zip(header, r, strict=True)) for r in rows if r != header]
    assert len(data) == 25
    assert data[2]["creditBlock"] == "true" and data[2]["exposure"] == "2.0"


def test_template_export(loaded: LD) -> None:
    template = ("## header: id,name,blocked\n"
                "{{ item.accountId }},{{ item.name | csv }},"
                "{{ 'Y' if item.creditBlock else 'N' }}")
    status = loaded.run_export(contentType="text/plain", rowHeader="true", template=template,
                               filters=json.dumps({"userId": "u2"}))
    rows = csv_rows(loaded, status)
    assert rows[0] == ["id", "name", "blocked"]
    assert rows[1] == ["A000002", "Account 2", "Y"]
    assert len([r for r in rows if r[0] != "id"]) == 8


def test_template_header_from_item_references(loaded: LD) -> None:
    status = loaded.run_export(contentType="text/plain", rowHeader="true",
                               template="{{ item.accountId }};{{ item.currency }}",
                               sqlQuery="SELECT * FROM Account WHERE accountId = 'A000003'")
    assert loaded.download(status["links"][0]).text == "accountId,currency\nA000003;USD\n"


def test_bad_template_is_rejected(loaded: LD) -> None:
    status = loaded.run_export(contentType="text/plain", template="{{ item.name ")
    assert status["status"] == "Rejected" and "template" in status["reason"]


def test_empty_result_still_has_one_file(loaded: LD) -> None:
    status = loaded.run_export(filters=json.dumps({"channel": "30"}))
    assert status["status"] == "Completed" and status["recordsProcessed"] == "0"
    assert loaded.exported_items(status) == []


def test_a_completed_export_always_has_its_links_and_their_expiry(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # After every commit, look at every completed export as a status poll would then.
    seen: list[tuple[bool, bool]] = []
    commit = Store.write

    @contextmanager
    def write_and_look(store: Store) -> Iterator[sqlite3.Connection]:
        with commit(store) as conn:
            yield conn
        for job in store.conn().execute(
                "SELECT * FROM jobs WHERE kind = 'export' AND status = 'Completed'"):
            status = job_status(job, store, "http://ld")
            seen.append((bool(status.get("links")), "linksExpire" in status))

    monkeypatch.setattr(Store, "write", write_and_look)
    # Jobs on threads, so that they commit through the patched store.
    with running(data_dir=tmp_path, schemas=SCHEMAS, config=make_config(),
                 processes=False) as url:
        ld = LD(url, tmp_path)
        ld.run_import([account(i) for i in range(3)])
        for _ in range(2):
            assert ld.run_export()["status"] == "Completed"
    assert seen and set(seen) == {(True, True)}


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LD]:
    """A server whose exports may write 20,000 bytes a record and 300,000 in all."""
    data_dir = tmp_path_factory.mktemp("capped")
    config = make_config(limits={"records_per_file": 10, "sql_time_limit": 20,
                                 "export_row_bytes": 20_000, "export_max_bytes": 300_000})
    with running(data_dir=data_dir, schemas=SCHEMAS, config=config) as url:
        client = LD(url, data_dir)
        client.run_import([account(i) for i in range(3)])
        yield client


def assert_failed_without_files(ld: LD, status: dict[str, Any], reason: str) -> None:
    assert status["status"] == "Failed", status
    assert reason in status["reason"] and "links" not in status
    assert not (ld.data_dir / "exports" / status["jobId"]).exists()


def test_an_endless_query_stops_at_the_export_size_limit(capped: LD) -> None:
    status = capped.run_export(sqlQuery="WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT "
                               "x + 1 FROM n) SELECT x, printf('%.*c', 5000, 'x') AS pad "
                               "FROM n")
    assert_failed_without_files(capped, status, "larger than the limit of 300000 bytes")


@pytest.mark.parametrize(("columns", "reason"), [
    ("hex(zeroblob(15000)) AS big", "a value is longer than the limit of 20000 bytes"),
    ("printf('%.*c', 15000, 'x') AS a, printf('%.*c', 15000, 'y') AS b",
     "record 1 is 30"),
], ids=["value", "row"])
def test_a_row_over_the_row_size_limit_fails_the_export(capped: LD, columns: str,
                                                         reason: str) -> None:
    status = capped.run_export(sqlQuery=f"SELECT accountId, {columns} FROM Account",
                               contentType="text/csv")
    assert_failed_without_files(capped, status, reason)
    assert "limit of 20000 bytes" in status["reason"]


def test_query_rows_are_fetched_one_at_a_time(tmp_path: Path) -> None:
    # 40 rows of 300 KB: memory holds one of them at a time, never a batch of them.
    store = Store(tmp_path)
    query = GuardedQuery(store.path, "Demo", {"Account": load_schema(SCHEMAS / "Account.json")},
                         time_limit=30, row_limit=1000)
    _, rows = query.rows("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n "
                         "WHERE x < 40) SELECT x, printf('%.*c', 300000, 'x') AS pad FROM n")
    tracemalloc.start()
    try:
        count = sum(1 for _ in rows)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        query.close()
    assert count == 40 and peak < 3 * 300_000


def test_exports_under_the_size_limits_complete(capped: LD) -> None:
    status = capped.run_export(sqlQuery="SELECT accountId, printf('%.*c', 15000, 'x') AS a "
                               "FROM Account")
    assert status["status"] == "Completed" and len(capped.exported_items(status)) == 3


@pytest.mark.parametrize(("template", "status", "reason"), [
    ("{{ item.accountId }},{{ 'x' * 10**9 }}", "Failed",
     "went over a limit on record 1, template line 2: the result of '*' would hold "
     "1,000,000,000 characters"),
    ("{{ item.accountId }}\n{% for i in range(100000) %}{{ 'y' * 1000 }}{% endfor %}",
     "Failed", "one record's output is longer than the limit of 10,000,000 characters"),
    ("{{ item.accountId }},{{ item.name | attr('format') }}", "Rejected",
     "failed on record 1, template line 2: the expression gives a function or method"),
], ids=["value", "output", "function"])
def test_export_templates_share_the_writers_limits(loaded: LD, template: str, status: str,
                                                   reason: str) -> None:
    done = loaded.run_export(contentType="text/csv", rowHeader="true",
                             template="## header: id,x\n" + template)
    assert done["status"] == status and reason in done["reason"], done
    assert not (loaded.data_dir / "exports" / done["jobId"]).exists()


def test_export_notification_lists_the_links(loaded: LD) -> None:
    status = loaded.run_export(notificationEmail="bi@example.com")
    raw = outbox(loaded, status["jobId"])
    text = email.message_from_bytes(raw).get_payload()[0].get_payload(decode=True).decode()
    for link in status["links"]:
        assert link in text


def test_links_expire(tmp_path: Path) -> None:
    clock = Clock()
    config = make_config(limits={"link_ttl": 600}, processing={"processes": False})
    with running(data_dir=tmp_path, schemas=SCHEMAS, config=config, clock=clock) as url:
        ld = LD(url, tmp_path)
        ld.run_import([account(1)])
        status = ld.run_export()
        clock.advance(590)
        assert ld.download(status["links"][0]).status_code == 200
        clock.advance(20)
        r = ld.download(status["links"][0])
        assert r.status_code == 410 and r.json()["error"] == "expired"
        assert ld.download(status["links"][0] + "x").status_code == 404


def test_a_lone_carriage_return_in_a_csv_cell_is_quoted() -> None:
    """Python's csv module quotes CR only when it ends lines; unquoted, no reader could
    tell the cell's CR from a line break."""
    import csv
    import io

    from ldtransform.server.export import _csv_quote, _Formatter

    line = _Formatter._line(["a\rb", "c\nd", "plain"])
    assert line == '"a\rb","c\nd",plain\n'
    assert next(csv.reader(io.StringIO(line, newline=""))) == ["a\rb", "c\nd", "plain"]
    assert _csv_quote("x\ry") == '"x\ry"'
