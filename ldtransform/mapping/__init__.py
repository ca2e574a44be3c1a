"""Mappings: turn a source's columns into the fields of an LD item, vectorised.

A mapping is a TOML file (or the same structure as a dict) with three tables::

    [options]                    # defaults for every rule (all false unless set)
    trim = true                  # strip leading/trailing whitespace of text values
    normalize_space = false      # also collapse inner runs of whitespace to one space
    case_insensitive = false     # value maps ignore case
    empty = "omit"               # an empty value: "omit" leaves the field out of the
                                 # item, "clear" writes it empty (default: by action)

    [fields]                     # output field = rule; a bare string is a rename
    accountId = "Account ID"
    accountClass = { column = "Class", values = { Cash = "/Account/accountClass[cash]" } }
    accountFamily = { constant = "/Account/accountFamily[]/group[]" }
    fullName = { concat = ["First", "Last"], separator = " " }
    deliveryDays = { column = "Days", split = ";" }          # list<string>; "" → []
    validFrom = { column = "From", date_formats = ["%m/%d/%Y", "%Y-%m-%d"] }
    "phones[0].phoneNumber" = "Phone"                         # flat child record
    "contact.email" = "Email"                                  # single child record (object)

    [children.accountLicenseInformation]
    skip_if_empty = ["licenseNumber"]      # flat records: which fields decide "empty"

    [children.addresses]                   # child records from rows sharing a key
    sheet = "Addresses"                    # or file = "addresses.csv" (beside the mapping)
    key = "accountId"                      # column of the child table
    parent_key = "accountId"               # column of the source
    [children.addresses.fields]
    city = "city"
    name = { parent = "name" }             # a column of the parent row
    region = { parent = "region", when = "primary", default = "" }

A rule takes exactly one source — ``column``, ``concat`` (+ ``separator``, default one
space), ``constant`` or, in child tables, ``parent`` — then applies, in this order:
``trim``/``normalize_space`` (text only) → ``split`` (+ ``index`` to keep one part,
Python-style, out of range → null) → ``values`` (``unmatched = "keep"`` passes the raw
value on for validation to report, ``"null"`` drops it) → ``date_formats`` → ``when`` (a
column that must be true/yes/1, else null) → ``default`` (replaces null and ``""``).

What the output holds:

* A plain rename passes typed values (Excel/Parquet bool, float, date) through unchanged;
  only textual steps (concat, split, values, date parsing of text) cast to text first.
* ``date_formats`` on a *typed* date column gives ``timestamp[us]``; on *text* it gives
  ISO text ``YYYY-MM-DDTHH:MM:SS``, and a non-empty value that no format matches stays as
  it was, so validation reports it with its row instead of it becoming a silent null.
  (Text output keeps one column type for every batch of a stream.)
* Child records are ``list<struct>`` columns; an ``object`` field is a struct column; a
  split is ``list<string>``. A flat record whose column-fed values are all empty is left
  out (constants do not count); ``skip_if_empty`` names the fields that decide instead.
* Without an ItemSchema the columns come in mapping order; with one, in the schema's order
  (and child fields in the schema's child order). Unmapped fields are absent.

Mistakes in the mapping raise :class:`~ldtransform.errors.MappingError` with the key path;
columns that do not exist are all listed at :meth:`Mapping.bind` with close-match hints.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from ldtransform._empty import with_presence
from ldtransform.errors import MappingError
from ldtransform.frames import Frames
from ldtransform.mapping._children import ChildTable, build_flat, missing_text
from ldtransform.mapping._eval import evaluate
from ldtransform.mapping._spec import MappingSpec, Target, parse_spec, suggest
from ldtransform.protocols import Issue
from ldtransform.schema import FieldSpec, ItemSchema

__all__ = ["BoundMapping", "Mapping"]


class Mapping:
    """A parsed mapping, not yet tied to a source; :meth:`bind` ties it to one."""

    def __init__(self, spec: MappingSpec, *, base_dir: Path | None = None) -> None:
        self.spec = spec
        self.source = spec.source
        self.base_dir = base_dir

    def __repr__(self) -> str:
        names = ", ".join(target.name for target in self.spec.targets)
        return f"<Mapping {self.source or ''} [{names}]>"

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Mapping:
        """Read a TOML mapping file; mistakes name the file and the key path."""
        name = os.fspath(path)
        try:
            with open(path, "rb") as file:
                document = tomllib.load(file)
        except OSError as exc:
            raise MappingError(f"cannot read the mapping: {exc.strerror or exc}",
                               source=name) from exc
        except tomllib.TOMLDecodeError as exc:
            raise MappingError(f"not valid TOML: {exc}", source=name) from exc
        except UnicodeDecodeError as exc:
            raise MappingError("not valid UTF-8 (TOML files are UTF-8)", source=name) from exc
        return cls(parse_spec(document, name), base_dir=Path(path).resolve().parent)

    @classmethod
    def from_dict(cls, spec: dict[str, Any], *, source: str | None = None) -> Mapping:
        """A mapping from the dict a TOML file would give; ``source`` labels errors.

        Child ``file`` paths are relative to ``source``'s folder, or the working directory.
        """
        base = Path(source).resolve().parent if source else None
        return cls(parse_spec(spec, source), base_dir=base)

    @property
    def targets(self) -> list[str]:
        """The output fields this mapping makes, in mapping order."""
        return [target.name for target in self.spec.targets]

    def bind(self, source_schema: pa.Schema, *, source_path: str | None = None,
             schema: ItemSchema | None = None) -> BoundMapping:
        """Tie the mapping to a source's columns (and optionally the item schema).

        Raises :class:`MappingError` listing every named column the source lacks, and
        every mapped field the schema does not have. Child tables are read and grouped
        here; problems in them go to :attr:`BoundMapping.issues`.
        """
        self._check_source(source_schema, source_path)
        order = _Order(schema, self.source)
        for target in self.spec.targets:
            order.check(target)
        children = {t.name: self._load_child(t, source_path) for t in self.spec.targets
                    if t.child is not None}
        return BoundMapping(self, source_schema, children, order)

    def apply(self, frames: Frames, *, schema: ItemSchema | None = None) -> Frames:
        """Bind to ``frames`` and map them; the result streams like its input."""
        return self.bind(frames.schema, source_path=frames.source, schema=schema)(frames)

    def _check_source(self, source_schema: pa.Schema, source_path: str | None) -> None:
        named: list[tuple[str, str]] = []
        for target in self.spec.targets:
            if target.rule is not None:
                named += target.rule.own_columns()
            for rules in target.records.values():
                named += [pair for rule in rules for pair in rule.own_columns()]
            if target.child is not None:
                child = target.child
                named.append((child.parent_key, f"{child.path}.parent_key"))
                named += [(r.parent, f"{r.path}.parent") for r in child.fields if r.parent]
        missing = [(column, path) for column, path in named if column not in source_schema.names]
        if missing:
            where = source_path or "the source"
            raise MappingError(missing_text(missing, source_schema.names, where),
                               path=missing[0][1], source=self.source,
                               columns=sorted({column for column, _ in missing}))

    def _load_child(self, target: Target, source_path: str | None) -> ChildTable:
        assert target.child is not None
        child = ChildTable.load(target.child, source_path=source_path,
                                base_dir=self.base_dir or Path.cwd(), mapping_source=self.source)
        missing = child.missing_columns()
        if missing:
            raise MappingError(missing_text(missing, list(child.columns), child.label),
                               path=missing[0][1], source=self.source)
        return child


class _Order:
    """Output order and checks against an ItemSchema, when one is given."""

    def __init__(self, schema: ItemSchema | None, source: str | None) -> None:
        self.schema = schema
        self.source = source

    def top(self, names: list[str]) -> list[str]:
        if self.schema is None:
            return names
        return [name for name in self.schema.field_names if name in names]

    def child(self, name: str) -> list[str] | None:
        if self.schema is None:
            return None
        return [f.name for f in self.schema.field(name).fields] or None

    def check(self, target: Target) -> None:
        if self.schema is None:
            return
        spec = self._field(target.name, self.schema.fields, f"fields.{target.name}")
        wanted = {"list": "array", "children": "array", "object": "object"}.get(target.kind)
        if wanted and spec.type != wanted:
            raise MappingError(f"{target.name!r} is mapped as child records but the schema "
                               f"types it {spec.type!r}", path=f"fields.{target.name}",
                               source=self.source)
        rules = [r for rules in target.records.values() for r in rules]
        rules += list(target.child.fields) if target.child else []
        if spec.fields:
            for rule in rules:
                self._field(rule.name, spec.fields, rule.path)

    def _field(self, name: str, fields: tuple[FieldSpec, ...], path: str) -> FieldSpec:
        for spec in fields:
            if spec.name == name:
                return spec
        names = [f.name for f in fields]
        hint = suggest(name, names)
        assert self.schema is not None
        raise MappingError(
            f"{name!r} is not a field of {self.schema.item_type}"
            f"{f' (did you mean {hint!r}?)' if hint else ''}; its fields: {', '.join(names)}",
            path=path, source=self.source)


class _BatchColumns:
    """A source batch as rule input (top-level rules have no parent)."""

    def __init__(self, batch: pa.RecordBatch) -> None:
        self.batch = batch
        self.length = batch.num_rows

    def column(self, name: str) -> pa.Array:
        return self.batch.column(name)

    def parent(self, name: str) -> pa.Array:  # pragma: no cover - the parser forbids it
        raise MappingError(f"parent = {name!r} is for child tables only")


class BoundMapping:
    """A mapping tied to one source schema: maps its batches, one output row per input row.

    Also a :class:`~ldtransform.protocols.Transform`: ``bound(frames)`` maps a stream.
    """

    name: ClassVar[str] = "mapping"

    def __init__(self, mapping: Mapping, source_schema: pa.Schema,
                 children: dict[str, ChildTable], order: _Order) -> None:
        self.mapping = mapping
        self.source_schema = source_schema
        self._children = children
        self._order = order
        #: Problems found while binding: child-table read issues, child rows without a key.
        self.issues: list[Issue] = [i for child in children.values() for i in child.issues]
        empty = pa.RecordBatch.from_arrays(
            [pa.array([], f.type) for f in source_schema], schema=source_schema)
        # The empty rule travels with the batches to the item writers.
        self.output_schema: pa.Schema = with_presence(self._map(empty).schema, (),
                                                      mapping.spec.empty)

    def __repr__(self) -> str:
        return f"<BoundMapping {self.mapping.source or ''} → {self.output_schema.names}>"

    def transform(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Map one batch: exactly one output row per input row, in the same order."""
        if not batch.schema.equals(self.source_schema):
            raise MappingError(f"the batch's columns {batch.schema.names} are not those the "
                               "mapping was bound to; bind it to this source",
                               source=self.mapping.source)
        mapped = self._map(batch)
        return pa.RecordBatch.from_arrays(mapped.columns, schema=self.output_schema)

    def __call__(self, frames: Frames) -> Frames:
        """Map a stream of frames; source row numbers carry over."""
        return frames.map_batches(self.transform, self.output_schema)

    def finish(self) -> list[Issue]:
        """Child rows whose key matched no parent row in the batches mapped so far.

        Call once the whole source has been mapped (code ``orphan-child-row``, severity
        error, ``row`` = the child row in its own sheet/file); also added to :attr:`issues`.
        """
        found = [issue for child in self._children.values() for issue in child.orphans()]
        self.issues.extend(found)
        return found

    def _map(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        columns = _BatchColumns(batch)
        arrays: dict[str, pa.Array] = {}
        for target in self.mapping.spec.targets:
            if target.rule is not None:
                arrays[target.name] = evaluate(target.rule, columns).values
            elif target.child is not None:
                table = self._children[target.name]
                arrays[target.name] = table.build(batch, self._order.child(target.name))
            else:
                arrays[target.name] = build_flat(target, columns,
                                                 self._order.child(target.name))
        names = self._order.top(list(arrays))
        return pa.RecordBatch.from_arrays([arrays[name] for name in names], names=names)
