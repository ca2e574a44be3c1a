"""Cells of the template CSV writer: LD text, RFC 4180 quoting, spreadsheet safety.

Every cell exists twice here, once for a single Python value (row mode, where Jinja2
renders one record at a time) and once for a whole Arrow column (column mode). The two
must agree byte for byte, so the Python side imitates Arrow where Arrow is the reference:
numbers are spelled as Arrow casts them to text (``1e+10``, ``0.000001``), which is not
how Python's ``repr`` spells them, because :func:`~ldtransform.writers._values.ld_text`
is what the rest of ldtransform writes.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ldtransform.errors import UnwritableValueError
from ldtransform.writers._values import decimal_text, json_literal, ld_text, not_finite_message

__all__ = [
    "Quoted",
    "column_text",
    "fill_text",
    "guard_column",
    "guard_text",
    "ld_datetime_text",
    "localized",
    "number_text",
    "quote_column",
    "quote_text",
    "value_text",
]

#: Characters that make a spreadsheet read a cell as a formula (or hide what follows).
FORMULA_STARTS = "=+-@\t\r"


class Quoted(str):
    """Text already quoted for CSV (the ``csv`` filter's result): never quoted twice."""

    __slots__ = ()


# -- single values (row mode) ---------------------------------------------------------

def number_text(value: float) -> str:
    """A float as Arrow spells it, plus LD's ``.0`` on whole numbers; nan and inf raise
    :class:`~ldtransform.errors.UnwritableValueError`, as the column writers do.

    Arrow prints the shortest round-trip digits (as ``repr`` does) but switches to an
    exponent outside 1e-6 <= |x| < 1e10, with no zero padding in the exponent.
    """
    if not math.isfinite(value):
        raise UnwritableValueError(not_finite_message(value))
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    digits, exponent = _shortest_digits(abs(value))
    if digits == "0":
        text = "0"
    elif -6 <= exponent < 10:
        if exponent >= 0:
            whole = digits[: exponent + 1].ljust(exponent + 1, "0")
            fraction = digits[exponent + 1:]
            text = whole + ("." + fraction if fraction else "")
        else:
            text = "0." + "0" * (-exponent - 1) + digits
    else:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        text = f"{mantissa}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"
    text = sign + text
    return text + ".0" if re.fullmatch(r"-?\d+", text) else text


def _shortest_digits(value: float) -> tuple[str, int]:
    """(significant digits, decimal exponent of the first) of Python's shortest repr."""
    mantissa, _, power = repr(value).partition("e")
    whole, _, fraction = mantissa.partition(".")
    exponent = int(power or 0) + len(whole) - 1
    digits = (whole + fraction).lstrip("0")
    exponent -= len(whole + fraction) - len((whole + fraction).lstrip("0"))
    digits = digits.rstrip("0")
    return (digits, exponent) if digits else ("0", 0)


def localized(value: datetime, zone: ZoneInfo) -> datetime:
    """A local wall time in ``zone`` as an aware time, as the column writers read it
    (Arrow's ``assume_timezone(ambiguous="earliest", nonexistent="latest")``): a time that
    occurs twice is the first, a time skipped by a clock change is the moment of the
    change (the day of a date whose midnight is skipped still starts on that date)."""
    moment = value.replace(tzinfo=zone)  # fold 0: the first of a repeated time
    if moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == value:
        return moment
    # Skipped: the change lies between reading the time with the offset after it (too
    # early) and with the offset before it (too late); find it to the microsecond.
    early = value.replace(tzinfo=zone, fold=1).astimezone(UTC)
    late = moment.astimezone(UTC)
    after = late.astimezone(zone).utcoffset()
    while late - early > timedelta(microseconds=1):
        middle = early + (late - early) / 2
        if middle.astimezone(zone).utcoffset() == after:
            late = middle
        else:
            early = middle
    return late.astimezone(zone)


def ld_datetime_text(value: date | datetime, timezone: str, pattern: str | None = None) -> str:
    """A date-time LD's way (``2014-02-01T05:00:00+0000``, UTC, whole seconds), or with a
    strftime ``pattern`` in UTC; a date is midnight in ``timezone``."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    moment = value if value.tzinfo else localized(value, ZoneInfo(timezone))
    utc = moment.astimezone(UTC).replace(microsecond=0)
    if pattern is not None:
        return utc.strftime(pattern)
    return (f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:"
            f"{utc.minute:02d}:{utc.second:02d}+0000")


def value_text(value: Any, timezone: str) -> str | None:
    """The text of one value as :func:`ld_text` writes it; None is an empty cell."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number_text(value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, date):
        return ld_datetime_text(value, timezone)
    if isinstance(value, list | dict):
        return orjson.dumps(value, default=lambda v: _json_default(v, timezone),
                            option=orjson.OPT_PASSTHROUGH_DATETIME).decode()
    return str(value)


def _json_default(value: Any, timezone: str) -> str | orjson.Fragment:
    if isinstance(value, date):
        return ld_datetime_text(value, timezone)
    if isinstance(value, Decimal):  # a JSON number of the exact digits, as columns write
        return orjson.Fragment(decimal_text(value))
    raise TypeError(f"cannot write a {type(value).__name__} as JSON")


def guard_text(text: str) -> str:
    """Prefix ``'`` to text a spreadsheet would run as a formula."""
    return "'" + text if text and text[0] in FORMULA_STARTS else text


def quote_text(text: str, delimiter: str) -> str:
    """RFC 4180: quote a cell holding the delimiter, a quote, CR or LF; double quotes."""
    if delimiter in text or '"' in text or "\r" in text or "\n" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


# -- whole columns (column mode) ------------------------------------------------------

def column_text(array: pa.Array, timezone: str, unset: str | None) -> pa.Array:
    """Each value's cell text (null for an empty cell), as :func:`value_text` gives it."""
    if pa.types.is_nested(array.type):
        # ld_text spells a missing record "null" or "[]"; a template cell stays empty.
        text = json_literal(array, timezone=timezone, unset=unset)
        return pc.if_else(pc.is_null(array), pa.scalar(None, pa.string()), text)
    text = ld_text(array, timezone=timezone, unset=unset)
    return text if text.type == pa.string() else pc.cast(text, pa.string())


def guard_column(text: pa.Array) -> pa.Array:
    """:func:`guard_text` over a column of text."""
    risky = pc.fill_null(pc.match_substring_regex(text, pattern=r"^[=+\-@\t\r]"), False)
    if not pc.any(risky).as_py():
        return text
    return pc.if_else(risky, pc.binary_join_element_wise("'", text, ""), text)


def quote_column(text: pa.Array, delimiter: str) -> pa.Array:
    """:func:`quote_text` over a column of text (nulls stay null)."""
    # RE2's \x{..} spells any character safely, in a class or out of one.
    special = "[" + "".join(_re2(c) for c in '"\r\n' + delimiter[:1]) + "]"
    if len(delimiter) != 1:
        special = '["\\r\\n]|' + "".join(_re2(c) for c in delimiter)
    needs = pc.fill_null(pc.match_substring_regex(text, pattern=special), False)
    if not pc.any(needs).as_py():
        return text
    # Few cells need quotes: quote just those and put them back in place.
    doubled = pc.replace_substring(pc.filter(text, needs), pattern='"', replacement='""')
    return pc.replace_with_mask(text, needs, pc.binary_join_element_wise('"', doubled, '"',
                                                                         ""))


def _re2(character: str) -> str:
    return f"\\x{{{ord(character):x}}}"


def fill_text(array: pa.Array, unset: str | None) -> pa.Array:
    """``array`` with null text (also inside lists and records) spelled ``unset``, as the
    column writers do, so that row mode sees the same values."""
    kind = array.type
    if unset is None:
        return array
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pc.fill_null(array, unset)
    if pa.types.is_struct(kind):
        children = [fill_text(array.field(i), unset) for i in range(kind.num_fields)]
        return pa.StructArray.from_arrays(children, names=[f.name for f in kind],
                                          mask=pc.is_null(array))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        values = fill_text(array.flatten(), unset)
        cls = pa.LargeListArray if pa.types.is_large_list(kind) else pa.ListArray
        offsets = pc.subtract(array.offsets, array.offsets[0])
        return cls.from_arrays(offsets, values, mask=pc.is_null(array))
    return array
