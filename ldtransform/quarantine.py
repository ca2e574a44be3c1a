"""Quarantine: rejected rows in a file a person can fix and feed back in.

The file holds the source's own columns, then ``_row`` (the row in the source) and
``_errors`` (every reason, ``field: message [code]`` joined by ``; ``). CSV by default,
JSON Lines for a ``.jsonl`` name, a workbook with the bad cells marked for ``.xlsx``.
Values are written as a person would type them: text as is (always quoted in CSV),
``true``/``false``, ISO dates, child records as JSON. The file is written atomically and
only when a row was rejected; validation ignores ``_row`` and ``_errors`` on the way back
in. Beside it, ``<file>.json`` says how it was written, so it reads back without the
options its source needed (see :mod:`ldtransform._quarantine_file`).
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv

from ldtransform._atomic import atomic_writer
from ldtransform._quarantine_file import (
    refuses_own_input,
    rejected_name,
    sidecar_path,
    sidecar_text,
)
from ldtransform._quarantine_xlsx import RejectedWorkbook
from ldtransform.errors import ConfigError
from ldtransform.writers._values import json_literal

__all__ = ["QuarantineFile", "rejected_name"]


class QuarantineFile:
    """Takes rejected batches (a :data:`~ldtransform.validation.RejectedSink`).

    Use as a context manager; the file exists under ``path`` only after a clean exit and
    only if at least one row was rejected. ``source`` names the original in the sidecar.
    """

    def __init__(self, path: str | os.PathLike[str], *, source: str | None = None,
                 reading: object = None) -> None:
        self.path = Path(path)
        self.source = source
        self.reading = reading  # the file being validated, never replaced by its rejects
        self.rows = 0
        self._stack = ExitStack()
        self._file: BinaryIO | None = None
        self._jsonl = self.path.suffix.lower() in (".jsonl", ".ndjson")
        self._workbook: RejectedWorkbook | None = None

    def __enter__(self) -> QuarantineFile:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if kind is None and self.rows and refuses_own_input(self.path, self.reading):
            refusal = ConfigError(
                f"{self.path} is the file being validated: its {self.rows:,} rows still "
                f"rejected would replace it and the rows fixed in it would be lost, so it "
                f"is left as it was; write them to another folder, e.g. "
                f"rejected_dir='recheck'")
            self._stack.__exit__(ConfigError, refusal, None)  # drops the unfinished file
            raise refusal
        if kind is None and self._workbook is not None:
            self._workbook.close()  # the workbook is complete only once closed
        self._stack.__exit__(kind, error, trace)  # type: ignore[arg-type]
        if kind is None and self.rows:
            suffix = "jsonl" if self._jsonl else self.path.suffix.lower().lstrip(".")
            with atomic_writer(sidecar_path(self.path)) as file:
                file.write(sidecar_text(self.path, suffix, self.source, self.rows))

    def __call__(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        if self._file is None:
            self._open(batch.schema)
        assert self._file is not None
        if self._workbook is not None:
            self._workbook.add(batch)
        elif self._jsonl:
            for record in batch.to_pylist():
                self._file.write(orjson.dumps(record, default=str) + b"\n")
        else:
            self._write_csv(batch)
        self.rows += batch.num_rows

    def _write_csv(self, batch: pa.RecordBatch) -> None:
        """Arrow's CSV writer (RFC 4180, text always quoted); lists and records become
        JSON text first, as a person would edit them."""
        columns = [_flat(column) for column in batch.columns]
        table = pa.Table.from_arrays(columns, names=batch.schema.names)
        options = pacsv.WriteOptions(include_header=self.rows == 0, eol="\r\n",
                                     quoting_style="needed")
        pacsv.write_csv(table, self._file, write_options=options)

    def _open(self, schema: pa.Schema) -> None:
        self._file = self._stack.enter_context(atomic_writer(self.path))
        if self.path.suffix.lower() == ".xlsx":
            self._workbook = RejectedWorkbook(self._file, schema.names)


def _flat(column: pa.Array) -> pa.Array:
    if pa.types.is_nested(column.type):
        return json_literal(column, unset=None)
    if pa.types.is_null(column.type):
        return pa.nulls(len(column), pa.string())
    return column
