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
    kept = 0
    for batch in frames:
        inference.update(batch)
        if kept < head:
            first.append(batch.slice(0, head - kept))
            kept += first[-1].num_rows
    rows = pa.Table.from_batches(first, schema=frames.schema).to_pylist() if first else []
    return {
        "source": frames.source,
        **frames.info,
        "rows": frames.rows_read,
        "columns": [asdict(profile) for profile in inference.result()],
        "head": rows,
        "issues": [issue.to_dict() for issue in frames.issues],
    }
