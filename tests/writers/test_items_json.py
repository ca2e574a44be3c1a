"""LD item JSON and plain JSON writers: exact LD spelling, and round trips through the reader."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ldtransform
from ldtransform import Frames, ItemSchema
from ldtransform.writers.items_json import ItemsJsonLinesWriter, ItemsJsonWriter
from ldtransform.writers.records_json import RecordsJsonLinesWriter, RecordsJsonWriter

SAMPLES = Path(__file__).resolve().parents[2] / "samples"

SCHEMA = ItemSchema.from_dict({
    "itemType": "Thing", "category": "work", "timezone": "America/New_York",
    "primaryKey": ["code"],
    "fields": [
        {"name": "code", "constraints": {"required": True}},
        {"name": "count", "type": "integer"},
        {"name": "amount", "type": "number"},
        {"name": "active", "type": "boolean"},
        {"name": "day", "type": "date"},
        {"name": "seen", "type": "datetime"},
        {"name": "level", "type": "enumeration"},
        {"name": "tags", "type": "array", "items": "string"},
        {"name": "parts", "type": "array", "fields": [
            {"name": "label"}, {"name": "weight", "type": "number"},
            {"name": "made", "type": "datetime"}]},
    ],
})


def written(writer: Any, table: pa.Table) -> bytes:
    sink = io.BytesIO()
    rows = writer.write(Frames.from_table(table, batch_size=3), sink)
    assert rows == table.num_rows
    return sink.getvalue()


def test_the_sample_workbook_becomes_ld_s_own_items_exactly() -> None:
    result = ldtransform.validate(SAMPLES / "accounts.xlsx", SAMPLES / "schemas/Account.json",
                                  mapping=SAMPLES / "mappings/accounts.toml")
    schema = ldtransform.load_schema(SAMPLES / "schemas/Account.json")
    text = written(ItemsJsonWriter(schema=schema), result.valid_table)
    expected = json.loads((SAMPLES / "accounts.items.json").read_text(encoding="utf-8"))
    assert json.loads(text) == expected
    # Same values, same spelling: floats keep their point, dates LD's way.
    assert b'"exposure":0.0,' in text and b'"licenseValidFrom":"2014-02-01T05:00:00+0000"' in text


def test_values_are_spelled_the_ld_way() -> None:
    valid = ldtransform.validate(pa.table({
        "code": ["007", "A\"\\\n\t\x01é"], "count": ["9007199254740993", ""],
        "amount": ["3", "0.1"], "active": ["yes", ""], "day": ["2014-07-01", ""],
        "seen": ["2014-02-01T05:00:00+0000", ""], "level": ["/Thing/level[a]", ""],
    }), SCHEMA).valid_table
    items = json.loads(written(ItemsJsonWriter(schema=SCHEMA), valid))
    assert items[0]["headers"] == {"category": "work", "type": "Thing", "action": "Create"}
    first, second = items[0]["data"], items[1]["data"]
    assert first == {"code": "007", "count": 9007199254740993, "amount": 3.0, "active": True,
                     "day": "2014-07-01T04:00:00+0000", "seen": "2014-02-01T05:00:00+0000",
                     "level": "/Thing/level[a]", "tags": [], "parts": []}
    assert second["code"] == "A\"\\\n\t\x01é" and second["level"] == ""  # unset text: ""
    assert second["count"] is None and second["active"] is None and second["day"] is None


def test_delete_writes_only_the_primary_key_and_actions_can_come_from_a_column() -> None:
    table = pa.table({"code": ["a", "b", "c"], "count": [1, 2, 3],
                      "op": ["Merge", "Delete", None]})
    items = json.loads(written(ItemsJsonWriter(schema=SCHEMA, action="Delete"),
                               table.drop_columns(["op"])))
    assert [i["data"] for i in items] == [{"code": "a"}, {"code": "b"}, {"code": "c"}]
    mixed = json.loads(written(ItemsJsonWriter(schema=SCHEMA, action_column="op"), table))
    assert [i["headers"]["action"] for i in mixed] == ["Merge", "Delete", "Create"]
    assert mixed[1]["data"] == {"code": "b"} and mixed[0]["data"]["count"] == 1
    with pytest.raises(ldtransform.ConfigError, match="Upsert"):
        written(ItemsJsonWriter(schema=SCHEMA, action_column="op"),
                table.set_column(2, "op", pa.array(["Upsert", None, None])))


def test_lines_and_plain_records() -> None:
    table = pa.table({"code": ["a", "b"], "amount": [1.0, None]})
    lines = written(ItemsJsonLinesWriter(schema=SCHEMA), table).decode().splitlines()
    assert [json.loads(line)["data"]["code"] for line in lines] == ["a", "b"]
    assert json.loads(written(RecordsJsonWriter(), table)) == [
        {"code": "a", "amount": 1.0}, {"code": "b", "amount": None}]
    assert written(RecordsJsonLinesWriter(), table) == (
        b'{"code":"a","amount":1.0}\n{"code":"b","amount":null}\n')
    assert json.loads(written(ItemsJsonWriter(schema=SCHEMA), table.slice(0, 0))) == []


text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=15)
seconds = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1),
                       timezones=st.just(dt.UTC)).map(lambda d: d.replace(microsecond=0))
rows = st.fixed_dictionaries({
    "code": text.filter(lambda s: s != ""),
    "count": st.none() | st.integers(-(2**63), 2**63 - 1),
    "amount": st.none() | st.floats(allow_nan=False, allow_infinity=False),
    "active": st.none() | st.booleans(),
    "day": st.none() | st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 1, 1)),
    "seen": st.none() | seconds,
    "level": st.none() | st.sampled_from(["/Thing/level[a]", "/Thing/level[]/sub[x y]"]),
    "tags": st.lists(text.filter(lambda s: s != ""), max_size=3),
    "parts": st.lists(st.fixed_dictionaries({
        "label": st.none() | text.filter(lambda s: s != ""),
        "weight": st.none() | st.floats(allow_nan=False, allow_infinity=False),
        "made": st.none() | seconds}), max_size=2),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(records=st.lists(rows, min_size=1, max_size=12, unique_by=lambda r: r["code"]))
def test_items_read_back_as_exactly_the_validated_values(tmp_path: Path,
                                                         records: list[dict[str, Any]]) -> None:
    first = ldtransform.validate(pa.Table.from_pylist(records, schema=SCHEMA.to_arrow()
                                                      .with_metadata(None)), SCHEMA)
    assert first.report.ok, first.report.issues[:3]
    path = tmp_path / "items.json"
    path.write_bytes(written(ItemsJsonWriter(schema=SCHEMA), first.valid_table))
    again = ldtransform.validate(path, SCHEMA)
    assert again.report.ok, again.report.issues[:3]
    assert again.valid_table.to_pylist() == first.valid_table.to_pylist()


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.none() | st.dates(min_value=dt.date(1, 1, 1)), min_size=1,
                       max_size=8), amounts=st.lists(
    st.none() | st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=8))
def test_a_long_column_is_spelled_as_each_of_its_values_alone(
        values: list[dt.date | None], amounts: list[float | None]) -> None:
    """Long columns take shortcuts (each distinct date formatted once, numbers in pieces):
    the bytes stay those of each value written on its own."""
    writer = ItemsJsonLinesWriter(schema=SCHEMA)
    rows = 300  # past the length at which repeating values are formatted once
    batch = pa.RecordBatch.from_pydict({
        "code": [str(i) for i in range(rows)],
        "day": pa.array([values[i % len(values)] for i in range(rows)], pa.date32()),
        "amount": pa.array([amounts[i % len(amounts)] for i in range(rows)], pa.float64())})
    whole = writer.encode(batch).to_pylist()
    alone = [writer.encode(batch.slice(i, 1)).to_pylist()[0] for i in range(rows)]
    assert whole == alone
    days = [json.loads(line)["data"]["day"] for line in whole]
    assert [day is None for day in days] == batch.column("day").is_null().to_pylist()


def ld_spelling(moment: dt.datetime) -> str:
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
            f"{moment.minute:02d}:{moment.second:02d}+0000")


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.none() | st.datetimes(min_value=dt.datetime(1, 1, 1)), min_size=2,
                       max_size=40), skip=st.integers(0, 1))
def test_date_times_are_the_utc_second_they_fall_in(values: list[dt.datetime | None],
                                                     skip: int) -> None:
    """Date-times of the usual years are written as one block of bytes (all as wide), the
    others one by one; either way each is the second it falls in, in UTC."""
    seen = pa.array(values, pa.timestamp("us", tz="UTC")).slice(skip)
    batch = pa.RecordBatch.from_arrays([pa.array([str(i) for i in range(len(seen))]), seen],
                                       names=["code", "seen"])
    lines = ItemsJsonLinesWriter(schema=SCHEMA).encode(batch).to_pylist()
    written_values = [json.loads(line)["data"]["seen"] for line in lines]
    assert written_values == [None if v is None else ld_spelling(v) for v in values[skip:]]


@settings(max_examples=80, deadline=None)
@given(values=st.lists(st.none() | st.text(st.characters(exclude_categories=("Cs",))
                                           | st.sampled_from('"\\\n\r\t\x01\x1f\u2028é😀')),
                       min_size=1, max_size=30))
def test_text_is_escaped_as_a_json_encoder_would(values: list[str | None]) -> None:
    """Only the values holding a quote, backslash or control character are escaped, and
    only with the escapes they need: the text is still what the JSON encoder writes."""
    column = pa.array(values * 3, pa.string())  # past a batch's first values, sliced
    batch = pa.RecordBatch.from_arrays([pa.array([str(i) for i in range(len(column))]),
                                        column], names=["code", "level"]).slice(len(values))
    lines = ItemsJsonLinesWriter(schema=SCHEMA).encode(batch).to_pylist()
    spelled = [line.split('"level":', 1)[1].removesuffix("}}\n") for line in lines]
    assert spelled == [orjson.dumps("" if v is None else v).decode() for v in values * 2]
