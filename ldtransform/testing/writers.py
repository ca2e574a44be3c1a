""":class:`WriterContract`: what every writer owes the pipeline."""

from __future__ import annotations

import io
from typing import Any, ClassVar

import pyarrow as pa

import ldtransform
from ldtransform import registry
from ldtransform.testing._tables import canonical_table

__all__ = ["WriterContract"]


class WriterContract:
    """The behaviour every writer owes the pipeline. Subclass it and implement
    :meth:`make_writer` and :meth:`read_back` (bytes of one file → its rows as dicts of
    text, the way the format's reader would see them)."""

    #: The writer's format name (its entry-point name).
    format: ClassVar[str]

    def make_writer(self) -> Any:
        raise NotImplementedError

    def read_back(self, data: bytes) -> list[dict[str, Any]]:
        raise NotImplementedError

    def expected_rows(self, table: pa.Table) -> list[dict[str, Any]]:
        """What :meth:`read_back` should give for ``table`` (override for formats that
        spell values their own way)."""
        rows: list[dict[str, Any]] = table.to_pylist()
        return rows

    # -- the contract ------------------------------------------------------------------

    def _file(self, table: pa.Table, batch_size: int = 2) -> bytes:
        writer = self.make_writer()
        sink = io.BytesIO()
        written = writer.write(ldtransform.Frames.from_table(table, batch_size=batch_size),
                               sink)
        assert written == table.num_rows
        return sink.getvalue()

    def test_is_registered_under_its_format(self) -> None:
        assert registry.find("writer", self.format).load().format == self.format

    def test_round_trips_the_canonical_table(self) -> None:
        table = canonical_table()
        assert self.read_back(self._file(table)) == self.expected_rows(table)

    def test_batching_does_not_change_the_bytes(self) -> None:
        table = canonical_table()
        assert self._file(table, batch_size=1) == self._file(table, batch_size=100)

    def test_an_empty_input_is_still_a_valid_file(self) -> None:
        table = canonical_table().slice(0, 0)
        assert self.read_back(self._file(table)) == []

    def test_encode_gives_one_record_per_row_each_starting_with_the_separator(self) -> None:
        writer = self.make_writer()
        batch = canonical_table().to_batches()[0]
        records = writer.encode(batch)
        assert len(records) == batch.num_rows
        separator = writer.separator.decode()
        assert all(str(r).startswith(separator) for r in records.to_pylist())

    def test_any_split_of_the_records_makes_valid_files(self) -> None:
        from ldtransform.writers import record_bytes

        writer = self.make_writer()
        table = canonical_table()
        records = writer.encode(table.to_batches()[0])
        rows: list[dict[str, Any]] = []
        for start in range(table.num_rows):  # one record per part
            part = (writer.begin() + record_bytes(records.slice(start, 1),
                                                  skip=len(writer.separator)).to_pybytes()
                    + writer.end())
            rows += self.read_back(part)
        assert rows == self.expected_rows(table)
