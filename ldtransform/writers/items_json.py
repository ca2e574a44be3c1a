"""LD item JSON: envelopes ``{"headers": {...}, "data": {...}}``, as an array or as lines.

Records are built a whole batch at a time from per-column JSON text (see ``_values``), so
no Python dict is made per item for flat fields. The action (``Create``, ``Merge``,
``Update``, ``Delete``) comes from the ``action`` option, or per row from a column (such as
the ``_headers.action`` of LD item sources); a ``Delete`` carries only the primary key.
"""

from __future__ import annotations

from typing import ClassVar

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ldtransform.errors import ConfigError
from ldtransform.schema import ItemSchema
from ldtransform.writers import RecordWriter
from ldtransform.writers._framing import JsonArrayFile, JsonLinesFile
from ldtransform.writers._values import join_pieces, member_pieces

__all__ = ["ACTIONS", "ItemsJsonLinesWriter", "ItemsJsonWriter"]

ACTIONS = ("Create", "Merge", "Update", "Delete")


class ItemsJsonWriter(JsonArrayFile, RecordWriter):
    """A JSON array of LD item envelopes, one item per line."""

    format: ClassVar[str] = "items-json"
    suffix: ClassVar[str] = ".json"

    def __init__(self, *, schema: ItemSchema | None = None, action: str = "Create",
                 action_column: str | None = None) -> None:
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

    def _headers(self, action: str) -> str:
        headers = {"category": self.item_schema.category, "type": self.item_schema.item_type,
                   "action": action}
        start = self.separator.decode()
        return start + '{"headers":' + orjson.dumps(headers).decode() + ',"data":{'

    def _fields(self, batch: pa.RecordBatch, names: list[str]) -> list[pa.Array | str]:
        present = [(name, batch.column(name)) for name in names if name in batch.schema.names]
        return member_pieces(present, timezone=self.timezone, unset=self.unset)

    def _data(self, batch: pa.RecordBatch, names: list[str]) -> pa.Array:
        """The ``"name":value,...`` text of each row, for the fields in ``names``."""
        return join_pieces(self._fields(batch, names), batch.num_rows)

    def _envelopes(self, action: str, batch: pa.RecordBatch, names: list[str]) -> pa.Array:
        """Whole envelopes in one join: headers, then the data fields, then ``}}``."""
        return join_pieces([self._headers(action), *self._fields(batch, names),
                            "}}" + self.terminator], batch.num_rows)

    def encode(self, batch: pa.RecordBatch) -> pa.Array:
        fields = self.item_schema.field_names
        keys = list(self.item_schema.primary_key)
        actions = self._actions(batch)
        if actions is None:
            chosen = keys if self.action == "Delete" else fields
            return self._envelopes(self.action, batch, chosen)
        result = pa.nulls(batch.num_rows, pa.string())
        full, key_only = self._data(batch, fields), self._data(batch, keys)
        for action in ACTIONS:
            rows = pc.equal(actions, action)
            data = key_only if action == "Delete" else full
            text = pc.binary_join_element_wise(self._headers(action), data,
                                               "}}" + self.terminator, "")
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


class ItemsJsonLinesWriter(JsonLinesFile, ItemsJsonWriter):
    """The same envelopes as JSON Lines: one item per line, no enclosing array."""

    format: ClassVar[str] = "items-jsonl"
    suffix: ClassVar[str] = ".jsonl"
