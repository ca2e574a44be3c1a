"""The Dask client a run uses: the caller's, one connected to a scheduler's address, or
a local cluster of worker processes started for the run."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["client_for"]


@contextlib.contextmanager
def client_for(scheduler: Any = None, workers: int | None = None) -> Iterator[Any]:
    """A ``distributed.Client``: ``scheduler`` itself when it is one, else connected to
    the address ``scheduler``, else to a new local cluster of ``workers`` processes (one
    thread each: a partition runs its own threads)."""
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        yield scheduler
        return
    if scheduler is not None:
        with Client(scheduler) as client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client
