"""What every ldtransform command shares: exit codes, error reporting, reader options."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

__all__ = ["EXIT_CONFIG", "EXIT_ERROR", "EXIT_INVALID", "EXIT_READ", "EXIT_USAGE",
           "collect_reader_options", "errors_reported", "reader_options"]

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_READ = 3
EXIT_CONFIG = 4
EXIT_INVALID = 5  # the data is invalid: rows rejected


@contextmanager
def errors_reported() -> Iterator[None]:
    """Turn ldtransform exceptions into a one-line message and a documented exit code."""
    from ldtransform import errors

    try:
        yield
    except errors.ReadError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_READ)
    except errors.ValidationFailed as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
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
