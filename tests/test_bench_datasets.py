"""The messy benchmark data: deterministic, shaped as described, and its truth is what
validation finds."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pytest

import ldtransform

BENCH = Path(__file__).resolve().parents[1] / "bench"
ROWS = 3000


def _load_datasets():
    spec = importlib.util.spec_from_file_location("bench_datasets", BENCH / "datasets.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


datasets = _load_datasets()


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("messy") / "messy.csv"
    datasets.generate("csv", path, ROWS)
    return path


def test_same_seed_same_bytes(messy: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.csv"
    datasets.generate("csv", again, ROWS)
    assert again.read_bytes() == messy.read_bytes()


def test_shape_of_the_csv(messy: Path) -> None:
    with messy.open(encoding="utf-8", newline="") as f:
        records = list(csv.reader(f))
    header, rows = records[0], records[1:]
    schema = json.loads(datasets.MESSY_SCHEMA.read_text(encoding="utf-8"))
    assert header == [field["name"] for field in schema["fields"]] and len(header) == 22
    assert len(rows) == ROWS
    notes = [row[header.index("notes")] for row in rows]
    multiline = sum("\n" in note for note in notes)
    assert 0.07 * ROWS < multiline < 0.13 * ROWS
    assert any("\r\n" in note for note in notes)
    names = "".join(row[header.index("name")] for row in rows)
    for sample in ('"', ",", "株式会社", "Ромашка", "النور", "🦆"):
        assert sample in names


def test_validation_finds_exactly_the_bad_rows(messy: Path) -> None:
    truth = json.loads(datasets.truth_file(messy).read_text(encoding="utf-8"))
    assert len(truth["rows"]) == ROWS // 100
    assert set(truth["kinds"]) == set(datasets.KINDS)
    frames = ldtransform.read(messy).validate(datasets.MESSY_SCHEMA, max_issues=10_000)
    valid = sum(batch.num_rows for batch in frames)
    report = frames.report
    assert valid == ROWS - len(truth["rows"])
    errors = [issue for issue in report.issues if issue.severity == "error"]
    assert sorted(issue.row for issue in errors) == truth["rows"]
    found = {(issue.row, issue.code) for issue in errors}
    assert found == set(zip(truth["rows"], truth["kinds"], strict=True))


def test_export_reads_back_with_nested_addresses(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    datasets.generate("export", path, 500)
    array = ldtransform.read_export(path, datasets.EXPORT_SCHEMA).to_pandas()
    lines = ldtransform.read(path.with_suffix(".jsonl")).to_pandas()
    assert len(array) == len(lines) == 500
    assert array["accountId"].tolist() == lines["accountId"].tolist()
    counts = array["addresses"].list.len()
    assert counts.min() == 1 and counts.max() == 3
    assert array["notes"].str.contains("\r\n").any()
