"""Items API requests without I/O: upsert batches (rejections mapped back to the source)
and updates pages."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from ldtransform import ld
from ldtransform.client._protocol import Answer, Call, Safety
from ldtransform.client.errors import ClientError

__all__ = ["Cursor", "RejectedItem", "UpdatesPage", "UpsertResult", "batches", "page_of",
           "updates_call", "upsert_call"]


@dataclass(frozen=True)
class Cursor:
    """Where the updates API goes on: ``processedAfter`` and ``lastId``."""

    processed_after: int = 0
    last_id: str | None = None


@dataclass(frozen=True)
class UpdatesPage:
    """One page of the updates API: its items and the cursor of the next page."""

    items: list[dict[str, Any]]
    cursor: Cursor

    def to_pandas(self) -> Any:
        """The items' ``data`` as a DataFrame (one row per item)."""
        import pandas as pd

        return pd.DataFrame([item.get("data") or {} for item in self.items])


@dataclass(frozen=True)
class RejectedItem:
    """An item the server did not apply; ``index`` locates it in the input (None if the
    server's copy matched no input item)."""

    index: Any
    receipt_type: str | None
    message: str | None
    item: dict[str, Any]


@dataclass
class Batch:
    """Envelopes sent in one request, with the input index of each."""

    envelopes: list[dict[str, Any]]
    indexes: list[Any]


@dataclass
class UpsertResult:
    """What the upserts answered: items received, and the rejected ones."""

    count: int = 0
    rejected: list[RejectedItem] = field(default_factory=list)

    def add(self, batch: Batch, answer: Any) -> None:
        """Count one batch's answer and map its rejected items back to their indexes."""
        if not isinstance(answer, dict):
            raise ClientError("the upsert answer is not a JSON object")
        self.count += int(answer.get("count", 0))
        # The server lists rejected items in input order, each as submitted: match each
        # to the next input item with the same data (LD gives no index).
        sent = json.loads(json.dumps(batch.envelopes, default=str))
        position = 0
        for item in answer.get("rejectedItems") or ():
            data = item.get("data")
            headers = item.get("headers") or {}
            found = next((i for i in range(position, len(sent))
                          if sent[i].get("data") == data
                          or (data is None and not isinstance(sent[i].get("data"), dict))),
                         None)
            if found is not None:
                position = found + 1
            self.rejected.append(RejectedItem(
                batch.indexes[found] if found is not None else None,
                headers.get("receiptType"), headers.get("receiptMessage"), item))


def _plain(value: Any) -> Any:
    """A DataFrame cell as JSON: NaN/None/NaT are None, numpy scalars Python values,
    timestamps in LD's ``2014-02-01T05:00:00+0000``."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value != value:  # NaT
            return None
        moment = value.astimezone(UTC) if value.tzinfo else value
        return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        value = value.tolist()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _envelopes(items: Any, item_type: str | None,
               action: str) -> Iterator[tuple[Any, dict[str, Any]]]:
    if hasattr(items, "to_dict") and hasattr(items, "columns"):
        if not item_type:
            raise ClientError("upserting DataFrame rows needs item_type")
        columns = [str(c) for c in items.columns]
        for index, row in zip(items.index, items.itertuples(index=False, name=None),
                              strict=True):
            data = {c: v for c, v in zip(columns, map(_plain, row), strict=True)
                    if v is not None}
            yield index, {"headers": {"type": item_type, "action": action}, "data": data}
        return
    for index, item in enumerate(items):
        yield index, item


def batches(items: Any, *, item_type: str | None, action: str,
            batch_size: int) -> Iterator[Batch]:
    """Envelopes in batches of ``batch_size``, each with the input index of its items."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    batch = Batch([], [])
    for index, envelope in _envelopes(items, item_type, action):
        batch.envelopes.append(envelope)
        batch.indexes.append(index)
        if len(batch.envelopes) == batch_size:
            yield batch
            batch = Batch([], [])
    if batch.envelopes:
        yield batch


def upsert_call(envelopes: list[dict[str, Any]]) -> Call:
    """``POST /upsert``: like a submit, repeated only when it never reached the server
    (a repeat would write every item a second time)."""
    body = json.dumps(envelopes, default=str).encode()
    return Call("POST", ld.UPSERT, Safety.SUBMIT, content=body,
                headers={"Content-Type": "application/json"})


def updates_call(item_type: str, cursor: Cursor, max_items: int) -> Call:
    """``POST /updates`` from ``cursor``."""
    data = {"itemType": item_type, "processedAfter": str(cursor.processed_after),
            "max": str(max_items)}
    if cursor.last_id is not None:
        data["lastId"] = cursor.last_id
    return Call("POST", ld.UPDATES, data=data)


def page_of(answer: Answer, cursor: Cursor) -> UpdatesPage:
    """An updates answer as a page and the cursor after it."""
    doc = answer.json()
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise ClientError("the updates answer has no items list")
    after = doc.get("maxProcessedAt", cursor.processed_after)
    last = doc.get("lastId", cursor.last_id)
    return UpdatesPage(doc["items"], Cursor(int(after), None if last is None else str(last)))
