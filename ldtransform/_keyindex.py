"""Remembering keys across batches in bounded memory, for uniqueness and primary keys.

Each key is reduced to a 64-bit hash and kept with the source row that first held it
(4 bytes below 4 billion rows): 12 bytes per distinct key (10 million keys take about
115 MiB), whatever the key's length. Hashes are kept in 16 shards of sorted runs that
merge like a binary counter, so adding n keys costs O(n log n) overall, a lookup is a
binary search per run, and a merge briefly needs at most an extra sixteenth of the
index. Two different keys sharing a 64-bit hash would be reported as duplicates; with
10 million keys the chance of that is about 1 in 300,000.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ldtransform._bytelayout import value_bytes, value_offsets

__all__ = ["KeyIndex", "hash_keys"]


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
#: Up to this many byte columns over all value widths, hash a column of bytes at a time.
_COLUMNWISE_WORK = 2048


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, element-wise (uint64 arithmetic wraps)."""
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def _hash_binary(array: pa.Array) -> np.ndarray:
    """A hash per value of a string or binary array without nulls, from its raw buffers.

    Each byte is mixed with its position in the value and the mixes are summed per value,
    then mixed with the length: equal values give equal hashes, different ones collide
    with a chance of about 2**-64.
    """
    offsets = value_offsets(array).astype(np.int64)
    raw = value_bytes(array, offsets)
    lengths = np.diff(offsets)
    starts = offsets[:-1] - offsets[0]
    widths = np.flatnonzero(np.bincount(lengths)) if len(lengths) else lengths
    if widths.sum() <= _COLUMNWISE_WORK:
        total = np.zeros(len(lengths), dtype=np.uint64)
        for width in widths.tolist():
            if len(widths) == 1:
                rows: slice | np.ndarray = slice(None)
                block = raw.reshape(len(lengths), width)
            else:
                rows = np.flatnonzero(lengths == width)
                block = raw[starts[rows, None] + np.arange(width)]
            # the mixes of every (position, byte) of this width, looked up, not computed
            table = _mix(np.arange(width * 256, dtype=np.uint64))
            total[rows] = table[block + np.arange(0, width * 256, 256)].sum(
                axis=1, dtype=np.uint64)
    else:  # many long values: one pass over all bytes
        position = np.arange(len(raw), dtype=np.int64) - np.repeat(starts, lengths)
        mixes = _mix(position.astype(np.uint64) * np.uint64(256) + raw)
        sums = np.concatenate(([np.uint64(0)], np.cumsum(mixes, dtype=np.uint64)))
        total = sums[starts + lengths] - sums[starts]
    return _mix(total ^ _mix(lengths.astype(np.uint64)))


def _hash_column(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    if isinstance(column, pa.ChunkedArray):
        parts = [_hash_column(chunk) for chunk in column.chunks]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
    kind = column.type
    if pa.types.is_dictionary(kind):
        return _hash_column(column.dictionary_decode())
    if pa.types.is_integer(kind):
        return _mix(column.to_numpy(zero_copy_only=False).astype(np.int64).view(np.uint64))
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)
            or pa.types.is_binary(kind) or pa.types.is_large_binary(kind)):
        column = column.cast(pa.string())  # dates, numbers, booleans: as their text
    return _hash_binary(column)


def hash_keys(columns: list[pa.Array]) -> np.ndarray:
    """A uint64 hash per row of the given key columns (without nulls), by their values."""
    combined: np.ndarray | None = None
    for column in columns:
        hashes = _hash_column(column)
        combined = hashes if combined is None else _mix(combined * _MIX1 + hashes)
    assert combined is not None, "no key columns"
    return combined


class KeyIndex:
    """Hashes seen so far, each with the first row that held it.

    Keys are spread over 16 shards by their hash's top bits, each shard a list of sorted
    runs: merging two runs then copies at most a sixteenth of the keys, so the index never
    needs twice its size while it grows.
    """

    def __init__(self) -> None:
        #: Per shard, (sorted hashes, rows) runs.
        self._shards: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(_SHARDS)]

    def __len__(self) -> int:
        return sum(len(hashes) for runs in self._shards for hashes, _ in runs)

    @property
    def nbytes(self) -> int:
        return sum(hashes.nbytes + rows.nbytes for runs in self._shards for hashes, rows in runs)

    def add(self, hashes: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Record ``hashes`` (held by ``rows``); return, per position, the earlier row
        holding the same hash, or 0 where the hash is new."""
        # Everything below works on the batch sorted once: lookups walk each run in order
        # (several times faster than random probes), the new keys come out sorted, and
        # each shard's keys are one slice of them.
        order = np.argsort(hashes, kind="stable")
        queries = hashes[order]
        query_rows = rows[order].astype(np.int64)
        found = np.zeros(len(queries), dtype=np.int64)
        for runs, part in zip(self._shards, _slices(queries), strict=True):
            if runs and part.start < part.stop:
                found[part] = _lookup_sorted(runs, queries[part])
        # Duplicates inside this batch: the first occurrence is the earlier row.
        repeat = np.zeros(len(order), dtype=bool)
        repeat[1:] = queries[1:] == queries[:-1]
        group_start = np.maximum.accumulate(np.where(~repeat, np.arange(len(order)), 0))
        within = np.where(repeat, query_rows[group_start], 0)
        found = np.where(found > 0, found, within)
        new = found == 0
        if new.any():
            fresh, fresh_rows = queries[new], _compact(query_rows[new])
            for runs, part in zip(self._shards, _slices(fresh), strict=True):
                if part.start < part.stop:
                    _push(runs, fresh[part], fresh_rows[part])
        earlier = np.empty_like(found)
        earlier[order] = found
        return earlier

    def entries(self) -> tuple[np.ndarray, np.ndarray]:
        """Every hash held, sorted, with the first row that held it (int64)."""
        runs = [run for shard in self._shards for run in shard]
        if not runs:
            return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
        hashes = np.concatenate([hashes for hashes, _ in runs])
        rows = np.concatenate([rows.astype(np.int64) for _, rows in runs])
        order = np.argsort(hashes, kind="stable")
        return hashes[order], rows[order]

    def seed(self, hashes: np.ndarray, rows: np.ndarray) -> None:
        """Start from keys held elsewhere (distinct hashes, each with its first row), as
        if the rows holding them had been added before any other."""
        order = np.argsort(hashes, kind="stable")
        queries, query_rows = hashes[order].astype(np.uint64), rows[order].astype(np.int64)
        for runs, part in zip(self._shards, _slices(queries), strict=True):
            if part.start < part.stop:
                _push(runs, queries[part], query_rows[part])


_SHARDS = 16
#: Where each shard's hashes start, but the first: by the top four bits.
_EDGES = np.array([shard << 60 for shard in range(1, _SHARDS)], dtype=np.uint64)


def _slices(sorted_hashes: np.ndarray) -> list[slice]:
    """Per shard, the slice of ``sorted_hashes`` it holds."""
    bounds = np.searchsorted(sorted_hashes, _EDGES).tolist()
    starts, stops = [0, *bounds], [*bounds, len(sorted_hashes)]
    return [slice(start, stop) for start, stop in zip(starts, stops, strict=True)]


def _compact(rows: np.ndarray) -> np.ndarray:
    """Row numbers in 4 bytes when they fit (any file of fewer than 4 billion rows)."""
    if len(rows) and int(rows.max()) < 2**32 and int(rows.min()) >= 0:
        return rows.astype(np.uint32)
    return rows


def _lookup_sorted(runs: list[tuple[np.ndarray, np.ndarray]], queries: np.ndarray) -> np.ndarray:
    found = np.zeros(len(queries), dtype=np.int64)
    for run_hashes, run_rows in runs:
        at = np.searchsorted(run_hashes, queries)
        at_clipped = np.minimum(at, len(run_hashes) - 1)
        hit = (at < len(run_hashes)) & (run_hashes[at_clipped] == queries)
        found = np.where(hit & (found == 0), run_rows[at_clipped], found)
    return found


def _push(runs: list[tuple[np.ndarray, np.ndarray]], hashes: np.ndarray,
          rows: np.ndarray) -> None:
    """Add a sorted run of hashes no run holds yet."""
    run = (hashes, rows)
    # Merge while the newest run is at least as large as the one before it, so there
    # are O(log n) runs and each key is merged O(log n) times.
    while runs and len(runs[-1][0]) <= len(run[0]):
        run = _merge(runs.pop(), run)
    runs.append(run)


def _merge(old: tuple[np.ndarray, np.ndarray],
           new: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Two sorted runs with no hash in common as one sorted run, in linear time."""
    at = np.searchsorted(old[0], new[0]) + np.arange(len(new[0]))
    hashes = np.empty(len(old[0]) + len(new[0]), dtype=old[0].dtype)
    rows = np.empty(len(hashes), dtype=np.result_type(old[1], new[1]))
    from_old = np.ones(len(hashes), dtype=bool)
    from_old[at] = False
    hashes[at], rows[at] = new
    hashes[from_old], rows[from_old] = old
    return hashes, rows
