"""What one stage produced is enough for the next: a validation Result writes items on its
own, and every rejected-rows file is listed with its hash."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from test_pipeline import FLAT, SAMPLES, SCHEMA

import ldtransform

ERRORS = SAMPLES / "messy/accounts_errors.csv"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_result_writes_its_valid_rows_without_being_told_the_schema(tmp_path: Path) -> None:
    result = ldtransform.validate(ERRORS, SCHEMA, mapping=FLAT)
    written = result.valid_frames().write_items(tmp_path / "out")
    assert written.records_written == 18 == result.report.rows_valid
    assert result.schema is not None and result.schema.item_type == "Account"
    manifest = json.loads((tmp_path / "out/manifest.json").read_bytes())
    assert manifest["itemType"] == "Account"
    assert manifest["validation"]["rows_rejected"] == 7  # the report came along too
    items = json.loads((tmp_path / "out/Account-00001.json").read_bytes())
    assert items[0]["headers"]["type"] == "Account"


def test_convert_lists_rejected_files_with_their_sha256(tmp_path: Path) -> None:
    result = ldtransform.convert(ERRORS, schema=SCHEMA, mapping=FLAT, out=tmp_path)
    [rejected] = result.rejected
    assert rejected.path == tmp_path / "accounts_errors.rejected.csv"
    assert rejected.records == 7 and rejected.sha256 == sha256(rejected.path)
    [entry] = json.loads((tmp_path / "manifest.json").read_bytes())["rejected"]
    assert entry == {"file": "accounts_errors.rejected.csv", "records": 7,
                     "bytes": rejected.path.stat().st_size, "sha256": sha256(rejected.path)}


def test_the_fluent_form_lists_its_rejected_file_too(tmp_path: Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "rejected.csv"
    result = (ldtransform.read(ERRORS).validate(SCHEMA, mapping=FLAT, rejected=outside)
              .write_items(out))
    assert [(r.path, r.records, r.sha256) for r in result.rejected] == [
        (outside, 7, sha256(outside))]
    [entry] = json.loads((out / "manifest.json").read_bytes())["rejected"]
    assert entry["file"] == str(outside.resolve()) and entry["sha256"] == sha256(outside)
    # Replacing the conversion replaces its own files, never one outside its folder.
    (out / "rejected.csv").write_text("someone else's", encoding="utf-8")
    ldtransform.read(SAMPLES / "accounts.csv").validate(SCHEMA, mapping=FLAT).write_items(
        out, overwrite=True)
    assert outside.exists() and (out / "rejected.csv").exists()
