"""Did an import whose answer was lost reach LD? Look before sending anything again.

LD has no "list my jobs", so the evidence is the data: the Items ``updates`` API lists the
items of a type changed after a time. If, since the send, every item of the part changed
to the part's own data, the part arrived; if none did once the server has had time to run
the job, it never arrived and may be sent again; anything between (some items, or too
early to tell) stays undecided and the next run looks again. Comparing the data, not only
the keys, keeps an earlier import of the same keys from passing for this part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from ldtransform.client._items import UpdatesPage
from ldtransform.client.parts import Fingerprint, fingerprint, item_key

__all__ = ["Arrival", "ArrivalCheck", "UpdatesSource"]


class Arrival(Enum):
    ARRIVED = "arrived"
    NEVER = "never arrived"
    UNDECIDED = "not known yet"


class UpdatesSource(Protocol):
    """What the check needs of a client: :meth:`~ldtransform.client.LDClient.updates`."""

    def updates(self, item_type: str, *, processed_after: int = 0,
                last_id: str | None = None, max: int = 1000) -> Iterator[UpdatesPage]: ...


@dataclass(frozen=True)
class ArrivalCheck:
    """Looks for a part's keys among the items changed since its send.

    ``skew_ms`` allows for the server's clock running behind ours (the updates cursor is
    the server's time); ``grace_ms`` is how long after a send a job that has not shown
    any item may still be waiting in LD's queue (until then, no key is not yet "never").
    """

    client: UpdatesSource
    skew_ms: int = 120_000
    grace_ms: int = 120_000
    page_size: int = 1000

    def check(self, item_type: str, key_fields: tuple[str, ...],
              expected: Mapping[tuple[str, ...], Fingerprint | None], sent_ms: int,
              now_ms: int) -> Arrival:
        """``expected``: each key of the part with the fingerprint of its data (None:
        compare the key only). The part arrived when, among the items changed since the
        send, every key's latest version holds the part's data."""
        if not key_fields:
            return Arrival.UNDECIDED
        if not expected:    # a part without items: sending it again imports nothing
            return Arrival.NEVER
        latest: dict[tuple[str, ...], dict[str, Any]] = {}
        for page in self.client.updates(item_type, processed_after=max(0, sent_ms -
                                                                        self.skew_ms),
                                         max=self.page_size):
            for item in page.items:   # in the order LD applied them: later wins
                data = item.get("data") or {}
                key = item_key(data, key_fields)
                if key in expected:
                    latest[key] = data
        matching = sum(1 for key, data in latest.items()
                       if _holds(data, expected[key]))
        if matching == len(expected):
            return Arrival.ARRIVED
        if matching == 0 and now_ms - sent_ms >= self.grace_ms:
            return Arrival.NEVER
        return Arrival.UNDECIDED


def _holds(data: dict[str, Any], expected: Fingerprint | None) -> bool:
    return expected is None or fingerprint(data, expected[0]) == expected


def wait_for_decision(check: Callable[[], Arrival], *, deadline_ms: int,
                      clock: Callable[[], int], sleep: Callable[[float], object],
                      every: float = 1.0) -> Arrival:
    """Ask ``check`` until it decides or ``deadline_ms`` passes (a job still in LD's
    queue shows its items within the grace time)."""
    while True:
        answer = check()
        if answer is not Arrival.UNDECIDED or clock() >= deadline_ms:
            return answer
        sleep(every)
