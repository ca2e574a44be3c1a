"""How LD spells values, computed a whole column at a time.

:func:`ld_text` gives the text a CSV cell holds; :func:`json_literal` the JSON a value
becomes in an item's ``data``. Both follow LD's own sample items: date-times in UTC as
``2014-02-01T05:00:00+0000`` (a ``date`` is midnight in the schema's time zone), numbers
that keep a decimal point when the field is a number (``0.0``), ``true``/``false``, and
unset text as the schema says (an empty string unless ``unsetText`` is null).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ldtransform._bytelayout import fixed_width_block, value_bytes, value_offsets
from ldtransform._casting import once_per_distinct
from ldtransform.errors import UnwritableValueError

__all__ = [
    "LD_DATETIME",
    "decimal_text",
    "format_nested",
    "join_pieces",
    "json_literal",
    "json_pieces",
    "ld_text",
    "member_pieces",
    "not_finite_message",
]

LD_DATETIME = "%Y-%m-%dT%H:%M:%S%z"
_UTC_SECONDS = pa.timestamp("s", tz="UTC")
# No Arrow scalars at import time: building one imports pandas (slow) through pyarrow.


def _ld_datetimes(array: pa.Array, timezone: str) -> pa.Array:
    """Date-times as LD spells them; each distinct value is formatted once (dates and
    import timestamps repeat a lot)."""
    return once_per_distinct(array, lambda values: _format_datetimes(values, timezone),
                             repeats=4)


def _format_datetimes(array: pa.Array, timezone: str, quote: str = "") -> pa.Array:
    """LD's date-time text of each value (between ``quote`` marks); null stays null."""
    if pa.types.is_date(array.type):
        local = pc.cast(array, pa.timestamp("s"))
        array = pc.assume_timezone(local, timezone=timezone, ambiguous="earliest",
                                   nonexistent="latest")
    elif array.type.tz is None:
        array = pc.assume_timezone(array, timezone=timezone, ambiguous="earliest",
                                   nonexistent="latest")
    if not len(array):
        return pa.array([], pa.string())
    seconds = _whole_seconds(array)
    # Casting to text is ~10x faster than strftime; it spells "2014-02-01 05:00:00"
    # for every year 1000-9999, and strftime still covers the rest.
    plain = pc.cast(pa.array(seconds, pa.timestamp("s")), pa.string())
    offsets = value_offsets(plain)
    if offsets[-1] - offsets[0] == _PLAIN_WIDTH * len(plain):  # every value so spelled
        text = _fixed_width_datetimes(plain, quote)
    else:
        stamps = pa.array(seconds, _UTC_SECONDS)
        usual = pc.equal(pc.utf8_length(plain), _PLAIN_WIDTH)
        spelled = pc.utf8_replace_slice(plain, start=10, stop=11, replacement="T")
        spelled = pc.utf8_replace_slice(spelled, start=19, stop=19, replacement="+0000")
        text = pc.if_else(usual, spelled, pc.strftime(stamps, format=LD_DATETIME))
        if quote:
            text = pc.binary_join_element_wise(quote, text, quote, "")
    if array.null_count:
        text = pc.if_else(pc.is_valid(array), text, pa.scalar(None, pa.string()))
    return text


_PLAIN_WIDTH = len("2014-02-01 05:00:00")


def _whole_seconds(array: pa.Array) -> np.ndarray:
    """Seconds since the epoch (UTC), rounded down, of a time-zone aware timestamp
    column; 0 where it is null."""
    micros = pc.cast(array, pa.timestamp("us", tz="UTC"))
    values = np.frombuffer(micros.buffers()[1], dtype=np.int64, count=len(micros),
                           offset=micros.offset * 8)
    seconds = np.floor_divide(values, 1_000_000)
    if micros.null_count:
        seconds[pc.is_null(micros).to_numpy(zero_copy_only=False)] = 0
    return seconds


def _fixed_width_datetimes(plain: pa.Array, quote: str) -> pa.Array:
    """``"2014-02-01 05:00:00"`` values (all that wide, no nulls) as
    ``2014-02-01T05:00:00+0000`` between ``quote`` marks, written row by row into one
    block of bytes: every value has the same width."""
    rows, open_ = len(plain), len(quote)
    end = ("+0000" + quote).encode()
    width = open_ + _PLAIN_WIDTH + len(end)
    text = np.empty((rows, width), dtype=np.uint8)
    text[:, :open_] = np.frombuffer(quote.encode(), dtype=np.uint8)
    text[:, open_:open_ + _PLAIN_WIDTH] = fixed_width_block(plain, _PLAIN_WIDTH)
    text[:, open_ + 10] = ord("T")
    text[:, open_ + _PLAIN_WIDTH:] = np.frombuffer(end, dtype=np.uint8)
    offsets = np.arange(0, (rows + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(text))


def _numbers(array: pa.Array) -> pa.Array:
    """Floats as text that stays a float when read back: 0 -> 0.0. Nan and inf have no
    spelling in LD items or CSV: an error, never a silent null."""
    text, point = _number_pieces(array)
    return pc.binary_join_element_wise(text, point, "")


def _number_pieces(array: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Floats as Arrow spells them, and per value the ``".0"`` (or ``""``) that keeps a
    whole number a float: two pieces, so a caller joining many columns copies the text
    once. Null stays null in both."""
    finite = pc.is_finite(array)
    if pc.any(pc.invert(finite)).as_py():
        first = array.filter(pc.invert(finite))[0].as_py()
        raise UnwritableValueError(not_finite_message(first))
    # Arrow spells whole numbers below 1e10 without a point (and switches to an
    # exponent above), so exactly those need ".0"; arithmetic beats a regex on the text.
    whole = pc.and_(pc.equal(pc.floor(array), array), pc.less(pc.abs(array), 1e10))
    return pc.cast(array, pa.string()), pc.if_else(whole, ".0", "")


def _decimals(array: pa.Array) -> pa.Array:
    """Exact decimals as plain text with a point, never through float: the digits less
    trailing zeros (``2.50`` -> ``2.5``, ``100`` -> ``100.0``), as :func:`decimal_text`."""
    text = pc.cast(array, pa.string())
    # Arrow writes small values and zero with an exponent (1E-9, 0E-18): those few by hand.
    exponent = pc.fill_null(pc.match_substring(text, "E"), False)
    if pc.any(exponent).as_py():
        fixed = pa.array([decimal_text(v) for v in array.filter(exponent).to_pylist()],
                         pa.string())
        text = pc.replace_with_mask(text, exponent, fixed)
    text = pc.replace_substring_regex(text, pattern=r"^(-?\d+\.\d*?)0+$",
                                      replacement=r"\1")
    pointless = pc.invert(pc.match_substring(text, "."))
    text = pc.if_else(pointless, pc.binary_join_element_wise(text, ".0", ""), text)
    return pc.if_else(pc.ends_with(text, "."), pc.binary_join_element_wise(text, "0", ""),
                      text)


def decimal_text(value: Decimal) -> str:
    """A Decimal as LD items and CSV cells spell it: plain digits with a point, no
    trailing zeros past the first place (``0.0``, ``2.5``, ``100.0``)."""
    text = format(value, "f")
    whole, _, places = text.partition(".")
    whole = "0" if whole in ("-0", "") and not places.strip("0") else whole
    return f"{whole}.{places.rstrip('0') or '0'}"


def not_finite_message(value: float) -> str:
    """Why ``value`` (nan or inf) cannot be written."""
    return (f"{value} is not a finite number, and LD items and CSV have no spelling for "
            "nan or inf; validate the data against its schema to have such values "
            "reported by row")


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
    if pa.types.is_decimal(kind):
        return _decimals(array)
    if pa.types.is_integer(kind):
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
        # quoted once per distinct value too: dates and timestamps need no escaping
        quoted = once_per_distinct(
            array, lambda values: _format_datetimes(values, timezone, quote='"'), repeats=4)
        return pc.fill_null(quoted, "null")
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _json_lists(array, timezone, unset)
    if pa.types.is_struct(kind):
        return _json_records(array, timezone, unset)
    if pa.types.is_nested(kind):  # maps, unions: rare enough for one value at a time
        nested = format_nested(array, timezone, unset)
        return pa.array([orjson.dumps(v).decode() for v in nested.to_pylist()], pa.string())
    return pc.fill_null(ld_text(array, timezone=timezone, unset=None), "null")


def _json_lists(array: pa.Array, timezone: str, unset: str | None) -> pa.Array:
    """``[a,b]`` per list, built from the JSON of all elements at once; a missing list is
    written as an empty one, as LD's samples do."""
    elements = json_literal(array.flatten(), timezone=timezone, unset=unset)
    offsets = pc.subtract(array.offsets, array.offsets[0])
    cls = pa.LargeListArray if pa.types.is_large_list(array.type) else pa.ListArray
    joined = pc.binary_join(cls.from_arrays(offsets, elements), ",")
    text = pc.binary_join_element_wise("[", joined, "]", "")
    return pc.if_else(pc.is_null(array), "[]", text)


def _json_records(array: pa.Array, timezone: str, unset: str | None) -> pa.Array:
    """``{"name":value,...}`` per record, field by field for the whole column."""
    members = member_pieces(((child.name, array.field(i)) for i, child in enumerate(array.type)),
                            timezone=timezone, unset=unset)
    text = join_pieces(["{", *members, "}"], len(array))
    return pc.if_else(pc.is_null(array), "null", text)


def json_pieces(array: pa.Array, *, timezone: str = "UTC",
                unset: str | None = "") -> list[pa.Array | str]:
    """:func:`json_literal` as pieces to concatenate: text that is never null comes as
    ``['"', escaped text, '"']``, so a caller joining many columns puts the quotes into
    its literal separators instead of quoting each column first."""
    kind = array.type
    if (pa.types.is_string(kind) or pa.types.is_large_string(kind)) and unset is not None:
        return ['"', _escaped(pc.fill_null(pc.cast(array, pa.string()), unset)), '"']
    if pa.types.is_floating(kind):
        text, point = _number_pieces(array)
        return [pc.fill_null(text, "null"), pc.fill_null(point, "")]
    return [json_literal(array, timezone=timezone, unset=unset)]


def member_pieces(columns: Iterable[tuple[str, pa.Array]], *, timezone: str = "UTC",
                  unset: str | None = "") -> list[pa.Array | str]:
    """The pieces of ``"name":value,"name":value`` (no braces), row by row, for the
    ``(name, column)`` pairs: the members of a JSON object built a column at a time."""
    pieces: list[pa.Array | str] = []
    for i, (name, column) in enumerate(columns):
        pieces.append(("," if i else "") + orjson.dumps(name).decode() + ":")
        pieces += json_pieces(column, timezone=timezone, unset=unset)
    return pieces


def join_pieces(pieces: list[pa.Array | str], rows: int) -> pa.Array:
    """Concatenate literal and column pieces row by row, neighbouring literals merged."""
    merged: list[pa.Array | str] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    if not any(isinstance(piece, pa.Array) for piece in merged):
        return pa.array(["".join(str(p) for p in merged)] * rows, pa.string())
    return pc.binary_join_element_wise(*merged, "")


def _escaped(text: pa.Array) -> pa.Array:
    """The inside of JSON strings: the bytes are scanned at once for a quote, backslash or
    control character (none, usually), and only the values holding one are escaped."""
    if len(text) == 0 or text.null_count == len(text):
        return text
    offsets = value_offsets(text).astype(np.int64)
    raw = value_bytes(text, offsets)
    special = raw < 0x20  # a control character, a quote or a backslash
    special |= raw == ord('"')
    special |= raw == ord("\\")
    if not special.any():
        return text
    where = np.flatnonzero(special)
    found = np.bincount(raw[where], minlength=128).astype(bool)  # which bytes occur
    rows = np.searchsorted(offsets, where + offsets[0], side="right") - 1
    rows = rows[np.diff(rows, prepend=-1) != 0]  # sorted already: each row once
    if found[_OTHER_CONTROL].any():  # rare: the JSON encoder spells them
        subset = pa.array([None if v is None else orjson.dumps(v).decode()[1:-1]
                           for v in text.take(pa.array(rows)).to_pylist()], pa.string())
    else:
        subset = text.take(pa.array(rows))
        for character, escape in _ESCAPES:
            if found[ord(character)]:  # only the escapes these values need
                subset = pc.replace_substring(subset, pattern=character,
                                              replacement=escape)
    mask = np.zeros(len(text), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(text, pa.array(mask), subset)


# JSON's two-character escapes (the backslash first, so it is not escaped twice).
_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))
#: The other control characters, which the JSON encoder spells (``\u0001``).
_OTHER_CONTROL = np.array([byte for byte in range(0x20) if chr(byte) not in "\n\r\t"])


def _json_strings(text: pa.Array) -> pa.Array:
    """Text as quoted JSON strings (null stays null)."""
    quoted = pc.binary_join_element_wise('"', _escaped(text), '"', "")
    return quoted
