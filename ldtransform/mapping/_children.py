"""Child records, built vectorised: from flat columns, or from rows of another table.

*Flat* records come from columns of the source row itself (``phones[0].phoneNumber``).
A flat record is left out when every value it takes from a column is empty (null, ``""``
or ``[]``) — constants alone do not make a record — or, with ``skip_if_empty``, when the
listed fields are all empty. So an account whose license number and dates are blank gets
``accountLicenseInformation = []`` rather than a record holding only ``licenseType = "7"``.

*Keyed* records come from another table (a sheet of the same workbook or another file):
its rows are grouped once, at bind time, by their key as text; each parent row then takes
its group with numpy offsets, keeping the child table's row order within a group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ldtransform import issue_codes as codes
from ldtransform.errors import MappingError
from ldtransform.mapping._eval import Columns, Evaluated, evaluate, interleave, text_key
from ldtransform.mapping._spec import ChildSpec, FieldRule, Target, suggest
from ldtransform.protocols import Issue
from ldtransform.readers import read

__all__ = ["ChildTable", "build_flat", "missing_text", "struct_of"]


def build_flat(target: Target, columns: Columns, order: list[str] | None) -> pa.Array:
    """The list (or single struct) column of a flat child target."""
    records = [rules for _, rules in sorted(target.records.items())]
    evaluated = [{rule.name: evaluate(rule, columns) for rule in rules} for rules in records]
    keep = [_keep(rules, values, target.skip_if_empty) for rules, values
            in zip(records, evaluated, strict=True)]
    if target.plain_items:
        items = _unify([next(iter(values.values())).values for values in evaluated])
        return interleave(items, keep)
    names = _field_names([[rule.name for rule in rules] for rules in records], order)
    structs = _unify_structs(evaluated, names, columns.length)
    if target.kind == "object":
        whole: pa.Array = pa.StructArray.from_arrays(
            structs[0].flatten(), names=names, mask=pa.array(~keep[0]))
        return whole
    return interleave(structs, keep)


def struct_of(values: dict[str, Evaluated], names: list[str], length: int) -> pa.StructArray:
    """One struct array with the fields ``names`` taken from ``values``."""
    return _unify_structs([values], names, length)[0]


def _keep(rules: list[FieldRule], values: dict[str, Evaluated],
          listed: tuple[str, ...] | None) -> np.ndarray:
    length = len(next(iter(values.values())).values)
    deciders = ([r.name for r in rules if not r.has_constant] if listed is None
                else [name for name in listed if name in values])
    if not deciders:  # nothing decides (only constants, or skip_if_empty = []): keep all
        return np.ones(length, dtype=bool)
    keep: np.ndarray = np.logical_or.reduce([values[name].present for name in deciders])
    return keep


def _field_names(per_record: list[list[str]], order: list[str] | None) -> list[str]:
    seen = list(dict.fromkeys(name for names in per_record for name in names))
    if order is None:
        return seen
    return [name for name in order if name in seen]


def _unify(arrays: list[pa.Array]) -> list[pa.Array]:
    """One type for all: the common one, or text when they disagree (nothing is lost)."""
    kinds = {a.type for a in arrays if not pa.types.is_null(a.type)}
    if not kinds:
        return arrays
    kind = kinds.pop() if len(kinds) == 1 else pa.string()
    return [a if a.type == kind else a.cast(kind) for a in arrays]


def _unify_structs(evaluated: list[dict[str, Evaluated]], names: list[str],
                   length: int) -> list[pa.StructArray]:
    columns: dict[str, list[pa.Array]] = {}
    for name in names:
        unified = _unify([values[name].values for values in evaluated if name in values])
        kind, taken = unified[0].type, iter(unified)
        columns[name] = [next(taken) if name in values else pa.nulls(length, kind)
                         for values in evaluated]
    return [pa.StructArray.from_arrays([columns[name][i] for name in names], names=names)
            for i in range(len(evaluated))]


class _TakenColumns:
    """A child table's columns taken at ``child_rows``, the parent's at ``parent_rows``."""

    def __init__(self, child: dict[str, pa.Array], child_rows: np.ndarray,
                 parent: pa.RecordBatch, parent_rows: np.ndarray) -> None:
        self.length = len(child_rows)
        self._child, self._parent = child, parent
        self._child_rows, self._parent_rows = pa.array(child_rows), pa.array(parent_rows)

    def column(self, name: str) -> pa.Array:
        taken: pa.Array = self._child[name].take(self._child_rows)
        return taken

    def parent(self, name: str) -> pa.Array:
        taken: pa.Array = self._parent.column(name).take(self._parent_rows)
        return taken


class ChildTable:
    """A child table grouped by key: what each parent row needs to take its records."""

    def __init__(self, spec: ChildSpec, table: pa.Table, rows: np.ndarray, label: str) -> None:
        self.spec = spec
        self.label = label
        self.columns = {name: table.column(name).combine_chunks() for name in table.schema.names}
        self.rows = rows
        self.issues: list[Issue] = []
        keys = text_key(self.columns[spec.key], f"{spec.path}.key")
        keys = pc.if_else(pc.equal(keys, ""), pa.scalar(None, pa.string()), keys)
        encoded = pc.dictionary_encode(keys)
        codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        self.dictionary: pa.Array = encoded.dictionary
        import pandas as pd  # late: only keyed child tables need its hash index

        self._lookup = pd.Index(self.dictionary.to_numpy(zero_copy_only=False), dtype=object)
        keyed = np.nonzero(codes >= 0)[0]
        self.order = keyed[np.argsort(codes[keyed], kind="stable")]
        self.counts = np.bincount(codes[keyed], minlength=len(self.dictionary))
        self.starts = np.cumsum(self.counts) - self.counts
        self.matched = np.zeros(len(self.dictionary), dtype=bool)
        for index in np.nonzero(codes < 0)[0]:
            self.issues.append(self._orphan(int(index), "has an empty key"))

    @classmethod
    def load(cls, spec: ChildSpec, *, source_path: str | None, base_dir: Path,
             mapping_source: str | None) -> ChildTable:
        """Read the child sheet or file completely, with source row numbers."""
        options: dict[str, Any] = dict(spec.options)
        if spec.sheet is not None:
            if source_path is None:
                raise MappingError(f"the child records come from sheet {spec.sheet!r} of the "
                                   "source workbook, so bind() needs source_path",
                                   path=f"{spec.path}.sheet", source=mapping_source)
            where: str | Path = source_path
            options["sheet"] = spec.sheet
            label = f"{source_path} sheet {spec.sheet!r}"
        else:
            assert spec.file is not None
            where = Path(spec.file) if Path(spec.file).is_absolute() else base_dir / spec.file
            label = str(where)
        frames = read(where, **options)
        batches, rows = [], []
        for numbered in frames.numbered():
            batches.append(numbered.batch)
            rows.append(np.arange(numbered.batch.num_rows) + numbered.first_row)
        table = pa.Table.from_batches(batches, schema=frames.schema)
        numbers = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        child = cls(spec, table, numbers, label) if spec.key in table.schema.names else None
        if child is None:
            raise MappingError(missing_text([(spec.key, f"{spec.path}.key")],
                                             table.schema.names, label),
                               path=f"{spec.path}.key", source=mapping_source)
        child.issues[:0] = frames.issues
        return child

    def missing_columns(self) -> list[tuple[str, str]]:
        """(column, key path) of the child columns the rules name that the table lacks."""
        named = [pair for rule in self.spec.fields for pair in rule.own_columns()]
        return [(column, path) for column, path in named if column not in self.columns]

    def build(self, batch: pa.RecordBatch, order: list[str] | None) -> pa.ListArray:
        """Each parent row's child records, in child-table order."""
        parent_keys = text_key(batch.column(self.spec.parent_key), self.spec.parent_key)
        # A hash table built once at bind: pc.index_in would rebuild one over every key of
        # the child table for each batch, which costs more than the batch itself.
        group_np = self._lookup.get_indexer(parent_keys.to_numpy(zero_copy_only=False))
        group_np = group_np.astype(np.int64)
        hit = group_np >= 0
        safe = np.where(hit, group_np, 0)
        known = len(self.counts) > 0
        lengths = np.where(hit, self.counts[safe], 0) if known else np.zeros_like(group_np)
        self.matched[group_np[hit]] = True  # remembered for finish(): orphans
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        starts = np.where(hit, self.starts[safe], 0) if known else lengths
        positions = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
        columns = _TakenColumns(self.columns, self.order[positions], batch,
                                np.repeat(np.arange(batch.num_rows), lengths))
        values = {rule.name: evaluate(rule, columns) for rule in self.spec.fields}
        names = _field_names([list(values)], order)
        records = struct_of(values, names, columns.length)
        return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), records)

    def orphans(self) -> list[Issue]:
        """Child rows whose key matched no parent row in the batches built so far."""
        group_of = np.repeat(np.arange(len(self.counts)), self.counts)
        unmatched = self.order[~self.matched[group_of]]
        return [self._orphan(int(i), "matches no parent row") for i in np.sort(unmatched)]

    def _orphan(self, index: int, why: str) -> Issue:
        key = self.columns[self.spec.key][index].as_py()
        return Issue(code=codes.ORPHAN_CHILD_ROW, message=f"{self.label} row "
                     f"{int(self.rows[index])}: {self.spec.key} {key!r} {why} "
                     f"({self.spec.parent_key}); the row is not in any {self.spec.name}",
                     row=int(self.rows[index]), field=self.spec.name, value=key, source=self.label)


def missing_text(missing: list[tuple[str, str]], existing: list[str], where: str) -> str:
    """``column 'Citty' (fields.city.column, did you mean 'City'?); <where> has: ...``."""
    named = []
    for column, path in missing:
        hint = suggest(column, existing)
        named.append(f"{column!r} ({path}{f', did you mean {hint!r}?' if hint else ''})")
    plural = "s" if len(missing) > 1 else ""
    return (f"column{plural} not found in {where}: {'; '.join(named)}. "
            f"{where} has: {', '.join(existing) or '(no columns)'}")
