"""Frames: one schema, one pass, row numbers carried through."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from ldtransform import Frames, ReadError, StreamConsumedError


def test_batches_are_cast_to_the_declared_schema() -> None:
    schema = pa.schema([("id", pa.string()), ("n", pa.int64())])
    narrow = pa.record_batch({"id": ["a"], "n": pa.array([1], pa.int32())})
    frames = Frames(schema, [(2, narrow)])
    batch = next(iter(frames))
    assert batch.schema == schema


def test_pandas_batches_are_converted() -> None:
    schema = pa.schema([("id", pa.string())])
    frames = Frames(schema, [(1, pd.DataFrame({"id": ["007"]}))])
    assert frames.to_table().to_pydict() == {"id": ["007"]}


def test_batch_that_cannot_fit_is_a_read_error() -> None:
    schema = pa.schema([("n", pa.int64())])
    frames = Frames(schema, [(1, pa.record_batch({"n": ["not a number"]}))], source="x.csv")
    with pytest.raises(ReadError, match=r"x\.csv"):
        frames.to_table()


def test_second_iteration_raises() -> None:
    frames = Frames.from_pandas(pd.DataFrame({"a": [1, 2]}))
    assert frames.to_table().num_rows == 2
    with pytest.raises(StreamConsumedError, match="already been iterated"):
        frames.to_table()


def test_batch_size_slices_and_keeps_row_numbers() -> None:
    schema = pa.schema([("a", pa.int64())])
    big = pa.record_batch({"a": list(range(10))})
    frames = Frames(schema, [(5, big)], batch_size=4)
    numbered = [(n.first_row, n.batch.num_rows) for n in frames.numbered()]
    assert numbered == [(5, 4), (9, 4), (13, 2)]
    assert frames.rows_read == 10


def test_from_pandas_round_trip_keeps_text() -> None:
    df = pd.DataFrame({"code": ["007", "0042"], "amount": [1.5, None]})
    back = Frames.from_pandas(df, batch_size=1).to_pandas()
    assert back["code"].tolist() == ["007", "0042"]
    assert back["amount"].iloc[0] == 1.5 and pd.isna(back["amount"].iloc[1])


def test_empty_frames_still_have_schema() -> None:
    schema = pa.schema([("a", pa.string())])
    table = Frames(schema, iter(())).to_table()
    assert table.schema == schema and table.num_rows == 0


def test_map_batches_carries_row_numbers() -> None:
    frames = Frames.from_table(pa.table({"a": [1, 2, 3]}), batch_size=2, first_row=2)
    doubled_schema = pa.schema([("a", pa.int64())])
    mapped = frames.map_batches(
        lambda b: pa.record_batch({"a": pa.compute.multiply(b.column(0), 2)}), doubled_schema)
    assert [(n.first_row, n.batch.column(0).to_pylist()) for n in mapped.numbered()] == [
        (2, [2, 4]), (4, [6])]
