"""How LD spells values, computed a whole column at a time.

:func:`ld_text` gives the text a CSV cell holds; :func:`json_literal` the JSON a value
becomes in an item's ``data``. Both follow LD's own sample items: date-times in UTC as
``2014-02-01T05:00:00+0000`` (a ``date`` is midnight in the schema's time zone), numbers
that keep a decimal point when the field is a number (``0.0``), ``true``/``false``, and
unset text as the schema says (an empty string unless ``unsetText`` is null).
"""

from __future__ import annotations

import orjson
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["LD_DATETIME", "format_nested", "json_literal", "ld_text"]

LD_DATETIME = "%Y-%m-%dT%H:%M:%S%z"
_UTC_SECONDS = pa.timestamp("s", tz="UTC")
_NULL_TEXT = pa.scalar(None, pa.string())


def _ld_datetimes(array: pa.Array, timezone: str) -> pa.Array:
    if pa.types.is_date(array.type):
        local = pc.cast(array, pa.timestamp("s"))
        array = pc.assume_timezone(local, timezone=timezone, ambiguous="earliest",
                                   nonexistent="earliest")
    elif array.type.tz is None:
        array = pc.assume_timezone(array, timezone=timezone, ambiguous="earliest",
                                   nonexistent="earliest")
    seconds = pc.cast(pc.floor_temporal(pc.cast(array, pa.timestamp("us", tz="UTC")),
                                        unit="second"), _UTC_SECONDS)
    return pc.strftime(seconds, format=LD_DATETIME)


def _numbers(array: pa.Array) -> pa.Array:
    """Floats as text that stays a float when read back: 0 -> 0.0, no nan or inf."""
    finite = pc.is_finite(array)
    text = pc.cast(array, pa.string())
    whole = pc.match_substring_regex(text, pattern=r"^-?\d+$")
    text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
    return pc.if_else(finite, text, _NULL_TEXT)


def format_nested(array: pa.Array, timezone: str, unset: str | None = "") -> pa.Array:
    """``array`` with every date and timestamp (also inside lists and records) turned
    into LD's date-time text and unset text filled in; everything else unchanged."""
    kind = array.type
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return _ld_datetimes(array, timezone)
    if (pa.types.is_string(kind) or pa.types.is_large_string(kind)) and unset is not None:
        return pc.fill_null(array, unset)
    if pa.types.is_struct(kind):
        children = [format_nested(array.field(i), timezone, unset)
                    for i in range(kind.num_fields)]
        return pa.StructArray.from_arrays(children, names=[f.name for f in kind],
                                          mask=pc.is_null(array))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        flat = array.flatten()
        values = format_nested(flat, timezone, unset)
        cls = pa.LargeListArray if pa.types.is_large_list(kind) else pa.ListArray
        offsets = pc.subtract(array.offsets, array.offsets[0])
        return cls.from_arrays(offsets, values, mask=pc.is_null(array))
    return array


def ld_text(array: pa.Array, *, timezone: str = "UTC", unset: str | None = "") -> pa.Array:
    """Each value as the text of a CSV cell; null becomes ``unset`` for text fields and
    stays null (an empty cell) for the others."""
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return array if unset is None else pc.fill_null(pc.cast(array, pa.string()), unset)
    if pa.types.is_boolean(kind):
        return pc.if_else(array, "true", "false")
    if pa.types.is_floating(kind):
        return _numbers(array)
    if pa.types.is_integer(kind) or pa.types.is_decimal(kind):
        return pc.cast(array, pa.string())
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return _ld_datetimes(array, timezone)
    if pa.types.is_null(kind):
        return pa.nulls(len(array), pa.string())
    return json_literal(array, timezone=timezone, unset=unset)


def json_literal(array: pa.Array, *, timezone: str = "UTC", unset: str | None = "") -> pa.Array:
    """Each value as JSON text (``"text"``, ``12``, ``0.5``, ``true``, ``[...]``)."""
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = array if unset is None else pc.fill_null(pc.cast(array, pa.string()), unset)
        return pc.fill_null(_json_strings(text), "null")
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return pc.fill_null(_json_strings(_ld_datetimes(array, timezone)), "null")
    if pa.types.is_nested(kind):
        nested = format_nested(array, timezone, unset)
        empty = "[]" if pa.types.is_list(kind) or pa.types.is_large_list(kind) else "null"
        return pa.array([empty if v is None else orjson.dumps(v).decode()
                         for v in nested.to_pylist()], pa.string())
    return pc.fill_null(ld_text(array, timezone=timezone, unset=None), "null")


# JSON escapes of the characters a JSON string may not hold raw.
_ESCAPES = [("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")]
_OTHER_CONTROL = "[\x00-\x08\x0b\x0c\x0e-\x1f]"


def _json_strings(text: pa.Array) -> pa.Array:
    """Quote and escape text as JSON strings, vectorised; the rare other control
    characters go through orjson one value at a time."""
    escaped = text
    for raw, replacement in _ESCAPES:
        escaped = pc.replace_substring(escaped, pattern=raw, replacement=replacement)
    quoted = pc.binary_join_element_wise('"', escaped, '"', "")
    odd = pc.fill_null(pc.match_substring_regex(text, pattern=_OTHER_CONTROL), False)
    if not pc.any(odd).as_py():
        return quoted
    fixed = [orjson.dumps(v).decode() if v is not None else None for v in text.to_pylist()]
    return pc.if_else(odd, pa.array(fixed, pa.string()), quoted)
