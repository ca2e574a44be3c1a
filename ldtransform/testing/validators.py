""":class:`ValidatorContract`: what every validator owes the validation stage."""

from __future__ import annotations

from typing import Any, ClassVar

import pyarrow as pa
import pytest

import ldtransform
from ldtransform import registry
from ldtransform.protocols import Issue, Validator
from ldtransform.schema import ARROW_TYPES, ItemSchema

__all__ = ["ValidatorContract"]

FIRST_ROW = 2  # a CSV file's first data row, below its header


class ValidatorContract:
    """The behaviour every validator owes the validation stage. Subclass it, set ``name``
    and implement :meth:`make_validator` and :meth:`sample_table`."""

    #: The validator's name (its entry-point name, and what a schema's ``checks`` names).
    name: ClassVar[str]

    def make_validator(self) -> Any:
        """A new validator, configured as a schema's ``checks`` entry would configure it."""
        raise NotImplementedError

    def sample_table(self) -> pa.Table:
        """A table, typed as the schema would type it, in which the validator finds at
        least one problem (a problem ``finish`` reports too, if it has any kind)."""
        raise NotImplementedError

    def schema_check(self) -> dict[str, Any] | None:
        """The entry of a schema's ``checks`` that runs the validator as
        :meth:`make_validator` makes it, e.g. ``{"name": "positive", "field": "amount"}``;
        given one, the suite also validates the sample through a schema naming it."""
        return None

    # -- helpers -----------------------------------------------------------------------

    def _issues(self, table: pa.Table, batch_size: int) -> list[Issue]:
        """Check ``table`` batch by batch, as the validation stage does, then finish."""
        validator = self.make_validator()
        issues: list[Issue] = []
        first_row = FIRST_ROW
        for batch in table.to_batches(max_chunksize=batch_size):
            found = list(validator.check(batch, first_row=first_row))
            assert all(i.row is not None and first_row <= i.row < first_row + batch.num_rows
                       for i in found), "check() must give each issue a row of its batch"
            issues += found
            first_row += batch.num_rows
        return issues + list(validator.finish())

    def _whole(self) -> list[Issue]:
        table = self.sample_table()
        return self._issues(table, batch_size=table.num_rows or 1)

    # -- the contract ------------------------------------------------------------------

    def test_is_registered_under_its_name(self) -> None:
        assert registry.find("validator", self.name).load().name == self.name

    def test_satisfies_the_protocol(self) -> None:
        assert isinstance(self.make_validator(), Validator)

    def test_finds_problems_as_issues_with_codes_and_source_rows(self) -> None:
        issues = self._whole()
        assert issues, "the sample table should hold at least one problem"
        for issue in issues:
            assert isinstance(issue, Issue)
            assert issue.code and issue.code == issue.code.lower() and " " not in issue.code
            assert issue.message and issue.severity in ("error", "warning")

    def test_issues_name_a_row_and_a_field_of_the_table(self) -> None:
        table = self.sample_table()
        rows = range(FIRST_ROW, FIRST_ROW + table.num_rows)
        for issue in self._whole():
            assert issue.row in rows, f"{issue}: row is not one of the table's {rows}"
            # A field inside a record list is named by its path ("lines[0].amount").
            assert issue.field and issue.field.split("[")[0].split(".")[0] in \
                table.column_names, f"{issue}: field is not one of {table.column_names}"

    def test_finish_reports_what_needs_every_batch(self) -> None:
        """Once every batch is checked, ``finish`` reports the rest (a duplicate key in
        two batches, say), located in rows of the table, even when every batch is one row."""
        table = self.sample_table()
        validator = self.make_validator()
        first_row = FIRST_ROW
        for batch in table.to_batches(max_chunksize=1):
            list(validator.check(batch, first_row=first_row))
            first_row += batch.num_rows
        finished = list(validator.finish())
        assert all(isinstance(i, Issue) and i.row is not None
                   and FIRST_ROW <= i.row < first_row for i in finished)

    @pytest.mark.parametrize("batch_size", [1, 2, 3])
    def test_batching_does_not_change_the_issues(self, batch_size: int) -> None:
        table = self.sample_table()
        whole = sorted(map(repr, self._whole()))
        assert sorted(map(repr, self._issues(table, batch_size=batch_size))) == whole

    def test_runs_from_a_schemas_checks(self) -> None:
        """Named in a schema's ``checks``, it reports in the validation stage what it
        reports when called (rows counted from 1 there: the table's own rows)."""
        check = self.schema_check()
        if check is None:
            pytest.skip("override schema_check() to run the validator from a schema")
        table = self.sample_table()
        types = {str(arrow): kind for kind, arrow in ARROW_TYPES.items()
                 if kind != "enumeration"}
        unknown = [f"{f.name} ({f.type})" for f in table.schema if str(f.type) not in types]
        assert not unknown, f"sample_table columns without a schema type: {unknown}"
        schema = ItemSchema.from_dict({
            "itemType": "Sample",
            "fields": [{"name": f.name, "type": types[str(f.type)]} for f in table.schema],
            "checks": [check],
        })
        direct = self._whole()
        codes = {issue.code for issue in direct}
        staged = [i for i in ldtransform.validate(table, schema).report.issues
                  if i.code in codes]
        shifted = [(None if i.row is None else i.row - FIRST_ROW + 1, i.field, i.code)
                   for i in direct]
        assert sorted(map(repr, ((i.row, i.field, i.code) for i in staged))) == \
            sorted(map(repr, shifted))

    def test_an_empty_table_has_no_issues(self) -> None:
        empty = self.sample_table().slice(0, 0)
        validator = self.make_validator()
        for batch in empty.to_batches() or [pa.RecordBatch.from_pylist([], schema=empty.schema)]:
            assert list(validator.check(batch, first_row=FIRST_ROW)) == []
        assert list(validator.finish()) == []
