"""JSON records that cannot be rows: located exactly (line, column, the text around), and,
with ``on_bad_row="report"``, set aside as issues with their raw text while the rest is
read. Duplicate names in an object are such records, never silently collapsed."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import ldtransform
from ldtransform import ItemSchema
from ldtransform.cli import main
from ldtransform.errors import ReadError
from ldtransform.readers.json import JsonLinesReader, JsonReader

PEOPLE = {
    "itemType": "Person",
    "fields": [
        {"name": "id", "constraints": {"required": True}},
        {"name": "name"},
        {"name": "address.city"},
    ],
}


def jsonl(tmp_path: Path, *lines: str, name: str = "people.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def read_error(path: Path, **options: Any) -> ReadError:
    with pytest.raises(ReadError) as caught:
        ldtransform.read(path, **options).to_table()
    return caught.value


# -- where a malformed line is wrong -------------------------------------------------------


@pytest.mark.parametrize(("line", "column", "problem", "near"), [
    ('{"id": ', 8, "expected a value", '{"id": '),
    ('{"id": "A1"', 12, "expected ',' or a closing bracket", '{"id": "A1"'),
    ('{"id": "A1", "name": "Ann', 22, "a string is never closed", '"name": "Ann'),
    ('{"id": "A1",}', 13, "expected a property name", '{"id": "A1",}'),
    ('{"id": "A1"} {"id": "A2"}', 14, "more data after the value", '{"id": "A2"}'),
])
def test_a_malformed_line_names_its_line_column_and_text(
        tmp_path: Path, line: str, column: int, problem: str, near: str) -> None:
    path = jsonl(tmp_path, '{"id": "A0"}', "", line, '{"id": "A3"}')
    error = read_error(path)
    assert error.line == 3
    assert f"line 3: invalid JSON at column {column}: {problem}" in str(error)
    context = str(error).split("; near ")[1]
    assert near in context and not context.startswith("''"), str(error)
    assert "on_bad_row='report'" in (error.hint or "")


# -- on_bad_row="report" ------------------------------------------------------------------


BROKEN = ['{"id": "A1", "name": "Ann"}',
          '{"id": "A2", "name": ',                 # line 2: cut off
          '',
          '["A4", "Dan"]',                         # line 4: not an object
          '{"id": "A5", "name": "Eve"}',
          '{"id": "A6", "name": "Fay", "name": "Gil"}',  # line 6: a name twice
          '{"id": "A7", "name": "Hal"}']


def test_bad_lines_are_reported_and_the_rest_is_read(tmp_path: Path) -> None:
    frames = JsonLinesReader(on_bad_row="report").read(jsonl(tmp_path, *BROKEN), batch_size=10)
    numbered = [(n.first_row, n.batch["id"].to_pylist()) for n in frames.numbered()]
    assert numbered == [(1, ["A1"]), (5, ["A5"]), (7, ["A7"])]
    assert [(i.row, i.code, i.value) for i in frames.issues] == [
        (2, "invalid-json", BROKEN[1]),
        (4, "not-an-object", BROKEN[3]),
        (6, "duplicate-json-key", BROKEN[5]),
    ]
    assert "column 22" in frames.issues[0].message
    assert "'name' appears twice" in frames.issues[2].message


def test_validation_quarantines_bad_lines_with_their_raw_text(tmp_path: Path) -> None:
    result = ldtransform.validate(jsonl(tmp_path, *BROKEN), ItemSchema.from_dict(PEOPLE))
    report = result.report
    assert (report.rows_read, report.rows_valid, report.rows_rejected) == (6, 3, 3)
    rejected = result.rejected.set_index("_row")["_errors"]
    assert sorted(rejected.index) == [2, 4, 6]
    assert BROKEN[5] in rejected[6] and "[duplicate-json-key]" in rejected[6]
    assert BROKEN[1] in rejected[2] and "[invalid-json]" in rejected[2]


def test_cli_validate_writes_the_bad_lines_to_the_rejected_file(tmp_path: Path) -> None:
    schema = tmp_path / "Person.json"
    schema.write_text(json.dumps(PEOPLE), encoding="utf-8")
    source = jsonl(tmp_path, *BROKEN)
    result = CliRunner().invoke(main, ["validate", str(source), "--schema", str(schema),
                                       "--rejected-dir", str(tmp_path / "q")])
    assert result.exit_code == 5, result.output
    with (tmp_path / "q" / "people.rejected.csv").open(newline="", encoding="utf-8") as f:
        rows = {row["_row"]: row["_errors"] for row in csv.DictReader(f)}
    assert sorted(rows) == ["2", "4", "6"] and BROKEN[3] in rows["4"]


def test_the_array_reader_reports_records_that_are_not_objects(tmp_path: Path) -> None:
    path = tmp_path / "people.json"
    path.write_text('[\n {"id": "A1"},\n 42,\n {"id": "A3"}\n]\n', encoding="utf-8")
    assert "record 2 is a number" in str(read_error(path))
    frames = JsonReader(on_bad_row="report").read(path)
    assert frames.to_table()["id"].to_pylist() == ["A1", "A3"]
    assert [(i.row, i.code, i.value) for i in frames.issues] == [(2, "not-an-object", "42")]
    assert "(line 3)" in frames.issues[0].message


def test_a_bad_on_bad_row_is_a_config_error() -> None:
    with pytest.raises(ldtransform.errors.ConfigError, match="on_bad_row"):
        JsonLinesReader(on_bad_row="skip")  # type: ignore[arg-type]


# -- duplicate names ----------------------------------------------------------------------


DUPLICATES = {
    "top level": '{"id": "A2", "name": "Bo", "name": "Bob"}',
    "spaced": '{"id" : "A2", "id" : "A3"}',
    "nested": '{"id": "A2", "address": {"city": "Rome", "city": "Oslo"}}',
    "in a list": '{"id": "A2", "tags": [{"k": 1}, {"k": 2, "k": 3}]}',
    "LD item data": '{"headers": {"action": "Create"}, "data": {"id": "A2", "id": "A3"}}',
    "LD item headers": '{"headers": {"action": "Create", "action": "Delete"}, "data": {}}',
}


@pytest.mark.parametrize("case", DUPLICATES)
def test_a_name_twice_is_an_error_naming_line_and_name(tmp_path: Path, case: str) -> None:
    first = ('{"headers": {"action": "Create"}, "data": {"id": "A1"}}' if "LD" in case
             else '{"id": "A1"}')
    path = jsonl(tmp_path, first, DUPLICATES[case], first)
    error = read_error(path)
    assert error.line == 2 and "appears twice in one object" in str(error)
    name = {"top level": "name", "nested": "city", "in a list": "k",
            "LD item headers": "action"}.get(case, "id")
    assert f"{name!r} appears twice" in str(error)
    frames = ldtransform.read(path, on_bad_row="report")
    assert frames.to_table().num_rows == 2
    assert [(i.row, i.code) for i in frames.issues] == [(2, "duplicate-json-key")]


@pytest.mark.parametrize("indent", [None, 2])
def test_a_name_twice_in_a_json_array(tmp_path: Path, indent: int | None) -> None:
    records = [json.dumps({"id": f"A{n}", "name": "x"}, indent=indent) for n in range(1, 4)]
    records[1] = records[1].replace('"name"', '"id"')
    path = tmp_path / "people.json"
    path.write_text("[\n" + ",\n".join(records) + "\n]\n", encoding="utf-8")
    error = read_error(path)
    line = 3 if indent is None else 6  # "[" on line 1, then record 1
    assert error.line == line
    assert "record 2: the name 'id' appears twice" in str(error)
    frames = ldtransform.read(path, on_bad_row="report")
    assert frames.to_table()["id"].to_pylist() == ["A1", "A3"]
    (issue,) = frames.issues
    assert (issue.row, issue.code, issue.value) == (2, "duplicate-json-key", records[1])
    assert f"(line {line})" in issue.message


def test_text_that_looks_like_names_is_no_duplicate(tmp_path: Path) -> None:
    tricky = {"id": "A1", "note": 'say "id": or "id" : here', "at": "12:30:00",
              "nested": {"id": "x", "list": [{"id": 1}, {"id": 2}]}}
    for name, text in (("t.jsonl", json.dumps(tricky) + "\n"),
                       ("t.json", json.dumps([tricky, tricky], indent=1))):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        assert ldtransform.read(path).to_table().num_rows == (1 if name.endswith("l") else 2)


names = st.text(st.sampled_from('ab":\\ \n'), max_size=3)
objects = st.recursive(
    st.dictionaries(names, st.integers() | st.text(st.sampled_from('a":\\ '), max_size=4),
                    max_size=3),
    lambda inner: st.dictionaries(names, inner | st.lists(inner, max_size=2), max_size=3),
    max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(record=objects, separators=st.sampled_from([(",", ":"), (", ", ": "), (",", " : ")]),
       duplicate=st.booleans())
def test_duplicates_are_found_exactly(record: dict[str, Any], separators: tuple[str, str],
                                      duplicate: bool) -> None:
    from ldtransform.readers.jsonscan import duplicate_key

    text = json.dumps(record, separators=separators)
    if duplicate and record:
        name = next(iter(record))
        text = text[:-1] + separators[0] + json.dumps(name) + separators[1] + "0}"
    expected = next(iter(record)) if duplicate and record else None
    value = json.loads(text)
    assert duplicate_key(text, value) == expected
    assert duplicate_key(text.encode(), value) == expected


def test_the_command_reports_a_duplicate_name(tmp_path: Path) -> None:
    path = jsonl(tmp_path, '{"id": "A1"}', '{"id": "A2", "id": "A3"}')
    result = CliRunner().invoke(main, ["inspect", str(path)])
    assert result.exit_code == 3
    assert f"{path}, line 2: the name 'id' appears twice in one object" in result.stderr


def test_a_name_twice_is_found_with_a_given_schema_too(tmp_path: Path) -> None:
    # With a schema there is no first pass: the second looks for duplicates itself.
    path = jsonl(tmp_path, '{"id": "A1"}', '{"id": "A2", "id": "A3"}', '{"id": "A4"}')
    schema = pa.schema([pa.field("id", pa.string())])
    with pytest.raises(ReadError, match="'id' appears twice"):
        JsonLinesReader().read(path, schema=schema).to_table()
    frames = JsonLinesReader(on_bad_row="report").read(path, schema=schema)
    assert frames.to_table()["id"].to_pylist() == ["A1", "A4"]
    assert [(i.row, i.code) for i in frames.issues] == [(2, "duplicate-json-key")]
