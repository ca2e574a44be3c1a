"""Reshaping a stream of numbered batches: joined up, and read ahead on a thread."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from queue import SimpleQueue
from typing import TypeVar

import pyarrow as pa

from ldtransform.frames import NumberedBatch

__all__ = ["coalesced", "joined", "mapped_ahead", "prefetched"]

T = TypeVar("T")
R = TypeVar("R")


def coalesced(batches: Iterator[NumberedBatch], rows: int) -> Iterator[NumberedBatch]:
    """Consecutive small batches joined up to about ``rows`` rows: each check is a handful
    of Arrow calls whose fixed cost would dominate on the small blocks a CSV reader gives.
    Only batches whose row numbers follow on are joined, so numbering stays exact."""
    pending: list[pa.RecordBatch] = []
    first = next_row = 0
    for numbered in batches:
        if pending and (numbered.first_row != next_row
                        or sum(b.num_rows for b in pending) >= rows):
            yield NumberedBatch(first, joined(pending))
            pending = []
        if not pending:
            first = numbered.first_row
        pending.append(numbered.batch)
        next_row = numbered.first_row + numbered.batch.num_rows
    if pending:
        yield NumberedBatch(first, joined(pending))


def prefetched(batches: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Read ahead in a thread: parsing the next batch (Arrow releases the GIL) overlaps
    with checking this one. At most ``depth`` batches are read ahead of the one in hand,
    counting one still being read, so memory stays bounded; an error in the reader is
    raised here, in order."""
    queue: SimpleQueue[tuple[T | None, BaseException | None]] = SimpleQueue()
    ahead = threading.Semaphore(depth)  # a batch is read only when one may be held
    stop = threading.Event()

    def produce() -> None:
        try:
            while True:
                while not ahead.acquire(timeout=0.1):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                numbered = next(batches, None)
                if numbered is None:
                    break
                queue.put((numbered, None))
            queue.put((None, None))
        except BaseException as exc:  # handed over to the consumer, not lost
            queue.put((None, exc))

    worker = threading.Thread(target=produce, name="ldtransform-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            numbered, error = queue.get()
            if error is not None:
                raise error
            if numbered is None:
                return
            ahead.release()
            yield numbered
    finally:
        stop.set()
        worker.join()


def mapped_ahead(function: Callable[[T], R], items: Iterable[T], at_once: int = 2,
                 name: str = "ldtransform-ahead") -> Iterator[R]:
    """``function`` of each of ``items``, in order, ``at_once`` of them computed on threads
    while the caller works on the result before (for Arrow's parsers, which let go of the
    GIL: the steps of one parse that use a single core overlap with another)."""
    pending: deque[Future[R]] = deque()
    with ThreadPoolExecutor(at_once, thread_name_prefix=name) as pool:
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) > at_once:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def joined(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    return batches[0] if len(batches) == 1 else pa.concat_batches(batches)
