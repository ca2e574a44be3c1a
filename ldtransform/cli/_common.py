"""What every ldtransform command shares: exit codes, error reporting, reader and
reporting options, help examples.

Messages of the library speak Python (``header_row=2``); errors are printed through
:func:`~ldtransform.cli._words.cli_phrasing`, which says ``--header-row 2`` instead.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from ldtransform.cli._words import (
    cli_phrasing,
    flag,
    parse_option_value,
    reader_class_for,
    split_option,
)

__all__ = ["EXIT_CONFIG", "EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_INVALID", "EXIT_JOBS",
           "EXIT_READ", "EXIT_UNREACHABLE", "EXIT_USAGE",
           "collect_reader_options", "engine_options", "engine_settings", "errors_reported",
           "examples", "log_to_stderr", "reader_options", "reporting_options", "write_report"]

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_READ = 3
EXIT_CONFIG = 4
EXIT_INVALID = 5  # the data is invalid: rows rejected
EXIT_JOBS = 6  # an LD job did not complete, or an upload's outcome is not known yet
EXIT_UNREACHABLE = 7  # the LD server could not be reached
EXIT_INTERRUPTED = 130  # Ctrl-C


@contextmanager
def errors_reported() -> Iterator[None]:
    """Turn ldtransform exceptions into a one-line message and a documented exit code;
    with ``ldtransform --debug``, the traceback first."""
    from ldtransform import errors

    try:
        yield
    except errors.LdTransformError as exc:
        message = f"error: {cli_phrasing(str(exc))}"
        if _debugging():
            import traceback

            click.echo("".join(traceback.format_exception(exc)).rstrip(), err=True)
        elif isinstance(exc, errors.PluginError) and exc.__cause__ is not None:
            message += " (ldtransform --debug ... shows where in the plugin it failed)"
        click.echo(message, err=True)
        sys.exit(_exit_code(exc))


class _StderrHandler(logging.Handler):
    """The library's warnings, printed as the command line speaks."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"note: {cli_phrasing(record.getMessage())}", err=True)


def log_to_stderr() -> None:
    """Show the library's warnings (``logging.getLogger("ldtransform")``) on stderr."""
    logger = logging.getLogger("ldtransform")
    if not any(isinstance(handler, _StderrHandler) for handler in logger.handlers):
        handler = _StderrHandler(logging.WARNING)
        logger.addHandler(handler)


def _exit_code(error: Exception) -> int:
    from ldtransform import errors

    code = getattr(type(error), "exit_code", None)
    if isinstance(code, int):  # the client's errors say their own code
        return code
    if isinstance(error, errors.ReadError):
        return EXIT_READ
    if isinstance(error, errors.ValidationFailed):
        return EXIT_INVALID
    if isinstance(error, errors.PluginError | errors.ConfigError
                  | errors.MissingDependencyError):
        return EXIT_CONFIG
    return EXIT_ERROR


def _debugging() -> bool:
    """Whether ``ldtransform --debug`` was given: errors come with their traceback."""
    context = click.get_current_context(silent=True)
    return bool(context and context.find_root().params.get("debug"))


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
        click.option("--on-bad-row", type=click.Choice(["raise", "report"]),
                     help="A malformed row: stop (raise) or list it and go on (report)."),
        click.option("--columns", metavar="A,B,...", help="Read only these columns."),
        click.option("--batch-size", type=click.IntRange(min=1), metavar="ROWS",
                     help="Rows per batch (memory vs speed; default 65536)."),
        click.option("-o", "--option", "extra_options", multiple=True, metavar="KEY=VALUE",
                     help="Any other option of the reader, plugins' too (repeatable)."),
    ]):
        func = option(func)

    @functools.wraps(func)
    def keep_extras(**kwargs: Any) -> Any:
        # Kept aside, so each command's signature names only the options it uses itself;
        # collect_reader_options picks them up.
        extras = {name: kwargs.pop(name) for name in _EXTRA_PARAMETERS}
        click.get_current_context().meta[_EXTRAS] = extras
        return func(**kwargs)

    return keep_extras


def engine_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--engine``, ``--scheduler`` and ``--workers``: where the stages run."""
    for option in reversed([
        click.option("--engine", type=click.Choice(["local", "dask"]), default="local",
                     show_default=True,
                     help="local: in this process; dask: one task per source on a Dask "
                          "cluster, same results (pip install 'ldtransform[dask]').",
                     ),
        click.option("--scheduler", metavar="ADDRESS",
                     help="With --engine dask: the scheduler to run on, e.g. "
                          "tcp://host:8786 (default: a local cluster)."),
        click.option("--workers", type=click.IntRange(min=1), metavar="N",
                     help="With --engine dask and no --scheduler: worker processes of the "
                          "local cluster."),
    ]):
        func = option(func)
    return func


def engine_settings(engine: str, scheduler: str | None,
                    workers: int | None) -> dict[str, Any]:
    """The keywords of ``convert``/``validate`` for the engine options given."""
    if engine == "local":
        if scheduler is not None or workers is not None:
            raise click.UsageError("--scheduler and --workers go with --engine dask")
        return {}
    if scheduler is not None and workers is not None:
        raise click.UsageError("--workers starts a local cluster; a --scheduler has its own")
    return {"engine": engine, "scheduler": scheduler, "workers": workers}


def reporting_options(rejected_dir_default: str | None,
                      rejected_dir_help: str) -> Callable[[Callable[..., Any]], Any]:
    """The options of what a validating command reports: ``--report``, ``--max-issues``
    (``--max-errors``, its old name, still works), ``--rejected-dir``,
    ``--rejected-format`` and ``--extra-columns``."""
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed([
            click.option("--report", "report_path", type=click.Path(dir_okay=False),
                         help="Write the report: .html (a page to look at) or .json."),
            click.option("--max-issues", default=1000, show_default=True,
                         type=click.IntRange(min=0),
                         help="Issues listed in the report (all are counted)."),
            click.option("--max-errors", "max_errors", type=click.IntRange(min=0),
                         hidden=True),
            click.option("--rejected-dir", default=rejected_dir_default,
                         show_default=rejected_dir_default is not None,
                         type=click.Path(file_okay=False), help=rejected_dir_help),
            click.option("--rejected-format", type=click.Choice(REJECTED_FORMATS),
                         default="csv", show_default=True,
                         help="csv, jsonl, or xlsx (bad cells highlighted, for Excel)."),
            click.option("--extra-columns", type=click.Choice(["warn", "error", "ignore"]),
                         default="warn", show_default=True,
                         help="What a column that is no field is (without a mapping)."),
        ]):
            func = option(func)

        @functools.wraps(func)
        def merged(**kwargs: Any) -> Any:
            old = kwargs.pop("max_errors")
            if old is not None:
                kwargs["max_issues"] = old
            return func(**kwargs)

        return merged

    return decorate


REJECTED_FORMATS = ["csv", "jsonl", "xlsx"]


def write_report(report: Any, path: str) -> None:
    """The report as HTML (``.html``, ``.htm``) or JSON, written atomically."""
    from pathlib import Path

    from ldtransform._atomic import atomic_writer

    html = Path(path).suffix.lower() in (".html", ".htm")
    text = report.to_html() if html else report.to_json()
    with atomic_writer(path) as file:
        file.write(text.encode("utf-8"))


def examples(*lines: str) -> str:
    """A command's help epilog: the example command lines, kept as written."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


_EXTRAS = "ldtransform.reader_options"
_EXTRA_PARAMETERS = ("on_bad_row", "columns", "batch_size", "extra_options")


def collect_reader_options(encoding: str | None, delimiter: str | None, sheet: str | None,
                           header_row: str | None, *, source: str | None = None,
                           format: str | None = None) -> dict[str, Any]:
    """Only the options the user gave, so each reader sees just what applies.

    ``-o key=value`` values are parsed by the type of the option in the reader of
    ``source`` (or ``format``).
    """
    extras = click.get_current_context().meta.get(_EXTRAS, {})
    options: dict[str, Any] = {}
    if extras.get("extra_options"):
        options.update(_parse_extra_options(extras["extra_options"], source, format))
    given = {"on_bad_row": extras.get("on_bad_row"), "batch_size": extras.get("batch_size"),
             "columns": _columns(extras.get("columns"))}
    for name, value in given.items():
        if value is not None:
            _set_once(options, name, value)
    if encoding is not None:
        _set_once(options, "encoding", encoding)
    if delimiter is not None:
        _set_once(options, "delimiter", "\t" if delimiter in ("\\t", "tab") else delimiter)
    if sheet is not None:
        _set_once(options, "sheet", _sheet(sheet))
    header = _header_row(header_row)
    if header != "default":
        _set_once(options, "header_row", header)
    return options


def _set_once(options: dict[str, Any], name: str, value: Any) -> None:
    if name in options:
        raise click.UsageError(f"{flag(name)} and -o {name}=... both given; give it once")
    options[name] = value


def _columns(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [name.strip() for name in text.split(",") if name.strip()]


def _parse_extra_options(pairs: tuple[str, ...], source: str | None,
                         format: str | None) -> dict[str, Any]:
    reader_class = reader_class_for(source, format)
    options: dict[str, Any] = {}
    for pair in pairs:
        name, text = split_option(pair, example="-o header_row=2", hint="-o/--option")
        if name == "format":
            raise click.BadParameter("the reader is chosen with --format NAME",
                                     param_hint="-o/--option")
        try:
            value = parse_option_value(reader_class, name, text)
        except ValueError as exc:
            raise click.BadParameter(f"{pair!r}: {exc}", param_hint="-o/--option") from None
        _set_once(options, name, value)
    return options
