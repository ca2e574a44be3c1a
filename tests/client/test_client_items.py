"""The Items API through LDClient: upsert in batches with rejections mapped back, updates
paging."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
from conftest import account

from ldtransform.client import LDClient
from ldtransform.client._items import _plain


def test_rejected_items_carry_the_index_of_their_input(client: LDClient) -> None:
    items = [account(n) for n in range(10)]
    for bad in (1, 4, 5, 9):
        del items[bad]["data"]["name"]
    items[7]["headers"]["action"] = "Explode"
    result = client.upsert(items, batch_size=3)
    assert result.count == 10
    assert [r.index for r in result.rejected] == [1, 4, 5, 7, 9]
    assert [r.receipt_type for r in result.rejected] == [
        "ValidationError", "ValidationError", "ValidationError", "InvalidAction",
        "ValidationError"]
    assert all(r.message for r in result.rejected)


def test_identical_rejected_items_map_to_distinct_rows(client: LDClient) -> None:
    bad = {"headers": {"type": "Account"}, "data": {"accountId": "B1"}}
    result = client.upsert([bad, account(20), bad])
    assert [r.index for r in result.rejected] == [0, 2]


def test_dataframe_rows_become_items_and_keep_their_labels(client: LDClient) -> None:
    frame = pd.DataFrame({
        "accountId": ["D1", "D2", "D3"],
        "name": ["One", None, "Three"],
        "accountClass": ["/Account/accountClass[invoiced]"] * 3,
        "currency": ["USD", "EUR", "CAD"],
        "exposure": [1.5, np.nan, 3.0],
        "creditBlock": [True, False, True],
    }, index=[100, 200, 300])
    result = client.upsert(frame, item_type="Account")
    assert result.count == 3
    assert [(r.index, r.item["data"]["accountId"]) for r in result.rejected] == [(200, "D2")]
    stored = {item["data"]["accountId"]: item["data"]
              for page in client.updates("Account") for item in page.items}
    assert stored["D3"] == {"accountId": "D3", "name": "Three", "currency": "CAD",
                            "accountClass": "/Account/accountClass[invoiced]",
                            "exposure": 3.0, "creditBlock": True}


def test_cells_become_json_values() -> None:
    assert _plain(np.int64(3)) == 3 and isinstance(_plain(np.int64(3)), int)
    assert _plain(float("nan")) is None and _plain(pd.NaT) is None
    assert _plain(pd.Timestamp("2024-02-01 05:00", tz="Europe/Berlin")) == \
        "2024-02-01T04:00:00+0000"
    assert _plain(datetime(2024, 1, 2, tzinfo=UTC)) == "2024-01-02T00:00:00+0000"
    assert _plain(np.array([1, 2])) == [1, 2]


def test_updates_iterates_every_page(client: LDClient) -> None:
    first = [page.cursor for page in client.updates("Account")][-1]
    assert not client.upsert([account(n, userId="pg") for n in range(500, 525)]).rejected
    pages = list(client.updates("Account", processed_after=first.processed_after,
                                last_id=first.last_id, max=10))
    assert [len(p.items) for p in pages] == [10, 10, 5]
    ids = [item["data"]["accountId"] for p in pages for item in p.items]
    assert ids == [f"A{n:06d}" for n in range(500, 525)]
    assert list(pages[-1].to_pandas()["accountId"]) == ids[20:]
    again = list(client.updates("Account", processed_after=pages[-1].cursor.processed_after,
                                last_id=pages[-1].cursor.last_id))
    assert [p.items for p in again] == [[]]
