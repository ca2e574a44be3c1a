"""Keys checked across partitions: a shuffle of key hashes finding each key's first place.

Every partition returns, per key check, its distinct key hashes with the first place
(``source << 40 | row``) holding each. The hashes are split into buckets by value; one
task per bucket sees every partition's hashes of that bucket, finds each hash's first
place over all partitions, and returns, per partition holding a hash whose first place
is an earlier partition, those hashes with their first places: the partition's *seeds*.
Only these cross-partition repeats travel to the driver.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ldtransform.partition import Keys

__all__ = ["first_places", "seeds", "split"]


def split(keys: Keys, buckets: int) -> list[Keys]:
    """``keys`` in ``buckets`` parts by hash value."""
    parts: list[Keys] = [{} for _ in range(buckets)]
    for name, (hashes, rows) in keys.items():
        bucket = (hashes % np.uint64(buckets)).astype(np.int64)
        for number, part in enumerate(parts):
            chosen = bucket == number
            part[name] = (hashes[chosen], rows[chosen])
    return parts


def first_places(pieces: list[Keys], indexes: list[int]) -> dict[int, Keys]:
    """Per partition (``indexes[i]`` holds ``pieces[i]``), its hashes first held by an
    earlier partition, each with that first place."""
    found: dict[int, Keys] = {}
    for name in sorted({name for piece in pieces for name in piece}):
        held = [(index, piece[name]) for index, piece in zip(indexes, pieces, strict=True)
                if name in piece and len(piece[name][0])]
        if len(held) < 2:
            continue
        hashes = np.concatenate([keys[0] for _, keys in held])
        rows = np.concatenate([keys[1] for _, keys in held])
        owner = np.concatenate([np.full(len(keys[0]), index) for index, keys in held])
        order = np.lexsort((rows, hashes))  # by hash, then (source, row)
        hashes, rows, owner = hashes[order], rows[order], owner[order]
        start = np.ones(len(hashes), dtype=bool)
        start[1:] = hashes[1:] != hashes[:-1]
        group = np.cumsum(start) - 1
        first_row, first_owner = rows[start][group], owner[start][group]
        later = owner != first_owner
        for index in np.unique(owner[later]).tolist():
            chosen = later & (owner == index)
            found.setdefault(index, {})[name] = (hashes[chosen], first_row[chosen])
    return found


def seeds(client: Any, keys: list[Any], indexes: list[int], buckets: int) -> dict[int, Keys]:
    """The seeds of every partition whose keys (futures, in source order) repeat an
    earlier partition's, by a shuffle over ``buckets`` tasks."""
    parts = [client.submit(split, future, buckets, pure=False) for future in keys]
    reducers = [client.submit(first_places,
                              [client.submit(operator.getitem, part, number, pure=False)
                               for part in parts], indexes, pure=False)
                for number in range(buckets)]
    merged: dict[int, dict[str, list[tuple[np.ndarray, np.ndarray]]]] = {}
    for found in client.gather(reducers):
        for index, checks in found.items():
            for name, pair in checks.items():
                merged.setdefault(index, {}).setdefault(name, []).append(pair)
    return {index: {name: (np.concatenate([h for h, _ in pairs]),
                           np.concatenate([r for _, r in pairs]))
                    for name, pairs in checks.items()}
            for index, checks in merged.items()}
