"""The conformance kit's own behaviour: its hooks let a line-based plugin with extras of
its own pass, and its suites catch the plugins that break their contract."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fakeplugins import fake_distribution, installed

import ldtransform
from ldtransform import testing
from ldtransform.errors import ReadError
from ldtransform.protocols import Issue
from ldtransform.testing import (
    ReaderContract,
    TransformContract,
    ValidatorContract,
    canonical_table,
)

# A reader of "pipes" files: a header line, then one record a line, values split on "|",
# all text. It cannot hold a newline in a value, and needs a module from its own extra.
PIPES = """
    import io
    import pyarrow as pa
    from ldtransform import Frames, ReadError
    from ldtransform.errors import MissingDependencyError

    class PipesReader:
        format = "pipes"
        suffixes = (".pipes",)

        def read(self, source, *, schema=None, batch_size=65536):
            try:
                import ldt_pipes_speedups  # noqa: F401
            except ImportError:
                raise MissingDependencyError("ldt_pipes_speedups", "fast", "the pipes reader",
                                             package="ldt-pipes") from None
            name = str(source) if not hasattr(source, "read") else None
            data = source.read() if name is None else open(source, "rb").read()
            try:
                lines = data.decode("utf-8").split("\\n")[:-1]
            except UnicodeDecodeError as exc:
                raise ReadError(f"not UTF-8: {exc}", source=name) from exc
            if not lines:
                raise ReadError("no header line", source=name)
            names = lines[0].split("|")
            records = [line.split("|") for line in lines[1:]]
            for number, record in enumerate(records, start=2):
                if len(record) != len(names):
                    raise ReadError(f"{len(record)} fields, not {len(names)}", source=name,
                                    row=number)
            columns = {n: pa.array([r[i] or None for r in records], pa.string())
                       for i, n in enumerate(names)}
            table = pa.table(columns, schema=pa.schema([(n, pa.string()) for n in names]))
            return Frames(table.schema, _numbered(table, batch_size), batch_size=batch_size,
                          source=name)

    def _numbered(table, batch_size):
        first = 2
        for batch in table.to_batches(max_chunksize=batch_size):
            yield first, batch
            first += batch.num_rows
"""


@pytest.fixture
def pipes_installed(tmp_path_factory: pytest.TempPathFactory,
                    monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    site = tmp_path_factory.mktemp("site")
    fake_distribution(site, "ldt-pipes", "[ldtransform.readers]\npipes = ldt_pipes:PipesReader\n",
                      PIPES)
    (site / "ldt_pipes_speedups.py").write_text("")
    with installed(site, monkeypatch):
        yield


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


class TestLineBasedReader(ReaderContract):
    """A plugin the kit must let pass through its hooks alone."""

    format = "pipes"
    carries_newlines = False
    optional_modules = ("ldt_pipes_speedups",)
    install_hint = "pip install 'ldt-pipes["

    @pytest.fixture(autouse=True)
    def _installed(self, pipes_installed: None) -> None:
        """The plugin is installed for each contract test."""

    def write_table(self, table: pa.Table, path: Path) -> None:
        lines = ["|".join(table.column_names)]
        lines += ["|".join(as_text(v) or "" for v in row.values()) for row in table.to_pylist()]
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")

    def expected(self, table: pa.Table) -> pa.Table:
        return pa.table({name: pa.array([as_text(v) for v in table[name].to_pylist()],
                                        pa.string()) for name in table.column_names})

    def malformed_inputs(self) -> list[bytes]:
        return [b"a|b\n1|2|3\n", b"a\n\xff\n"]


def test_the_line_based_table_differs_only_by_its_newline() -> None:
    with_newlines, without = canonical_table(), canonical_table(newlines=False)
    assert "\n" in with_newlines["name"][1].as_py()
    assert not any("\n" in (v or "") for v in without["name"].to_pylist())
    assert with_newlines.drop_columns(["name"]).equals(without.drop_columns(["name"]))


def test_without_the_newline_hook_a_line_based_reader_fails(pipes_installed: None,
                                                           tmp_path: Path) -> None:
    contract = TestLineBasedReader()
    contract.carries_newlines = True  # type: ignore[misc]
    with pytest.raises(ReadError, match="fields, not"):
        contract.test_values_and_schema_round_trip(tmp_path)


def test_without_its_own_install_hint_a_plugin_with_extras_fails(
        pipes_installed: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    contract = TestLineBasedReader()
    contract.install_hint = ReaderContract.install_hint  # type: ignore[misc]
    with pytest.raises(AssertionError, match="ldtransform"):
        contract.test_optional_dependencies(tmp_path, monkeypatch)


def test_the_kit_without_pytest_names_the_extra() -> None:
    code = "import sys; sys.modules['pytest'] = None; import ldtransform.testing"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0
    assert "pip install 'ldtransform[testing]'" in done.stderr


# -- transforms and validators that break their contract -----------------------------

SAMPLE = pa.table({"id": ["1", "2", "2", "3"], "note": ["a", None, None, None]})


class Renumbering:
    """Keeps rows but numbers them from 1, losing where they came from."""

    name = "renumbering"

    def __call__(self, frames: ldtransform.Frames) -> ldtransform.Frames:
        return ldtransform.Frames.from_table(frames.to_table(), source=frames.source)


class DroppingEmptyColumns:
    """Drops the columns a batch has no value in: its schema depends on the data."""

    name = "dropping"

    def __call__(self, frames: ldtransform.Frames) -> ldtransform.Frames:
        table = frames.to_table()
        kept = [n for n in table.column_names if table[n].null_count < table.num_rows]
        return ldtransform.Frames(table.select(kept).schema, [(10, b) for b in
                                  table.select(kept).to_batches()], source=frames.source)


class Contract(TransformContract):
    transform: Any = None

    def make_transform(self) -> Any:
        return self.transform()

    def sample_table(self) -> pa.Table:
        return SAMPLE


def test_a_transform_that_renumbers_rows_fails() -> None:
    contract = Contract()
    contract.transform = Renumbering
    with pytest.raises(AssertionError):
        contract.test_row_numbers_are_carried_through()


def test_a_transform_whose_schema_follows_the_data_fails() -> None:
    contract = Contract()
    contract.transform = DroppingEmptyColumns
    with pytest.raises(AssertionError):
        contract.test_schema_is_fixed_whatever_the_data()


class DuplicatesWithinABatch:
    """Finds repeated ids, but forgets them between batches and names no field."""

    name = "dups"

    def check(self, batch: pa.RecordBatch, *, first_row: int) -> list[Issue]:
        seen: set[str] = set()
        issues = []
        for offset, value in enumerate(batch.column("id").to_pylist()):
            if value in seen:
                issues.append(Issue(code="duplicate", message=value, row=first_row + offset))
            seen.add(value)
        return issues

    def finish(self) -> list[Issue]:
        return []


class Checking(ValidatorContract):
    def make_validator(self) -> Any:
        return DuplicatesWithinABatch()

    def sample_table(self) -> pa.Table:
        return SAMPLE


def test_a_validator_that_forgets_between_batches_fails() -> None:
    with pytest.raises(AssertionError):
        Checking().test_batching_does_not_change_the_issues(batch_size=1)


def test_a_validator_whose_issues_name_no_field_fails() -> None:
    with pytest.raises(AssertionError, match="field is not one of"):
        Checking().test_issues_name_a_row_and_a_field_of_the_table()


def test_the_changelog_lists_every_contract_test_by_name() -> None:
    """Kit test names are API: the list in CHANGELOG.md must follow any change."""


    text = (Path(__file__).resolve().parent.parent / "CHANGELOG.md").read_text("utf-8")
    listed = text.split("<!-- kit-tests")[1].split("<!-- /kit-tests -->")[0]
    suites: dict[str, list[str]] = {}
    for line in listed.splitlines():
        if match := re.match(r"- `(\w+Contract)`", line):
            suite = suites.setdefault(match[1], [])
        elif match := re.match(r"\s+- `(test_\w+)`", line):
            suite.append(match[1])
    for name, suite in suites.items():
        assert sorted(suite) == sorted(n for n in dir(getattr(testing, name))
                                       if n.startswith("test_")), name
    assert set(suites) == {n for n in testing.__all__ if n.endswith("Contract")}


class FieldOrderNamedWrongly(ValidatorContract):
    """A schema entry that does not configure the validator as make_validator does."""

    name = "field-order"

    def schema_check(self) -> dict[str, Any]:
        return {"name": "field-order", "earlier": "validTo", "later": "validFrom"}

    def make_validator(self) -> Any:
        from ldtransform.validators.field_order import FieldOrder

        return FieldOrder(earlier="validFrom", later="validTo")

    def sample_table(self) -> pa.Table:
        from datetime import date

        return pa.table({"validFrom": [date(2024, 1, 9), date(2024, 1, 1)],
                         "validTo": [date(2024, 1, 5), date(2024, 1, 2)]})


def test_a_validator_that_runs_otherwise_from_a_schema_fails() -> None:
    with pytest.raises(AssertionError):
        FieldOrderNamedWrongly().test_runs_from_a_schemas_checks()


class FilterNamedWrongly(TransformContract):
    """A mapping entry that does not configure the transform as make_transform does."""

    name = "filter"

    def make_transform(self) -> Any:
        from ldtransform import registry

        return registry.load("transform", "filter")(where='id = "1"')

    def transform_entry(self) -> dict[str, Any]:
        return {"name": "filter", "where": 'id = "2"'}

    def sample_table(self) -> pa.Table:
        return SAMPLE


def test_a_transform_that_runs_otherwise_from_a_mapping_fails() -> None:
    with pytest.raises(AssertionError):
        FilterNamedWrongly().test_runs_from_a_mappings_transforms()
