"""``ldtransform plugins`` lists every plugin in full, and a broken plugin, installed for
real (a dist-info on sys.path whose entry points fail to import), breaks only itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fakeplugins import fake_distribution, installed

import ldtransform
from ldtransform.cli import EXIT_CONFIG, main
from ldtransform.cli.plugin import COLUMNS, _print_table
from ldtransform.errors import PluginLoadError

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
LONG = "ldtransform-a-plugin-with-a-distribution-name-much-wider-than-any-terminal"

WORKING = """
    import pyarrow as pa
    from ldtransform import Frames

    class Reader:
        format = "tally"
        suffixes = (".tally", ".tly")

        def read(self, source, *, schema=None, batch_size=65536):
            table = pa.table({"x": ["a", "b"]})
            return Frames(table.schema, [(2, table.to_batches()[0])], source=str(source))
"""

BROKEN_GROUPS = """
    [ldtransform.readers]
    broken = ldt_broken:Reader
    [ldtransform.writers]
    broken-out = ldt_broken:Writer
    [ldtransform.validators]
    broken-check = ldt_broken:Check
    [ldtransform.transforms]
    broken_step = ldt_broken:Step
"""


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working plugin with a long distribution name, and one whose every entry point
    raises on import."""
    site = tmp_path / "site"
    fake_distribution(site, LONG, f"[ldtransform.readers]\ntally = {LONG.replace('-', '_')}"
                      ":Reader\n", WORKING, version="3.2.1")
    fake_distribution(site, "ldt-broken", BROKEN_GROUPS,
                      "raise RuntimeError('the plugin is broken on purpose')\n", version="0.9")
    fake_distribution(site, "ldt-exits", "[ldtransform.readers]\nexits = ldt_exits:Reader\n",
                      "import sys\nsys.exit('a module that exits when imported')\n")
    with installed(site, monkeypatch):
        yield site


def test_json_lists_kind_name_suffixes_distribution_and_version(site: Path) -> None:
    done = CliRunner().invoke(main, ["plugins", "--json"])
    assert done.exit_code == 0, done.output
    rows = {(row["kind"], row["name"]): row for row in json.loads(done.output)}
    assert {key: rows[("reader", "tally")][key] for key in
            ("suffixes", "distribution", "version", "status")} == {
        "suffixes": [".tally", ".tly"], "distribution": LONG, "version": "3.2.1",
        "status": "ok"}
    assert rows[("reader", "csv")]["suffixes"][:2] == [".csv", ".tsv"]
    assert rows[("writer", "items-json")]["suffixes"] == [".json"]
    assert rows[("validator", "field-order")]["suffixes"] == []
    assert rows[("reader", "exits")]["status"] == "broken"
    assert "exits when imported" in rows[("reader", "exits")]["error"]
    for kind, name in [("reader", "broken"), ("writer", "broken-out"),
                       ("validator", "broken-check"), ("transform", "broken_step")]:
        row = rows[(kind, name)]
        assert row["status"] == "broken" and row["distribution"] == "ldt-broken"
        assert f"{name!r}" in row["error"] and "broken on purpose" in row["error"]


def test_in_a_pipe_every_column_is_shown_in_full(site: Path) -> None:
    done = CliRunner().invoke(main, ["plugins"])  # CliRunner's output is not a terminal
    assert done.exit_code == 0, done.output
    (line,) = [line for line in done.output.splitlines() if line.startswith("reader     tally")]
    assert line.split() == ["reader", "tally", ".tally,", ".tly", LONG, "3.2.1", "ok",
                            f"{LONG.replace('-', '_')}:Reader"]
    assert "reader broken: the reader plugin 'broken'" in done.output


def test_in_a_narrow_terminal_cells_wrap_rather_than_get_cut(
        site: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "70")
    _print_table(ldtransform.registry.describe())
    shown = capsys.readouterr().out
    assert "…" not in shown
    cells = [line.split("│") for line in shown.splitlines() if line.count("│") == 8]
    distribution = "".join(cell[1 + COLUMNS.index("distribution")].strip() for cell in cells)
    assert LONG in distribution


def test_a_broken_plugin_breaks_nothing_else(site: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    inspected = runner.invoke(main, ["inspect", str(SAMPLES / "accounts.csv"), "--json"])
    assert inspected.exit_code == 0, inspected.output
    converted = runner.invoke(main, [
        "convert", str(SAMPLES / "accounts.xlsx"), "--schema",
        str(SAMPLES / "schemas" / "Account.json"), "--mapping",
        str(SAMPLES / "mappings" / "accounts.toml"), "--out", "out"])
    assert converted.exit_code == 0, converted.output
    (tmp_path / "data.tly").write_text("anything")
    assert ldtransform.read(tmp_path / "data.tly").to_table().num_rows == 2  # a plugin too
    asked = runner.invoke(main, ["inspect", str(SAMPLES / "accounts.csv"), "--format",
                                 "broken"])
    assert asked.exit_code == EXIT_CONFIG
    assert "'broken'" in asked.output and "ldt-broken 0.9" in asked.output
    with pytest.raises(PluginLoadError, match="broken on purpose"):
        ldtransform.read(SAMPLES / "accounts.csv", format="broken")
