"""AsyncLDClient: the same protocol with asyncio, several imports at once, bounded."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import account, canary_credentials, write_items

from ldtransform.client import (
    AsyncLDClient,
    Credentials,
    JobRejected,
    RetryPolicy,
    Timeouts,
    TransportError,
    WaitPolicy,
)
from ldtransform.ld import JobStatus
from ldtransform.server.clock import Clock


class Counting(httpx.AsyncHTTPTransport):
    """Counts requests on the wire at the same time."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0
        self.most = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            await asyncio.sleep(0.02)  # let the others start theirs
            return await super().handle_async_request(request)
        finally:
            self.now -= 1


def test_several_files_import_concurrently_within_the_bound(server: tuple[str, Clock],
                                                            tmp_path: Path) -> None:
    files = [write_items(tmp_path / f"part{p}.json",
                         [account(p * 100 + n) for n in range(20)]) for p in range(6)]
    transport = Counting()

    async def main() -> list[Any]:
        async with AsyncLDClient(credentials=canary_credentials(server[0]),
                                 transport=transport, max_concurrency=2) as ld:
            async def one(path: Path) -> Any:
                job = await ld.import_file(path, "Account")
                return await ld.wait(job, policy=WaitPolicy(interval=0.05))
            jobs = await asyncio.gather(*(one(f) for f in files))
            pages = [page async for page in ld.updates("Account", max=50)]
            return [jobs, sum(len(p.items) for p in pages)]

    jobs, stored = asyncio.run(main())
    assert [j.status for j in jobs] == [JobStatus.COMPLETED] * 6
    assert [j.records_processed for j in jobs] == [20] * 6
    assert stored == 120
    assert transport.most == 2


def test_export_download_and_outcomes(server: tuple[str, Clock], tmp_path: Path) -> None:
    async def main() -> None:
        async with AsyncLDClient(credentials=canary_credentials(server[0])) as ld:
            result = await ld.upsert([account(n, userId="as") for n in range(900, 912)]
                                     + [{"headers": {"type": "Account"}, "data": {}}])
            assert result.count == 13 and [r.index for r in result.rejected] == [12]
            job = await ld.wait(await ld.export("Account", filters={"userId": "as"}))
            files = await ld.download(job, tmp_path / "out")
            assert len(files) == 2 and all(f.stat().st_size for f in files)
            bad = await ld.import_file(files[0], "NoSuchType")
            with pytest.raises(JobRejected):
                await ld.wait(bad)
            assert (await ld.cancel(bad.job_id)).status == JobStatus.REJECTED
            assert (await ld.whoami())["user"] == "canary"

    asyncio.run(main())


def test_concurrent_401s_share_one_renewal(server: tuple[str, Clock],
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "ldtransform.client")

    async def main() -> list[Any]:
        async with AsyncLDClient(credentials=canary_credentials(server[0])) as ld:
            await ld.whoami()
            server[1].advance(4000)
            return await asyncio.gather(*(ld.whoami() for _ in range(6)))

    assert [me["user"] for me in asyncio.run(main())] == ["canary"] * 6
    assert sum("obtained a token" in r.getMessage() for r in caplog.records) == 2


def test_the_deadline_bounds_a_server_answering_byte_by_byte(dribbling_server: str) -> None:
    async def main() -> None:
        async with AsyncLDClient(credentials=Credentials(url=dribbling_server, token="t"),
                                 timeout=Timeouts(read=5, deadline=1.0),
                                 retry=RetryPolicy(attempts=1)) as ld:
            await ld.status("j1")

    started = time.monotonic()
    with pytest.raises(TransportError, match="deadline"):
        asyncio.run(main())
    assert time.monotonic() - started < 2.0
