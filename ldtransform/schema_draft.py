"""Drafting an itemType schema from data, for a person to edit (``schema infer``).

One streaming pass: each column's type (as ``inspect`` infers it), whether it is ever
empty (never empty → ``required``), its distinct values while there are few (→ ``enum``),
its longest text, and whether its values are all distinct (→ primary key candidate, kept
as 64-bit hashes and dropped at the first repeat).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ldtransform._keyindex import KeyIndex, hash_keys
from ldtransform.frames import Frames
from ldtransform.infer import TypeInference, arrow_kind
from ldtransform.schema import DIMENSION_PATH
from ldtransform.validation import ENVELOPE_PREFIX

__all__ = ["draft_schema"]

ENUM_KINDS = ("string",)
MIN_ROWS_FOR_ENUM = 10  # with fewer rows, every column looks like an enumeration


class _ColumnTally:
    def __init__(self, enum_max: int) -> None:
        self.enum_max = enum_max
        self.distinct: set[str] | None = set()
        self.keys: KeyIndex | None = KeyIndex()
        self.longest = 0
        self.empty_lists = False

    def update(self, column: pa.Array, first_row: int) -> None:
        if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
            lengths = pc.list_value_length(column)
            self.empty_lists |= bool(pc.any(pc.equal(lengths, 0)).as_py())
        text = column if pa.types.is_string(column.type) else None
        if text is not None:
            self.longest = max(self.longest, pc.max(pc.utf8_length(text)).as_py() or 0)
        if self.distinct is not None and text is not None:
            self.distinct.update(v for v in pc.unique(text).to_pylist() if v)
            if len(self.distinct) > self.enum_max:
                self.distinct = None
        if self.keys is not None and not pa.types.is_nested(column.type):
            present = column.drop_null()
            if text is not None:
                present = present.filter(pc.not_equal(present, ""))
            if len(present) < len(column):
                self.keys = None  # an empty value cannot be a key
                return
            rows = np.arange(first_row, first_row + len(present), dtype=np.int64)
            if self.keys.add(hash_keys([present]), rows).any():
                self.keys = None
        elif pa.types.is_nested(column.type):
            self.keys = None


def draft_schema(frames: Frames, *, item_type: str, enum_max: int = 10) -> dict[str, Any]:
    """A schema document (a dict, ready for ``json.dump``) describing ``frames``."""
    inference = TypeInference(frames.schema)
    tallies = {name: _ColumnTally(enum_max) for name in frames.schema.names}
    rows = 0
    for numbered in frames.numbered():
        inference.update(numbered.batch)
        for name, column in zip(numbered.batch.schema.names, numbered.batch.columns,
                                strict=True):
            tallies[name].update(column, numbered.first_row)
        rows += numbered.batch.num_rows
    fields = []
    for profile in inference.result():
        if profile.name.startswith(ENVELOPE_PREFIX):
            continue  # envelope headers (category, type, action) are not item fields
        tally = tallies[profile.name]
        field: dict[str, Any] = {"name": profile.name,
                                 "type": _schema_type(profile.kind, frames.schema.field(
                                     profile.name).type)}
        field.update(_children(frames.schema.field(profile.name).type))
        constraints: dict[str, Any] = {}
        if rows and profile.nulls + profile.empty == 0 and not tally.empty_lists:
            constraints["required"] = True
        if (field["type"] in ENUM_KINDS and tally.distinct and rows >= MIN_ROWS_FOR_ENUM
                and len(tally.distinct) < rows):
            constraints["enum"] = sorted(tally.distinct)
        elif field["type"] == "string" and tally.longest:
            constraints["maxLength"] = tally.longest
        if tally.distinct and all(DIMENSION_PATH.match(v) for v in tally.distinct):
            field["type"] = "enumeration"
        if constraints:
            field["constraints"] = constraints
        fields.append(field)
    candidates = [n for n, t in tallies.items() if t.keys is not None and rows
                  and not n.startswith(ENVELOPE_PREFIX)]
    document: dict[str, Any] = {
        "itemType": item_type, "category": "entity",
        "description": f"Drafted from {frames.source or 'data'} ({rows} rows); check every "
                       "field before use. Primary key candidates (never empty, all "
                       f"distinct): {', '.join(candidates) or 'none'}.",
    }
    if candidates:
        document["primaryKey"] = [candidates[0]]
    document["fields"] = fields
    return document


def _children(arrow_type: pa.DataType) -> dict[str, Any]:
    """Nested fields of a record or list-of-records column, typed as Arrow holds them."""
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        inner = arrow_type.value_type
        if not pa.types.is_struct(inner):
            kind = _schema_type(arrow_kind(inner), inner)
            return {"items": kind} if kind in ("string", "integer", "number", "boolean",
                                               "date", "datetime") else {}
        arrow_type = inner
    if not pa.types.is_struct(arrow_type):
        return {}
    children = []
    for child in arrow_type:
        spec: dict[str, Any] = {"name": child.name,
                                "type": _schema_type(arrow_kind(child.type), child.type)}
        spec.update(_children(child.type))
        children.append(spec)
    return {"fields": children} if children else {}


def _schema_type(kind: str, arrow_type: pa.DataType) -> str:
    if kind == "time":
        return "string"
    if kind in ("array", "object"):
        return kind  # child fields are left for the person to describe
    if kind == "string" and not pa.types.is_string(arrow_type):
        return arrow_kind(arrow_type) if arrow_kind(arrow_type) != "time" else "string"
    return kind
