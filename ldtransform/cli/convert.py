"""``ldtransform convert`` and ``ldtransform run``: commands of the CLI (they print)."""

from __future__ import annotations

import glob
import json
import os
import re
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ldtransform.cli._common import (
    EXIT_INVALID,
    EXIT_JOBS,
    collect_reader_options,
    engine_options,
    engine_settings,
    errors_reported,
    examples,
    reader_options,
    reporting_options,
    write_report,
)
from ldtransform.cli._writers import BUILT_IN_FORMATS, parse_writer_options, writer_name

if TYPE_CHECKING:
    from rich.console import Console

    from ldtransform.pipeline import ConvertResult, Progress

__all__ = ["convert", "run"]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6,
          "mib": 2**20, "g": 10**9, "gb": 10**9, "gib": 2**30, "t": 10**12, "tb": 10**12,
          "tib": 2**40}


def parse_size(text: str | int | None) -> int | None:
    """``"50MB"`` → 50,000,000; ``"1GiB"`` → 1,073,741,824; plain numbers are bytes."""
    if text is None or isinstance(text, int):
        return text
    match = _SIZE.match(text)
    unit = (match.group(2) or "").lower() if match else None
    if not match or unit not in _UNITS:
        raise click.BadParameter(f"{text!r} is not a size such as 50MB, 1GiB or 1000000")
    return int(float(match.group(1)) * _UNITS[unit])


def expand_sources(patterns: tuple[str, ...] | list[str], base: Path | None = None) -> list[str]:
    """Paths as given, and globs (``data/*.csv``) expanded in sorted order."""
    found: list[str] = []
    for pattern in patterns:
        path = str(base / pattern) if base and not Path(pattern).is_absolute() else pattern
        if glob.has_magic(path) and not Path(path).exists():
            matches = sorted(glob.glob(path))
            if not matches:
                raise click.BadParameter(f"no file matches {pattern!r}")
            found.extend(matches)
        else:
            found.append(path)
    return found


@click.command(short_help="Read, map, validate and write import-ready files.", epilog=examples(
    "ldtransform convert samples/accounts.xlsx --schema samples/schemas/Account.json \\",
    "    --mapping samples/mappings/accounts.toml --out out/items --max-records 10",
    "ldtransform convert samples/accounts.xlsx --schema samples/schemas/Account.json \\",
    "    --mapping samples/mappings/accounts.toml --to csv \\",
    "    --template samples/templates/account.csv.j2 --out out/csv",
    "ldtransform convert samples/messy/accounts_errors.csv --out out/errors \\",
    "    --schema samples/schemas/Account.json \\",
    "    --mapping samples/mappings/accounts-flat.toml --report report.html",
))
@click.argument("sources", nargs=-1, required=True)
@click.option("--schema", "schema_path", required=True, type=click.Path(dir_okay=False),
              help="The itemType schema (JSON or YAML).")
@click.option("--mapping", "mapping_path", type=click.Path(dir_okay=False),
              help="A TOML mapping from source columns to item fields.")
@click.option("--to", "to", callback=writer_name, default="items-json", show_default=True,
              metavar="FORMAT",
              help=f"Output format: {', '.join(BUILT_IN_FORMATS)}, or an installed writer "
                   "plugin's name (see `ldtransform plugins`).")
@click.option("-w", "--writer-option", "writer_pairs", multiple=True, metavar="KEY=VALUE",
              help="An option of the writer, a plugin's own too (repeatable).")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Output folder: data parts, manifest.json, rejected rows.")
@click.option("--template", type=click.Path(dir_okay=False),
              help="Jinja2 template shaping each CSV line (with --to csv).")
@click.option("--csv-delimiter", help="Delimiter of CSV output (default ',').")
@click.option("--spreadsheet-safe", is_flag=True,
              help="CSV for people: prefix cells Excel would run as formulas.")
@click.option("--action", type=click.Choice(["Create", "Merge", "Update", "Delete"]),
              help="Item action written in each envelope (default Create).")
@click.option("--action-column", help="Column holding each item's action instead.")
@click.option("--empty", type=click.Choice(["omit", "clear"]),
              help="What an empty source value becomes in an item: omit leaves the field "
                   "out (default for Merge/Update), clear writes it empty (default for "
                   "Create).")
@click.option("--max-records", type=int, help="Split: at most N records per file.")
@click.option("--max-bytes", help="Split: at most this size per file (e.g. 50MB, 1GiB).")
@click.option("--on-error", type=click.Choice(["quarantine", "fail"]), default="quarantine",
              show_default=True,
              help="quarantine: write valid rows, rejected ones to <source>.rejected.csv; "
                   "fail: all or nothing, stop at the first rejected row.")
@click.option("--dry-run", is_flag=True, help="Report what would be written; write nothing.")
@click.option("--overwrite", is_flag=True, help="Replace an earlier conversion in --out.")
@reader_options
@reporting_options(None, "Folder for <source>.rejected.csv (default: the --out folder).")
@engine_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def convert(sources: tuple[str, ...], schema_path: str, mapping_path: str | None, to: str,
            writer_pairs: tuple[str, ...], out: str, template: str | None,
            csv_delimiter: str | None, spreadsheet_safe: bool, action: str | None,
            action_column: str | None, empty: str | None,
            max_records: int | None, max_bytes: str | None, on_error: str, dry_run: bool,
            overwrite: bool,
            format_: str | None, encoding: str | None, delimiter: str | None,
            sheet: str | None, header_row: str | None, report_path: str | None,
            max_issues: int, rejected_dir: str | None, rejected_format: str,
            extra_columns: str, engine: str, scheduler: str | None, workers: int | None,
            as_json: bool) -> None:
    """Turn SOURCES (files or globs) into import-ready files in --out.

    Reads, maps, validates and writes; rejected rows go to <source>.rejected.csv in --out.
    Exit code 0 when every row was written, 5 when rows were rejected.
    """
    from ldtransform.writers import WriterOptions

    options = collect_reader_options(encoding, delimiter, sheet, header_row,
                                     source=sources[0], format=format_)
    if format_:
        options["format"] = format_
    with errors_reported():
        others = parse_writer_options(to, writer_pairs)
    writer = WriterOptions(template=template, delimiter=csv_delimiter,
                           spreadsheet_safe=spreadsheet_safe, action=action,
                           action_column=action_column, empty=empty, other=others)
    settings = {"schema": schema_path, "mapping": mapping_path, "to": to, "out": out,
                "writer_options": writer, "max_records": max_records,
                "max_bytes": parse_size(max_bytes),
                "dry_run": dry_run, "overwrite": overwrite, "on_error": on_error,
                "max_issues": max_issues, "extra_columns": extra_columns,
                "rejected_dir": rejected_dir, "rejected_format": rejected_format,
                **engine_settings(engine, scheduler, workers)}
    # The Dask engine expands globs and URLs itself (s3://bucket/*.parquet).
    listed = list(sources) if engine == "dask" else expand_sources(sources)
    result, summary = _convert_and_report(listed, settings, options, as_json, report_path)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    sys.exit(0 if result.report.ok else EXIT_INVALID)


@click.command(short_help="Run the job a pipeline file describes.", epilog=examples(
    "ldtransform run samples/pipeline.toml",
    "ldtransform run samples/pipeline.toml --dry-run --json",
))
@click.argument("pipeline", type=click.Path(dir_okay=False, exists=True))
@click.option("--dry-run", is_flag=True, help="Report what would be written; write and "
              "upload nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def run(pipeline: str, dry_run: bool, as_json: bool) -> None:
    """Run the job a pipeline file describes (source, schema, mapping, output, and with an
    [upload] section, the upload to LD and the wait for every job).

    Paths in the file are relative to the file's own folder. Credentials come from LD_*
    environment variables or the credentials profile the [upload] section names.
    """
    with errors_reported():
        sources, settings, options, upload = load_pipeline(Path(pipeline))
    settings["dry_run"] = dry_run or settings.get("dry_run", False)
    result, summary = _convert_and_report(sources, settings, options, as_json)
    code = 0 if result.report.ok else EXIT_INVALID
    if upload is not None and not settings["dry_run"]:
        from ldtransform.cli.ld import upload_converted

        outcomes, uploaded = upload_converted(str(result.out), upload, quiet=as_json)
        summary["upload"] = outcomes
        code = code if uploaded else EXIT_JOBS
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    sys.exit(code)


#: What an [upload] section may say (secrets never: they come from LD_* or a profile).
UPLOAD_KEYS = {"url", "profile", "community", "user", "insecure", "merge", "wait",
               "template", "key", "timeout", "unknown_grace", "resend_unknown", "journal"}
_SECRETS = {"password", "client_secret", "token", "client_id"}


def load_pipeline(path: Path) -> tuple[list[str], dict[str, Any], dict[str, Any],
                                       dict[str, Any] | None]:
    """Sources, convert settings, reader options and the [upload] section (None when
    there is none) from a pipeline TOML file."""
    from ldtransform.errors import ConfigError
    from ldtransform.writers import WriterOptions

    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    base = path.parent
    known = {"schema", "mapping", "source", "output", "upload", "transforms"}
    unknown = sorted(set(document) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)}; a pipeline has "
                          f"{', '.join(sorted(known))}")
    source = document.get("source", {})
    output = document.get("output", {})
    if "schema" not in document or "paths" not in source or "folder" not in output:
        raise ConfigError(f"{path}: a pipeline needs schema, [source] paths and [output] "
                          "folder")
    allowed = {"format", "folder", "template", "action", "action_column", "max_records",
               "max_bytes", "overwrite", "csv_delimiter", "spreadsheet_safe", "on_error",
               "empty", "options"}
    extra = sorted(set(output) - allowed)
    if extra:
        raise ConfigError(f"{path}: unknown [output] key(s) {', '.join(extra)}; use "
                          f"{', '.join(sorted(allowed))}")

    def local(value: str | None) -> str | None:
        return None if value is None else str(base / value)

    writer = WriterOptions(template=local(output.get("template")),
                           delimiter=output.get("csv_delimiter"),
                           spreadsheet_safe=bool(output.get("spreadsheet_safe", False)),
                           action=output.get("action"),
                           action_column=output.get("action_column"),
                           empty=output.get("empty"),
                           other=output.get("options", {}))  # a writer plugin's own
    settings = {"schema": local(document["schema"]), "mapping": local(document.get("mapping")),
                "to": output.get("format", "items-json"), "out": local(output["folder"]),
                "writer_options": writer, "max_records": output.get("max_records"),
                "max_bytes": parse_size(output.get("max_bytes")),
                "overwrite": bool(output.get("overwrite", False)),
                "on_error": output.get("on_error", "quarantine"),
                "transforms": document.get("transforms", [])}
    paths = source["paths"] if isinstance(source["paths"], list) else [source["paths"]]
    return (expand_sources(paths, base), settings, dict(source.get("options", {})),
            _upload_section(path, document.get("upload"), local))


def _upload_section(path: Path, section: Any,
                    local: Callable[[str | None], str | None]) -> dict[str, Any] | None:
    from ldtransform.errors import ConfigError

    if section is None:
        return None
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [upload] must be a table")
    secrets = sorted(set(section) & _SECRETS)
    if secrets:
        raise ConfigError(f"{path}: [upload] {', '.join(secrets)}: secrets never go in a "
                          "pipeline file; set LD_PASSWORD (and LD_CLIENT_ID, "
                          "LD_CLIENT_SECRET) or name a credentials profile")
    extra = sorted(set(section) - UPLOAD_KEYS)
    if extra:
        raise ConfigError(f"{path}: unknown [upload] key(s) {', '.join(extra)}; use "
                          f"{', '.join(sorted(UPLOAD_KEYS))}")
    upload = dict(section)
    for name in ("template", "journal"):
        if name in upload:
            upload[name] = local(upload[name])
    return upload


def _convert_and_report(sources: list[str], settings: dict[str, Any],
                        options: dict[str, Any], as_json: bool,
                        report_path: str | None = None) -> tuple[ConvertResult,
                                                                 dict[str, Any]]:
    """Convert with a progress bar; print the summary (or, with ``as_json``, return it
    for the caller to print)."""
    from ldtransform.pipeline import convert as run_convert

    console = _console(as_json)
    started = time.monotonic()
    with errors_reported(), _ProgressBar(console) as progress:
        result = run_convert(sources, progress=progress, **settings, **options)
        if report_path:
            write_report(result.report, report_path)
    seconds = time.monotonic() - started
    summary = {**result.summary(), "seconds": round(seconds, 3),
               "parts": [p.to_dict() for p in result.parts],
               "validation": result.report.summary(), "empty": result.empty,
               "left_out": result.left_out}
    if not as_json:
        _print_summary(console, result, seconds, report_path)
    return result, summary


def _console(quiet: bool) -> Console:
    from rich.console import Console

    return Console(stderr=quiet, highlight=False)


class _ProgressBar:
    """A progress bar on a terminal (percent where the row count is known, rows/s);
    nothing when output is piped."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> Progress | None:
        if not self.console.is_terminal:
            return None
        from rich import progress as bars

        self.bar = bars.Progress(bars.SpinnerColumn(), bars.TextColumn("{task.description}"),
                                 bars.BarColumn(), bars.TaskProgressColumn(),
                                 bars.TextColumn("{task.fields[rows]:,} rows"),
                                 bars.TextColumn("{task.fields[rate]}"),
                                 bars.TimeElapsedColumn(),
                            console=self.console, transient=True)
        self.bar.__enter__()
        return self.update

    def update(self, rows: int, source: str, fraction: float | None) -> None:
        if source not in self.tasks:
            total = 1.0 if fraction is not None else None  # a pulsing bar when unknown
            self.tasks[source] = (self.bar.add_task(Path(source).name, total=total, rate="",
                                                    rows=0), time.monotonic())
        task, started = self.tasks[source]
        rate = rows / max(time.monotonic() - started, 1e-6)
        self.bar.update(task, completed=fraction or 0.0, rows=rows,
                        rate=f"{rate:,.0f} rows/s")

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _print_summary(console: Console, result: ConvertResult, seconds: float,
                   report_path: str | None = None) -> None:
    from rich.table import Table
    from rich.text import Text

    report = result.report
    verb = "would write" if result.dry_run else "wrote"
    console.print(Text(f"{report.rows_read:,} rows in = {result.records_written:,} written "
                       f"+ {report.rows_rejected:,} rejected{_dropped(report)}; {verb} "
                       f"{len(result.parts)} file(s), {result.bytes_written:,} bytes in "
                       f"{seconds:.1f} s"))
    table = Table("file", "records", "bytes", "sha256" if not result.dry_run else "",
                  title=Text(f"in {os.path.normpath(result.out)}"), title_justify="left")
    for part in result.parts:
        table.add_row(Text(part.path.name), f"{part.records:,}", f"{part.bytes:,}",
                      part.sha256[:16] if part.sha256 else "")
    console.print(table)
    if report.issue_count:
        codes = ", ".join(f"{code} {n:,}" for code, n in report.by_code.most_common())
        more = "" if report_path else " (--report R.html lists every row)"
        console.print(Text(f"issues: {codes}{more}"))
    if report_path:
        console.print(Text(f"report: {report_path}"))
    for rejected in result.rejected:
        console.print(Text(f"rejected rows: {rejected.path} ({rejected.records:,} rows: fix "
                           "them and convert again)"))
    if result.empty is not None:
        console.print(Text(_empty_text(result)))
    if result.manifest:
        console.print(Text(f"manifest: {os.path.normpath(result.manifest)}"))
    _print_replaced(console, result)


def _dropped(report: Any) -> str:
    """`` + 3 dropped (dedupe 3)`` when transforms dropped rows."""
    if not report.rows_dropped:
        return ""
    by = ", ".join(f"{name} {n:,}" for name, n in report.dropped_by.items() if n)
    return f" + {report.rows_dropped:,} dropped ({by})"


def _print_replaced(console: Console, result: ConvertResult) -> None:
    """Which files of an earlier conversion in --out go (or, in a dry run, would go)."""
    if not result.replaces:
        return
    from rich.text import Text

    names = ", ".join(path.name for path in result.replaces)
    folder = os.path.normpath(result.out)
    if result.needs_overwrite:
        console.print(Text(f"{folder} holds an earlier conversion ({len(result.replaces)} "
                           f"file(s): {names}); a real run stops there: add --overwrite to "
                           "replace it, or choose another --out"))
    else:
        verb = "would replace" if result.dry_run else "replaced"
        console.print(Text(f"{verb} the earlier conversion in {folder}: "
                           f"{len(result.replaces)} file(s): {names}"))


def _empty_text(result: ConvertResult) -> str:
    """How empty values and fields without a column are written (``empty``)."""
    meaning = ("left out of the item (stored values stay)" if result.empty == "omit"
               else "written empty (\"\" or null, which clears stored values)")
    text = f"empty = {result.empty}: an empty source value is {meaning}"
    if result.left_out:
        text += f"; fields with no column, left out: {', '.join(result.left_out)}"
    return text
