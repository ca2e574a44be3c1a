"""Conformance suites for plugin authors (and the built-in formats, which use the same).

Subclass :class:`ReaderContract` in a test module, set ``format`` and implement
:meth:`~ReaderContract.write_table` and :meth:`~ReaderContract.malformed_inputs`; pytest
then runs every contract test against your reader through :func:`ldtransform.read`::

    class TestXmlReader(ReaderContract):
        format = "xml"
        def write_table(self, table, path): ...
        def malformed_inputs(self): return [b"<unclosed"]

:class:`WriterContract` does the same for writers: implement ``make_writer`` and
``read_back`` (one file's bytes → its rows); :class:`ValidatorContract` and
:class:`TransformContract` for validators and transforms: implement ``make_validator`` or
``make_transform`` and ``sample_table`` (a table on which the plugin has something to do).
"""

from __future__ import annotations

import datetime as dt
import io
import sys
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pytest

import ldtransform
from ldtransform import registry
from ldtransform.errors import (
    MissingDependencyError,
    ReadError,
    StreamConsumedError,
    UnknownOptionError,
)
from ldtransform.protocols import Issue, Transform, Validator

__all__ = [
    "ReaderContract",
    "TransformContract",
    "UnseekableStream",
    "ValidatorContract",
    "WriterContract",
    "canonical_table",
]


class UnseekableStream(io.RawIOBase):
    """A readable binary stream that cannot seek, like standard input or a socket."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._data.readinto(buffer)


def canonical_table() -> pa.Table:
    """The table every reader must reproduce: unicode, nulls, quotes, commas, newlines,
    dates, decimals and leading zeros."""
    return pa.table({
        "id": pa.array(["007", "0042", "A-1", "100", "x"], pa.string()),
        "name": pa.array([
            'Zoë\'s "Café", Ltd.',
            "first line\nsecond line",
            "日本語 テキスト ✓",
            "  padded, with comma  ",
            None,
        ], pa.string()),
        "amount": pa.array([0.0, 1234.5, -0.125, 1e6, None], pa.float64()),
        "count": pa.array([1, 0, -5, 2**40, None], pa.int64()),
        "joined": pa.array(
            [dt.date(2014, 2, 1), dt.date(1999, 12, 31), None, dt.date(2024, 2, 29),
             dt.date(1970, 1, 1)], pa.date32()),
        "active": pa.array([True, False, None, True, False], pa.bool_()),
    })


class ReaderContract:
    """The behaviour every reader owes its users. Subclass it; do not instantiate."""

    #: The reader's format name (its entry-point name).
    format: ClassVar[str]
    #: Modules this reader needs from an optional extra (e.g. ``("python_calamine",)``).
    optional_modules: ClassVar[tuple[str, ...]] = ()
    #: Suffix used for files the contract writes.
    suffix: ClassVar[str] = ""

    # -- what a subclass provides ----------------------------------------------------

    def write_table(self, table: pa.Table, path: Path) -> None:
        """Write ``table`` to ``path`` in this format (header/field names included)."""
        raise NotImplementedError

    def malformed_inputs(self) -> list[bytes]:
        """Byte strings that are not valid in this format."""
        raise NotImplementedError

    def expected(self, table: pa.Table) -> pa.Table:
        """What reading a file written from ``table`` gives back (default: ``table``)."""
        return table

    # -- helpers -----------------------------------------------------------------------

    def _suffix(self) -> str:
        if self.suffix:
            return self.suffix
        suffixes = registry.load("reader", self.format).suffixes
        return str(suffixes[0]) if suffixes else ".data"

    def _written(self, table: pa.Table, tmp_path: Path, name: str = "table") -> Path:
        path = tmp_path / f"{name}{self._suffix()}"
        self.write_table(table, path)
        return path

    # -- the contract ------------------------------------------------------------------

    def test_registered_by_name_and_suffix(self) -> None:
        reader_class = registry.load("reader", self.format)
        assert reader_class.format == self.format
        for suffix in reader_class.suffixes:
            assert registry.reader_for_source(f"some/file{suffix}") is reader_class

    def test_values_and_schema_round_trip(self, tmp_path: Path) -> None:
        table = canonical_table()
        got = ldtransform.read(self._written(table, tmp_path), format=self.format).to_table()
        want = self.expected(table)
        assert got.schema.remove_metadata() == want.schema, (got.schema, want.schema)
        assert got.to_pylist() == want.to_pylist()

    def test_reads_an_unseekable_stream(self, tmp_path: Path) -> None:
        table = canonical_table()
        data = self._written(table, tmp_path).read_bytes()
        stream = io.BufferedReader(UnseekableStream(data))
        got = ldtransform.read(stream, format=self.format).to_table()
        assert got.to_pylist() == self.expected(table).to_pylist()

    def test_batches_respect_batch_size_and_number_rows(self, tmp_path: Path) -> None:
        table = pa.concat_tables([canonical_table()] * 5)
        frames = ldtransform.read(self._written(table, tmp_path), format=self.format,
                                  batch_size=3)
        sizes, firsts = [], []
        for numbered in frames.numbered():
            sizes.append(numbered.batch.num_rows)
            firsts.append(numbered.first_row)
        assert sum(sizes) == table.num_rows == frames.rows_read
        assert max(sizes) <= 3
        for (first, size), following in zip(zip(firsts, sizes, strict=True), firsts[1:],
                                            strict=False):
            assert following >= first + size, "row numbers must increase batch by batch"

    def test_empty_input_still_has_schema(self, tmp_path: Path) -> None:
        empty = canonical_table().slice(0, 0)
        frames = ldtransform.read(self._written(empty, tmp_path), format=self.format)
        table = frames.to_table()
        assert table.num_rows == 0
        assert isinstance(frames.schema, pa.Schema)

    def test_second_iteration_fails(self, tmp_path: Path) -> None:
        frames = ldtransform.read(self._written(canonical_table(), tmp_path),
                                  format=self.format)
        assert sum(batch.num_rows for batch in frames) == canonical_table().num_rows
        with pytest.raises(StreamConsumedError):
            list(frames)

    def test_malformed_input_raises_read_error(self, tmp_path: Path) -> None:
        inputs = self.malformed_inputs()
        assert inputs, "a reader contract needs at least one malformed input"
        for number, data in enumerate(inputs):
            path = tmp_path / f"malformed{number}{self._suffix()}"
            path.write_bytes(data)
            with pytest.raises(ReadError) as caught:
                ldtransform.read(path, format=self.format).to_table()
            assert str(path) in str(caught.value), "the error must name the file"

    def test_unknown_option_is_rejected(self, tmp_path: Path) -> None:
        path = self._written(canonical_table(), tmp_path)
        with pytest.raises(UnknownOptionError, match="valid options"):
            ldtransform.read(path, format=self.format, no_such_option=1)

    def test_optional_dependencies(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                   ) -> None:
        """Without its extra the reader names the extra; others never need it."""
        path = self._written(canonical_table(), tmp_path)
        blocked = self.optional_modules or ("python_calamine", "fastapi", "uvicorn")
        for module in blocked:
            for loaded in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
                monkeypatch.delitem(sys.modules, loaded)
            monkeypatch.setitem(sys.modules, module, None)
        if self.optional_modules:
            with pytest.raises(MissingDependencyError, match=r"pip install 'ldtransform\["):
                ldtransform.read(path, format=self.format).to_table()
        else:
            assert ldtransform.read(path, format=self.format).to_table().num_rows == 5


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


class ValidatorContract:
    """The behaviour every validator owes the validation stage. Subclass it, set ``name``
    and implement :meth:`make_validator` and :meth:`sample_table` (a table, typed as the
    schema would type it, in which the validator finds at least one problem)."""

    #: The validator's name (its entry-point name, and what a schema's ``checks`` names).
    name: ClassVar[str]

    def make_validator(self) -> Any:
        raise NotImplementedError

    def sample_table(self) -> pa.Table:
        raise NotImplementedError

    def _issues(self, table: pa.Table, batch_size: int, first_row: int = 2) -> list[Any]:
        validator = self.make_validator()
        issues = []
        for batch in table.to_batches(max_chunksize=batch_size):
            found = list(validator.check(batch, first_row=first_row))
            assert all(first_row <= i.row < first_row + batch.num_rows for i in found
                       if i.row is not None), "check() reports rows outside its batch"
            issues += found
            first_row += batch.num_rows
        return issues + list(validator.finish())

    def test_is_registered_under_its_name(self) -> None:
        assert registry.find("validator", self.name).load().name == self.name

    def test_satisfies_the_protocol(self) -> None:
        assert isinstance(self.make_validator(), Validator)

    def test_finds_problems_as_issues_with_codes_and_source_rows(self) -> None:
        table = self.sample_table()
        issues = self._issues(table, batch_size=table.num_rows or 1)
        assert issues, "the sample table should hold at least one problem"
        for issue in issues:
            assert isinstance(issue, Issue)
            assert issue.code and issue.code == issue.code.lower() and " " not in issue.code
            assert issue.message and issue.severity in ("error", "warning")

    def test_batching_does_not_change_the_issues(self) -> None:
        table = self.sample_table()
        whole = self._issues(table, batch_size=table.num_rows or 1)
        assert sorted(map(repr, self._issues(table, batch_size=1))) == sorted(map(repr, whole))

    def test_an_empty_table_has_no_issues(self) -> None:
        empty = self.sample_table().slice(0, 0)
        validator = self.make_validator()
        for batch in empty.to_batches() or [pa.RecordBatch.from_pylist([], schema=empty.schema)]:
            assert list(validator.check(batch, first_row=2)) == []
        assert list(validator.finish()) == []


class TransformContract:
    """The behaviour every transform owes a pipeline. Subclass it, set ``name`` and
    implement :meth:`make_transform` and :meth:`sample_table` (a source's columns, as
    text, on which the transform changes something)."""

    #: The transform's name (its entry-point name, and what a mapping's ``transforms`` names).
    name: ClassVar[str]

    def make_transform(self) -> Any:
        raise NotImplementedError

    def sample_table(self) -> pa.Table:
        raise NotImplementedError

    def _run(self, table: pa.Table, batch_size: int) -> ldtransform.Frames:
        frames = ldtransform.Frames.from_table(table, batch_size=batch_size, first_row=2,
                                               source="sample.csv")
        output = self.make_transform()(frames)
        assert isinstance(output, ldtransform.Frames)
        return output

    def test_is_registered_under_its_name(self) -> None:
        assert registry.find("transform", self.name).load().name == self.name

    def test_satisfies_the_protocol(self) -> None:
        assert isinstance(self.make_transform(), Transform)

    def test_keeps_the_source_and_streams(self) -> None:
        output = self._run(self.sample_table(), batch_size=2)
        assert output.source == "sample.csv"
        for first_row, batch in output.numbered():
            assert first_row >= 2 and isinstance(batch, pa.RecordBatch)

    def test_changes_the_sample(self) -> None:
        table = self.sample_table()
        assert self._run(table, batch_size=table.num_rows).to_table() != table

    def test_batching_does_not_change_the_result(self) -> None:
        table = self.sample_table()
        whole = self._run(table, batch_size=table.num_rows).to_table()
        assert self._run(table, batch_size=1).to_table().equals(whole)

    def test_an_empty_source_gives_empty_frames(self) -> None:
        output = self._run(self.sample_table().slice(0, 0), batch_size=2).to_table()
        assert output.num_rows == 0
