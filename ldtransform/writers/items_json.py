"""LD item JSON: envelopes ``{"headers": {...}, "data": {...}}``, as an array or as lines.

Records are built a whole batch at a time from per-column JSON text (see ``_values``), so
no Python dict is made per item for flat fields. The action (``Create``, ``Merge``,
``Update``, ``Delete``) comes from the ``action`` option, or per row from a column (such as
the ``_headers.action`` of LD item sources); a ``Delete`` carries only the primary key.

A ``Merge`` or ``Update`` item carries only the fields its source had a column for, and
``empty`` says what an empty value of such a column becomes: ``"omit"`` (the default for
``Merge``/``Update``) leaves the field out of that item, ``"clear"`` (the default for
``Create``) writes it as ``""`` or ``null``. See :mod:`ldtransform._empty`.
"""

from __future__ import annotations

from typing import ClassVar

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ldtransform._empty import (
    PARTIAL_ACTIONS,
    absent_fields,
    check_empty,
    effective_empty,
    mapping_empty,
)
from ldtransform.errors import ConfigError
from ldtransform.schema import ItemSchema
from ldtransform.writers import RecordWriter
from ldtransform.writers._framing import JsonArrayFile, JsonLinesFile
from ldtransform.writers._values import join_pieces, json_pieces, member_pieces

__all__ = ["ACTIONS", "ItemsJsonLinesWriter", "ItemsJsonWriter"]

ACTIONS = ("Create", "Merge", "Update", "Delete")


class ItemsJsonWriter(JsonArrayFile, RecordWriter):
    """A JSON array of LD item envelopes, one item per line."""

    format: ClassVar[str] = "items-json"
    suffix: ClassVar[str] = ".json"

    def __init__(self, *, schema: ItemSchema | None = None, action: str = "Create",
                 action_column: str | None = None, empty: str | None = None) -> None:
        if schema is None:
            raise ConfigError("LD item JSON needs the itemType schema (--schema): it names "
                              "the item type, its category and its fields")
        if action not in ACTIONS:
            raise ConfigError(f"action is one of {', '.join(ACTIONS)}, not {action!r}")
        if action == "Delete" and not schema.primary_key:
            raise ConfigError(f"a Delete names items by primary key, and {schema.item_type} "
                              "has none in its schema")
        super().__init__(schema=schema)
        self.item_schema = schema
        self.action = action
        self.action_column = action_column
        #: What an empty value becomes (None: the mapping's rule, else by action).
        self.empty = check_empty(empty)

    def _headers(self, action: str) -> str:
        headers = {"category": self.item_schema.category, "type": self.item_schema.item_type,
                   "action": action}
        start = self.separator.decode()
        return start + '{"headers":' + orjson.dumps(headers).decode() + ',"data":{'

    def empty_rule(self, action: str, schema: pa.Schema | None = None) -> str:
        """What an empty value becomes in a ``action`` item: ``"omit"`` or ``"clear"``."""
        return effective_empty(action, self.empty,
                               mapping_empty(schema) if schema is not None else None)

    def _plan(self, batch: pa.RecordBatch, action: str) -> tuple[tuple[str, ...], bool]:
        """The fields an ``action`` item may hold, and whether empty values are left out."""
        if action == "Delete":
            return tuple(self.item_schema.primary_key), False
        omit = self.empty_rule(action, batch.schema) == "omit"
        names = [name for name in self.item_schema.field_names if name in batch.schema.names]
        if action in PARTIAL_ACTIONS or omit:  # fields without a column stay out
            absent = set(absent_fields(batch.schema))
            names = [name for name in names if name not in absent]
        return tuple(names), omit

    def _fields(self, batch: pa.RecordBatch,
                plan: tuple[tuple[str, ...], bool]) -> list[pa.Array | str]:
        """The pieces of the ``"name":value,...`` text of each row, as ``plan`` says."""
        names, omit = plan
        present = [(name, batch.column(name)) for name in names if name in batch.schema.names]
        if omit:
            return _members_omitting_empty(present, batch.num_rows, self.timezone, self.unset)
        return member_pieces(present, timezone=self.timezone, unset=self.unset)

    def encode(self, batch: pa.RecordBatch) -> pa.Array:
        ending = "}}" + self.terminator
        actions = self._actions(batch)
        if actions is None:  # whole envelopes in one join: headers, data fields, ``}}``
            plan = self._plan(batch, self.action)
            return join_pieces([self._headers(self.action), *self._fields(batch, plan),
                                ending], batch.num_rows)
        result = pa.nulls(batch.num_rows, pa.string())
        data: dict[tuple[tuple[str, ...], bool], pa.Array] = {}  # actions sharing a plan
        for action in ACTIONS:
            rows = pc.equal(actions, action)
            if not pc.any(rows).as_py():
                continue
            plan = self._plan(batch, action)
            if plan not in data:
                data[plan] = join_pieces(self._fields(batch, plan), batch.num_rows)
            text = pc.binary_join_element_wise(self._headers(action), data[plan], ending, "")
            result = pc.if_else(rows, text, result)
        return result

    def _actions(self, batch: pa.RecordBatch) -> pa.Array | None:
        if self.action_column is None:
            return None
        if self.action_column not in batch.schema.names:
            raise ConfigError(f"the action column {self.action_column!r} is not among the "
                              f"columns: {', '.join(batch.schema.names)}")
        actions = pc.fill_null(pc.cast(batch.column(self.action_column), pa.string()),
                               self.action)
        unknown = pc.invert(pc.is_in(actions, value_set=pa.array(ACTIONS)))
        if pc.any(unknown).as_py():
            bad = sorted(set(actions.filter(unknown).to_pylist()))
            raise ConfigError(f"unknown item action(s) {bad} in column "
                              f"{self.action_column!r}; use {', '.join(ACTIONS)}")
        return actions


def _members_omitting_empty(columns: list[tuple[str, pa.Array]], rows: int, timezone: str,
                            unset: str | None) -> list[pa.Array | str]:
    """Pieces of ``"name":value,...`` leaving out each member whose value is empty (null,
    ``""`` or ``[]``) in that row, still a whole column at a time.

    A column with empty rows becomes one text column holding ``,"name":value`` or ``""``,
    so omitted members take their comma with them; columns without any empty row are
    joined as usual. When the first member can be omitted, every member starts with a
    comma and the first one is cut off at the end.
    """
    pieces: list[pa.Array | str] = []
    for name, column in columns:
        empty = _empty_rows(column)
        if empty.true_count == rows:
            continue
        key = "," + orjson.dumps(name).decode() + ":"
        values = json_pieces(column, timezone=timezone, unset=unset)
        if not empty.true_count:
            pieces += [key, *values]
            continue
        member = join_pieces([key, *values], rows)
        pieces.append(pc.if_else(empty, "", member))
    if not pieces:
        return []
    if isinstance(pieces[0], str):  # the first member is in every row
        pieces[0] = pieces[0][1:]
        return pieces
    return [pc.utf8_slice_codeunits(join_pieces(pieces, rows), start=1)]


def _empty_rows(column: pa.Array) -> pa.BooleanArray:
    """Where ``column`` holds no value: null, empty text or an empty list."""
    kind = column.type
    empty = pc.is_null(column)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        empty = pc.or_(empty, pc.equal(pc.utf8_length(column), 0))
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
        empty = pc.or_(empty, pc.equal(pc.list_value_length(column), 0))
    result: pa.BooleanArray = pc.fill_null(empty, True)
    return result


class ItemsJsonLinesWriter(JsonLinesFile, ItemsJsonWriter):
    """The same envelopes as JSON Lines: one item per line, no enclosing array."""

    format: ClassVar[str] = "items-jsonl"
    suffix: ClassVar[str] = ".jsonl"
