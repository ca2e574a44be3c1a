"""Parse a mapping document (TOML or dict) into rules, naming the key path of any mistake.

This module only checks the *shape* of a mapping; whether the columns it names exist is
checked later, against a real source schema, by :meth:`Mapping.bind`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ldtransform._empty import EMPTY_RULES
from ldtransform.errors import MappingError
from ldtransform.fieldpath import FieldPath, FieldPathError

__all__ = ["ChildSpec", "FieldRule", "MappingSpec", "Target", "close_match", "parse_spec",
           "suggest"]

TOP_KEYS = ("options", "fields", "children", "transforms")
OPTION_KEYS = ("trim", "normalize_space", "case_insensitive")
#: [options] also holds what an empty source value means (see ``ldtransform._empty``).
MAPPING_OPTION_KEYS = (*OPTION_KEYS, "empty")
SOURCE_KEYS = ("column", "concat", "constant", "parent")
RULE_KEYS = (*SOURCE_KEYS, "separator", "default", "trim", "normalize_space", "values",
             "case_insensitive", "unmatched", "split", "index", "date_formats", "when")
KEYED_CHILD_KEYS = ("sheet", "file", "options", "key", "parent_key", "fields")
FLAT_CHILD_KEYS = ("skip_if_empty",)
UNMATCHED = ("keep", "null")
#: TOML scalars a constant or default may be (TOML dates arrive as datetime objects).
Scalar = str | bool | int | float | dt.date | dt.datetime | dt.time


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``word``, if any is close (difflib, then case-blind)."""
    choices = list(candidates)
    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not found:  # a case-only slip ("city" for "CITY") scores low on short words
        found = [c for c in choices if c.lower() == word.lower()][:1]
    return found[0] if found else None


def close_match(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a candidate is close to ``word``, else ``""``."""
    found = suggest(word, candidates)
    return f" (did you mean {found!r}?)" if found else ""


@dataclass(frozen=True)
class FieldRule:
    """How one output field (or child field) is computed from its source table."""

    name: str
    path: str
    column: str | None = None
    concat: tuple[str, ...] = ()
    separator: str = " "
    parent: str | None = None
    has_constant: bool = False
    constant: Scalar | None = None
    has_default: bool = False
    default: Scalar | None = None
    trim: bool = False
    normalize_space: bool = False
    values: tuple[tuple[str, str], ...] | None = None
    case_insensitive: bool = False
    unmatched: str = "keep"
    split: str | None = None
    index: int | None = None
    date_formats: tuple[str, ...] = ()
    when: str | None = None

    def own_columns(self) -> list[tuple[str, str]]:
        """(column, key path) of every column of the rule's own table it reads."""
        named = [(self.column, "column"), *((c, "concat") for c in self.concat),
                 (self.when, "when")]
        return [(column, f"{self.path}.{key}") for column, key in named if column]


@dataclass(frozen=True)
class ChildSpec:
    """Child records from another table: rows whose ``key`` equals the parent's key."""

    name: str
    path: str
    key: str
    parent_key: str
    fields: tuple[FieldRule, ...]
    sheet: str | int | None = None
    file: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Target:
    """One top-level output field and how it is made.

    ``kind`` is ``"value"`` (one rule), ``"list"`` (flat records ``name[i].sub`` or plain
    ``name[i]``), ``"object"`` (one record ``name.sub``) or ``"children"`` (keyed rows).
    """

    name: str
    kind: str
    rule: FieldRule | None = None
    records: dict[int, list[FieldRule]] = field(default_factory=dict)
    plain_items: bool = False
    skip_if_empty: tuple[str, ...] | None = None
    child: ChildSpec | None = None


@dataclass(frozen=True)
class MappingSpec:
    """A parsed mapping: output targets in mapping order."""

    targets: tuple[Target, ...]
    source: str | None
    #: ``"omit"`` or ``"clear"`` when the mapping says what an empty value means.
    empty: str | None = None
    #: ``transforms = [{name = ...}, ...]``: run on the source's rows before the mapping.
    transforms: tuple[dict[str, Any], ...] = ()


def parse_spec(document: Any, source: str | None) -> MappingSpec:
    """Check a mapping document and turn it into a :class:`MappingSpec`."""
    return _Parser(source).parse(document)


class _Parser:
    def __init__(self, source: str | None) -> None:
        self.source = source
        self.defaults: dict[str, bool] = {}

    def fail(self, path: str, problem: str) -> MappingError:
        return MappingError(problem, path=path, source=self.source)

    def table(self, raw: Any, path: str, valid: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(raw, Mapping):
            raise self.fail(path, f"expected a table with keys among {', '.join(valid)}")
        for key in raw:
            if key not in valid:
                raise self.fail(f"{path}.{key}", f"unknown key {key!r}{close_match(key, valid)};"
                                f" valid keys here: {', '.join(valid)}")
        return dict(raw)

    def parse(self, document: Any) -> MappingSpec:
        top = self.table(document, "$", TOP_KEYS)
        options = self.table(top.get("options", {}), "options", MAPPING_OPTION_KEYS)
        empty = options.get("empty")
        if empty is not None and empty not in EMPTY_RULES:
            raise self.fail("options.empty", "empty is \"omit\" (an empty value leaves the "
                            "field out of the item) or \"clear\" (writes it empty), not "
                            f"{empty!r}")
        for name in OPTION_KEYS:
            self.defaults[name] = self.boolean(options.get(name, False), f"options.{name}")
        fields = top.get("fields", {})
        children = top.get("children", {})
        if not isinstance(fields, Mapping):
            raise self.fail("fields", "fields is a table of output field = rule")
        if not isinstance(children, Mapping):
            raise self.fail("children", "children is a table of [children.<field>] tables")
        targets: dict[str, Target] = {}
        for key, raw in fields.items():
            self.add_field(targets, str(key), raw)
        for name, raw in children.items():
            self.add_children(targets, str(name), raw)
        if not targets:
            raise self.fail("fields", "the mapping maps no fields; add [fields] entries "
                            "such as accountId = \"Account ID\"")
        transforms = top.get("transforms", [])
        if not isinstance(transforms, list) or not all(isinstance(t, Mapping)
                                                      for t in transforms):
            raise self.fail("transforms", "transforms is a list of tables such as "
                            "{name = \"dedupe\", on = [\"accountId\"]}")
        return MappingSpec(tuple(targets.values()), self.source, empty,
                           tuple(dict(t) for t in transforms))

    def add_field(self, targets: dict[str, Target], key: str, raw: Any) -> None:
        path = f"fields.{_quote(key)}"
        name, index, sub = self.split_target(key, path)
        kind = "value" if index is None and sub is None else (
            "object" if index is None else "list")
        rule = self.rule(sub or name, path, raw, in_child=False)
        target = targets.setdefault(name, Target(name, kind))
        if target.kind != kind:
            raise self.fail(path, f"{name!r} is used both as {target.kind} and as {kind}; "
                            "write every entry of one field the same way")
        if kind == "value":
            target.rule = rule
            return
        plain = sub is None
        if any(target.records.values()) and target.plain_items != plain:
            raise self.fail(path, f"{name!r} mixes plain items ({name}[0]) and child "
                            f"records ({name}[0].field)")
        target.plain_items = plain
        record = target.records.setdefault(index if index is not None else 0, [])
        if any(r.name == rule.name for r in record):
            raise self.fail(path, f"{key!r} is mapped twice")
        record.append(rule)

    def split_target(self, key: str, path: str) -> tuple[str, int | None, str | None]:
        """Split an output field ``name[0].sub`` into its name, index and child field."""
        try:
            steps = FieldPath.parse(key).steps
        except FieldPathError:
            steps = ()
        if not 1 <= len(steps) <= 2 or steps[0].every or steps[-1].every \
                or (len(steps) == 2 and steps[1].index is not None):
            raise self.fail(path, "an output field is 'name', 'name[0]', 'name.sub' or "
                            "'name[0].sub' (one level of child records)")
        return steps[0].name, steps[0].index, steps[1].name if len(steps) == 2 else None

    def add_children(self, targets: dict[str, Target], name: str, raw: Any) -> None:
        path = f"children.{_quote(name)}"
        if not isinstance(raw, Mapping):
            raise self.fail(path, "a child table is a table with sheet or file, key, "
                            "parent_key and fields (or skip_if_empty for flat records)")
        if "sheet" not in raw and "file" not in raw:
            if any(k in raw for k in ("key", "parent_key", "fields", "options")):
                raise self.fail(path, "child records from rows sharing a key need the table "
                                "they come from: sheet = \"Sheet name\" or file = \"x.csv\"")
            self.flat_child_options(targets, name, raw, path)
            return
        spec = self.table(raw, path, KEYED_CHILD_KEYS)
        if name in targets:
            raise self.fail(path, f"{name!r} is also mapped in [fields]; take its records "
                            "from flat columns or from a child table, not both")
        if "sheet" in spec and "file" in spec:
            raise self.fail(path, "give either sheet or file, not both")
        sheet = spec.get("sheet")
        if sheet is not None and (isinstance(sheet, bool) or not isinstance(sheet, str | int)):
            raise self.fail(f"{path}.sheet", "sheet is a sheet name or a 0-based index")
        options = spec.get("options", {})
        if not isinstance(options, Mapping):
            raise self.fail(f"{path}.options", "options is a table of reader options")
        fields = spec.get("fields")
        if not isinstance(fields, Mapping) or not fields:
            raise self.fail(f"{path}.fields", "fields is a non-empty table of child field "
                            "= rule")
        rules = tuple(self.rule(str(k), f"{path}.fields.{_quote(str(k))}", v, in_child=True)
                      for k, v in fields.items())
        child = ChildSpec(name, path, self.text(spec.get("key"), f"{path}.key"),
                          self.text(spec.get("parent_key"), f"{path}.parent_key"), rules,
                          sheet, self.optional_text(spec.get("file"), f"{path}.file"),
                          dict(options))
        targets[name] = Target(name, "children", child=child)

    def flat_child_options(self, targets: dict[str, Target], name: str, raw: Any,
                           path: str) -> None:
        spec = self.table(raw, path, FLAT_CHILD_KEYS)
        target = targets.get(name)
        if target is None or target.kind not in ("list", "object"):
            raise self.fail(path, f"skip_if_empty applies to flat child records mapped as "
                            f"'{name}[0].field' or '{name}.field' in [fields]")
        listed = spec.get("skip_if_empty", [])
        if not isinstance(listed, list) or not all(isinstance(x, str) for x in listed):
            raise self.fail(f"{path}.skip_if_empty", "skip_if_empty is a list of child "
                            "field names")
        known = {r.name for rules in target.records.values() for r in rules}
        for item in listed:
            if item not in known:
                raise self.fail(f"{path}.skip_if_empty", f"{item!r} is not a mapped field "
                                f"of {name}{close_match(item, known)}; mapped: "
                                f"{', '.join(sorted(known))}")
        target.skip_if_empty = tuple(listed)

    def rule(self, name: str, path: str, raw: Any, *, in_child: bool) -> FieldRule:
        if isinstance(raw, str):
            raw = {"column": raw}
        valid = RULE_KEYS if in_child else tuple(k for k in RULE_KEYS if k != "parent")
        if isinstance(raw, Mapping) and raw and not any(
                k in RULE_KEYS or suggest(str(k), RULE_KEYS) for k in raw):
            # An unquoted dotted key (addresses.city = "City") arrives as a nested table.
            raise self.fail(path, f"not a rule: {', '.join(map(str, raw))}; to map a child "
                            f"field write the whole key in quotes, e.g. \"{name}.field\" = "
                            "\"Column\"")
        spec = self.table(raw, path, valid)
        sources = [k for k in SOURCE_KEYS if k in spec]
        if len(sources) != 1:
            allowed = ", ".join(k for k in SOURCE_KEYS if k in valid)
            raise self.fail(path, f"give exactly one of {allowed} (found "
                            f"{', '.join(sources) or 'none'})")
        if "separator" in spec and "concat" not in spec:
            raise self.fail(f"{path}.separator", "separator goes with concat")
        if "index" in spec and "split" not in spec:
            raise self.fail(f"{path}.index", "index picks one part of a split; add split")
        concat = spec.get("concat", [])
        if "concat" in spec and (not isinstance(concat, list) or not concat
                                 or not all(isinstance(c, str) for c in concat)):
            raise self.fail(f"{path}.concat", "concat is a non-empty list of column names")
        return FieldRule(
            name=name, path=path,
            column=self.optional_text(spec.get("column"), f"{path}.column"),
            concat=tuple(concat),
            separator=self.text(spec.get("separator", " "), f"{path}.separator", empty=True),
            parent=self.optional_text(spec.get("parent"), f"{path}.parent"),
            has_constant="constant" in spec,
            constant=self.scalar(spec.get("constant"), f"{path}.constant"),
            has_default="default" in spec,
            default=self.scalar(spec.get("default"), f"{path}.default"),
            trim=self.flag(spec, "trim", path), normalize_space=self.flag(
                spec, "normalize_space", path),
            values=self.values(spec.get("values"), f"{path}.values"),
            case_insensitive=self.flag(spec, "case_insensitive", path),
            unmatched=self.choice(spec.get("unmatched", "keep"), f"{path}.unmatched"),
            split=self.optional_text(spec.get("split"), f"{path}.split"),
            index=self.index(spec.get("index"), f"{path}.index"),
            date_formats=self.formats(spec.get("date_formats"), f"{path}.date_formats"),
            when=self.optional_text(spec.get("when"), f"{path}.when"),
        )

    # -- small value checks ---------------------------------------------------------------

    def flag(self, spec: dict[str, Any], name: str, path: str) -> bool:
        return self.boolean(spec.get(name, self.defaults.get(name, False)), f"{path}.{name}")

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"expected true or false, not {value!r}")
        return value

    def text(self, value: Any, path: str, *, empty: bool = False) -> str:
        if not isinstance(value, str) or (not value and not empty):
            raise self.fail(path, f"expected a {'' if empty else 'non-empty '}string, "
                            f"not {value!r}")
        return value

    def optional_text(self, value: Any, path: str) -> str | None:
        return None if value is None else self.text(value, path)

    def scalar(self, value: Any, path: str) -> Scalar | None:
        if value is not None and not isinstance(value, Scalar):
            raise self.fail(path, f"expected a string, number, boolean or date, not {value!r}")
        return value

    def values(self, raw: Any, path: str) -> tuple[tuple[str, str], ...] | None:
        if raw is None:
            return None
        if not isinstance(raw, Mapping) or not raw:
            raise self.fail(path, "values is a non-empty table of source value = output text")
        for key, value in raw.items():
            if not isinstance(value, str):
                raise self.fail(f"{path}.{_quote(str(key))}", f"mapped values are text, "
                                f"not {value!r}")
        return tuple((str(k), v) for k, v in raw.items())

    def choice(self, value: Any, path: str) -> str:
        if value not in UNMATCHED:
            raise self.fail(path, f"unmatched is one of {', '.join(UNMATCHED)}, not {value!r}")
        return str(value)

    def index(self, value: Any, path: str) -> int | None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise self.fail(path, f"index is a whole number (negative counts from the end), "
                            f"not {value!r}")
        return value

    def formats(self, raw: Any, path: str) -> tuple[str, ...]:
        if raw is None:
            return ()
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not raw or not all(
                isinstance(f, str) and "%" in f for f in raw):
            raise self.fail(path, "date_formats is a list of strptime formats such as "
                            "\"%d/%m/%Y\", tried in order")
        return tuple(raw)


def _quote(key: str) -> str:
    """A key as TOML would need it written inside a dotted path."""
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f'"{key}"'
