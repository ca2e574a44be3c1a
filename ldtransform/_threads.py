"""The worker threads ldtransform shares.

Arrow's compute kernels release the GIL, so independent column work (checking fields,
encoding halves of a batch) runs on two threads at once: the machines this runs on have at
least two cores, and more threads would only contend for memory bandwidth.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

__all__ = ["POOL"]

POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ldtransform")
