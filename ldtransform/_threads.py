"""The worker threads ldtransform shares.

Arrow's compute kernels release the GIL, so independent column work (checking fields,
encoding halves of a batch) runs on two threads at once: the machines this runs on have at
least two cores, and more threads would only contend for memory bandwidth.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

__all__ = ["KEYS", "POOL"]

POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ldtransform")
#: Keeps the key index of a validation up to date beside the field checks (numpy, which
#: also releases the GIL); one thread, so batches reach the index in order.
KEYS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ldtransform-keys")
