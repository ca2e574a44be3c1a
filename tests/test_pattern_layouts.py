"""Patterns of a fixed layout are checked a column of bytes at a time, and judge every
value exactly as the regex engine does."""

from __future__ import annotations

import random

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ldtransform._bytelayout import full_match, pattern_layouts
from ldtransform._fieldcheck import _full_match

# (pattern text, characters it matches) per atom
ATOMS = [("A", "A"), ("b", "b"), ("-", "-"), (":", ":"), (" ", " "), ("\\.", "."),
         ("\\+", "+"), ("\\d", "0123456789"), ("[A-Z]", "ABCXYZ"), ("[0-9a-f]", "09af"),
         ("[A-Za-z]", "AZaz"), ("[+-]", "+-"), ("[.x]", ".x"), ("[\\d_]", "05_")]
QUANTIFIERS = ["", "", "?", "{2}", "{0,2}", "{1,3}", "{3}"]
NOISE = "Aab09-:.+ xZé\n语"


@st.composite
def patterns_and_values(draw: st.DrawFn) -> tuple[str, list[str | None]]:
    count = draw(st.integers(0, 5))
    atoms = [(draw(st.sampled_from(ATOMS)), draw(st.sampled_from(QUANTIFIERS)))
             for _ in range(count)]
    pattern = "".join(text + quantifier for (text, _), quantifier in atoms)
    pattern = draw(st.sampled_from(["", "^"])) + pattern + draw(st.sampled_from(["", "$"]))
    seed = draw(st.integers(0, 2**32))
    rng = random.Random(seed)
    values: list[str | None] = []
    for _ in range(draw(st.integers(1, 40))):
        value = ""
        for (_, chars), quantifier in atoms:  # an instance, often a little off
            times = {"": 1, "?": rng.randint(0, 1), "{2}": 2, "{0,2}": rng.randint(0, 2),
                     "{1,3}": rng.randint(1, 3), "{3}": 3}[quantifier]
            value += "".join(rng.choice(chars) for _ in range(times))
        if rng.random() < 0.4 and value:
            at = rng.randrange(len(value))
            value = value[:at] + rng.choice(NOISE) * rng.randint(0, 2) + value[at + 1:]
        values.append(None if rng.random() < 0.1 else value)
    return pattern, values


@settings(max_examples=300, deadline=None)
@given(patterns_and_values())
def test_a_layout_judges_every_value_as_the_regex_does(
        case: tuple[str, list[str | None]]) -> None:
    pattern, values = case
    layouts = pattern_layouts(pattern)
    assume(layouts is not None)  # at most one repetition of varying count
    text = pa.array(values, pa.string())
    expected = pc.match_substring_regex(text, pattern=f"^(?:{pattern})$")
    assert full_match(text, layouts).equals(expected)
    assert _full_match(text, pattern).equals(expected)
    assert _full_match(text.cast(pa.large_string()), pattern).equals(expected)


@pytest.mark.parametrize("pattern", ["a|b", "(ab)", "a*", "a+", "\\w{3}", "[^a]", ".",
                                     "é", "\\d{2,}", "a{1,2}b?", "[[:alpha:]]", "a{2}?",
                                     "\\D", "[a\\]]", "[]a]"])
def test_other_patterns_are_left_to_the_regex_engine(pattern: str) -> None:
    assert pattern_layouts(pattern) is None
    text = pa.array(["a", "ab", "aab", "é", None])
    expected = pc.match_substring_regex(text, pattern=f"^(?:{pattern})$")
    assert _full_match(text, pattern).equals(expected)


def test_the_usual_patterns_have_layouts() -> None:
    phone = pattern_layouts("^\\+\\d{10,12}$")
    assert phone is not None
    assert phone(10) is None and phone(13) is not None and phone(14) is None
    for pattern in ("^AC\\d{8}$", "^[A-Z]{2}-\\d{7}$", "^\\d{5}$", "^LIC-\\d{6}$"):
        assert pattern_layouts(pattern) is not None
