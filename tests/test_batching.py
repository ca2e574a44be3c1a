"""Work done ahead on threads comes back in order, errors where they belong."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from ldtransform._batching import mapped_ahead, prefetched


def test_results_come_in_order_whatever_finishes_first() -> None:
    def slow_for_small(n: int) -> int:
        time.sleep(0.002 * (5 - n % 5))  # earlier items finish later
        return n * n

    assert list(mapped_ahead(slow_for_small, range(20))) == [n * n for n in range(20)]


def test_only_a_few_items_are_taken_ahead_of_the_caller() -> None:
    taken: list[int] = []

    def items() -> Iterator[int]:
        for n in range(100):
            taken.append(n)
            yield n

    results = mapped_ahead(lambda n: n, items(), at_once=2)
    assert next(results) == 0
    assert len(taken) <= 4  # the one handed over, two computing, one being submitted
    results.close()


def test_an_error_is_raised_in_the_caller_where_its_item_is() -> None:
    def failing_at_three(n: int) -> int:
        if n == 3:
            raise ValueError("item 3")
        return n

    seen = []
    with pytest.raises(ValueError, match="item 3"):
        for value in mapped_ahead(failing_at_three, range(10)):
            seen.append(value)
    assert seen == [0, 1, 2]


def test_stopping_early_leaves_no_thread_behind() -> None:
    before = {t for t in threading.enumerate() if t.name.startswith("ldtransform-ahead")}
    results = mapped_ahead(lambda n: n, range(1000))
    assert next(results) == 0
    results.close()
    left = {t for t in threading.enumerate() if t.name.startswith("ldtransform-ahead")}
    assert left <= before


def test_prefetched_reads_at_most_depth_items_ahead_of_the_one_in_hand() -> None:
    """The bound counts an item still being read: with depth 1, the next item is read
    while this one is in hand, and no further."""
    taken: list[int] = []
    more = threading.Condition()

    def items() -> Iterator[int]:
        for n in range(100):
            with more:
                taken.append(n)
                more.notify_all()
            yield n

    for depth in (1, 3):
        taken.clear()
        batches = prefetched(items(), depth=depth)
        for expected in range(5):
            assert next(batches) == expected
            bound = expected + 1 + depth
            with more:  # the reader goes on to the next ones by itself...
                assert more.wait_for(lambda b=bound: len(taken) >= b, timeout=10)
            time.sleep(0.02)  # ...and stops there (given time to go wrong)
            assert len(taken) == bound, (depth, expected, taken)
        batches.close()


def test_prefetched_gives_everything_in_order_and_raises_where_the_error_is() -> None:
    def failing_at(n: int) -> Iterator[int]:
        yield from range(n)
        raise ValueError(f"after {n}")

    assert list(prefetched(iter(range(50)), depth=1)) == list(range(50))
    seen: list[int] = []
    with pytest.raises(ValueError, match="after 7"):
        seen.extend(prefetched(failing_at(7), depth=2))
    assert seen == list(range(7))


def test_prefetched_stopping_early_leaves_no_thread_behind() -> None:
    batches = prefetched(iter(range(10_000)), depth=2)
    assert next(batches) == 0
    batches.close()
    assert not [t for t in threading.enumerate() if t.name == "ldtransform-read-ahead"]
