"""Evaluate one mapping rule over whole Arrow arrays (pyarrow.compute + numpy, no row loops).

A rule runs in a fixed order: take the source (column, parent column, concatenation or
constant) → clean text (trim / normalise whitespace) → split → value map → date parsing →
``when`` → ``default``. Only textual steps cast their input to text; a plain rename passes
typed values (bool, float, date, timestamp) through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ldtransform._casting import strptime_real_days
from ldtransform.errors import MappingError
from ldtransform.mapping._spec import FieldRule, Scalar

__all__ = ["Columns", "Evaluated", "evaluate", "interleave", "is_present", "text_key"]

#: Exactly the characters Python's ``str.isspace`` accepts, so trimming here agrees with
#: ``str.strip()``; Excel's non-breaking space (U+00A0) is the usual culprit.
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
              "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_WHITESPACE_RUN = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE) + "]+"
# A tuple, not an Arrow array: building Arrow arrays at import would import pandas.
_TRUE_WORDS = ("true", "yes", "y", "1", "t")


class Columns(Protocol):
    """Where a rule's columns come from: its own table, and (for child rows) the parent."""

    length: int

    def column(self, name: str) -> pa.Array: ...

    def parent(self, name: str) -> pa.Array: ...


@dataclass(frozen=True)
class Evaluated:
    """A rule's output, and whether each value came from the source (before ``default``)."""

    values: pa.Array
    present: np.ndarray


def evaluate(rule: FieldRule, columns: Columns) -> Evaluated:
    """Compute ``rule`` over all rows of ``columns``."""
    if rule.has_constant:
        values = _constant(rule.constant, columns.length)
        present = np.zeros(columns.length, dtype=bool)  # a constant never keeps a record
    else:
        values = _shape(rule, _source(rule, columns))
        present = is_present(values)
    if rule.when is not None:
        condition = _truthy(columns.column(rule.when))
        values = pc.if_else(condition, values, pa.scalar(None, values.type))
        present = present & condition.to_numpy(zero_copy_only=False)
    if rule.has_default:
        values = _fill_default(values, rule.default, rule.path)
    return Evaluated(values, present)


def is_present(values: pa.Array) -> np.ndarray:
    """True where a value is there: not null, not ``""``, not an empty list."""
    if pa.types.is_list(values.type):
        mask = pc.greater(pc.list_value_length(values), 0)
    elif _is_text(values.type):
        mask = pc.and_kleene(pc.is_valid(values), pc.not_equal(values, ""))
    else:
        mask = pc.is_valid(values)
    result: np.ndarray = pc.fill_null(mask, False).to_numpy(zero_copy_only=False)
    return result


def text_key(values: pa.Array, path: str) -> pa.Array:
    """Keys compared as text: cast to string and trimmed (``417.0`` → ``"417"``)."""
    return pc.utf8_trim(_to_text(values, path), characters=WHITESPACE)


def interleave(columns: list[pa.Array], keep: list[np.ndarray]) -> pa.ListArray:
    """Row ``i`` → the list of ``columns[j][i]`` where ``keep[j][i]``, in ``j`` order."""
    rows = len(columns[0])
    matrix = np.stack(keep, axis=1) if keep else np.zeros((rows, 0), dtype=bool)
    row_index, column_index = np.nonzero(matrix)  # row-major: row by row, then by j
    counts = matrix.sum(axis=1, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    values = pa.concat_arrays(columns).take(pa.array(column_index * rows + row_index))
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)


# -- the steps --------------------------------------------------------------------------


def _source(rule: FieldRule, columns: Columns) -> pa.Array:
    if rule.column is not None:
        return columns.column(rule.column)
    if rule.parent is not None:
        return columns.parent(rule.parent)
    parts = [_clean(_to_text(columns.column(name), rule.path), rule) for name in rule.concat]
    # Empty parts are left out so that "Ann" + "" + "Lee" does not become "Ann  Lee".
    joined = interleave(parts, [is_present(part) for part in parts])
    result: pa.Array = pc.binary_join(joined, rule.separator)
    return result


def _shape(rule: FieldRule, values: pa.Array) -> pa.Array:
    temporal = pa.types.is_date(values.type) or pa.types.is_timestamp(values.type)
    textual = bool(rule.values or rule.split is not None or rule.concat
                   or (rule.date_formats and not temporal))
    if textual:
        values = _to_text(values, rule.path)
    if _is_text(values.type):
        values = _clean(values, rule)
    if rule.split is not None:
        values = _split(values, rule)
    if rule.values:
        values = _elementwise(values, lambda part: _map_values(part, rule))
    if rule.date_formats:
        values = _elementwise(values, lambda part: _parse_dates(part, rule.date_formats))
    return values


def _clean(values: pa.Array, rule: FieldRule) -> pa.Array:
    if rule.normalize_space:
        values = pc.replace_substring_regex(values, pattern=_WHITESPACE_RUN, replacement=" ")
    if rule.trim or rule.normalize_space:
        values = pc.utf8_trim(values, characters=WHITESPACE)
    return values


def _split(values: pa.Array, rule: FieldRule) -> pa.Array:
    assert rule.split is not None
    lists = pc.split_pattern(values, pattern=rule.split)
    parts = _clean(lists.flatten(), rule)
    owners = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
    if rule.index is not None:  # like Python's "a-b".split("-")[index]; out of range → null
        lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False)
        starts = np.cumsum(lengths) - lengths
        position = rule.index if rule.index >= 0 else lengths + rule.index
        inside = (position >= 0) & (position < lengths)
        chosen = np.where(inside, starts + position, 0)
        picked: pa.Array = parts.take(pa.array(chosen, mask=~inside))
        return picked
    # Empty parts are dropped: "Mon;;Tue;" is ["Mon", "Tue"], "" and null are [].
    keep = is_present(parts)
    counts = np.bincount(owners[keep], minlength=len(values))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), parts.filter(keep))


def _map_values(values: pa.Array, rule: FieldRule) -> pa.Array:
    assert rule.values is not None
    keys = pa.array([k for k, _ in rule.values], pa.string())
    targets = pa.array([v for _, v in rule.values], pa.string())
    probe = values
    if rule.case_insensitive:
        keys, probe = pc.utf8_lower(keys), pc.utf8_lower(values)
        seen: dict[str, str] = {}
        clash = {k for k, (_, v) in zip(keys.to_pylist(), rule.values, strict=True)
                 if seen.setdefault(k, v) != v}
        if clash:
            raise MappingError(f"keys {sorted(clash)} differ only by case, which "
                               "case_insensitive makes ambiguous", path=f"{rule.path}.values")
    mapped = targets.take(pc.index_in(probe, value_set=keys))
    if rule.unmatched == "keep":  # validation then sees, and reports, the raw value
        mapped = pc.coalesce(mapped, values)
    result: pa.Array = mapped
    return result


def _parse_dates(values: pa.Array, formats: tuple[str, ...]) -> pa.Array:
    """Typed dates become ``timestamp[us]``; text becomes ISO text, unparsed text kept.

    Text stays text on purpose: one batch with a value no format matches must not change
    the column's type (every batch of a stream has one schema), and the value must reach
    validation, which reports it with its row, rather than turn into a silent null.
    """
    if pa.types.is_date(values.type):
        return values.cast(pa.timestamp("us"))
    if pa.types.is_timestamp(values.type):
        return values  # already a point in time; a zone it carries is kept
    text = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
    parsed = pc.coalesce(*(strptime_real_days(text, f) for f in formats))
    failed = pc.and_(pc.is_valid(text), pc.is_null(parsed))
    # "2014-02-01 00:00:00" with a T: several times faster than pc.strftime
    iso = pc.utf8_replace_slice(parsed.cast(pa.timestamp("s"), safe=False).cast(pa.string()),
                                start=10, stop=11, replacement="T")
    result: pa.Array = pc.if_else(failed, text, iso)
    return result


def _fill_default(values: pa.Array, default: Scalar | None, path: str) -> pa.Array:
    if pa.types.is_list(values.type):
        raise MappingError("default does not apply to a split list (an empty cell already "
                           "gives [])", path=f"{path}.default")
    scalar = pa.scalar(default)
    if pa.types.is_null(values.type):
        values = values.cast(scalar.type)
    if _is_text(values.type):
        missing = pc.or_kleene(pc.is_null(values), pc.equal(values, ""))
        scalar = scalar.cast(values.type)
    else:
        missing = pc.is_null(values)
        try:
            scalar = scalar.cast(values.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            # e.g. default "n/a" for a number column: both become text, nothing is lost
            values, scalar = _to_text(values, path), scalar.cast(pa.string())
    result: pa.Array = pc.if_else(pc.fill_null(missing, True), scalar, values)
    return result


# -- helpers ----------------------------------------------------------------------------


def _constant(value: Scalar | None, length: int) -> pa.Array:
    result: pa.Array = pa.repeat(pa.scalar(value), length)
    return result


def _truthy(values: pa.Array) -> pa.Array:
    if pa.types.is_boolean(values.type):
        flags = values
    else:
        words = pc.utf8_lower(pc.utf8_trim(_to_text(values, "when"), characters=WHITESPACE))
        flags = pc.is_in(words, value_set=pa.array(_TRUE_WORDS))
    result: pa.Array = pc.fill_null(flags, False)
    return result


def _elementwise(values: pa.Array, step: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """Apply ``step`` to a flat array, or to the items of a list array (no nulls, ours)."""
    if pa.types.is_list(values.type):
        return pa.ListArray.from_arrays(values.offsets, step(values.values))
    return step(values)


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _to_text(values: pa.Array, path: str) -> pa.Array:
    if pa.types.is_string(values.type):
        return values
    try:
        result: pa.Array = values.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise MappingError(f"a {values.type} column cannot be treated as text: {exc}",
                           path=path) from exc
    return result
