"""Layouts, encodings, separators and bad records."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import ldtransform_fixedwidth.reader as reader_module
import pyarrow as pa
import pytest

import ldtransform
from ldtransform.errors import ConfigError, ReadError
from ldtransform.readers import read_for_validation

LAYOUT = """
[[fields]]
name = "id"
start = 1
width = 4

[[fields]]
name = "amount"
start = 5
width = 8
type = "decimal"
decimals = 2

[[fields]]
name = "count"
start = 13
width = 3
type = "integer"

[[fields]]
name = "opened"
start = 16
width = 8
type = "date"
"""


def record(id: str, amount: str, count: str, opened: str) -> str:
    return id.ljust(4) + amount.rjust(8) + count.rjust(3) + opened.ljust(8)


GOOD = [record("0001", "-12345", "42", "20240229"), record("AB", "12.5", "", "00000000"),
        record("  x", "", "-7", "")]
ROWS = [
    {"id": "0001", "amount": Decimal("-123.45"), "count": 42, "opened": dt.date(2024, 2, 29)},
    {"id": "AB", "amount": Decimal("12.50"), "count": None, "opened": None},
    {"id": "  x", "amount": None, "count": -7, "opened": None},
]


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    path = tmp_path / "layout.toml"
    path.write_text(LAYOUT)
    return path


def read(path: Path, layout: Path, **options: object) -> ldtransform.Frames:
    return ldtransform.read(path, format="fixedwidth", layout=layout, **options)


def test_a_layout_types_the_fields(tmp_path: Path, layout: Path) -> None:
    path = tmp_path / "export.dat"
    path.write_text("\n".join(GOOD) + "\n")
    table = read(path, layout).to_table()
    assert table.schema == pa.schema([("id", pa.string()), ("amount", pa.decimal128(38, 2)),
                                      ("count", pa.int64()), ("opened", pa.date32())])
    assert table.to_pylist() == ROWS


@pytest.mark.parametrize("end", ["\n", "\r\n", "\x85"])
def test_lines_end_in_lf_crlf_or_nl(tmp_path: Path, layout: Path, end: str) -> None:
    path = tmp_path / "export.dat"
    path.write_bytes(("\ufeff" + end.join(GOOD)).encode("utf-8"))  # BOM, no final line end
    assert read(path, layout).to_table().to_pylist() == ROWS


def test_ebcdic_lines(tmp_path: Path, layout: Path) -> None:
    path = tmp_path / "export.dat"
    path.write_bytes("\x85".join(GOOD).encode("cp037"))  # EBCDIC NL is byte 0x15
    assert b"\x15" in path.read_bytes()
    assert read(path, layout, encoding="cp037").to_table().to_pylist() == ROWS


def test_fixed_length_records_without_separators(tmp_path: Path) -> None:
    layout = tmp_path / "layout.toml"
    layout.write_text("record_length = 23\n" + LAYOUT)
    path = tmp_path / "export.dat"
    path.write_bytes("".join(GOOD).encode("cp037"))
    frames = read(path, layout, encoding="cp037", batch_size=1)
    assert [n.first_row for n in frames.numbered()] == [1, 2, 3]
    assert frames.info["record_length"] == 23


def test_fixed_length_records_count_their_separator(tmp_path: Path) -> None:
    layout = tmp_path / "layout.toml"
    layout.write_text("record_length = 25\n" + LAYOUT)  # the fields end at 23; CRLF follows
    path = tmp_path / "export.dat"
    path.write_bytes("".join(line + "\r\n" for line in GOOD).encode("latin-1"))
    assert read(path, layout, encoding="latin-1").to_table().to_pylist() == ROWS


def test_fixed_length_records_name_the_record_with_bad_bytes(tmp_path: Path) -> None:
    layout = tmp_path / "layout.toml"
    layout.write_text("record_length = 23\n" + LAYOUT)
    path = tmp_path / "export.dat"
    path.write_bytes("".join(GOOD).encode() + b"\xff" * 23)
    with pytest.raises(ReadError, match="line 4: bytes that are not utf-8"):
        read(path, layout).to_table()


def test_skip_lines_and_row_numbers(tmp_path: Path) -> None:
    layout = tmp_path / "layout.toml"
    layout.write_text("skip_lines = 2\n" + LAYOUT)
    path = tmp_path / "export.dat"
    path.write_text("ACCOUNTS EXPORT\nID  AMOUNT  N  OPENED\n" + "\n".join(GOOD))
    frames = read(path, layout, batch_size=2)
    assert [(n.first_row, n.batch.num_rows) for n in frames.numbered()] == [(3, 2), (5, 1)]


def test_a_short_line_is_a_read_error_naming_its_line(tmp_path: Path, layout: Path) -> None:
    path = tmp_path / "export.dat"
    path.write_text("\n".join([GOOD[0], GOOD[1][:15], GOOD[2]]))
    with pytest.raises(ReadError, match="line 2: the record is 15 characters") as caught:
        read(path, layout).to_table()
    assert caught.value.line == 2 and str(path) in str(caught.value)


def test_an_unparseable_number_is_a_read_error_naming_line_and_field(
        tmp_path: Path, layout: Path) -> None:
    path = tmp_path / "export.dat"
    path.write_text("\n".join([GOOD[0], GOOD[1], record("3", "12,50", "1", "")]))
    with pytest.raises(ReadError, match=r"line 3, column 'amount': '12,50' is not a number"):
        read(path, layout).to_table()


def test_reported_bad_records_are_set_aside_as_issues(tmp_path: Path, layout: Path) -> None:
    lines = [GOOD[0], GOOD[1][:10], GOOD[1], record("4", "1", "x1", ""),
             record("5", "1", "1", "20241301"), GOOD[2]]
    path = tmp_path / "export.dat"
    path.write_text("\n".join(lines))
    frames = read(path, layout, on_bad_row="report")
    numbered = [(n.first_row, n.batch.num_rows) for n in frames.numbered()]
    assert numbered == [(1, 1), (3, 1), (6, 1)]
    assert [(i.code, i.row, i.field, i.value) for i in frames.issues] == [
        ("short-line", 2, None, GOOD[1][:10]),
        ("type-error", 4, "count", "x1"),
        ("type-error", 5, "opened", "20241301"),
    ]
    assert frames.rows_read == 3


def test_validation_lists_bad_records_with_the_rest(tmp_path: Path, layout: Path) -> None:
    path = tmp_path / "export.dat"
    path.write_text("\n".join([GOOD[0], GOOD[1][:10]]))
    frames = read_for_validation(path, format="fixedwidth", layout=layout)
    assert frames.to_table().num_rows == 1
    assert [i.row for i in frames.issues] == [2]


def test_bytes_invalid_in_the_encoding_name_their_line(tmp_path: Path, layout: Path) -> None:
    path = tmp_path / "export.dat"
    path.write_bytes(("\n".join(GOOD[:2]) + "\n").encode() + b"\xff\xfe" + b" " * 21)
    with pytest.raises(ReadError, match="line 3: bytes that are not utf-8"):
        read(path, layout).to_table()


def test_blocks_split_anywhere_give_the_same_rows(tmp_path: Path, layout: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [record(f"é{n}", str(n * 101), str(n), "20240101") for n in range(40)]
    path = tmp_path / "export.dat"
    path.write_bytes("\r\n".join(lines).encode())
    whole = read(path, layout).to_table()
    for size in (1, 2, 7, 64):  # cuts inside characters, inside CRLF, inside records
        monkeypatch.setattr(reader_module, "BLOCK_BYTES", size)
        frames = read(path, layout, batch_size=5)
        rows = [row for n in frames.numbered()
                for row in range(n.first_row, n.first_row + n.batch.num_rows)]
        assert rows == list(range(1, 41))
        assert read(path, layout, batch_size=5).to_table().equals(whole)
    assert whole.column("id").to_pylist()[39] == "é39"


@pytest.mark.parametrize(("text", "problem"), [
    ("[[fields]]\nname = 'a'\nstart = 0\nwidth = 1\n", "start must be a whole number from 1"),
    ("[[fields]]\nname = 'a'\nstart = 1\nwidth = 1\nsize = 3\n", "unknown key(s) size"),
    ("[[fields]]\nname = 'a'\nstart = 1\nwidth = 1\ndecimals = 2\n", "decimal fields only"),
    ("[[fields]]\nname = 'a'\nstart = 1\nwidth = 1\ntype = 'money'\n", "type 'money'"),
    ("[[fields]]\nname = 'a'\nstart = 1\nwidth = 1\n[[fields]]\nname = 'a'\nstart = 2\n"
     "width = 1\n", "used twice: a"),
    ("record_length = 4\n[[fields]]\nname = 'a'\nstart = 3\nwidth = 3\n", "shorter than"),
    ("fields = []\n", "at least one"),
])
def test_layout_mistakes_are_config_errors(tmp_path: Path, text: str, problem: str) -> None:
    layout = tmp_path / "layout.toml"
    layout.write_text(text)
    data = tmp_path / "x.dat"
    data.write_text("abcdef\n")
    with pytest.raises(ConfigError, match=r"layout .*layout\.toml") as caught:
        read(data, layout)
    assert problem in str(caught.value)


def test_unknown_encoding_is_a_config_error(tmp_path: Path, layout: Path) -> None:
    path = tmp_path / "export.dat"
    path.write_text(GOOD[0])
    with pytest.raises(ConfigError, match="unknown encoding"):
        read(path, layout, encoding="ebcdic-klingon")
