"""Quarantine: rejected rows in a file a person can fix and feed back in.

The file holds the source's own columns, then ``_row`` (the row in the source) and
``_errors`` (every reason, ``field: message [code]`` joined by ``; ``). CSV by default,
JSON Lines for a ``.jsonl`` name. Values are written as a person would type them: text as
is, ``true``/``false``, ISO dates, nested records as JSON. The file is written atomically and
only when a row was rejected; validation ignores ``_row`` and ``_errors`` on the way back in.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import pyarrow as pa

from ldtransform._atomic import atomic_writer

__all__ = ["QuarantineFile", "cell_text"]


def cell_text(value: Any) -> str:
    """A value as a CSV cell a person can edit and ldtransform reads back the same."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | dict):
        return orjson.dumps(value, default=str).decode()
    return str(value)


class QuarantineFile:
    """Takes rejected batches (a :data:`~ldtransform.validation.RejectedSink`).

    Use as a context manager; the file exists under ``path`` only after a clean exit and
    only if at least one row was rejected.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.rows = 0
        self._stack = ExitStack()
        self._file: BinaryIO | None = None
        self._csv: Any = None
        self._text: io.TextIOWrapper | None = None
        self._jsonl = self.path.suffix.lower() in (".jsonl", ".ndjson")

    def __enter__(self) -> QuarantineFile:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if self._text is not None:
            self._text.flush()
            self._text.detach()
        self._stack.__exit__(kind, error, trace)  # type: ignore[arg-type]

    def __call__(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        if self._file is None:
            self._open(batch.schema)
        assert self._file is not None
        if self._jsonl:
            for record in batch.to_pylist():
                self._file.write(orjson.dumps(record, default=str) + b"\n")
        else:
            self._csv.writerows(self._cells(batch))
        self.rows += batch.num_rows

    def _open(self, schema: pa.Schema) -> None:
        self._file = self._stack.enter_context(atomic_writer(self.path))
        if not self._jsonl:
            self._text = io.TextIOWrapper(self._file, encoding="utf-8", newline="")
            self._csv = csv.writer(self._text, lineterminator="\r\n")
            self._csv.writerow(schema.names)

    @staticmethod
    def _cells(batch: pa.RecordBatch) -> Iterator[list[str]]:
        columns = [column.to_pylist() for column in batch.columns]
        for row in zip(*columns, strict=True):
            yield [cell_text(value) for value in row]
