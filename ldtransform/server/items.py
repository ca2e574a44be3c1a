"""Applying item records to the store: actions, merge vs override, rejections.

Semantics (also in ``docs/server.md``):

- ``Create`` (or no action): the item is stored; an existing item with the same primary
  key is replaced (override, the default) or has the given fields merged into it
  (``merge=True``).
- ``Merge``: the given top-level fields are merged into the existing item; a new item is
  created when there is none.
- ``Update``: the item must exist; it is replaced (or merged into, with ``merge=True``).
- ``Delete``: the item must exist; only its primary key fields are needed.

The *resulting* item is checked against the schema, so a merge that leaves a required
field empty is rejected. The caller holds the write transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ldtransform import issue_codes as codes
from ldtransform.errors import ConfigError
from ldtransform.ld import ReceiptType
from ldtransform.schema import ItemSchema, load_schema
from ldtransform.server.records import Problem, RecordChecker, primary_key_of
from ldtransform.server.sources import ACTIONS, Record
from ldtransform.server.store import live_item_data, write_items

__all__ = ["Applied", "Plan", "Rejection", "TypeContext", "apply_plan", "apply_records",
           "load_types", "plan_records"]

#: Shipped copies of the sample schemas, used when no --schemas folder is given.
BUILTIN_SCHEMAS = Path(__file__).parent / "schemas"

@dataclass(frozen=True)
class TypeContext:
    """An itemType's schema and its compiled checker."""

    schema: ItemSchema
    checker: RecordChecker


def load_types(folder: Path | None) -> dict[str, TypeContext]:
    """Every ``*.json`` itemType schema in ``folder`` (default: the built-in ones)."""
    folder = folder or BUILTIN_SCHEMAS
    if not folder.is_dir():
        raise ConfigError(f"{folder}: the schemas folder does not exist")
    types: dict[str, TypeContext] = {}
    for path in sorted(folder.glob("*.json")):
        schema = load_schema(path)
        if schema.item_type in types:
            raise ConfigError(f"{path}: itemType {schema.item_type!r} is defined twice")
        types[schema.item_type] = TypeContext(schema, RecordChecker(schema))
    if not types:
        raise ConfigError(f"{folder}: no itemType schemas (*.json) in the folder")
    return types


@dataclass
class Rejection:
    """A record that was not applied, with every reason."""

    number: int
    headers: dict[str, Any] | None
    data: Any
    receipt_type: ReceiptType
    problems: list[Problem]

    @property
    def message(self) -> str:
        """All problems in one line (the ``receiptMessage``)."""
        return "; ".join(f"{path}: {text}" if path else text
                         for path, _code, text in self.problems)


@dataclass
class Applied:
    """What happened to one batch of records."""

    count: int = 0
    rejected: list[Rejection] = field(default_factory=list)


def _reject(record: Record, kind: ReceiptType, problems: list[Problem]) -> Rejection:
    number, headers, data = record
    return Rejection(number, headers, data, kind, problems)


def _outcome(action: str, merge: bool, given: dict[str, Any],
             current: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str | None]:
    """The item after the action (None = deleted), or an error message."""
    if action == "Delete":
        return (None, None) if current is not None else ({}, "no such item to delete")
    if action == "Update" and current is None:
        return {}, "no such item to update (use Create or Merge)"
    if current is not None and (merge or action == "Merge"):
        return {**current, **given}, None
    return given, None


@dataclass
class Plan:
    """Records checked as far as they can be without the stored items.

    A plan holds no connection and pickles cheaply, so an import can make plans in one
    process while another applies them. Per itemType, either every record's result is
    already known (``ready``: primary key → item JSON; plain ``Create`` without merge,
    the usual import) or none is (``pending``: the records, their actions and keys, to be
    resolved against the stored items in order).
    """

    count: int
    rejected: list[Rejection] = field(default_factory=list)
    ready: dict[str, dict[str, str]] = field(default_factory=dict)
    pending: dict[str, list[tuple[Record, str, str]]] = field(default_factory=dict)


def plan_records(records: Sequence[Record], *, item_type: str | None,
                 types: dict[str, TypeContext], merge: bool) -> Plan:
    """Check ``records`` (all of ``item_type`` when given) as far as the store is not needed.

    With ``item_type`` None (the upsert API) each record names its type in ``headers``.
    """
    plan = Plan(count=len(records))
    by_type: dict[str, list[tuple[Record, str]]] = {}
    for record in records:
        _, headers, data = record
        if headers is None:
            plan.rejected.append(_reject(record, ReceiptType.READ_ERROR,
                                         [("", "bad-record", data)]))
            continue
        action = headers.get("action") or "Create"
        kind = item_type or headers.get("type")
        if action not in ACTIONS:
            plan.rejected.append(_reject(record, ReceiptType.INVALID_ACTION, [
                ("headers.action", codes.NOT_IN_ENUM,
                 f"{action!r} is not one of {', '.join(ACTIONS)}")]))
        elif item_type is not None and headers.get("type") not in (None, item_type):
            plan.rejected.append(_reject(record, ReceiptType.WRONG_ITEM_TYPE, [
                ("headers.type", "wrong-item-type",
                 f"{headers.get('type')!r} in a job importing {item_type}")]))
        elif not isinstance(kind, str) or kind not in types:
            plan.rejected.append(_reject(record, ReceiptType.UNKNOWN_ITEM_TYPE, [
                ("headers.type", "unknown-item-type", f"no schema for itemType {kind!r}")]))
        else:
            by_type.setdefault(kind, []).append((record, action))
    for kind, group in by_type.items():
        _plan_type(plan, kind, types[kind], group, merge)
    return plan


def _plan_type(plan: Plan, kind: str, ctx: TypeContext, group: list[tuple[Record, str]],
               merge: bool) -> None:
    keyed: list[tuple[Record, str, str]] = []
    schema, checker = ctx.schema, ctx.checker
    for record, action in group:
        pk = primary_key_of(schema, record[2])
        if pk is None:
            problems = checker.check_key(record[2]) or [
                ("", codes.MISSING_VALUE, "the primary key must be a plain value")]
            plan.rejected.append(_reject(record, ReceiptType.VALIDATION_ERROR, problems))
        else:
            keyed.append((record, action, pk))
    if merge or any(action != "Create" for _, action, _ in keyed):
        plan.pending[kind] = keyed
        return
    dumps = orjson.dumps
    ready: dict[str, str] = {}
    for record, _, pk in keyed:
        problems = checker.check(record[2])
        if problems:
            plan.rejected.append(_reject(record, ReceiptType.VALIDATION_ERROR, problems))
        else:
            ready[pk] = dumps(record[2]).decode()
    plan.ready[kind] = ready


def apply_plan(conn: sqlite3.Connection, plan: Plan, *, community: str,
               types: dict[str, TypeContext], merge: bool, now_ms: int) -> Applied:
    """Apply a plan in the open transaction."""
    result = Applied(count=plan.count, rejected=list(plan.rejected))
    dumps = orjson.dumps
    for kind, keyed in plan.pending.items():
        ctx = types[kind]
        state: dict[str, dict[str, Any] | None] = dict(
            live_item_data(conn, community, kind, list({pk for _, _, pk in keyed})))
        touched: dict[str, str | None] = {}
        for record, action, pk in keyed:
            after, error = _outcome(action, merge, record[2], state.get(pk))
            if error is not None:
                result.rejected.append(_reject(record, ReceiptType.NOT_FOUND,
                                               [("", "not-found", error)]))
                continue
            if after is not None:
                problems = ctx.checker.check(after)
                if problems:
                    result.rejected.append(_reject(record, ReceiptType.VALIDATION_ERROR, problems))
                    continue
            state[pk] = after
            touched[pk] = None if after is None else dumps(after).decode()
        write_items(conn, community, kind, ctx.schema.category, touched, now_ms)
    for kind, ready in plan.ready.items():
        write_items(conn, community, kind, types[kind].schema.category, ready, now_ms)
    result.rejected.sort(key=lambda r: r.number)
    return result


def apply_records(conn: sqlite3.Connection, *, community: str, item_type: str | None,
                  types: dict[str, TypeContext], records: Sequence[Record], merge: bool,
                  now_ms: int) -> Applied:
    """Check and apply ``records`` in the open transaction (see :func:`plan_records`)."""
    plan = plan_records(records, item_type=item_type, types=types, merge=merge)
    return apply_plan(conn, plan, community=community, types=types, merge=merge,
                      now_ms=now_ms)
