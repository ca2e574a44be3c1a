"""Cutting a block of records into typed columns with Arrow compute, in one pass per field.

Text keeps its leading spaces (fields are left-aligned, so those are content) and loses
the padding on its right; numbers and dates are trimmed on both sides. A blank field is
null whatever its type: a fixed-width file cannot tell an empty value from a missing one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ldtransform_fixedwidth.layout import DECIMAL_PRECISION, Field, Layout

__all__ = ["Problem", "cut"]

SHORT_LINE = "short-line"
TYPE_ERROR = "type-error"  # the code ldtransform's validation gives a value of the wrong type
_TO_THE_END = 2**31 - 1


@dataclass(frozen=True, order=True)
class Problem:
    """Why the record at ``index`` (within its block) cannot become a row."""

    index: int
    code: str
    message: str
    field: str | None
    value: str


def cut(records: pa.StringArray, layout: Layout) -> tuple[list[pa.Array], list[Problem]]:
    """The layout's columns for ``records``, and the records that cannot be rows (one
    Problem each: a short record, else its first field that does not parse)."""
    problems: dict[int, Problem] = {}
    lengths = pc.utf8_length(records)
    need = layout.minimum_length
    for index in _true(pc.less(lengths, need)):
        record = records[index].as_py()
        problems[index] = Problem(index, SHORT_LINE, f"the record is {len(record)} characters "
                                  f"long, but the layout needs {need}", None, record)
    columns = []
    for field in layout.fields:
        text = pc.utf8_slice_codeunits(records, field.start,
                                       _TO_THE_END if field.stop is None else field.stop)
        column, bad, expected = _CONVERTERS[field.type](text, field)
        columns.append(column)
        if bad is None:
            continue
        for index in _true(bad):
            if index not in problems:
                value = text[index].as_py().strip()
                problems[index] = Problem(index, TYPE_ERROR, f"{value!r} is not {expected}",
                                          field.name, value)
    return columns, sorted(problems.values())


def _true(mask: pa.Array) -> list[int]:
    if not pc.any(mask).as_py():
        return []
    flags = pc.fill_null(mask, False).to_numpy(zero_copy_only=False)
    return [int(i) for i in np.flatnonzero(flags)]


Converted = tuple[pa.Array, pa.Array | None, str]


def _nulls_where(mask: pa.Array, values: pa.Array) -> pa.Array:
    return pc.if_else(mask, pa.scalar(None, values.type), values)


def _string(text: pa.Array, field: Field) -> Converted:
    value = pc.utf8_rtrim(text, characters=" ")
    return _nulls_where(pc.equal(value, ""), value), None, "text"


def _integer(text: pa.Array, field: Field) -> Converted:
    value = pc.utf8_trim(text, characters=" ")
    good = pc.match_substring_regex(value, r"^[+-]?\d{1,18}$")
    bad = pc.and_(pc.not_equal(value, ""), pc.invert(good))
    return pc.cast(_nulls_where(pc.invert(good), value), pa.int64()), bad, "an integer"


def _decimal(text: pa.Array, field: Field) -> Converted:
    places = field.decimals
    value = pc.utf8_trim(text, characters=" ")
    whole = DECIMAL_PRECISION - places  # digits before the point that fit the type
    # Digits only: the last ``places`` of them are the fraction (an implied point).
    implied = pc.match_substring_regex(value, rf"^[+-]?\d{{1,{DECIMAL_PRECISION}}}$")
    good = implied
    if places:
        pointed = pc.match_substring_regex(
            value, rf"^[+-]?(\d{{1,{whole}}}\.\d{{0,{places}}}|\.\d{{1,{places}}})$")
        good = pc.or_(implied, pointed)
        sign = pc.if_else(pc.starts_with(value, "-"), "-", "")
        digits = pc.utf8_lpad(pc.utf8_ltrim(value, characters="+-"), places + 1, "0")
        with_point = pc.replace_substring_regex(digits, rf"(\d{{{places}}})$", r".\1")
        value = pc.if_else(implied, pc.binary_join_element_wise(sign, with_point, ""), value)
    bad = pc.and_(pc.not_equal(value, ""), pc.invert(good))
    number = pc.cast(_nulls_where(pc.invert(good), value), field.arrow_type)
    expected = f"a number with at most {places} decimals" if places else "a whole number"
    return number, bad, expected


def _date(text: pa.Array, field: Field) -> Converted:
    value = pc.utf8_trim(text, characters=" ")
    # Blank and all-zero dates both mean "no date" in the exports of older systems.
    empty = pc.match_substring_regex(value, r"^0*$")
    parsed = pc.strptime(value, format=field.format, unit="s", error_is_null=True)
    bad = pc.and_(pc.invert(empty), pc.is_null(parsed))
    date = pc.cast(_nulls_where(empty, parsed), pa.date32())
    return date, bad, f"a date in the form {field.format}"


_CONVERTERS: dict[str, Callable[[pa.Array, Field], Converted]] = {
    "string": _string,
    "integer": _integer,
    "decimal": _decimal,
    "date": _date,
}
