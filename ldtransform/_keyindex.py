"""Remembering keys across batches in bounded memory, for uniqueness and primary keys.

Each key is reduced to a 64-bit hash and kept with the source row that first held it:
16 bytes per distinct key (10 million keys take about 160 MiB), whatever the key's length.
Hashes are stored in sorted runs that merge like a binary counter, so adding n keys costs
O(n log n) overall and a lookup is a binary search per run. Two different keys sharing a
64-bit hash would be reported as duplicates; with 10 million keys the chance of that is
about 1 in 300,000.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

__all__ = ["KeyIndex", "hash_keys"]


def hash_keys(columns: list[pa.Array]) -> np.ndarray:
    """A uint64 hash per row of the given key columns (compared as their values)."""
    import pandas as pd

    frame = pd.DataFrame({
        str(i): pd.Series(column, dtype=pd.ArrowDtype(column.type))
        for i, column in enumerate(columns)
    })
    if len(columns) == 1:
        return pd.util.hash_pandas_object(frame["0"], index=False).to_numpy()
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


class KeyIndex:
    """Hashes seen so far, each with the first row that held it."""

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted hashes, rows)

    def __len__(self) -> int:
        return sum(len(hashes) for hashes, _ in self._runs)

    @property
    def nbytes(self) -> int:
        return sum(hashes.nbytes + rows.nbytes for hashes, rows in self._runs)

    def add(self, hashes: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Record ``hashes`` (held by ``rows``); return, per position, the earlier row
        holding the same hash, or 0 where the hash is new."""
        earlier = self._lookup(hashes)
        # Duplicates inside this batch: the first occurrence is the earlier row.
        order = np.argsort(hashes, kind="stable")
        sorted_hashes = hashes[order]
        repeat = np.empty(len(order), dtype=bool)
        if len(order):
            repeat[0] = False
            repeat[1:] = sorted_hashes[1:] == sorted_hashes[:-1]
        group_start = np.maximum.accumulate(np.where(~repeat, np.arange(len(order)), 0))
        within = np.zeros(len(hashes), dtype=np.int64)
        within[order[repeat]] = rows[order[group_start[repeat]]]
        earlier = np.where(earlier > 0, earlier, within)
        new = earlier == 0
        keep = order[~repeat]
        keep = keep[new[keep]]
        if len(keep):
            self._push(hashes[keep], rows[keep].astype(np.int64))
        return earlier

    def _lookup(self, hashes: np.ndarray) -> np.ndarray:
        # Sorted queries walk each run in order: several times faster than random probes.
        order = np.argsort(hashes)
        queries = hashes[order]
        found = np.zeros(len(hashes), dtype=np.int64)
        for run_hashes, run_rows in self._runs:
            at = np.searchsorted(run_hashes, queries)
            at_clipped = np.minimum(at, len(run_hashes) - 1)
            hit = (at < len(run_hashes)) & (run_hashes[at_clipped] == queries)
            found = np.where(hit & (found == 0), run_rows[at_clipped], found)
        earlier = np.empty_like(found)
        earlier[order] = found
        return earlier

    def _push(self, hashes: np.ndarray, rows: np.ndarray) -> None:
        order = np.argsort(hashes, kind="stable")
        run = (hashes[order], rows[order])
        # Merge while the newest run is at least as large as the one before it, so there
        # are O(log n) runs and each key is re-sorted O(log n) times.
        while self._runs and len(self._runs[-1][0]) <= len(run[0]):
            old_hashes, old_rows = self._runs.pop()
            merged = np.concatenate([old_hashes, run[0]])
            rows_merged = np.concatenate([old_rows, run[1]])
            order = np.argsort(merged, kind="stable")
            run = (merged[order], rows_merged[order])
        self._runs.append(run)
