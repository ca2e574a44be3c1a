"""Merge and Update items carry only what the source has; ``empty`` says what an empty
value becomes (left out, or written empty)."""

from __future__ import annotations

import io
import json
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ldtransform
from ldtransform import Frames, ItemSchema
from ldtransform.writers.items_json import ItemsJsonLinesWriter, ItemsJsonWriter

SCHEMA = ItemSchema.from_dict({
    "itemType": "Thing", "primaryKey": ["code"],
    "fields": [
        {"name": "code", "constraints": {"required": True}},
        {"name": "name", "constraints": {"required": True}},
        {"name": "count", "type": "integer"},
        {"name": "amount", "type": "number"},
        {"name": "note"},
        {"name": "tags", "type": "array", "items": "string"},
        {"name": "parts", "type": "array", "fields": [{"name": "label"}]},
    ],
})


def items(source: pa.Table | Frames, **writer: Any) -> list[dict[str, Any]]:
    """The items the JSON Lines writer makes of ``source`` (a table is validated first,
    as a Merge/Update is: a field may have no column)."""
    if isinstance(source, pa.Table):
        partial = writer.get("action") in ("Merge", "Update")
        source = ldtransform.read(source).validate(SCHEMA, partial=partial)
    sink = io.BytesIO()
    ItemsJsonLinesWriter(schema=SCHEMA, **writer).write(source, sink)
    return [json.loads(line) for line in sink.getvalue().decode().splitlines()]


TWO_COLUMNS = pa.table({"code": ["a", "b", "c"], "note": ["new", "", None]})


@pytest.mark.parametrize("action", ["Merge", "Update"])
def test_a_merge_leaves_out_fields_without_a_column_and_empty_values(action: str) -> None:
    found = items(TWO_COLUMNS, action=action)
    assert [i["headers"]["action"] for i in found] == [action] * 3
    assert [i["data"] for i in found] == [{"code": "a", "note": "new"}, {"code": "b"},
                                          {"code": "c"}]


def test_empty_clear_writes_empty_values_but_never_fields_without_a_column() -> None:
    found = items(TWO_COLUMNS, action="Merge", empty="clear")
    assert [i["data"] for i in found] == [{"code": "a", "note": "new"},
                                          {"code": "b", "note": ""}, {"code": "c", "note": ""}]


def test_a_create_still_writes_every_field() -> None:
    table = TWO_COLUMNS.append_column("name", pa.array(["x", "y", "z"]))
    found = items(table.select(["code", "name", "note"]))
    assert found[1]["data"] == {"code": "b", "name": "y", "count": None, "amount": None,
                                "note": "", "tags": [], "parts": []}
    omitted = items(ldtransform.read(table).validate(SCHEMA), empty="omit")
    assert [i["data"] for i in omitted] == [{"code": "a", "name": "x", "note": "new"},
                                            {"code": "b", "name": "y"},
                                            {"code": "c", "name": "z"}]


def test_every_kind_of_empty_value_is_left_out_row_by_row() -> None:
    table = pa.table({
        "code": ["a", "b"], "count": [None, 7], "amount": [1.5, None],
        "tags": [[], ["t"]], "parts": [[{"label": "p"}], None]})
    found = items(table, action="Merge")
    assert [i["data"] for i in found] == [
        {"code": "a", "amount": 1.5, "parts": [{"label": "p"}]},
        {"code": "b", "count": 7, "tags": ["t"]}]


def test_the_first_member_may_be_the_one_left_out() -> None:
    # Written without validation: the writer alone must still make valid JSON.
    table = pa.table({"note": ["", "x", None], "count": [1, None, None]})
    sink = io.BytesIO()
    ItemsJsonWriter(schema=SCHEMA, action="Merge").write(Frames.from_table(table), sink)
    assert [i["data"] for i in json.loads(sink.getvalue())] == [
        {"count": 1}, {"note": "x"}, {}]


def test_actions_from_a_column_each_get_their_own_rule() -> None:
    table = pa.table({"code": ["a", "b", "c"], "note": [None, None, "x"],
                      "op": ["Merge", "Create", "Delete"]})
    found = items(Frames.from_table(table), action_column="op")
    assert [i["data"] for i in found] == [
        {"code": "a"}, {"code": "b", "note": ""}, {"code": "c"}]


def test_the_mapping_s_rule_reaches_the_writer() -> None:
    mapping = {"options": {"empty": "clear"}, "fields": {"code": "Code", "note": "Note"}}
    source = pa.table({"Code": ["a", "b"], "Note": ["x", ""]})
    valid = ldtransform.read(source).validate(SCHEMA, mapping=mapping, partial=True)
    assert [i["data"] for i in items(valid, action="Merge")] == [
        {"code": "a", "note": "x"}, {"code": "b", "note": ""}]
    mapped = ldtransform.read(source).map({**mapping, "options": {"empty": "omit"}},
                                          schema=SCHEMA)
    assert [i["data"] for i in items(mapped, action="Create")] == [
        {"code": "a", "note": "x"}, {"code": "b"}]
    # The writer's own option wins over the mapping's.
    again = ldtransform.read(source).validate(SCHEMA, mapping=mapping, partial=True)
    assert items(again, action="Merge", empty="omit")[1]["data"] == {"code": "b"}


def test_a_wrong_rule_is_refused_where_it_is_written() -> None:
    with pytest.raises(ldtransform.ConfigError, match=r"'omit'.*'clear'.*'keep'"):
        ItemsJsonWriter(schema=SCHEMA, action="Merge", empty="keep")
    with pytest.raises(ldtransform.MappingError, match=r"options\.empty"):
        ldtransform.Mapping.from_dict({"options": {"empty": "blank"},
                                       "fields": {"code": "Code"}})


cell = st.none() | st.text(alphabet="ab\"\\é", max_size=3)
rows = st.lists(st.fixed_dictionaries({"note": cell, "name": cell,
                                       "count": st.none() | st.integers(-5, 5)}),
                min_size=1, max_size=8)


@settings(max_examples=50, deadline=None)
@given(rows=rows)
def test_a_merge_item_holds_exactly_the_non_empty_values(rows: list[dict[str, Any]]) -> None:
    table = pa.Table.from_pylist(rows, schema=pa.schema(
        [("note", pa.string()), ("name", pa.string()), ("count", pa.int64())]))
    sink = io.BytesIO()
    ItemsJsonWriter(schema=SCHEMA, action="Merge").write(Frames.from_table(table,
                                                                           batch_size=3), sink)
    expected = [{k: v for k, v in row.items() if v not in (None, "")} for row in rows]
    assert [i["data"] for i in json.loads(sink.getvalue())] == expected
