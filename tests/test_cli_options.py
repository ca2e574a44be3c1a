"""Every reader option reachable from the command line, and messages in its words."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from fakeplugins import fake_distribution, installed

import ldtransform
from ldtransform.cli import EXIT_CONFIG, EXIT_READ, EXIT_USAGE, main
from ldtransform.cli._words import cli_phrasing
from ldtransform.errors import ReadError

PROBE_MODULE = """
    import pyarrow as pa
    from ldtransform import Frames

    class Probe:
        '''Reads nothing; shows the options it was given as one row.'''
        format = "probe"
        suffixes = (".probe",)

        def __init__(self, *, width: int = 10, strict: bool = False,
                     names: list[str] | None = None, label: str = "", extra=None):
            self.given = {"width": width, "strict": strict, "names": names,
                          "label": label, "extra": extra}

        def read(self, source, *, schema=None, batch_size=65536):
            given = {**self.given, "batch_size": batch_size}
            row = {key: repr(value) for key, value in given.items()}
            table = pa.Table.from_pylist([row])
            return Frames(table.schema, iter([(1, table.to_batches()[0])]))
"""


@pytest.fixture
def probe_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    site = tmp_path / "site"
    fake_distribution(site, "ldt-probe", "[ldtransform.readers]\nprobe = ldt_probe:Probe\n",
                      PROBE_MODULE)
    source = tmp_path / "data.probe"
    source.write_text("probe data\n")
    with installed(site, monkeypatch):
        yield source


def inspect_json(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(main, ["inspect", *args, "--json"])
    assert result.exit_code == 0, result.output
    report: dict[str, object] = json.loads(result.output)
    return report


def test_any_plugin_option_is_typed_by_its_declaration(probe_plugin: Path) -> None:
    report = inspect_json(str(probe_plugin), "-o", "width=7", "-o", "strict=yes",
                          "-o", "names=a, b", "-o", "label=007", "-o", "extra=x",
                          "--batch-size", "3")
    head = report["head"][0]  # type: ignore[index]
    assert head == {"width": "7", "strict": "True", "names": "['a', 'b']",
                    "label": "'007'", "extra": "'x'", "batch_size": "3"}
    listed = inspect_json(str(probe_plugin), "-o", 'names=["x,y", "z"]', "-o",
                          "strict=false")["head"][0]  # type: ignore[index]
    assert listed["names"] == "['x,y', 'z']" and listed["strict"] == "False"


def test_a_badly_typed_or_unknown_option_is_named(probe_plugin: Path) -> None:
    runner = CliRunner()
    typed = runner.invoke(main, ["inspect", str(probe_plugin), "-o", "width=wide"])
    assert typed.exit_code == EXIT_USAGE and "width takes a number" in typed.output
    unknown = runner.invoke(main, ["inspect", str(probe_plugin), "-o", "colour=red"])
    assert unknown.exit_code == EXIT_CONFIG
    assert "colour" in unknown.output and "valid options:" in unknown.output
    assert "width" in unknown.output
    twice = runner.invoke(main, ["inspect", str(probe_plugin), "--columns", "a",
                                 "-o", "columns=b"])
    assert twice.exit_code == EXIT_USAGE and "give it once" in twice.output


def test_header_row_as_an_option_reads_a_title_row_csv(tmp_path: Path) -> None:
    path = tmp_path / "title.csv"
    path.write_text("Accounts export\nid,name\n1,Ann\n")
    report = inspect_json(str(path), "-o", "header_row=2")
    assert [c["name"] for c in report["columns"]] == ["id", "name"]  # type: ignore[union-attr,index]


def test_on_bad_row_report_from_the_cli_and_the_hint_that_names_it(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n3,4,5\n6,7\n")
    failed = CliRunner().invoke(main, ["inspect", str(path)])
    assert failed.exit_code == EXIT_READ
    assert "--on-bad-row report" in failed.output and "on_bad_row=" not in failed.output
    report = inspect_json(str(path), "--on-bad-row", "report")
    assert report["rows"] == 2 and len(report["issues"]) == 1  # type: ignore[arg-type]


def test_columns_reach_the_parquet_reader(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1], "b": ["x"], "c": [True]}), path)
    report = inspect_json(str(path), "--columns", "c,a")
    assert sorted(c["name"] for c in report["columns"]) == ["a", "c"]  # type: ignore[union-attr,index]


def test_workbook_hint_speaks_python_in_python_and_flags_in_the_cli(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([None, None])
    sheet.append(["id", "name"])
    sheet.append([1, "Ann"])
    path = tmp_path / "book.xlsx"
    book.save(path)
    with pytest.raises(ReadError, match=r"header_row=2, or header_row=None"):
        ldtransform.read(path)
    failed = CliRunner().invoke(main, ["inspect", str(path)])
    assert failed.exit_code == EXIT_READ
    assert "--header-row 2, or --header-row none" in failed.output


def test_cli_phrasing_of_library_hints() -> None:
    assert cli_phrasing("e.g. encoding='latin-1' or 'cp1252', or use encoding='auto'") == (
        "e.g. --encoding latin-1 or --encoding cp1252, or use --encoding auto")
    assert cli_phrasing("pass overwrite=True") == "pass --overwrite"
    assert cli_phrasing("x=1 and a==b") == "x=1 and a==b"  # not an option: left alone


SAMPLES = Path(__file__).parent.parent / "samples"
SCHEMA = SAMPLES / "schemas" / "Account.json"
FLAT_MAPPING = SAMPLES / "mappings" / "accounts-flat.toml"
ERRORS = SAMPLES / "messy" / "accounts_errors.csv"


def test_convert_reports_like_validate_in_one_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [
        "convert", str(ERRORS), "--schema", str(SCHEMA), "--mapping", str(FLAT_MAPPING),
        "--out", str(tmp_path / "out"), "--report", str(tmp_path / "report.json"),
        "--rejected-dir", str(tmp_path / "fix"), "--rejected-format", "jsonl",
        "--max-issues", "2"])
    assert result.exit_code == 5, result.output
    document = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert document["summary"]["rows_rejected"] == 7 and len(document["issues"]) == 2
    rejected = (tmp_path / "fix" / "accounts_errors.rejected.jsonl").read_text().splitlines()
    assert len(rejected) == 7 and "_errors" in json.loads(rejected[0])
    assert not list((tmp_path / "out").glob("*.rejected.*"))
    assert "report.json" in result.output


def test_convert_takes_extra_columns(tmp_path: Path) -> None:
    source = tmp_path / "a.csv"
    source.write_text("accountId,name,accountClass,currency,colour\n"
                      "A1,Ann,/Account/accountClass[invoiced],USD,red\n")
    args = ["convert", str(source), "--schema", str(SCHEMA), "--json", "--out"]
    strict = CliRunner().invoke(main, [*args, str(tmp_path / "s"), "--extra-columns",
                                       "error"])
    assert strict.exit_code == 5 and json.loads(strict.stdout)["rows_rejected"] == 1
    quiet = CliRunner().invoke(main, [*args, str(tmp_path / "q"), "--extra-columns",
                                      "ignore"])
    assert quiet.exit_code == 0, quiet.output
    assert json.loads(quiet.stdout)["validation"]["issues"] == 0


def test_one_name_for_the_issue_limit_and_the_old_one_still_works(tmp_path: Path) -> None:
    runner = CliRunner()
    for command in ("validate", "convert"):
        shown = runner.invoke(main, [command, "--help"]).output
        assert "--max-issues" in shown and "--max-errors" not in shown
    old = runner.invoke(main, ["validate", str(ERRORS), "--schema", str(SCHEMA), "--mapping",
                               str(FLAT_MAPPING), "--rejected-dir", str(tmp_path),
                               "--max-errors", "1", "--json"])
    assert len(json.loads(old.stdout)["issues"]) == 1
