"""A writer plugin works from the command line as the built-ins do: ``convert --to NAME``
with its own options as ``-w key=value``, and a pipeline file's ``[output] options``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fakeplugins import fake_distribution, installed

from ldtransform.cli import EXIT_CONFIG, main

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SOURCE = ["convert", str(SAMPLES / "accounts.xlsx"), "--schema",
          str(SAMPLES / "schemas" / "Account.json"), "--mapping",
          str(SAMPLES / "mappings" / "accounts.toml")]

TAGGED = """
    import pyarrow as pa
    from ldtransform.writers import RecordWriter

    class Tagged(RecordWriter):
        format = "tagged"
        suffix = ".tag"

        def __init__(self, *, schema=None, marker: str = "-", upper: bool = False,
                     width: int = 0):
            super().__init__(schema=schema)
            self.marker, self.upper, self.width = marker, upper, width

        def encode(self, batch):
            lines = []
            for row in batch.to_pylist():
                text = str(row.get("accountId", ""))
                text = text.upper() if self.upper else text
                lines.append(f"{self.marker}{text.rjust(self.width)}\\n")
            return pa.array(lines, pa.string())
"""


@pytest.fixture
def tagged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    site = tmp_path / "site"
    fake_distribution(site, "ldt-tagged", "[ldtransform.writers]\ntagged = ldt_tagged:Tagged\n",
                      TAGGED)
    monkeypatch.chdir(tmp_path)
    with installed(site, monkeypatch):
        yield tmp_path


def written(folder: Path) -> list[str]:
    return [line for part in sorted(folder.glob("*.tag"))
            for line in part.read_text(encoding="utf-8").splitlines()]


def test_convert_to_a_writer_plugin_with_its_options(tagged: Path) -> None:
    done = CliRunner().invoke(main, [*SOURCE, "--to", "tagged", "-w", "marker=*",
                                     "-w", "width=12", "--out", "out"])
    assert done.exit_code == 0, done.output
    lines = written(tagged / "out")
    assert len(lines) == 25
    assert all(line.startswith("*") and len(line) == 13 for line in lines), lines[:3]
    assert json.loads((tagged / "out" / "manifest.json").read_text())["format"] == "tagged"


def test_a_writer_option_is_read_by_its_declared_type(tagged: Path) -> None:
    wrong = CliRunner().invoke(main, [*SOURCE, "--to", "tagged", "-w", "width=wide",
                                      "--out", "out"])
    assert wrong.exit_code == 2 and "width takes a number" in wrong.output
    unknown = CliRunner().invoke(main, [*SOURCE, "--to", "tagged", "-w", "colour=red",
                                        "--out", "out"])
    assert unknown.exit_code == EXIT_CONFIG
    assert "does not take colour" in unknown.output and "marker" in unknown.output


def test_an_unknown_writer_is_a_usage_error_listing_the_installed_ones(tagged: Path) -> None:
    done = CliRunner().invoke(main, [*SOURCE, "--to", "nope", "--out", "out"])
    assert done.exit_code == 2
    assert "'nope' is not an installed writer" in done.output and "tagged" in done.output


def test_a_pipeline_file_passes_a_writer_plugin_its_options(tagged: Path) -> None:
    pipeline = tagged / "pipeline.toml"
    pipeline.write_text(f"""
schema = "{(SAMPLES / 'schemas' / 'Account.json').as_posix()}"
mapping = "{(SAMPLES / 'mappings' / 'accounts.toml').as_posix()}"
[source]
paths = ["{(SAMPLES / 'accounts.xlsx').as_posix()}"]
[output]
folder = "out"
format = "tagged"
options = {{upper = true, marker = "+"}}
""", encoding="utf-8")
    done = CliRunner().invoke(main, ["run", str(pipeline)])
    assert done.exit_code == 0, done.output
    lines = written(tagged / "out")
    assert len(lines) == 25 and all(line.startswith("+") for line in lines)
    assert any(line != line.lower() for line in lines)
