"""Work done ahead on threads comes back in order, errors where they belong."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from ldtransform._batching import mapped_ahead


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
