"""manifest.json as typed values: written the same by convert and the fluent form, read back
equal, byte for byte what the pipeline has always written, and a clear error when malformed."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from test_pipeline import FLAT, SAMPLES, SCHEMA

import ldtransform
from ldtransform import manifest
from ldtransform.manifest import Manifest, ManifestError, OutputFile

ERRORS = SAMPLES / "messy/accounts_errors.csv"
NOON = dt.datetime(2025, 1, 31, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manifest, "clock", lambda: NOON)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def hashed(path: Path) -> dict[str, Any]:
    return {"path": str(path), "sha256": sha256(path)}


def written(path: Path, records: int, name: str | None = None,
            origins: list[list[int]] | None = None) -> dict[str, Any]:
    entry = {"file": name or path.name, "records": records, "bytes": path.stat().st_size,
             "sha256": sha256(path)}
    return {**entry, "origins": origins} if origins else entry


def keys(value: Any) -> Any:
    """The shape of a JSON value: its keys, nested, in order; lists by their first item."""
    if isinstance(value, dict):
        return [(key, keys(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [keys(value[0])] if value else []
    return None


def test_convert_writes_the_manifest_it_always_has(tmp_path: Path) -> None:
    result = ldtransform.convert(ERRORS, schema=SCHEMA, mapping=FLAT, out=tmp_path,
                                 max_records=5)
    parts = sorted(tmp_path.glob("Account-*.json"))
    counts = [len(json.loads(part.read_bytes())) for part in parts]
    rejected = tmp_path / "accounts_errors.rejected.csv"
    golden = {
        "created": "2025-01-31T12:00:00+0000",
        "ldtransform": ldtransform.__version__,
        "itemType": "Account",
        "format": "items-json",
        "action": "Create",
        "empty": "clear",
        "leftOut": [],
        "sources": [{"path": str(ERRORS), "bytes": ERRORS.stat().st_size,
                     "sha256": sha256(ERRORS)}],
        "schema": hashed(SCHEMA),
        "mapping": hashed(FLAT),
        "template": None,
        # Rows 4, 7, 11, 14, 18, 22 and 25 are rejected: the valid ones, in runs.
        "parts": [written(part, n, origins=runs) for part, n, runs in zip(parts, counts, [
            [[0, 2, 2], [0, 5, 2], [0, 8, 1]], [[0, 9, 2], [0, 12, 2], [0, 15, 1]],
            [[0, 16, 2], [0, 19, 3]], [[0, 23, 2], [0, 26, 1]]], strict=True)],
        "rejected": [written(rejected, 7)],
        "totals": {"files": len(parts), "records": 18,
                   "bytes": sum(part.stat().st_size for part in parts)},
        "validation": result.report.summary(),
    }
    assert counts == [5, 5, 5, 3]
    expected = json.dumps(golden, indent=2, ensure_ascii=False).encode() + b"\n"
    assert (tmp_path / "manifest.json").read_bytes() == expected


def test_a_manifest_reads_back_as_written(tmp_path: Path) -> None:
    result = ldtransform.convert(ERRORS, schema=SCHEMA, mapping=FLAT, out=tmp_path,
                                 max_records=10)
    assert result.manifest is not None
    read = Manifest.read(tmp_path)
    assert read == Manifest.read(result.manifest)
    assert read.to_json() == result.manifest.read_bytes()
    assert read.created == NOON and read.item_type == "Account"
    assert read.parts == tuple(OutputFile(p.path.name, p.records, p.bytes, p.sha256,
                                          p.origins) for p in result.parts)
    assert all(part.origins for part in read.parts)
    assert [(f.file, f.records) for f in read.rejected] == [("accounts_errors.rejected.csv", 7)]
    assert (read.totals.files, read.totals.records) == (2, 18)
    assert read.validation.rows_rejected == 7 and read.sources[0].sha256 == sha256(ERRORS)
    # A new manifest from the values read is the same file.
    (tmp_path / "again").mkdir()
    assert read.write(tmp_path / "again").read_bytes() == result.manifest.read_bytes()


def test_the_fluent_form_writes_the_same_shape(tmp_path: Path) -> None:
    converted = ldtransform.convert(ERRORS, schema=SCHEMA, mapping=FLAT, out=tmp_path / "a")
    fluent = (ldtransform.read(ERRORS)
              .validate(SCHEMA, mapping=FLAT, rejected=tmp_path / "b.rejected.csv")
              .write_items(tmp_path / "b"))
    assert converted.manifest is not None and fluent.manifest is not None
    one, other = (json.loads(path.read_bytes())
                  for path in (converted.manifest, fluent.manifest))
    # Only convert knows its source files, their rows and the mapping file; the rest is
    # filled in alike.
    assert other["sources"] == [] and other["mapping"] is None
    assert all("origins" not in part for part in other["parts"])
    del one["sources"], other["sources"], one["mapping"], other["mapping"]
    for part in one["parts"]:
        del part["origins"]
    assert keys(one) == keys(other)
    assert Manifest.read(fluent.manifest).totals == Manifest.read(converted.manifest).totals


def broken(document: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """``document`` with ``key`` (``parts.0.records``) set to ``value``, or removed if
    ``value`` is ``...``."""
    *path, last = key.split(".")
    inner: Any = document
    for step in path:
        inner = inner[int(step)] if isinstance(inner, list) else inner[step]
    at: Any = int(last) if isinstance(inner, list) else last
    if value is ...:
        del inner[at]
    else:
        inner[at] = value
    return document


@pytest.mark.parametrize(("key", "value", "named", "says"), [
    ("parts", ..., "parts", "is missing"),
    ("parts.0.records", "5", "parts[0].records", "should be an integer"),
    ("validation.by_code.missing-required", 1.5, "validation.by_code.missing-required",
     "should be an integer"),
    ("schema", [], "schema", "should be an object or null"),
    ("created", "yesterday", "created", "should be a time"),
    ("totals.records", 99, "totals", "do not add up the parts"),
    ("parts.0.origins.0", [0, 2], "parts[0].origins[0]", "should be [source_index"),
    ("parts.0.origins.0", [0, 0, 2], "parts[0].origins[0]", "should be [source_index"),
    ("parts.0.origins.0", [0, 2, 3], "parts[0].origins", "count 19 records, not 18"),
    ("parts.0.origins.0", [1, 2, 2], "parts[0].origins", "name a source beyond the 1"),
])
def test_a_malformed_manifest_names_the_file_and_the_key(
        tmp_path: Path, key: str, value: Any, named: str, says: str) -> None:
    result = ldtransform.convert(ERRORS, schema=SCHEMA, mapping=FLAT, out=tmp_path)
    assert result.manifest is not None
    document = json.loads(result.manifest.read_bytes())
    result.manifest.write_text(json.dumps(broken(document, key, value)), encoding="utf-8")
    with pytest.raises(ManifestError) as raised:
        Manifest.read(tmp_path)
    assert raised.value.key == named
    assert str(raised.value).startswith(f"{result.manifest}: {named}: {says}")


def test_a_manifest_that_is_not_json_or_not_there_says_so(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{", encoding="utf-8")
    with pytest.raises(ManifestError, match=r"manifest\.json: \(file\): not JSON"):
        Manifest.read(tmp_path / "manifest.json")
    with pytest.raises(ldtransform.ReadError, match="cannot read the manifest"):
        Manifest.read(tmp_path / "elsewhere")


def test_overwrite_reads_the_earlier_manifest_typed_and_keeps_a_malformed_one(
        tmp_path: Path) -> None:
    """The files an earlier run wrote are known from its manifest; one that is not a
    manifest the pipeline writes stops the run before anything is removed."""
    ldtransform.convert(ERRORS, schema=SCHEMA, mapping=FLAT, out=tmp_path)
    document = json.loads((tmp_path / "manifest.json").read_bytes())
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    (tmp_path / "manifest.json").write_text(json.dumps(broken(document, "parts.0.records",
                                                              "many")), encoding="utf-8")
    with pytest.raises(ManifestError, match=r"parts\[0\]\.records: .* nothing was replaced: "
                       r"remove that folder, or choose another"):
        ldtransform.convert(ERRORS, schema=SCHEMA, mapping=FLAT, out=tmp_path, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before)
