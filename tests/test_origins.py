"""Each record of each part maps back to the source file and row it was built from, through
the ``origins`` ranges of the manifest."""

from __future__ import annotations

import csv
import itertools
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_pipeline import FLAT, SAMPLES, SCHEMA

import ldtransform
from ldtransform._origins import merged, ranges_of
from ldtransform.frames import Frames
from ldtransform.manifest import Manifest, OutputFile, SourceFile
from ldtransform.schema import ItemSchema

ERRORS = SAMPLES / "messy/accounts_errors.csv"
ACCOUNTS = SAMPLES / "accounts.csv"
WORKBOOK = SAMPLES / "accounts.xlsx"
CHILDREN = SAMPLES / "mappings/accounts.toml"


def csv_rows(path: Path) -> list[list[str]]:
    """The rows of a CSV file as its row numbers count them: row n is ``rows[n - 1]``."""
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.reader(file))


def sheet_rows(path: Path, sheet: str) -> list[tuple[Any, ...]]:
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        return list(workbook[sheet].iter_rows(values_only=True))
    finally:
        workbook.close()


def source_keys(path: str) -> dict[int, str]:
    """Row number → accountId of every data row of a source file."""
    if path.endswith(".xlsx"):
        rows: list[Any] = sheet_rows(Path(path), "Accounts")
    else:
        rows = csv_rows(Path(path))
    column = list(rows[0]).index("accountId")
    return {number: str(row[column]).strip() for number, row in enumerate(rows, start=1)
            if number > 1 and row}


def record_origins(folder: Path) -> list[tuple[str, int, tuple[str, int] | None, str]]:
    """(part, record, origin, accountId) of every record of every part."""
    manifest = Manifest.read(folder)
    found = []
    for part in manifest.parts:
        items = json.loads((folder / part.file).read_bytes())
        assert len(items) == part.records
        for number, item in enumerate(items, start=1):
            found.append((part.file, number, manifest.origin(part.file, number),
                          item["data"]["accountId"]))
    return found


def assert_records_name_their_rows(folder: Path) -> list[tuple[str, int]]:
    """Every record's origin is a source row holding its key; returns the origins."""
    origins = []
    keys: dict[str, dict[int, str]] = {}
    for _, _, origin, key in record_origins(folder):
        assert origin is not None
        path, row = origin
        keys.setdefault(path, source_keys(path))
        assert keys[path][row] == key, (origin, key)
        origins.append(origin)
    assert len(set(origins)) == len(origins)
    return origins


def test_records_of_a_csv_with_rejected_rows_name_their_rows(tmp_path: Path) -> None:
    result = ldtransform.convert(ERRORS, schema=SCHEMA, mapping=FLAT, out=tmp_path,
                                 max_records=4)
    assert len(result.parts) == 5 and result.report.rows_rejected == 7
    origins = assert_records_name_their_rows(tmp_path)
    rejected = pd.read_csv(result.rejected[0].path, dtype=str)["_row"].astype(int)
    # Valid and rejected rows together are every data row, each once.
    assert sorted([row for _, row in origins] + rejected.tolist()) == list(range(2, 27))
    assert {path for path, _ in origins} == {str(ERRORS)}


@pytest.mark.parametrize("transforms", [
    [{"name": "filter", "where": 'currency = "USD"'}],
    # A transform of the Frames after the filter: the filter then runs on the stream.
    [{"name": "filter", "where": 'currency = "USD"'}, lambda frames: frames],
], ids=["in-validation", "on-the-stream"])
def test_rows_a_filter_drops_leave_no_gap_in_the_numbering(
        tmp_path: Path, transforms: list[Any]) -> None:
    result = ldtransform.convert(ERRORS, schema=SCHEMA, mapping=FLAT, out=tmp_path,
                                 max_records=3, transforms=transforms)
    assert result.report.rows_dropped > 0 and len(result.parts) > 1
    origins = assert_records_name_their_rows(tmp_path)
    rows = csv_rows(ERRORS)
    currency = rows[0].index("currency")
    for _, row in origins:
        assert rows[row - 1][currency].strip() == "USD"


def test_several_sources_with_dedupe_name_the_file_of_each_record(tmp_path: Path) -> None:
    result = ldtransform.convert([ERRORS, ACCOUNTS], schema=SCHEMA, mapping=FLAT,
                                 out=tmp_path, max_records=7,
                                 transforms=[{"name": "dedupe", "on": "accountId"}])
    assert result.report.rows_dropped > 0
    origins = assert_records_name_their_rows(tmp_path)
    assert {path for path, _ in origins} == {str(ERRORS), str(ACCOUNTS)}
    # Records keep the order of the sources, and of the rows within each.
    assert origins == sorted(origins, key=lambda o: ([str(ERRORS), str(ACCOUNTS)].index(o[0]),
                                                     o[1]))


def test_records_of_a_workbook_with_child_rows_name_their_parent_row(tmp_path: Path) -> None:
    result = ldtransform.convert(WORKBOOK, schema=SCHEMA, mapping=CHILDREN, out=tmp_path,
                                 max_records=4,
                                 transforms=[{"name": "filter", "where": 'currency != "CAD"'}])
    assert result.report.rows_dropped > 0
    origins = assert_records_name_their_rows(tmp_path)
    assert {path for path, _ in origins} == {str(WORKBOOK)}
    items = [item for part in result.parts for item in json.loads(part.path.read_bytes())]
    assert any(item["data"]["addresses"] for item in items)


def test_records_from_a_dataframe_have_no_known_origin(tmp_path: Path) -> None:
    frame = pd.read_csv(ACCOUNTS, dtype=str, keep_default_na=False)
    frame["accountId"] = "D" + frame["accountId"]
    ldtransform.convert([ERRORS, frame], schema=SCHEMA, mapping=FLAT, out=tmp_path,
                        max_records=9)
    manifest = Manifest.read(tmp_path)
    assert [source.path for source in manifest.sources] == [str(ERRORS)]
    first, *_, last = manifest.parts
    assert first.origins and manifest.origin(first.file, 1) == (str(ERRORS), 2)
    # The part where the DataFrame's rows begin, and those after it, do not know.
    assert not last.origins and manifest.origin(last.file, 1) is None
    assert "origins" not in json.loads((tmp_path / "manifest.json").read_bytes())[
        "parts"][-1]


def test_a_dry_run_and_the_fluent_form_know_no_origins(tmp_path: Path) -> None:
    dry = ldtransform.convert(ERRORS, schema=SCHEMA, mapping=FLAT, out=tmp_path / "dry",
                              dry_run=True)
    assert all(not part.origins for part in dry.parts)
    fluent = ldtransform.read(ERRORS).validate(SCHEMA, mapping=FLAT).write_items(tmp_path / "b")
    assert all(not part.origins for part in fluent.parts)


def test_a_manifest_without_origins_reads_and_knows_nothing(tmp_path: Path) -> None:
    ldtransform.convert(ERRORS, schema=SCHEMA, mapping=FLAT, out=tmp_path)
    document = json.loads((tmp_path / "manifest.json").read_bytes())
    for part in document["parts"]:
        del part["origins"]
    (tmp_path / "manifest.json").write_text(json.dumps(document), encoding="utf-8")
    manifest = Manifest.read(tmp_path)
    assert manifest.origin(manifest.parts[0].file, 1) is None
    with pytest.raises(ValueError, match="not a data part"):
        manifest.origin("elsewhere.json", 1)
    with pytest.raises(ValueError, match="records 1 to 18"):
        manifest.origin(manifest.parts[0].file, 19)


def test_origin_finds_each_record_by_bisection() -> None:
    part = OutputFile("p.json", 6, 0, "", ((0, 10, 2), (1, 5, 1), (0, 20, 3)))
    manifest = Manifest(ldtransform="0", item_type=None, format="items-json", action=None,
                        empty=None, left_out=(), sources=(SourceFile("a.csv", 0, ""),
                                                          SourceFile("b.csv", 0, "")),
                        schema=None, mapping=None, template=None, parts=(part,), rejected=(),
                        validation=ldtransform.manifest.ValidationSummary.from_dict(
                            ldtransform.Report().summary()))
    assert [manifest.origin("p.json", n) for n in range(1, 7)] == [
        ("a.csv", 10), ("a.csv", 11), ("b.csv", 5), ("a.csv", 20), ("a.csv", 21),
        ("a.csv", 22)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.booleans(), max_size=30), max_size=6), st.integers(0, 3))
def test_ranges_of_batches_joined_are_those_of_all_the_rows(
        masks: list[list[bool]], source: int) -> None:
    """Rows kept from consecutive batches: the ranges, merged across batches, expand back
    to exactly the rows kept."""
    batches, start = [], 1
    for mask in masks:
        batches.append(np.arange(start, start + len(mask), dtype=np.int64)[mask])
        start += len(mask)
    kept = np.concatenate([np.empty(0, np.int64), *batches])
    ranges = merged(np.concatenate([np.empty((0, 3), np.int64),
                                    *(ranges_of(source, rows) for rows in batches)]))
    assert (ranges == ranges_of(source, kept)).all()
    expanded = [row for _, first, count in ranges.tolist() for row in range(first, first + count)]
    assert expanded == kept.tolist()
    assert all(s == source for s in ranges[:, 0].tolist())
    # Ranges never touch: each one is as long as it can be.
    assert all(b[1] > a[1] + a[2] for a, b in itertools.pairwise(ranges.tolist()))


SMALL = ItemSchema.from_dict({"itemType": "Row", "primaryKey": ["code"], "fields": [
    {"name": "code", "constraints": {"required": True}},
    {"name": "n", "type": "integer"}]})


@settings(max_examples=40, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=80), st.integers(1, 25),
       st.integers(1, 20))
def test_any_reject_pattern_leaves_ranges_of_exactly_the_valid_rows(
        valid: list[bool], max_records: int, batch_size: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "rows.csv"
        lines = ["code,n", *(f"c{i},{i if ok else 'x'}" for i, ok in enumerate(valid))]
        source.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = ldtransform.convert(source, schema=SMALL, out=Path(folder) / "out",
                                     max_records=max_records, batch_size=batch_size)
        manifest = Manifest.read(Path(folder) / "out")
        expanded = [row for part in manifest.parts for _, first, count in part.origins
                    for row in range(first, first + count)]
        # Data row i (from 0) is row i + 2: the header is row 1.
        assert expanded == [i + 2 for i, ok in enumerate(valid) if ok]
        for part in result.parts:
            items = json.loads(part.path.read_bytes())
            rows = [manifest.origin(part.path.name, n) for n in range(1, part.records + 1)]
            assert [f"c{row - 2}" for _, row in rows] == [i["data"]["code"] for i in items]


def test_frames_given_whole_keep_their_row_numbers(tmp_path: Path) -> None:
    table = pd.DataFrame({"code": ["a", "b", "", "d"], "n": ["1", "2", "3", "x"]})
    frames = Frames.from_pandas(table)
    run = ldtransform.Validation(SMALL)
    numbered = [(valid.rows.tolist(), valid.batch.column("code").to_pylist())
                for valid in run.run_numbered(frames)]
    assert numbered == [([1, 2], ["a", "b"])]
