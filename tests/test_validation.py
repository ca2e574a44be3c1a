"""Validation through real files and readers: every issue code, rows, nesting, keys."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import ldtransform
from ldtransform import ItemSchema, Validation, registry
from ldtransform.quarantine import QuarantineFile
from ldtransform.testing import ValidatorContract

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
ACCOUNT = SAMPLES / "schemas" / "Account.json"

PEOPLE = {
    "itemType": "Person",
    "timezone": "America/New_York",
    "primaryKey": ["id"],
    "fields": [
        {"name": "id", "constraints": {"required": True, "pattern": "[A-Z][0-9]+"}},
        {"name": "name", "constraints": {"required": True, "minLength": 2, "maxLength": 10}},
        {"name": "age", "type": "integer", "constraints": {"minimum": 0, "maximum": 130}},
        {"name": "score", "type": "number"},
        {"name": "active", "type": "boolean"},
        {"name": "born", "type": "date", "constraints": {"minimum": "1900-01-01"}},
        {"name": "seen", "type": "datetime"},
        {"name": "kind", "constraints": {"enum": ["a", "b"]}},
        {"name": "level", "type": "enumeration"},
        {"name": "email", "constraints": {"unique": True}},
    ],
}
HEADER = ["id", "name", "age", "score", "active", "born", "seen", "kind", "level", "email"]
GOOD = ["A1", "Ann", "30", "1.5", "yes", "1990-05-01", "2014-02-01T05:00:00+0000", "a",
        "/Person/level[gold]", "ann@example.com"]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def row(**changes: str) -> list[str]:
    values = dict(zip(HEADER, GOOD, strict=True))
    values.update(changes)
    return [values[name] for name in HEADER]


def run(path: Path, schema: Any = PEOPLE, **options: Any) -> tuple[pa.Table, list[pa.RecordBatch],
                                                                   ldtransform.Report]:
    item = schema if isinstance(schema, ItemSchema) else ItemSchema.from_dict(schema)
    validation = Validation(item, **options)
    rejected: list[pa.RecordBatch] = []
    frames = ldtransform.readers.read_for_validation(path, batch_size=2)
    valid = validation.run(frames, on_rejected=rejected.append).to_table()
    return valid, rejected, validation.finish()


def found(report: ldtransform.Report) -> set[tuple[int | None, str | None, str]]:
    return {(i.row, i.field, i.code) for i in report.issues}


def test_a_clean_file_is_valid_and_typed(tmp_path: Path) -> None:
    valid, rejected, report = run(write_csv(tmp_path / "p.csv", [row(), row(id="B2",
                                                                           email="b@x.io")]))
    assert report.ok and not rejected and report.issue_count == 0
    assert (report.rows_read, report.rows_valid, report.rows_rejected) == (2, 2, 0)
    first = valid.to_pylist()[0]
    assert first["age"] == 30 and first["score"] == 1.5 and first["active"] is True
    assert str(first["born"]) == "1990-05-01"
    assert first["seen"].isoformat() == "2014-02-01T05:00:00+00:00"


def test_days_near_a_months_edge_are_real_or_refused(tmp_path: Path) -> None:
    """Arrow's strptime rolls 2019-02-30 over to March 2nd. Dates and date-times near a
    month's edge are checked against the calendar; an offset that moves a real day into
    the next or previous month in UTC keeps it valid, and an unpadded day is still read."""
    seen = {"2019-02-28T23:30:00-0200": True, "2019-03-01T00:30:00+0200": True,
            "2019-02-30T10:00:00+0000": False, "2019-04-31T00:00:00Z": False,
            "2020-02-29T12:00:00Z": True, "2019-02-29T12:00:00Z": False,
            "2019-03-00T12:00:00Z": False, "2019-12-31T23:59:59+0000": True}
    born = {"2019-3-1": True, "2019-03-31": True, "2019-06-31": False, "2021-01-04": True}
    rows = [row(id=f"S{i}", email=f"s{i}@x.io", seen=value) for i, value in enumerate(seen)]
    rows += [row(id=f"B{i}", email=f"b{i}@x.io", born=value) for i, value in enumerate(born)]
    valid, _, report = run(write_csv(tmp_path / "edges.csv", rows))
    refused = {(issue.field, issue.value) for issue in report.issues}
    assert refused == {("seen", v) for v, ok in seen.items() if not ok} | {
        ("born", v) for v, ok in born.items() if not ok}
    assert valid.num_rows == sum(seen.values()) + sum(born.values())


@pytest.mark.parametrize(("field", "value", "code"), [
    ("id", "", "missing-value"),
    ("id", "a1", "pattern-mismatch"),
    ("name", "A", "too-short"),
    ("name", "Annabelle Lee", "too-long"),
    ("age", "thirty", "type-error"),
    ("age", "1.5", "type-error"),
    ("age", "99999999999999999999", "type-error"),
    ("age", "-1", "below-minimum"),
    ("age", "131", "above-maximum"),
    ("score", "1,5", "type-error"),
    ("active", "maybe", "type-error"),
    ("born", "01/05/1990", "type-error"),
    ("born", "2014-02-30", "type-error"),
    ("born", "1899-12-31", "below-minimum"),
    ("seen", "yesterday", "type-error"),
    ("kind", "c", "not-in-enum"),
    ("level", "gold", "invalid-dimension-path"),
])
def test_each_problem_is_found_at_its_row(tmp_path: Path, field: str, value: str,
                                          code: str) -> None:
    path = write_csv(tmp_path / "p.csv", [row(id="B1", email="b@x.io"),
                                          row(**{field: value})])
    valid, rejected, report = run(path)
    assert found(report) == {(3, field, code)}
    assert report.issues[0].value == value  # the value as the file has it
    assert report.issues[0].source == str(path)
    assert value[:10] in report.issues[0].message or code == "missing-value"
    assert valid.num_rows == 1 and report.rows_rejected == 1
    [batch] = rejected
    assert batch.column("_row").to_pylist() == [3]
    assert f"[{code}]" in batch.column("_errors")[0].as_py()


def test_one_failed_check_does_not_hide_another(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [row(id="lower-and-long", name="X", age="x",
                                              kind="z")])
    _, rejected, report = run(path)
    assert found(report) == {(2, "id", "pattern-mismatch"), (2, "name", "too-short"),
                             (2, "age", "type-error"), (2, "kind", "not-in-enum")}
    assert rejected[0].column("_errors")[0].as_py().count(";") == 3


def test_required_and_extra_columns_are_file_level(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [["A1", "x"]], header=["id", "surplus"])
    _, rejected, report = run(path)
    assert found(report) == {(None, "name", "missing-column"),
                             (None, "surplus", "extra-column")}
    assert report.by_severity == {"error": 1, "warning": 1}
    assert report.rows_rejected == 1  # no row can be valid without its required field
    assert "missing-column" in rejected[0].column("_errors")[0].as_py()


@pytest.mark.parametrize(("extra", "severity", "rejected_rows"),
                         [("warn", "warning", 0), ("error", "error", 1), ("ignore", None, 0)])
def test_extra_columns_option(tmp_path: Path, extra: Any, severity: str | None,
                              rejected_rows: int) -> None:
    path = write_csv(tmp_path / "p.csv", [[*row(), "x"]], header=[*HEADER, "surplus"])
    _, _, report = run(path, extra_columns=extra)
    assert [i.severity for i in report.issues] == ([severity] if severity else [])
    assert report.rows_rejected == rejected_rows


def test_primary_key_and_unique_across_batches_name_the_earlier_row(tmp_path: Path) -> None:
    rows = [row(id=f"A{i}", email=f"{i}@x.io") for i in range(6)]
    rows[4] = row(id="A1", email="4@x.io")   # key of row 3 (second record)
    rows[5] = row(id="A5", email="0@x.io")   # email of row 2
    path = write_csv(tmp_path / "p.csv", rows)
    _, rejected, report = run(path)          # batches of 2 rows: the checks cross batches
    assert found(report) == {(6, "id", "duplicate-key"), (7, "email", "duplicate-value")}
    messages = {i.code: i.message for i in report.issues}
    assert "row 3" in messages["duplicate-key"] and "row 2" in messages["duplicate-value"]
    assert [b.column("_row").to_pylist() for b in rejected] == [[6, 7]]


def test_keys_are_checked_across_sources_of_one_run(tmp_path: Path) -> None:
    first = write_csv(tmp_path / "a.csv", [row()])
    second = write_csv(tmp_path / "b.csv", [row(email="other@x.io")])
    validation = Validation(ItemSchema.from_dict(PEOPLE))
    for path in (first, second):
        validation.run(ldtransform.read(path)).to_table()
    [issue] = validation.finish().issues
    assert issue.code == "duplicate-key" and issue.source == str(second)
    assert f"row 2 of {first}" in issue.message


def test_nested_child_records_are_checked_field_by_field(tmp_path: Path) -> None:
    items = json.loads((SAMPLES / "accounts.items.json").read_text(encoding="utf-8"))
    items[1]["data"]["addresses"][1]["city"] = ""
    items[1]["data"]["addresses"][0]["postalCode"] = "2134"
    items[2]["data"]["phones"][0]["phoneType"] = "pager"
    items[3]["data"]["accountLicenseInformation"][0]["licenseValidTo"] = "2001-01-01"
    items[4]["data"]["deliveryDays"] = "Mon"
    path = tmp_path / "items.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    validation = Validation(ACCOUNT)
    rejected: list[pa.RecordBatch] = []
    valid = validation.run(ldtransform.read(path), on_rejected=rejected.append).to_table()
    report = validation.finish()
    assert found(report) == {
        (2, "addresses[1].city", "missing-value"),
        (2, "addresses[0].postalCode", "pattern-mismatch"),
        (3, "phones[0].phoneType", "not-in-enum"),
        (4, "accountLicenseInformation[0].licenseValidFrom", "field-order"),
        (5, "deliveryDays", "type-error"),
    }
    assert report.by_field["addresses[].city"] == 1
    assert valid.num_rows == 21 and report.rows_rejected == 4
    assert valid.schema == ItemSchema.from_dict(json.loads(ACCOUNT.read_text())).to_arrow()


def test_typed_sources_convert_without_loss(tmp_path: Path) -> None:
    table = pa.table({"id": ["A1", "A2"], "name": ["Ann", "Bob"], "age": [30.0, 30.5],
                      "active": [True, False], "born": pa.array([7000, None], pa.date32())})
    result = ldtransform.validate(table, PEOPLE_SCHEMA)
    assert found(result.report) == {(2, "age", "type-error")}
    assert result.valid_table.column("age").to_pylist() == [30]
    assert result.rejected.loc[0, "age"] == 30.5  # rejected rows keep the source's value


PEOPLE_SCHEMA = ItemSchema.from_dict(PEOPLE)


def test_bad_csv_rows_are_rejected_with_their_raw_text(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(",".join(HEADER) + "\n" + ",".join(row()) + "\nA2,Bob,1,2,3\n",
                    encoding="utf-8")
    result = ldtransform.validate(path, PEOPLE_SCHEMA)
    assert (result.report.rows_read, result.report.rows_valid,
            result.report.rows_rejected) == (2, 1, 1)
    assert found(result.report) == {(3, None, "too-few-fields")}
    assert "A2,Bob,1,2,3" in result.rejected.loc[0, "_errors"]


def test_quarantine_file_can_be_fixed_and_fed_back(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [row(), row(id="B2", age="x", email="b@x.io"),
                                          row(id="C3", kind="z", email="c@x.io")])
    quarantine = tmp_path / "out" / "p.rejected.csv"
    validation = Validation(PEOPLE_SCHEMA)
    with QuarantineFile(quarantine) as sink:
        validation.run(ldtransform.read(path), on_rejected=sink).to_table()
    with quarantine.open(newline="", encoding="utf-8") as f:
        records = list(csv.DictReader(f))
    assert [r["_row"] for r in records] == ["3", "4"]
    assert list(records[0])[: len(HEADER)] == HEADER and "[type-error]" in records[0]["_errors"]
    records[0]["age"], records[1]["kind"] = "41", "b"
    with quarantine.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    again = ldtransform.validate(quarantine, PEOPLE_SCHEMA)
    assert again.report.ok and again.report.issue_count == 0  # _row/_errors are not extra
    assert again.valid["age"].tolist() == [41, 30]


def test_no_rejected_rows_means_no_quarantine_file(tmp_path: Path) -> None:
    target = tmp_path / "none.rejected.csv"
    with QuarantineFile(target) as sink:
        Validation(PEOPLE_SCHEMA).run(ldtransform.read(
            write_csv(tmp_path / "p.csv", [row()])), on_rejected=sink).to_table()
    assert not target.exists() and list(tmp_path.iterdir()) == [tmp_path / "p.csv"]


def test_a_crash_leaves_no_quarantine_file(tmp_path: Path) -> None:
    target = tmp_path / "p.rejected.csv"
    rows = [row(age="x"), row(id="B2", email="b@x.io")]  # rejected, then valid
    frames = ldtransform.read(write_csv(tmp_path / "p.csv", rows), batch_size=1)
    with pytest.raises(RuntimeError), QuarantineFile(target) as sink:
        for _ in Validation(PEOPLE_SCHEMA).run(frames, on_rejected=sink):
            raise RuntimeError("interrupted")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv"]


def test_report_counts_everything_but_lists_up_to_the_cap(tmp_path: Path) -> None:
    rows = [row(id=f"A{i}", email=f"{i}@x", age="x", kind="z") for i in range(10)]
    _, _, report = run(write_csv(tmp_path / "p.csv", rows), max_issues=3)
    assert report.issue_count == 20 and len(report.issues) == 3 and report.truncated
    assert [i.row for i in report.issues] == [2, 2, 3]
    assert report.by_code == {"type-error": 10, "not-in-enum": 10}
    assert report.summary()["by_field"] == {"age": 10, "kind": 10}


def test_report_frame_json_and_html(tmp_path: Path) -> None:
    result = ldtransform.validate(write_csv(tmp_path / "p.csv", [
        row(age="x"), row(id="B2", email="b@x.io")]), PEOPLE_SCHEMA)
    frame = result.report.to_frame()
    assert list(frame.columns) == ["code", "row", "field", "value", "message", "severity",
                                   "source"]
    assert frame.loc[0, ["code", "row", "field"]].tolist() == ["type-error", 2, "age"]
    document = json.loads(result.report.to_json())
    assert document["summary"]["rows_rejected"] == 1
    assert document["summary"]["by_code"] == {"type-error": 1}
    html = result._repr_html_()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html and "<script" not in html
    assert "type-error" in html and "<b>2</b> rows read" in html and "&#x27;x&#x27;" in html


def test_schema_checks_name_registered_validators() -> None:
    broken = {**PEOPLE, "checks": [{"name": "no-such-check"}]}
    with pytest.raises(ldtransform.UnknownFormatError, match="no-such-check"):
        Validation(ItemSchema.from_dict(broken))


def test_a_reader_error_mid_stream_reaches_the_caller(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    good = ",".join(row())
    lines = [",".join(HEADER)] + [good.replace("A1", f"A{i}", 1) for i in range(50)]
    path.write_text("\n".join([*lines, "A99,too,few"]) + "\n", encoding="utf-8")
    frames = ldtransform.read(path, batch_size=10)  # stops at bad rows (no on_bad_row)
    with pytest.raises(ldtransform.ReadError, match="line 52"):
        for _ in Validation(PEOPLE_SCHEMA).run(frames):
            pass


def test_dates_keep_their_day_where_midnight_is_skipped(tmp_path: Path) -> None:
    # Sao Paulo skipped 2018-11-04 00:00-01:00; the date must not slip to the day before,
    # neither when validated nor when written as an LD item (the day starts at 03:00 UTC)
    schema = ItemSchema.from_dict({
        "itemType": "Visit", "category": "work", "timezone": "America/Sao_Paulo",
        "fields": [{"name": "id", "type": "string"}, {"name": "day", "type": "date"},
                   {"name": "at", "type": "datetime"}]})
    path = tmp_path / "visits.csv"
    path.write_text("id,day,at\nv1,2018-11-04,2018-11-04T00:30:00\nv2,2018-11-05,"
                    "2018-11-05T00:30:00\n")
    result = ldtransform.validate(path, schema)
    assert result.valid_table.column("day").to_pylist() == [date(2018, 11, 4),
                                                            date(2018, 11, 5)]
    out = tmp_path / "items"
    ldtransform.convert(path, schema=schema, to="items-json", out=out)
    (part,) = sorted(out.glob("Visit-*.json"))
    data = [item["data"] for item in json.loads(part.read_text())]
    assert [d["day"] for d in data] == ["2018-11-04T03:00:00+0000",
                                        "2018-11-05T02:00:00+0000"]
    # 00:30 did not happen on the 4th: read as the moment the clocks changed
    assert [d["at"] for d in data] == ["2018-11-04T03:00:00+0000",
                                       "2018-11-05T02:30:00+0000"]


class TestFieldOrderContract(ValidatorContract):
    name = "field-order"

    def schema_check(self) -> dict[str, Any]:
        return {"name": "field-order", "earlier": "validFrom", "later": "validTo"}

    def make_validator(self) -> Any:
        return registry.load("validator", "field-order")(earlier="validFrom", later="validTo")

    def sample_table(self) -> pa.Table:
        days = [date(2024, 1, d) for d in (1, 9, 3, 4, 8)]
        ends = [date(2024, 1, d) for d in (2, 5, 3, 1, 9)]
        return pa.table({"validFrom": days, "validTo": ends})
