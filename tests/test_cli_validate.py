"""`ldtransform validate` and `ldtransform schema` as a user runs them."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from clirun import run_cli

from ldtransform.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SCHEMA = SAMPLES / "schemas" / "Account.json"
MAPPING = SAMPLES / "mappings" / "accounts.toml"
FLAT_MAPPING = SAMPLES / "mappings" / "accounts-flat.toml"


def ldtransform(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd)


def broken_copy(tmp_path: Path) -> Path:
    """samples/accounts.csv with three known problems."""
    with (SAMPLES / "accounts.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rows[2]["accountClass"] = "Wholesale"     # row 4: no such class
    rows[5]["exposure"] = "12,5"              # row 7: not a number
    rows[9]["accountId"] = rows[0]["accountId"]  # row 11: the key of row 2
    path = tmp_path / "accounts.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_the_sample_workbook_is_valid(tmp_path: Path) -> None:
    done = ldtransform("validate", SAMPLES / "accounts.xlsx", "--schema", SCHEMA,
                       "--mapping", MAPPING, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "25 rows read = 25 valid + 0 rejected" in done.stdout
    assert list(tmp_path.iterdir()) == []  # nothing rejected, no file


def test_problems_are_listed_quarantined_and_fixable(tmp_path: Path) -> None:
    source = broken_copy(tmp_path)
    done = ldtransform("validate", source, "--schema", SCHEMA, "--mapping", FLAT_MAPPING,
                       "--report", "report.html", cwd=tmp_path)
    assert done.returncode == 5, done.stderr
    assert "25 rows read = 22 valid + 3 rejected" in done.stdout
    for code in ("not-in-enum", "type-error", "duplicate-key"):
        assert code in done.stdout
    assert "row 2" in done.stdout  # the duplicate names the earlier row
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<svg" in html and "duplicate-key" in html
    rejected = tmp_path / "accounts.rejected.csv"
    with rejected.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["_row"] for r in rows] == ["4", "7", "11"]
    rows[0]["accountClass"], rows[1]["exposure"], rows[2]["accountId"] = "Cash", "12.5", "NEW1"
    with rejected.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    again = ldtransform("validate", rejected, "--schema", SCHEMA, "--mapping", FLAT_MAPPING,
                        "--rejected-dir", "fixed", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "3 rows read = 3 valid + 0 rejected" in again.stdout


def test_json_output_for_scripts(tmp_path: Path) -> None:
    source = broken_copy(tmp_path)
    result = CliRunner().invoke(main, ["validate", str(source), "--schema", str(SCHEMA),
                                       "--mapping", str(FLAT_MAPPING), "--json",
                                       "--rejected-dir", str(tmp_path / "q"),
                                       "--max-errors", "2"])
    assert result.exit_code == 5
    document = json.loads(result.stdout)
    assert document["summary"]["issues"] == 3 and len(document["issues"]) == 2
    assert document["summary"]["rows_valid"] + document["summary"]["rows_rejected"] == 25


def test_a_mapping_naming_a_missing_column_is_a_config_error(tmp_path: Path) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text('[fields]\naccountId = "acountId"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(SAMPLES / "accounts.csv"),
                                       "--schema", str(SCHEMA), "--mapping", str(mapping)])
    assert result.exit_code == 4
    assert "acountId" in result.stderr and "accountId" in result.stderr


def test_a_broken_schema_names_the_json_path(tmp_path: Path) -> None:
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps({"itemType": "X", "fields": [
        {"name": "n", "type": "number", "constraints": {"enum": ["1"]}}]}), encoding="utf-8")
    result = CliRunner().invoke(main, ["schema", "show", str(schema)])
    assert result.exit_code == 4
    assert "$.fields[0].constraints.enum" in result.stderr


def test_schema_show_lists_nested_fields() -> None:
    result = CliRunner().invoke(main, ["schema", "show", str(SCHEMA)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Account" in result.output and "addresses[].city" in result.output
    assert "field-order" in result.output


def test_schema_infer_drafts_a_schema_the_data_passes(tmp_path: Path) -> None:
    draft = tmp_path / "draft.json"
    done = ldtransform("schema", "infer", SAMPLES / "accounts.csv", "--item-type", "Account",
                       "--out", draft, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    document = json.loads(draft.read_text(encoding="utf-8"))
    fields = {f["name"]: f for f in document["fields"]}
    assert document["primaryKey"] == ["accountId"]
    assert fields["accountId"]["type"] == "string"  # 000417 keeps its zeros
    assert fields["exposure"]["type"] == "number" and fields["creditBlock"]["type"] == "boolean"
    assert fields["currency"]["constraints"]["enum"] == ["CAD", "USD"]
    assert "required" not in fields["notes"].get("constraints", {})
    check = ldtransform("validate", SAMPLES / "accounts.csv", "--schema", draft, cwd=tmp_path)
    assert check.returncode == 0, check.stdout


def test_pandas_accessor_works_whatever_the_import_order() -> None:
    code = ("import ldtransform\nimport sys\nassert 'pandas' not in sys.modules\n"
            "import pandas as pd\n"
            "df = pd.DataFrame({'id': ['A1', 'A1'], 'name': ['Ann', '']})\n"
            "schema = {'itemType': 'P', 'primaryKey': ['id'], 'fields': [{'name': 'id'},"
            " {'name': 'name', 'constraints': {'required': True}}]}\n"
            "result = df.ld.validate(ldtransform.ItemSchema.from_dict(schema))\n"
            "print(sorted((i.row, i.code) for i in result.report.issues))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[(2, 'duplicate-key'), (2, 'missing-value')]"
