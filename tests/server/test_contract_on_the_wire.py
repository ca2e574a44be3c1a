"""The server speaks the LD contract: every status it answers is a JobStatus, every route
the contract names is served."""

from __future__ import annotations

import time
from typing import Any

from ldkit import LD, account

from ldtransform.ld import JobStatus, is_terminal, routes


def _statuses_until_done(client: LD, submitted: dict[str, Any]) -> list[str]:
    seen = [submitted["status"]]
    deadline = time.monotonic() + 60
    while not is_terminal(seen[-1]):
        assert time.monotonic() < deadline, seen
        seen.append(client.status(submitted["jobId"])["status"])
    return seen


def test_every_status_answered_is_a_job_status(own_ld: LD) -> None:
    seen = _statuses_until_done(own_ld, own_ld.import_([account(n) for n in range(40)]))
    assert seen[0] == JobStatus.ACCEPTED and seen[-1] == JobStatus.COMPLETED
    seen += _statuses_until_done(own_ld, own_ld.import_(b"[]", content_type="image/png"))
    assert seen[-1] == JobStatus.REJECTED
    seen += _statuses_until_done(own_ld, own_ld.export())
    assert seen[-1] == JobStatus.COMPLETED
    assert set(seen) <= {status.value for status in JobStatus}, seen


def test_every_contract_route_is_served(ld: LD) -> None:
    paths = set(ld.http.get("/openapi.json").json()["paths"])
    assert paths >= {routes.TOKEN, routes.VALIDATE, routes.TOKEN_INFO, routes.SET_COMMUNITY,
                     routes.IMPORT, routes.EXPORT, routes.STATUS, routes.CANCEL,
                     routes.DOWNLOAD, routes.UPSERT, routes.UPDATES, routes.HEALTH}
