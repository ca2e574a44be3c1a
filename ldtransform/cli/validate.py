"""``ldtransform validate`` and ``ldtransform schema``: commands of the CLI (they print).

Kept apart from :mod:`ldtransform.cli` so each command file stays small; registered there.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ldtransform.cli._common import (
    EXIT_INVALID,
    collect_reader_options,
    engine_options,
    engine_settings,
    errors_reported,
    examples,
    reader_options,
    reporting_options,
    write_report,
)
from ldtransform.cli._words import cli_phrasing

if TYPE_CHECKING:
    from rich.console import Console

    from ldtransform.frames import Frames
    from ldtransform.report import Report

__all__ = ["EXIT_INVALID", "schema", "validate"]



@click.command(short_help="Check files against a schema; quarantine bad rows.", epilog=examples(
    "ldtransform validate samples/accounts.xlsx --schema samples/schemas/Account.json \\",
    "    --mapping samples/mappings/accounts.toml",
    "ldtransform validate samples/messy/accounts_errors.csv \\",
    "    --schema samples/schemas/Account.json \\",
    "    --mapping samples/mappings/accounts-flat.toml --report report.html",
    "ldtransform validate samples/messy/accounts_title_rows.csv --header-row 3 \\",
    "    --schema samples/schemas/Account.json \\",
    "    --mapping samples/mappings/accounts-flat.toml --rejected-dir fix",
))
@click.argument("sources", nargs=-1, required=True, type=click.Path())
@click.option("--schema", "schema_path", required=True, type=click.Path(dir_okay=False),
              help="The itemType schema (JSON or YAML).")
@click.option("--mapping", "mapping_path", type=click.Path(dir_okay=False),
              help="A TOML mapping from source columns to item fields.")
@reader_options
@reporting_options(".", "Folder for <source>.rejected.csv, the rows to fix and feed back.")
@engine_options
@click.option("--show", default=20, show_default=True, help="Issues printed here.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def validate(sources: tuple[str, ...], schema_path: str, mapping_path: str | None,
             format_: str | None, encoding: str | None, delimiter: str | None,
             sheet: str | None, header_row: str | None, report_path: str | None,
             max_issues: int, rejected_dir: str, rejected_format: str, extra_columns: Any,
             engine: str, scheduler: str | None, workers: int | None, show: int,
             as_json: bool) -> None:
    """Check SOURCES against an itemType schema; list every problem with its row.

    Valid rows are counted; rejected rows go to <source>.rejected.csv in the source's own
    columns plus _row and _errors, to fix and validate again. Exit code 0 when every row
    is valid, 5 when rows were rejected or errors found.
    """
    from ldtransform.quarantine import QuarantineFile, rejected_name
    from ldtransform.readers import read_for_validation
    from ldtransform.validation import Validation

    options = collect_reader_options(encoding, delimiter, sheet, header_row,
                                     source=sources[0], format=format_)
    if format_:
        options["format"] = format_
    console = _console(as_json)
    quarantined: list[tuple[Path, int]] = []
    on_cluster = engine_settings(engine, scheduler, workers)
    with errors_reported():
        if on_cluster:
            report, quarantined = _validate_on_cluster(
                sources, schema_path, mapping_path, options, on_cluster,
                extra_columns=extra_columns, max_issues=max_issues,
                rejected_dir=rejected_dir, rejected_format=rejected_format)
        else:
            run = Validation(schema_path, mapping=mapping_path, extra_columns=extra_columns,
                             max_issues=max_issues)
            for source in sources:
                target = Path(rejected_dir) / rejected_name(source, rejected_format)
                frames = read_for_validation(source, **options)
                original = frames.info.get("quarantine_of") or source
                # Written under its final name only once the source is read to its end.
                with QuarantineFile(target, source=original, reading=source) as quarantine:
                    _drain(run.run(frames, on_rejected=quarantine), frames, console)
                if quarantine.rows:
                    quarantined.append((target, quarantine.rows))
            report = run.finish()
        if report_path:
            write_report(report, report_path)
    _finish(report, console, show, quarantined, report_path, as_json)


def _finish(report: Report, console: Console, show: int, quarantined: list[tuple[Path, int]],
            report_path: str | None, as_json: bool) -> None:
    if as_json:
        click.echo(report.to_json())
    else:
        _print_report(report, console, show, quarantined, report_path)
    sys.exit(0 if report.ok else EXIT_INVALID)


def _validate_on_cluster(sources: tuple[str, ...], schema_path: str, mapping_path: str | None,
                         options: dict[str, Any], on_cluster: dict[str, Any], *,
                         extra_columns: Any, max_issues: int, rejected_dir: str,
                         rejected_format: str) -> tuple[Report, list[tuple[Path, int]]]:
    """Validate SOURCES with the Dask engine, rejected rows written per source as here."""
    from ldtransform.partition import Job
    from ldtransform.pipeline import engine_module
    from ldtransform.schema import load_schema
    from ldtransform.validation import as_mapping

    job = Job(load_schema(schema_path), mapping=as_mapping(mapping_path),
              extra_columns=extra_columns, max_issues=max_issues,
              read_options=options, rejected_to=Path(rejected_dir),
              rejected_format=rejected_format)
    report, outcomes = engine_module(on_cluster["engine"]).validate_files(
        list(sources), job, scheduler=on_cluster["scheduler"], workers=on_cluster["workers"])
    return report, [(o.rejected.path, o.rejected.records) for o in outcomes if o.rejected]


def _console(quiet: bool) -> Console:
    from rich.console import Console

    return Console(stderr=quiet, highlight=False)


def _drain(valid: Frames, frames: Frames, console: Console) -> None:
    """Pull every valid batch through; a progress bar (of the source ``frames``) on a
    terminal, nothing when piped."""
    if not console.is_terminal:
        for _ in valid:
            pass
        return
    from rich import progress as bars

    columns = (bars.SpinnerColumn(), bars.TextColumn("{task.description}"), bars.BarColumn(),
               bars.TaskProgressColumn(), bars.TextColumn("{task.fields[rows]:,} rows"),
               bars.TimeElapsedColumn())
    with bars.Progress(*columns, console=console, transient=True) as progress:
        task = None
        for _ in valid:
            fraction = frames.fraction()
            if task is None:  # the reader knows its size only once it has started
                task = progress.add_task(f"validating {frames.source or ''}", rows=0,
                                         total=1.0 if fraction is not None else None)
            progress.update(task, completed=fraction or 0.0, rows=frames.rows_read)


def _print_report(report: Report, console: Console, show: int,
                  quarantined: list[tuple[Path, int]], report_path: str | None) -> None:
    from rich.table import Table
    from rich.text import Text

    verdict = "[green]valid[/green]" if report.ok else "[red]invalid[/red]"
    dropped = "".join(f" + {n:,} dropped by {name}" for name, n in report.dropped_by.items()
                      if n)
    console.print(f"{verdict}: {report.rows_read:,} rows read = {report.rows_valid:,} valid"
                  f" + {report.rows_rejected:,} rejected{dropped}; {report.issue_count:,} issues "
                  f"({report.errors:,} errors, {report.warnings:,} warnings)")
    if report.by_code:
        codes = Table("code", "issues", "fields", title="Issues by code",
                      title_justify="left")
        fields_by_code: dict[str, set[str]] = {}
        for issue in report.issues:
            fields_by_code.setdefault(issue.code, set()).add(issue.field or "(file)")
        for code, count in report.by_code.most_common():
            names = sorted(fields_by_code.get(code, ()))
            shown = ", ".join(names[:4]) + (" …" if len(names) > 4 else "")
            codes.add_row(code, f"{count:,}", Text(shown))
        console.print(codes)
    if report.issues and show > 0:
        listed = Table("row", "field", "value", "code", "message",
                       title=f"First {min(show, len(report.issues))} issues",
                       title_justify="left")
        listed.columns[1].overflow = "fold"
        for issue in report.issues[:show]:
            listed.add_row("" if issue.row is None else str(issue.row),
                           Text(issue.field or ""), Text(_short(issue.value)), issue.code,
                           Text(cli_phrasing(issue.message)))
        console.print(listed)
    for path, rows in quarantined:
        console.print(Text(f"rejected rows: {path} ({rows:,} rows: fix them and validate "
                           "again)"))
    if report_path:
        console.print(Text(f"report: {report_path}"))


def _short(value: object, limit: int = 40) -> str:
    if value is None:
        return ""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@click.group(epilog=examples(
    "ldtransform schema show samples/schemas/Account.json",
    "ldtransform schema infer samples/accounts.csv --item-type Account --out draft.json",
))
def schema() -> None:
    """Draft, check and show itemType schemas."""


@schema.command("show", epilog=examples(
    "ldtransform schema show samples/schemas/Account.json",
    "ldtransform schema show samples/schemas/Attendee.json",
))
@click.argument("path", type=click.Path(dir_okay=False))
def schema_show(path: str) -> None:
    """Print the schema at PATH as a table (and check it)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from ldtransform.schema import FieldSpec, load_schema

    with errors_reported():
        item = load_schema(path)
    console = Console(highlight=False)
    console.print(f"[bold]{item.item_type}[/bold] ({item.category}) — primary key: "
                  f"{', '.join(item.primary_key) or 'none'}; dates in {item.timezone}")
    if item.description:
        console.print(Text(item.description))
    table = Table("field", "type", "required", "constraints", "description")
    for column in table.columns:
        column.overflow = "fold"  # a field name is never cut short

    def add(spec: FieldSpec, prefix: str) -> None:
        kind = spec.type + (f"<{spec.items}>" if spec.items else "")
        if spec.type == "decimal":  # the digits it holds
            kind += f"({spec.precision},{spec.scale})"
        rules = ", ".join(f"{k}={_rule(v)}" for k, v in spec.constraints.items()
                          if k != "required")
        table.add_row(Text(prefix + spec.name), kind, "yes" if spec.required else "",
                      Text(rules), Text(spec.description))
        child_prefix = f"{prefix}{spec.name}{'[]' if spec.type == 'array' else ''}."
        for child in spec.fields:
            add(child, child_prefix)

    for spec in item.fields:
        add(spec, "")
    console.print(table)
    for check in item.checks:
        options = ", ".join(f"{k}={v}" for k, v in check.items() if k != "name")
        console.print(Text(f"check {check['name']}: {options}"))


def _rule(value: object) -> str:
    if isinstance(value, list):
        return " | ".join(str(v) for v in value)
    return str(value)


@schema.command("infer", epilog=examples(
    "ldtransform schema infer samples/accounts.csv --item-type Account",
    "ldtransform schema infer samples/accounts.xlsx --item-type Account --out draft.json",
    "ldtransform schema infer samples/messy/accounts_latin1.csv --item-type Account \\",
    "    --encoding latin-1 --enum-max 5",
))
@click.argument("source", type=click.Path())
@click.option("--item-type", required=True, help="The LD itemType name, e.g. Account.")
@reader_options
@click.option("--enum-max", default=10, show_default=True,
              help="Columns with at most this many distinct values get an enum.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the draft here.")
def schema_infer(source: str, item_type: str, format_: str | None, encoding: str | None,
                 delimiter: str | None, sheet: str | None, header_row: str | None,
                 enum_max: int, out: str | None) -> None:
    """Draft a schema from the data in SOURCE, to edit before use."""
    from ldtransform.readers import read
    from ldtransform.schema_draft import draft_schema

    options = collect_reader_options(encoding, delimiter, sheet, header_row,
                                     source=source, format=format_)
    with errors_reported():
        frames = read(source, format=format_, **options)
        draft = draft_schema(frames, item_type=item_type, enum_max=enum_max)
    text = json.dumps(draft, indent=2, ensure_ascii=False) + "\n"
    if out:
        from ldtransform._atomic import atomic_writer

        with atomic_writer(out) as file:
            file.write(text.encode("utf-8"))
        click.echo(f"wrote {out}: {len(draft['fields'])} fields; edit it, then check it "
                   f"with: ldtransform schema show {out}", err=True)
    else:
        click.echo(text, nl=False)
