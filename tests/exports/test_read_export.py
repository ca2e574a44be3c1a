"""read_export on result files written by the server's own export writer."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from exportfiles import ODD, server_files, stored_items

import ldtransform
from ldtransform.errors import ConfigError, LdTransformError, ReadError
from ldtransform.exports import _json

UTC = dt.UTC


def odd_table(rows: int = 20) -> pa.Table:
    """Valid Odd rows, typed as validation types them."""
    records = [{
        "key": f"K{i:03d}", "text": None if i % 5 == 0 else f'line {i}, "q"\nnext',
        "code": [None, "a", "b,c", 'q"uote'][i % 4], "n": None if i % 3 == 0 else i * 10**15,
        "x": i / 7, "d": Decimal(i) / 8, "flag": [True, False, None][i % 3],
        "day": dt.date(2020, 1, 1) + dt.timedelta(days=i * 40),
        "at": dt.datetime(2021, 3, 14, 1, 59, 26, tzinfo=UTC) + dt.timedelta(hours=i * 7),
        "tags": [f"t{j}" for j in range(i % 3)],
        "kids": [{"name": f"k{j}", "born": dt.date(2010, 5, j + 1), "flag": j == 0}
                 for j in range(i % 4)],
    } for i in range(rows)]
    return pa.Table.from_pylist(records, schema=ODD.to_arrow())


@pytest.fixture
def table() -> pa.Table:
    return odd_table()


def test_server_json_reads_back_as_the_table(table: pa.Table, tmp_path: Path) -> None:
    paths = server_files(tmp_path, stored_items(table, ODD), ODD, per_file=7)
    assert len(paths) == 3
    frames = ldtransform.read_export(paths, ODD, enums="values")
    assert frames.schema == ODD.to_arrow()
    assert frames.to_table().equals(table)


def test_blocks_of_lines_and_other_layouts_give_the_same_rows(
        table: pa.Table, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (path,) = server_files(tmp_path, stored_items(table, ODD), ODD)
    lines = path.read_text(encoding="utf-8").splitlines()
    elements = [json.loads(line.rstrip(",")) for line in lines[1:-1]]
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(elements, indent=2), encoding="utf-8")
    # One element per line at first, pretty-printed after the 12th: read on from there.
    mixed = tmp_path / "mixed.json"
    mixed.write_text("[\n" + "\n".join(lines[1:13]) + json.dumps(elements[12:], indent=1)[1:],
                     encoding="utf-8")
    monkeypatch.setattr(_json, "BLOCK_BYTES", 2000)  # several blocks, cut anywhere
    for source in (path, pretty, mixed):
        assert len(list(_json.ndjson_blocks(source, 2000))) > 2
        frames = ldtransform.read_export(source, ODD, enums="values")
        batches = [numbered.batch for numbered in frames.numbered()]
        assert len(batches) > 2
        assert pa.Table.from_batches(batches, schema=frames.schema).equals(table), source


def test_empty_export_has_the_schema_columns(tmp_path: Path) -> None:
    (path,) = server_files(tmp_path, [], ODD)
    frames = ldtransform.read_export(path, ODD)
    assert frames.schema.names == ODD.field_names and frames.to_table().num_rows == 0


def test_headers_and_numbered_batches(table: pa.Table, tmp_path: Path) -> None:
    paths = server_files(tmp_path, stored_items(table, ODD), ODD, per_file=7)
    frames = ldtransform.read_export(paths, ODD, headers=True, batch_size=4)
    firsts = [(n.first_row, n.batch.num_rows) for n in frames.numbered()]
    assert firsts[:3] == [(1, 4), (5, 3), (8, 4)] and sum(r for _, r in firsts) == 20
    frames = ldtransform.read_export(paths, ODD, headers=True)
    got = frames.to_table()
    assert got.schema.names[:4] == ["_headers.category", "_headers.type", "_headers.id",
                                    "_headers.revisionId"]
    assert got["_headers.id"].to_pylist() == [str(i) for i in range(1, 21)]


def test_enumerations_become_categories_in_schema_order(table: pa.Table,
                                                        tmp_path: Path) -> None:
    paths = server_files(tmp_path, stored_items(table, ODD), ODD)
    frame = ldtransform.read_export(paths, ODD).to_pandas()
    assert list(frame["code"].cat.categories) == ["a", "b,c", 'q"uote']
    assert frame["code"].astype(object).where(frame["code"].notna(), None).tolist() == \
        table["code"].to_pylist()
    assert str(frame["n"].dtype) == "Int64" and str(frame["flag"].dtype) == "boolean"
    assert frame["day"].dtype.kind == "M" and str(frame["at"].dtype).endswith("UTC]")
    assert frame["d"].iloc[3] == Decimal("0.375")


def test_sql_exports_keep_the_query_columns(table: pa.Table, tmp_path: Path) -> None:
    items = stored_items(table, ODD)
    for item in items:
        item["twice"] = (item["n"] or 0) * 2  # a computed column the schema lacks
    paths = server_files(tmp_path, items, ODD, sql_columns=["n", "twice", "key"])
    got = ldtransform.read_export(paths, ODD).to_table()
    assert got.schema.names == ["n", "twice", "key"]
    assert got["twice"].type == pa.int64() and got["n"].equals(table["n"])


def test_without_a_schema_json_keeps_its_types_and_csv_its_text(table: pa.Table,
                                                                tmp_path: Path) -> None:
    items = stored_items(table, ODD)
    (json_path,) = server_files(tmp_path, items, ODD)
    got = ldtransform.read_export(json_path).to_table()
    assert got["n"].type == pa.int64() and got["day"].to_pylist()[0] == \
        "2020-01-01T05:00:00+0000"
    assert got["kids"].type.value_type.field("born").type == pa.string()
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    (csv_path,) = server_files(csv_dir, items, ODD, content_type="text/plain")
    text = ldtransform.read_export(csv_path).to_table()
    assert set(text.schema.types) == {pa.string()} and text.num_rows == 20


@pytest.mark.parametrize("row_header", [True, False])
def test_plain_csv_with_or_without_header(table: pa.Table, tmp_path: Path,
                                          row_header: bool) -> None:
    paths = server_files(tmp_path, stored_items(table, ODD), ODD, content_type="text/plain",
                         row_header=row_header, per_file=6)
    assert paths[0].read_text(encoding="utf-8").startswith("key,") is row_header
    for header in (None, row_header):
        got = ldtransform.read_export(paths, ODD, header=header, enums="values")
        assert got.to_table().equals(table)


def test_csv_through_a_template_without_header(table: pa.Table, tmp_path: Path) -> None:
    template = ("{{ item.key }},{{ '' if item.n is none else item.n }},{{ item.text | csv }},"
                "{{ item.day }}")
    template_file = tmp_path / "export.vm"
    template_file.write_text(template, encoding="utf-8")
    (path,) = server_files(tmp_path, stored_items(table, ODD), ODD,
                           content_type="text/plain", template=template, row_header=False)
    got = ldtransform.read_export(path, ODD, template=template_file).to_table()
    assert got.equals(table.select(["key", "n", "text", "day"]))


def test_children_explode_into_rows_of_their_own(table: pa.Table, tmp_path: Path) -> None:
    paths = server_files(tmp_path, stored_items(table, ODD), ODD, per_file=7)
    frames = ldtransform.read_export(paths, ODD, children="explode")
    assert set(frames.children) == {"tags", "kids"}
    with pytest.raises(LdTransformError, match="read the items first"):
        frames.children["kids"].to_table()
    items = frames.to_pandas()
    assert "kids" not in items.columns and len(items) == 20
    kids = frames.children["kids"].to_table()
    assert kids.schema.names == ["key", "_position", "name", "born", "flag"]
    expected = [(row["key"], position, kid["name"])
                for row in table.to_pylist() for position, kid in enumerate(row["kids"])]
    assert list(zip(kids["key"].to_pylist(), kids["_position"].to_pylist(),
                    kids["name"].to_pylist(), strict=True)) == expected
    tags = frames.children["tags"].to_pandas()
    assert list(tags.columns) == ["key", "_position", "tags"]


def test_without_a_primary_key_children_name_their_item_by_id(tmp_path: Path) -> None:
    keyless = ldtransform.ItemSchema.from_dict({"itemType": "Odd", "fields": [
        {"name": "key", "type": "string"}, {"name": "tags", "type": "array"}]})
    (path,) = server_files(tmp_path, [{"key": "a", "tags": ["x", "y"]}], keyless)
    frames = ldtransform.read_export(path, keyless, children="explode")
    frames.to_table()
    assert frames.children["tags"].to_table().to_pylist() == [
        {"_headers.id": "1", "_position": 0, "tags": "x"},
        {"_headers.id": "1", "_position": 1, "tags": "y"}]


def test_a_value_the_schema_cannot_take_is_an_error(table: pa.Table, tmp_path: Path) -> None:
    items = stored_items(table, ODD)
    items[13]["day"] = "soon"
    (path,) = server_files(tmp_path, items, ODD)
    with pytest.raises(ReadError, match=r"item 14: .*'soon'.*date") as caught:
        ldtransform.read_export(path, ODD).to_table()
    assert caught.value.column == "day"


def test_not_item_envelopes_and_mixed_formats_are_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain.json"
    plain.write_text('[\n{"key": "a"}\n]\n', encoding="utf-8")
    with pytest.raises(ReadError, match="not item envelopes"):
        ldtransform.read_export(plain, ODD)
    other = tmp_path / "other.csv"
    other.write_text("key\na\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"all \.json or all \.csv"):
        ldtransform.read_export([plain, other], ODD)


def test_a_folder_is_its_files_in_name_order(table: pa.Table, tmp_path: Path) -> None:
    server_files(tmp_path, stored_items(table, ODD), ODD, per_file=3)
    assert len(list(tmp_path.glob("*.json"))) == 7
    got = ldtransform.read_export(tmp_path, ODD, enums="values").to_table()
    assert got.equals(table)


def test_an_item_longer_than_a_parsing_block(tmp_path: Path) -> None:
    items = [{"key": "a", "text": "x" * 3_000_000}, {"key": "b", "text": "y"}]
    (path,) = server_files(tmp_path, items, ODD)
    got = ldtransform.read_export(path, ODD).to_table()
    assert got["text"].to_pylist() == ["x" * 3_000_000, "y"]


def test_a_csv_header_of_query_columns_is_found(table: pa.Table, tmp_path: Path) -> None:
    items = stored_items(table, ODD)
    (path,) = server_files(tmp_path, items, ODD, content_type="text/plain",
                           sql_columns=["key", "n"])
    assert path.read_text(encoding="utf-8").startswith("key,n\n")
    got = ldtransform.read_export(path, ODD).to_table()
    assert got.equals(table.select(["key", "n"]))


def test_a_job_is_read_through_its_client(table: pa.Table, tmp_path: Path) -> None:
    class Job:
        job_id, links = "j1", ("/ls/api/batch/download/x/export-part0001.json",)

    class Client:
        def __init__(self, files: list[Path]) -> None:
            self.files = files

        def download(self, job: Job, dest: str) -> list[Path]:
            assert Path(dest).is_dir()
            return self.files

    paths = server_files(tmp_path, stored_items(table, ODD), ODD)
    got = ldtransform.read_export(Job(), ODD, client=Client(paths), enums="values")
    assert got.to_table().equals(table)
    with pytest.raises(ConfigError, match="needs the client"):
        ldtransform.read_export(Job(), ODD)
    with pytest.raises(ConfigError, match="no result files"):
        ldtransform.read_export(Job(), ODD, client=Client([]))
