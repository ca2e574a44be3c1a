"""Injected faults for reliability tests: seeded HTTP errors and delays per route.

Each ``[[faults]]`` entry of the config names a route (a path, or a prefix ending in
``*``) and either a ``status`` (429, 500, 502, 503 or 504, answered with ``Retry-After``
when ``retry_after`` is set) or a ``delay`` in seconds, or both. ``first = N`` limits the
fault to the first N matching requests; otherwise each request is hit with
``probability``, drawn from a generator seeded with ``fault_seed``, so a test run is
reproducible.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from ldtransform.server.config import Fault

__all__ = ["FaultInjector"]


def _matches(fault: Fault, path: str, method: str) -> bool:
    if fault.methods and method not in fault.methods:
        return False
    if fault.route.endswith("*"):
        return path.startswith(fault.route[:-1])
    return path.rstrip("/") == fault.route.rstrip("/")


class FaultInjector:
    """ASGI middleware answering some requests with an error, or delaying them."""

    def __init__(self, app: ASGIApp, faults: tuple[Fault, ...], seed: int) -> None:
        self.app = app
        self.faults = faults
        self._random = [random.Random(f"{seed}:{i}") for i in range(len(faults))]
        self._hits = [0] * len(faults)
        self._lock = threading.Lock()

    def _pick(self, path: str, method: str) -> Fault | None:
        with self._lock:
            for i, fault in enumerate(self.faults):
                if not _matches(fault, path, method):
                    continue
                self._hits[i] += 1
                if fault.first is not None:
                    if self._hits[i] <= fault.first:
                        return fault
                elif self._random[i].random() < fault.probability:
                    return fault
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.faults:
            await self.app(scope, receive, send)
            return
        fault = self._pick(scope["path"], scope["method"])
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is None or fault.status is None:
            await self.app(scope, receive, send)
            return
        await self._answer(fault, send)

    @staticmethod
    async def _answer(fault: Fault, send: Send) -> None:
        body = json.dumps({"error": "injected_fault", "error_description":
                           f"injected fault {fault.status} (test configuration)"}).encode()
        headers: list[tuple[bytes, Any]] = [(b"content-type", b"application/json"),
                                            (b"content-length", str(len(body)).encode())]
        if fault.retry_after is not None:
            headers.append((b"retry-after", f"{fault.retry_after:g}".encode()))
        await send({"type": "http.response.start", "status": fault.status,
                    "headers": headers})
        await send({"type": "http.response.body", "body": body})
