"""The filters a CSV template may use, each written twice: for one value and for a column.

Row mode (Jinja2 rendering one record at a time) calls the Python side; column mode
calls the Arrow side once per batch. Both start from the same LD text of a value (so
``{{ item.flag | upper }}`` is ``TRUE`` either way) and must give the same cells; the
tests check that with random values. Where an Arrow kernel and Python disagree (case
mapping of non-ASCII text), the few odd values go through the Python side.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from ldtransform.writers._template_values import (
    column_text,
    ld_datetime_text,
    localized,
    value_text,
)

__all__ = ["ARROW_FILTERS", "FilterContext", "python_filters"]

_WHITESPACE = " \t\n\r\f\v"
_LEVEL = re.compile(r"^[A-Za-z_]\w*$")


@dataclass(frozen=True)
class FilterContext:
    """What filters need to know besides their arguments."""

    timezone: str = "UTC"
    unset: str | None = ""


def _is_temporal(kind: pa.DataType) -> bool:
    return bool(pa.types.is_date(kind) or pa.types.is_timestamp(kind))


def _needs_temporal(name: str, kind: str) -> TypeError:
    return TypeError(f"the {name} filter needs a date or datetime field, got {kind}")


def _dimension_pattern(level: str | None) -> str:
    if level is None:
        return r"\[(?P<v>[^\[\]/]*)\]$"
    if not _LEVEL.match(level):
        raise ValueError(f"dimension_value: {level!r} is not a dimension level name")
    return rf"/{level}\[(?P<v>[^\[\]/]*)\](?:/|$)"


def _check_replace(old: str) -> None:
    if not old:
        raise ValueError("replace: the text to replace cannot be empty")


# -- one value (row mode) -------------------------------------------------------------

def python_filters(ctx: FilterContext) -> dict[str, Callable[..., Any]]:
    """The Python side of every filter, bound to ``ctx`` (names as templates use them)."""
    zone = ZoneInfo(ctx.timezone)

    def text(value: Any) -> str | None:
        return value_text(value, ctx.timezone)

    def ld_datetime(value: Any, pattern: str | None = None) -> str | None:
        if value is None:
            return None
        if not isinstance(value, date):
            raise _needs_temporal("ld_datetime", type(value).__name__)
        return ld_datetime_text(value, ctx.timezone, pattern)

    def ld_date(value: Any, pattern: str = "%Y-%m-%d") -> str | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            moment: datetime = value if value.tzinfo else localized(value, zone)
            return moment.astimezone(zone).replace(microsecond=0).strftime(pattern)
        if isinstance(value, date):
            return value.strftime(pattern)
        raise _needs_temporal("ld_date", type(value).__name__)

    def dimension_value(value: Any, level: str | None = None) -> str | None:
        content = text(value)
        if content is None:
            return None
        found = re.search(_dimension_pattern(level), content)
        return found.group(1) if found else content

    def dimension_path(value: Any, prefix: str) -> str | None:
        content = text(value)
        if not content or content.startswith("/"):
            return content
        return f"{prefix}[{content}]"

    def default(value: Any, fallback: str = "") -> Any:
        content = text(value)
        return fallback if content is None or content == "" else content

    def trim(value: Any, chars: str | None = None) -> str | None:
        content = text(value)
        return None if content is None else content.strip(chars or _WHITESPACE)

    def replace(value: Any, old: str, new: str, count: int | None = None) -> str | None:
        _check_replace(old)
        content = text(value)
        if content is None:
            return None
        return content.replace(old, new, -1 if count is None else count)

    def join(value: Any, separator: str = "") -> str | None:
        if value is None:
            return None
        if not isinstance(value, list):
            raise TypeError(f"the join filter needs a list, got {type(value).__name__}")
        return separator.join(text(v) or "" for v in value)

    def length(value: Any) -> int:
        if isinstance(value, list):
            return len(value)
        return len(text(value) or "")

    def upper(value: Any) -> str | None:
        content = text(value)
        return None if content is None else content.upper()

    def lower(value: Any) -> str | None:
        content = text(value)
        return None if content is None else content.lower()

    return {"ld_datetime": ld_datetime, "ld_date": ld_date,
            "dimension_value": dimension_value, "dimension_path": dimension_path,
            "default": default, "d": default, "trim": trim, "replace": replace,
            "join": join, "length": length, "count": length, "upper": upper,
            "lower": lower}


# -- whole columns (column mode) ------------------------------------------------------

_NULL = pa.scalar(None, pa.string())


def _text(array: pa.Array, ctx: FilterContext) -> pa.Array:
    if array.type == pa.string():
        return array
    return column_text(array, ctx.timezone, ctx.unset)


def _utc_seconds(array: pa.Array, timezone: str) -> pa.Array:
    if pa.types.is_date(array.type):
        array = pc.assume_timezone(pc.cast(array, pa.timestamp("s")), timezone=timezone,
                                   ambiguous="earliest", nonexistent="latest")
    elif array.type.tz is None:
        array = pc.assume_timezone(array, timezone=timezone, ambiguous="earliest",
                                   nonexistent="latest")
    utc = pc.cast(array, pa.timestamp("us", tz="UTC"))
    return pc.cast(pc.floor_temporal(utc, unit="second"), pa.timestamp("s", tz="UTC"))


def _ld_datetime(array: pa.Array, ctx: FilterContext, pattern: str | None = None
                 ) -> pa.Array:
    if not _is_temporal(array.type):
        raise _needs_temporal("ld_datetime", str(array.type))
    if pattern is None:
        return column_text(array, ctx.timezone, ctx.unset)
    return pc.strftime(_utc_seconds(array, ctx.timezone), format=pattern)


def _ld_date(array: pa.Array, ctx: FilterContext, pattern: str = "%Y-%m-%d") -> pa.Array:
    if pa.types.is_date(array.type):
        return pc.strftime(pc.cast(array, pa.timestamp("s")), format=pattern)
    if not pa.types.is_timestamp(array.type):
        raise _needs_temporal("ld_date", str(array.type))
    local = pc.cast(_utc_seconds(array, ctx.timezone), pa.timestamp("s", tz=ctx.timezone))
    return pc.strftime(local, format=pattern)


def _dimension_value(array: pa.Array, ctx: FilterContext, level: str | None = None
                     ) -> pa.Array:
    text = _text(array, ctx)
    found = pc.extract_regex(text, pattern=_dimension_pattern(level))
    return pc.coalesce(pc.struct_field(found, "v"), text)


def _dimension_path(array: pa.Array, ctx: FilterContext, prefix: str) -> pa.Array:
    text = _text(array, ctx)
    keep = pc.or_kleene(pc.equal(text, ""), pc.starts_with(text, "/"))
    built = pc.binary_join_element_wise(prefix + "[", text, "]", "")
    return pc.if_else(pc.fill_null(keep, True), text, built)


def _default(array: pa.Array, ctx: FilterContext, fallback: str = "") -> pa.Array:
    text = _text(array, ctx)
    empty = pc.fill_null(pc.equal(text, ""), True)
    return pc.if_else(empty, fallback, text)


def _trim(array: pa.Array, ctx: FilterContext, chars: str | None = None) -> pa.Array:
    return pc.utf8_trim(_text(array, ctx), characters=chars or _WHITESPACE)


def _replace(array: pa.Array, ctx: FilterContext, old: str, new: str,
             count: int | None = None) -> pa.Array:
    _check_replace(old)
    return pc.replace_substring(_text(array, ctx), pattern=old, replacement=new,
                                max_replacements=count)


def _join(array: pa.Array, ctx: FilterContext, separator: str = "") -> pa.Array:
    if not pa.types.is_list(array.type):
        raise TypeError(f"the join filter needs a list, got {array.type}")
    values = pc.fill_null(_text(array.flatten(), ctx), "")
    offsets = pc.subtract(array.offsets, array.offsets[0])
    lists = pa.ListArray.from_arrays(offsets, values, mask=pc.is_null(array))
    return pc.binary_join(lists, separator)


def _length(array: pa.Array, ctx: FilterContext) -> pa.Array:
    if pa.types.is_list(array.type):
        counts = pc.list_value_length(array)
    else:
        counts = pc.utf8_length(_text(array, ctx))
    return pc.cast(pc.fill_null(counts, 0), pa.string())


def _case(python: Callable[[str], str], ascii_kernel: Callable[[pa.Array], pa.Array]
          ) -> Callable[[pa.Array, FilterContext], pa.Array]:
    """Arrow's Unicode case mapping is not Python's (``ß``), so only ASCII text is
    mapped by the kernel; the rest goes through Python, value by value."""

    def apply(array: pa.Array, ctx: FilterContext) -> pa.Array:
        text = _text(array, ctx)
        mapped = ascii_kernel(text)
        odd = pc.invert(pc.fill_null(pc.string_is_ascii(text), True))
        if not pc.any(odd).as_py():
            return mapped
        exact = pa.array([None if v is None else python(v) for v in text.to_pylist()],
                         pa.string())
        return pc.if_else(odd, exact, mapped)

    return apply


#: name -> function(array, ctx, *args); the names a column-mode template may use.
ARROW_FILTERS: dict[str, Callable[..., pa.Array]] = {
    "ld_datetime": _ld_datetime, "ld_date": _ld_date,
    "dimension_value": _dimension_value, "dimension_path": _dimension_path,
    "default": _default, "d": _default, "trim": _trim, "replace": _replace,
    "join": _join, "length": _length, "count": _length,
    "upper": _case(str.upper, pc.ascii_upper), "lower": _case(str.lower, pc.ascii_lower),
}
