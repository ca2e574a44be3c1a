"""Typing the columns of an export as its itemType schema says.

Values are converted exactly as validation converts them (``_fieldcheck.check_field``,
without the constraints: a reader converts, it does not judge), so an export read with the
schema an import was validated against gives back the validated rows. A value that does
not convert is a :class:`~ldtransform.errors.ReadError`, never a silent null.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from ldtransform._fieldcheck import Context, check_field, list_positions
from ldtransform.errors import ConfigError, ReadError
from ldtransform.schema import FieldSpec, ItemSchema

__all__ = ["Children", "Enums", "Typing", "wire_type"]

Children = Literal["list", "explode"]
Enums = Literal["category", "values"]
#: The column of an exploded child frame that says which item a child row belongs to,
#: when the schema names no primary key.
ITEM_ID = "_headers.id"
#: The column of an exploded child frame holding the child's place in its list, from 0.
POSITION = "_position"

_TEXT_ON_THE_WIRE = ("string", "enumeration", "date", "datetime")


def wire_type(spec: FieldSpec) -> pa.DataType:
    """The type a field's JSON values are parsed as: text stays text (dates are converted
    afterwards, as validation does), numbers and booleans as they are."""
    if spec.type == "array":
        if spec.fields:
            return pa.list_(pa.struct([pa.field(f.name, wire_type(f)) for f in spec.fields]))
        return pa.list_(wire_type(FieldSpec(spec.name, spec.items or "string")))
    if spec.type == "object":
        return pa.struct([pa.field(f.name, wire_type(f)) for f in spec.fields])
    if spec.type in _TEXT_ON_THE_WIRE:
        return pa.string()
    return spec.to_arrow()


def _unconstrained(spec: FieldSpec) -> FieldSpec:
    return replace(spec, constraints={}, fields=tuple(map(_unconstrained, spec.fields)))


def _enum_values(spec: FieldSpec) -> list[str] | None:
    """The values of an enumeration-like field (an ``enumeration``, or text with an
    ``enum`` list): its listed values, ``[]`` when none are listed; None for other fields."""
    listed = spec.constraints.get("enum")
    if spec.type == "enumeration" or (spec.type == "string" and listed):
        return list(listed or [])
    return None


def _as_category(array: pa.Array, values: list[str]) -> pa.Array:
    """Text as a dictionary array whose dictionary starts with the listed ``values`` (in
    their order, so pandas categories follow the schema), then any others met."""
    text = array.cast(pa.string())
    known = pa.array(values, pa.string())
    others = pc.unique(pc.filter(text, pc.invert(pc.is_in(text, value_set=known)))).drop_null()
    dictionary = pa.concat_arrays([known, others.cast(pa.string())])
    indices = pc.index_in(text, value_set=dictionary)
    return pa.DictionaryArray.from_arrays(indices, dictionary)


def _missing_as_null(text: pa.Array, missing: tuple[str, ...]) -> pa.Array:
    """Text with the schema's missing-value spellings (``""``) as nulls."""
    if not missing:
        return text
    blank = pc.is_in(text, value_set=pa.array(missing, pa.string()))
    if not pc.any(blank).as_py():
        return text
    return pc.if_else(blank, pa.scalar(None, pa.string()), text)


def _maybe_category(array: pa.Array, values: list[str] | None) -> pa.Array:
    return array if values is None else _as_category(array, values)


@dataclass
class Typing:
    """How the raw columns of an export become the typed columns of a batch.

    ``names`` are the data columns, in order; ``raw`` the Arrow type each arrives as (for
    names the schema does not know, what the first batch had). With ``children="explode"``
    the list columns leave the batch and become rows of their own (see :meth:`explode`).
    """

    schema: ItemSchema | None
    names: list[str]
    raw: dict[str, pa.DataType]
    headers: list[str] = field(default_factory=list)
    children: Children = "list"
    enums: Enums = "category"
    source: str | None = None

    def __post_init__(self) -> None:
        if self.children not in ("list", "explode"):
            raise ConfigError(f"children must be 'list' or 'explode', not {self.children!r}")
        if self.enums not in ("category", "values"):
            raise ConfigError(f"enums must be 'category' or 'values', not {self.enums!r}")
        schema = self.schema
        self._specs = {} if schema is None else {
            f.name: _unconstrained(f) for f in schema.fields}
        self._enum_lists = {} if schema is None or self.enums == "values" else {
            f.name: values for f in schema.fields
            if (values := _enum_values(f)) is not None}
        self._child_enums = {} if schema is None or self.enums == "values" else {
            f.name: {c.name: values for c in f.fields
                     if (values := _enum_values(c)) is not None}
            for f in schema.fields if f.type == "array"}
        self._context = Context(schema.missing_values, schema.timezone) if schema else None
        self.list_names = [name for name in self.names
                           if pa.types.is_list(self._typed_type(name))] \
            if self.children == "explode" else []
        self.keys = self._child_keys()
        self._schema = self._arrow_schema()

    # -- types ----------------------------------------------------------------------------

    def _typed_type(self, name: str) -> pa.DataType:
        spec = self._specs.get(name)
        if spec is not None:
            return spec.to_arrow()
        raw = self.raw.get(name, pa.string())
        return pa.string() if pa.types.is_null(raw) else raw

    def _output_type(self, name: str) -> pa.DataType:
        if name in self._enum_lists:
            return pa.dictionary(pa.int32(), pa.string())
        return self._typed_type(name)

    def arrow_schema(self) -> pa.Schema:
        """The schema of the item batches."""
        return self._schema

    def _arrow_schema(self) -> pa.Schema:
        nullable = {f.name: not f.required for f in self.schema.fields} if self.schema else {}
        fields = [pa.field(h, pa.string()) for h in self.headers]
        fields += [pa.field(name, self._output_type(name), nullable=nullable.get(name, True))
                   for name in self.names if name not in self.list_names]
        return pa.schema(fields)

    def _child_keys(self) -> list[str]:
        primary = list(self.schema.primary_key) if self.schema else []
        if primary and all(key in self.names for key in primary):
            return primary
        return [ITEM_ID]

    def child_schema(self, name: str) -> pa.Schema:
        """The schema of the rows exploded from the list column ``name``."""
        keys = [pa.field(k, self._typed_type(k) if k != ITEM_ID else pa.string())
                for k in self.keys]
        item = self._typed_type(name).value_type
        enums = self._child_enums.get(name, {})
        if pa.types.is_struct(item):
            values = [pa.field(f.name, pa.dictionary(pa.int32(), pa.string())
                               if f.name in enums else f.type) for f in item]
        else:
            values = [pa.field(name, item)]
        return pa.schema([*keys, pa.field(POSITION, pa.int64()), *values])

    # -- batches --------------------------------------------------------------------------

    def typed(self, columns: dict[str, pa.Array], rows: int, first_row: int) -> dict[str, pa.Array]:
        """Every data column typed (absent columns as nulls); ``first_row`` is the number
        of the batch's first item in the export, for messages."""
        out = {}
        for name in self.names:
            array = columns.get(name)
            if array is None:
                array = pa.nulls(rows, self.raw.get(name, pa.null()))
            out[name] = self._typed_column(name, array, first_row)
        return out

    def _typed_column(self, name: str, array: pa.Array, first_row: int) -> pa.Array:
        spec = self._specs.get(name)
        if spec is None:
            target = self._typed_type(name)
            try:
                return array if array.type == target else array.cast(target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ReadError(f"the column {name!r} changes type within the export "
                                f"({target} before, {array.type} at item {first_row} on): "
                                f"{exc}", source=self.source, column=name,
                                hint="Pass the itemType schema, which types every "
                                "column") from exc
        assert self._context is not None
        if spec.type in ("string", "enumeration") and pa.types.is_string(array.type):
            return _missing_as_null(array, self._context.missing)  # all check_field does
        typed, findings = check_field(array, spec, self._context)
        if findings:
            finding = findings[0]
            raise ReadError(
                f"item {first_row + int(finding.rows[0])}: {finding.messages()[0]}",
                source=self.source, column=finding.fields()[0],
                hint=f"Is this an export of {self.schema.item_type if self.schema else '?'}"
                "? Pass the schema of the item type exported, or none to keep values "
                "as they are")
        return typed

    def batch(self, headers: dict[str, pa.Array], typed: dict[str, pa.Array]
              ) -> pa.RecordBatch:
        """The item batch: header columns, then data columns (lists left out when they
        are exploded; enumerations as categories when asked)."""
        arrays = [headers[h] for h in self.headers]
        for name in self.names:
            if name in self.list_names:
                continue
            array = typed[name]
            arrays.append(_maybe_category(array, self._enum_lists.get(name)))
        return pa.RecordBatch.from_arrays(arrays, schema=self.arrow_schema())

    def explode(self, name: str, typed: dict[str, pa.Array], item_ids: pa.Array
                ) -> pa.RecordBatch:
        """One row per element of the list column ``name``: the item's keys, the
        element's place in its list, then its fields (or its value)."""
        lists = typed[name]
        parents, positions = list_positions(lists)
        take = pa.array(parents)
        keys = [(item_ids if k == ITEM_ID else typed[k]).take(take) for k in self.keys]
        flat = lists.flatten()
        schema = self.child_schema(name)
        values: Iterable[pa.Array]
        if pa.types.is_struct(flat.type):
            enums = self._child_enums.get(name, {})
            values = [_maybe_category(flat.field(i), enums.get(flat.type.field(i).name))
                      for i in range(flat.type.num_fields)]
        else:
            values = [flat]
        return pa.RecordBatch.from_arrays([*keys, pa.array(positions, pa.int64()), *values],
                                          schema=schema)
