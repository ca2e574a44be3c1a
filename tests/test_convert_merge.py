"""convert with --action Merge/Update: items carry only the source's fields, --empty says what
an empty value becomes, and --dry-run shows both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

import ldtransform
from ldtransform.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SCHEMA = SAMPLES / "schemas" / "Account.json"


@pytest.fixture
def merge_file(tmp_path: Path) -> tuple[Path, Path]:
    """A two-column source (one empty cell) and its mapping."""
    source = tmp_path / "terms.csv"
    source.write_text("Account ID,Terms\nABC123,NET15\n000417,\n", encoding="utf-8")
    mapping = tmp_path / "terms.toml"
    mapping.write_text('[fields]\naccountId = "Account ID"\npaymentTerms = "Terms"\n',
                       encoding="utf-8")
    return source, mapping


def data(folder: Path) -> list[dict[str, Any]]:
    items = [i for part in sorted(folder.glob("Account-*.json"))
             for i in json.loads(part.read_bytes())]
    return [i["data"] for i in items]


def test_cli_merge_writes_only_the_mapped_fields(tmp_path: Path,
                                                 merge_file: tuple[Path, Path]) -> None:
    source, mapping = merge_file
    base = ["convert", str(source), "--schema", str(SCHEMA), "--mapping", str(mapping),
            "--action", "Merge"]
    done = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "omit")])
    assert done.exit_code == 0, done.output
    assert data(tmp_path / "omit") == [{"accountId": "ABC123", "paymentTerms": "NET15"},
                                       {"accountId": "000417"}]
    cleared = CliRunner().invoke(main, [*base, "--empty", "clear", "--out",
                                        str(tmp_path / "clear")])
    assert cleared.exit_code == 0, cleared.output
    assert data(tmp_path / "clear")[1] == {"accountId": "000417", "paymentTerms": ""}


def test_dry_run_shows_the_rule_and_the_fields_left_out(tmp_path: Path,
                                                        merge_file: tuple[Path, Path]) -> None:
    source, mapping = merge_file
    done = CliRunner().invoke(main, [
        "convert", str(source), "--schema", str(SCHEMA), "--mapping", str(mapping),
        "--action", "Update", "--out", str(tmp_path / "o"), "--dry-run"],
        terminal_width=400)
    assert done.exit_code == 0, done.output
    assert "empty = omit: an empty source value is left out of the item" in done.output
    assert "fields with no column, left out: accountNumber, name, accountClass," in done.output
    assert not (tmp_path / "o").exists()
    as_json = CliRunner().invoke(main, [
        "convert", str(source), "--schema", str(SCHEMA), "--mapping", str(mapping),
        "--action", "Merge", "--empty", "clear", "--out", str(tmp_path / "o"), "--dry-run",
        "--json"])
    summary = json.loads(as_json.stdout)
    assert summary["empty"] == "clear" and "paymentTerms" not in summary["left_out"]
    assert summary["left_out"][:2] == ["accountNumber", "name"]


def test_a_create_keeps_today_s_spelling_and_its_required_fields(
        tmp_path: Path, merge_file: tuple[Path, Path]) -> None:
    source, mapping = merge_file
    done = CliRunner().invoke(main, [
        "convert", str(source), "--schema", str(SCHEMA), "--mapping", str(mapping),
        "--out", str(tmp_path / "o"), "--dry-run"], terminal_width=400)
    assert done.exit_code == 5  # name, accountClass, currency are required for a Create
    assert "empty = clear: an empty source value is written empty" in done.output
    assert "left out" not in done.output.split("empty = clear")[1]


def test_the_mapping_and_the_pipeline_file_set_the_rule(tmp_path: Path,
                                                        merge_file: tuple[Path, Path]) -> None:
    source, mapping = merge_file
    mapping.write_text('[options]\nempty = "clear"\n' + mapping.read_text(encoding="utf-8"),
                       encoding="utf-8")
    result = ldtransform.convert(source, schema=SCHEMA, mapping=mapping, action="Merge",
                                 out=tmp_path / "a")
    assert result.empty == "clear" and data(tmp_path / "a")[1]["paymentTerms"] == ""
    pipeline = tmp_path / "job.toml"
    pipeline.write_text(f'schema = "{SCHEMA.as_posix()}"\nmapping = "terms.toml"\n'
                        '[source]\npaths = ["terms.csv"]\n'
                        '[output]\nfolder = "b"\naction = "Merge"\nempty = "omit"\n',
                        encoding="utf-8")
    done = CliRunner().invoke(main, ["run", str(pipeline)])
    assert done.exit_code == 0, done.output
    assert data(tmp_path / "b")[1] == {"accountId": "000417"}


def test_python_api_reaches_the_option(tmp_path: Path) -> None:
    frame = pd.DataFrame({"accountId": ["ABC123", "000417"], "exposure": [2.5, None]})
    result = ldtransform.convert(frame, schema=SCHEMA, action="Merge", empty="clear",
                                 out=tmp_path / "a")
    assert result.report.ok and data(tmp_path / "a")[1] == {"accountId": "000417",
                                                           "exposure": None}
    assert ldtransform.validate(frame, SCHEMA, partial=True).report.ok
    assert not ldtransform.validate(frame, SCHEMA).report.ok  # a Create needs name, ...
    (ldtransform.read(frame).validate(SCHEMA, partial=True)
        .write_items(tmp_path / "b", action="Merge"))
    assert data(tmp_path / "b") == [{"accountId": "ABC123", "exposure": 2.5},
                                    {"accountId": "000417"}]
