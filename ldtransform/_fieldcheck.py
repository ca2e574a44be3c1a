"""Checking one column against one schema field, vectorised.

:func:`check_field` converts a column to the field's type and applies every constraint,
returning the typed column and a :class:`Finding` per kind of problem. Child records
(``array``/``object`` fields) are flattened, checked field by field, and rebuilt, so a
problem in ``addresses[2].city`` is found with the same kernels as a top-level one. Every
check runs on every value it applies to, so one failed check never hides another.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ldtransform import issue_codes as codes
from ldtransform._bytelayout import full_match, pattern_layouts
from ldtransform._casting import EXPECTED, convert_scalar, to_text
from ldtransform.protocols import Severity
from ldtransform.schema import DIMENSION_PATH, FieldSpec

__all__ = ["Finding", "check_field", "list_positions"]

ENUM_SHOWN = 8  # allowed values listed in a message


@dataclass
class Finding:
    """Values of one batch that fail one check, by position in the batch."""

    code: str
    field: str
    rows: np.ndarray                   # positions in the batch
    values: list[object]
    message: str                       # template with {value} and {field}
    severity: Severity = "error"
    paths: list[str] | None = None     # per-position field paths of child values
    texts: list[str] | None = None     # per-position messages, when a template will not do

    def messages(self) -> list[str]:
        """The message of each value: ``{value}`` and ``{field}`` filled in."""
        if self.texts is not None:
            return self.texts
        return [self.message.replace("{value}", _shown(v)).replace("{field}", f)
                for v, f in zip(self.values, self.fields(), strict=True)]

    def fields(self) -> list[str]:
        return self.paths if self.paths is not None else [self.field] * len(self.rows)


def _shown(value: object, limit: int = 60) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…'"


@dataclass(frozen=True)
class Context:
    missing: tuple[str, ...]
    timezone: str


def check_field(array: pa.Array, spec: FieldSpec, context: Context,
                path: str | None = None) -> tuple[pa.Array, list[Finding]]:
    """Convert ``array`` to ``spec``'s type and check it; positions index ``array``."""
    path = path or spec.name
    if spec.type in ("array", "object") and (pa.types.is_string(array.type)
                                              or pa.types.is_large_string(array.type)):
        array, findings = _parse_json_text(array, spec, context, path)
        typed, more = check_field(array, spec, context, path)
        return typed, findings + more
    if spec.type == "array":
        return _check_list(array, spec, context, path)
    if spec.type == "object":
        return _check_object(array, spec, context, path)
    return _check_scalar(array, spec, context, path)


def _parse_json_text(array: pa.Array, spec: FieldSpec, context: Context,
                     path: str) -> tuple[pa.Array, list[Finding]]:
    """Lists and records written as JSON text (as a quarantine file writes them) become
    nested values again; leaves stay text so the usual conversions check them."""
    opening = "[" if spec.type == "array" else "{"
    parsed: list[object] = []
    failed = []
    for value in array.to_pylist():
        if value is None or value in context.missing:
            parsed.append(None)
            failed.append(False)
            continue
        try:
            loaded = orjson.loads(value) if value.lstrip().startswith(opening) else None
        except orjson.JSONDecodeError:
            loaded = None
        parsed.append(_as_text_leaves(loaded))
        failed.append(loaded is None)
    try:
        nested = pa.array(parsed)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        nested = pa.nulls(len(parsed))
        failed = [v is not None for v in array.to_pylist()]
    what = "a JSON list" if spec.type == "array" else "a JSON record"
    findings = _findings_where(pa.array(failed, pa.bool_()), array, codes.TYPE_ERROR, path,
                               _is_not(what))
    return nested, findings


def _as_text_leaves(value: object) -> object:
    if isinstance(value, dict):
        return {key: _as_text_leaves(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_text_leaves(item) for item in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


def _findings_where(mask: pa.Array, values: pa.Array, code: str, path: str,
                    message: str) -> list[Finding]:
    if not mask.true_count:  # the usual case, answered from the bitmap
        return []
    rows = np.flatnonzero(mask.fill_null(False).to_numpy(zero_copy_only=False))
    shown = values.take(pa.array(rows)).to_pylist()
    return [Finding(code, path, rows, shown, message)]


def _check_scalar(array: pa.Array, spec: FieldSpec, context: Context,
                  path: str) -> tuple[pa.Array, list[Finding]]:
    if pa.types.is_nested(array.type):
        return _not_a(array, spec, path, "a single value, not a list or record")
    formats = (spec.format,) if spec.format and "%" in spec.format else ()
    converted = convert_scalar(array, spec.type, missing=context.missing, formats=formats,
                               timezone=context.timezone, arrow_type=spec.to_arrow())
    values = converted.values
    unexplained = converted.failed
    findings = []
    for mask, message in converted.reasons:
        findings += _findings_where(mask, array, codes.TYPE_ERROR, path, message)
        unexplained = pc.and_(unexplained, pc.invert(mask))
    findings += _findings_where(unexplained, array, codes.TYPE_ERROR, path,
                                _is_not(EXPECTED[spec.type]))
    if spec.required:
        absent = pc.and_(pc.is_null(values), pc.invert(converted.failed))
        findings += _findings_where(absent, array, codes.MISSING_VALUE, path,
                                    codes.message(codes.MISSING_VALUE))
    findings += _constraint_findings(values, array, spec, context, path)
    return values, findings


def _constraint_findings(values: pa.Array, raw: pa.Array, spec: FieldSpec, context: Context,
                         path: str) -> list[Finding]:
    """Checks on the typed ``values``; messages show the ``raw`` value as written."""
    c = spec.constraints
    found: list[Finding] = []
    if spec.type in ("string", "enumeration"):
        if "enum" in c:
            allowed = pa.array(c["enum"], pa.string())
            outside = pc.invert(pc.is_in(values, value_set=allowed))
            found += _findings_where(pc.and_(outside, pc.is_valid(values)), raw,
                                     codes.NOT_IN_ENUM, path,
                                     codes.message(codes.NOT_IN_ENUM, allowed=_listed(c["enum"])))
        elif spec.type == "enumeration":
            bad = pc.invert(pc.match_substring_regex(values, pattern=DIMENSION_PATH.pattern))
            found += _findings_where(bad, raw, codes.INVALID_DIMENSION_PATH, path,
                                     "{value} is not a dimension path such as "
                                     "/Account/accountClass[invoiced]")
        if _may_break_length(values, c):
            found += _length_findings(pc.utf8_length(values), raw, spec, path, "characters")
        if "pattern" in c:
            found += _findings_where(pc.invert(_full_match(values, c["pattern"])), raw,
                                     codes.PATTERN_MISMATCH, path,
                                     codes.message(codes.PATTERN_MISMATCH, pattern=c["pattern"]))
    if "minimum" in c or "maximum" in c:
        found += _range_findings(values, raw, spec, context, path)
    return found


def _is_not(expected: str) -> str:
    return codes.message(codes.TYPE_ERROR, expected=expected)


def _listed(allowed: list[str]) -> str:
    shown = ", ".join(allowed[:ENUM_SHOWN])
    more = len(allowed) - ENUM_SHOWN
    return shown + (f" (and {more} more)" if more > 0 else "")


def _full_match(values: pa.Array, pattern: str) -> pa.Array:
    """Table Schema patterns match the whole value."""
    layouts = _pattern_layouts(pattern)
    if layouts is not None and (pa.types.is_string(values.type)
                                or pa.types.is_large_string(values.type)):
        return full_match(values, layouts)  # a fixed layout: checked column by column
    try:
        return pc.match_substring_regex(values, pattern=f"^(?:{pattern})$")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # RE2 (Arrow's engine) lacks some Python features such as look-arounds.
        compiled = re.compile(pattern)
        return pa.array([None if v is None else compiled.fullmatch(v) is not None
                         for v in values.to_pylist()], pa.bool_())


_pattern_layouts = functools.lru_cache(maxsize=256)(pattern_layouts)


def _may_break_length(values: pa.Array, constraints: dict[str, Any]) -> bool:
    """Whether a value of ``values`` may have fewer characters than ``minLength`` or more
    than ``maxLength``, judged from their sizes in bytes (a character takes 1 to 4), which
    Arrow knows without looking at the text."""
    if "minLength" not in constraints and "maxLength" not in constraints:
        return False
    sizes = pc.min_max(pc.binary_length(values))
    fewest, most = sizes["min"].as_py(), sizes["max"].as_py()
    if fewest is None:
        return False  # all null
    return bool(most > constraints.get("maxLength", most)
                or -(-fewest // 4) < constraints.get("minLength", 0))


def _length_findings(lengths: pa.Array, values: pa.Array, spec: FieldSpec, path: str,
                     unit: str) -> list[Finding]:
    c = spec.constraints
    found: list[Finding] = []
    if "minLength" in c:
        found += _findings_where(pc.less(lengths, c["minLength"]), values, codes.TOO_SHORT,
                                 path, codes.message(codes.TOO_SHORT, limit=c["minLength"],
                                                 unit=unit))
    if "maxLength" in c:
        found += _findings_where(pc.greater(lengths, c["maxLength"]), values, codes.TOO_LONG,
                                 path, codes.message(codes.TOO_LONG, limit=c["maxLength"],
                                                 unit=unit))
    return found


def _range_findings(values: pa.Array, raw: pa.Array, spec: FieldSpec, context: Context,
                    path: str) -> list[Finding]:
    found: list[Finding] = []
    for name, code, compare in (("minimum", codes.BELOW_MINIMUM, pc.less),
                                ("maximum", codes.ABOVE_MAXIMUM, pc.greater)):
        if name not in spec.constraints:
            continue
        bound = spec.constraints[name]
        limit = convert_scalar(pa.array([str(bound)]), spec.type, timezone=context.timezone,
                               arrow_type=spec.to_arrow())
        found += _findings_where(compare(values, limit.values[0]), raw, code, path,
                                 codes.message(code, limit=bound))
    return found


def _not_a(array: pa.Array, spec: FieldSpec, path: str,
           expected: str) -> tuple[pa.Array, list[Finding]]:
    present = pc.is_valid(array)
    shown = to_text(array) if not pa.types.is_nested(array.type) else pa.array(
        [None if v is None else str(v) for v in array.to_pylist()], pa.string())
    findings = _findings_where(present, shown, codes.TYPE_ERROR, path, _is_not(expected))
    return pa.nulls(len(array), spec.to_arrow()), findings


def _check_list(array: pa.Array, spec: FieldSpec, context: Context,
                path: str) -> tuple[pa.Array, list[Finding]]:
    if pa.types.is_null(array.type):
        array = pa.nulls(len(array), pa.list_(pa.null()))
    if not (pa.types.is_list(array.type) or pa.types.is_large_list(array.type)):
        what = "a list of records" if spec.fields else "a list"
        return _not_a(array, spec, path, what)
    array = array.fill_null(pa.scalar([], array.type))  # an absent list is an empty one
    offsets = np.asarray(array.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
    flat = array.flatten()
    parents, index = list_positions(array)
    if spec.fields:
        inner, child_findings = _check_records(flat, spec, context, f"{path}[]")
    else:
        item = FieldSpec(spec.name, spec.items or "string")
        inner, child_findings = _check_scalar(flat, item, context, f"{path}[]")
    findings = [_lift(f, parents, index, path) for f in child_findings]
    rebuilt = pa.ListArray.from_arrays(pa.array(offsets - offsets[0], pa.int32()), inner)
    lengths = pc.list_value_length(rebuilt)
    findings += _length_findings(lengths, pc.cast(lengths, pa.int64()), spec, path, "entries")
    if spec.required:
        findings += _findings_where(pc.equal(lengths, 0), pa.nulls(len(lengths), pa.string()),
                                    codes.MISSING_VALUE, path,
                                    "{field} needs at least one entry")
    return rebuilt, findings


def list_positions(lists: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """For each value of ``lists.flatten()``: the row of its list, and its place in it."""
    offsets = np.asarray(lists.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
    parents = np.asarray(pc.list_parent_indices(lists).to_numpy(zero_copy_only=False),
                         dtype=np.int64)
    return parents, np.arange(len(parents), dtype=np.int64) + offsets[0] - offsets[parents]


def _lift(finding: Finding, parents: np.ndarray, index: np.ndarray, path: str) -> Finding:
    """A finding on flattened child values, moved onto the parent rows: the child path
    ``path[]...`` becomes ``path[i]...`` with each value's position in its list."""
    at = finding.rows
    cut = len(path) + 2
    paths = [f"{path}[{i}]{p[cut:]}" for i, p in zip(index[at], finding.fields(), strict=True)]
    return Finding(finding.code, finding.field, parents[at], finding.values, finding.message,
                   finding.severity, paths)


def _check_records(flat: pa.Array, spec: FieldSpec, context: Context,
                   prefix: str) -> tuple[pa.Array, list[Finding]]:
    """Check every child field of a struct array; paths are ``prefix.child``."""
    record_type = pa.struct([pa.field(c.name, c.to_arrow()) for c in spec.fields])
    if pa.types.is_null(flat.type):
        flat = pa.nulls(len(flat), pa.struct([]))
    if not pa.types.is_struct(flat.type):
        _, findings = _not_a(flat, spec, prefix, "a record")
        return pa.nulls(len(flat), record_type), findings
    names = {flat.type.field(i).name for i in range(flat.type.num_fields)}
    children, findings = [], []
    for child in spec.fields:
        column = flat.field(child.name) if child.name in names else pa.nulls(len(flat))
        typed, found = check_field(column, child, context, f"{prefix}.{child.name}")
        children.append(typed)
        findings += found
    struct = pa.StructArray.from_arrays(children, fields=list(record_type),
                                        mask=pc.is_null(flat))
    return struct, findings


def _check_object(array: pa.Array, spec: FieldSpec, context: Context,
                  path: str) -> tuple[pa.Array, list[Finding]]:
    if not pa.types.is_struct(array.type) and not pa.types.is_null(array.type):
        return _not_a(array, spec, path, "a record")
    struct, findings = _check_records(array, spec, context, path)
    if spec.required:
        findings += _findings_where(pc.is_null(array), pa.nulls(len(array), pa.string()),
                                    codes.MISSING_VALUE, path,
                                    codes.message(codes.MISSING_VALUE))
    return struct, findings
