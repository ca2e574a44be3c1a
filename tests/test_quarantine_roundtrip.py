"""A quarantine file a person can fix and feed back, whatever its source needed."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from ldtransform.cli import main
from ldtransform.quarantine import rejected_name

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SCHEMA = SAMPLES / "schemas" / "Account.json"
FLAT_MAPPING = SAMPLES / "mappings" / "accounts-flat.toml"
ORIGINAL_OPTIONS = ["--encoding", "cp1252", "--delimiter", ";", "--header-row", "2"]


def cp1252_export(tmp_path: Path) -> Path:
    """samples/accounts.csv as an ERP exports it: cp1252, ';', a title row; two rows bad."""
    with (SAMPLES / "accounts.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rows[2]["accountClass"] = "Wholesale"  # row 5 of the file: no such class
    rows[5]["exposure"] = "12,5"           # row 8: not a number
    path = tmp_path / "export.csv"
    with path.open("w", newline="", encoding="cp1252") as f:
        f.write("Accounts export – Zoë's ERP\r\n")
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    return path


def validate_here(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The same command in this process (faster)."""
    result = CliRunner().invoke(main, ["validate", *map(str, args), "--schema", str(SCHEMA),
                                       "--mapping", str(FLAT_MAPPING)])
    return subprocess.CompletedProcess([], result.exit_code, result.stdout, result.stderr)


def test_the_rejected_file_of_a_cp1252_title_row_file_round_trips(tmp_path: Path) -> None:
    source = cp1252_export(tmp_path)
    fix = tmp_path / "fix"
    first = validate_here(source, *ORIGINAL_OPTIONS, "--rejected-dir", fix)
    assert first.returncode == 5, first.stdout + first.stderr
    rejected = fix / "export.rejected.csv"
    sidecar = json.loads((fix / "export.rejected.csv.json").read_text(encoding="utf-8"))
    assert sidecar["source"] == str(source) and sidecar["rows"] == 2
    assert sidecar["options"] == {"encoding": "utf-8", "delimiter": ",", "header_row": 1}

    # Validated again as it is, in its own folder: the rows still rejected would replace
    # the file (and any rows fixed in it), so it is left as it was and the user told why.
    written = rejected.read_bytes()
    refused = validate_here(rejected, *ORIGINAL_OPTIONS, "--rejected-dir", fix)
    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert "would be lost" in refused.stdout + refused.stderr
    assert "--rejected-dir recheck" in refused.stdout + refused.stderr
    assert rejected.read_bytes() == written
    # In another folder: the same two rows, under the same name (names never stack).
    recheck = tmp_path / "recheck"
    again = validate_here(rejected, *ORIGINAL_OPTIONS, "--rejected-dir", recheck)
    assert again.returncode == 5, again.stdout + again.stderr
    assert "2 rows read = 0 valid + 2 rejected" in again.stdout
    assert "note:" in again.stderr and "--encoding cp1252" in again.stderr
    assert sorted(p.name for p in recheck.iterdir()) == ["export.rejected.csv",
                                                         "export.rejected.csv.json"]
    assert json.loads((recheck / "export.rejected.csv.json").read_text())["source"] == str(
        source)

    with rejected.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with (SAMPLES / "accounts.csv").open(newline="", encoding="utf-8") as f:
        originals = list(csv.DictReader(f))
    assert [row["name"] for row in rows] == [originals[2]["name"], originals[5]["name"]]
    assert [row["_errors"].split(":")[0] for row in rows] == ["accountClass", "exposure"]
    rows[0]["accountClass"], rows[1]["exposure"] = "Invoiced", "12.5"
    with rejected.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    fixed = validate_here(rejected, *ORIGINAL_OPTIONS, "--rejected-dir", fix)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "2 rows read = 2 valid + 0 rejected" in fixed.stdout


def test_convert_names_never_stack(tmp_path: Path) -> None:
    source = cp1252_export(tmp_path)
    first = CliRunner().invoke(main, ["convert", str(source), *ORIGINAL_OPTIONS, "--schema",
                                      str(SCHEMA), "--mapping", str(FLAT_MAPPING),
                                      "--out", str(tmp_path / "one")])
    assert first.exit_code == 5, first.output
    rejected = tmp_path / "one" / "export.rejected.csv"
    second = CliRunner().invoke(main, ["convert", str(rejected), *ORIGINAL_OPTIONS,
                                       "--schema", str(SCHEMA), "--mapping",
                                       str(FLAT_MAPPING), "--out", str(tmp_path / "two")])
    assert second.exit_code == 5, second.output
    assert sorted(p.name for p in (tmp_path / "two").glob("*.rejected.*")) == [
        "export.rejected.csv", "export.rejected.csv.json"]


def test_rejected_names() -> None:
    assert rejected_name("in/accounts.csv") == "accounts.rejected.csv"
    assert rejected_name("accounts.rejected.csv") == "accounts.rejected.csv"
    assert rejected_name("accounts.rejected.xlsx", "xlsx") == "accounts.rejected.xlsx"
    assert rejected_name("accounts.jsonl.gz", "jsonl") == "accounts.rejected.jsonl"
    assert rejected_name("README") == "README.rejected.csv"
    assert rejected_name("-") == "stdin.rejected.csv"


def test_parts_without_an_item_type_are_named_like_the_rejected_rows(tmp_path: Path) -> None:
    """One naming rule: a source's parts and its rejected rows share its stem."""
    import ldtransform

    result = ldtransform.read(SAMPLES / "accounts.csv").write(tmp_path, to="jsonl",
                                                              max_records=20)
    assert [part.path.name for part in result.parts] == ["accounts-00001.jsonl",
                                                         "accounts-00002.jsonl"]
    assert rejected_name(str(SAMPLES / "accounts.csv")).startswith("accounts.")


def test_a_rejected_workbook_marks_bad_cells_and_round_trips(tmp_path: Path) -> None:
    source = cp1252_export(tmp_path)
    fix = tmp_path / "fix"
    first = validate_here(source, *ORIGINAL_OPTIONS, "--rejected-dir", fix,
                          "--rejected-format", "xlsx")
    assert first.returncode == 5, first.stdout + first.stderr
    path = fix / "export.rejected.xlsx"
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    assert header[0] == "_row" and header[-1] == "_errors"
    assert header[1:-1] == list(csv_header())
    marked = {(cell.row, header[cell.column - 1]): cell.comment.text
              for row in sheet.iter_rows(min_row=2) for cell in row if cell.comment}
    assert set(marked) == {(2, "accountClass"), (3, "exposure")}
    assert "[not-in-enum]" in marked[(2, "accountClass")]
    assert "[type-error]" in marked[(3, "exposure")]
    for row, column in marked:
        cell = sheet.cell(row, header.index(column) + 1)
        assert cell.fill.fgColor.rgb.endswith("FFC7CE")  # highlighted
        assert cell.value in ("Wholesale", "12,5")
    assert not sheet.cell(2, header.index("name") + 1).comment
    assert [sheet.cell(r, 1).value for r in (2, 3)] == [5, 8]  # rows of the source file
    assert "accountClass:" in sheet.cell(2, len(header)).value

    sheet.cell(2, header.index("accountClass") + 1).value = "Invoiced"
    sheet.cell(3, header.index("exposure") + 1).value = 12.5
    book.save(path)
    fixed = validate_here(path, *ORIGINAL_OPTIONS, "--rejected-dir", fix)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "2 rows read = 2 valid + 0 rejected" in fixed.stdout


def csv_header() -> list[str]:
    with (SAMPLES / "accounts.csv").open(newline="", encoding="utf-8") as f:
        return next(csv.reader(f))


def test_a_missing_excel_extra_names_the_install(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "xlsxwriter", None)
    result = CliRunner().invoke(main, ["validate", str(cp1252_export(tmp_path)),
                                       *ORIGINAL_OPTIONS, "--schema", str(SCHEMA),
                                       "--mapping", str(FLAT_MAPPING), "--rejected-dir",
                                       str(tmp_path / "fix"), "--rejected-format", "xlsx"])
    assert result.exit_code == 4
    assert "pip install 'ldtransform[excel]'" in result.output
    assert not (tmp_path / "fix" / "export.rejected.xlsx").exists()
