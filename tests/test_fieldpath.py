"""The field-path grammar: parsing, the canonical text, and its errors."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ldtransform.fieldpath import MAX_LIST_INDEX, FieldPath, FieldPathError, Step

names = st.from_regex(r"[A-Za-z_@$-][A-Za-z0-9_@$-]{0,8}", fullmatch=True)
steps = st.builds(Step, names, st.integers(0, 10**6)) | st.builds(Step, names) \
    | st.builds(Step, names, every=st.just(True))


@given(st.lists(steps, min_size=1, max_size=5))
def test_the_canonical_text_parses_back_to_the_same_path(parts):
    path = FieldPath(tuple(parts))
    assert FieldPath.parse(str(path)) == path


@pytest.mark.parametrize(("text", "steps"), [
    ("city", (Step("city"),)),
    ("addresses[0].city", (Step("addresses", 0), Step("city"))),
    ("phones[].number", (Step("phones", every=True), Step("number"))),
    ("deliveryDays[1]", (Step("deliveryDays", 1),)),
])
def test_parse_splits_steps(text, steps):
    path = FieldPath.parse(text)
    assert path.steps == steps
    assert str(path) == text


@pytest.mark.parametrize("text", [
    "", ".city", "city.", "a..b", "a[0", "a]0[", "a[x].b", "a[-1]", "a[0][1]", "[0]",
    "a b", "city\n", "a.[0]",
])
def test_bad_syntax_is_refused_with_the_path_in_the_message(text):
    with pytest.raises(FieldPathError, match="is not a field path") as caught:
        FieldPath.parse(text)
    assert isinstance(caught.value, ValueError)


def test_an_index_too_long_for_an_int_is_refused():
    with pytest.raises(FieldPathError, match="too long"):
        FieldPath.parse(f"a[{'9' * 5000}]")


def test_largest_index_against_the_cap():
    assert FieldPath.parse(f"a[3].b[{MAX_LIST_INDEX}]").largest_index == MAX_LIST_INDEX
    assert FieldPath.parse("a[007]").largest_index == 7
    assert FieldPath.parse("a.b[]").largest_index is None
    assert MAX_LIST_INDEX == 99
