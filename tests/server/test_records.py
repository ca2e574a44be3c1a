"""The generated fast record test agrees with the detailed checks on good and bad data."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ldkit import ACCOUNTS, SCHEMAS

from ldtransform.schema import ItemSchema, load_schema
from ldtransform.server.records import RecordChecker

ACCOUNT = RecordChecker(load_schema(SCHEMAS / "Account.json"))
ATTENDEE = RecordChecker(load_schema(SCHEMAS / "Attendee.json"))
SAMPLES = [item["data"] for item in json.loads(ACCOUNTS.read_text())]
ODD = [None, "", "x", "ABC123", 0, -1, 1.5, 3.0, True, False, [], {}, [{}], ["Fri"], [None],
       "2014-02-01T05:00:00+0000", "2014-13-01T05:00:00+0000", "2014-02-01",
       "/Account/accountClass[invoiced]", "/Account/accountClass[other]", "LIC-123456",
       "02134", "USD", "x" * 100, [{"city": "Boston", "addressType": "Work"}],
       2**63, -(2**63) - 1, 2.0**64, float("inf"), float("nan")]


def detailed(checker: RecordChecker, data: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    checker._check(data, "", out)
    return out


def test_samples_are_valid() -> None:
    for data in SAMPLES:
        assert ACCOUNT.is_valid(data) and ACCOUNT.check(data) == []


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += paths(inner, (*prefix, i))
    return found


def replaced(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    copied = copy.deepcopy(data)
    target: Any = copied
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copied


@pytest.mark.parametrize("sample", range(0, len(SAMPLES), 5))
def test_every_field_replaced_by_odd_values(sample: int) -> None:
    data = SAMPLES[sample]
    for path in paths(data):
        for value in ODD:
            changed = replaced(data, path, value)
            problems = detailed(ACCOUNT, changed)
            assert ACCOUNT.is_valid(changed) == (not problems), (path, value, problems)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["attendeeId", "firstName", "lastName", "email",
                                        "event", "registeredAt", "checkedIn", "guests",
                                        "extra"]),
                       st.one_of(st.none(), st.booleans(), st.integers(-3, 12),
                                 st.floats(allow_nan=False), st.text(max_size=6),
                                 st.sampled_from(["/Attendee/event[summit]", "a@b.co",
                                                  "2015-05-26T13:35:25+0000"]))))
def test_fast_and_detailed_checks_agree(data: dict[str, Any]) -> None:
    assert ATTENDEE.is_valid(data) == (not detailed(ATTENDEE, data))


NUMBERS = RecordChecker(ItemSchema.from_dict({
    "itemType": "Thing", "fields": [{"name": "count", "type": "integer"},
                                    {"name": "amount", "type": "number"},
                                    {"name": "price", "type": "decimal"}]}))


@pytest.mark.parametrize(("data", "bad"), [
    ({"count": 2**63 - 1, "amount": 1e308, "price": 0.1}, None),
    ({"count": -(2**63), "amount": -5, "price": 12}, None),
    ({"count": 2**63}, "count"),               # orjson reads integers up to 2**64 - 1
    ({"count": -(2**63) - 1}, "count"),
    ({"count": 2.0**64}, "count"),             # ...and larger ones as floats
    ({"amount": float("inf")}, "amount"),      # Python's json reads 1e309 as inf
    ({"amount": float("nan")}, "amount"),
    ({"price": float("-inf")}, "price"),
])
def test_numbers_outside_what_the_types_hold_are_type_problems(data: dict[str, Any],
                                                                bad: str | None) -> None:
    problems = NUMBERS.check(data)
    assert NUMBERS.is_valid(data) == (bad is None)
    assert [(path, code) for path, code, _ in problems] == ([] if bad is None
                                                            else [(bad, "type-error")])
    if bad == "count":
        assert "9223372036854775807" in problems[0][2]
