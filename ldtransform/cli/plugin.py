"""``ldtransform plugins`` (what is installed) and ``ldtransform plugin new`` (a package to
start a plugin from); registered in :mod:`ldtransform.cli`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ldtransform.cli._common import errors_reported, examples

__all__ = ["plugin", "plugins"]

COLUMNS = ("kind", "name", "suffixes", "distribution", "version", "status", "target")


@click.command(short_help="List readers, writers, validators and transforms.", epilog=examples(
    "ldtransform plugins",
    "ldtransform plugins --json",
))
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def plugins(as_json: bool) -> None:
    """List every reader, writer, validator and transform: its name, the file suffixes it
    handles, the distribution and version that provide it, and whether it loads. A plugin
    that fails to load is listed as broken, with its error; the others are unaffected."""
    from ldtransform import registry

    rows = registry.describe()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif sys.stdout.isatty():
        _print_table(rows)
    else:  # a pipe or a file: plain columns, never cut to a terminal's width
        _print_plain(rows)


def _cells(row: dict[str, Any]) -> list[str]:
    return [", ".join(row["suffixes"]) or "-" if key == "suffixes" else str(row[key])
            for key in COLUMNS]


def _print_plain(rows: list[dict[str, Any]]) -> None:
    lines = [list(COLUMNS), *map(_cells, rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    for line in lines:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths,
                                                                       strict=True)).rstrip())
    for row in rows:
        if row["error"]:
            click.echo(f"{row['kind']} {row['name']}: {row['error']}")


def _print_table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(*COLUMNS)
    for column in table.columns:  # a narrow terminal wraps a cell rather than cut it
        column.overflow = "fold"
    for row in rows:
        cells: list[str | Text] = list(_cells(row))
        if row["status"] != "ok":
            cells[COLUMNS.index("status")] = Text(row["status"], style="red")
        table.add_row(*cells)
    console = Console(highlight=False)
    console.print(table)
    for row in rows:
        if row["error"]:
            console.print(Text.assemble((f"{row['kind']} {row['name']}", "red"),
                                        f": {row['error']}"))


@click.group(short_help="Start a plugin package of your own.", epilog=examples(
    "ldtransform plugin new ldtransform-foo --kind reader",
    "ldtransform plugin new ldtransform-unique --kind validator",
))
def plugin() -> None:
    """Start a plugin: a reader, writer, validator or transform of your own."""


@plugin.command("new", epilog=examples(
    "ldtransform plugin new ldtransform-foo --kind reader",
    "ldtransform plugin new ldtransform-trim --kind transform",
    "ldtransform plugin new ldtransform-tagged --kind writer",
))
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(["reader", "writer", "validator",
                                                          "transform"]),
              help="What the plugin is.")
def plugin_new(name: str, kind: str) -> None:
    """Write a package NAME in the current folder: a working plugin of KIND registered
    through its entry point, its contract tests, a pyproject.toml and a README.

    NAME is the distribution name, e.g. ldtransform-foo (the plugin is then "foo"). The
    package installs with `pip install -e NAME` and its tests pass at once.
    """
    from ldtransform.cli._scaffold import new_plugin

    with errors_reported():
        folder = new_plugin(name, kind, Path.cwd())  # type: ignore[arg-type]
    click.echo(f"wrote {folder.name}/: a {kind} plugin. Next:\n"
               f"  pip install -e './{folder.name}[test]'\n"
               f"  pytest {folder.name}")
