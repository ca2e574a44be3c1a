"""Key hashes and the key index: equal keys meet, different keys do not, in any batch."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from ldtransform._keyindex import KeyIndex, hash_keys

TEXTS = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)


def hashes_of(values: list[str], **array_options: object) -> list[int]:
    return hash_keys([pa.array(values, **array_options)]).tolist()  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.lists(TEXTS, min_size=1, max_size=40))
def test_equal_values_equal_hashes_and_only_they(values: list[str]) -> None:
    hashes = hashes_of(values)
    for i, a in enumerate(values):
        for j, b in enumerate(values):
            assert (hashes[i] == hashes[j]) == (a == b), (a, b)


@settings(max_examples=100, deadline=None)
@given(st.lists(TEXTS, min_size=1, max_size=30), st.integers(0, 29))
def test_a_value_hashes_the_same_in_any_company(values: list[str], pick: int) -> None:
    # one width, many widths, or many long values (hashed a byte at a time): same hash
    value = values[pick % len(values)]
    alone = hashes_of([value])[0]
    assert hashes_of(values)[pick % len(values)] == alone
    long_values = [value] + ["x" * n for n in range(30, 120)]
    assert hashes_of(long_values)[0] == alone
    assert hashes_of([value], type=pa.large_string())[0] == alone
    sliced = pa.array(["prefix", *values, "suffix"]).slice(1 + pick % len(values), 1)
    assert hash_keys([sliced]).tolist() == [alone]
    chunked = pa.chunked_array([pa.array(values[:1]), pa.array([value])])
    assert hash_keys([chunked]).tolist()[1] == alone


def test_other_types_and_several_columns() -> None:
    numbers = hash_keys([pa.array([1, 2, 1, -1], pa.int64())]).tolist()
    assert numbers[0] == numbers[2] and len(set(numbers)) == 3
    dates = hash_keys([pa.array(["2020-01-01", "2020-01-02"]).cast(pa.date32())]).tolist()
    assert dates[0] != dates[1]
    pairs = hash_keys([pa.array(["a", "a", "b", "a"]), pa.array([1, 2, 1, 1])]).tolist()
    assert pairs[0] == pairs[3] and len(set(pairs)) == 3
    swapped = hash_keys([pa.array(["ab", "a"]), pa.array(["c", "bc"])]).tolist()
    assert swapped[0] != swapped[1]  # ("ab", "c") is not ("a", "bc")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(0, 60), max_size=50), max_size=12))
def test_index_names_the_first_row_of_every_key(batches: list[list[int]]) -> None:
    index, first, row = KeyIndex(), {}, 0
    for batch in batches:
        rows = list(range(row + 1, row + 1 + len(batch)))
        row += len(batch)
        keys = [f"K{k}" for k in batch]
        earlier = index.add(hash_keys([pa.array(keys, pa.string())]),
                            np.array(rows, dtype=np.int64)).tolist()
        expected = []
        for key, at in zip(keys, rows, strict=True):
            expected.append(first.get(key, 0))
            first.setdefault(key, at)
        assert earlier == expected
    assert len(index) == len(first)


def test_a_key_costs_twelve_bytes_and_rows_past_four_billion_still_come_back() -> None:
    index = KeyIndex()
    keys = pa.array([f"K{k}" for k in range(10_000)])
    index.add(hash_keys([keys]), np.arange(1, 10_001, dtype=np.int64))
    assert len(index) == 10_000 and index.nbytes == 12 * 10_000
    far = np.arange(2**33, 2**33 + 10_000, dtype=np.int64)
    again = index.add(hash_keys([pa.array([f"L{k}" for k in range(10_000)])]), far)
    assert not again.any()
    repeated = index.add(hash_keys([pa.array(["L5", "K5"])]), np.array([1, 2]))
    assert repeated.tolist() == [2**33 + 5, 6]
