"""Every CSV record is counted once: rows read = valid + rejected, whatever the breakage."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

import ldtransform
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


def test_an_unterminated_quote_is_one_rejected_row() -> None:
    report, valid_rows, rejected_rows = validate_counting(b'a,b,c\n1,2,3\n4,5,6\n7,8,"9\n')
    assert (report.rows_read, report.rows_valid, report.rows_rejected) == (3, 2, 1)
    assert (valid_rows, rejected_rows) == ([2, 3], [4])
    assert [(issue.row, issue.code) for issue in report.issues] == [(4, "unterminated-quote")]
