"""Mappings: the sample mappings on the real sample files, the language rule by rule, odd values."""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ldtransform
from ldtransform.errors import MappingError
from ldtransform.mapping import BoundMapping, Mapping
from ldtransform.schema import load_schema

SAMPLES = Path(__file__).parent.parent / "samples"
SCHEMA = load_schema(SAMPLES / "schemas/Account.json")
EXPECTED = [item["data"] for item in json.loads((SAMPLES / "accounts.items.json").read_text())]
FLAT_FILES = ["accounts.csv", "accounts.parquet", "accounts.json", "accounts.jsonl"]
LICENSE_DATES = ("licenseValidFrom", "licenseValidTo")


def map_file(source: Path, mapping: str,
             **options: Any) -> tuple[BoundMapping, list[dict[str, Any]]]:
    frames = ldtransform.read(source, **options)
    bound = Mapping.load(SAMPLES / "mappings" / mapping).bind(
        frames.schema, source_path=str(source), schema=SCHEMA)
    return bound, bound(frames).to_table().to_pylist()


def map_rows(spec: dict[str, Any], columns: dict[str, Any], **bind: Any) -> list[dict[str, Any]]:
    batch = pa.record_batch(columns)
    bound = Mapping.from_dict(spec).bind(batch.schema, **bind)
    result: list[dict[str, Any]] = bound.transform(batch).to_pylist()
    return result


def column(spec: Any, values: list[Any], kind: pa.DataType | None = None,
           **options: Any) -> list[Any]:
    """Map one column ``c`` through one rule ``out = spec``."""
    rows = map_rows({"options": options, "fields": {"out": spec}},
                    {"c": pa.array(values, kind)})
    return [row["out"] for row in rows]


def license_day(value: Any) -> str:
    """The calendar day of a mapped license date, typed or ISO text."""
    return value.date().isoformat() if isinstance(value, dt.datetime) else value[:10]


# -- the sample mappings on the sample files --------------------------------------------


def test_workbook_mapping_gives_the_expected_items() -> None:
    bound, rows = map_file(SAMPLES / "accounts.xlsx", "accounts.toml")
    assert len(rows) == 25 and bound.issues == [] and bound.finish() == []
    assert bound.output_schema.names == [f.name for f in SCHEMA.fields]
    for row, expected in zip(rows, EXPECTED, strict=True):
        licenses = row.pop("accountLicenseInformation")
        wanted = expected["accountLicenseInformation"]
        assert len(licenses) == len(wanted)
        for mapped, record in zip(licenses, wanted, strict=True):
            for name in LICENSE_DATES:  # LD's UTC form is made by validation, not here
                assert isinstance(mapped[name], dt.datetime)
                assert license_day(mapped[name]) == _eastern_day(record[name])
            assert {k: v for k, v in mapped.items() if k not in LICENSE_DATES} == {
                k: v for k, v in record.items() if k not in LICENSE_DATES}
        assert row == {k: v for k, v in expected.items() if k != "accountLicenseInformation"}


def test_workbook_addresses_are_the_address_rows_of_each_account() -> None:
    sheet = ldtransform.read(SAMPLES / "accounts.xlsx", sheet="Addresses").to_table()
    per_account = Counter(sheet.column("accountId").to_pylist())
    _, rows = map_file(SAMPLES / "accounts.xlsx", "accounts.toml")
    assert sum(per_account.values()) == 59
    assert {r["accountId"]: len(r["addresses"]) for r in rows} == dict(per_account)
    assert all(r["addresses"][0]["primary"] for r in rows)


@pytest.mark.parametrize("name", FLAT_FILES)
def test_flat_mapping_gives_the_expected_items(name: str) -> None:
    bound, rows = map_file(SAMPLES / name, "accounts-flat.toml")
    assert len(rows) == 25 and bound.issues == []
    typed = name != "accounts.csv"  # the CSV's numbers and booleans stay text
    for row, expected in zip(rows, EXPECTED, strict=True):
        licenses = row.pop("accountLicenseInformation")
        wanted = expected["accountLicenseInformation"]
        assert len(licenses) == len(wanted) <= 1
        for mapped, record in zip(licenses, wanted, strict=True):
            assert [license_day(mapped[n]) for n in LICENSE_DATES] == [
                _eastern_day(record[n]) for n in LICENSE_DATES]
            assert (mapped["licenseNumber"], mapped["licenseType"]) == (
                record["licenseNumber"], "7")
        assert row["addresses"] == expected["addresses"][:1]  # the primary one
        for key in ("exposure", "limit", "creditBlock", "overallBlock"):
            wanted_value = expected[key]
            if not typed:
                wanted_value = str(wanted_value).lower()
            assert row.pop(key) == wanted_value
        rest = {k: v for k, v in expected.items() if k in row and k != "addresses"}
        assert {k: v for k, v in row.items() if k != "addresses"} == rest


def test_flat_license_dates_from_text_are_iso_text() -> None:
    _, rows = map_file(SAMPLES / "accounts.csv", "accounts-flat.toml")
    first = rows[0]["accountLicenseInformation"][0]
    assert first["licenseValidFrom"] == "2014-02-01T00:00:00"
    assert sum(1 for r in rows if r["accountLicenseInformation"] == []) == 3


def test_mapping_is_the_same_whatever_the_batch_size() -> None:
    whole = map_file(SAMPLES / "accounts.xlsx", "accounts.toml")[1]
    pieces = map_file(SAMPLES / "accounts.xlsx", "accounts.toml", batch_size=4)[1]
    assert pieces == whole


def _eastern_day(ld_value: str) -> str:
    """``2014-02-01T05:00:00+0000`` is midnight of 2014-02-01 in New York."""
    stamp = dt.datetime.strptime(ld_value, "%Y-%m-%dT%H:%M:%S%z")
    return stamp.astimezone(ZoneInfo(SCHEMA.timezone)).date().isoformat()


# -- errors ----------------------------------------------------------------------------


def test_unknown_columns_are_all_named_with_close_matches() -> None:
    frames = ldtransform.read(SAMPLES / "accounts.csv")
    mapping = Mapping.from_dict({"fields": {"city": "Citty", "x": {"concat": ["name", "zzz"]}}},
                                source="m.toml")
    with pytest.raises(MappingError) as info:
        mapping.bind(frames.schema, source_path="accounts.csv")
    text = str(info.value)
    assert "'Citty' (fields.city.column, did you mean 'city'?)" in text
    assert "; 'zzz' (fields.x.concat)." in text
    assert "accounts.csv has: accountId, name, accountClass" in text
    assert text.startswith("m.toml: fields.city.column:")


def test_unknown_child_column_names_the_sheet_and_its_columns() -> None:
    frames = ldtransform.read(SAMPLES / "accounts.xlsx")
    spec = {"fields": {"accountId": "accountId"}, "children": {"addresses": {
        "sheet": "Addresses", "key": "accountId", "parent_key": "accountId",
        "fields": {"city": "City"}}}}
    with pytest.raises(MappingError, match=r"sheet 'Addresses'.*did you mean 'city'"):
        Mapping.from_dict(spec).bind(frames.schema, source_path=str(SAMPLES / "accounts.xlsx"))


@pytest.mark.parametrize(("spec", "message"), [
    ({"fields": {"a": {"colum": "b"}}}, r"fields\.a\.colum: unknown key 'colum' \(did you "
                                        r"mean 'column'\?\); valid keys here: column"),
    ({"feilds": {}}, r"\$\.feilds: unknown key 'feilds' \(did you mean 'fields'\?\)"),
    ({"fields": {}}, "maps no fields"),
    ({"fields": {"a": {"column": "b", "constant": 1}}}, "exactly one of column"),
    ({"fields": {"a": {"column": "b", "unmatched": "error"}}}, "unmatched is one of keep"),
    ({"fields": {"a": {"column": "b", "index": 0}}}, "add split"),
    ({"fields": {"addresses": {"city": "City"}}}, r'quotes, e\.g\. "addresses\.field"'),
    ({"fields": {"a[0]": "b", "a[1].x": "c"}}, "mixes plain items"),
    ({"fields": {"a": "b"}, "children": {"c": {"key": "k"}}}, "need the table"),
    ({"fields": {"a": {"parent": "b"}}}, "unknown key 'parent'"),
    *(({"fields": {key: "b"}}, r"an output field is 'name', 'name\[0\]'")
      for key in ("a.b.c", "a[0].b[1]", "a[]", "a.b[]", "a[x]", "a b", "a.", "[0]")),
])
def test_malformed_mappings_name_the_key_path(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(MappingError, match=message):
        Mapping.from_dict(spec)


def test_output_fields_take_one_level_of_child_records() -> None:
    targets = Mapping.from_dict({"fields": {"a": "x", "b[2]": "y", "c.d": "z",
                                            "e[1].f": "w"}}).spec.targets
    assert [(t.name, t.kind, sorted(t.records), t.plain_items) for t in targets] == [
        ("a", "value", [], False), ("b", "list", [2], True), ("c", "object", [0], False),
        ("e", "list", [1], False)]


def test_the_readme_example_is_a_valid_mapping() -> None:
    readme = (SAMPLES / "mappings/README.md").read_text(encoding="utf-8")
    document = tomllib.loads(readme.split("```toml")[1].split("```")[0])
    mapping = Mapping.from_dict(document, source="README.md")
    assert mapping.targets[:3] == ["accountId", "accountFamily", "region"]


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[fields]\naccountId = \n", encoding="utf-8")
    with pytest.raises(MappingError, match=r"broken\.toml: not valid TOML.*line 2"):
        Mapping.load(path)


def test_a_field_the_schema_lacks_is_an_error_with_a_hint() -> None:
    schema = pa.schema([("id", pa.string())])
    with pytest.raises(MappingError, match=r"'acountId' is not a field of Account \(did you "
                                           r"mean 'accountId'\?\)"):
        Mapping.from_dict({"fields": {"acountId": "id"}}).bind(schema, schema=SCHEMA)


# -- the language, rule by rule --------------------------------------------------------


def test_plain_rename_passes_typed_values_through() -> None:
    rows = map_rows({"fields": {"b": "flag", "f": "x", "d": "day"}}, {
        "flag": [True, None], "x": [20.0, 1.5], "day": [dt.date(2020, 1, 2), None]})
    assert rows == [{"b": True, "f": 20.0, "d": dt.date(2020, 1, 2)},
                    {"b": None, "f": 1.5, "d": None}]


def test_textual_steps_cast_to_text_first() -> None:
    assert column({"column": "c", "values": {"20": "twenty"}}, [20.0, 1.5, None]) == [
        "twenty", "1.5", None]
    rows = map_rows({"fields": {"j": {"concat": ["a", "b"], "separator": "-"}}},
                    {"a": [1.0, None, 2.5], "b": [True, None, False]})
    assert [r["j"] for r in rows] == ["1-true", "", "2.5-false"]


def test_value_maps_case_and_unmatched() -> None:
    values = {"Invoiced": "/Account/accountClass[invoiced]", "Cash": "/Account/accountClass[cash]"}
    source = ["INVOICED", "cash", "Credit", None, " Cash "]
    assert column({"column": "c", "values": values, "case_insensitive": True}, source,
                  trim=True) == ["/Account/accountClass[invoiced]", "/Account/accountClass[cash]",
                                 "Credit", None, "/Account/accountClass[cash]"]
    assert column({"column": "c", "values": values, "unmatched": "null"}, source) == [
        None, None, None, None, None]
    with pytest.raises(MappingError, match="differ only by case"):
        column({"column": "c", "values": {"a": "1", "A": "2"}, "case_insensitive": True}, ["a"])


def test_constant_default_and_when() -> None:
    rows = map_rows({"fields": {
        "k": {"constant": "US"}, "n": {"constant": 7},
        "r": {"column": "r", "default": "NA"}, "x": {"column": "x", "default": 0.0},
        "w": {"column": "r", "when": "flag", "default": ""}}},
        {"r": ["MA", "", None], "x": [1.5, None, 2.0], "flag": ["Yes", "no", None]})
    assert rows == [{"k": "US", "n": 7, "r": "MA", "x": 1.5, "w": "MA"},
                    {"k": "US", "n": 7, "r": "NA", "x": 0.0, "w": ""},
                    {"k": "US", "n": 7, "r": "NA", "x": 2.0, "w": ""}]


def test_a_default_of_another_type_turns_the_column_to_text() -> None:
    assert column({"column": "c", "default": "n/a"}, [1.5, None]) == ["1.5", "n/a"]


def test_split_into_lists_and_parts() -> None:
    source = ["Mon;Thu", "", None, " Tue ; ;Fri;", "Wed"]
    assert column({"column": "c", "split": ";"}, source, trim=True) == [
        ["Mon", "Thu"], [], [], ["Tue", "Fri"], ["Wed"]]
    assert column({"column": "c", "split": ";", "index": 1}, source) == [
        "Thu", None, None, " ", None]
    assert column({"column": "c", "split": ";", "index": -1}, source) == [
        "Thu", "", None, "", "Wed"]


def test_split_items_go_through_value_maps() -> None:
    assert column({"column": "c", "split": ",", "values": {"m": "Mon"}, "case_insensitive": True},
                  ["M,x", None]) == [["Mon", "x"], []]


def test_date_formats_are_tried_in_order() -> None:
    formats = ["%d/%m/%Y", "%Y-%m-%d", "%d/%m/%Y %H:%M"]
    assert column({"column": "c", "date_formats": formats},
                  ["01/02/2014", "2015-03-31", "", None, "05/06/2020 13:45"]) == [
        "2014-02-01T00:00:00", "2015-03-31T00:00:00", None, None, "2020-06-05T13:45:00"]


def test_unparsable_dates_are_kept_as_they_were() -> None:
    assert column({"column": "c", "date_formats": ["%Y-%m-%d"]},
                  ["2014-02-01", "31/12/2014", "soon"]) == [
        "2014-02-01T00:00:00", "31/12/2014", "soon"]


def test_typed_dates_become_timestamps() -> None:
    rows = map_rows({"fields": {"d": {"column": "d", "date_formats": ["%Y"]}}},
                    {"d": pa.array([dt.date(2014, 2, 1), None], pa.date32())})
    assert rows == [{"d": dt.datetime(2014, 2, 1)}, {"d": None}]


def test_flat_records_are_dropped_when_their_columns_are_empty() -> None:
    spec = {"fields": {"p[0].number": "p1", "p[0].type": {"constant": "office"},
                       "p[1].number": "p2", "p[1].type": {"constant": "mobile"}}}
    rows = map_rows(spec, {"p1": ["111", "", None], "p2": [None, "222", " "]})
    assert [r["p"] for r in rows] == [
        [{"number": "111", "type": "office"}],
        [{"number": "222", "type": "mobile"}],
        [{"number": " ", "type": "mobile"}]]


def test_skip_if_empty_names_the_fields_that_decide() -> None:
    spec = {"fields": {"l[0].number": "n", "l[0].note": "note"},
            "children": {"l": {"skip_if_empty": ["number"]}}}
    rows = map_rows(spec, {"n": ["", "A"], "note": ["x", ""]})
    assert [r["l"] for r in rows] == [[], [{"number": "A", "note": ""}]]
    spec["children"] = {"l": {"skip_if_empty": []}}
    rows = map_rows(spec, {"n": [None], "note": [None]})
    assert rows == [{"l": [{"number": None, "note": None}]}]


def test_object_fields_and_plain_item_lists() -> None:
    spec = {"fields": {"contact.email": "e", "contact.kind": {"constant": "work"},
                       "days[0]": "d1", "days[1]": "d2"}}
    rows = map_rows(spec, {"e": ["a@b.c", ""], "d1": ["Mon", None], "d2": ["", "Fri"]})
    assert rows == [{"contact": {"email": "a@b.c", "kind": "work"}, "days": ["Mon"]},
                    {"contact": None, "days": ["Fri"]}]


def test_keyed_children_from_a_file_with_orphans(tmp_path: Path) -> None:
    (tmp_path / "phones.csv").write_text(
        "owner,number\n417,555-1\nZZ9,555-2\n417,555-3\n,555-4\n", encoding="utf-8")
    spec = {"fields": {"id": "id"}, "children": {"phones": {
        "file": "phones.csv", "key": "owner", "parent_key": "id",
        "fields": {"number": "number", "owner": {"parent": "name"}}}}}
    table = pa.table({"id": [417.0, 5.0, 417.0], "name": ["A", "B", "C"]})
    bound = Mapping.from_dict(spec, source=str(tmp_path / "m.toml")).bind(table.schema)
    assert [(i.code, i.row) for i in bound.issues] == [("orphan-child-row", 5)]
    rows = bound.transform(table.to_batches()[0]).to_pylist()
    assert rows == [
        {"id": 417.0, "phones": [{"number": "555-1", "owner": "A"},
                                 {"number": "555-3", "owner": "A"}]},
        {"id": 5.0, "phones": []},
        {"id": 417.0, "phones": [{"number": "555-1", "owner": "C"},
                                 {"number": "555-3", "owner": "C"}]}]
    orphans = bound.finish()
    assert [(i.code, i.row, i.value, i.severity) for i in orphans] == [
        ("orphan-child-row", 3, "ZZ9", "error")]
    assert "phones.csv row 3" in orphans[0].message
    assert bound.issues[-1] is orphans[0]


def test_a_sheet_child_needs_the_source_path() -> None:
    spec = {"fields": {"id": "id"}, "children": {"a": {
        "sheet": "Addresses", "key": "accountId", "parent_key": "id", "fields": {"c": "city"}}}}
    with pytest.raises(MappingError, match="needs source_path"):
        Mapping.from_dict(spec).bind(pa.schema([("id", pa.string())]))


def test_output_follows_mapping_order_without_a_schema() -> None:
    rows = map_rows({"fields": {"z": "a", "p[0].x": "a", "b": "a"}}, {"a": ["1"]})
    assert list(rows[0]) == ["z", "p", "b"]


def test_a_batch_of_another_source_is_refused() -> None:
    bound = Mapping.from_dict({"fields": {"x": "a"}}).bind(pa.schema([("a", pa.string())]))
    with pytest.raises(MappingError, match="bind it to this source"):
        bound.transform(pa.record_batch({"b": ["1"]}))


# -- odd values (hypothesis) -----------------------------------------------------------

ODD_TEXT = st.text(alphabet=st.sampled_from(
    [*"aZé ß😀-;", "\t", "\n", "\u00a0", "\u3000", "\u2003", "\x85", "\r"]), max_size=12)
CELLS = st.lists(st.none() | ODD_TEXT, max_size=30)


@settings(max_examples=150, deadline=None)
@given(CELLS)
def test_trim_and_normalize_agree_with_python(cells: list[str | None]) -> None:
    assert column("c", cells, trim=True) == [c if c is None else c.strip() for c in cells]
    assert column({"column": "c", "normalize_space": True}, cells) == [
        c if c is None else " ".join(c.split()) for c in cells]
    assert column("c", cells) == cells  # no option: untouched


@settings(max_examples=150, deadline=None)
@given(CELLS)
def test_split_and_index_agree_with_python(cells: list[str | None]) -> None:
    assert column({"column": "c", "split": ";"}, cells, trim=True) == [
        [] if c is None else [p.strip() for p in c.split(";") if p.strip()] for c in cells]
    assert column({"column": "c", "split": ";", "index": -2}, cells) == [
        None if c is None or len(c.split(";")) < 2 else c.split(";")[-2] for c in cells]


@settings(max_examples=150, deadline=None)
@given(CELLS, st.dictionaries(ODD_TEXT, ODD_TEXT, max_size=4))
def test_value_maps_agree_with_a_dict(cells: list[str | None], values: dict[str, str]) -> None:
    if not values:
        return
    assert column({"column": "c", "values": values}, cells) == [
        None if c is None else values.get(c, c) for c in cells]


@settings(max_examples=150, deadline=None)
@given(CELLS, CELLS, st.sampled_from([" ", ", ", ""]))
def test_concat_and_default_agree_with_python(a: list[str | None], b: list[str | None],
                                              separator: str) -> None:
    b = (b + [None] * len(a))[: len(a)]
    rows = map_rows({"fields": {"j": {"concat": ["a", "b"], "separator": separator,
                                      "default": "-"}}},
                    {"a": pa.array(a, pa.string()), "b": pa.array(b, pa.string())})
    expected = [separator.join(part for part in pair if part) or "-"
                for pair in zip(a, b, strict=True)]
    assert [r["j"] for r in rows] == expected


def test_one_row_out_per_row_in_for_a_large_batch() -> None:
    size = 50_000
    keys = [f"{i % 977:05d}" for i in range(size)]
    rows = map_rows({"options": {"trim": True},
                     "fields": {"k": "k", "d": {"column": "d", "split": ";"},
                                "p[0].n": "k", "p[0].t": {"constant": "x"}}},
                    {"k": keys, "d": ["a;b"] * size})
    assert len(rows) == size and [r["k"] for r in rows] == keys
    assert rows[-1] == {"k": keys[-1], "d": ["a", "b"], "p": [{"n": keys[-1], "t": "x"}]}
