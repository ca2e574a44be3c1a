"""The Arrow memory pool a conversion allocates from.

A conversion allocates and frees a few tens of MiB per batch on several threads. Arrow's
default pool on Linux (mimalloc) keeps much of what was freed on each thread's heap, so the
resident size of a 1M-row conversion settles ~120 MiB above what jemalloc, which hands
freed pages back after a second, needs at the same speed. While any conversion runs, the
process's default pool is jemalloc (the system allocator where pyarrow lacks it); a pool
chosen with ``ARROW_DEFAULT_MEMORY_POOL`` is left alone.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa

__all__ = ["lean_memory_pool"]

_lock = threading.Lock()
_users = 0
_previous: pa.MemoryPool | None = None


def _lean_pool() -> pa.MemoryPool:
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:
        return pa.system_memory_pool()


@contextmanager
def lean_memory_pool() -> Iterator[None]:
    """Make the lean pool Arrow's default while inside (nested and concurrent uses share
    it; the last one out restores the pool that was the default before)."""
    global _users, _previous
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        yield
        return
    with _lock:
        if _users == 0:
            _previous = pa.default_memory_pool()
            pa.set_memory_pool(_lean_pool())
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _previous is not None:
                pa.set_memory_pool(_previous)
                _previous = None
