"""Batch import: JSON and CSV through to Completed, rejections, merge, actions, limits."""

from __future__ import annotations

import email
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ldkit import ACCOUNTS, LD, SCHEMAS, account, make_config, outbox

from ldtransform.server import running

CSV = (
    "Account ID,Name,Class,Currency,Exposure,Blocked,City,Zip,Days\n"
    "C000001,Alpha Ltd,/Account/accountClass[invoiced],USD,12.5,yes,Boston,02134,Mon;Fri\n"
    "C000002,\"Beta, Inc.\",/Account/accountClass[cash],EUR,0,no,Denver,80202,\n"
    "C000003,Gamma,/Account/accountClass[cash],CAD,7,false,Austin,78701,Tue\n"
)
TEMPLATE = {
    "columns": [
        {"column": "Account ID", "field": "accountId"},
        {"column": "Name", "field": "name"},
        {"column": "Class", "field": "accountClass"},
        {"column": "Currency", "field": "currency"},
        {"column": "Exposure", "field": "exposure"},
        {"column": "Blocked", "field": "creditBlock"},
        {"column": "City", "field": "addresses[0].city"},
        {"column": "Zip", "field": "addresses[0].postalCode"},
        {"column": "Days", "field": "deliveryDays", "split": ";"},
    ],
    "constants": {"addresses[0].addressType": "Work", "paymentTerms": "NET30"},
}


def test_json_import_completes(ld: LD) -> None:
    submitted = ld.import_(ACCOUNTS, notificationEmail="ops@example.com")
    assert submitted["status"] == "Accepted"
    assert submitted["reason"]
    assert set(submitted) >= {"submitTime", "jobId", "jobName", "contentType", "itemType",
                              "recordsProcessed", "runTime", "status", "reason",
                              "notificationEmail"}
    done = ld.wait(submitted["jobId"])
    assert done["status"] == "Completed", done
    assert done["recordsProcessed"] == "25"
    assert done["recordsRejected"] == "0"
    assert "rejectionFile" not in done
    assert "Imported 25 of 25" in done["reason"]
    items = ld.all_items()
    source = json.loads(ACCOUNTS.read_text())
    assert {i["data"]["accountId"] for i in source} <= set(items)
    assert items["ABC123"]["data"] == source[0]["data"]


def test_one_element_per_line_in_order_across_chunks(ld: LD) -> None:
    # Laid out one per line, the file's chunks (10 records) are shared out over helper
    # processes; the result must be as if read in order: later records win, rejections
    # keep their record numbers.
    envelopes = []
    for n in range(237):
        key = 900_000 + (n - 1 if n % 7 == 0 and n else n)
        envelopes.append(account(key, name=f"Version {n}"))
        if n % 50 == 49:
            envelopes[-1]["data"]["currency"] = "XXX"
    content = "[\n" + ",\n".join(json.dumps(e) for e in envelopes) + "\n]\n"
    done = ld.run_import(content)
    assert done["status"] == "Completed", done
    assert (done["recordsProcessed"], done["recordsRejected"]) == ("237", "4")
    rejects = ld.download(done["rejectionFile"]).text.splitlines()
    assert [json.loads(line)["record"] for line in rejects] == [50, 100, 150, 200]
    items = ld.all_items()
    expected: dict[str, str] = {}
    for n, envelope in enumerate(envelopes):
        if (n + 1) % 50:
            expected[envelope["data"]["accountId"]] = envelope["data"]["name"]
    assert {k: items[k]["data"]["name"] for k in expected} == expected


def test_completion_notification_in_outbox(ld: LD) -> None:
    done = ld.run_import([account(900)], notificationEmail="ops@example.com")
    message = email.message_from_bytes(outbox(ld, done["jobId"]))
    assert message["To"] == "ops@example.com"
    assert "Completed" in message["Subject"]
    body = message.get_payload()[0].get_payload(decode=True).decode()
    assert done["jobId"] in body and "Imported 1 of 1" in body


@pytest.mark.parametrize("as_file", [True, False])
def test_csv_import_with_template(ld: LD, as_file: bool) -> None:
    template = json.dumps(TEMPLATE)
    extra = {"template_file": template} if as_file else {"template": template}
    done = ld.run_import(CSV, content_type="plain/text", filename="accounts.csv",
                         headerRow="true", **extra)
    assert done["status"] == "Completed", done
    assert done["recordsProcessed"] == "3"
    items = ld.all_items()
    alpha = items["C000001"]["data"]
    assert alpha["exposure"] == 12.5 and alpha["creditBlock"] is True
    assert alpha["addresses"] == [{"city": "Boston", "postalCode": "02134",
                                   "addressType": "Work"}]
    assert alpha["deliveryDays"] == ["Mon", "Fri"]
    assert alpha["paymentTerms"] == "NET30"
    assert items["C000002"]["data"]["name"] == "Beta, Inc."
    assert items["C000002"]["data"]["deliveryDays"] == []


def test_csv_by_column_number_without_header(ld: LD) -> None:
    template = {"columns": [{"column": 1, "field": "accountId"}, {"column": 2, "field": "name"}],
                "constants": {"accountClass": "/Account/accountClass[cash]",
                              "currency": "USD"}, "delimiter": ";"}
    done = ld.run_import("N000001;First\nN000002;Second\n", content_type="text/csv",
                         template=json.dumps(template), headerRow="false")
    assert done["status"] == "Completed" and done["recordsProcessed"] == "2"
    assert ld.all_items()["N000002"]["data"]["name"] == "Second"


BAD_TEMPLATE = json.dumps({"columns": [{"column": "Nope", "field": "accountId"}]})


@pytest.mark.parametrize(("content", "fields", "why"), [
    (b"[]", {"itemType": "Movie"}, "Unknown itemType"),
    (b"[]", {"jobName": ""}, "jobName is required"),
    (b"[]", {"contentType": "application/xml"}, "contentType"),
    (b"a,b\n1,2\n", {"contentType": "text/plain"}, "needs a template"),
    (b"a,b\n1,2\n", {"contentType": "text/csv", "template": "{not json"}, "not valid JSON"),
    (b"a,b\n1,2\n", {"contentType": "text/csv", "template": BAD_TEMPLATE}, "no column 'Nope'"),
    (b'{"headers": {}}', {}, "JSON array"),
    (b"", {}, "empty"),
    (b"[]", {"merge": "perhaps"}, "merge must be True or False"),
    (b"[]", {"notificationEmail": "not-an-address"}, "notificationEmail"),
    (b'[{"headers": {}, "data": {}}, {"oops"', {}, "cannot be read"),
])
def test_bad_jobs_are_rejected(ld: LD, content: bytes, fields: dict[str, str],
                               why: str) -> None:
    params: dict[str, Any] = {"content_type": fields.pop("contentType", "application/json")}
    if "itemType" in fields:
        params["item_type"] = fields.pop("itemType")
    status = ld.run_import(content, **params, **fields)
    assert status["status"] == "Rejected", status
    assert why in status["reason"]


def test_rejected_job_is_notified(ld: LD) -> None:
    status = ld.import_(b"[]", item_type="Movie", notificationEmail="ops@example.com")
    assert status["status"] == "Rejected"
    message = email.message_from_bytes(outbox(ld, status["jobId"]))
    assert "Rejected" in message["Subject"]


def test_missing_file_part_is_rejected(ld: LD) -> None:
    r = ld.post("/ls/api/batch/import", files={"other": ("x", b"1")},
                data={"jobName": "x", "itemType": "Account", "contentType": "application/json"})
    assert r.status_code == 200
    assert r.json()["status"] == "Rejected" and "no 'file' part" in r.json()["reason"]


def test_not_multipart_is_a_bad_request(ld: LD) -> None:
    r = ld.post("/ls/api/batch/import", data={"jobName": "x"})
    assert r.status_code == 400


def test_invalid_records_are_reported_and_the_rest_imported(ld: LD) -> None:
    records = [account(1), account(2, currency="GBP"), account(3),
               account(4, accountId=""), account(5, addresses=[{"city": "X",
                                                               "postalCode": "1"}]),
               {"headers": {"type": "Attendee"}, "data": {"attendeeId": "x"}}, "junk"]
    done = ld.run_import(json.dumps(records))
    assert done["status"] == "Completed"
    assert done["recordsProcessed"] == "7" and done["recordsRejected"] == "5"
    r = ld.download(done["rejectionFile"])
    assert r.status_code == 200
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [line["record"] for line in lines] == [2, 4, 5, 6, 7]
    by_record = {line["record"]: line for line in lines}
    assert by_record[2]["errors"] == [{"field": "currency", "code": "not-in-enum",
                                       "message": by_record[2]["errors"][0]["message"]}]
    assert by_record[2]["headers"]["receiptType"] == "ValidationError"
    assert by_record[2]["data"]["currency"] == "GBP"
    assert by_record[4]["errors"][0]["code"] == "missing-value"
    codes = {(e["field"], e["code"]) for e in by_record[5]["errors"]}
    assert codes == {("addresses[0].postalCode", "pattern-mismatch"),
                     ("addresses[0].addressType", "missing-value")}
    assert by_record[6]["errors"][0]["code"] == "wrong-item-type"
    assert by_record[7]["data"] is None
    items = ld.all_items()
    assert {"A000001", "A000003"} <= set(items) and "A000002" not in items


def test_merge_versus_override(ld: LD) -> None:
    full = account(50, paymentTerms="NET15", chain="Big Chain")
    assert ld.run_import([full])["status"] == "Completed"
    partial = {"headers": {"action": "Create"},
               "data": {"accountId": "A000050", "name": "Renamed",
                        "accountClass": "/Account/accountClass[cash]", "currency": "EUR"}}
    assert ld.run_import([partial], merge="True")["status"] == "Completed"
    merged = ld.all_items()["A000050"]["data"]
    assert merged["name"] == "Renamed" and merged["chain"] == "Big Chain"
    assert merged["paymentTerms"] == "NET15"
    assert ld.run_import([partial], merge="False")["status"] == "Completed"
    replaced = ld.all_items()["A000050"]["data"]
    assert replaced == partial["data"]


def test_actions(ld: LD) -> None:
    ld.run_import([account(60), account(61), account(62)])

    def env(action: str, **data: Any) -> dict[str, Any]:
        return {"headers": {"type": "Account", "action": action}, "data": data}
    records = [
        env("Merge", accountId="A000060", chain="Merged"),
        env("Update", **account(61, name="Updated")["data"]),
        env("Delete", accountId="A000062"),
        env("Update", **account(63)["data"]),
        env("Delete", accountId="A000064"),
        env("Merge", **account(65, name="Created by merge")["data"]),
        env("Merge", accountId="A000066"),
        env("Upsert", accountId="A000067"),
    ]
    done = ld.run_import(records)
    assert done["status"] == "Completed" and done["recordsRejected"] == "4"
    items = ld.all_items()
    assert items["A000060"]["data"]["chain"] == "Merged"
    assert items["A000060"]["data"]["name"] == "Account 60"
    assert items["A000061"]["data"]["name"] == "Updated"
    assert "A000062" not in items and "A000063" not in items
    assert items["A000065"]["data"]["name"] == "Created by merge"
    lines = [json.loads(x) for x in ld.download(done["rejectionFile"]).text.splitlines()]
    assert [(x["record"], x["headers"]["receiptType"]) for x in lines] == [
        (4, "NotFound"), (5, "NotFound"), (7, "ValidationError"), (8, "InvalidAction")]


def test_jobs_on_threads_import_the_same(tmp_path: Path) -> None:
    # processes=False: the job thread reads, checks and writes its chunks itself
    config = make_config(processing={"processes": False, "chunk_size": 7})
    envelopes = [account(800 + n % 40, name=f"Version {n}") for n in range(60)]
    envelopes[33]["data"]["currency"] = "XXX"
    lines = "[\n" + ",\n".join(json.dumps(e) for e in envelopes) + "\n]\n"
    with running(data_dir=tmp_path, schemas=SCHEMAS, config=config) as url:
        ld = LD(url, tmp_path)
        for content in (lines, json.dumps(envelopes)):
            done = ld.run_import(content)
            assert (done["status"], done["recordsProcessed"], done["recordsRejected"]) == (
                "Completed", "60", "1"), done
            names = {k: v["data"]["name"] for k, v in ld.all_items().items()}
            assert (names["A000819"], names["A000820"]) == ("Version 59", "Version 20")
            assert "A000833" not in names  # its only record was rejected
        csv_done = ld.run_import(CSV, content_type="text/csv", filename="a.csv",
                                 template=json.dumps(TEMPLATE))
        assert csv_done["status"] == "Completed" and csv_done["recordsProcessed"] == "3"


def test_upload_size_cap(tmp_path: Path) -> None:
    config = make_config(limits={"max_upload_bytes": 20_000})
    with running(data_dir=tmp_path, schemas=SCHEMAS, config=config) as url:
        ld = LD(url, tmp_path)
        big = json.dumps([account(i) for i in range(400)]).encode()
        fields = {"jobName": "big", "itemType": "Account", "contentType": "application/json"}
        r = ld.post("/ls/api/batch/import", files={"file": ("d.json", big)}, data=fields)
        assert r.status_code == 413 and r.json()["error"] == "too_large"

        def chunks() -> Any:  # no Content-Length: the cap holds while streaming
            boundary = b"XyZ"
            yield b"--XyZ\r\nContent-Disposition: form-data; name=\"jobName\"\r\n\r\nbig\r\n"
            yield (b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"file\"; "
                   b"filename=\"d.json\"\r\n\r\n")
            for start in range(0, len(big), 4096):
                yield big[start:start + 4096]
            yield b"\r\n--XyZ--\r\n"
        r = ld.http.post("/ls/api/batch/import", content=chunks(), headers={
            **ld.auth, "Content-Type": "multipart/form-data; boundary=XyZ"})
        assert r.status_code == 413
        assert not list((tmp_path / "uploads").glob("*/data"))
        small = ld.run_import([account(1)])
        assert small["status"] == "Completed"


def test_too_many_fields(ld: LD) -> None:
    fields = {f"f{i}": "x" for i in range(100)}
    r = ld.post("/ls/api/batch/import", files={"file": ("d.json", b"[]")}, data=fields)
    assert r.status_code == 413


def test_uploaded_file_name_is_not_used(ld: LD) -> None:
    done = ld.run_import([account(70)], filename="../../../../etc/evil.json")
    assert done["status"] == "Completed"
    assert not (ld.data_dir.parent / "etc").exists()
    assert not list(ld.data_dir.rglob("evil.json"))


def test_unknown_job_and_missing_job_id(ld: LD) -> None:
    r = ld.post("/ls/api/batch/status", data={"jobId": "no-such-job"})
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = ld.post("/ls/api/batch/status", data={})
    assert r.status_code == 400


def test_form_fields_under_a_misleading_content_type(ld: LD) -> None:
    done = ld.run_import([account(71)])
    r = ld.http.post("/ls/api/batch/status", content=f"jobId={done['jobId']}",
                     headers={**ld.auth, "Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["status"] == "Completed"


def test_status_from_health_needs_no_token(server: tuple[str, Path]) -> None:
    assert httpx.get(server[0] + "/health").json() == {"status": "ok"}


def template_with(**changes: Any) -> str:
    """TEMPLATE (for CSV above) with some entries changed: column=None drops one."""
    columns = [dict(c) for c in TEMPLATE["columns"]]
    extra = changes.pop("column", None)
    if extra is not None:
        columns.append(extra)
    return json.dumps({**TEMPLATE, "columns": columns, **changes})


@pytest.mark.parametrize(("template", "why"), [
    (template_with(column={"column": 0, "field": "chain"}), "column numbers start at 1"),
    (template_with(column={"column": -1, "field": "chain"}), "column numbers start at 1"),
    (template_with(column={"column": 12, "field": "chain"}), "has 9 columns"),
    (template_with(encoding="rot13"), "'rot13' is not a text encoding"),
    (template_with(encoding="no-such-codec"), "is not a text encoding"),
    (template_with(encoding=5), "5 is not a text encoding"),
    (template_with(encoding="utf-16"), "the file is not utf-16 text"),
    (template_with(column={"column": "City", "field": "addresses[1000000].city"}),
     "list index 1000000 is over the limit of 99"),
    (template_with(column={"column": "City", "field": "addresses[99999999999999].city"}),
     "over the limit of 99"),
    (template_with(column={"column": "Days", "field": "phones[0].phoneType", "split": 5}),
     "split is the text between list values"),
    (template_with(column={"column": "Days", "field": "chain", "split": ";"}),
     "'chain' is not a list"),
    (template_with(column={"column": "Name", "field": "addresses"}), "a list of records"),
    (template_with(column={"column": "Name", "field": "addresses.name"}),
     "addresses is a list; name an element"),
    (template_with(column={"column": "Name", "field": "chain[0]"}), "chain is not a list"),
    (template_with(column={"column": "Name", "field": "addresses[0]"}), "is a record"),
    (template_with(column={"column": "Name", "field": "accountId"}), "mapped twice"),
    (template_with(constants={"addresses": []}), "and also inside it"),
    (template_with(delimiter="\n"), "'delimiter' is a single character"),
])
def test_bad_templates_are_rejected_at_submit(ld: LD, template: str, why: str) -> None:
    submitted = ld.import_(CSV, content_type="text/csv", filename="a.csv", template=template)
    assert submitted["status"] == "Rejected", submitted
    assert why in submitted["reason"], submitted["reason"]
    assert submitted["reason"].startswith("The template does not fit: ")


def test_list_elements_by_index(ld: LD) -> None:
    template = {"columns": [{"column": "Account ID", "field": "accountId"},
                            {"column": "Name", "field": "name"},
                            {"column": "Days", "field": "deliveryDays[1]"},
                            {"column": "City", "field": "addresses[1].city"}],
                "constants": {"accountClass": "/Account/accountClass[cash]",
                              "currency": "USD", "addresses[0]": {
                                  "city": "Head office", "addressType": "Work"},
                              "addresses[1].addressType": "Delivery",
                              "deliveryDays[0]": "Sun"}}
    done = ld.run_import(CSV, content_type="text/csv", filename="a.csv",
                         template=json.dumps(template))
    assert (done["status"], done["recordsRejected"]) == ("Completed", "0"), done
    gamma = ld.all_items()["C000003"]["data"]
    assert gamma["deliveryDays"] == ["Sun", "Tue"]
    assert gamma["addresses"] == [{"city": "Head office", "addressType": "Work"},
                                  {"city": "Austin", "addressType": "Delivery"}]


def test_a_row_the_csv_module_refuses_rejects_the_job_with_its_line(ld: LD) -> None:
    big = "x" * 200_000  # over the csv module's field limit: not an internal error
    content = CSV + f"C000004,{big},/Account/accountClass[cash],USD,1,no,Rome,00100,\n"
    done = ld.run_import(content, content_type="text/csv", filename="a.csv",
                         template=json.dumps(TEMPLATE))
    assert done["status"] == "Rejected", done  # nothing was applied: the rows are one chunk
    assert "line 5" in done["reason"] and "field larger than field limit" in done["reason"]
    assert "Internal error" not in done["reason"]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**7) | st.floats(allow_nan=False)
    | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=3),
    max_leaves=5)


def mostly(values: list[Any]) -> st.SearchStrategy[Any]:
    """One of ``values`` nine times in ten, else any JSON value."""
    return st.integers(0, 9).flatmap(lambda n: _JSON if n == 0 else st.sampled_from(values))


_FIELDS = mostly([
    "chain", "exposure", "creditBlock", "deliveryDays", "deliveryDays[2]", "addresses[0].city",
    "addresses[1].addressType", "phones[0].phoneNumber", "accountLicenseInformation[0].region",
    "accountLicenseInformation[0].licenseValidFrom", "addresses[0].primary", "paymentTerms",
    # wrong ones
    "addresses[1000000].city", "addresses", "addresses.city", "addresses[0]", "addresses[]",
    "name[0]", "accountId.x", "nope", ""])
_ENTRY = st.fixed_dictionaries(
    {"column": mostly(["City", "Days", "Exposure", "Blocked", "Zip", 3, 9, 1,
                       "Nope", "", 0, -1, 10]),
     "field": _FIELDS},
    optional={"split": mostly([";", ",", "", 5])})
_TEMPLATES = st.fixed_dictionaries(
    # a valid start, then a few columns that may be anything
    {"columns": st.lists(_ENTRY, max_size=3).map(lambda more: TEMPLATE["columns"][:4] + more)},
    optional={
        "constants": st.dictionaries(_FIELDS.filter(lambda f: isinstance(f, str)), _JSON,
                                     max_size=2),
        "action": mostly(["Create", "Merge", "Delete", "Upsert"]),
        "delimiter": mostly([",", ";", "\n", "\r", '"', ",,"]),
        "encoding": mostly(["utf-8", "cp1252", "utf-16", "rot13", "base64", "nope",
                            "utf\x008", 5]),
    })


def test_any_template_is_accepted_or_rejected_never_a_server_error(ld: LD) -> None:
    @given(template=mostly([None]).flatmap(lambda t: _TEMPLATES if t is None else _JSON))
    @settings(max_examples=60, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def submit(template: Any) -> None:
        submitted = ld.import_(CSV, content_type="text/csv", filename="a.csv",
                               template=json.dumps(template))
        assert submitted["status"] in ("Accepted", "Rejected"), submitted
        done = ld.wait(submitted["jobId"], timeout=20)  # never left Initialized
        assert done["status"] in ("Completed", "Rejected"), (template, done)
        assert "Internal error" not in done["reason"]

    submit()
