"""The Parquet reader: contract, projection, damaged files."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import ldtransform
from ldtransform.errors import ConfigError, ReadError
from ldtransform.testing import ReaderContract, canonical_table


class TestParquetReaderContract(ReaderContract):
    format = "parquet"

    def write_table(self, table: pa.Table, path: Path) -> None:
        pq.write_table(table, path, row_group_size=4)

    def malformed_inputs(self) -> list[bytes]:
        good = pa.BufferOutputStream()
        pq.write_table(canonical_table(), good)
        data = good.getvalue().to_pybytes()
        return [b"PAR1 not really", data[: len(data) // 2], b"a,b\n1,2\n"]


def test_column_projection_keeps_types(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(canonical_table(), path)
    table = ldtransform.read(path, columns=["joined", "id"]).to_table()
    assert table.schema == pa.schema([("joined", pa.date32()), ("id", pa.string())])


def test_unknown_column_names_the_real_ones(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(canonical_table(), path)
    with pytest.raises(ConfigError, match=r"no column.*'nope'.*the file has: id, name"):
        ldtransform.read(path, columns=["nope"])


def test_row_groups_stream_with_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"n": list(range(1000))}), path, row_group_size=300)
    numbered = [(n.first_row, n.batch.num_rows)
                for n in ldtransform.read(path, batch_size=128).numbered()]
    assert numbered[0] == (1, 128)
    assert sum(size for _, size in numbered) == 1000
    assert all(size <= 128 for _, size in numbered)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="no such file"):
        ldtransform.read(tmp_path / "absent.parquet")
