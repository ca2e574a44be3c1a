"""Export result files written by the local server's own export writer (no HTTP), and
the items the toolkit writes for a typed table (what an import would have stored)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

import ldtransform
from ldtransform.schema import ItemSchema
from ldtransform.server.export import ExportLimits, ExportSpec, _Formatter, _PartWriter

ODD = ldtransform.ItemSchema.from_dict({
    "itemType": "Odd", "timezone": "America/New_York", "primaryKey": ["key"],
    "fields": [
        {"name": "key", "type": "string", "constraints": {"required": True}},
        {"name": "text", "type": "string"},
        {"name": "code", "type": "string", "constraints": {"enum": ["a", "b,c", 'q"uote']}},
        {"name": "n", "type": "integer"},
        {"name": "x", "type": "number"},
        {"name": "d", "type": "decimal", "precision": 12, "scale": 3},
        {"name": "flag", "type": "boolean"},
        {"name": "day", "type": "date"},
        {"name": "at", "type": "datetime"},
        {"name": "tags", "type": "array", "items": "string"},
        {"name": "kids", "type": "array", "fields": [
            {"name": "name", "type": "string"}, {"name": "born", "type": "date"},
            {"name": "flag", "type": "boolean"}]},
    ],
})


def stored_items(table: pa.Table, schema: ItemSchema) -> list[dict[str, Any]]:
    """The ``data`` of each row as the toolkit writes it into an items file."""
    with tempfile.TemporaryDirectory() as folder:
        written = ldtransform.Frames.from_table(table).write_items(folder, schema=schema)
        return [item["data"] for part in written.parts
                for item in orjson.loads(part.path.read_bytes())]


def server_files(folder: Path, items: list[dict[str, Any]], schema: ItemSchema, *,
                 content_type: str = "application/json", row_header: bool = True,
                 template: str | None = None, per_file: int = 100_000,
                 sql_columns: list[str] | None = None) -> list[Path]:
    """Result files as the server writes them for these stored items (``sql_columns``:
    as for a query selecting those columns, so headers carry no revisionId)."""
    spec = ExportSpec("Demo", schema, content_type, row_header, template,
                      "SELECT" if sql_columns else None, None)
    limits = ExportLimits(per_file=per_file, time_limit=10, row_limit=10**9)
    columns = sql_columns or schema.field_names
    fmt = _Formatter(spec, columns, limits.template)
    writer = _PartWriter(folder, "export", fmt, limits)
    base = {"category": schema.category, "type": schema.item_type}
    for number, data in enumerate(items, start=1):
        if sql_columns:
            headers, row = base, {c: data.get(c) for c in sql_columns}
        else:
            headers, row = {**base, "id": str(number), "revisionId": "1"}, data
        writer.write(number, fmt.text(number, (headers, row)))
    return [part.path for part in writer.finish()]
