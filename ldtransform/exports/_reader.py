"""read_export: result files of an LD export, streamed into typed Frames."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from ldtransform._batching import mapped_ahead, prefetched
from ldtransform.errors import ConfigError, ReadError
from ldtransform.exports import _csv, _json
from ldtransform.exports._columns import ITEM_ID, Children, Enums, Typing, wire_type
from ldtransform.exports._frames import ChildRows, ExportFrames
from ldtransform.readers._jsonblocks import as_text
from ldtransform.schema import ItemSchema, load_schema

__all__ = ["read_export"]

HEADER_NAMES = ("category", "type", "id", "revisionId", "action")
HEADER_PREFIX = "_headers."
_JSON_SUFFIXES = (".json",)
_CSV_SUFFIXES = (".csv", ".txt")

Paths = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


def read_export(paths_or_job: Any, schema: ItemSchema | str | os.PathLike[str] | None = None,
                *, header: bool | None = None, template: str | os.PathLike[str] | None = None,
                children: Children = "list", enums: Enums = "category",
                headers: bool = False, client: Any = None,
                dest: str | os.PathLike[str] | None = None,
                batch_size: int = 65_536) -> ExportFrames:
    """Stream the result files of an export into Frames, typed by ``schema``.

    ``paths_or_job`` is a result file, a list of them (read one after the other), a folder
    (its ``.json``/``.csv`` files in name order), or a completed export job, whose files
    ``client.download(job, dest)`` fetches (``dest`` defaults to a temporary folder, gone
    once the Frames are read).

    JSON files hold arrays of item envelopes; their ``data`` fields become the columns
    (``headers=True`` adds ``_headers.category``, ``.type``, ``.id``, ``.revisionId``,
    ``.action``: ``Delete`` on a deleted item the updates API lists).
    CSV files may start with a header row (``header=None`` finds out); without one the
    names come from ``template`` (the export's template, text or file) or the schema.

    With ``schema`` (an :class:`ItemSchema` or its path) every field is converted as
    validation converts it: dates and date-times as such, integers, exact decimals,
    booleans, ``""`` as a missing value; enumerations (and text fields with an ``enum``
    list) become dictionary columns, categories in pandas, unless ``enums="values"``.
    An export of all fields has the schema's columns in its order; an export of a
    ``sqlQuery`` has the query's columns. Without a schema the types are the JSON's (the
    first block of items decides) or text (CSV).

    ``children="list"`` keeps child records as list columns; ``"explode"`` moves each
    list column out into ``frames.children[name]``: one row per element with the item's
    primary key (or ``_headers.id``) and ``_position`` in the list, filled as the items
    are read.
    """
    item_schema = load_schema(schema) if isinstance(schema, str | os.PathLike) else schema
    if batch_size < 1:
        raise ConfigError(f"batch_size must be a positive number of rows, got {batch_size}")
    owned: tempfile.TemporaryDirectory[str] | None = None
    if _is_job(paths_or_job):
        if client is None:
            raise ConfigError("reading an export job needs the client to download its "
                              "files: read_export(job, client=client)")
        if dest is None:
            owned = tempfile.TemporaryDirectory(prefix="ld-export-")
            dest = owned.name
        files = [Path(p) for p in client.download(paths_or_job, dest)]
        if not files:
            raise ConfigError(f"the export job {paths_or_job.job_id} has no result files "
                              "(has it completed?)")
    else:
        files = _files(paths_or_job)
    try:
        if all(f.name.lower().endswith(_JSON_SUFFIXES) for f in files):
            frames = _json_frames(files, schema=item_schema, headers=headers,
                                  children=children, enums=enums, batch_size=batch_size,
                                  cleanup=owned)
        elif all(f.name.lower().endswith(_CSV_SUFFIXES) for f in files):
            frames = _csv_frames(files, schema=item_schema, header=header,
                                 template=_csv.template_text(template), children=children,
                                 enums=enums, batch_size=batch_size, cleanup=owned)
        else:
            raise ConfigError("export files are all .json or all .csv/.txt, not "
                              + ", ".join(sorted({f.suffix or f.name for f in files})))
    except BaseException:
        if owned is not None:
            owned.cleanup()
        raise
    return frames


def _is_job(value: Any) -> bool:
    return hasattr(value, "links") and hasattr(value, "job_id")


def _files(paths: Paths) -> list[Path]:
    if isinstance(paths, str | os.PathLike):
        path = Path(paths)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file()
                           and p.name.lower().endswith(_JSON_SUFFIXES + _CSV_SUFFIXES))
            if not found:
                raise ReadError("the folder holds no .json or .csv export files",
                                source=str(path))
            return found
        return [path]
    files = [Path(p) for p in paths]
    if not files:
        raise ConfigError("no export files given")
    return files


def _finish(generator: Iterator[tuple[int, pa.RecordBatch]], children: dict[str, ChildRows],
            cleanup: tempfile.TemporaryDirectory[str] | None
            ) -> Iterator[tuple[int, pa.RecordBatch]]:
    """The batches, then the child rows marked complete and downloaded files removed."""
    try:
        yield from generator
        for rows in children.values():
            rows.complete = True
    finally:
        if cleanup is not None:
            cleanup.cleanup()


def _frames(typing: Typing, batches: Iterator[tuple[int, pa.RecordBatch]],
            files: list[Path], info: dict[str, Any], batch_size: int,
            cleanup: tempfile.TemporaryDirectory[str] | None,
            children: dict[str, ChildRows]) -> ExportFrames:
    source = str(files[0]) if len(files) == 1 else f"{files[0]} (+{len(files) - 1} more)"
    return ExportFrames(typing.arrow_schema(), _finish(batches, children, cleanup),
                        children=children, batch_size=batch_size, source=source,
                        info={**info, "files": [str(f) for f in files]})


# -- JSON ----------------------------------------------------------------------------------

def _json_frames(files: list[Path], *, schema: ItemSchema | None, headers: bool,
                 children: Children, enums: Enums, batch_size: int,
                 cleanup: tempfile.TemporaryDirectory[str] | None) -> ExportFrames:
    data_types = [] if schema is None else [pa.field(f.name, wire_type(f))
                                            for f in schema.fields]
    header_type = pa.struct([pa.field(h, pa.string()) for h in HEADER_NAMES])
    blocks = _numbered_blocks(files)
    first = next(blocks, None)
    rest: Iterator[tuple[int, Path, pa.Table]]
    if first is None:
        typing = Typing(schema, schema.field_names if schema else [], {},
                        _header_columns(headers), children, enums, str(files[0]))
        table, rest = None, iter(())
    else:
        number, path, block = first
        item = _json.first_item(block)
        if not isinstance(item.get("data"), dict):
            raise ReadError('the items are not item envelopes {"headers": {...}, "data": '
                            '{...}}', source=str(path), hint="read other JSON with "
                            "ldtransform.read")
        wire = _wire(data_types, header_type, from_query=_from_query(item), first=item)
        table = _json.parse_block(block, wire, str(path), number)
        inferred = table.schema.field("data").type
        # Fields the schema lacks keep the type the first block gives them, except that
        # text stays text: Arrow would take date-like text for timestamps.
        extra = [pa.field(f.name, _plain(f.type)) for f in inferred
                 if f.name not in wire.field("data").type.names]
        if extra:
            wire = _wire(data_types + extra, header_type, from_query=_from_query(item),
                         first=item)
            table = _json.parse_block(block, wire, str(path), number)
        raw = {f.name: f.type for f in wire.field("data").type}
        names = _json_names(item, schema, [f.name for f in inferred])
        typing = Typing(schema, names, raw, _header_columns(headers), children, enums,
                        str(path))
        # Blocks are cut on a thread of their own, and Arrow parses the next two on
        # threads (without the GIL) while this one is typed.
        rest = mapped_ahead(lambda numbered: _parsed_block(numbered, wire),
                            prefetched(blocks, depth=2))
    rows = {name: ChildRows(name, typing.child_schema(name)) for name in typing.list_names}
    parsed = rest if table is None else _chain((number, path, table), rest)
    batches = (_json_batch(typing, t, n, rows) for n, _, t in parsed)
    return _frames(typing, batches, files, {"format": "json"}, batch_size, cleanup, rows)


def _wire(data: list[pa.Field], headers: pa.DataType, *, from_query: bool,
          first: dict[str, Any]) -> pa.Schema:
    """What the items are parsed as; a ``sqlQuery``'s booleans come as SQLite's 1/0
    (validation's conversion takes those too), unless the first item holds true/false
    (item files no server stored, e.g. a conversion's, carry no revisionId either)."""
    if from_query:
        values = first.get("data") or {}
        data = [pa.field(f.name, pa.int64())
                if f.type == pa.bool_() and not isinstance(values.get(f.name), bool) else f
                for f in data]
    return pa.schema([("headers", headers), ("data", pa.struct(data))])


def _parsed_block(numbered: tuple[int, Path, _json.Block], wire: pa.Schema
                  ) -> tuple[int, Path, pa.Table]:
    number, path, block = numbered
    return number, path, _json.parse_block(block, wire, str(path), number)


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


def _numbered_blocks(files: list[Path]) -> Iterator[tuple[int, Path, _json.Block]]:
    """(number of the first item, file, block) across the files, items numbered from 1."""
    number = 1
    for path in files:
        for block in _json.ndjson_blocks(path):
            yield number, path, block
            number += block[0]


def _plain(kind: pa.DataType) -> pa.DataType:
    """``kind`` with timestamps (and nulls) as text, also inside lists and records."""
    return as_text(kind, lambda t: pa.types.is_timestamp(t) or pa.types.is_null(t))


def _header_columns(headers: bool) -> list[str]:
    return [HEADER_PREFIX + h for h in HEADER_NAMES] if headers else []


def _from_query(first: dict[str, Any]) -> bool:
    """Whether an export is a ``sqlQuery``'s: its items' headers carry no revisionId."""
    headers = first.get("headers")
    return isinstance(headers, dict) and "revisionId" not in headers


def _json_names(first: dict[str, Any], schema: ItemSchema | None,
                parsed: list[str]) -> list[str]:
    """The data columns: the schema's fields (then any others) for an export of items,
    the query's columns for a ``sqlQuery`` export (its headers carry no revisionId)."""
    if schema is None:
        return parsed
    data = first.get("data")
    if _from_query(first) and isinstance(data, dict):
        ordered = list(data)
        return ordered + [n for n in parsed if n not in ordered and n not in schema.field_names]
    return schema.field_names + [n for n in parsed if n not in schema.field_names]


def _json_batch(typing: Typing, table: pa.Table, number: int,
                children: dict[str, ChildRows]) -> tuple[int, pa.RecordBatch]:
    table = table.combine_chunks()
    data = table.column("data").chunk(0) if table.num_rows else None
    header_struct = table.column("headers").chunk(0) if table.num_rows else None
    columns: dict[str, pa.Array] = {}
    if data is not None:
        columns = {f.name: data.field(i) for i, f in enumerate(data.type)}
    head: dict[str, pa.Array] = {}
    for name in HEADER_NAMES:
        head[HEADER_PREFIX + name] = (header_struct.field(name) if header_struct is not None
                                      else pa.array([], pa.string()))
    typed = typing.typed(columns, table.num_rows, number)
    for name, rows in children.items():
        rows.add(typing.explode(name, typed, head[ITEM_ID]))
    return number, typing.batch(head, typed)


# -- CSV -----------------------------------------------------------------------------------

def _csv_frames(files: list[Path], *, schema: ItemSchema | None, header: bool | None,
                template: str | None, children: Children, enums: Enums, batch_size: int,
                cleanup: tempfile.TemporaryDirectory[str] | None) -> ExportFrames:
    from ldtransform.readers.csv import CsvReader

    expected = _csv.expected_names(template, schema)
    with_header = [_csv.has_header(f, header, expected) for f in files]
    names = _csv.first_row(files[0]) if with_header[0] else expected
    if names is None:
        raise ConfigError("a CSV export without a header row needs its column names: pass "
                          "the export's template or the itemType schema")
    typing = Typing(schema, list(names), dict.fromkeys(names, pa.string()), [], children,
                    enums, str(files[0]))
    rows = {name: ChildRows(name, typing.child_schema(name)) for name in typing.list_names}

    def batches() -> Iterator[tuple[int, pa.RecordBatch]]:
        number = 1
        for path, has in zip(files, with_header, strict=True):
            reader = CsvReader(delimiter=",", encoding="utf-8", header_row=1 if has else None)
            frames = reader.read(path, batch_size=batch_size)
            found = frames.schema.names if has else None
            if found is not None and found != names:
                raise ReadError(f"the columns {found} differ from those of the first file "
                                f"{names}", source=str(path))
            if not has and len(frames.schema.names) != len(names):
                raise ReadError(f"the rows have {len(frames.schema.names)} columns, but the "
                                f"names given are {len(names)}: {names}", source=str(path))
            for batch in frames:
                columns = dict(zip(names, batch.columns, strict=True))
                typed = typing.typed(columns, batch.num_rows, number)
                ids = pa.array([str(n) for n in range(number, number + batch.num_rows)],
                               pa.string())
                for name, child in rows.items():
                    child.add(typing.explode(name, typed, ids))
                yield number, typing.batch({}, typed)
                number += batch.num_rows

    return _frames(typing, batches(), files, {"format": "csv"}, batch_size, cleanup, rows)
