"""The asyncio LD client: the same methods as :class:`~ldtransform.client.LDClient`,
``async``, with at most ``max_concurrency`` requests on the wire at once."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable, Generator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from ldtransform import ld
from ldtransform.client import _batch, _items
from ldtransform.client import _protocol as p
from ldtransform.client._auth import TokenState
from ldtransform.client._retry import DEFAULT_RETRY, RetryPolicy
from ldtransform.client._setup import credentials_from
from ldtransform.client.credentials import Credentials
from ldtransform.client.errors import ClientError
from ldtransform.client.jobs import DEFAULT_WAIT, Job, Waiting, WaitPolicy, raise_for_outcome

__all__ = ["AsyncLDClient"]

log = logging.getLogger("ldtransform.client")


class AsyncLDClient:
    """An asyncio client of an LD server; ``async with`` it. See ``LDClient``."""

    def __init__(self, url: str | None = None, *, username: str | None = None,
                 password: str | None = None, client_id: str | None = None,
                 client_secret: str | None = None, community: str | None = None,
                 token: str | None = None, profile: str | None = None,
                 insecure: bool = False, timeout: p.Timeouts = p.DEFAULT_TIMEOUTS,
                 retry: RetryPolicy = DEFAULT_RETRY,
                 transport: httpx.AsyncBaseTransport | None = None,
                 credentials: Credentials | None = None, max_concurrency: int = 4) -> None:
        self.credentials = credentials_from(
            credentials, profile=profile, url=url, username=username, password=password,
            client_id=client_id, client_secret=client_secret, community=community,
            token=token, insecure=insecure or None)
        self._tokens = TokenState(self.credentials)
        self._lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(max_concurrency)
        self._timeouts = timeout
        self._retry = retry
        self._http = httpx.AsyncClient(base_url=self.credentials.url or "",
                                       timeout=timeout.httpx(), transport=transport)

    def __repr__(self) -> str:
        return (f"AsyncLDClient(url={self.credentials.url!r}, "
                f"user={self.credentials.username!r})")

    async def __aenter__(self) -> AsyncLDClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    # -- the request machinery -------------------------------------------------------

    async def _run(self, call: p.Call) -> p.Answer:
        steps = p.exchange(call, tokens_generation=lambda: self._tokens.generation,
                           retry=self._retry, secrets=self.credentials.secrets())
        return await self._drive(steps)

    async def _drive(self, steps: Generator[Any, Any, p.Answer]) -> p.Answer:
        value: Any = None
        error: httpx.TransportError | None = None
        while True:
            try:
                action = steps.throw(error) if error is not None else steps.send(value)
            except StopIteration as stop:
                answer: p.Answer = stop.value
                return answer
            value, error = None, None
            try:
                if isinstance(action, p.Attempt):
                    async with self._slots:
                        value = await self._attempt(action.call)
                elif isinstance(action, p.Sleep):
                    await asyncio.sleep(action.seconds)
                else:
                    await self._login(action)
            except httpx.TransportError as exc:
                error = exc

    async def _login(self, action: p.Login) -> None:
        async with self._lock:
            if not self._tokens.wants_login(action.rejected):
                return
            form = p.Call("POST", ld.TOKEN, data=self._tokens.login_form(), authed=False)
            self._tokens.accept((await self._run(form)).json())
            log.debug("obtained a token for %s", self.credentials.username)

    async def _attempt(self, call: p.Call) -> p.Answer:
        headers = dict(call.headers)
        if call.authed:
            headers.update(self._tokens.headers())
        try:
            async with asyncio.timeout(self._timeouts.deadline):
                with ExitStack() as stack:
                    request = self._http.build_request(
                        call.method, call.url, data=call.data, content=call.content,
                        files=call.files(stack) if call.files else None, headers=headers)
                    response = await self._http.send(request, stream=True)
                    try:
                        return await self._receive(call, response)
                    finally:
                        await response.aclose()
        except TimeoutError:
            raise httpx.ReadTimeout("the request ran past its deadline of "
                                    f"{self._timeouts.deadline} s") from None

    @staticmethod
    async def _receive(call: p.Call, response: httpx.Response) -> p.Answer:
        sink = call.sink if response.status_code < 300 else None
        body = bytearray()
        if sink is not None:
            sink.begin(response.headers)
            async for chunk in response.aiter_raw():
                sink.write(chunk)
            sink.finish()
        else:
            async for chunk in response.aiter_bytes():
                body += chunk
        return p.Answer(response.status_code, response.headers, bytes(body),
                        str(response.request.url))

    # -- OAuth2 and Batch ------------------------------------------------------------

    async def whoami(self) -> dict[str, Any]:
        """The user and community of the token (``tokenInfo``)."""
        return p.whoami_of(await self._run(p.token_info_call()))

    async def import_file(self, path: str | os.PathLike[str], item_type: str, *,
                          job_name: str | None = None, content_type: str | None = None,
                          template: str | os.PathLike[str] | None = None,
                          merge: bool = False, header_row: bool | None = None,
                          notification_email: str | None = None,
                          progress: _batch.Progress | None = None) -> Job:
        """Submit an import job, streaming the file (see ``LDClient.import_file``)."""
        call = _batch.import_call(Path(path), item_type, job_name=job_name,
                                  content_type=content_type, template=template, merge=merge,
                                  header_row=header_row,
                                  notification_email=notification_email, progress=progress)
        return p.job_of(await self._run(call))

    async def export(self, item_type: str, *, job_name: str | None = None,
                     content_type: str = "application/json", row_header: bool = True,
                     template: str | os.PathLike[str] | None = None, sql: str | None = None,
                     filters: Mapping[str, Any] | None = None,
                     notification_email: str | None = None) -> Job:
        """Submit an export job (see ``LDClient.export``)."""
        call = _batch.export_call(item_type, job_name=job_name, content_type=content_type,
                                  row_header=row_header, template=template, sql=sql,
                                  filters=filters, notification_email=notification_email)
        return p.job_of(await self._run(call))

    async def status(self, job_id: str) -> Job:
        """The job's current status."""
        return p.job_of(await self._run(p.status_call(job_id)))

    async def cancel(self, job_id: str) -> Job:
        """Ask the server to cancel the job."""
        return p.job_of(await self._run(p.cancel_call(job_id)))

    async def wait(self, job_or_id: Job | str, *, policy: WaitPolicy = DEFAULT_WAIT,
                   on_progress: Callable[[Job], object] | None = None,
                   raise_on_failure: bool = True) -> Job:
        """Poll until the job ends (see ``LDClient.wait``)."""
        waiting = Waiting(policy)
        job_id = p.job_id_of(job_or_id)
        while True:
            try:
                job = await self.status(job_id)
            except ClientError as exc:  # Waiting re-raises what is not transient
                await asyncio.sleep(waiting.failed(exc))
                continue
            if on_progress is not None:
                on_progress(job)
            pause = waiting.seen(job)
            if pause is None:
                return raise_for_outcome(job) if raise_on_failure else job
            await asyncio.sleep(pause)

    async def download(self, job: Job, dest: str | os.PathLike[str], *,
                       progress: _batch.Progress | None = None) -> list[Path]:
        """Download every result file of a completed export into ``dest``."""
        return [await self._fetch(link, target, progress)
                for link, target in _batch.targets(_batch.result_links(job), Path(dest))]

    async def download_rejections(self, job: Job, dest: str | os.PathLike[str]) -> Path | None:
        """Download an import's rejection file into ``dest``; None when there is none."""
        if not job.rejection_file:
            return None
        [(link, target)] = _batch.targets((job.rejection_file,), Path(dest))
        return await self._fetch(link, target, None)

    async def _fetch(self, link: str, target: Path, progress: _batch.Progress | None) -> Path:
        sink = _batch.PartFile(target, progress)
        try:
            await self._run(_batch.download_call(link, sink, self.credentials.url or ""))
        finally:
            sink.discard()
        return target

    # -- Items -----------------------------------------------------------------------

    async def upsert(self, items: Any, *, item_type: str | None = None,
                     action: str = "Create", batch_size: int = 1000) -> _items.UpsertResult:
        """Send items in batches; rejected items carry their input index."""
        result = _items.UpsertResult()
        for batch in _items.batches(items, item_type=item_type, action=action,
                                    batch_size=batch_size):
            answer = await self._run(_items.upsert_call(batch.envelopes))
            result.add(batch, answer.json())
        return result

    async def updates(self, item_type: str, *, processed_after: int = 0,
                      last_id: str | None = None,
                      max: int = 1000) -> AsyncIterator[_items.UpdatesPage]:
        """Every page of items changed after the cursor, until a short page."""
        cursor = _items.Cursor(processed_after, last_id)
        while True:
            answer = await self._run(_items.updates_call(item_type, cursor, max))
            page = _items.page_of(answer, cursor)
            yield page
            if len(page.items) < max:
                return
            cursor = page.cursor
