"""Parquet: row-group streaming, column projection, the file's own types kept."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import ClassVar

import pyarrow as pa
import pyarrow.parquet as pq

from ldtransform.errors import ConfigError, ReadError
from ldtransform.frames import Frames
from ldtransform.protocols import Source
from ldtransform.readers._text import source_name, spool

__all__ = ["ParquetReader"]


class ParquetReader:
    """Reads ``.parquet`` files batch by batch; ``columns`` keeps only the named ones.

    Row numbers count records from 1 (Parquet has no header row).
    """

    format: ClassVar[str] = "parquet"
    suffixes: ClassVar[tuple[str, ...]] = (".parquet", ".pq")

    def __init__(self, *, columns: Sequence[str] | None = None) -> None:
        self.columns = list(columns) if columns is not None else None

    def read(
        self, source: Source, *, schema: pa.Schema | None = None, batch_size: int = 65_536
    ) -> Frames:
        """Stream ``source`` in batches of at most ``batch_size`` rows."""
        name = source_name(source)
        if isinstance(source, str | os.PathLike):
            source = os.fspath(source)
        elif not source.seekable():  # Parquet's footer is at the end: it needs to seek
            source = spool(source)
        try:
            parquet = pq.ParquetFile(source)
        except FileNotFoundError as exc:
            raise ReadError("no such file", source=name) from exc
        except (pa.ArrowInvalid, OSError) as exc:
            raise ReadError(f"not a readable Parquet file: {exc}", source=name,
                            hint="Check that the file is Parquet and not truncated") from exc
        file_schema = parquet.schema_arrow
        if self.columns is not None:
            missing = [c for c in self.columns if c not in file_schema.names]
            if missing:
                raise ConfigError(f"{name}: no column(s) {', '.join(map(repr, missing))}; "
                                  f"the file has: {', '.join(file_schema.names)}")
            file_schema = pa.schema([file_schema.field(c) for c in self.columns])
        info = {"format": self.format, "row_groups": parquet.num_row_groups,
                "rows": parquet.metadata.num_rows}
        return Frames(file_schema.remove_metadata(), self._batches(parquet, name, batch_size),
                      batch_size=batch_size, source=name, info=info)

    def _batches(self, parquet: pq.ParquetFile, name: str, batch_size: int
                 ) -> Iterator[tuple[int, pa.RecordBatch]]:
        row = 1
        try:
            for batch in parquet.iter_batches(batch_size=batch_size, columns=self.columns):
                yield row, batch.replace_schema_metadata(None)
                row += batch.num_rows
        except (pa.ArrowInvalid, OSError) as exc:
            raise ReadError(f"the Parquet data is damaged: {exc}", source=name,
                            row=row) from exc
