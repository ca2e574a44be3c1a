"""The JSON readers' block path (Arrow's parser, a block at a time) and its hand-over to
the record-by-record path: both give the same rows, types, numbers and errors."""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pyarrow as pa
import pyarrow.json as pajson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ldtransform
from ldtransform.errors import ReadError
from ldtransform.readers import json as json_readers
from ldtransform.readers._jsonblocks import parse_json_lines, recut_elements, split_array_blocks
from ldtransform.readers.json import JsonLinesReader, JsonReader

#: Small blocks, so that a few hundred records span many of them.
BLOCK = 4096


@pytest.fixture(autouse=True)
def small_blocks() -> Iterator[None]:
    with mock.patch.object(json_readers, "READ_BLOCK_BYTES", BLOCK):
        yield


def item(n: int, **data: Any) -> dict[str, Any]:
    """An LD item envelope with a nested list of addresses."""
    return {"headers": {"category": "entity", "type": "Account", "id": str(n)},
            "data": {"accountId": f"A{n:05d}", "exposure": n / 4, "blocked": n % 3 == 0,
                     "addresses": [{"city": "Oslo", "primary": True},
                                   {"city": f"C{n}", "postalCode": str(n)}][: 1 + n % 2],
                     "owner": {"name": f"N{n}", "since": "2020-01-02T03:04:05Z"},
                     **data}}


def write(path: Path, records: list[Any], layout: str) -> Path:
    lines = [json.dumps(r, separators=(",", ":")) for r in records]
    if layout == "jsonl":
        text = "".join(line + "\n" for line in lines)
    elif layout == "lines":
        text = "[\n" + ",\n".join(lines) + "\n]\n"
    elif layout == "pretty":
        text = json.dumps(records, indent=2)
    else:
        text = "[" + ",".join(lines) + "]"
    data = text.encode()
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def suffix(layout: str) -> str:
    return ".jsonl" if layout == "jsonl" else ".json"


def record_by_record(path: Path, **options: Any) -> ldtransform.Frames:
    """``path`` read with the block path switched off."""
    with mock.patch.object(json_readers._JsonReaderBase, "_fast", return_value=None):
        return ldtransform.read(path, **options)


def by_blocks(path: Path, **options: Any) -> ldtransform.Frames:
    """``path`` read where the block path must not hand over."""
    with mock.patch.object(json_readers._JsonReaderBase, "_infer",
                           side_effect=AssertionError("handed over")):
        return ldtransform.read(path, **options)


def numbered(frames: ldtransform.Frames) -> list[tuple[int, list[dict[str, Any]]]]:
    return [(n.first_row, n.batch.to_pylist()) for n in frames.numbered()]


@pytest.mark.parametrize("layout", ["jsonl", "lines"])
def test_items_read_by_blocks_as_record_by_record(tmp_path: Path, layout: str) -> None:
    records = [item(n) for n in range(300)]
    records[200]["data"]["late"] = "only here"  # a column first seen in a later block
    path = write(tmp_path / f"items{suffix(layout)}", records, layout)
    fast, slow = by_blocks(path, batch_size=70), record_by_record(path, batch_size=70)
    assert fast.schema == slow.schema
    assert fast.schema.field("addresses").type == pa.list_(pa.struct(
        [("city", pa.string()), ("primary", pa.bool_()), ("postalCode", pa.string())]))
    assert fast.schema.names[:4] == ["_headers.category", "_headers.type", "_headers.id",
                                     "accountId"]
    assert "owner.since" in fast.schema.names  # date-like text stays text
    assert numbered(fast) == numbered(slow)


def test_nested_fields_keep_the_order_records_give_them(tmp_path: Path) -> None:
    records = [{"a": {"b": 1}, "x": 1}, {"a": {"b": 2, "c": 3}, "x": 2}]
    path = write(tmp_path / "order.jsonl", records, "jsonl")
    assert by_blocks(path).schema.names == ["a.b", "x", "a.c"]
    assert record_by_record(path).schema.names == ["a.b", "x", "a.c"]


def test_a_type_change_after_many_rows_settles_the_column(tmp_path: Path) -> None:
    records = [{"n": n, "note": None, "amount": n} for n in range(2000)]
    records += [{"n": 2000, "note": "at last", "amount": 0.5}]
    path = write(tmp_path / "late.jsonl", records, "jsonl")
    frames = by_blocks(path, batch_size=500)
    assert frames.schema.field("note").type == pa.string()
    assert frames.schema.field("amount").type == pa.float64()
    batches = list(frames)
    assert all(batch.schema == frames.schema for batch in batches)
    table = pa.Table.from_batches(batches)
    assert table["note"].to_pylist() == [None] * 2000 + ["at last"]
    assert table["amount"].to_pylist()[-2:] == [1999.0, 0.5]


def test_blank_lines_keep_line_numbers_across_blocks(tmp_path: Path) -> None:
    path = tmp_path / "gaps.jsonl"
    lines = [json.dumps({"n": n, "pad": "x" * 40}) for n in range(1, 301)]
    lines[150] = ""
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    fast = by_blocks(path, batch_size=100)
    assert [n for n, _ in numbered(fast)] == [1, 101, 152, 252]
    assert numbered(by_blocks(path, batch_size=100)) == numbered(
        record_by_record(path, batch_size=100))


@pytest.mark.parametrize("layout", ["jsonl", "lines"])
def test_a_syntax_error_mid_file_is_located_exactly(tmp_path: Path, layout: str) -> None:
    path = write(tmp_path / f"broken{suffix(layout)}", [item(n) for n in range(400)], layout)
    lines = path.read_bytes().split(b"\n")
    broken = 301  # a line in a later block
    lines[broken - 1] = lines[broken - 1].replace(b'"exposure":', b'"exposure"', 1)
    path.write_bytes(b"\n".join(lines))
    column = lines[broken - 1].index(b'"exposure"') + len(b'"exposure"') + 1
    with pytest.raises(ReadError) as caught:
        ldtransform.read(path).to_table()
    assert caught.value.line == broken
    assert f"column {column}" in str(caught.value)
    assert "expected ':'" in str(caught.value)


@pytest.mark.parametrize("layout", ["pretty", "oneline"])
@pytest.mark.parametrize(("broken", "problem"), [
    (b'"exposure"', "expected ':'"),
    (b'"exposure":"x\ny",\n"ignored":', "a raw control character"),
])
def test_errors_in_other_layouts_past_the_first_block_are_located(
        tmp_path: Path, layout: str, broken: bytes, problem: str) -> None:
    """Late in the file, where the splitter cuts by the separator it learned, a syntax
    error is still reported where the record-by-record path finds it."""
    path = write(tmp_path / "items.json", [item(n) for n in range(400)], layout)
    text = path.read_bytes()
    at = text.index(b'"exposure":', len(text) * 3 // 4)
    path.write_bytes(text[:at] + broken + text[at + len(b'"exposure":'):])
    with pytest.raises(ReadError, match=re.escape(problem)) as fast:
        ldtransform.read(path).to_table()
    with pytest.raises(ReadError) as slow:
        record_by_record(path).to_table()
    assert str(fast.value) == str(slow.value)
    assert fast.value.line == text[:at].count(b"\n") + 1


def test_bad_lines_mid_file_are_reported_and_the_rest_read(tmp_path: Path) -> None:
    lines = [json.dumps({"n": n}) for n in range(1, 501)]
    lines[299] = '{"n": 300, "n": 301}'
    lines[399] = '{"n": '
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    frames = JsonLinesReader(on_bad_row="report").read(path)
    assert frames.to_table()["n"].to_pylist() == [n for n in range(1, 501)
                                                  if n not in (300, 400)]
    assert [(i.row, i.code) for i in frames.issues] == [
        (300, "duplicate-json-key"), (400, "invalid-json")]


@pytest.mark.parametrize("layout", ["pretty", "oneline"])
def test_other_array_layouts_read_by_blocks_the_same(tmp_path: Path, layout: str) -> None:
    # Text with what structures JSON, escaped or not, wherever blocks are cut.
    records = [item(n, note='a "quoted", [bracketed] {braced} \\"' + "\\" * (n % 3),
                    ) for n in range(120)]
    expected = record_by_record(write(tmp_path / "lines.json", records, "lines")).to_table()
    path = write(tmp_path / f"items.{layout}.json", records, layout)
    assert by_blocks(path).to_table() == expected
    assert expected["note"][5].as_py() == 'a "quoted", [bracketed] {braced} \\"\\\\'


@pytest.mark.parametrize(("text", "problem"), [
    ('[\n  {"a": 1},\n  {"a": 2}\n  {"a": 3}\n]', "expected ',' or ']' after element 2"),
    ('[\n  {"a": 1},\n  {"a": "x\ny"}\n]', "a raw control character"),
    ('[\n  {"a": 1},\n  {"a": 2},\n]', "followed by ']'"),
    ('[\n  {"a": 1},\n  [2]\n]', "record 2 is an array"),
])
def test_errors_in_other_layouts_are_located(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "pretty.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReadError, match=re.escape(problem)) as caught:
        JsonReader().read(path).to_table()
    assert caught.value.line in (3, 4)


@pytest.mark.parametrize("layout", ["jsonl", "lines"])
def test_gzip_reads_by_blocks(tmp_path: Path, layout: str) -> None:
    records = [item(n) for n in range(200)]
    plain = by_blocks(write(tmp_path / f"items{suffix(layout)}", records, layout))
    frames = by_blocks(write(tmp_path / f"items{suffix(layout)}.gz", records, layout))
    assert frames.to_table() == plain.to_table()
    assert frames.info["compression"] == "gzip"


@pytest.mark.parametrize(("records", "why"), [
    ([{"a": 1}] * 100 + [{"a": "x"}], "mixed kinds become JSON text"),
    ([{"a": {"b": 1}}] * 100 + [{"a": None}], "a null object is a column of its own"),
    ([{"a": 1}] * 100 + [{"a": {}}], "an empty object is a null"),
    ([{"a": 0.5}] * 100 + [{"a": 2**60}], "an integer beyond 2**53 among floats is text"),
    ([{"a": 1}] * 100 + [{"a": 2**70}], "an integer beyond 2**63 is text"),
    ([{"a.b": 1}] * 100 + [{"a": {"b": 2}}], "two fields in one column"),
])
def test_what_blocks_cannot_read_alike_is_read_record_by_record(
        tmp_path: Path, records: list[dict[str, Any]], why: str) -> None:
    path = write(tmp_path / "odd.jsonl", records, "jsonl")
    assert numbered(ldtransform.read(path)) == numbered(record_by_record(path)), why


_TRICKY_TEXT = st.text(st.sampled_from(list('ab"\\{}[],: \té\n')), max_size=12)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | _TRICKY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TRICKY_TEXT, inner,
                                                                 max_size=3),
    max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(elements=st.lists(st.dictionaries(_TRICKY_TEXT, _VALUES, max_size=4), max_size=8),
       spacing=st.sampled_from(["", " ", "\n", "\r\n  ", "\t"]),
       indent=st.sampled_from([None, 1, 4]),
       block_bytes=st.integers(1, 64))
def test_any_array_layout_splits_into_its_elements_one_per_line(
        elements: list[dict[str, Any]], spacing: str, indent: int | None,
        block_bytes: int) -> None:
    """Whatever the layout and wherever the blocks are cut, each line the splitter makes
    is one element, in order, or a parser refuses its block (the separator it learned
    recurs inside an element, or some elements are set apart otherwise) and that block
    cut again is; text inside strings is never touched."""
    if indent is None:
        text = "[" + spacing + ("," + spacing).join(
            json.dumps(e, ensure_ascii=False) for e in elements) + spacing + "]"
    else:
        text = json.dumps(elements, indent=indent, ensure_ascii=False)
    lines: list[bytes] = []
    for block in split_array_blocks(io.BytesIO(text.encode()), block_bytes):
        assert block is not None, text
        got = _element_lines(block)
        if got is None:  # as Arrow's parser, strict JSON refuses the block
            block = recut_elements(block[1])
            assert block is not None, text
            got = _element_lines(block)
        assert got is not None, text
        lines += got
    assert all(line.startswith(b"{") for line in lines)
    assert [json.loads(line) for line in lines] == elements


def _element_lines(block: tuple[int, bytes | bytearray]) -> list[bytes] | None:
    """The block's lines, unless one of them is not a JSON object alone."""
    count, data = block
    lines = bytes(data).split(b"\n")
    assert lines[-1] == b"" and len(lines) == count + 1
    try:
        if all(isinstance(json.loads(line), dict) for line in lines[:-1]):
            return lines[:-1]
    except json.JSONDecodeError:
        pass
    return None


@pytest.mark.parametrize("layout", ["pretty", "oneline"])
def test_elements_set_apart_unlike_the_first_two_are_cut_again(tmp_path: Path,
                                                               layout: str) -> None:
    """The splitter cuts where the text between the first two elements recurs. Lists of
    records inside elements that start the same way, and elements that start otherwise,
    make it cut wrongly: those blocks are cut again, still by blocks, and read alike."""
    records = [item(n) for n in range(300)]
    for n in range(5, 300, 40):  # records that start like the elements
        records[n]["data"]["related"] = [{"headers": {"id": f"r{n}"}, "data": {"k": 1}},
                                         {"headers": {"id": f"s{n}"}, "data": {"k": 2}}]
    for n in range(7, 300, 50):  # elements whose first key is another one
        records[n] = {"data": records[n]["data"], "headers": records[n]["headers"]}
    path = write(tmp_path / "items.json", records, layout)
    with mock.patch.object(json_readers, "recut_elements", wraps=recut_elements) as recut:
        fast = by_blocks(path, batch_size=70)
    slow = record_by_record(path, batch_size=70)
    assert recut.call_count >= (layout == "oneline")  # pretty: indented deeper, no miscut
    assert fast.schema == slow.schema
    got = numbered(fast)
    assert got == numbered(slow)
    assert sum(len(rows) for _, rows in got) == 300


@pytest.mark.parametrize("text", [
    '[{"a": "x\ny"}]',  # a raw line break in a string
    '[{"a": 1}, 2]',  # an element that is not an object
    '[{"a": 1} 1 {"b": 2}]',  # no comma between elements
    '[{"a": 1}}]',  # a bracket closing more than was opened
    '[{"a": 1},',  # no closing bracket
    '[{"a": 1}] x',  # more after the array
])
def test_what_is_not_an_array_of_objects_is_refused(text: str) -> None:
    blocks = list(split_array_blocks(io.BytesIO(text.encode()), 4))
    assert blocks[-1] is None


@pytest.mark.parametrize("megabytes", [1, 2, 3])
def test_a_block_is_parsed_in_parts_of_about_equal_size(megabytes: int) -> None:
    # Just over whole megabytes: parts of a fixed megabyte would leave a few records in a
    # last part of their own.
    records = [json.dumps(item(n)).encode() for n in range(60_000)]
    text = bytearray()
    count = 0
    while len(text) < megabytes << 20:
        text += records[count] + b"\n"
        count += 1
    table = parse_json_lines(text)
    parts = [len(chunk) for chunk in table.column("headers").chunks]
    assert table.num_rows == count and sum(parts) == count
    assert len(parts) == megabytes + 1
    assert min(parts) > count / len(parts) / 2


def test_a_block_arrows_threads_give_up_on_is_parsed_on_one_thread() -> None:
    # Arrow's threads, merging the types of the parts they parsed, at times fail with
    # "JSON conversion to struct<...> is not supported" and at other times not.
    text = b"".join(json.dumps(item(n)).encode() + b"\n" for n in range(5_000))
    real_read_json = pajson.read_json
    threads = []

    def read_json(source: Any, *, read_options: Any, parse_options: Any) -> pa.Table:
        threads.append(read_options.use_threads)
        if read_options.use_threads:
            raise pa.ArrowNotImplementedError("JSON conversion to struct<...> is not "
                                              "supported")
        return real_read_json(source, read_options=read_options,
                              parse_options=parse_options)

    with mock.patch.object(pajson, "read_json", read_json):
        table = parse_json_lines(text)
    assert threads == [True, False]
    assert table.equals(pajson.read_json(pa.BufferReader(text)))
