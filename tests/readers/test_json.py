"""The JSON and JSON Lines readers: contract, LD items, flattening, errors, streaming."""

from __future__ import annotations

import codecs
import datetime as dt
import gzip
import io
import json
import math
import re
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ldtransform
from ldtransform.errors import ConfigError, EncodingError, ReadError
from ldtransform.readers import _jsonflat
from ldtransform.readers import jsonscan as _jsonscan
from ldtransform.readers.json import JsonLinesReader, JsonReader
from ldtransform.testing import ReaderContract, UnseekableStream


def jsonable(table: pa.Table) -> list[dict[str, Any]]:
    """The table's rows as JSON-ready dicts (dates as ISO strings)."""
    return [{key: value.isoformat() if isinstance(value, dt.date) else value
             for key, value in row.items()} for row in table.to_pylist()]


def dates_as_text(table: pa.Table) -> pa.Table:
    index = table.schema.get_field_index("joined")
    return table.set_column(index, "joined", table["joined"].cast(pa.string()))


class TestJsonReaderContract(ReaderContract):
    format = "json"

    def write_table(self, table: pa.Table, path: Path) -> None:
        # json.dumps writes every float with a point or exponent (0.0, 1000000.0).
        path.write_text(json.dumps(jsonable(table), indent=1, ensure_ascii=False),
                        encoding="utf-8")

    def expected(self, table: pa.Table) -> pa.Table:
        return dates_as_text(table)

    def malformed_inputs(self) -> list[bytes]:
        return [
            b'[{"a": 1}, {"a": ',  # truncated
            b'[{"a": 1}] trailing',
            b"42",
            b'[{"a": "caf\xe9"}]',  # Latin-1 byte in UTF-8
            b'{"a": 1}',  # an object, not an array
            b'[{"a": 1},]',
            b"[1, 2]",
            b"",
        ]


class TestJsonLinesReaderContract(ReaderContract):
    format = "jsonl"

    def write_table(self, table: pa.Table, path: Path) -> None:
        path.write_text("".join(json.dumps(row) + "\n" for row in jsonable(table)),
                        encoding="utf-8")

    def expected(self, table: pa.Table) -> pa.Table:
        return dates_as_text(table)

    def malformed_inputs(self) -> list[bytes]:
        return [
            b'{"a": 1}\n{"a": \n{"a": 3}\n',  # a broken line
            b'{"a": 1}\n{"a": "caf\xe9"}\n',
            b'{"a": 1}\n[1, 2]\n',
            b'{"a": 1} {"a": 2}\n',
        ]

    def test_empty_input_still_has_schema(self, tmp_path: Path) -> None:
        # No records in JSON Lines is no bytes at all: an empty file, which is an error.
        path = tmp_path / "none.jsonl"
        self.write_table(pa.table({"a": pa.array([], pa.string())}), path)
        with pytest.raises(ReadError, match="the file is empty"):
            ldtransform.read(path)


# -- LD items ------------------------------------------------------------------------------

ADDRESS_KEYS = ("name", "city", "postalCode", "region", "addressLine1", "addressLine2",
                "addressLine3", "country", "addressType", "addressNote", "primary")


def account(account_id: str, action: str, *, blocked: bool, days: list[str]) -> dict[str, Any]:
    """An Account item shaped as in LD-API.md 3.1."""
    address = dict.fromkeys(ADDRESS_KEYS, "")
    address |= {"name": "EXAMPLE CUSTOMER", "city": "Boston", "postalCode": "02134",
                "country": "US", "addressType": "Work", "primary": True}
    return {
        "headers": {"category": "entity", "type": "Account", "action": action},
        "data": {
            "accountClass": "/Account/accountClass[invoiced]",
            "accountFamily": "/Account/accountFamily[]/group[]",
            "accountId": account_id,
            "accountType": "",
            "channel": "20",
            "currency": "USD",
            "name": f"EXAMPLE CUSTOMER {account_id}",
            "paymentTerms": "CCOD",
            "exposure": 0.0,
            "limit": 0.0,
            "creditBlock": blocked,
            "overallBlock": False,
            "accountLicenseInformation": [{
                "licenseNumber": "L-1", "licenseValidFrom": "2014-02-01T05:00:00+0000",
                "licenseValidTo": "2015-02-28T05:00:00+0000", "licenseType": "7"}],
            "addresses": [address, address | {"city": "Denver", "primary": False}],
            "phones": [{"phoneNumber": "2223334455", "phoneCountryCode": "1",
                        "phoneType": "Work"}],
            "deliveryDays": days,
        },
    }


ITEMS = [account("ABC123", "Create", blocked=True, days=["Thu"]),
         account("ABC125", "Update", blocked=False, days=["Mon", "Fri"])]


def test_ld_items_unwrap_to_data_columns_and_header_columns(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps(ITEMS, indent=2), encoding="utf-8")
    frames = ldtransform.read(path)
    table = frames.to_table()
    assert frames.info["envelope"] is True and frames.info["mixed_columns"] == []
    headers = ["_headers.category", "_headers.type", "_headers.action"]
    assert table.column_names == headers + list(ITEMS[0]["data"])
    assert table["_headers.action"].to_pylist() == ["Create", "Update"]
    for row, item in zip(table.to_pylist(), ITEMS, strict=True):
        assert {key: row[key] for key in item["data"]} == item["data"]
        assert {key: row[f"_headers.{key}"] for key in item["headers"]} == item["headers"]
    types = {field.name: field.type for field in table.schema}
    assert types["exposure"] == pa.float64() and types["creditBlock"] == pa.bool_()
    assert types["channel"] == pa.string() and types["deliveryDays"] == pa.list_(pa.string())
    address = types["addresses"]
    assert pa.types.is_list(address) and pa.types.is_struct(address.value_type)
    assert [f.name for f in address.value_type] == list(ADDRESS_KEYS)
    assert address.value_type.field("primary").type == pa.bool_()


def test_ld_items_in_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "accounts.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in ITEMS), encoding="utf-8")
    frames = ldtransform.read(path)
    rows = frames.to_table().to_pylist()
    assert frames.info["envelope"] is True
    assert [row["accountId"] for row in rows] == ["ABC123", "ABC125"]


def test_records_that_are_not_all_items_are_not_unwrapped(tmp_path: Path) -> None:
    path = tmp_path / "mixed.json"
    odd = {"headers": {"action": "Create"}, "data": {"accountId": "X"}, "note": "extra"}
    path.write_text(json.dumps([*ITEMS, odd]), encoding="utf-8")
    frames = ldtransform.read(path)
    table = frames.to_table()
    assert frames.info["envelope"] is False
    assert table["headers.action"].to_pylist() == ["Create", "Update", "Create"]
    assert table["data.accountId"].to_pylist() == ["ABC123", "ABC125", "X"]
    assert table["note"].to_pylist() == [None, None, "extra"]


# -- flattening and types ------------------------------------------------------------------

def write_json(tmp_path: Path, records: list[Any], name: str = "data.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def test_nested_objects_become_dotted_columns(tmp_path: Path) -> None:
    records = [
        {"id": "1", "address": {"city": "Boston", "geo": {"lat": 42.36, "lon": -71.06}}},
        {"id": "2", "address": {"city": "Denver"}, "extra": {}},
    ]
    table = ldtransform.read(write_json(tmp_path, records)).to_table()
    assert table.column_names == ["id", "address.city", "address.geo.lat",
                                  "address.geo.lon", "extra"]
    assert table.to_pylist() == [
        {"id": "1", "address.city": "Boston", "address.geo.lat": 42.36,
         "address.geo.lon": -71.06, "extra": None},
        {"id": "2", "address.city": "Denver", "address.geo.lat": None,
         "address.geo.lon": None, "extra": None},
    ]


def test_flattened_name_collision_is_an_error(tmp_path: Path) -> None:
    path = write_json(tmp_path, [{"a": 1}, {"a.b": 1, "a": {"b": 2}}])
    with pytest.raises(ReadError, match=r"record 2: .*'a\.b'"):
        ldtransform.read(path)


def test_type_unification(tmp_path: Path) -> None:
    records = [
        {"code": "007", "n": 1, "x": 1, "flag": True, "empty": None, "big": 1, "wide": 1.5},
        {"code": "42", "n": 2**60, "x": 2.5, "flag": None, "big": 2**64, "wide": 2**53 + 1},
    ]
    frames = ldtransform.read(write_json(tmp_path, records))
    table = frames.to_table()
    assert table.schema == pa.schema([
        ("code", pa.string()), ("n", pa.int64()), ("x", pa.float64()), ("flag", pa.bool_()),
        ("empty", pa.string()), ("big", pa.string()), ("wide", pa.string())])
    assert table["code"].to_pylist() == ["007", "42"]
    assert table["n"].to_pylist() == [1, 2**60]
    assert table["x"].to_pylist() == [1.0, 2.5]
    assert table["big"].to_pylist() == ["1", str(2**64)]
    assert table["empty"].to_pylist() == [None, None]
    # 2**53 + 1 as a float would silently become 2**53: the column keeps the digits.
    assert table["wide"].to_pylist() == ["1.5", str(2**53 + 1)]
    assert frames.info["mixed_columns"] == ["big", "wide"]


def test_mixed_column_becomes_json_text(tmp_path: Path) -> None:
    values = [5, "x", True, 1.5, None, ["a", 1], "007"]
    frames = ldtransform.read(write_json(tmp_path, [{"v": v} for v in values]))
    table = frames.to_table()
    assert table.schema == pa.schema([("v", pa.string())])
    assert table["v"].to_pylist() == ["5", "x", "true", "1.5", None, '["a",1]', "007"]
    assert frames.info["mixed_columns"] == ["v"]


def test_lists_of_objects_take_the_union_of_keys(tmp_path: Path) -> None:
    records = [
        {"phones": [{"number": "1", "primary": True}, {"number": "2", "ext": 12}]},
        {"phones": []},
        {"phones": None},
        {"phones": [{"number": 3}]},
        {"phones": [{"number": "4", "tags": ["a", "b"]}]},
    ]
    frames = ldtransform.read(write_json(tmp_path, records))
    table = frames.to_table()
    phone = pa.struct([("number", pa.string()), ("primary", pa.bool_()), ("ext", pa.int64()),
                       ("tags", pa.list_(pa.string()))])
    assert table.schema == pa.schema([("phones", pa.list_(phone))])
    assert frames.info["mixed_columns"] == ["phones[].number"]
    assert table["phones"].to_pylist() == [
        [{"number": "1", "primary": True, "ext": None, "tags": None},
         {"number": "2", "primary": None, "ext": 12, "tags": None}],
        [],
        None,
        [{"number": "3", "primary": None, "ext": None, "tags": None}],
        [{"number": "4", "primary": None, "ext": None, "tags": ["a", "b"]}],
    ]


def test_lists_of_scalars_stay_typed_lists(tmp_path: Path) -> None:
    records = [{"days": ["Thu"], "sizes": [1, 2.5], "none": [], "odd": [1, "a"]}]
    frames = ldtransform.read(write_json(tmp_path, records))
    assert frames.schema == pa.schema([
        ("days", pa.list_(pa.string())), ("sizes", pa.list_(pa.float64())),
        ("none", pa.list_(pa.string())), ("odd", pa.list_(pa.string()))])
    assert frames.to_table().to_pylist() == [
        {"days": ["Thu"], "sizes": [1.0, 2.5], "none": [], "odd": ["1", "a"]}]


def test_given_schema_is_used_and_checked(tmp_path: Path) -> None:
    path = write_json(tmp_path, [{"id": 7, "amount": 1}, {"id": "A", "amount": 2}])
    schema = pa.schema([("id", pa.string()), ("amount", pa.float64())])
    table = JsonReader().read(path, schema=schema).to_table()
    assert table.schema == schema
    assert table.to_pylist() == [{"id": "7", "amount": 1.0}, {"id": "A", "amount": 2.0}]
    narrow = pa.schema([("id", pa.string())])
    with pytest.raises(ReadError, match=r"records 1-2: field\(s\) 'amount' are not in"):
        JsonReader().read(path, schema=narrow).to_table()


def test_given_schema_with_header_columns_reads_ld_items(tmp_path: Path) -> None:
    path = write_json(tmp_path, ITEMS)
    schema = pa.schema([("_headers.action", pa.string()), ("accountId", pa.string()),
                        ("exposure", pa.float64())])
    with pytest.raises(ReadError, match="'accountClass'"):  # the rest must be named too
        JsonReader().read(path, schema=schema).to_table()
    full = ldtransform.read(path).schema
    table = JsonReader().read(path, schema=full).to_table()
    assert table["_headers.action"].to_pylist() == ["Create", "Update"]


def test_records_without_fields_still_count(tmp_path: Path) -> None:
    frames = ldtransform.read(write_json(tmp_path, [{}, {}, {}]))
    assert frames.schema.names == [] and frames.to_table().num_rows == 3


def test_blank_json_lines_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"\n \n")
    with pytest.raises(ReadError, match="the file is empty"):
        ldtransform.read(path)


# -- row numbers -----------------------------------------------------------------------------

def test_jsonl_blank_lines_keep_physical_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "gaps.jsonl"
    path.write_bytes(b'{"n": 1}\r\n{"n": 2}\n\n{"n": 4}\n  \t\n\n{"n": 7}\n{"n": 8}\n\n')
    numbered = list(ldtransform.read(path, batch_size=10).numbered())
    assert [(n.first_row, n.batch["n"].to_pylist()) for n in numbered] == [
        (1, [1, 2]), (4, [4]), (7, [7, 8])]
    numbered = list(ldtransform.read(path, batch_size=1).numbered())
    assert [n.first_row for n in numbered] == [1, 2, 4, 7, 8]


def test_array_records_are_numbered_by_index(tmp_path: Path) -> None:
    path = write_json(tmp_path, [{"n": n} for n in range(1, 8)])
    numbered = list(ldtransform.read(path, batch_size=3).numbered())
    assert [(n.first_row, n.batch["n"].to_pylist()) for n in numbered] == [
        (1, [1, 2, 3]), (4, [4, 5, 6]), (7, [7])]


# -- errors ----------------------------------------------------------------------------------

def read_error(path: Path, **options: Any) -> ReadError:
    with pytest.raises(ReadError) as caught:
        ldtransform.read(path, **options).to_table()
    error = caught.value
    assert str(path) in str(error)
    return error


@pytest.fixture(params=[1, 3, 1 << 20], ids=["chunk1", "chunk3", "chunk1M"])
def chunk(request: pytest.FixtureRequest) -> Iterator[int]:
    """Read arrays in chunks of this many bytes, so that buffer edges fall everywhere."""
    with mock.patch.object(_jsonscan, "CHUNK_BYTES", request.param):
        yield request.param


@pytest.mark.usefixtures("chunk")
def test_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "pretty.json"
    path.write_text('[\n  {"a": 1},\n  {"a": 2 "b": 3},\n  {"a": 4}\n]\n', encoding="utf-8")
    error = read_error(path)
    assert error.line == 3
    message = str(error)
    assert "line 3" in message and "column 11" in message and "character 25" in message
    assert "element 2" in message and "expected ','" in message and '"b": 3' in message
    assert error.hint and "comma" in error.hint


@pytest.mark.parametrize(("text", "line", "expected"), [
    ('[\n{"a": 1}\n{"a": 2}]', 3, r"expected ',' or '\]' after element 1, found '\{\"a\""),
    ('[{"a": 1},\n {"a": 2}', 2, r"the file ends after element 2"),
    ('[{"a": 1},\n {"a": "open', 2, r"a string is never closed"),
    ('[{"a": 1},\n]', 2, r"a ',' after element 1 is followed by '\]'"),
    ('\n\n{"a": 1}', 3, r"top level must be a JSON array of records, but it is an object"),
    ('[{"a": 1}]\n[{"a": 2}]', 2, r"unexpected data after the closing '\]'"),
    ('[{"a": "tab\there"}]', 1, r"raw control character"),
])
@pytest.mark.usefixtures("chunk")
def test_array_structure_errors(tmp_path: Path, text: str, line: int, expected: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    error = read_error(path)
    assert error.line == line
    assert error.problem is not None

    assert re.search(expected, error.problem), error.problem


def test_element_that_is_not_an_object(tmp_path: Path) -> None:
    error = read_error(write_json(tmp_path, [{"a": 1}, [1, 2]]))
    assert "record 2 is an array, not an object" in str(error)


@pytest.mark.parametrize(("line", "expected"), [
    ('{"a": 1,}', r"line 2: invalid JSON at column 9: expected a property name"),
    ('"text"', r"line 2: the line holds a string, not an object"),
    ('{"a": 1} x', r"line 2: invalid JSON at column 10: more data after the value"),
])
def test_jsonl_line_errors(tmp_path: Path, line: str, expected: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 0}\n' + line + '\n{"a": 3}\n', encoding="utf-8")
    error = read_error(path)
    assert error.line == 2

    assert re.search(expected, str(error)), str(error)


@pytest.mark.parametrize("reader", ["json", "jsonl"])
def test_invalid_bytes_raise_encoding_error_with_line(tmp_path: Path, reader: str) -> None:
    records = [{"name": "ok"}, {"name": "fine"}, {"name": "caf\udce9"}]
    text = (json.dumps(records, indent=0, ensure_ascii=False) if reader == "json"
            else "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    path = tmp_path / f"latin.{reader}"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(EncodingError) as caught:
        ldtransform.read(path).to_table()
    assert caught.value.line == (9 if reader == "json" else 3)
    assert str(path) in str(caught.value) and "\\xe9" in str(caught.value)
    table = ldtransform.read(path, encoding="cp1252").to_table()
    assert table["name"].to_pylist() == ["ok", "fine", "café"]


def test_deep_nesting_is_a_read_error(tmp_path: Path) -> None:
    deep = "[" * 5000 + "]" * 5000
    (tmp_path / "deep.json").write_text(f'[{{"a": {deep}}}]', encoding="utf-8")
    (tmp_path / "deep.jsonl").write_text(f'{{"a": {deep}}}\n', encoding="utf-8")
    for name in ("deep.json", "deep.jsonl"):
        assert "nested too deeply" in str(read_error(tmp_path / name))


def test_utf16_without_bom_gets_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "wide.json"
    path.write_bytes('[{"a": "x"}]'.encode("utf-16-be"))
    assert "encoding='utf-16-le'" in str(read_error(path))
    assert JsonReader(encoding="utf-16-be").read(path).to_table().to_pylist() == [{"a": "x"}]


def test_text_mode_file_is_refused() -> None:
    with pytest.raises(ConfigError, match="text mode"):
        JsonReader().read(io.StringIO("[]"))  # type: ignore[arg-type]


def test_auto_encoding_detects_cp1252(tmp_path: Path) -> None:
    path = tmp_path / "legacy.json"
    path.write_bytes('[{"name": "Café “quoted”"}]'.encode("cp1252"))
    frames = ldtransform.read(path, encoding="auto")
    assert frames.to_table().to_pylist() == [{"name": "Café “quoted”"}]
    assert frames.info["encoding"] == "cp1252"


def test_unknown_encoding_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown encoding"):
        JsonReader(encoding="no-such-codec")
    with pytest.raises(ConfigError, match="unknown encoding"):
        JsonLinesReader(encoding="hex")


def test_nan_and_huge_integers_are_accepted_in_both(tmp_path: Path) -> None:
    text = '{"x": NaN, "n": 123456789012345678901234567890}\n'
    (tmp_path / "a.jsonl").write_text(text, encoding="utf-8")
    (tmp_path / "a.json").write_text(f"[{text}]", encoding="utf-8")
    for name in ("a.jsonl", "a.json"):
        row = ldtransform.read(tmp_path / name).to_table().to_pylist()[0]
        assert math.isnan(row["x"]) and row["n"] == "123456789012345678901234567890"


def test_lone_surrogate_is_a_read_error(tmp_path: Path) -> None:
    error = read_error(write_json(tmp_path, [{"a": "\ud800"}]))
    assert "lone surrogate" in str(error) and "column 'a'" in str(error)


# -- encodings, compression, sources -------------------------------------------------------

TRICKY = [
    {"text": 'say "hi" \\ back\\slash', "n": 1},
    {"text": "line\u2028separator\u2029para", "n": 2},
    {"text": "emoji 😀 and 👩‍👩‍👧 and é", "n": 3},
    {"text": "tab\tnew\nline\r\x00", "n": 4},
    {"text": "日本語 テキスト ✓ \ufeff", "n": 5},
]


@pytest.mark.parametrize("ensure_ascii", [True, False])
@pytest.mark.usefixtures("chunk")
def test_escapes_and_unicode_across_any_chunk_boundary(tmp_path: Path, ensure_ascii: bool
                                                       ) -> None:
    path = tmp_path / "tricky.json"
    path.write_text(json.dumps(TRICKY, indent=2, ensure_ascii=ensure_ascii), encoding="utf-8")
    assert ldtransform.read(path).to_table().to_pylist() == TRICKY


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_escapes_and_unicode_in_json_lines(tmp_path: Path, ensure_ascii: bool) -> None:
    path = tmp_path / "tricky.jsonl"
    lines = [json.dumps(r, ensure_ascii=ensure_ascii) for r in TRICKY]
    path.write_text("\n".join(lines), encoding="utf-8")  # no final newline
    assert ldtransform.read(path).to_table().to_pylist() == TRICKY


@pytest.mark.parametrize(("name", "codec", "bom"), [
    ("bom.json", "utf-8", codecs.BOM_UTF8),
    ("bom.jsonl", "utf-8", codecs.BOM_UTF8),
    ("wide.json", "utf-16-le", codecs.BOM_UTF16_LE),
    ("wide.jsonl", "utf-16-le", codecs.BOM_UTF16_LE),
])
def test_byte_order_marks(tmp_path: Path, name: str, codec: str, bom: bytes) -> None:
    text = (json.dumps(TRICKY, ensure_ascii=False) if name.endswith(".json")
            else "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in TRICKY))
    path = tmp_path / name
    path.write_bytes(bom + text.encode(codec))
    frames = ldtransform.read(path)
    assert frames.to_table().to_pylist() == TRICKY
    assert frames.info["encoding"] == ("utf-8-sig" if codec == "utf-8" else "utf-16")


@pytest.mark.parametrize("name", ["rows.json.gz", "rows.jsonl.gz", "no_suffix_hint.json"])
def test_gzip_input(tmp_path: Path, name: str) -> None:
    records = [{"id": f"{n:03d}", "value": n / 2} for n in range(1000)]
    text = (json.dumps(records) if ".jsonl" not in name
            else "".join(json.dumps(r) + "\n" for r in records))
    path = tmp_path / name
    path.write_bytes(gzip.compress(text.encode()))
    frames = ldtransform.read(path, batch_size=300)
    assert frames.to_table().to_pylist() == records
    assert frames.info["compression"] == "gzip"


def test_truncated_gzip_is_a_read_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.json.gz"
    data = gzip.compress(json.dumps([{"n": n} for n in range(5000)]).encode())
    path.write_bytes(data[: len(data) // 2])
    assert "truncated" in str(read_error(path))


@pytest.mark.parametrize("reader", [JsonReader, JsonLinesReader])
def test_file_objects_seekable_or_not(reader: type[JsonReader]) -> None:
    records = [{"a": n, "b": "x" * n} for n in range(10)]
    text = (json.dumps(records) if reader is JsonReader
            else "".join(json.dumps(r) + "\n" for r in records))
    pipe = UnseekableStream(text.encode())
    frames = reader().read(pipe, batch_size=4)
    assert frames.source == "<stream>"
    assert frames.to_table().to_pylist() == records
    prefixed = io.BytesIO(b"HEADER" + text.encode())
    prefixed.seek(6)  # reading starts where the caller's file stands
    assert reader().read(prefixed).to_table().to_pylist() == records
    assert not prefixed.closed


# -- streaming -------------------------------------------------------------------------------

#: Enough records that half the file is far more than the few blocks of text read ahead.
BIG_RECORDS = 450_000


@pytest.fixture(scope="module")
def big_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("big")
    records = ({"id": f"A{n:06d}", "n": n, "amount": n / 4, "ok": n % 3 == 0,
                "tags": ["x"] if n % 2 else []} for n in range(BIG_RECORDS))
    lines = [json.dumps(r) for r in records]
    paths = {"json": folder / "big.json", "jsonl": folder / "big.jsonl"}
    paths["json"].write_text("[\n" + ",\n".join(lines) + "\n]\n", encoding="utf-8")
    paths["jsonl"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths


def batches_within_memory(path: Path, limit: int) -> Iterator[pa.RecordBatch]:
    """Read ``path`` in small batches, failing if Python memory ever exceeds ``limit``."""
    tracemalloc.start()
    try:
        frames = ldtransform.read(path, batch_size=2000)
        yield from frames
        _, peak = tracemalloc.get_traced_memory()
        assert frames.rows_read == BIG_RECORDS
    finally:
        tracemalloc.stop()
    assert peak < limit, f"peak {peak} bytes"


@pytest.mark.parametrize("reader", ["json", "jsonl"])
def test_large_file_streams_in_bounded_memory(big_files: dict[str, Path], reader: str) -> None:
    path = big_files[reader]
    size = path.stat().st_size
    first_rows, count = [], 0
    # Holding the whole text would take more than the file's size, its records ten times
    # that; streaming holds a few blocks of text (one read, two parsed ahead, one spooled)
    # and a batch.
    for batch in batches_within_memory(path, limit=size // 2):
        assert batch.num_rows <= 2000
        first_rows.append(batch["n"][0].as_py())
        count += batch.num_rows
    assert count == BIG_RECORDS and first_rows[:3] == [0, 2000, 4000]
    assert size > 10_000_000  # so half of it is far more than a buffer and a batch


# -- round trips -----------------------------------------------------------------------------

# Text leans on what JSON must escape or may leave raw: quotes, backslashes, newlines,
# U+2028, astral characters.
# Lone surrogates are not text; reading them is a documented ReadError, tested above.
CHARACTERS = st.characters(exclude_categories=("Cs",))
TEXT = st.text(CHARACTERS | st.sampled_from(['"', "\\", "\n", "\u2028", "😀", "\x00"]))
VALUES = (st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
          | st.floats(allow_nan=False, allow_infinity=False) | TEXT)
RECORDS = st.lists(st.text(CHARACTERS, max_size=6), min_size=1, max_size=4, unique=True).flatmap(
    lambda keys: st.lists(st.fixed_dictionaries(dict.fromkeys(keys, VALUES)), max_size=12))


def unified(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``records`` with the documented unification: ints among floats become floats,
    other mixtures become JSON text."""
    out = [dict(record) for record in records]
    for key in records[0] if records else ():
        kinds = {type(r[key]) for r in records} - {type(None)}
        exact = all(abs(r[key]) <= 2**53 for r in records if type(r[key]) is int)
        if kinds == {int, float} and exact:
            convert: Any = float
        elif len(kinds) > 1:
            convert = _jsonflat.json_text
        else:
            continue
        for record in out:
            record[key] = None if record[key] is None else convert(record[key])
    return out


@settings(max_examples=200, deadline=None)
@given(records=RECORDS, indent=st.sampled_from([None, 0, 2]), ensure_ascii=st.booleans(),
       chunk=st.sampled_from([1, 7, 1 << 20]))
def test_json_round_trip(records: list[dict[str, Any]], indent: int | None,
                         ensure_ascii: bool, chunk: int) -> None:
    data = json.dumps(records, indent=indent, ensure_ascii=ensure_ascii).encode()
    with mock.patch.object(_jsonscan, "CHUNK_BYTES", chunk):
        table = JsonReader().read(io.BytesIO(data), batch_size=5).to_table()
    assert table.to_pylist() == unified(records)


@settings(max_examples=200, deadline=None)
@given(records=RECORDS, ensure_ascii=st.booleans())
def test_jsonl_round_trip(records: list[dict[str, Any]], ensure_ascii: bool) -> None:
    data = "".join(json.dumps(r, ensure_ascii=ensure_ascii) + "\n" for r in records).encode()
    if not records:
        with pytest.raises(ReadError, match="the file is empty"):
            JsonLinesReader().read(io.BytesIO(data))
        return
    table = JsonLinesReader().read(io.BytesIO(data), batch_size=5).to_table()
    assert table.to_pylist() == unified(records)
