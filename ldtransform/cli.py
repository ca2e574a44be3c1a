"""The ``ldtransform`` command line. The only module that prints.

Exit codes: 0 success; 2 wrong usage; 3 a source cannot be read; 4 a plugin, option or
configuration problem (including a missing optional extra); 5 the data is invalid (rows
rejected by ``validate``); 1 any other ldtransform error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_READ = 3
EXIT_CONFIG = 4


@contextmanager
def _errors_reported() -> Iterator[None]:
    """Turn ldtransform exceptions into a one-line message and a documented exit code."""
    from ldtransform import errors

    try:
        yield
    except errors.ReadError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_READ)
    except (errors.PluginError, errors.ConfigError, errors.MissingDependencyError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    except errors.LdTransformError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)


def _sheet(value: str | None) -> str | int | None:
    return int(value) if value is not None and value.isdigit() else value


def _header_row(value: str | None) -> int | str | None:
    if value is None:
        return "default"
    if value.lower() == "none":
        return None
    try:
        return int(value)
    except ValueError:
        raise click.BadParameter("a 1-based row number, or 'none'") from None


def reader_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options every reading command takes."""
    for option in reversed([
        click.option("--format", "format_", metavar="NAME",
                     help="Reader to use (default: chosen by file suffix)."),
        click.option("--encoding", help="Text encoding: a codec name or 'auto'."),
        click.option("--delimiter", help="Field delimiter (default: sniffed)."),
        click.option("--sheet", help="Workbook sheet: a name or a 0-based index."),
        click.option("--header-row", help="1-based row of the header, or 'none'."),
    ]):
        func = option(func)
    return func


def collect_reader_options(encoding: str | None, delimiter: str | None, sheet: str | None,
                           header_row: str | None) -> dict[str, Any]:
    """Only the options the user gave, so each reader sees just what applies."""
    options: dict[str, Any] = {}
    if encoding is not None:
        options["encoding"] = encoding
    if delimiter is not None:
        options["delimiter"] = "\t" if delimiter in ("\\t", "tab") else delimiter
    if sheet is not None:
        options["sheet"] = _sheet(sheet)
    header = _header_row(header_row)
    if header != "default":
        options["header_row"] = header
    return options


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ldtransform")
def main() -> None:
    """Turn messy CSV, Excel, Parquet and JSON into clean, validated Liquid Decisions data."""


@main.command()
@click.argument("source", type=click.Path(dir_okay=False))
@reader_options
@click.option("--rows", "head", default=5, show_default=True, help="First rows to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def inspect(source: str, format_: str | None, encoding: str | None, delimiter: str | None,
            sheet: str | None, header_row: str | None, head: int, as_json: bool) -> None:
    """Show what SOURCE holds: format, encoding, delimiter, sheets, columns, rows."""
    from ldtransform.inspection import inspect_source

    options = collect_reader_options(encoding, delimiter, sheet, header_row)
    with _errors_reported():
        report = inspect_source(source, format=format_, head=head, **options)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    else:
        _print_inspection(report)


def _print_inspection(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    details = {key: value for key, value in report.items()
               if key not in ("columns", "head", "head_rows", "issues", "source")}
    console.print(f"[bold]{report['source']}[/bold]")
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
    for issue in report["issues"]:
        console.print(f"[yellow]row {issue['row']}[/yellow] {issue['code']}: "
                      f"{issue['message']}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def plugins(as_json: bool) -> None:
    """List every reader, writer, validator and transform, with its distribution."""
    from ldtransform import registry

    rows = registry.describe()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("kind", "name", "distribution", "version", "status", "target")
    for row in rows:
        status = row["status"] if row["status"] == "ok" else f"[red]{row['status']}[/red]"
        table.add_row(row["kind"], row["name"], row["distribution"], row["version"],
                      status, row["target"])
    console = Console()
    console.print(table)
    for row in rows:
        if row["error"]:
            console.print(f"[red]{row['name']}[/red]: {row['error']}", highlight=False)


def _register_commands() -> None:
    from ldtransform.cli_convert import convert, run
    from ldtransform.cli_validate import schema, validate

    for command in (validate, schema, convert, run):
        main.add_command(command)


_register_commands()


from ldtransform.server.command import serve_command  # noqa: E402  (only click at import)

main.add_command(serve_command)
