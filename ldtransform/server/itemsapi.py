"""The Items API routes: ``/ls/api/items/upsert`` and ``/ls/api/items/updates``."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from ldtransform import ld
from ldtransform.server.auth import Principal
from ldtransform.server.errors import InvalidRequest, TooLarge
from ldtransform.server.items import apply_records
from ldtransform.server.sources import Record
from ldtransform.server.state import Caller, ServerState, form_doc, state_of
from ldtransform.server.uploads import read_form

__all__ = ["router"]

router = APIRouter(tags=["items"])

UPDATES_FIELDS = {
    "itemType": "The item type, e.g. Account.",
    "processedAfter": "Epoch ms: the maxProcessedAt of the previous page (0 = start).",
    "lastId": "The lastId of the previous page (absent = start).",
    "max": "Most items to return (default 100).",
}
_UPSERT_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"type": "array", "items": {"type": "object", "properties": {
        "headers": {"type": "object"}, "data": {"type": "object"}}}}}}}}


async def _body(request: Request, limit: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge(f"the body is larger than {limit} bytes")
    return bytes(body)


def _records(doc: Any) -> list[Record]:
    records: list[Record] = []
    for number, element in enumerate(doc, start=1):
        headers = element.get("headers") if isinstance(element, dict) else None
        data = element.get("data") if isinstance(element, dict) else None
        if not isinstance(headers, dict) or not isinstance(data, dict):
            records.append((number, None, "an item is an object with 'headers' and 'data' "
                            "objects"))
        else:
            records.append((number, headers, data))
    return records


def _upsert(state: ServerState, who: Principal, doc: list[Any]) -> dict[str, Any]:
    records = _records(doc)
    with state.store.write() as conn:
        applied = apply_records(conn, community=who.community, item_type=None,
                                types=state.types, records=records, merge=False,
                                now_ms=state.store.clock_ms())
    answer: dict[str, Any] = {"count": applied.count}
    if applied.rejected:
        answer["rejectedItems"] = [{
            "headers": {**(r.headers or {}), "receiptType": r.receipt_type,
                        "receiptMessage": r.message},
            "data": r.data if isinstance(r.data, dict) else None,
        } for r in applied.rejected]
    return answer


@router.post(ld.UPSERT, openapi_extra=_UPSERT_BODY)
async def items_upsert(request: Request, who: Caller) -> Any:
    """Create, merge, update or delete items given as a JSON array of envelopes."""
    state = state_of(request)
    body = await _body(request, state.config.limits.max_body_bytes)
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(doc, list):
        raise InvalidRequest("the body must be a JSON array of items")
    return await run_in_threadpool(_upsert, state, who, doc)


def _int(fields: dict[str, str], name: str, default: int) -> int:
    text = (fields.get(name) or "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise InvalidRequest(f"{name} must be an integer") from None


def _updates(state: ServerState, who: Principal, fields: dict[str, str]) -> dict[str, Any]:
    item_type = (fields.get("itemType") or "").strip()
    if item_type not in state.types:
        raise InvalidRequest(f"unknown itemType {item_type!r}")
    after = _int(fields, "processedAfter", 0)
    last_id = _int(fields, "lastId", 0)
    limit = _int(fields, "max", 100)
    if not 1 <= limit <= state.config.limits.max_updates_page:
        raise InvalidRequest(f"max must be 1 to {state.config.limits.max_updates_page}")
    rows = state.store.items_changed(who.community, item_type, after=after, last_id=last_id,
                                     limit=limit)
    category = state.types[item_type].schema.category
    items = []
    for h_id, revision, _at, deleted, data in rows:
        headers = {"category": category, "type": item_type, "id": str(h_id),
                   "revisionId": str(revision)}
        if deleted:
            headers["action"] = "Delete"
        items.append({"headers": headers, "data": orjson.loads(data)})
    if not rows:
        return {"items": [], "maxProcessedAt": after,
                "lastId": str(last_id) if last_id else fields.get("lastId") or ""}
    return {"items": items, "maxProcessedAt": rows[-1][2], "lastId": str(rows[-1][0])}


@router.post(ld.UPDATES, openapi_extra=form_doc(UPDATES_FIELDS, required=("itemType",)))
async def items_updates(request: Request,
                        who: Caller) -> dict[str, Any]:
    """Items of a type changed after a point, paged by (processed-at, row id)."""
    state = state_of(request)
    fields = await read_form(request, state.config.limits)
    return await run_in_threadpool(_updates, state, who, fields)
