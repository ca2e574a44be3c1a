"""--dry-run on a folder that holds an earlier conversion: it says what would be replaced."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result
from test_pipeline import FLAT, SAMPLES, SCHEMA

import ldtransform
from ldtransform.cli import main

EARLIER = ["manifest.json", "Account-00001.json", "Account-00002.json", "Account-00003.json",
           "accounts_errors.rejected.csv", "accounts_errors.rejected.csv.json"]


def earlier_conversion(out: Path) -> dict[str, bytes]:
    ldtransform.convert(SAMPLES / "messy/accounts_errors.csv", schema=SCHEMA, mapping=FLAT,
                        out=out, max_records=8)
    return {p.name: p.read_bytes() for p in out.iterdir()}


def convert_cli(out: Path, *extra: str) -> Result:
    return CliRunner().invoke(main, ["convert", str(SAMPLES / "accounts.csv"), "--schema",
                                     str(SCHEMA), "--mapping", str(FLAT), "--out", str(out),
                                     "--dry-run", *extra])


def test_dry_run_without_overwrite_says_a_real_run_would_stop(tmp_path: Path) -> None:
    before = earlier_conversion(tmp_path)
    result = convert_cli(tmp_path)
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "25 rows in = 25 written + 0 rejected; would write 1 file(s)" in output
    assert "holds an earlier conversion (6 file(s): " + ", ".join(EARLIER) in output
    assert "add --overwrite" in output
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_dry_run_with_overwrite_lists_the_files_it_would_replace(tmp_path: Path) -> None:
    before = earlier_conversion(tmp_path)
    result = convert_cli(tmp_path, "--overwrite", "--json")
    summary = json.loads(result.stdout)
    assert summary["dry_run"] and summary["replaces"] == EARLIER
    assert not summary["needs_overwrite"] and summary["records_written"] == 25
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    text = convert_cli(tmp_path, "--overwrite")
    assert "would replace the earlier conversion" in " ".join(text.output.split())


def test_a_real_overwrite_reports_what_it_replaced(tmp_path: Path) -> None:
    earlier_conversion(tmp_path)
    result = ldtransform.convert(SAMPLES / "accounts.csv", schema=SCHEMA, mapping=FLAT,
                                 out=tmp_path, overwrite=True)
    assert [p.name for p in result.replaces] == EARLIER and not result.needs_overwrite
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Account-00001.json",
                                                           "manifest.json"]
