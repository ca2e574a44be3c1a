"""Checking text of a fixed layout a column of bytes at a time, instead of by regex.

Many values are spelled to a fixed layout: codes such as ``AC12345678``, postal codes,
phone numbers, ISO dates. When every value of one byte length is cut to the same width,
their bytes form one 2-D block, and a layout (which bytes each position allows) is checked
by comparing whole columns of that block: several times faster than a regex per value.

:func:`pattern_layouts` reads the layouts a simple regex allows (anchored or not: a
Table Schema pattern matches the whole value): ASCII literals, ``\\d`` and bracket
classes of ASCII characters and ranges, each repeated ``{n}``, ``{n,m}`` or ``?``, with at
most one repetition of varying count. Anything else (alternatives, groups, ``*``, ``+``,
``.``, other escapes, non-ASCII) is for the regex engine.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Layout", "fixed_width_block", "full_match", "matches", "matching",
           "pattern_layouts", "value_bytes", "value_offsets"]

#: Per position, the ranges of bytes it allows (``(low, high)``, both included).
Layout = list[list[tuple[int, int]]]

_SPECIAL = set(".^$*+?()[]{}|\\")
_DIGITS = [(ord("0"), ord("9"))]


def value_offsets(records: pa.Array) -> np.ndarray:
    """Where each value of a string or binary array starts (and the last one ends) in
    its data buffer."""
    width = np.int64 if pa.types.is_large_string(records.type) \
        or pa.types.is_large_binary(records.type) else np.int32
    every = np.frombuffer(records.buffers()[1], dtype=width)
    return every[records.offset: records.offset + len(records) + 1]


def value_bytes(array: pa.Array, offsets: np.ndarray | None = None) -> np.ndarray:
    """The bytes of a string or binary array's values, end to end (a view, no copy);
    ``offsets`` are its :func:`value_offsets` when the caller has them already."""
    offsets = value_offsets(array) if offsets is None else offsets
    data = array.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return raw[int(offsets[0]):int(offsets[-1])]


def fixed_width_block(text: pa.Array, width: int) -> np.ndarray:
    """The bytes of ``text``'s values, every one ``width`` bytes long, as a
    ``(len(text), width)`` block (a view, no copy)."""
    return value_bytes(text).reshape(len(text), width)


def matches(block: np.ndarray, layout: Layout) -> np.ndarray:
    """Per row of ``block``, whether each of its bytes is one ``layout`` allows there."""
    ok = np.ones(len(block), dtype=bool)
    for column, ranges in enumerate(layout):  # a column at a time: faster than 2-D
        values = block[:, column]
        allowed: np.ndarray | None = None
        for low, high in ranges:  # uint8: below ``low`` wraps far above the span
            inside = (values - np.uint8(low)) <= np.uint8(high - low)
            allowed = inside if allowed is None else allowed | inside
        assert allowed is not None
        ok &= allowed
    return ok


def matching(values: pa.Array, layouts: Callable[[int], Layout | None]) -> np.ndarray:
    """Per value, whether it is spelled as the layout of its byte length (``layouts``
    gives it, or None where no layout is that long); null: false."""
    sizes = pc.fill_null(pc.binary_length(values), -1).to_numpy(zero_copy_only=False)
    result = np.zeros(len(values), dtype=bool)
    present = sizes[sizes >= 0]
    for width in np.flatnonzero(np.bincount(present)).tolist() if len(present) else []:
        layout = layouts(width)
        if layout is None:
            continue
        rows = np.flatnonzero(sizes == width)
        wide = values if len(rows) == len(values) else values.take(pa.array(rows))
        result[rows[matches(fixed_width_block(wide, width), layout)]] = True
    return result


def full_match(values: pa.Array, layouts: Callable[[int], Layout | None]) -> pa.Array:
    """:func:`matching` as a boolean array in which null stays null."""
    mask = pc.is_null(values).to_numpy(zero_copy_only=False) if values.null_count else None
    return pa.array(matching(values, layouts), pa.bool_(), mask=mask)


def pattern_layouts(pattern: str) -> Callable[[int], Layout | None] | None:
    """The layout of each byte length ``pattern`` matches in full (None for lengths it
    cannot match), or None when the pattern is not that simple."""
    atoms = _atoms(pattern)
    if atoms is None:
        return None
    varying = [i for i, (_, low, high) in enumerate(atoms) if low != high]
    if len(varying) > 1:
        return None
    fixed = sum(low for _, low, _ in atoms)

    def layout(width: int) -> Layout | None:
        spelled: Layout = []
        for i, (ranges, low, high) in enumerate(atoms):
            count = low
            if varying and i == varying[0]:
                count = width - (fixed - low)
                if not low <= count <= high:
                    return None
            spelled += [ranges] * count
        return spelled if len(spelled) == width else None

    return layout


def _atoms(pattern: str) -> list[tuple[list[tuple[int, int]], int, int]] | None:
    """``pattern`` as (allowed ranges, fewest, most) per atom; None if not that simple."""
    if not pattern.isascii():
        return None
    text = pattern[1:] if pattern.startswith("^") else pattern
    if text.endswith("$") and not _escaped_at(text, len(text) - 1):
        text = text[:-1]
    atoms: list[tuple[list[tuple[int, int]], int, int]] = []
    at = 0
    while at < len(text):
        character = text[at]
        if character == "\\":
            if at + 1 >= len(text):
                return None
            following = text[at + 1]
            if following == "d":
                ranges = list(_DIGITS)
            elif not following.isalnum():
                ranges = [(ord(following), ord(following))]
            else:
                return None  # \w, \s, \b and the like
            at += 2
        elif character == "[":
            found = _bracket(text, at + 1)
            if found is None:
                return None
            ranges, at = found
        elif character in _SPECIAL:
            return None
        else:
            ranges = [(ord(character), ord(character))]
            at += 1
        quantified = _quantifier(text, at)
        if quantified is None:
            return None
        low, high, at = quantified
        atoms.append((ranges, low, high))
    return atoms


def _escaped_at(text: str, at: int) -> bool:
    backslashes = len(text[:at]) - len(text[:at].rstrip("\\"))
    return backslashes % 2 == 1


def _bracket(text: str, at: int) -> tuple[list[tuple[int, int]], int] | None:
    """The ranges of a bracket class whose first member is at ``at``, and where the
    class ends; None for negation, escapes other than ``\\d`` and the like."""
    if at < len(text) and text[at] == "^":
        return None
    ranges: list[tuple[int, int]] = []
    while at < len(text) and text[at] != "]":
        if text[at] == "\\":
            if text[at + 1:at + 2] != "d":
                return None
            ranges += _DIGITS
            at += 2
            continue
        if text[at] == "[":
            return None  # POSIX classes such as [:alpha:]
        first = text[at]
        if at + 2 < len(text) and text[at + 1] == "-" and text[at + 2] != "]":
            last = text[at + 2]
            if last == "\\" or ord(last) < ord(first):
                return None
            ranges.append((ord(first), ord(last)))
            at += 3
        else:
            ranges.append((ord(first), ord(first)))
            at += 1
    if at >= len(text) or not ranges:
        return None
    return ranges, at + 1


def _quantifier(text: str, at: int) -> tuple[int, int, int] | None:
    """(fewest, most, where the pattern goes on) for what follows an atom at ``at``."""
    if at < len(text) and text[at] == "?":
        return 0, 1, at + 1
    if at < len(text) and text[at] in "*+":
        return None
    if at >= len(text) or text[at] != "{":
        return 1, 1, at
    end = text.find("}", at)
    if end < 0:
        return None
    low_text, comma, high_text = text[at + 1:end].partition(",")
    if not low_text.isdigit() or (comma and not high_text.isdigit()):
        return None
    low = int(low_text)
    high = int(high_text) if comma else low
    if high < low or (end + 1 < len(text) and text[end + 1] in "?+"):
        return None  # lazy or possessive forms
    return low, high, end + 1
