"""Every CSV record is counted once: rows read = valid + rejected, whatever the breakage."""

from __future__ import annotations

import gzip
import re
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ldtransform
from ldtransform.errors import ReadError
from ldtransform.readers import _csvtext
from ldtransform.schema import ItemSchema
from ldtransform.validation import Validation

SCHEMA = ItemSchema.from_dict({
    "itemType": "Shop", "category": "entity",
    "fields": [{"name": name, "type": "string"} for name in ("a", "b", "c")],
})

FIELDS = st.text(alphabet='xy ",', max_size=4) | st.sampled_from(
    ['"q"', '"a,b"', '"two\nlines"', '"say ""hi"""', '"open', 'x"y', '"ab"c'])
ROWS = st.lists(FIELDS, max_size=5).map(",".join)  # ragged, and blank when empty
ENDINGS = st.sampled_from(["\n", "\r\n"])
BODIES = st.lists(st.tuples(ROWS, ENDINGS), max_size=10)


def validate_counting(data: bytes) -> tuple[ldtransform.Report, list[int], list[int]]:
    """Validate ``data`` as the CLI does: the report, valid rows and rejected rows."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "shops.csv"
        path.write_bytes(data)
        frames = ldtransform.read(path, on_bad_row="report")
        run = Validation(SCHEMA)
        rejected: list[pa.RecordBatch] = []
        valid = run.run(frames, on_rejected=rejected.append)
        valid_rows = [numbered.first_row + i for numbered in valid.numbered()
                      for i in range(numbered.batch.num_rows)]
        report = run.finish()
    rejected_rows = [row for batch in rejected for row in batch.column("_row").to_pylist()]
    return report, valid_rows, rejected_rows


@settings(max_examples=80, deadline=None)
@given(body=BODIES, last_ending=st.booleans())
def test_every_record_is_counted_once(body: list[tuple[str, str]], last_ending: bool) -> None:
    text = "a,b,c\n" + "".join(row + ending for row, ending in body)
    if body and not last_ending:
        text = text[:-len(body[-1][1])]
    report, valid_rows, rejected_rows = validate_counting(text.encode())
    seen = valid_rows + rejected_rows
    assert len(seen) == len(set(seen)), f"a row reported twice: {sorted(seen)}"
    assert report.rows_read == report.rows_valid + report.rows_rejected == len(seen)
    assert (report.rows_valid, report.rows_rejected) == (len(valid_rows), len(rejected_rows))
    lines = text.count("\n") + (not text.endswith("\n"))
    assert all(2 <= row <= lines for row in seen), (sorted(seen), lines)


def test_a_row_with_a_stray_quote_and_an_unterminated_one_is_rejected_once() -> None:
    for text in (b'a,b,c\n,"ab"c,"', b'a,b,c\n,"ab"c,"\n'):
        report, valid_rows, rejected_rows = validate_counting(text)
        assert (valid_rows, rejected_rows) == ([], [2])
        assert [(issue.row, issue.code) for issue in report.issues] == [(2, "stray-quote")]


def test_an_unterminated_quote_is_one_rejected_row() -> None:
    report, valid_rows, rejected_rows = validate_counting(b'a,b,c\n1,2,3\n4,5,6\n7,8,"9\n')
    assert (report.rows_read, report.rows_valid, report.rows_rejected) == (3, 2, 1)
    assert (valid_rows, rejected_rows) == ([2, 3], [4])
    assert [(issue.row, issue.code) for issue in report.issues] == [(4, "unterminated-quote")]


# -- a stray quote: "ab"c ------------------------------------------------------------------

def test_a_stray_quote_is_a_rejected_row_with_its_raw_text() -> None:
    report, valid_rows, rejected_rows = validate_counting(
        b'a,b,c\n1,"ab"c,3\n4,x"y,6\n7,"p" q,9\n10,"a""b",12\n')
    assert (valid_rows, rejected_rows) == ([3, 5], [2, 4])
    assert [(i.row, i.code, i.field, i.value) for i in report.issues] == [
        (2, "stray-quote", "b", '1,"ab"c,3\n'), (4, "stray-quote", "b", '7,"p" q,9\n')]


def test_a_stray_quote_raises_naming_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "shops.csv"
    path.write_bytes(b'id;name\n1;ok\n2;"Smith" & Sons\n')
    with pytest.raises(ReadError, match="a quote closes the value") as caught:
        ldtransform.read(path).to_table()
    assert (caught.value.row, caught.value.line, caught.value.column) == (3, 3, "B (name)")


@pytest.mark.parametrize("name", ["shops.csv", "shops.csv.gz"])
def test_a_stray_quote_deep_in_a_long_file_is_found(tmp_path: Path, name: str) -> None:
    lines = [f'{i},"shop {i}",Boston\n' for i in range(30_000)]
    lines[15_000] = '15000,"shop" 15000,Boston\n'
    data = ("id,name,city\n" + "".join(lines)).encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(data, compresslevel=1) if name.endswith(".gz") else data)
    frames = ldtransform.read(path, on_bad_row="report", batch_size=100)
    rows = [numbered.first_row + i for numbered in frames.numbered()
            for i in range(numbered.batch.num_rows)]
    assert rows == [row for row in range(2, 30_002) if row != 15_002]
    assert [(i.row, i.code, i.value) for i in frames.issues] == [
        (15_002, "stray-quote", '15000,"shop" 15000,Boston\n')]


def test_an_unterminated_quote_at_the_end_of_a_gzip_file_is_one_issue(tmp_path: Path) -> None:
    path = tmp_path / "shops.csv.gz"
    path.write_bytes(gzip.compress(b'a,b,c\n1,2,3\n4,5,"6\n7,8,9\n'))
    frames = ldtransform.read(path, on_bad_row="report")
    assert frames.to_table().to_pydict() == {"a": ["1"], "b": ["2"], "c": ["3"]}
    assert [(i.row, i.code, i.value) for i in frames.issues] == [
        (3, "unterminated-quote", '4,5,"6\n7,8,9\n')]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet='ab,;"\r\n', max_size=40), st.sampled_from([",", ";"]),
       st.integers(1, 9))
def test_the_fast_stray_quote_pass_sees_what_the_pattern_sees(
        text: str, delimiter: str, chunk: int) -> None:
    # Chunks of a few bytes put quotes at every boundary the 1 MiB chunks can meet.
    data = text.encode()
    plain = "[^" + re.escape(delimiter) + '"\r\n]'
    expected = re.search(plain + '"' + plain, text) is not None
    stream = pa.BufferReader(data)
    scan = _csvtext.StrayQuoteScan((stream, stream), delimiter)
    scan.CHUNK = chunk
    scan.work = tuple(np.empty(chunk + 2, work.dtype) for work in scan.work)
    try:
        assert scan.found_up_to(None) is expected
    finally:
        scan.close()
