"""A plugin's own failure is a PluginError naming it; the CLI shows no traceback unless
asked with --debug."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fakeplugins import fake_distribution, installed

import ldtransform
from ldtransform.cli import EXIT_CONFIG, EXIT_READ, main
from ldtransform.errors import PluginError, ReadError

MODULE = """
    import pyarrow as pa
    from ldtransform import Frames, ReadError

    class Boom:
        format = "boom"
        suffixes = (".boom",)

        def __init__(self, *, when: str = "batches"):
            if when == "init":
                raise KeyError("no such mode")
            self.when = when

        def read(self, source, *, schema=None, batch_size=65536):
            if self.when == "read":
                raise ReadError("the plugin's own clear message", source=source)
            def batches():
                yield 1, pa.record_batch({"x": ["a"]})
                1 / 0
            return Frames(pa.schema([("x", pa.string())]), batches())

    class Explode:
        name = "explode"

        def __init__(self, **options):
            self.options = options

        def check(self, batch, *, first_row):
            raise ValueError("cannot check " + ",".join(batch.schema.names))

        def finish(self):
            return []
"""


@pytest.fixture
def boom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    site = tmp_path / "site"
    fake_distribution(site, "ldt-boom", "[ldtransform.readers]\nboom = ldt_boom:Boom\n"
                      "[ldtransform.validators]\nexplode = ldt_boom:Explode\n", MODULE,
                      version="2.3")
    source = tmp_path / "data.boom"
    source.write_text("boom data\n")
    with installed(site, monkeypatch):
        yield source


def test_a_failure_inside_a_plugin_names_the_plugin(boom: Path) -> None:
    frames = ldtransform.read(boom)
    with pytest.raises(PluginError) as raised:
        frames.to_table()
    assert isinstance(raised.value.__cause__, ZeroDivisionError)
    assert (raised.value.plugin, raised.value.distribution, raised.value.version) == (
        "boom", "ldt-boom", "2.3")
    assert "'boom'" in str(raised.value) and "ldt-boom 2.3" in str(raised.value)
    with pytest.raises(PluginError, match="KeyError") as made:
        ldtransform.read(boom, when="init")
    assert isinstance(made.value.__cause__, KeyError)
    with pytest.raises(ReadError, match="the plugin's own clear message"):
        ldtransform.read(boom, when="read")  # its own ldtransform error passes unchanged


def test_the_cli_shows_a_plugin_failure_without_a_traceback_unless_debug(boom: Path) -> None:
    runner = CliRunner()
    plain = runner.invoke(main, ["inspect", str(boom)])
    assert plain.exit_code == EXIT_CONFIG
    assert "ldt-boom 2.3" in plain.output and "ZeroDivisionError" in plain.output
    assert "Traceback" not in plain.output and "--debug" in plain.output
    debug = runner.invoke(main, ["--debug", "inspect", str(boom)])
    assert debug.exit_code == EXIT_CONFIG
    assert "Traceback" in debug.output and "1 / 0" in debug.output
    own = runner.invoke(main, ["inspect", str(boom), "-o", "when=read"])
    assert own.exit_code == EXIT_READ and "--debug" not in own.output


def test_a_validator_plugin_failure_names_it(boom: Path, tmp_path: Path) -> None:
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps({"itemType": "T", "fields": [{"name": "x", "type": "string"}],
                                  "checks": [{"name": "explode"}]}))
    source = tmp_path / "a.csv"
    source.write_text("x\n1\n")
    result = CliRunner().invoke(main, ["validate", str(source), "--schema", str(schema),
                                       "--rejected-dir", str(tmp_path)])
    assert result.exit_code == EXIT_CONFIG
    assert "validator plugin 'explode'" in result.output and "cannot check x" in result.output
