""":class:`ReaderContract`: what every reader owes its users."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path
from typing import ClassVar

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
from ldtransform.testing._tables import UnseekableStream, canonical_table

__all__ = ["ReaderContract"]


class ReaderContract:
    """The behaviour every reader owes its users. Subclass it, set ``format`` and implement
    :meth:`write_table` and :meth:`malformed_inputs`; do not instantiate it."""

    #: The reader's format name (its entry-point name).
    format: ClassVar[str]
    #: Modules this reader needs from an optional extra (e.g. ``("python_calamine",)``).
    optional_modules: ClassVar[tuple[str, ...]] = ()
    #: What the MissingDependencyError raised without ``optional_modules`` must say: a
    #: plugin with extras of its own sets e.g. ``"pip install 'ldtransform-foo["``.
    install_hint: ClassVar[str] = "pip install 'ldtransform["
    #: Whether a value may hold a line break. A line-based format (one record a line, no
    #: quoting) sets False: the suite then round-trips a table without newlines in values.
    carries_newlines: ClassVar[bool] = True
    #: Suffix of the files the suite writes (default: the reader's first suffix).
    suffix: ClassVar[str] = ""

    # -- what a subclass provides ----------------------------------------------------

    def write_table(self, table: pa.Table, path: Path) -> None:
        """Write ``table`` to ``path`` in this format (header/field names included)."""
        raise NotImplementedError

    def malformed_inputs(self) -> list[bytes]:
        """Byte strings that are not valid in this format."""
        raise NotImplementedError

    def expected(self, table: pa.Table) -> pa.Table:
        """What reading a file written from ``table`` gives back (default: ``table``);
        override for a format that reads every value as text, say."""
        return table

    # -- helpers -----------------------------------------------------------------------

    def _table(self) -> pa.Table:
        """The canonical table this reader must reproduce (see ``carries_newlines``)."""
        return canonical_table(newlines=self.carries_newlines)

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
        table = self._table()
        got = ldtransform.read(self._written(table, tmp_path), format=self.format).to_table()
        want = self.expected(table)
        assert got.schema.remove_metadata() == want.schema, (got.schema, want.schema)
        assert got.to_pylist() == want.to_pylist()

    def test_reads_an_unseekable_stream(self, tmp_path: Path) -> None:
        table = self._table()
        data = self._written(table, tmp_path).read_bytes()
        stream = io.BufferedReader(UnseekableStream(data))
        got = ldtransform.read(stream, format=self.format).to_table()
        assert got.to_pylist() == self.expected(table).to_pylist()

    def test_batches_respect_batch_size_and_number_rows(self, tmp_path: Path) -> None:
        table = pa.concat_tables([self._table()] * 5)
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
        empty = self._table().slice(0, 0)
        frames = ldtransform.read(self._written(empty, tmp_path), format=self.format)
        table = frames.to_table()
        assert table.num_rows == 0
        assert isinstance(frames.schema, pa.Schema)

    def test_second_iteration_fails(self, tmp_path: Path) -> None:
        table = self._table()
        frames = ldtransform.read(self._written(table, tmp_path), format=self.format)
        assert sum(batch.num_rows for batch in frames) == table.num_rows
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
        path = self._written(self._table(), tmp_path)
        with pytest.raises(UnknownOptionError, match="valid options"):
            ldtransform.read(path, format=self.format, no_such_option=1)

    def test_optional_dependencies(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                   ) -> None:
        """Without its extra the reader says how to install it; others never need it."""
        table = self._table()
        path = self._written(table, tmp_path)
        blocked = self.optional_modules or ("python_calamine", "fastapi", "uvicorn")
        for module in blocked:
            for loaded in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
                monkeypatch.delitem(sys.modules, loaded)
            monkeypatch.setitem(sys.modules, module, None)
        if self.optional_modules:
            with pytest.raises(MissingDependencyError, match=re.escape(self.install_hint)):
                ldtransform.read(path, format=self.format).to_table()
        else:
            assert ldtransform.read(path, format=self.format).to_table().num_rows == \
                table.num_rows
