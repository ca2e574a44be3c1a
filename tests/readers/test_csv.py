"""The CSV reader: contract, detection, structural errors, row numbers, round trips."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import ldtransform
from ldtransform.errors import ConfigError, EncodingError, ReadError
from ldtransform.testing import ReaderContract


def as_text(value: Any) -> str:
    """How the contract writes a value into CSV (and so what reading gives back)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def text_table(table: pa.Table) -> pa.Table:
    return pa.table({
        name: pa.array([as_text(v) for v in table.column(name).to_pylist()], pa.string())
        for name in table.column_names
    })


class TestCsvReaderContract(ReaderContract):
    format = "csv"

    def write_table(self, table: pa.Table, path: Path) -> None:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(table.column_names)
            for row in table.to_pylist():
                writer.writerow([as_text(v) for v in row.values()])

    def expected(self, table: pa.Table) -> pa.Table:
        return text_table(table)

    def malformed_inputs(self) -> list[bytes]:
        return [
            b'a,b\n1,2\n3,4,5\n',          # too many fields
            b'a,b\n1,2\n"open,2\n3,4\n',   # unterminated quote
            b'a,b\n1,2\n\xff\xfe\x00,4\n',  # invalid UTF-8
            b'a,a\n1,2\n',                # duplicate header
            b'a,,c\n1,2,3\n',             # blank header
        ]


def read_csv(tmp_path: Path, data: bytes, name: str = "data.csv", **options: Any
             ) -> ldtransform.Frames:
    path = tmp_path / name
    path.write_bytes(data)
    return ldtransform.read(path, **options)


def rows_by_number(frames: ldtransform.Frames, column: str) -> dict[int, Any]:
    found: dict[int, Any] = {}
    for numbered in frames.numbered():
        for offset, value in enumerate(numbered.batch.column(column).to_pylist()):
            found[numbered.first_row + offset] = value
    return found


# -- text stays text -----------------------------------------------------------------

def test_values_stay_text_and_distinguishable(tmp_path: Path) -> None:
    frames = read_csv(tmp_path, b'code,note\n007,NA\n1e5,null\n,""\n" x ",None\n')
    assert frames.to_table().to_pydict() == {
        "code": ["007", "1e5", "", " x "],
        "note": ["NA", "null", "", "None"],
    }


def test_quoted_newlines_quotes_and_crlf(tmp_path: Path) -> None:
    data = b'a,b\r\n"line1\r\nline2","say ""hi"""\r\nx,"1,2"\r\n'
    table = read_csv(tmp_path, data).to_table()
    assert table.to_pydict() == {"a": ["line1\r\nline2", "x"], "b": ['say "hi"', "1,2"]}


# -- detection -----------------------------------------------------------------------

@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    rows = [["id", "amount", "note"], ["1", "2,5", "x"], ["2", "3", "y;z"], ["3", "4", "w|v"]]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    frames = read_csv(tmp_path, buffer.getvalue().encode())
    assert frames.info["delimiter"] == delimiter
    assert frames.to_table().to_pylist()[0] == {"id": "1", "amount": "2,5", "note": "x"}


def test_explicit_delimiter_wins(tmp_path: Path) -> None:
    frames = read_csv(tmp_path, b"a;b\n1;2\n", delimiter=",")
    assert frames.schema.names == ["a;b"]


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_bom_decides_encoding(tmp_path: Path, codec: str) -> None:
    text = "name,city\nZoë,Köln\n"
    data = text.encode(codec)
    if codec in ("utf-16-le", "utf-16-be"):
        bom = codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE
        data = bom + data
    frames = read_csv(tmp_path, data)
    assert frames.to_table().to_pylist() == [{"name": "Zoë", "city": "Köln"}]
    assert frames.info["encoding_source"] == "bom"


def test_latin1_without_encoding_is_a_clear_error(tmp_path: Path) -> None:
    data = "name\nplain\nCafé\n".encode("latin-1")
    with pytest.raises(EncodingError) as caught:
        read_csv(tmp_path, data).to_table()
    message = str(caught.value)
    assert "data.csv" in message and "line 3" in message and "encoding=" in message


def test_invalid_bytes_deep_in_a_big_file_name_the_line(tmp_path: Path) -> None:
    lines = [b"id,name"] + [b"%d,ok" % i for i in range(200_000)]
    lines[150_001] = b"150000,bad\xff"
    with pytest.raises(EncodingError, match="line 150002"):
        read_csv(tmp_path, b"\n".join(lines) + b"\n").to_table()


def test_named_and_auto_encoding(tmp_path: Path) -> None:
    data = "name\nCafé Zoë\n".encode("latin-1")
    named = read_csv(tmp_path, data, encoding="latin-1")
    assert named.to_table().column("name").to_pylist() == ["Café Zoë"]
    auto = read_csv(tmp_path, data, name="auto.csv", encoding="auto")
    assert auto.to_table().column("name").to_pylist() == ["Café Zoë"]
    assert auto.info["encoding_source"] == "detected"
    assert auto.info["encoding"] in ("cp1252", "latin-1")


def test_unknown_encoding_name_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown encoding 'utf-99'"):
        read_csv(tmp_path, b"a\n1\n", encoding="utf-99")


def test_gzip_by_suffix_and_by_magic(tmp_path: Path) -> None:
    data = gzip.compress(b"a,b\n007,x\n")
    assert read_csv(tmp_path, data, name="d.csv.gz").to_table().to_pylist() == [
        {"a": "007", "b": "x"}]
    frames = ldtransform.read(io.BytesIO(data), format="csv")
    assert frames.info["compressed"] is True
    assert frames.to_table().num_rows == 1


def test_tsv_suffix(tmp_path: Path) -> None:
    frames = read_csv(tmp_path, b"a\tb\n1\t2\n", name="d.tsv")
    assert frames.info["format"] == "csv" and frames.info["delimiter"] == "\t"


# -- header --------------------------------------------------------------------------

def test_header_row_skips_title_lines_and_keeps_row_numbers(tmp_path: Path) -> None:
    data = b"Export of accounts\nmade 2024-01-01, by someone\nid,name\n1,a\n2,b\n"
    frames = read_csv(tmp_path, data, header_row=3)
    assert frames.schema.names == ["id", "name"]
    assert rows_by_number(frames, "id") == {4: "1", 5: "2"}


def test_no_header(tmp_path: Path) -> None:
    frames = read_csv(tmp_path, b"1,2\n3,4\n", header_row=None)
    assert frames.schema.names == ["column_1", "column_2"]
    assert rows_by_number(frames, "column_1") == {1: "1", 2: "3"}


def test_duplicate_header_names_both_columns(tmp_path: Path) -> None:
    with pytest.raises(ReadError) as caught:
        read_csv(tmp_path, b"id,name,id\n1,2,3\n")
    assert "column 1 (A)" in str(caught.value) and "column 3 (C)" in str(caught.value)


def test_blank_header_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match=r"column 2 \(B\) is blank"):
        read_csv(tmp_path, b"id, ,x\n1,2,3\n")


def test_empty_file_is_a_read_error(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="the file is empty"):
        read_csv(tmp_path, b"")


# -- structural problems -----------------------------------------------------------

def test_too_many_fields_names_physical_line(tmp_path: Path) -> None:
    data = b'id,note\n1,"two\nlines"\n2,ok\n3,x,extra\n'
    with pytest.raises(ReadError) as caught:
        read_csv(tmp_path, data).to_table()
    error = caught.value
    assert error.line == 5 and error.row == 4
    assert "3 fields but the header has 2" in str(error) and "line 5" in str(error)


def test_too_few_fields(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="1 fields but the header has 3"):
        read_csv(tmp_path, b"a,b,c\n1,2,3\n4\n").to_table()


def test_unterminated_quote(tmp_path: Path) -> None:
    with pytest.raises(ReadError) as caught:
        read_csv(tmp_path, b'a,b\n1,2\n3,"never closed\n4,5\n').to_table()
    assert caught.value.line == 3 and "never closed" in str(caught.value)


def test_report_mode_keeps_going_and_keeps_the_text(tmp_path: Path) -> None:
    data = b"id,name\n1,a\n2,b,EXTRA\n3,c\n4\n5,e\n"
    frames = read_csv(tmp_path, data, on_bad_row="report")
    assert rows_by_number(frames, "id") == {2: "1", 4: "3", 6: "5"}
    assert [(i.code, i.row, i.value) for i in frames.issues] == [
        ("too-many-fields", 3, "2,b,EXTRA"), ("too-few-fields", 5, "4")]


def test_report_mode_row_numbers_across_many_batches(tmp_path: Path) -> None:
    lines = [b"id,note"]
    for i in range(20_000):
        lines.append(b"%d" % i if i % 997 == 0 else b'%d,"multi\nline"' % i)
    frames = read_csv(tmp_path, b"\n".join(lines) + b"\n", on_bad_row="report",
                      batch_size=100)
    numbered = rows_by_number(frames, "id")
    assert all(value == str(row - 2) for row, value in numbered.items())
    assert len(numbered) + len(frames.issues) == 20_000
    assert [i.row for i in frames.issues][:3] == [2, 999, 1996]


def test_blank_lines_are_rows_like_the_csv_module(tmp_path: Path) -> None:
    data = b"a,b\n1,2\n\n3,4\n"
    frames = read_csv(tmp_path, data)
    assert rows_by_number(frames, "a") == {2: "1", 3: "", 4: "3"}
    assert len(list(csv.reader(io.StringIO(data.decode())))) - 1 == 3


# -- batching and row numbers -------------------------------------------------------

def test_large_file_streams_in_bounded_batches(tmp_path: Path) -> None:
    body = "".join(f'{i:06d},"name {i}\nsecond line",{i * 1.5}\n' for i in range(50_000))
    frames = read_csv(tmp_path, ("id,name,amount\n" + body).encode(), batch_size=4096)
    total, expected_first = 0, 2
    for numbered in frames.numbered():
        assert numbered.batch.num_rows <= 4096
        assert numbered.first_row == expected_first
        expected_first += numbered.batch.num_rows
        total += numbered.batch.num_rows
    assert total == 50_000


def test_schema_can_type_columns(tmp_path: Path) -> None:
    path = tmp_path / "typed.csv"
    path.write_bytes(b"id,amount\n007,1.5\n")
    reader = ldtransform.registry.load("reader", "csv")()
    schema = pa.schema([("amount", pa.float64())])
    table = reader.read(path, schema=schema).to_table()
    assert table.to_pydict() == {"id": ["007"], "amount": [1.5]}


# -- round trips ---------------------------------------------------------------------

# A zero byte near the start marks a binary file, not text: the cells hold none.
text_chars = st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00")
cells = st.text(text_chars, max_size=12)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=st.lists(st.text(text_chars, min_size=1, max_size=8).filter(lambda s: s.strip()),
                    min_size=1, max_size=5, unique=True),
    data=st.data(),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    lineterminator=st.sampled_from(["\r\n", "\n"]),
)
def test_any_table_written_by_csv_module_reads_back(
    tmp_path: Path, header: list[str], data: st.DataObject, delimiter: str,
    lineterminator: str,
) -> None:
    rows = data.draw(st.lists(st.lists(cells, min_size=len(header), max_size=len(header)),
                              max_size=20))
    if len(header) == 1:
        # A one-column row whose only value is empty is a blank line in CSV.
        rows = [row for row in rows if row != [""]]
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator=lineterminator,
               quoting=csv.QUOTE_MINIMAL).writerows([header, *rows])
    parsed = list(csv.reader(io.StringIO(buffer.getvalue(), newline=""), delimiter=delimiter))
    # With a "\n" terminator the csv module leaves a bare "\r" unquoted, and then cannot
    # read its own output back; such files are ambiguous, not valid CSV.
    assume(parsed == [header, *rows])
    path = tmp_path / "roundtrip.csv"
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    frames = ldtransform.read(path, delimiter=delimiter)
    table = frames.to_table()
    assert table.column_names == header
    assert [list(r.values()) for r in table.to_pylist()] == rows
    assert table.num_rows == len(parsed) - 1


def test_file_object_is_read_from_where_it_stands() -> None:
    stream = io.BytesIO(b"junk line\na,b\n1,2\n")
    stream.readline()
    assert ldtransform.read(stream, format="csv").to_table().to_pylist() == [
        {"a": "1", "b": "2"}]


def test_text_mode_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a\n1\n")
    with open(path) as handle, pytest.raises(ConfigError, match="text mode"):
        ldtransform.read(handle, format="csv")  # type: ignore[arg-type]


def test_named_encoding_that_does_not_fit_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(EncodingError) as caught:
        read_csv(tmp_path, "name\nCafé\n".encode(), encoding="ascii")
    assert "data.csv" in str(caught.value) and "line 2" in str(caught.value)
