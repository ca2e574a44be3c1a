"""The itemType schema: Frictionless Table Schema, extended for LD items.

A schema names an LD ``itemType`` and ``category`` and lists its fields. Field types are
Table Schema's (``string``, ``integer``, ``number``, ``boolean``, ``date``, ``datetime``,
``object``, ``array``) plus ``decimal`` and LD's ``enumeration``, whose allowed values are
dimension paths such as ``/Account/accountClass[invoiced]``. ``array``/``object`` fields
may describe child records with nested ``fields``. A schema that is itself wrong raises
:class:`~ldtransform.errors.SchemaError` with the JSON path of the mistake.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from decimal import Context, Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa

from ldtransform.errors import SchemaError

__all__ = ["DIMENSION_PATH", "FieldSpec", "ItemSchema", "load_schema"]

FIELD_TYPES = ("string", "integer", "number", "decimal", "boolean", "date", "datetime",
               "enumeration", "object", "array")
CONSTRAINTS = ("required", "unique", "enum", "minLength", "maxLength", "pattern",
               "minimum", "maximum")
LENGTH_TYPES = ("string", "enumeration", "array")
RANGE_TYPES = ("integer", "number", "decimal", "date", "datetime")
#: ``/Root/name[value]/child[value]``; empty brackets mean no value at that level.
DIMENSION_PATH = re.compile(r"^/[A-Za-z_][\w]*(/[A-Za-z_][\w]*\[[^\[\]/]*\])+$")
#: A ``decimal`` without ``precision``/``scale``: 38 significant digits (the most Arrow's
#: decimal128 holds), 18 of them after the point, so 20 before it.
DECIMAL_PRECISION, DECIMAL_SCALE = 38, 18
ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(), "integer": pa.int64(), "number": pa.float64(),
    "decimal": pa.decimal128(DECIMAL_PRECISION, DECIMAL_SCALE), "boolean": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us", tz="UTC"), "enumeration": pa.string(),
}


@dataclass(frozen=True)
class FieldSpec:
    """One field of an item (or of a child record)."""

    name: str
    type: str = "string"
    format: str | None = None
    constraints: dict[str, Any] = field(default_factory=dict)
    fields: tuple[FieldSpec, ...] = ()
    items: str | None = None
    description: str = ""
    #: A ``decimal``'s significant digits and how many of them follow the point.
    precision: int = DECIMAL_PRECISION
    scale: int = DECIMAL_SCALE

    @property
    def required(self) -> bool:
        return bool(self.constraints.get("required", False))

    def to_arrow(self) -> pa.DataType:
        """The Arrow type of this field's values."""
        if self.type == "object":
            return pa.struct([pa.field(f.name, f.to_arrow()) for f in self.fields])
        if self.type == "array":
            inner = (pa.struct([pa.field(f.name, f.to_arrow()) for f in self.fields])
                     if self.fields else ARROW_TYPES[self.items or "string"])
            return pa.list_(inner)
        if self.type == "decimal":
            return pa.decimal128(self.precision, self.scale)
        return ARROW_TYPES[self.type]


@dataclass(frozen=True)
class ItemSchema:
    """An LD itemType: its fields, primary key and missing-value spellings."""

    item_type: str
    category: str = "entity"
    fields: tuple[FieldSpec, ...] = ()
    primary_key: tuple[str, ...] = ()
    missing_values: tuple[str, ...] = ("",)
    source: str | None = None
    #: IANA zone in which dates without a time are midnight (LD writes them in UTC).
    timezone: str = "UTC"
    description: str = ""
    #: Custom validators to run, each ``{"name": <validator>, **options}``.
    checks: tuple[dict[str, Any], ...] = ()
    #: How writers spell a text field with no value: ``""`` as in LD's samples, or None.
    unset_text: str | None = ""

    def field(self, name: str) -> FieldSpec:
        """The field called ``name`` (KeyError when there is none)."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def field_names(self) -> list[str]:
        return [spec.name for spec in self.fields]

    def to_arrow(self) -> pa.Schema:
        """The Arrow schema of validated items."""
        return pa.schema([pa.field(f.name, f.to_arrow(), nullable=not f.required)
                          for f in self.fields])

    @classmethod
    def from_dict(cls, document: Any, *, source: str | None = None) -> ItemSchema:
        """Build and check a schema from its JSON document."""
        return _SchemaParser(source).schema(document)


def load_schema(path: str | os.PathLike[str]) -> ItemSchema:
    """Read an itemType schema from a JSON file (or YAML, when PyYAML is installed)."""
    name = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaError(f"cannot read the schema: {exc.strerror or exc}", path="$",
                          source=name) from exc
    try:
        yaml_file = name.endswith((".yaml", ".yml"))
        document = _load_yaml(text, name) if yaml_file else json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(f"not valid JSON at line {exc.lineno}, column {exc.colno}: "
                          f"{exc.msg}", path="$", source=name) from exc
    return ItemSchema.from_dict(document, source=name)


def _load_yaml(text: str, name: str) -> Any:
    try:
        import yaml
    except ImportError as exc:
        raise SchemaError("YAML schemas need PyYAML: pip install pyyaml, or write the "
                          "schema as JSON", path="$", source=name) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SchemaError(f"not valid YAML: {exc}", path="$", source=name) from exc


class _SchemaParser:
    """Checks a schema document and builds it, naming the JSON path of any mistake."""

    def __init__(self, source: str | None) -> None:
        self.source = source

    def fail(self, path: str, problem: str) -> SchemaError:
        return SchemaError(problem, path=path, source=self.source)

    def schema(self, document: Any) -> ItemSchema:
        if not isinstance(document, dict):
            raise self.fail("$", "a schema is a JSON object with itemType and fields")
        item_type = document.get("itemType")
        if not isinstance(item_type, str) or not item_type:
            raise self.fail("$.itemType", "itemType (the LD item type, e.g. 'Account') "
                            "is required")
        category = document.get("category", "entity")
        if category not in ("entity", "work"):
            raise self.fail("$.category", f"category must be 'entity' or 'work', "
                            f"not {category!r}")
        fields = self.fields(document.get("fields"), "$.fields")
        names = [f.name for f in fields]
        primary_key = document.get("primaryKey", [])
        if isinstance(primary_key, str):
            primary_key = [primary_key]
        for key in primary_key:
            if key not in names:
                raise self.fail("$.primaryKey", f"primary key field {key!r} is not among "
                                f"the fields ({', '.join(names)})")
        missing = document.get("missingValues", [""])
        if not isinstance(missing, list) or not all(isinstance(m, str) for m in missing):
            raise self.fail("$.missingValues", "missingValues is a list of strings")
        timezone = document.get("timezone", "UTC")
        try:
            ZoneInfo(timezone)
        except (ValueError, TypeError, ZoneInfoNotFoundError) as exc:
            raise self.fail("$.timezone", f"unknown time zone {timezone!r}; use an IANA "
                            "name such as 'America/New_York' or 'UTC'") from exc
        unset_text = document.get("unsetText", "")
        if unset_text is not None and not isinstance(unset_text, str):
            raise self.fail("$.unsetText", "unsetText is the text written for an unset text "
                            'field: a string ("" by default) or null')
        return ItemSchema(item_type, category, fields, tuple(primary_key), tuple(missing),
                          self.source, timezone, str(document.get("description", "")),
                          self.checks(document.get("checks", [])), unset_text)

    def checks(self, raw: Any) -> tuple[dict[str, Any], ...]:
        if not isinstance(raw, list):
            raise self.fail("$.checks", "checks is a list of objects such as "
                            '{"name": "field-order", "earlier": "a", "later": "b"}')
        for i, check in enumerate(raw):
            if not isinstance(check, dict) or not isinstance(check.get("name"), str):
                raise self.fail(f"$.checks[{i}]", "a check is an object with the 'name' of "
                                "a validator plus its options")
        return tuple(dict(check) for check in raw)

    def fields(self, raw: Any, path: str) -> tuple[FieldSpec, ...]:
        if not isinstance(raw, list) or not raw:
            raise self.fail(path, "fields must be a non-empty list of field objects")
        specs = [self.field(item, f"{path}[{i}]") for i, item in enumerate(raw)]
        seen: set[str] = set()
        for i, spec in enumerate(specs):
            if spec.name in seen:
                raise self.fail(f"{path}[{i}].name", f"field {spec.name!r} is listed twice")
            seen.add(spec.name)
        return tuple(specs)

    def field(self, raw: Any, path: str) -> FieldSpec:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise self.fail(path, "a field is an object with at least a string 'name'")
        kind = raw.get("type", "string")
        if kind not in FIELD_TYPES:
            raise self.fail(f"{path}.type", f"unknown type {kind!r}; use one of "
                            f"{', '.join(FIELD_TYPES)}")
        constraints = raw.get("constraints", {})
        if not isinstance(constraints, dict):
            raise self.fail(f"{path}.constraints", "constraints is an object")
        self.check_constraints(kind, constraints, f"{path}.constraints")
        children: tuple[FieldSpec, ...] = ()
        if "fields" in raw:
            if kind not in ("object", "array"):
                raise self.fail(f"{path}.fields", f"only object and array fields have "
                                f"nested fields, not {kind!r}")
            children = self.fields(raw["fields"], f"{path}.fields")
        items = raw.get("items")
        if items is not None and (kind != "array" or items not in ARROW_TYPES):
            raise self.fail(f"{path}.items", "items names the type of an array's plain "
                            f"values, one of {', '.join(ARROW_TYPES)}")
        precision, scale = self.digits(kind, raw, path)
        if kind == "decimal":
            self.check_decimal_bounds(constraints, precision, scale, f"{path}.constraints")
        return FieldSpec(raw["name"], kind, raw.get("format"), dict(constraints), children,
                         items, str(raw.get("description", "")), precision, scale)

    def digits(self, kind: str, raw: dict[str, Any], path: str) -> tuple[int, int]:
        """A decimal field's ``precision`` (1 to 38) and ``scale`` (0 to the precision);
        a precision without a scale means whole numbers, as SQL's ``DECIMAL(p)`` does."""
        precision = raw.get("precision", DECIMAL_PRECISION)
        scale = raw.get("scale", 0 if "precision" in raw else DECIMAL_SCALE)
        for name, value, low, high in (("precision", precision, 1, DECIMAL_PRECISION),
                                       ("scale", scale, 0, precision)):
            if name in raw and kind != "decimal":
                raise self.fail(f"{path}.{name}", f"{name} applies to decimal fields, not "
                                f"{kind}")
            if type(value) is not int or not low <= value <= high:
                raise self.fail(f"{path}.{name}", f"{name} is a whole number from {low} to "
                                f"{high}" + (" (the precision)" if name == "scale" else ""))
        return precision, scale

    def check_decimal_bounds(self, constraints: dict[str, Any], precision: int, scale: int,
                             path: str) -> None:
        """A decimal's minimum and maximum are numbers its precision and scale hold."""
        for name in ("minimum", "maximum"):
            bound = constraints.get(name)
            if name not in constraints:
                continue
            try:
                value = Decimal(str(bound)) if type(bound) in (int, float, str) else None
            except InvalidOperation:
                value = None
            if value is None or not value.is_finite():
                raise self.fail(f"{path}.{name}", f"{name} of a decimal field is a number, "
                                f"not {bound!r}")
            exponent = value.normalize(Context(prec=100)).as_tuple().exponent
            assert isinstance(exponent, int)  # finite
            if not value.is_zero() and (value.adjusted() >= precision - scale
                                        or -exponent > scale):
                raise self.fail(f"{path}.{name}", f"{name} {bound} does not fit the field's "
                                f"precision {precision} and scale {scale}")

    def check_constraints(self, kind: str, constraints: dict[str, Any], path: str) -> None:
        for name, value in constraints.items():
            where = f"{path}.{name}"
            if name not in CONSTRAINTS:
                raise self.fail(where, f"unknown constraint {name!r}; use one of "
                                f"{', '.join(CONSTRAINTS)}")
            if name in ("required", "unique") and not isinstance(value, bool):
                raise self.fail(where, f"{name} is true or false")
            if name in ("minLength", "maxLength") and (
                    kind not in LENGTH_TYPES or not isinstance(value, int) or value < 0):
                raise self.fail(where, f"{name} is a non-negative integer, for "
                                f"{'/'.join(LENGTH_TYPES)} fields only (this is {kind})")
            if name in ("minimum", "maximum") and kind not in RANGE_TYPES:
                raise self.fail(where, f"{name} applies to numbers and dates, not {kind}")
            if name == "pattern":
                self.check_pattern(kind, value, where)
            if name == "enum":
                self.check_enum(kind, value, where)

    def check_pattern(self, kind: str, value: Any, where: str) -> None:
        if kind not in ("string", "enumeration"):
            raise self.fail(where, f"pattern applies to text fields, not {kind}")
        if not isinstance(value, str):
            raise self.fail(where, "pattern is a regular expression string")
        try:
            re.compile(value)
        except re.error as exc:
            raise self.fail(where, f"not a valid regular expression: {exc}") from exc

    def check_enum(self, kind: str, value: Any, where: str) -> None:
        if kind not in ("string", "enumeration"):
            raise self.fail(where, f"enum applies to string and enumeration fields, "
                            f"not {kind}")
        if not isinstance(value, list) or not value:
            raise self.fail(where, "enum is a non-empty list of allowed values")
        for i, allowed in enumerate(value):
            bad = not isinstance(allowed, str) or (
                kind == "enumeration" and not DIMENSION_PATH.match(allowed))
            if bad:
                raise self.fail(f"{where}[{i}]", f"{allowed!r} is not a dimension path such "
                                "as '/Account/accountClass[invoiced]'" if kind == "enumeration"
                                else f"{allowed!r} is not a string")
