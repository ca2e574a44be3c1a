"""Items API: upsert with rejected items, updates paging across ties, isolation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from ldkit import LD, account


def page(ld: LD, after: Any = 0, last: Any = "", size: int = 7,
         item_type: str = "Attendee") -> dict[str, Any]:
    r = ld.post("/ls/api/items/updates", data={"itemType": item_type, "processedAfter": after,
                                               "lastId": last, "max": size})
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def attendee(n: int, **changes: Any) -> dict[str, Any]:
    data = {"attendeeId": f"AT{n:03d}", "firstName": "Ann", "lastName": f"Lee {n}",
            "event": "/Attendee/event[summit]", "guests": n % 3}
    data.update(changes)
    return {"headers": {"category": "entity", "type": "Attendee", "action": "Create"},
            "data": data}


def test_upsert_counts_and_rejects(ld: LD) -> None:
    items = [account(300), account(301, currency="XXX"),
             {"headers": {"type": "Movie", "action": "Create"}, "data": {"id": 1}},
             {"headers": {"type": "Account"}, "data": {"accountId": "A000302"}},
             {"nothing": True}]
    result = ld.upsert(items)
    assert result["count"] == 5
    rejected = result["rejectedItems"]
    assert len(rejected) == 4
    kinds = [(r["headers"].get("type"), r["headers"]["receiptType"]) for r in rejected]
    assert kinds == [("Account", "ValidationError"), ("Movie", "UnknownItemType"),
                     ("Account", "ValidationError"), (None, "ReadError")]
    assert "currency" in rejected[0]["headers"]["receiptMessage"]
    assert rejected[0]["data"]["currency"] == "XXX"
    assert ld.upsert([account(303)]) == {"count": 1}


def test_upsert_malformed_bodies(ld: LD) -> None:
    for body in (b"{not json", b'{"headers": {}}', b"42"):
        r = ld.post("/ls/api/items/upsert", content=body,
                    headers={**ld.auth, "Content-Type": "application/json"})
        assert r.status_code == 400, body
        assert r.json()["error"] == "invalid_request"


def test_updates_paging_across_ties(own_ld: LD) -> None:
    ld = own_ld  # every Attendee of the server is one of these
    assert "rejectedItems" not in ld.upsert([attendee(i) for i in range(25)])
    pages = []
    after, last = 0, ""
    while True:
        result = page(ld, after, last)
        pages.append(result)
        after, last = result["maxProcessedAt"], result["lastId"]
        if len(result["items"]) < 7:
            break
    seen = [i["data"]["attendeeId"] for p in pages for i in p["items"]]
    assert seen == [f"AT{i:03d}" for i in range(25)]
    # All 25 share one processed-at time: the row id breaks the tie.
    assert len({p["maxProcessedAt"] for p in pages if p["items"]}) == 1
    assert page(ld, after, last)["items"] == []
    ld.upsert([attendee(3, guests=9), attendee(17, firstName="Bo")])
    later = page(ld, after, last)
    assert [i["data"]["attendeeId"] for i in later["items"]] == ["AT003", "AT017"]
    assert later["items"][0]["headers"]["revisionId"] == "2"
    assert later["maxProcessedAt"] > after


def test_deletes_appear_in_updates(ld: LD) -> None:
    ld.upsert([attendee(40)])
    start = page(ld, 0, "", 1000)
    ld.upsert([{"headers": {"type": "Attendee", "action": "Delete"},
                "data": {"attendeeId": "AT040"}}])
    result = page(ld, start["maxProcessedAt"], start["lastId"], 1000)
    assert [(i["data"]["attendeeId"], i["headers"].get("action")) for i in result["items"]] \
        == [("AT040", "Delete")]


def test_updates_bad_parameters(ld: LD) -> None:
    for fields in ({"itemType": "Movie"}, {"itemType": "Account", "max": "0"},
                   {"itemType": "Account", "processedAfter": "yesterday"}, {}):
        assert ld.post("/ls/api/items/updates", data=fields).status_code == 400


def test_updates_form_sent_with_a_json_content_type(ld: LD) -> None:
    # The wiki's example labels its form body application/json.
    r = ld.http.post("/ls/api/items/updates", content="itemType=Account&max=10",
                     headers={**ld.auth, "content-type": "application/json"})
    assert r.status_code == 200 and "items" in r.json()


def test_communities_are_isolated(ld: LD, acme: LD) -> None:
    ld.upsert([attendee(500, firstName="Demo only")])
    assert all(i["data"]["firstName"] != "Demo only" for i in page(acme, size=1000)["items"])
    done = ld.run_import([account(501)])
    assert done["status"] == "Completed"
    for path in ("/ls/api/batch/status", "/ls/api/batch/cancel"):
        r = acme.post(path, data={"jobId": done["jobId"]})
        assert r.status_code == 404
    export = ld.run_export(filters=json.dumps({"accountId": "A000501"}))
    assert ld.download(export["links"][0]).status_code == 200
    r = acme.download(export["links"][0])
    assert r.status_code == 404
    assert "A000501" not in r.text


def test_openapi_and_docs(server: tuple[str, Path], ld: LD) -> None:
    spec = ld.http.get("/openapi.json").json()
    paths = set(spec["paths"])
    assert paths >= {"/ls/api/oauth2/token", "/ls/api/oauth2/validate",
                     "/ls/api/batch/import", "/ls/api/batch/export", "/ls/api/batch/status",
                     "/ls/api/batch/cancel", "/ls/api/items/upsert", "/ls/api/items/updates",
                     "/ls/api/batch/download/{link_id}/{name}"}
    body = spec["paths"]["/ls/api/batch/import"]["post"]["requestBody"]
    props = body["content"]["multipart/form-data"]["schema"]["properties"]
    assert {"jobName", "itemType", "file", "contentType", "template", "merge", "headerRow",
            "notificationEmail"} <= set(props)
    export = spec["paths"]["/ls/api/batch/export"]["post"]["requestBody"]["content"]
    assert "sqlQuery" in export["application/x-www-form-urlencoded"]["schema"]["properties"]
    assert ld.http.get("/docs").status_code == 200


def test_docs_page_is_served_without_a_cdn(ld: LD) -> None:
    # A machine without internet must still render /docs: every script, style and icon
    # the page loads comes from this server.
    page = ld.http.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert {a.rsplit(".", 1)[-1] for a in assets} >= {"js", "css", "png"}
    for url in assets:
        assert url.startswith("/"), url
        r = ld.http.get(url)
        assert r.status_code == 200 and len(r.content) > 500, url
    assert "url: '/openapi.json'" in page.text
    assert "cdn" not in page.text.lower()


@pytest.mark.parametrize(("method", "path", "status", "error"), [
    ("GET", "/no/such/route", 404, "not_found"),
    ("POST", "/ls/api/batch/nothing", 404, "not_found"),
    ("GET", "/ls/api/batch/import", 405, "method_not_allowed"),
])
def test_unknown_routes_answer_in_the_error_shape(ld: LD, method: str, path: str, status: int,
                                                  error: str) -> None:
    r = ld.http.request(method, path, headers=ld.auth)
    assert r.status_code == status
    assert r.json() == {"error": error, "error_description": r.json()["error_description"]}
    assert r.json()["error_description"]
