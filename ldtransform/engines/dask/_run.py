"""Running the partitions of a run on a cluster, twice where keys repeat across them.

Every source runs once on its own. The shuffle of their key hashes (see :mod:`._keys`)
then names the sources holding a key an earlier source held first; only those run again,
seeded with those keys, and their second outcome replaces the first (their parts and
rejected rows are written again under the same names). Rejected rows are thereby
produced by the same code, from the source's own rows, as the local engine produces
them; a source without such keys is read once.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from ldtransform.engines.dask._keys import seeds
from ldtransform.engines.dask._sources import local_copy
from ldtransform.partition import Job, Keys, PartitionOutcome, PartitionTask, run_partition

__all__ = ["run_all"]


def _run(job: Job, task: PartitionTask) -> PartitionOutcome:
    with local_copy(task.source) as copy:
        return run_partition(job, task, copy)


def _same(job: Job) -> Job:
    return job


def _keys(outcome: PartitionOutcome) -> Keys:
    return outcome.keys


def _summary(outcome: PartitionOutcome) -> PartitionOutcome:
    return outcome.without_rows()


def _without_keys(outcome: PartitionOutcome) -> PartitionOutcome:
    return dataclasses.replace(outcome, keys={})


def run_all(client: Any, job: Job, tasks: list[PartitionTask]) -> list[Any]:
    """Every task's outcome as a future (the full outcome, rows included, stays on the
    workers), in the order of ``tasks``. Raises the first failing task's error in
    source order, once every task has stopped."""
    from distributed import wait

    run = uuid.uuid4().hex[:8]
    # A task, not scattered data: lost with a worker, it is computed again.
    shared = client.submit(_same, job, key=f"ldtransform-{run}-job", pure=False)
    first = [client.submit(_run, shared, task, key=f"ldtransform-{run}-{task.index}",
                           pure=False) for task in tasks]
    wait(first)
    _raise_first(client, first)
    keyed = [client.submit(_keys, future, pure=False) for future in first]
    buckets = max(1, min(len(tasks), len(client.scheduler_info().get("workers", ())), 16))
    again = seeds(client, keyed, [task.index for task in tasks], buckets)
    outcomes = list(first)
    # Forget the first outcomes of the sources that run again: lost with a worker, they
    # would otherwise be computed again and could write over the seeded run's parts.
    del first, keyed
    for at, task in enumerate(tasks):
        if task.index in again:
            seeded = task.seeded(again[task.index], [task.source for task in tasks])
            outcomes[at] = client.submit(_run, shared, seeded, pure=False,
                                         key=f"ldtransform-{run}-{task.index}-seeded")
    wait(outcomes)
    _raise_first(client, outcomes)
    return outcomes


def summaries(client: Any, outcomes: list[Any], *, rows: bool = False
              ) -> list[PartitionOutcome]:
    """The outcomes without their keys (and without their rows unless ``rows``),
    gathered on the driver."""
    keep = _without_keys if rows else _summary
    return list(client.gather([client.submit(keep, future, pure=False)
                               for future in outcomes]))


def _raise_first(client: Any, futures: list[Any]) -> None:
    """The error of the first failed task, if any; the others are cancelled first, so
    that none is computed again later (for a lost worker) and writes into ``out``."""
    failed = next((future for future in futures if future.status == "error"), None)
    if failed is None:
        return
    error = failed.exception()
    client.cancel(futures)
    raise error
