"""``inspect``: one streaming pass over a source to describe what it holds."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pyarrow as pa

from ldtransform.infer import TypeInference
from ldtransform.protocols import Source
from ldtransform.readers import read

__all__ = ["inspect_source"]


def inspect_source(source: Source, *, format: str | None = None, head: int = 5,
                   **options: Any) -> dict[str, Any]:
    """Describe ``source``: detected format details, columns with inferred types, row
    count, the first ``head`` rows and any issues the reader reported."""
    frames = read(source, format=format, **options)
    inference = TypeInference(frames.schema)
    first: list[pa.RecordBatch] = []
    numbers: list[int] = []
    for numbered in frames.numbered():
        inference.update(numbered.batch)
        if len(numbers) < head:
            first.append(numbered.batch.slice(0, head - len(numbers)))
            numbers.extend(range(numbered.first_row, numbered.first_row + first[-1].num_rows))
    rows = pa.Table.from_batches(first, schema=frames.schema).to_pylist() if first else []
    return {
        "source": frames.source,
        **frames.info,
        "rows": frames.rows_read,
        "columns": [asdict(profile) for profile in inference.result()],
        "head": rows,
        "head_rows": numbers,
        "issues": [issue.to_dict() for issue in frames.issues],
    }
