"""The server's wall clock, which tests move forward instead of sleeping."""

from __future__ import annotations

import time

__all__ = ["Clock"]


class Clock:
    """Seconds since the epoch, as :func:`time.time`, plus an offset that only grows.

    Token lifetimes, link expiry and login throttling read this clock, so a test can pass
    its own to :func:`ldtransform.server.running` and :meth:`advance` it past a lifetime.
    """

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        """The current time, epoch seconds."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds
