""":class:`TransformContract`: what every transform owes a pipeline."""

from __future__ import annotations

from typing import Any, ClassVar

import pyarrow as pa
import pytest

import ldtransform
from ldtransform import registry
from ldtransform.errors import StreamConsumedError
from ldtransform.protocols import Transform
from ldtransform.schema import ARROW_TYPES, ItemSchema

__all__ = ["TransformContract"]

FIRST_ROW = 10  # not 1: a transform that numbers its output afresh is caught
SOURCE = "sample.csv"


class TransformContract:
    """The behaviour every transform owes a pipeline. Subclass it, set ``name`` and
    implement :meth:`make_transform` and :meth:`sample_table`."""

    #: The transform's name (its entry-point name, and what a mapping's ``transforms`` names).
    name: ClassVar[str]

    def make_transform(self) -> Any:
        """A new transform, configured as a mapping's ``transforms`` entry would."""
        raise NotImplementedError

    def sample_table(self) -> pa.Table:
        """A source's columns, as text, on which the transform changes something."""
        raise NotImplementedError

    def transform_entry(self) -> dict[str, Any] | None:
        """The entry of a mapping's ``transforms`` that runs the transform as
        :meth:`make_transform` makes it, e.g. ``{"name": "uppercase", "columns": ["code"]}``;
        given one, the suite also runs the sample through the validation stage with it."""
        return None

    # -- helpers -----------------------------------------------------------------------

    def _run(self, table: pa.Table, batch_size: int) -> ldtransform.Frames:
        frames = ldtransform.Frames.from_table(table, batch_size=batch_size,
                                               first_row=FIRST_ROW, source=SOURCE)
        output = self.make_transform()(frames)
        assert isinstance(output, ldtransform.Frames), "a transform returns Frames"
        return output

    def _numbered_rows(self, table: pa.Table, batch_size: int) -> tuple[list[int], pa.Table]:
        """The source row number of each output row, and the output."""
        output = self._run(table, batch_size)
        numbers: list[int] = []
        batches = []
        for first_row, batch in output.numbered():
            assert batch.schema.equals(output.schema), "every batch has the Frames' schema"
            numbers += range(first_row, first_row + batch.num_rows)
            batches.append(batch)
        return numbers, pa.Table.from_batches(batches, schema=output.schema)

    # -- the contract ------------------------------------------------------------------

    def test_is_registered_under_its_name(self) -> None:
        assert registry.find("transform", self.name).load().name == self.name

    def test_satisfies_the_protocol(self) -> None:
        assert isinstance(self.make_transform(), Transform)

    def test_keeps_the_source_and_streams(self) -> None:
        output = self._run(self.sample_table(), batch_size=2)
        assert output.source == SOURCE
        for first_row, batch in output.numbered():
            assert first_row >= FIRST_ROW and isinstance(batch, pa.RecordBatch)

    def test_changes_the_sample(self) -> None:
        table = self.sample_table()
        assert self._run(table, batch_size=table.num_rows).to_table() != table

    def test_row_numbers_are_carried_through(self) -> None:
        """Each output row keeps the number of the source row it came from: numbers of
        the input, in order, none twice (a transform may drop rows, never add them)."""
        table = self.sample_table()
        numbers, _ = self._numbered_rows(table, batch_size=2)
        assert numbers == sorted(set(numbers)), "row numbers must increase, none twice"
        assert set(numbers) <= set(range(FIRST_ROW, FIRST_ROW + table.num_rows))

    def test_schema_is_fixed_whatever_the_data(self) -> None:
        """The output schema is known before any batch and the same for any batching and
        for no rows at all, so the stages after it can plan."""
        table = self.sample_table()
        schema = self._run(table, batch_size=table.num_rows).schema
        assert self._run(table, batch_size=1).schema.equals(schema)
        assert self._run(table.slice(0, 0), batch_size=2).schema.equals(schema)
        self._numbered_rows(table, batch_size=1)  # asserts each batch's schema

    @pytest.mark.parametrize("batch_size", [1, 2, 3])
    def test_batching_does_not_change_the_result(self, batch_size: int) -> None:
        table = self.sample_table()
        numbers, whole = self._numbered_rows(table, batch_size=table.num_rows)
        got_numbers, got = self._numbered_rows(table, batch_size=batch_size)
        assert got.equals(whole) and got_numbers == numbers

    def test_output_is_one_shot(self) -> None:
        output = self._run(self.sample_table(), batch_size=2)
        list(output)
        with pytest.raises(StreamConsumedError):
            list(output)

    def test_runs_from_a_mappings_transforms(self) -> None:
        """Named in ``transforms``, it passes on the rows it passes on when called, and
        the report counts the ones it dropped."""
        entry = self.transform_entry()
        if entry is None:
            pytest.skip("override transform_entry() to run the transform from a mapping")
        table = self.sample_table()
        direct = self._run(table, batch_size=table.num_rows).to_table()
        types = {str(arrow): kind for kind, arrow in ARROW_TYPES.items()
                 if kind != "enumeration"}
        schema = ItemSchema.from_dict({"itemType": "Sample", "fields": [
            {"name": f.name, "type": types.get(str(f.type), "string")} for f in direct.schema]})
        result = ldtransform.validate(table, schema, transforms=[entry])
        report = result.report
        assert report.rows_read == table.num_rows
        assert report.rows_dropped == table.num_rows - direct.num_rows
        assert result.valid_table.num_rows + report.rows_rejected == direct.num_rows

    def test_an_empty_source_gives_empty_frames(self) -> None:
        output = self._run(self.sample_table().slice(0, 0), batch_size=2).to_table()
        assert output.num_rows == 0
