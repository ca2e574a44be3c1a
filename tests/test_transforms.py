"""Transforms named in a mapping or pipeline file run between reading and validation;
every row they drop is counted, and the rows they pass on keep their row numbers."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from click.testing import CliRunner
from test_pipeline import FLAT, SAMPLES, SCHEMA

import ldtransform
from ldtransform import registry
from ldtransform.cli import main
from ldtransform.testing import TransformContract
from ldtransform.transforms._expression import parse

TRANSFORMS = """
transforms = [
    {name = "drop_empty_rows"},
    {name = "dedupe", on = ["accountId"]},
    {name = "filter", where = 'currency != "XXX"'},
]
"""


def messy_accounts(path: Path) -> Path:
    """The 25 sample rows (rows 2-26), then: an empty row (27), a second ABC123 (28), a
    row in currency XXX (29), an invalid class (30) and one more valid row (31)."""
    with (SAMPLES / "accounts.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    empty = dict.fromkeys(rows[0], "")
    duplicate = {**rows[1], "accountId": "ABC123", "name": "Someone else"}
    foreign = {**rows[2], "accountId": "NEW1", "currency": "XXX"}
    invalid = {**rows[3], "accountId": "NEW2", "accountClass": "Wholesale"}
    valid = {**rows[4], "accountId": "NEW3"}
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([*rows, empty, duplicate, foreign, invalid, valid])
    return path


def mapping_with_transforms(tmp_path: Path) -> Path:
    path = tmp_path / "mapping.toml"
    path.write_text(TRANSFORMS + "\n" + FLAT.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def test_a_mapping_names_transforms_and_every_dropped_row_is_counted(tmp_path: Path) -> None:
    source = messy_accounts(tmp_path / "in.csv")
    result = ldtransform.convert(source, schema=SCHEMA, mapping=mapping_with_transforms(
        tmp_path), out=tmp_path / "out", batch_size=5)
    report = result.report
    assert (report.rows_read, report.rows_valid, report.rows_rejected,
            report.rows_dropped) == (30, 26, 1, 3)
    assert dict(report.dropped_by) == {"drop_empty_rows": 1, "dedupe": 1, "filter": 1}
    items = json.loads(result.parts[0].path.read_bytes())
    ids = [item["data"]["accountId"] for item in items]
    assert ids.count("ABC123") == 1 and "NEW1" not in ids and ids[-1] == "NEW3"
    assert next(i for i in items if i["data"]["accountId"] == "ABC123")["data"]["name"] \
        == "Café Zoë"  # the first occurrence is the one kept
    [rejected] = result.rejected
    with rejected.path.open(newline="", encoding="utf-8") as f:
        assert [(r["accountId"], r["_row"]) for r in csv.DictReader(f)] == [("NEW2", "30")]
    manifest = json.loads(result.manifest.read_bytes())  # type: ignore[union-attr]
    assert manifest["validation"]["rows_dropped"] == 3
    assert "rejected + 1 dropped by drop_empty_rows + 1 dropped by dedupe + 1 dropped by " \
        "filter." in report.to_html()


def test_the_cli_summary_shows_the_dropped_rows(tmp_path: Path) -> None:
    source = messy_accounts(tmp_path / "in.csv")
    mapping = mapping_with_transforms(tmp_path)
    runner = CliRunner()
    converted = runner.invoke(main, ["convert", str(source), "--schema", str(SCHEMA),
                                     "--mapping", str(mapping), "--out", str(tmp_path / "o")])
    assert converted.exit_code == 5, converted.output
    assert ("30 rows in = 26 written + 1 rejected + 3 dropped (drop_empty_rows 1, dedupe 1, "
            "filter 1)") in " ".join(converted.output.split())
    validated = runner.invoke(main, ["validate", str(source), "--schema", str(SCHEMA),
                                     "--mapping", str(mapping), "--rejected-dir",
                                     str(tmp_path)])
    assert "30 rows read = 26 valid + 1 rejected + 1 dropped by drop_empty_rows + 1 dropped" \
        " by dedupe + 1 dropped by filter" in " ".join(validated.output.split())


def test_a_pipeline_file_names_transforms(tmp_path: Path) -> None:
    messy_accounts(tmp_path / "in.csv")
    (tmp_path / "job.toml").write_text(
        f'schema = "{SCHEMA}"\nmapping = "{FLAT}"\n'
        'transforms = [{name = "filter", where = \'accountClass in ["Cash"]\'}]\n'
        '[source]\npaths = ["in.csv"]\n[output]\nfolder = "out"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(tmp_path / "job.toml"), "--json"])
    summary = json.loads(result.stdout)
    assert summary["rows_dropped"] == summary["validation"]["dropped_by"]["filter"] > 0
    assert summary["rows_read"] == (summary["records_written"] + summary["rows_rejected"]
                                    + summary["rows_dropped"]) == 30
    items = json.loads((tmp_path / "out/Account-00001.json").read_bytes())
    assert {i["data"]["accountClass"] for i in items} == {"/Account/accountClass[cash]"}


def test_validate_takes_transforms_and_dedupes_across_sources(tmp_path: Path) -> None:
    twice = [SAMPLES / "accounts.csv", SAMPLES / "accounts.csv"]
    result = ldtransform.validate(SAMPLES / "accounts.csv", SCHEMA, mapping=FLAT,
                                  transforms=[{"name": "dedupe", "on": "accountId"}])
    assert result.report.rows_dropped == 0 and result.report.rows_valid == 25
    converted = ldtransform.convert(twice, schema=SCHEMA, mapping=FLAT, out=tmp_path,
                                    transforms=[{"name": "dedupe", "on": ["accountId"]}])
    assert (converted.report.rows_read, converted.records_written,
            converted.report.rows_dropped) == (50, 25, 25)


TABLE = pa.table({"country": ["US", "DE", None, "US", "us"],
                  "amount": ["10", "-3", "7", "abc", "0.5"],
                  "active": ["yes", "no", "true", "1", "0"],
                  "Account ID": ["a", "b", "c", "d", "e"]})


@pytest.mark.parametrize(("where", "kept"), [
    ('country = "US"', [0, 3]),
    ("country != 'US'", [1, 4]),  # a missing value matches no comparison
    ('country = "US" and amount > 5', [0, 3]),  # "abc" is undecided: passed on
    ('country = "DE" or amount <= 0.5', [1, 3, 4]),
    ('not (country in ["US", "us"])', [1]),
    ('country not in ["US"] and active = false', [1, 4]),
    ("active = true", [0, 2, 3]),
    ('`Account ID` >= "c"', [2, 3, 4]),
    ("amount > -5 AND amount < 8", [1, 2, 3, 4]),
])
def test_filter_expressions(where: str, kept: list[int]) -> None:
    batch = TABLE.to_batches()[0]
    assert [i for i, keep in enumerate(parse(where).keep(batch)) if keep] == kept


@pytest.mark.parametrize(("where", "says"), [
    ("__import__('os').system('true')", "unexpected character at character 17"),
    ('__import__("os")', "expected a comparison .* at character 11"),
    ('country = US', "expected a value"),
    ('country = "US" and', "expected a column name"),
    ('(country = "US"', r"expected '\)'"),
    ('country ~ "US"', "unexpected character"),
    ('country in ["US", 1]', "one kind"),
])
def test_filter_mistakes_say_where(where: str, says: str) -> None:
    with pytest.raises(ldtransform.ConfigError, match=says):
        parse(where)


def test_wrong_transforms_are_config_errors(tmp_path: Path) -> None:
    def convert(transforms: Any) -> None:
        ldtransform.convert(SAMPLES / "accounts.csv", schema=SCHEMA, mapping=FLAT,
                            out=tmp_path / "out", transforms=transforms)

    with pytest.raises(ldtransform.UnknownFormatError, match="dedupe"):
        convert([{"name": "dedup"}])
    with pytest.raises(ldtransform.ConfigError, match="does not take key"):
        convert([{"name": "dedupe", "key": ["accountId"]}])
    with pytest.raises(ldtransform.ConfigError, match=r"no column 'acountId' .*accountId"):
        convert([{"name": "dedupe", "on": ["acountId"]}])
    with pytest.raises(ldtransform.ConfigError, match="may drop rows, not add them"):
        convert([lambda frames: ldtransform.Frames.from_table(pa.concat_tables(
            [frames.to_table()] * 2))])
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_plugins_lists_the_built_in_transforms() -> None:
    result = CliRunner().invoke(main, ["plugins", "--json"])
    rows = {(r["kind"], r["name"]): r["status"] for r in json.loads(result.output)}
    assert {rows[("transform", name)] for name in ("dedupe", "filter", "drop_empty_rows")} \
        == {"ok"}


def test_scattered_drops_keep_row_numbers_without_cutting_batches(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ldtransform import validation

    source = tmp_path / "in.csv"
    lines = ["accountId,name,accountClass,parity"]
    lines += [f"K{i:05d},Name {i},Cash,{'even' if i % 2 == 0 else 'odd'}" for i in range(2, 2002)]
    lines[1999] = "K00004,Again,Cash,even"  # row 2000 repeats the key of row 4
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    checked: list[int] = []
    original = validation._SourceRun._check
    monkeypatch.setattr(validation._SourceRun, "_check", lambda self, numbered: (
        checked.append(numbered.batch.num_rows), original(self, numbered))[1])
    mapping = {"fields": {"accountId": "accountId", "name": "name",
                          "accountClass": {"column": "accountClass",
                                           "values": {"Cash": "/Account/accountClass[cash]"}}},
               "transforms": [{"name": "filter", "where": 'parity = "even"'}]}
    result = ldtransform.validate(source, SCHEMA, mapping=mapping)
    assert (result.report.rows_read, result.report.rows_dropped) == (2000, 1000)
    assert len(checked) == 1  # not a thousand one-row batches
    [duplicate] = [i for i in result.report.issues if i.code == "duplicate-key"]
    assert duplicate.row == 2000 and "already appears in row 4" in duplicate.message
    # The mapping leaves required fields unmapped: every kept row is rejected, by its number.
    assert result.rejected["_row"].tolist() == list(range(2, 2002, 2))


def test_a_row_filter_on_frames_keeps_row_numbers() -> None:
    from ldtransform.transforms.filter import Filter

    frames = ldtransform.Frames.from_table(TABLE, batch_size=2, first_row=2)
    kept = [(n.first_row, n.batch.column("Account ID").to_pylist())
            for n in Filter(where='country = "US" or country = "us"')(frames).numbered()]
    assert kept == [(2, ["a"]), (5, ["d"]), (6, ["e"])]


def test_a_row_filter_after_another_transform_still_runs() -> None:
    seen: list[int] = []

    def count_rows(frames: ldtransform.Frames) -> ldtransform.Frames:
        return frames.map_batches(lambda batch: (seen.append(batch.num_rows), batch)[1],
                                  frames.schema)

    result = ldtransform.validate(SAMPLES / "accounts.csv", SCHEMA, mapping=FLAT,
                                  transforms=[count_rows,
                                              {"name": "filter", "where": 'currency = "USD"'}])
    assert sum(seen) == 25 and result.report.rows_dropped == 25 - result.report.rows_valid > 0
    assert dict(result.report.dropped_by) == {"count_rows": 0,
                                              "filter": result.report.rows_dropped}


def test_map_refuses_a_mapping_with_transforms_rather_than_skip_them(tmp_path: Path) -> None:
    frames = ldtransform.read(SAMPLES / "accounts.csv")
    with pytest.raises(ldtransform.ConfigError, match=r"use .validate\(schema, mapping"):
        frames.map(mapping_with_transforms(tmp_path))


SAMPLE = pa.table({"id": ["1", "2", "2", "", "3"], "country": ["US", "CA", "CA", "", "US"]})


class TestDedupeContract(TransformContract):
    name = "dedupe"

    def transform_entry(self) -> dict[str, Any]:
        return {"name": "dedupe", "on": ["id"]}

    def make_transform(self) -> Any:
        return registry.load("transform", "dedupe")(on=["id"])

    def sample_table(self) -> pa.Table:
        return SAMPLE


class TestDropEmptyRowsContract(TransformContract):
    name = "drop_empty_rows"

    def transform_entry(self) -> dict[str, Any]:
        return {"name": "drop_empty_rows"}

    def make_transform(self) -> Any:
        return registry.load("transform", "drop_empty_rows")()

    def sample_table(self) -> pa.Table:
        return SAMPLE


class TestFilterContract(TransformContract):
    name = "filter"

    def transform_entry(self) -> dict[str, Any]:
        return {"name": "filter", "where": 'country = "US"'}

    def make_transform(self) -> Any:
        return registry.load("transform", "filter")(where='country = "US"')

    def sample_table(self) -> pa.Table:
        return SAMPLE
