"""Every command's help ends with examples that run, and the command list is whole."""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path

import click
import openpyxl
import pytest
from click.testing import CliRunner

import ldtransform
from ldtransform.cli import main
from ldtransform.errors import MappingError

SAMPLES = Path(__file__).parent.parent / "samples"


def commands(group: click.Group = main, path: tuple[str, ...] = ()
             ) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in sorted(group.commands.items()):
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


def example_lines(help_text: str) -> list[str]:
    """The example commands at the end of a help page, continuation lines joined."""
    assert "Examples:" in help_text
    lines, pending = [], ""
    for line in help_text.split("Examples:", 1)[1].strip().splitlines():
        pending += " " + line.strip()
        if pending.endswith("\\"):
            pending = pending[:-1]
            continue
        lines.append(pending.strip())
        pending = ""
    return lines


@pytest.fixture
def ld_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A local LD server, and a user with LD_URL, LD_USERNAME and LD_PASSWORD set who has
    uploaded the sample items once (the LD commands' examples run against it)."""
    from ldtransform.server import running

    with running(data_dir=tmp_path / "ld", schemas=SAMPLES / "schemas",
                 processes=False) as url:
        for name, value in {"LD_URL": url, "LD_USERNAME": "demo", "LD_PASSWORD": "demo",
                            "XDG_STATE_HOME": str(tmp_path / "state")}.items():
            monkeypatch.setenv(name, value)
        first = CliRunner().invoke(main, ["upload", str(SAMPLES / "accounts.items.json"),
                                          "--item-type", "Account", "--wait"])
        assert first.exit_code == 0, first.output
        yield


@pytest.mark.usefixtures("ld_user")
def test_every_help_ends_with_two_or_three_examples_that_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    checked = 0
    for path, _ in commands():
        here = tmp_path / "-".join(path)  # each command's examples in a folder of their own
        shutil.copytree(SAMPLES, here / "samples")
        monkeypatch.chdir(here)
        shown = runner.invoke(main, [*path, "--help"], terminal_width=200)
        assert shown.exit_code == 0, shown.output
        examples = example_lines(shown.output)
        assert 2 <= len(examples) <= 3, (path, examples)
        for example in examples:
            argv = shlex.split(example)
            assert argv[0] == "ldtransform", example
            if argv[1] == "serve":
                continue  # runs until stopped
            done = runner.invoke(main, argv[1:])
            assert done.exit_code in (0, 5), (example, done.output)
            checked += 1
    assert checked >= 15


def test_the_command_list_is_not_cut_off() -> None:
    listing = CliRunner().invoke(main, ["--help"], terminal_width=80).output
    lines = listing.split("Commands:", 1)[1].strip().splitlines()
    assert sorted(line.split()[0] for line in lines) == sorted(main.commands)
    for line in lines:
        assert line.endswith(".") and not line.endswith("..."), line


@pytest.fixture
def workbook_with_cover_sheet(tmp_path: Path) -> tuple[Path, Path, Path]:
    book = openpyxl.Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "Read me"
    cover.append(["Exported from the ERP; the data is on the next sheet"])
    data = book.create_sheet("Data 2024")
    data.append(["id", "name"])
    data.append(["A1", "Ann"])
    path = tmp_path / "book.xlsx"
    book.save(path)
    schema = tmp_path / "schema.json"
    schema.write_text('{"itemType": "Thing", "fields": [{"name": "id", "type": "string"},'
                      '{"name": "label", "type": "string"}]}')
    mapping = tmp_path / "m.toml"
    mapping.write_text('[fields]\nid = "id"\nlabel = "name"\n')
    return path, schema, mapping


def test_a_workbook_whose_first_sheet_lacks_the_columns_names_the_sheet(
        workbook_with_cover_sheet: tuple[Path, Path, Path]) -> None:
    path, schema, mapping = workbook_with_cover_sheet
    with pytest.raises(MappingError, match=r"on sheet 'Data 2024': pass sheet='Data 2024'"):
        ldtransform.validate(path, schema, mapping=mapping)
    result = CliRunner().invoke(main, ["validate", str(path), "--schema", str(schema),
                                       "--mapping", str(mapping)])
    assert result.exit_code == 4
    assert "The columns are on sheet 'Data 2024': pass --sheet 'Data 2024'" in \
        " ".join(result.output.split())
    fixed = CliRunner().invoke(main, ["validate", str(path), "--schema", str(schema),
                                      "--mapping", str(mapping), "--sheet", "Data 2024"])
    assert fixed.exit_code == 0, fixed.output
