"""Vectorised conversion of one column to a schema field's type.

Each converter takes an Arrow array as it came from a reader or a mapping (text, or typed
values from Excel/Parquet/JSON) and returns the typed array plus a mask of the values that
could not be converted. A value that cannot become the field's type is never turned into
a silent null: the caller reports every position in the mask as a ``type-error``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Context, Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ldtransform._bytelayout import Layout, matching, pattern_layouts
from ldtransform.schema import ARROW_TYPES

__all__ = ["FALSE_WORDS", "TRUE_WORDS", "Converted", "convert_scalar", "once_per_distinct",
           "real_calendar_day", "strptime_real_days", "to_text"]

TRUE_WORDS = ("true", "yes", "y", "t", "1", "on")
FALSE_WORDS = ("false", "no", "n", "f", "0", "off")
INTEGER_TEXT = r"^[+-]?\d+$"
NUMBER_TEXT = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
#: A number whose digits are all zero: the only text that may become 0.0.
ZERO_TEXT = r"^[+-]?(0+\.?0*|\.0+)([eE][+-]?\d+)?$"
#: The digits of int64's extremes, without sign or leading zeros: (positive, negative).
INT64_DIGITS = ("9223372036854775807", "9223372036854775808")
LARGEST_EXACT_FLOAT = 2.0**53
#: Below this magnitude a float64 keeps fewer digits (subnormal) or none (0.0).
SMALLEST_NORMAL_FLOAT = 2.2250738585072014e-308
#: Text forms tried in order; a form without an offset is local time in the schema's zone.
DATETIME_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
                    "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S")
UTC_MICROS = pa.timestamp("us", tz="UTC")

#: What a failed conversion expects, for the message of a ``type-error``.
EXPECTED = {
    "integer": "a whole number such as 42",
    "number": "a number such as 3.5 (a dot for decimals, no thousands separator)",
    "decimal": "a number such as 3.5 (a dot for decimals, no thousands separator)",
    "boolean": "true/false, yes/no or 1/0",
    "date": "a date such as 2014-02-01",
    "datetime": "a date-time such as 2014-02-01T05:00:00+0000 or 2014-02-01",
    "string": "text",
    "enumeration": "text",
}
#: Why a value that looks right still cannot be kept, for the message of a ``type-error``.
OUT_OF_RANGE = ("{value} is out of range for a whole number (-9223372036854775808 to "
                "9223372036854775807)")
TOO_LARGE = "{value} is too large for a number (beyond ±1.8e308)"
TOO_SMALL = ("{value} is too small for a number to keep (nearer zero than ±2.2e-308); "
             "write 0 if it means zero")
NOT_FINITE = "{value} is not a finite number"


@dataclass(frozen=True)
class Converted:
    """The typed values and which input values failed to convert."""

    values: pa.Array
    failed: pa.Array  # boolean, no nulls
    #: Failed values with a more precise reason than "not a <type>": (mask, message).
    reasons: tuple[tuple[pa.Array, str], ...] = ()


def to_text(array: pa.Array) -> pa.Array:
    """Any scalar Arrow array as text the way a person would write it."""
    kind = array.type
    if pa.types.is_string(kind):
        return array
    if pa.types.is_large_string(kind) or pa.types.is_dictionary(kind):
        return pc.cast(array, pa.string())
    if pa.types.is_null(kind):
        return pa.nulls(len(array), pa.string())
    if pa.types.is_boolean(kind):
        return pc.if_else(array, "true", "false")
    if pa.types.is_timestamp(kind):
        fmt = "%Y-%m-%dT%H:%M:%S%z" if kind.tz else "%Y-%m-%dT%H:%M:%S"
        return pc.strftime(array, format=fmt)
    if pa.types.is_date(kind):
        return pc.strftime(array, format="%Y-%m-%d")
    try:
        return pc.cast(array, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return pa.array([None if v is None else str(v) for v in array.to_pylist()],
                        pa.string())


def _blank_to_null(text: pa.Array, missing: tuple[str, ...]) -> pa.Array:
    if not missing:
        return text
    blank = (pc.equal(text, missing[0]) if len(missing) == 1  # the usual [""]: faster
             else pc.is_in(text, value_set=pa.array(missing, pa.string())))
    if not blank.true_count:
        return text  # nothing blank: no copy of the text
    return pc.if_else(blank, pa.scalar(None, pa.string()), text)


def _failed(before: pa.Array, after: pa.Array) -> pa.Array:
    """Present before conversion, absent after: the value could not be converted."""
    return pc.and_(pc.is_valid(before), pc.is_null(after))


def convert_scalar(array: pa.Array, kind: str, *, missing: tuple[str, ...] = ("",),
                   formats: tuple[str, ...] = (), timezone: str = "UTC",
                   arrow_type: pa.DataType | None = None) -> Converted:
    """Convert ``array`` to the Arrow type of schema type ``kind`` (``arrow_type`` when
    given: a decimal's precision and scale)."""
    target = arrow_type or ARROW_TYPES[kind]
    if kind == "decimal":
        return _decimals(array, target, missing)
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type) \
            or pa.types.is_dictionary(array.type):
        text = _blank_to_null(to_text(array), missing)
        if kind in _NUMERIC_TEXT:
            return _NUMERIC_TEXT[kind](text)
        values = _from_text(text, kind, formats, timezone)
        return Converted(values, _failed(text, values))
    if pa.types.is_null(array.type):
        return Converted(pa.nulls(len(array), target), pa.nulls(len(array), pa.bool_())
                         .fill_null(False))
    if kind in ("integer", "number") and (pa.types.is_integer(array.type)
                                          or pa.types.is_floating(array.type)):
        return _typed_numbers(array, kind)
    values = _from_typed(array, kind, timezone)
    return Converted(values, _failed(array, values))


def _null_where(mask: pa.Array, values: pa.Array) -> pa.Array:
    return pc.if_else(mask, pa.scalar(None, values.type), values)


def _trimmed_matches(text: pa.Array, plain: pa.Array, pattern: str) -> tuple[pa.Array, pa.Array]:
    """Where ``text`` matches ``pattern`` once trimmed (never null), and the trimmed text.

    ``plain`` marks values known to match as they stand (digits, say): usually nearly
    all of them, so only the others are trimmed and run through the regex, which costs
    several times more per value than the checks that found the plain ones.
    """
    plain = pc.fill_null(plain, False)
    rest = pc.invert(plain)
    if not rest.true_count:
        return plain, text
    others = pc.utf8_trim_whitespace(text.filter(rest))
    matched = pc.fill_null(pc.match_substring_regex(others, pattern=pattern), False)
    return (pc.replace_with_mask(plain, rest, matched),
            pc.replace_with_mask(text, rest, others))


def _digits_and_point(text: pa.Array) -> pa.Array:
    """Where ``text`` is ASCII digits with at most one point among them (``12``, ``1.5``,
    ``.5``, ``5.``), which every number pattern accepts."""
    points = pc.count_substring(text, ".")
    only = pc.equal(pc.binary_length(pc.ascii_ltrim(text, characters="0123456789.")), 0)
    return pc.and_(only, pc.and_(pc.less_equal(points, 1),
                                 pc.greater(pc.binary_length(text), points)))


def _integers_from_text(text: pa.Array) -> Converted:
    """Whole numbers, the whole int64 range; beyond it an out-of-range error, not a wrap."""
    whole, trimmed = _trimmed_matches(text, pc.ascii_is_decimal(text), INTEGER_TEXT)
    unsigned = pc.utf8_ltrim(trimmed, characters="+")  # Arrow's parser refuses "+5"
    longest = pc.max(pc.binary_length(unsigned)).as_py()
    if longest is None or longest < 19:  # 18 characters hold at most 18 digits: all fit
        values = pc.cast(pc.if_else(whole, unsigned, pa.scalar(None, pa.string())),
                         pa.int64())
        return Converted(values, _failed(text, values))
    digits = pc.utf8_ltrim(pc.utf8_ltrim(unsigned, characters="-"), characters="0")
    limit = pc.if_else(pc.starts_with(unsigned, "-"), INT64_DIGITS[1], INT64_DIGITS[0])
    length = pc.utf8_length(digits)
    fits = pc.or_(pc.less(length, 19), pc.and_(pc.equal(length, 19),
                                                pc.less_equal(digits, limit)))
    outside = pc.and_(whole, pc.invert(pc.fill_null(fits, False)))
    keep = pc.and_(whole, pc.invert(outside))
    values = pc.cast(pc.if_else(keep, unsigned, pa.scalar(None, pa.string())), pa.int64())
    return Converted(values, _failed(text, values), ((outside, OUT_OF_RANGE),))


def _numbers_from_text(text: pa.Array) -> Converted:
    """Floats; text beyond float64's range, or so near zero that digits are lost, is an
    error rather than inf or 0.0."""
    looks, trimmed = _trimmed_matches(text, _digits_and_point(text), NUMBER_TEXT)
    parsed = pc.cast(pc.if_else(looks, trimmed, pa.scalar(None, pa.string())), pa.float64())
    too_large = pc.fill_null(pc.invert(pc.is_finite(parsed)), False)
    tiny = pc.fill_null(pc.less(pc.abs(parsed), SMALLEST_NORMAL_FLOAT), False)
    too_small = tiny
    if tiny.true_count:  # zeros, mostly: only their text is looked at again
        zero_text = pc.match_substring_regex(trimmed.filter(tiny), pattern=ZERO_TEXT)
        too_small = pc.replace_with_mask(tiny, tiny, pc.invert(zero_text))
    values = _null_where(pc.or_(too_large, too_small), parsed)
    return Converted(values, _failed(text, values),
                     ((too_large, TOO_LARGE), (too_small, TOO_SMALL)))


_NUMERIC_TEXT: dict[str, Callable[[pa.Array], Converted]] = {
    "integer": _integers_from_text, "number": _numbers_from_text}


def _decimals(array: pa.Array, target: pa.Decimal128Type,
              missing: tuple[str, ...]) -> Converted:
    """Exact decimals of ``target``'s precision and scale, from text or any typed number
    (a float by its shortest text, so 0.1 is 0.1). A value with more digits than the field
    holds is an error, never rounded."""
    if pa.types.is_null(array.type):
        return Converted(pa.nulls(len(array), target),
                         pa.array([False] * len(array), pa.bool_()))
    text = to_text(array)
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type) \
            or pa.types.is_dictionary(array.type):
        text = _blank_to_null(text, missing)
    trimmed = pc.utf8_trim_whitespace(text)
    looks = pc.fill_null(pc.match_substring_regex(trimmed, pattern=NUMBER_TEXT), False)
    candidates = pc.if_else(looks, trimmed, pa.scalar(None, pa.string()))
    try:  # Arrow refuses the whole column if one value does not fit; usually all do
        values = pc.cast(candidates, target)
        return Converted(values, _failed(text, values))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    fitted = [None if value is None else _fit_decimal(value, target.precision, target.scale)
              for value in candidates.to_pylist()]
    values = pa.array([v if isinstance(v, Decimal) else None for v in fitted], target)
    reasons = []
    for problem, message in (("scale", "{value} has more digits after the decimal point "
                              f"than the field's scale of {target.scale}; it is not rounded"),
                             ("precision", "{value} has more digits before the decimal "
                              f"point than the field holds ({target.precision - target.scale}"
                              f": precision {target.precision}, scale {target.scale})")):
        reasons.append((pa.array([v == problem for v in fitted], pa.bool_()), message))
    return Converted(values, _failed(text, values), tuple(reasons))


def _fit_decimal(text: str, precision: int, scale: int) -> Decimal | str:
    """``text`` as a Decimal of ``scale`` places, or which limit it exceeds: "scale" (more
    places) or "precision" (more digits before the point)."""
    mantissa, _, power = text.lower().partition("e")
    # An exponent past 10**18 is past any decimal128 alike (and past int()'s digit limit).
    exponent = int(power or 0) if len(power) < 20 else int(power[0] + "1" + "0" * 18)
    value = Decimal(mantissa)  # the exponent apart: Decimal refuses ones past 10**18
    if value.is_zero():
        return Decimal(0)
    if value.adjusted() + exponent >= precision - scale:
        return "precision"
    _, digits, own = value.as_tuple()
    assert isinstance(own, int)  # finite: the text matched NUMBER_TEXT
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    if -(own + exponent + trailing) > scale:
        return "scale"
    return value.scaleb(exponent, context=_EXACT).quantize(Decimal(1).scaleb(-scale),
                                                           context=_EXACT)


#: Enough digits for any value of a decimal128 (at most 38, and 38 places).
_EXACT = Context(prec=80)


def _typed_numbers(array: pa.Array, kind: str) -> Converted:
    """Integers and floats of typed sources (Excel, Parquet, JSON) as integers or numbers:
    nan, inf and integers beyond int64 are reported, never passed on or wrapped."""
    source = array.type
    if kind == "number":
        numbers = pc.cast(array, pa.float64(), safe=False)  # large integers: the nearest
        finite = pc.is_finite(numbers)
        values = _null_where(pc.invert(finite), numbers)
        return Converted(values, _failed(array, values),
                         ((pc.fill_null(pc.invert(finite), False), NOT_FINITE),))
    if pa.types.is_integer(source):
        outside = pc.fill_null(pc.greater(array, pa.scalar(2**63 - 1, pa.uint64())), False) \
            if source == pa.uint64() else pa.array([False] * len(array), pa.bool_())
        values = pc.cast(_null_where(outside, array), pa.int64())
        return Converted(values, _failed(array, values), ((outside, OUT_OF_RANGE),))
    whole = pc.and_(pc.equal(pc.floor(array), array),
                    pc.less_equal(pc.abs(array), LARGEST_EXACT_FLOAT))
    values = pc.cast(pc.if_else(whole, array, pa.scalar(None, source)), pa.int64())
    return Converted(values, _failed(array, values))


def _from_text(text: pa.Array, kind: str, formats: tuple[str, ...],
               timezone: str) -> pa.Array:
    if kind in ("string", "enumeration"):
        return text
    if kind in _NUMERIC_TEXT:
        return _NUMERIC_TEXT[kind](text).values
    if kind == "boolean":  # a handful of words, each read once
        return once_per_distinct(text, _booleans_from_words, repeats=2)
    if kind in ("datetime", "date"):
        return _dates_from_text(text, kind, formats, timezone)
    raise ValueError(f"no text conversion for type {kind!r}")


def _booleans_from_words(text: pa.Array) -> pa.Array:
    word = pc.utf8_lower(pc.utf8_trim_whitespace(text))
    is_true = pc.is_in(word, value_set=pa.array(TRUE_WORDS))
    is_false = pc.is_in(word, value_set=pa.array(FALSE_WORDS))
    known = pc.or_(is_true, is_false)
    return pc.if_else(known, is_true, pa.scalar(None, pa.bool_()))


def once_per_distinct(array: pa.Array, function: Callable[[pa.Array], pa.Array], *,
                      repeats: int) -> pa.Array:
    """``function(array)``, computed once per distinct value when values repeat at least
    ``repeats`` times on average: real columns of dates repeat a few values endlessly."""
    if len(array) > 256:
        encoded = pc.dictionary_encode(array)
        if len(encoded.dictionary) * repeats < len(array):
            return pc.take(function(encoded.dictionary), encoded.indices)
    return function(array)


def _dates_from_text(text: pa.Array, kind: str, formats: tuple[str, ...],
                     timezone: str) -> pa.Array:
    """Dates or date-times (UTC) from text, in the first of ``formats`` (or the usual
    ones) that reads each value; null where none does."""
    if kind == "date":  # dates repeat a few thousand days endlessly: each is read once
        return once_per_distinct(
            text, lambda values: _read_dates(values, kind, formats, timezone), repeats=2)
    return _read_dates(text, kind, formats, timezone)


def _read_dates(text: pa.Array, kind: str, formats: tuple[str, ...],
                timezone: str) -> pa.Array:
    text = pc.utf8_trim_whitespace(text)
    ordered = _likely_first(text, formats or (DATETIME_FORMATS if kind == "datetime"
                                              else DATE_FORMATS))

    def in_turn(values: pa.Array) -> pa.Array:
        stamps = _parse_in_turn(values, ordered, timezone)
        return stamps if kind == "datetime" else _local_date(stamps, timezone)

    layout = _ISO_LAYOUTS.get((kind, ordered[0]))
    if layout is None:  # (date-times such as import times can repeat too)
        return once_per_distinct(text, in_turn, repeats=2)
    return _iso_first(text, *layout, otherwise=in_turn)


def _iso_first(text: pa.Array, layouts: Callable[[int], Layout | None],
               to_type: pa.DataType, *, otherwise: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """The values spelled as ``layouts`` say read by Arrow's ISO cast (several times faster
    than strptime, the same values), the others by ``otherwise``; all of them by
    ``otherwise`` when one of the former names no real time (2019-02-29, 24:00)."""
    fits = matching(text, layouts)
    count = int(fits.sum())
    if not count:
        return otherwise(text)
    try:
        fast = pc.cast(text if count == len(text) else text.filter(pa.array(fits)), to_type)
    except pa.ArrowInvalid:
        return otherwise(text)
    if count == len(text):
        return fast
    rest = otherwise(text.filter(pa.array(~fits)))
    at = np.empty(len(text), dtype=np.int64)  # each row's place in fast + rest
    at[fits] = np.arange(count)
    at[~fits] = np.arange(count, len(text))
    return pa.concat_arrays([fast, rest]).take(pa.array(at))


def _fixed(pattern: str) -> Callable[[int], Layout | None]:
    """The layouts of a pattern known to be that simple."""
    layouts = pattern_layouts(pattern)
    assert layouts is not None, pattern
    return layouts


#: Formats Arrow's ISO cast reads exactly as ``strptime_real_days`` does, for text of the
#: format's fixed layout: (kind, format) -> (its layout, the type cast to).
_ISO_LAYOUTS = {
    ("datetime", "%Y-%m-%dT%H:%M:%S%z"): (_fixed(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}"),
                                          UTC_MICROS),
    ("date", "%Y-%m-%d"): (_fixed(r"\d{4}-\d\d-\d\d"), pa.date32()),
}


def _parse_in_turn(text: pa.Array, formats: tuple[str, ...], timezone: str) -> pa.Array:
    """Try each format in turn, each on the values no earlier format parsed; offset-less
    forms are local time in ``timezone``."""
    result = pa.nulls(len(text), UTC_MICROS)
    todo: np.ndarray | None = None  # positions still to parse; None: all of them
    for fmt in formats:
        subset = text if todo is None else text.take(pa.array(todo))
        parsed = _as_utc(strptime_real_days(subset, fmt), timezone)
        if todo is None:
            result = parsed
            left = _positions(pc.and_(pc.is_valid(subset), pc.is_null(parsed)))
        else:
            mask = np.zeros(len(text), dtype=bool)
            mask[todo] = True
            result = pc.replace_with_mask(result, pa.array(mask), parsed)
            left = todo[_positions(pc.is_null(parsed))]
        todo = left
        if not len(todo):
            break
    return result


def _positions(mask: pa.Array) -> np.ndarray:
    return np.flatnonzero(mask.fill_null(False).to_numpy(zero_copy_only=False))


def _likely_first(text: pa.Array, formats: tuple[str, ...]) -> tuple[str, ...]:
    """The formats, the one that parses the first value moved to the front, so a column
    written one way is parsed in one pass."""
    first = next((v for v in text.drop_null().slice(0, 1).to_pylist()), None)
    if first is None or len(formats) == 1:
        return formats
    for fmt in formats:
        if pc.strptime(pa.array([first]), format=fmt, unit="us",
                       error_is_null=True)[0].is_valid:
            return (fmt, *(f for f in formats if f != fmt))
    return formats


def strptime_real_days(text: pa.Array, fmt: str) -> pa.Array:
    """``pc.strptime`` without the days Arrow invents: it rolls 2019-02-30 over to
    March 2nd. Only values landing near a month's start or end can have rolled, so only
    those are checked against the calendar."""
    parsed = pc.strptime(text, format=fmt, unit="us", error_is_null=True)
    if not all(part in fmt for part in ("%Y", "%m", "%d")):
        return parsed
    day = pc.day(parsed)
    near_edge = _positions(pc.or_(pc.less_equal(day, 4), pc.greater_equal(day, 27)))
    near = text.take(pa.array(near_edge))
    if len(near_edge) and fmt.startswith("%Y-%m-%d"):
        # Text that starts with the very date it parsed to named a real day: only the
        # others (rolled over, unpadded, moved by an offset) are looked at closely.
        dates = pc.cast(pc.cast(parsed.take(pa.array(near_edge)), pa.date32()), pa.string())
        same = pc.equal(pc.utf8_slice_codeunits(near, 0, 10), dates).fill_null(False)
        near_edge = near_edge[~same.to_numpy(zero_copy_only=False)]
        near = near.filter(pc.invert(same))
    if not len(near_edge):
        return parsed
    real = real_calendar_day(near, fmt)
    assert real is not None
    rolled = near_edge[~real.to_numpy(zero_copy_only=False)]
    if not len(rolled):
        return parsed
    mask = np.zeros(len(text), dtype=bool)
    mask[rolled] = True
    return pc.if_else(pa.array(mask), pa.scalar(None, parsed.type), parsed)


_FORMAT_PARTS = {"%Y": r"(?P<Y>\d{4})", "%m": r"(?P<m>\d{1,2})", "%d": r"(?P<d>\d{1,2})",
                 "%H": r"\d{1,2}", "%M": r"\d{1,2}", "%S": r"\d{1,2}", "%y": r"\d{2}",
                 "%z": r"(?:Z|[+-]\d{2}:?\d{2})", "%b": r"[A-Za-z]+", "%B": r"[A-Za-z]+",
                 "%%": "%"}


def real_calendar_day(text: pa.Array, fmt: str) -> pa.Array | None:
    """Arrow rolls 2014-02-30 over to March 2nd; a value whose year, month and day do not
    name a real day is not a date. None when ``fmt`` lacks %Y, %m or %d."""
    if not all(part in fmt for part in ("%Y", "%m", "%d")):
        return None
    pattern = "^" + "".join(_FORMAT_PARTS.get(token, re.escape(token))
                            for token in re.findall(r"%.|[^%]+", fmt))
    parts = pc.extract_regex(text, pattern=pattern)
    year, month, day = (pc.cast(pc.struct_field(parts, name), pa.int32())
                        for name in ("Y", "m", "d"))
    iso = pc.binary_join_element_wise(
        pc.cast(year, pa.string()), pc.utf8_lpad(pc.cast(month, pa.string()), 2, "0"),
        pc.utf8_lpad(pc.cast(day, pa.string()), 2, "0"), "-")
    rolled = pc.strptime(iso, format="%Y-%m-%d", unit="s", error_is_null=True)
    return pc.fill_null(pc.and_(pc.equal(pc.day(rolled), day),
                                pc.equal(pc.month(rolled), month)), False)


def _as_utc(stamps: pa.Array, timezone: str) -> pa.Array:
    if stamps.type.tz is None:
        stamps = pc.assume_timezone(stamps, timezone=timezone, ambiguous="earliest",
                                    nonexistent="latest")
    return pc.cast(stamps, UTC_MICROS)


def _local_date(stamps: pa.Array, timezone: str) -> pa.Array:
    local = pc.local_timestamp(pc.cast(stamps, pa.timestamp("us", tz=timezone)))
    return pc.cast(pc.floor_temporal(local, unit="day"), pa.date32())


def _from_typed(array: pa.Array, kind: str, timezone: str) -> pa.Array:
    """Typed input (Excel, Parquet, JSON): convert without losing information."""
    source = array.type
    if kind in ("string", "enumeration"):
        return to_text(array)
    if kind == "boolean":
        if pa.types.is_boolean(source):
            return array
        if pa.types.is_integer(source) or pa.types.is_floating(source):
            known = pc.is_in(array, value_set=pa.array([0, 1], source))
            return pc.if_else(known, pc.not_equal(array, 0), pa.scalar(None, pa.bool_()))
    if kind == "number" and pa.types.is_decimal(source):
        numbers = pc.cast(array, pa.float64(), safe=False)
        # NaN and infinity have no JSON or LD spelling: reported, not passed on.
        return pc.if_else(pc.is_finite(numbers), numbers, pa.scalar(None, pa.float64()))
    if kind == "datetime":
        if pa.types.is_timestamp(source):
            return _as_utc(pc.cast(array, pa.timestamp("us", tz=source.tz)), timezone)
        if pa.types.is_date(source):
            return _as_utc(pc.cast(array, pa.timestamp("us")), timezone)
    if kind == "date":
        if pa.types.is_date(source):
            return pc.cast(array, pa.date32())
        if pa.types.is_timestamp(source):
            if source.tz is None:
                return pc.cast(pc.floor_temporal(array, unit="day"), pa.date32())
            return _local_date(pc.cast(array, UTC_MICROS), timezone)
    if kind in ("integer", "number", "boolean", "date", "datetime"):
        # Anything else (an Excel number for a date...) goes through its text form, so
        # what converts is kept and what does not is reported.
        return _from_text(to_text(array), kind, (), timezone)
    raise ValueError(f"no conversion to {kind!r}")
