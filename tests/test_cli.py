"""`ldtransform inspect` and the exit codes, in-process (tests/test_cli_smoke.py runs
it as a real process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from clirun import run_cli

from ldtransform.cli import EXIT_CONFIG, EXIT_READ, main

SAMPLES = Path(__file__).parent.parent / "samples"


def test_inspect_json_on_a_real_csv() -> None:
    result = run_cli("inspect", str(SAMPLES / "accounts.csv"), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["format"] == "csv" and report["delimiter"] == ","
    assert report["encoding"] == "utf-8" and report["rows"] == 25
    columns = {c["name"]: c for c in report["columns"]}
    assert columns["accountId"]["kind"] == "string"       # 000417 is a code
    assert columns["postalCode"]["kind"] == "string"      # 02134 too
    assert columns["exposure"]["kind"] == "number"
    assert columns["creditBlock"]["kind"] == "boolean"
    assert columns["licenseValidFrom"]["kind"] == "date"
    assert len(report["head"]) == 5 and report["head"][1]["accountId"] == "000417"


def test_inspect_workbook_sheet_and_sheets() -> None:
    result = run_cli("inspect", str(SAMPLES / "accounts.xlsx"), "--sheet", "Addresses", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["sheet"] == "Addresses" and report["sheets"] == ["Accounts", "Addresses"]
    assert report["rows"] == 59


def test_inspect_human_output_shows_detection() -> None:
    result = run_cli("inspect", str(SAMPLES / "messy" / "accounts_semicolon.csv"))
    assert result.returncode == 0, result.stderr
    assert "delimiter" in result.stdout and "';'" in result.stdout
    assert "accountId" in result.stdout and "First 5 rows" in result.stdout


def test_inspect_latin1_needs_an_encoding_and_says_so() -> None:
    path = SAMPLES / "messy" / "accounts_latin1.csv"
    failed = run_cli("inspect", str(path))
    assert failed.returncode == EXIT_READ
    assert "accounts_latin1.csv" in failed.stderr and "--encoding" in failed.stderr
    ok = run_cli("inspect", str(path), "--encoding", "latin-1", "--json")
    assert ok.returncode == 0
    assert "Müller GmbH" in [row["name"] for row in json.loads(ok.stdout)["head"]]


def test_inspect_header_row_and_delimiter_options() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["inspect", str(SAMPLES / "messy" / "accounts_title_rows.csv"),
                                  "--header-row", "3", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["columns"][0]["name"] == "accountId"
    tab = runner.invoke(main, ["inspect", str(SAMPLES / "messy" / "accounts.tsv"),
                               "--delimiter", "\\t", "--json"])
    assert json.loads(tab.output)["delimiter"] == "\t"


@pytest.mark.parametrize(("args", "code", "text"), [
    (["inspect", "no/such/file.csv"], EXIT_READ, "no such file"),
    (["inspect", "x.docx"], EXIT_CONFIG, "no reader knows the suffix"),
    (["inspect", str(SAMPLES / "accounts.csv"), "--sheet", "1"], EXIT_CONFIG, "valid options"),
])
def test_errors_have_documented_exit_codes(args: list[str], code: int, text: str) -> None:
    result = run_cli(*args)
    assert result.returncode == code, result.stderr
    assert text in result.stderr and "Traceback" not in result.stderr


def test_bad_csv_row_reports_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text('id,name\n1,"a\nb"\n2,c,extra\n')
    result = run_cli("inspect", str(path))
    assert result.returncode == EXIT_READ
    assert f"{path}, line 4" in result.stderr
