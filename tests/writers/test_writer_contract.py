"""Every built-in writer passes the public WriterContract, as a plugin's would."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pyarrow as pa

from ldtransform import ItemSchema
from ldtransform.testing import WriterContract
from ldtransform.writers._values import ld_text
from ldtransform.writers.csv_template import TemplateCsvWriter
from ldtransform.writers.items_json import ItemsJsonLinesWriter, ItemsJsonWriter
from ldtransform.writers.records_json import RecordsJsonLinesWriter, RecordsJsonWriter

SCHEMA = ItemSchema.from_dict({"itemType": "Canon", "fields": [
    {"name": "id"}, {"name": "name"}, {"name": "amount", "type": "number"},
    {"name": "count", "type": "integer"}, {"name": "joined", "type": "date"},
    {"name": "active", "type": "boolean"}]})


def as_json_values(table: pa.Table) -> list[dict[str, Any]]:
    """The canonical rows as LD JSON spells them: dates as UTC date-times, unset text ""."""
    rows = table.to_pylist()
    for row in rows:
        row["name"] = row["name"] if row["name"] is not None else ""
        day = row["joined"]
        row["joined"] = None if day is None else f"{day.isoformat()}T00:00:00+0000"
    return rows


class TestItemsJson(WriterContract):
    format = "items-json"

    def make_writer(self) -> Any:
        return ItemsJsonWriter(schema=SCHEMA)

    def read_back(self, data: bytes) -> list[dict[str, Any]]:
        return [item["data"] for item in json.loads(data)]

    def expected_rows(self, table: pa.Table) -> list[dict[str, Any]]:
        return as_json_values(table)


class TestItemsJsonLines(TestItemsJson):
    format = "items-jsonl"

    def make_writer(self) -> Any:
        return ItemsJsonLinesWriter(schema=SCHEMA)

    def read_back(self, data: bytes) -> list[dict[str, Any]]:
        return [json.loads(line)["data"] for line in data.splitlines()]


class TestRecordsJson(TestItemsJson):
    format = "json"

    def make_writer(self) -> Any:
        return RecordsJsonWriter(schema=SCHEMA)

    def read_back(self, data: bytes) -> list[dict[str, Any]]:
        return list(json.loads(data))


class TestRecordsJsonLines(TestItemsJson):
    format = "jsonl"

    def make_writer(self) -> Any:
        return RecordsJsonLinesWriter(schema=SCHEMA)

    def read_back(self, data: bytes) -> list[dict[str, Any]]:
        return [json.loads(line) for line in data.splitlines()]


class TestPlainCsv(WriterContract):
    format = "csv"

    def make_writer(self) -> Any:
        return TemplateCsvWriter(schema=SCHEMA)

    def read_back(self, data: bytes) -> list[dict[str, Any]]:
        return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))

    def expected_rows(self, table: pa.Table) -> list[dict[str, Any]]:
        columns = {name: ld_text(table.column(name).combine_chunks(), unset="").to_pylist()
                   for name in table.column_names}
        return [{name: value or "" for name, value in zip(columns, values, strict=True)}
                for values in zip(*columns.values(), strict=True)]
