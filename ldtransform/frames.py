"""Frames: the one type passed between stages.

A fixed :class:`pyarrow.Schema` plus a one-shot stream of record batches. Every batch is
cast to the schema (no per-chunk type drift) and knows the source row number of its
first row, so any problem found later can be traced back to ``file:row``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

import pyarrow as pa

from ldtransform.errors import LdTransformError, ReadError, StreamConsumedError
from ldtransform.protocols import Issue

if TYPE_CHECKING:
    import os

    import pandas as pd

    from ldtransform.mapping import Mapping
    from ldtransform.pipeline import ConvertResult
    from ldtransform.quarantine import QuarantineFile
    from ldtransform.report import Report
    from ldtransform.schema import ItemSchema

__all__ = ["Frames", "NumberedBatch"]

#: What a reader may hand to Frames: (first source row, batch), batch as Arrow or pandas.
RawBatch = tuple[int, "pa.RecordBatch | pd.DataFrame"]


class NumberedBatch(NamedTuple):
    """A record batch and the source row number of its first row."""

    first_row: int
    batch: pa.RecordBatch


class Frames:
    """A schema and a one-shot iterator of record batches.

    Iterating yields :class:`pyarrow.RecordBatch`; :meth:`numbered` yields
    :class:`NumberedBatch` with source row numbers. Either can be done once only.
    ``info`` holds what the reader detected (format, encoding, delimiter, sheet, ...);
    ``issues`` fills with problems a reader reported instead of raising (only when asked
    to go on past bad rows); ``rows_read`` counts the rows streamed so far.
    """

    def __init__(
        self,
        schema: pa.Schema,
        batches: Iterable[RawBatch],
        *,
        batch_size: int | None = None,
        source: str | None = None,
        info: dict[str, Any] | None = None,
        issues: list[Issue] | None = None,
    ) -> None:
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be a positive number of rows, got {batch_size}")
        self.schema = schema
        self.source = source
        self.info: dict[str, Any] = dict(info or {})
        self.issues: list[Issue] = issues if issues is not None else []
        self.rows_read = 0
        #: Set on Frames that :meth:`validate` returns: the schema, and the report that
        #: fills while they are iterated.
        self.item_schema: ItemSchema | None = None
        self.report: Report | None = None
        #: Set when :meth:`validate` was given a file for the rejected rows.
        self.quarantine: QuarantineFile | None = None
        #: How far through its source reading has come, 0 to 1, where the reader knows
        #: (a plain CSV file by bytes; Parquet by rows); None otherwise.
        self.fraction: Callable[[], float | None] = self._rows_fraction
        #: Asks the reader, before iterating, for fewer and bigger batches where it can
        #: give them (CSV): faster for a consumer that joins batches anyway, for more
        #: memory read ahead.
        self.read_in_bulk: Callable[[], None] = lambda: None
        self._batches = iter(batches)
        self._batch_size = batch_size
        self._consumed = False

    def __repr__(self) -> str:
        state = "consumed" if self._consumed else "ready"
        columns = ", ".join(f"{f.name}: {f.type}" for f in self.schema)
        return f"<Frames {self.source or ''} [{columns}] {state}>"

    def _rows_fraction(self) -> float | None:
        total = self.info.get("rows")
        return min(1.0, self.rows_read / total) if isinstance(total, int) and total else None

    # -- iteration ---------------------------------------------------------------------

    def numbered(self) -> Iterator[NumberedBatch]:
        """Yield each batch with the source row number of its first row (once only)."""
        if self._consumed:
            where = f" of {self.source}" if self.source else ""
            raise StreamConsumedError(
                f"these Frames{where} have already been iterated; read the source again "
                "or call .to_table() once and keep the table"
            )
        self._consumed = True
        return self._generate()

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return (numbered.batch for numbered in self.numbered())

    def _generate(self) -> Iterator[NumberedBatch]:
        for first_row, raw in self._batches:
            batch = self._conform(raw)
            for offset, piece in self._slices(batch):
                self.rows_read += piece.num_rows
                yield NumberedBatch(first_row + offset, piece)

    def _slices(self, batch: pa.RecordBatch) -> Iterator[tuple[int, pa.RecordBatch]]:
        size = self._batch_size
        if size is None or batch.num_rows <= size:
            yield 0, batch
            return
        for offset in range(0, batch.num_rows, size):
            yield offset, batch.slice(offset, size)

    def _conform(self, raw: pa.RecordBatch | pd.DataFrame) -> pa.RecordBatch:
        """Make ``raw`` a RecordBatch of exactly ``self.schema``."""
        if not isinstance(raw, pa.RecordBatch):
            try:
                return pa.RecordBatch.from_pandas(raw, schema=self.schema, preserve_index=False)
            except (pa.ArrowInvalid, pa.ArrowTypeError, KeyError) as exc:
                raise ReadError(
                    f"a batch does not fit the declared schema: {exc}", source=self.source
                ) from exc
        if raw.schema.equals(self.schema):
            return raw
        if raw.schema.names != self.schema.names:
            raise LdTransformError(
                f"{self.source or 'a stage'} produced columns {raw.schema.names}, "
                f"but its schema declares {self.schema.names}"
            )
        try:
            return raw.cast(self.schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ReadError(
                f"a batch cannot be cast to the declared schema: {exc}", source=self.source
            ) from exc

    # -- edges -------------------------------------------------------------------------

    def to_table(self) -> pa.Table:
        """Read everything into one :class:`pyarrow.Table`."""
        self.read_in_bulk()
        return pa.Table.from_batches(list(self), schema=self.schema)

    def to_pandas(self) -> pd.DataFrame:
        """Read everything into a :class:`pandas.DataFrame`; text stays text (``"007"``)."""
        frame: pd.DataFrame = self.to_table().to_pandas()
        return frame

    @classmethod
    def from_table(cls, table: pa.Table, *, batch_size: int = 65_536, first_row: int = 1,
                   source: str | None = None) -> Frames:
        """Frames over an in-memory table; row numbers count from ``first_row``."""
        def batches() -> Iterator[RawBatch]:
            offset = first_row
            for batch in table.to_batches(max_chunksize=batch_size):
                yield offset, batch
                offset += batch.num_rows

        return cls(table.schema, batches(), batch_size=batch_size, source=source)

    @classmethod
    def from_pandas(cls, df: pd.DataFrame, *, batch_size: int = 65_536) -> Frames:
        """Frames over a DataFrame (index dropped); row ``n`` is the n-th row, from 1."""
        table = pa.Table.from_pandas(df, preserve_index=False)
        return cls.from_table(table.replace_schema_metadata(None), batch_size=batch_size,
                              source="<DataFrame>")

    def map_batches(
        self, function: Callable[[pa.RecordBatch], pa.RecordBatch], schema: pa.Schema
    ) -> Frames:
        """New Frames applying ``function`` to every batch; row numbers carry over."""
        mapped = ((n.first_row, function(n.batch)) for n in self.numbered())
        return Frames(schema, mapped, source=self.source, info=self.info, issues=self.issues)

    # -- the fluent form: read(...).map(...).validate(...).write_items(...) --------------

    def map(self, mapping: Mapping | dict[str, Any] | str | os.PathLike[str], *,
            schema: ItemSchema | str | os.PathLike[str] | None = None) -> Frames:
        """These frames through a mapping (a Mapping, dict or TOML path), lazily."""
        from ldtransform.fluent import map_frames

        return map_frames(self, mapping, schema)

    def validate(self, schema: ItemSchema | str | os.PathLike[str], *,
                 mapping: Mapping | dict[str, Any] | str | os.PathLike[str] | None = None,
                 rejected: str | os.PathLike[str] | None = None, **options: Any) -> Frames:
        """The valid rows, lazily; ``.report`` fills as they are read, and rejected rows go
        to the quarantine file ``rejected`` when given (see :class:`Validation`)."""
        from ldtransform.fluent import validate_frames

        return validate_frames(self, schema, mapping, rejected, options)

    def write_items(self, out: str | os.PathLike[str], **options: Any) -> ConvertResult:
        """Write LD item JSON parts and a manifest into the folder ``out``."""
        return self.write(out, to="items-json", **options)

    def write(self, out: str | os.PathLike[str], *, to: str = "items-json",
              **options: Any) -> ConvertResult:
        """Write these frames as ``to`` (items-json, items-jsonl, json, jsonl, csv) into
        the folder ``out``, split by ``max_records``/``max_bytes``, with a manifest."""
        from ldtransform.pipeline import write_frames

        options.setdefault("schema", self.item_schema)
        return write_frames(self, out, to=to, report=self.report, **options)
