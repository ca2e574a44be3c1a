"""The ``ldtransform`` command line. Only the CLI modules (``cli`` package) print; the bigger
commands live in ``cli.validate``, ``cli.convert`` and ``cli.template``.

Exit codes: 0 success; 2 wrong usage; 3 a source cannot be read; 4 a plugin, option or
configuration problem (including a missing optional extra); 5 the data is invalid (rows
rejected by ``validate``); 6 an LD job did not complete, or an upload's outcome is not known
yet; 7 the LD server could not be reached; 130 interrupted (Ctrl-C); 1 any other
ldtransform error.
"""

from __future__ import annotations

import json
from typing import Any

import click

from ldtransform._version import __version__
from ldtransform.cli._common import (
    EXIT_CONFIG,
    EXIT_ERROR,
    EXIT_READ,
    EXIT_USAGE,
    collect_reader_options,
    errors_reported,
    examples,
    log_to_stderr,
    reader_options,
)

__all__ = ["EXIT_CONFIG", "EXIT_ERROR", "EXIT_READ", "EXIT_USAGE", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__)
@click.option("--debug", is_flag=True, help="Show the traceback of an error.")
def main(debug: bool) -> None:
    """Turn messy CSV, Excel, Parquet and JSON into clean, validated Liquid Decisions data."""
    log_to_stderr()


@main.command(short_help="Show what a file holds: format, columns, rows.", epilog=examples(
    "ldtransform inspect samples/accounts.csv",
    "ldtransform inspect samples/accounts.xlsx --sheet Addresses --json",
    "ldtransform inspect samples/messy/accounts_title_rows.csv --header-row 3",
))
@click.argument("source", type=click.Path())
@reader_options
@click.option("--rows", "head", default=5, show_default=True, help="First rows to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def inspect(source: str, format_: str | None, encoding: str | None, delimiter: str | None,
            sheet: str | None, header_row: str | None, head: int, as_json: bool) -> None:
    """Show what SOURCE holds: format, encoding, delimiter, sheets, columns, rows."""
    from ldtransform.inspection import inspect_source

    options = collect_reader_options(encoding, delimiter, sheet, header_row,
                                     source=source, format=format_)
    with errors_reported():
        report = inspect_source(source, format=format_, head=head, **options)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    else:
        _print_inspection(report)


def _print_inspection(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from ldtransform.cli._words import cli_phrasing

    console = Console(highlight=False)
    details = {key: value for key, value in report.items()
               if key not in ("columns", "head", "head_rows", "issues", "source")}
    console.print(Text(str(report["source"]), style="bold"))
    for key, value in details.items():
        shown = repr(value) if key == "delimiter" else value
        console.print(f"  {key.replace('_', ' '):<16} {shown}")
    columns = Table("#", "column", "type", "arrow type", "nulls", "empty", "examples",
                    title="Columns", title_justify="left")
    for number, column in enumerate(report["columns"], start=1):
        examples = ", ".join(repr(e) for e in column["examples"])
        columns.add_row(str(number), column["name"], column["kind"], column["arrow_type"],
                        str(column["nulls"]), str(column["empty"]), examples)
    console.print(columns)
    if report["head"]:
        # One column per row, one line per field: wide files stay readable.
        head = Table("column", *(f"row {n}" for n in report["head_rows"]),
                     title=f"First {len(report['head'])} rows", title_justify="left")
        for name in report["head"][0]:
            head.add_row(name, *("" if row[name] is None else str(row[name])
                                 for row in report["head"]))
        console.print(head)
    for issue in report["issues"]:  # as text, not markup: messages may hold brackets
        console.print(Text.assemble((f"row {issue['row']}", "yellow"),
                                    f" {issue['code']}: {cli_phrasing(issue['message'])}"))


def _register_commands() -> None:
    from ldtransform.cli.convert import convert, run
    from ldtransform.cli.export import export, pull
    from ldtransform.cli.ld import cancel, jobs, login, status, upload
    from ldtransform.cli.plugin import plugin, plugins
    from ldtransform.cli.template import template
    from ldtransform.cli.validate import schema, validate
    from ldtransform.server.command import serve_command  # imports only click

    serve_command.short_help = "Run a local LD server (Batch and Items API)."
    serve_command.epilog = examples(
        "ldtransform serve",
        "ldtransform serve --port 9000 --data-dir ldserver-data",
        "ldtransform serve --config samples/server.toml",
    )
    for command in (validate, schema, convert, run, template, serve_command, login, upload,
                    status, cancel, jobs, export, pull, plugins, plugin):
        main.add_command(command)


_register_commands()
