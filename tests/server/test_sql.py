"""Hostile sqlQuery exports are refused, within the time limit, leaving the database as it was."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ldkit import LD, account

HOSTILE = [
    "DELETE FROM Account",
    "UPDATE Account SET name = 'x'",
    "INSERT INTO items (community) VALUES ('Demo')",
    "DROP TABLE items",
    "CREATE TABLE t (x)",
    "ATTACH DATABASE '/tmp/evil.db' AS evil",
    "PRAGMA writable_schema = 1",
    "PRAGMA table_info(items)",
    "SELECT load_extension('/tmp/evil.so')",
    "SELECT * FROM items",
    "SELECT * FROM jobs",
    "SELECT token_hash FROM tokens",
    "SELECT name FROM sqlite_master",
    "SELECT * FROM Acme_entity_Account",
    "SELECT * FROM Account; DELETE FROM items",
    "SELECT a.name FROM Account a JOIN main.items i ON i.h_id = a.h_id",
    "WITH t AS (SELECT * FROM items WHERE community = 'Acme') SELECT * FROM t",
    "VACUUM INTO '/tmp/copy.db'",
    "SELECT value FROM json_each((SELECT json_group_array(token_hash) FROM tokens))",
    "SELECT value FROM json_tree((SELECT json_group_array(data) FROM main.items))",
    "SELECT * FROM pragma_table_info('items')",
    "SELEC nonsense",
]


def snapshot(data_dir: Path) -> list[Any]:
    conn = sqlite3.connect(f"{(data_dir / 'ld.sqlite3').as_uri()}?mode=ro", uri=True)
    try:
        return [conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name")
                .fetchall(),
                conn.execute("SELECT * FROM items ORDER BY h_id").fetchall()]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def two_communities(server: tuple[str, Path]) -> Iterator[tuple[LD, LD]]:
    demo = LD(*server)
    acme = LD(*server, user="alice", password="alice-pw-7Qx", community="Acme")
    demo.run_import([account(i, deliveryDays=["Mon", "Fri"][:i],
                             addresses=[{"city": f"City {i}", "addressType": "Work"}])
                     for i in range(3)])
    acme.run_import([account(i, name=f"Acme secret {i}") for i in range(100, 103)])
    yield demo, acme


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_are_rejected(two_communities: tuple[LD, LD], query: str) -> None:
    demo, _ = two_communities
    before = snapshot(demo.data_dir)
    status = demo.run_export(sqlQuery=query, contentType="text/plain")
    assert status["status"] == "Rejected", status
    assert status["reason"].startswith("sqlQuery:")
    assert snapshot(demo.data_dir) == before
    assert not Path("/tmp/evil.db").exists()


def test_json_table_functions_take_lists_apart(two_communities: tuple[LD, LD]) -> None:
    # The documented way to query list columns (JSON text): json_each and json_tree.
    demo, _ = two_communities
    query = ("SELECT a.accountId, d.value AS day FROM Account a, json_each(a.deliveryDays) d "
             "ORDER BY a.accountId, d.key")
    status = demo.run_export(sqlQuery=query)
    assert status["status"] == "Completed", status
    assert [(r["data"]["accountId"], r["data"]["day"]) for r in demo.exported_items(status)] \
        == [("A000001", "Mon"), ("A000002", "Mon"), ("A000002", "Fri")]
    query = ("SELECT a.accountId, t.value AS city FROM Demo_entity_Account a, "
             "json_tree(a.addresses) t WHERE t.key = 'city' ORDER BY 1")
    status = demo.run_export(sqlQuery=query)
    assert status["status"] == "Completed", status
    assert [r["data"]["city"] for r in demo.exported_items(status)] == [
        "City 0", "City 1", "City 2"]


def test_database_message_is_in_the_reason(two_communities: tuple[LD, LD]) -> None:
    status = two_communities[0].run_export(sqlQuery="SELECT nope FROM Account")
    assert status["status"] == "Rejected"
    assert "no such column: nope" in status["reason"]


def test_runaway_recursive_query_is_stopped(two_communities: tuple[LD, LD]) -> None:
    demo, _ = two_communities
    before = snapshot(demo.data_dir)
    started = time.monotonic()
    status = demo.run_export(sqlQuery="WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL "
                             "SELECT n + 1 FROM r) SELECT count(*) FROM r",
                             contentType="text/plain")
    assert status["status"] == "Rejected"
    assert "time limit of 2 s" in status["reason"]
    assert time.monotonic() - started < 30  # generous: the limit is 2 s
    assert snapshot(demo.data_dir) == before


def test_each_community_sees_only_its_own_rows(two_communities: tuple[LD, LD]) -> None:
    demo, acme = two_communities
    query = "SELECT accountId, name FROM Account ORDER BY accountId"
    demo_rows = demo.exported_items(demo.run_export(sqlQuery=query))
    acme_rows = acme.exported_items(acme.run_export(sqlQuery=query))
    assert not any("Acme secret" in r["data"]["name"] for r in demo_rows)
    assert [r["data"]["accountId"] for r in acme_rows] == ["A000100", "A000101", "A000102"]
    status = acme.run_export(sqlQuery="SELECT * FROM Demo_entity_Account")
    assert status["status"] == "Rejected" and "no such table" in status["reason"]


def test_row_cap(tmp_path: Path) -> None:
    from ldkit import SCHEMAS, make_config

    from ldtransform.server import running

    config = make_config(limits={"sql_row_limit": 5})
    with running(data_dir=tmp_path, schemas=SCHEMAS, config=config) as url:
        ld = LD(url, tmp_path)
        ld.run_import([account(i) for i in range(8)])
        status = ld.run_export(sqlQuery="SELECT accountId FROM Account")
        assert status["status"] == "Rejected" and "limit of 5 rows" in status["reason"]
        ok = ld.run_export(sqlQuery="SELECT accountId FROM Account LIMIT 5")
        assert ok["status"] == "Completed" and ok["recordsProcessed"] == "5"
