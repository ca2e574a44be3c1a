"""Per-record checks of item data against an :class:`~ldtransform.schema.ItemSchema`.

The server checks every record of a million-item import, so the schema is compiled twice:
into generated Python source for a yes/no test (straight-line code, no calls per field),
which valid records pass quickly, and into a tree of small closures that names every
problem of a record that fails it. A problem is ``(field path, code, message)``; the codes
are the toolkit's issue codes (:mod:`ldtransform.issue_codes`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from math import isfinite
from typing import Any

from ldtransform import issue_codes as codes
from ldtransform.schema import DIMENSION_PATH, FieldSpec, ItemSchema

__all__ = ["Problem", "RecordChecker", "primary_key_of"]

Problem = tuple[str, str, str]
Check = Callable[[Any, str, list[Problem]], None]

_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
                       r"(Z|[+-]\d{2}:?\d{2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SEEN_DATETIMES: dict[str, bool] = {}
#: An integer field holds int64 values (a JSON parser may give larger ints, or floats).
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _is_missing(value: Any) -> bool:
    return value is None or value == ""


def _type_check(kind: str) -> Callable[[Any], bool]:
    """A test that a present value has the JSON type of a schema type."""
    if kind in ("string", "enumeration", "date", "datetime"):
        return lambda v: type(v) is str
    if kind == "integer":
        return lambda v: (type(v) is int or (type(v) is float and v.is_integer())) \
            and _INT64_MIN <= v <= _INT64_MAX
    if kind in ("number", "decimal"):
        return lambda v: type(v) is int or (type(v) is float and isfinite(v))
    if kind == "boolean":
        return lambda v: type(v) is bool
    if kind == "object":
        return lambda v: type(v) is dict
    return lambda v: type(v) is list


def _valid_datetime(text: str) -> bool:
    # Real files repeat the same few dates endlessly: remember the answers.
    known = _SEEN_DATETIMES.get(text)
    if known is not None:
        return known
    valid = bool(_DATETIME.match(text))
    if valid:
        try:
            datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            valid = False
    if len(_SEEN_DATETIMES) > 100_000:
        _SEEN_DATETIMES.clear()
    _SEEN_DATETIMES[text] = valid
    return valid


def _valid_date(text: str) -> bool:
    if _DATE.match(text):
        try:
            date.fromisoformat(text)
        except ValueError:
            return False
        return True
    return _valid_datetime(text)


def _value_checks(kind: str, fmt: str | None, c: dict[str, Any]) -> list[Check]:
    """Checks of one present value of the right JSON type."""
    checks: list[Check] = []

    def add(test: Callable[[Any], bool], code: str, message: Callable[[Any], str]) -> None:
        def check(value: Any, path: str, out: list[Problem]) -> None:
            if not test(value):
                out.append((path, code, message(value)))
        checks.append(check)

    if kind == "enumeration":
        add(lambda v: bool(DIMENSION_PATH.match(v)), codes.INVALID_DIMENSION_PATH,
            lambda v: f"{v!r} is not a dimension path like /Account/accountClass[invoiced]")
    if kind == "datetime":
        add(_valid_datetime, codes.TYPE_ERROR,
            lambda v: f"{v!r} is not a date-time like 2014-02-01T05:00:00+0000")
    if kind == "date":
        add(_valid_date, codes.TYPE_ERROR, lambda v: f"{v!r} is not a date like 2014-02-01")
    if "enum" in c:
        allowed = frozenset(c["enum"])
        shown = ", ".join(c["enum"][:8])
        add(lambda v: v in allowed, codes.NOT_IN_ENUM, lambda v: f"{v!r} is not one of: {shown}")
    if "pattern" in c:
        regex = re.compile(c["pattern"])
        add(lambda v: regex.fullmatch(v) is not None, codes.PATTERN_MISMATCH,
            lambda v: f"{v!r} does not match the pattern {c['pattern']}")
    if "maxLength" in c:
        most = c["maxLength"]
        add(lambda v: len(v) <= most, codes.TOO_LONG,
            lambda v: f"{len(v)} long, more than the maximum length {most}")
    if "minLength" in c:
        least = c["minLength"]
        add(lambda v: len(v) >= least, codes.TOO_SHORT,
            lambda v: f"{len(v)} long, less than the minimum length {least}")
    if "minimum" in c and kind in ("integer", "number", "decimal"):
        low = c["minimum"]
        add(lambda v: v >= low, codes.BELOW_MINIMUM,
            lambda v: f"{v!r} is less than the minimum {low}")
    if "maximum" in c and kind in ("integer", "number", "decimal"):
        high = c["maximum"]
        add(lambda v: v <= high, codes.ABOVE_MAXIMUM,
            lambda v: f"{v!r} is more than the maximum {high}")
    return checks


def _compile_field(spec: FieldSpec) -> Check:
    """The check of one field's present value (missing values are handled by the parent)."""
    is_type = _type_check(spec.type)
    checks = _value_checks(spec.type, spec.format, spec.constraints)
    nested: Check | None = None
    if spec.type == "object" and spec.fields:
        nested = _compile_object(spec.fields)
    elif spec.type == "array":
        nested = _compile_array(spec)
    expected = {"enumeration": "a dimension path (string)", "date": "a date string",
                "datetime": "a date-time string", "decimal": "a finite number",
                "number": "a finite number",
                "integer": f"a whole number from {_INT64_MIN} to {_INT64_MAX}",
                "object": "an object", "array": "an array"}.get(spec.type, f"a {spec.type}")

    def check(value: Any, path: str, out: list[Problem]) -> None:
        if not is_type(value):
            out.append((path, codes.TYPE_ERROR, f"{value!r} is not {expected}"))
            return
        for each in checks:
            each(value, path, out)
        if nested is not None:
            nested(value, path, out)
    return check


def _compile_array(spec: FieldSpec) -> Check:
    if spec.fields:
        element = _compile_field(FieldSpec("item", "object", fields=spec.fields))
    else:
        element = _compile_field(FieldSpec("item", spec.items or "string"))

    def check(values: list[Any], path: str, out: list[Problem]) -> None:
        for i, value in enumerate(values):
            if value is None:
                out.append((f"{path}[{i}]", codes.TYPE_ERROR, "null is not allowed in a list"))
            else:
                element(value, f"{path}[{i}]", out)
    return check


def _compile_object(specs: tuple[FieldSpec, ...]) -> Check:
    compiled = [(s.name, s.required, _compile_field(s)) for s in specs]
    known = frozenset(s.name for s in specs)

    def check(value: dict[str, Any], path: str, out: list[Problem]) -> None:
        prefix = f"{path}." if path else ""
        for name, required, field_check in compiled:
            item = value.get(name)
            # LD writes unset text as "": a missing value, as the schema's missingValues say.
            if item is None or item == "":
                if required:
                    out.append((prefix + name, codes.MISSING_VALUE, "a value is required"))
                continue
            field_check(item, prefix + name, out)
        if len(value) > len(known) or not known.issuperset(value):
            for name in value:
                if name not in known:
                    out.append((prefix + name, codes.UNKNOWN_FIELD,
                                codes.message(codes.UNKNOWN_FIELD)))
    return check


def primary_key_of(schema: ItemSchema, data: dict[str, Any]) -> str | None:
    """The stored key of an item (None when a key field is missing or not scalar)."""
    if not schema.primary_key:
        return None
    values = []
    for name in schema.primary_key:
        value = data.get(name)
        if _is_missing(value) or isinstance(value, dict | list):
            return None
        values.append(str(value))
    return values[0] if len(values) == 1 else "\x1f".join(values)


class _Generator:
    """Writes the source of a predicate that is True exactly when a record has no problem."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.functions: list[str] = []
        self.names: dict[str, Any] = {"_vdt": _valid_datetime, "_vd": _valid_date,
                                      "_dim": DIMENSION_PATH.match, "_fin": isfinite}
        self.count = 0

    def constant(self, value: Any) -> str:
        name = f"_c{len(self.names)}"
        self.names[name] = value
        return name

    def value_tests(self, kind: str, c: dict[str, Any], v: str) -> list[str]:
        """Conditions under which a present value ``v`` is wrong."""
        number = f"(type({v}) is not int and not (type({v}) is float and _fin({v})))"
        tests = [{"integer": f"not ((type({v}) is int or (type({v}) is float and "
                             f"{v}.is_integer())) and {_INT64_MIN} <= {v} <= {_INT64_MAX})",
                  "number": number, "decimal": number,
                  "boolean": f"type({v}) is not bool", "object": f"type({v}) is not dict",
                  "array": f"type({v}) is not list"}.get(kind, f"type({v}) is not str")]
        if kind == "enumeration" and "enum" not in c:  # enum values are checked paths
            tests.append(f"_dim({v}) is None")
        if kind in ("datetime", "date"):
            tests.append(f"not {'_vdt' if kind == 'datetime' else '_vd'}({v})")
        if "enum" in c:
            tests.append(f"{v} not in {self.constant(frozenset(c['enum']))}")
        if "pattern" in c:
            tests.append(f"{self.constant(re.compile(c['pattern']).fullmatch)}({v}) is None")
        if "maxLength" in c:
            tests.append(f"len({v}) > {int(c['maxLength'])}")
        if "minLength" in c:
            tests.append(f"len({v}) < {int(c['minLength'])}")
        if kind in ("integer", "number", "decimal"):
            if "minimum" in c:
                tests.append(f"{v} < {self.constant(c['minimum'])}")
            if "maximum" in c:
                tests.append(f"{v} > {self.constant(c['maximum'])}")
        return tests

    def field(self, spec: FieldSpec, v: str, indent: str) -> None:
        tests = self.value_tests(spec.type, spec.constraints, v)
        self.lines.append(f"{indent}if {' or '.join(tests)}: return False")
        if spec.type == "object" and spec.fields:
            self.lines.append(f"{indent}if not {self.object(spec.fields)}({v}): return False")
        elif spec.type == "array" and spec.fields:
            inner = self.object(spec.fields)
            self.lines.append(f"{indent}for _e in {v}:")
            self.lines.append(f"{indent}    if type(_e) is not dict or not {inner}(_e): "
                              "return False")
        elif spec.type == "array":
            item = " or ".join(self.value_tests(spec.items or "string", {}, "_e"))
            self.lines.append(f"{indent}for _e in {v}:")
            self.lines.append(f"{indent}    if _e is None or {item}: return False")

    def object(self, specs: tuple[FieldSpec, ...]) -> str:
        """Generate the predicate of an object with ``specs``; returns its name."""
        self.count += 1
        name = f"_valid{self.count}"
        known = self.constant(frozenset(s.name for s in specs))
        body: list[str] = []
        saved, self.lines = self.lines, body
        for spec in specs:
            body.append(f"    v = d.get({spec.name!r})")
            if spec.required:
                body.append("    if v is None or v == '': return False")
                self.field(spec, "v", "    ")
            else:
                body.append("    if v is not None and v != '':")
                self.field(spec, "v", "        ")
        body.append(f"    return {known}.issuperset(d)")
        self.lines = saved
        self.functions += [f"def {name}(d):", *body, ""]
        return name


def _generate(specs: tuple[FieldSpec, ...]) -> Callable[[dict[str, Any]], bool]:
    generator = _Generator()
    top = generator.object(specs)
    namespace = dict(generator.names)
    exec(compile("\n".join(generator.functions), "<record-check>", "exec"), namespace)
    predicate: Callable[[dict[str, Any]], bool] = namespace[top]
    return predicate


class RecordChecker:
    """Checks item data against one itemType schema."""

    def __init__(self, schema: ItemSchema) -> None:
        self.schema = schema
        self._check = _compile_object(schema.fields)
        self.is_valid = _generate(schema.fields)

    def check(self, data: dict[str, Any]) -> list[Problem]:
        """Every problem of a whole item (empty when it is valid)."""
        if self.is_valid(data):
            return []
        out: list[Problem] = []
        self._check(data, "", out)
        return out

    def check_key(self, data: dict[str, Any]) -> list[Problem]:
        """Problems of the primary key alone (what a Delete needs)."""
        return [(name, codes.MISSING_VALUE, "the primary key field is required")
                for name in self.schema.primary_key if _is_missing(data.get(name))]
