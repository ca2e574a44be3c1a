"""Where the records of a part came from, as run-length ranges of source rows.

A part's origins are ``(source_index, first_row, count)`` triples in record order: its
records 1 to ``count`` of the first range are rows ``first_row`` ... of the source
``source_index`` (its place in the manifest's ``sources``), and so on. Computed with
numpy over whole batches: rows that follow on, within a batch or across batches, make one
range.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Ranges", "merged", "ranges_of", "to_tuples"]

#: The ranges as an int64 array of shape (n, 3).
Ranges = np.ndarray


def ranges_of(source: int, rows: np.ndarray) -> Ranges:
    """The ranges of consecutive numbers in ``rows`` (ascending source row numbers)."""
    if not len(rows):
        return np.empty((0, 3), dtype=np.int64)
    starts = np.flatnonzero(np.diff(rows) != 1) + 1
    starts = np.concatenate(([0], starts))
    counts = np.diff(np.append(starts, len(rows)))
    return np.column_stack((np.full(len(starts), source, dtype=np.int64),
                            rows[starts].astype(np.int64), counts.astype(np.int64)))


def merged(ranges: Ranges) -> Ranges:
    """``ranges`` with each range that continues the one before joined to it."""
    if len(ranges) < 2:
        return ranges
    before, after = ranges[:-1], ranges[1:]
    follows = (after[:, 0] == before[:, 0]) & (after[:, 1] == before[:, 1] + before[:, 2])
    heads = np.flatnonzero(np.concatenate(([True], ~follows)))
    joined = ranges[heads].copy()
    joined[:, 2] = np.add.reduceat(ranges[:, 2], heads)
    return joined


def to_tuples(ranges: Ranges) -> tuple[tuple[int, int, int], ...]:
    return tuple((int(s), int(f), int(c)) for s, f, c in ranges.tolist())
