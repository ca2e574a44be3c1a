"""The Excel reader: the reader contract plus workbook behaviour, on real files."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pyarrow as pa
import pytest

import ldtransform
from ldtransform.errors import ConfigError, MissingDependencyError, ReadError, WorkbookError
from ldtransform.readers.excel import ExcelReader, sheet_names
from ldtransform.testing import ReaderContract, UnseekableStream

ROOT = Path(__file__).resolve().parents[2]


def write_xlsx(path: Path, sheets: dict[str, dict[str, Any] | Sequence[Sequence[Any]]]) -> Path:
    """A workbook with one sheet per item: either rows from A1 or {cell: value}."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, content in sheets.items():
        sheet = book.create_sheet(title)
        if isinstance(content, dict):
            for cell, value in content.items():
                sheet[cell] = value
        else:
            for row in content:
                sheet.append(list(row))
    book.save(path)
    return path


def xlsx_bytes(rows: Sequence[Sequence[Any]]) -> bytes:
    buffer = io.BytesIO()
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(list(row))
    book.save(buffer)
    return buffer.getvalue()


class TestExcelReaderContract(ReaderContract):
    format = "excel"
    suffix = ".xlsx"
    optional_modules = ("python_calamine",)

    def write_table(self, table: pa.Table, path: Path) -> None:
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(table.column_names)
        for record in table.to_pylist():
            # openpyxl writes dates as date cells and leaves None cells empty.
            sheet.append([record[name] for name in table.column_names])
        book.save(path)

    def malformed_inputs(self) -> list[bytes]:
        not_a_workbook = io.BytesIO()
        with zipfile.ZipFile(not_a_workbook, "w") as archive:
            archive.writestr("hello.txt", "not a workbook")
        return [
            bytes(range(256)) * 8,  # noise
            xlsx_bytes([["a"], [1]])[:300],  # a truncated zip
            not_a_workbook.getvalue(),  # a zip without workbook parts
            b"",
            b"id,name\n1,x\n",  # a CSV named .xlsx
        ]


# -- sheets --------------------------------------------------------------------------


@pytest.fixture
def two_sheets(tmp_path: Path) -> Path:
    return write_xlsx(tmp_path / "book.xlsx", {
        "First": [["a"], [1]],
        "Second": [["b", "c"], ["x", 2.5], ["y", 3.5]],
    })


def test_first_sheet_by_default(two_sheets: Path) -> None:
    frames = ldtransform.read(two_sheets)
    assert frames.to_table().to_pydict() == {"a": [1]}
    assert frames.info == {"format": "excel", "sheet": "First", "sheets": ["First", "Second"],
                           "header_row": 1, "mixed_columns": []}


@pytest.mark.parametrize("sheet", ["Second", 1, "second"])
def test_sheet_by_name_index_or_any_case(two_sheets: Path, sheet: str | int) -> None:
    frames = ldtransform.read(two_sheets, sheet=sheet)
    assert frames.info["sheet"] == "Second"
    assert frames.to_table().to_pydict() == {"b": ["x", "y"], "c": [2.5, 3.5]}


def test_sheet_names_from_path_and_file_object(two_sheets: Path) -> None:
    assert sheet_names(two_sheets) == ["First", "Second"]
    with two_sheets.open("rb") as handle:
        assert sheet_names(handle) == ["First", "Second"]


@pytest.mark.parametrize("sheet", ["Third", 2, -1])
def test_unknown_sheet_lists_the_sheets(two_sheets: Path, sheet: str | int) -> None:
    with pytest.raises(WorkbookError) as caught:
        ldtransform.read(two_sheets, sheet=sheet)
    message = str(caught.value)
    assert str(two_sheets) in message
    assert str(sheet) in message
    assert "0: 'First', 1: 'Second'" in message


def test_file_object_source(two_sheets: Path) -> None:
    with two_sheets.open("rb") as handle:
        frames = ExcelReader(sheet="Second").read(handle)
        assert frames.source == str(two_sheets)
        assert frames.to_table().column("c").to_pylist() == [2.5, 3.5]
    anonymous = io.BytesIO(two_sheets.read_bytes())
    assert ldtransform.read(anonymous, format="excel").source == "<stream>"


def test_unseekable_stream(two_sheets: Path) -> None:
    pipe = io.BufferedReader(UnseekableStream(two_sheets.read_bytes()))
    assert not pipe.seekable()
    frames = ldtransform.read(pipe, format="excel", sheet="Second")
    assert frames.to_table().column("b").to_pylist() == ["x", "y"]


# -- header and row numbers ----------------------------------------------------------


def test_header_row_below_title_rows(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "report.xlsx", {"Report": [
        ["Quarterly report", None, "wider title cell", "even wider"],
        ["generated 2024-01-01"],
        ["id", "amount"],
        ["007", 1.5],
        ["008", 2.0],
    ]})
    frames = ldtransform.read(path, header_row=3)
    numbered = list(frames.numbered())
    assert [n.first_row for n in numbered] == [4]
    assert frames.schema == pa.schema([("id", pa.string()), ("amount", pa.float64())])
    assert numbered[0].batch.to_pydict() == {"id": ["007", "008"], "amount": [1.5, 2.0]}
    assert frames.info["header_row"] == 3


def test_no_header_names_columns_by_position(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "raw.xlsx", {"S": [[1, "a"], [2, "b"]]})
    frames = ldtransform.read(path, header_row=None)
    assert [n.first_row for n in frames.numbered()] == [1]
    again = ldtransform.read(path, header_row=None).to_table()
    assert again.to_pydict() == {"column_1": [1, 2], "column_2": ["a", "b"]}


def test_data_not_at_a1_keeps_excel_row_numbers(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "offset.xlsx", {"S": {
        "C5": "id", "D5": "n",
        **{f"C{row}": f"r{row}" for row in range(6, 13)},
        **{f"D{row}": row for row in range(6, 13)},
    }})
    frames = ldtransform.read(path, header_row=5, batch_size=3)
    numbered = list(frames.numbered())
    assert [n.first_row for n in numbered] == [6, 9, 12]
    for n in numbered:  # each batch's first row really is that Excel row
        assert n.batch.column("id")[0].as_py() == f"r{n.first_row}"
        assert n.batch.column("n")[0].as_py() == n.first_row
    rows = ldtransform.read(path, header_row=None)
    assert [n.first_row for n in rows.numbered()] == [5]


def test_header_row_empty_points_at_the_table(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "offset.xlsx", {"S": {"B3": "id", "B4": 1}})
    with pytest.raises(ReadError, match=r"header row 1 is empty.*header_row=3") as caught:
        ldtransform.read(path)
    assert str(path) in str(caught.value)


def test_header_row_past_the_data(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "short.xlsx", {"S": [["a"], [1]]})
    with pytest.raises(ReadError, match=r"header row 9 is below the last row with values"):
        ldtransform.read(path, header_row=9)


def test_trailing_empties_ignored_middle_empty_row_kept(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "gaps.xlsx", {"S": [
        ["a", "b", None, "d"],
        [1, "x", None, None],
        [None, None, None, None],
        [3, "z", None, True],
        [None] * 6,
        [None] * 6,
    ]})
    book = openpyxl.load_workbook(path)
    book["S"]["H9"].number_format = "0.00"  # formatted but empty cells far away
    book["S"]["H9"].value = ""
    book.save(path)
    frames = ldtransform.read(path)
    table = frames.to_table()
    assert table.column_names == ["a", "b", "column_3", "d"]
    assert table.to_pydict() == {
        "a": [1, None, 3], "b": ["x", None, "z"], "column_3": [None, None, None],
        "d": [None, None, True],
    }
    assert table.schema.field("column_3").type == pa.string()


def test_numeric_headers_become_text(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "years.xlsx", {"S": [["region", 2023, 2024.5], ["n", 1, 2]]})
    assert ldtransform.read(path).schema.names == ["region", "2023", "2024.5"]


def test_duplicate_header_names_both_columns(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "dup.xlsx", {"S": {"B2": "id", "C2": "name", "E2": "id",
                                                     "B3": 1, "E3": 2}})
    with pytest.raises(ReadError, match=r"'id' appears twice, in columns B and E") as caught:
        ldtransform.read(path, header_row=2)
    assert str(path) in str(caught.value)
    assert caught.value.row == 2


def test_blank_header_over_data(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "blank.xlsx", {"S": [["id", None, "   ", "x"],
                                                       [1, 2, 3, None]]})
    with pytest.raises(ReadError, match=r"column\(s\) B, C have data but no name"):
        ldtransform.read(path)


# -- types ---------------------------------------------------------------------------


def test_whole_numbers_are_int64_fractions_float64(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "n.xlsx", {"S": [
        ["whole", "fraction", "huge"], [1, 1.5, 1e19], [2**40, 2, 2.0], [-3, None, 3]]})
    frames = ldtransform.read(path)
    assert frames.schema == pa.schema([("whole", pa.int64()), ("fraction", pa.float64()),
                                       ("huge", pa.float64())])
    assert frames.to_table().to_pydict() == {
        "whole": [1, 2**40, -3], "fraction": [1.5, 2.0, None], "huge": [1e19, 2.0, 3.0]}


def test_mixed_column_is_lossless_text_and_reported(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "mixed.xlsx", {"S": [
        ["code", "clean"],
        [12345, "a"],
        ["A-7", "b"],
        [0.25, "c"],
        [dt.date(2024, 2, 29), "d"],
        [True, "e"],
        [None, "f"],
    ]})
    frames = ldtransform.read(path)
    assert frames.schema.field("code").type == pa.string()
    assert frames.info["mixed_columns"] == ["code"]
    assert frames.to_table().column("code").to_pylist() == [
        "12345", "A-7", "0.25", "2024-02-29", "TRUE", None]


def test_dates_datetimes_times_and_booleans(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "when.xlsx", {"S": [
        ["day", "stamp", "clock", "flag"],
        [dt.date(2024, 2, 29), dt.datetime(2024, 1, 2, 3, 4, 5, 250000), dt.time(8, 30), True],
        [dt.date(1999, 12, 31), dt.datetime(2024, 1, 3), dt.time(23, 59, 59), False],
        [None, None, None, None],
        [dt.date(1970, 1, 1), dt.datetime(1999, 12, 31, 23, 0), dt.time(0, 0, 1), True],
    ]})
    frames = ldtransform.read(path)
    assert frames.schema == pa.schema([("day", pa.date32()), ("stamp", pa.timestamp("us")),
                                       ("clock", pa.time64("us")), ("flag", pa.bool_())])
    assert frames.to_table().to_pydict() == {
        "day": [dt.date(2024, 2, 29), dt.date(1999, 12, 31), None, dt.date(1970, 1, 1)],
        # the midnight datetime comes from calamine as a date; it stays a timestamp here
        "stamp": [dt.datetime(2024, 1, 2, 3, 4, 5, 250000), dt.datetime(2024, 1, 3), None,
                  dt.datetime(1999, 12, 31, 23, 0)],
        "clock": [dt.time(8, 30), dt.time(23, 59, 59), None, dt.time(0, 0, 1)],
        "flag": [True, False, None, True],
    }
    assert frames.info["mixed_columns"] == []


def test_durations(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "long.xlsx", {"S": [["took"], [dt.timedelta(hours=30)]]})
    table = ldtransform.read(path).to_table()
    assert table.schema.field("took").type == pa.duration("us")
    assert table.column("took").to_pylist() == [dt.timedelta(hours=30)]


def test_declared_schema_casts(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "cast.xlsx", {"S": [["id", "n"], [7, 1], ["8", 2]]})
    schema = pa.schema([("id", pa.int64()), ("n", pa.float64())])
    frames = ExcelReader().read(path, schema=schema)
    assert frames.to_table().to_pydict() == {"id": [7, 8], "n": [1.0, 2.0]}
    with pytest.raises(ReadError, match="do not match"):
        ExcelReader().read(path, schema=pa.schema([("other", pa.string())]))


# -- other workbook formats ----------------------------------------------------------


def test_ods_written_by_pandas(tmp_path: Path) -> None:
    path = tmp_path / "book.ods"
    pd.DataFrame({
        "id": ["007", "008"], "n": [1, 2**40], "x": [0.5, 2.0],
        "day": [dt.date(2024, 2, 29), dt.date(2020, 1, 1)],
        "stamp": [dt.datetime(2024, 1, 2, 3, 4, 5), dt.datetime(2024, 1, 3)],
        "ok": [True, False],
    }).to_excel(path, engine="odf", index=False, sheet_name="Odd")
    frames = ldtransform.read(path)
    assert frames.info["sheets"] == ["Odd"]
    assert frames.schema == pa.schema([
        ("id", pa.string()), ("n", pa.int64()), ("x", pa.float64()), ("day", pa.date32()),
        ("stamp", pa.timestamp("us")), ("ok", pa.bool_())])
    assert frames.to_table().to_pylist()[1] == {
        "id": "008", "n": 2**40, "x": 2.0, "day": dt.date(2020, 1, 1),
        "stamp": dt.datetime(2024, 1, 3), "ok": False}


def write_xls(path: Path) -> Path:
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Legacy")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    stamp_style = xlwt.easyxf(num_format_str="YYYY-MM-DD HH:MM:SS")
    sheet.write(1, 1, "Legacy export")  # a title at B2; the header is at B4
    for column, name in enumerate(["id", "n", "x", "day", "stamp", "ok"], start=1):
        sheet.write(3, column, name)
    sheet.write(4, 1, "007")
    sheet.write(4, 2, 1)
    sheet.write(4, 3, 0.5)
    sheet.write(4, 4, dt.date(2024, 2, 29), date_style)
    sheet.write(4, 5, dt.datetime(2024, 1, 2, 3, 4, 5), stamp_style)
    sheet.write(4, 6, True)
    sheet.write(5, 1, "008")
    sheet.write(5, 2, 2**40)
    sheet.write(5, 3, 2)
    book.save(str(path))
    return path


def test_xls_written_by_xlwt(tmp_path: Path) -> None:
    frames = ldtransform.read(write_xls(tmp_path / "legacy.xls"), header_row=4)
    assert frames.schema == pa.schema([
        ("id", pa.string()), ("n", pa.int64()), ("x", pa.float64()), ("day", pa.date32()),
        ("stamp", pa.timestamp("us")), ("ok", pa.bool_())])
    numbered = list(frames.numbered())
    assert [n.first_row for n in numbered] == [5]
    assert numbered[0].batch.to_pylist() == [
        {"id": "007", "n": 1, "x": 0.5, "day": dt.date(2024, 2, 29),
         "stamp": dt.datetime(2024, 1, 2, 3, 4, 5), "ok": True},
        {"id": "008", "n": 2**40, "x": 2.0, "day": None, "stamp": None, "ok": None},
    ]


def test_misnamed_xls_still_opens(tmp_path: Path) -> None:
    misnamed = tmp_path / "really_xls.xlsx"
    misnamed.write_bytes(write_xls(tmp_path / "legacy.xls").read_bytes())
    assert ldtransform.read(misnamed, header_row=4).to_table().num_rows == 2


def test_sample_accounts_workbook() -> None:
    frames = ldtransform.read(ROOT / "samples" / "accounts.xlsx")
    table = frames.to_table()
    assert table.num_rows == 25
    assert frames.info["sheets"] == ["Accounts", "Addresses"]
    assert table.schema.field("accountId").type == pa.string()
    assert ldtransform.read(ROOT / "samples" / "accounts.xlsx", sheet=1).to_table().num_rows == 59


# -- failures ------------------------------------------------------------------------


def test_password_protected_workbook(tmp_path: Path) -> None:
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = tmp_path / "plain.xlsx"
    plain.write_bytes(xlsx_bytes([["a"], [1]]))
    locked = tmp_path / "locked.xlsx"
    with plain.open("rb") as source, locked.open("wb") as target:
        OOXMLFile(source).encrypt("secret", target)
    assert locked.read_bytes()[:8] == bytes.fromhex("d0cf11e0a1b11ae1")
    misnamed = tmp_path / "locked.xls"  # an encrypted .xlsx renamed: caught all the same
    misnamed.write_bytes(locked.read_bytes())
    for target_path in (locked, misnamed):
        with pytest.raises(WorkbookError, match="password-protected") as caught:
            ldtransform.read(target_path, format="excel")
        assert str(target_path) in str(caught.value)
        assert "unprotected copy" in str(caught.value)
        with pytest.raises(WorkbookError, match="password-protected"):
            sheet_names(target_path)


def test_corrupt_workbook(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(xlsx_bytes([["a"], [1]])[:-50])
    with pytest.raises(WorkbookError) as caught:
        ldtransform.read(path)
    assert str(path) in str(caught.value)
    assert caught.value.__cause__ is not None  # the calamine error is kept as the cause
    assert not type(caught.value.__cause__).__module__.startswith("ldtransform")


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="header_row"):
        ExcelReader(header_row=0)
    with pytest.raises(ConfigError, match="sheet"):
        ExcelReader(sheet=1.5)  # type: ignore[arg-type]


def test_sheet_names_names_the_missing_extra(two_sheets: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "python_calamine", None)
    with pytest.raises(MissingDependencyError, match=r"ldtransform\[excel\]"):
        sheet_names(two_sheets)


def test_importing_ldtransform_does_not_import_calamine() -> None:
    code = ("import ldtransform, ldtransform.readers.excel, sys; "
            "assert 'python_calamine' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
