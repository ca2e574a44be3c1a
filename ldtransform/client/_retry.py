"""Capped exponential backoff with full jitter, honouring ``Retry-After``, within a budget."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

__all__ = ["RetryPolicy", "Retrying", "retry_after_seconds"]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a request that is safe to repeat.

    ``attempts`` counts the first try; ``budget`` caps the seconds spent waiting between
    attempts of one request. ``sleep`` and ``random`` are injectable for tests.
    """

    attempts: int = 5
    base: float = 0.25
    cap: float = 8.0
    budget: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    random: Callable[[float, float], float] = field(default=random.uniform, repr=False,
                                                    compare=False)

    def backoff(self, retry: int) -> float:
        """The jittered wait before retry number ``retry`` (0 for the first retry)."""
        return self.random(0.0, min(self.cap, self.base * 2 ** retry))


DEFAULT_RETRY = RetryPolicy()


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """``Retry-After`` as seconds (it may be a number or an HTTP date), or None."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


class Retrying:
    """The retry state of one request: attempts made and waiting time spent."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.attempt = 0
        self.waited = 0.0

    def next_delay(self, retry_after: float | None = None) -> float | None:
        """Seconds to wait before trying again, or None when attempts or budget are spent."""
        self.attempt += 1
        if self.attempt >= self.policy.attempts:
            return None
        delay = retry_after if retry_after is not None else self.policy.backoff(self.attempt - 1)
        if self.waited + delay > self.policy.budget:
            return None
        self.waited += delay
        return delay
