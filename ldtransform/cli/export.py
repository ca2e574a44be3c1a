"""``ldtransform export`` and ``ldtransform pull``: LD data back into a file (commands of
the CLI: they print).

Both stream: the export's result files (or the updates API's pages) are read batch by
batch into typed Arrow batches and written to ``--out`` as they come, atomically (the
file appears under its name only once complete).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from ldtransform.cli._common import errors_reported, examples
from ldtransform.cli.ld import server_options, with_client

if TYPE_CHECKING:
    import pyarrow as pa

    from ldtransform.client import LDClient
    from ldtransform.frames import Frames

__all__ = ["OUT_FORMATS", "export", "pull", "write_rows"]

#: What ``--out``'s suffix writes.
OUT_FORMATS = {".parquet": "Parquet", ".csv": "CSV with a header row",
               ".json": "a JSON array of rows", ".jsonl": "JSON Lines"}


def _out_option(command: Any) -> Any:
    return click.option(
        "--out", "out", required=True, type=click.Path(dir_okay=False),
        help="The file to write: " + ", ".join(f"{s} ({what})" for s, what in
                                               OUT_FORMATS.items()) + ".")(command)


@click.command(short_help="Export items from LD into a file (Parquet, CSV, JSON).",
               epilog=examples(
                   "ldtransform export Account --out accounts.parquet",
                   "ldtransform export Account --sql \"SELECT * FROM Account WHERE "
                   "channel = '20'\" --out accounts.parquet",
                   "ldtransform export Account --filter currency=USD --schema "
                   "samples/schemas/Account.json --out usd.csv"))
@click.argument("item_type")
@click.option("--sql", help="A SQL query over the itemType's view (wins over --filter).")
@click.option("--filter", "filters", multiple=True, metavar="FIELD=VALUE",
              help="Only items whose field has this value (repeat: all must match).")
@click.option("--content-type", type=click.Choice(["json", "csv"]), default="json",
              show_default=True, help="What LD writes the results as.")
@click.option("--template", type=click.Path(exists=True, dir_okay=False),
              help="An export template (CSV results through it).")
@click.option("--schema", type=click.Path(exists=True, dir_okay=False),
              help="The itemType schema: typed columns (dates, decimals, categories).")
@click.option("--keep", type=click.Path(file_okay=False),
              help="Keep the downloaded result files in this folder.")
@_out_option
@server_options
@with_client
def export(client: LDClient, item_type: str, sql: str | None, filters: tuple[str, ...],
           content_type: str, template: str | None, schema: str | None, keep: str | None,
           out: str) -> None:
    """Export ITEM_TYPE (all items, the --filter matches, or a --sql query's rows), wait
    for the job, download every result file and write the rows to --out."""
    from ldtransform.exports import read_export

    _check_out(out)
    wire = "application/json" if content_type == "json" else "text/plain"
    job = client.export(item_type, job_name=f"{item_type} export", content_type=wire,
                        template=template, sql=sql, filters=_filters(filters) or None)
    click.echo(f"export job {job.job_id}: {job.status}", err=True)
    with _Bars() as bars, tempfile.TemporaryDirectory(prefix="ld-export-") as scratch:
        job = client.wait(job, on_progress=bars.job)
        files = client.download(job, keep or scratch, progress=bars.downloaded)
        frames = read_export(files, schema, template=template)
        rows = write_rows(frames, Path(out))
    click.echo(f"{rows:,} rows from {len(files)} result file(s) written to {out}")


@click.command(short_help="Pull the items of a type changed in LD since the last pull.",
               epilog=examples("ldtransform pull Account --out changes.parquet",
                               "ldtransform pull Account --since-last --out changes.jsonl"))
@click.argument("item_type")
@click.option("--since-last", is_flag=True,
              help="Only what changed since the previous pull of this type from this server.")
@click.option("--schema", type=click.Path(exists=True, dir_okay=False),
              help="The itemType schema: typed columns.")
@click.option("--page-size", type=click.IntRange(1), default=1000, show_default=True,
              help="Items per request.")
@_out_option
@server_options
@with_client
def pull(client: LDClient, item_type: str, since_last: bool, schema: str | None,
         page_size: int, out: str) -> None:
    """Write the items of ITEM_TYPE changed since the beginning (or --since-last: since the
    previous pull) to --out, with their id, revision and action; remember where it ended.

    The cursor is saved only once --out is complete, so a pull that fails is repeated
    whole by the next one.
    """
    from ldtransform.client.cursors import Cursors
    from ldtransform.exports import read_export

    _check_out(out)
    cursors = Cursors.default()
    key = f"{client.credentials.target}/{item_type}"
    start = cursors.get(key) if since_last else None
    with tempfile.TemporaryDirectory(prefix="ld-pull-") as scratch:
        envelopes = Path(scratch) / f"{item_type}.json"
        count, end = _save_pages(client, item_type, start, page_size, envelopes)
        if count:
            rows = write_rows(read_export(envelopes, schema, headers=True), Path(out))
        else:
            rows = write_rows(None, Path(out))
    cursors.put(key, end)
    since = "since the last pull" if start else "in all"
    click.echo(f"{rows:,} changed {item_type} items {since} written to {out}")


class _Bars:
    """On a terminal: the job's records written, then the bytes downloaded."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> _Bars:
        if self.console.is_terminal:
            from rich import progress as bars

            self.bar = bars.Progress(bars.TextColumn("{task.description}"), bars.BarColumn(),
                                     bars.TextColumn("{task.completed:,.0f}"),
                                     bars.TimeElapsedColumn(), console=self.console,
                                     transient=True)
            self.bar.__enter__()
        return self

    def _show(self, what: str, done: int, total: int | None) -> None:
        if self.bar is None:
            return
        if what not in self.tasks:
            self.tasks[what] = self.bar.add_task(what, total=total)
        self.bar.update(self.tasks[what], completed=done, total=total)

    def job(self, job: Any) -> None:
        self._show(f"{job.status}: records", job.records_processed, None)

    def downloaded(self, done: int, total: int | None) -> None:
        self._show("downloading: bytes", done, total)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _save_pages(client: LDClient, item_type: str, start: Any, page_size: int,
                path: Path) -> tuple[int, Any]:
    """Every page as one JSON array of envelopes (one per line, as exports are written)."""
    from ldtransform.client._items import Cursor

    cursor = start or Cursor()
    count = 0
    with open(path, "wb") as handle:
        handle.write(b"[\n")
        for page in client.updates(item_type, processed_after=cursor.processed_after,
                                   last_id=cursor.last_id, max=page_size):
            for item in page.items:
                handle.write((b",\n" if count else b"") + json.dumps(item).encode())
                count += 1
            cursor = page.cursor
        handle.write(b"\n]\n")
    return count, cursor


def _check_out(out: str) -> None:
    if Path(out).suffix.lower() not in OUT_FORMATS:
        raise click.BadParameter(f"{out}: write .parquet, .csv, .json or .jsonl",
                                 param_hint="--out")


def _filters(pairs: tuple[str, ...]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r} is not FIELD=VALUE", param_hint="--filter")
        found.setdefault(name, []).append(value)
    return {k: v[0] if len(v) == 1 else v for k, v in found.items()}


def write_rows(frames: Frames | None, out: Path) -> int:
    """Write every batch of ``frames`` (None: no rows) to ``out`` in the format its suffix
    names, atomically; return the rows written."""
    from ldtransform._atomic import atomic_writer

    suffix = out.suffix.lower()
    with errors_reported(), atomic_writer(out) as handle:
        batches = iter(frames) if frames is not None else iter(())
        schema = frames.schema if frames is not None else None
        if suffix == ".parquet":
            return _parquet(batches, schema, handle)
        if suffix == ".csv":
            return _csv(batches, schema, handle)
        return _json(batches, handle, lines=suffix == ".jsonl")


def _parquet(batches: Iterator[pa.RecordBatch], schema: pa.Schema | None,
             handle: IO[bytes]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = 0
    with pq.ParquetWriter(handle, schema or pa.schema([])) as writer:
        for batch in batches:
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def _csv(batches: Iterator[pa.RecordBatch], schema: pa.Schema | None,
         handle: IO[bytes]) -> int:
    import pyarrow.csv as pacsv

    rows = 0
    writer = None
    for batch in batches:
        flat = _nested_as_json(batch)
        if writer is None:
            writer = pacsv.CSVWriter(handle, flat.schema)
        writer.write_batch(flat)
        rows += batch.num_rows
    if writer is None and schema is not None:
        writer = pacsv.CSVWriter(handle, _nested_as_json(schema.empty_table()).schema)
    if writer is not None:
        writer.close()
    return rows


def _nested_as_json(batch: Any) -> Any:
    """Lists and records as JSON text (CSV has no nesting); dictionaries as their values."""
    import pyarrow as pa

    columns = []
    for column in batch.columns:
        kind = column.type
        if pa.types.is_dictionary(kind):
            column = column.cast(kind.value_type)
        elif pa.types.is_nested(kind):
            column = pa.array([None if v is None else json.dumps(v, default=str)
                               for v in column.to_pylist()], pa.string())
        columns.append(column)
    return type(batch).from_arrays(columns, names=batch.schema.names)


def _json(batches: Iterator[pa.RecordBatch], handle: IO[bytes], *, lines: bool) -> int:
    import orjson

    rows = 0
    if not lines:
        handle.write(b"[")
    for batch in batches:
        for row in batch.to_pylist():
            text = orjson.dumps(row, default=str)
            handle.write(text + b"\n" if lines else (b",\n" if rows else b"\n") + text)
            rows += 1
    if not lines:
        handle.write(b"\n]\n" if rows else b"]\n")
    return rows
