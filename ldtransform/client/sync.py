"""The LD client: OAuth2 token, Batch jobs and the Items API over httpx."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from ldtransform import ld
from ldtransform.client import _batch, _items
from ldtransform.client import _protocol as p
from ldtransform.client._auth import TokenState
from ldtransform.client._deadline import DEADLINE, check_deadline, deadline_transport
from ldtransform.client._retry import DEFAULT_RETRY, RetryPolicy
from ldtransform.client._setup import credentials_from
from ldtransform.client.credentials import Credentials
from ldtransform.client.errors import ClientError
from ldtransform.client.jobs import DEFAULT_WAIT, Job, Waiting, WaitPolicy, raise_for_outcome

__all__ = ["LDClient"]

log = logging.getLogger("ldtransform.client")


class LDClient:
    """A client of an LD server (or the local one); use it as a context manager.

    Credentials come from the arguments, else the environment (``LD_URL``,
    ``LD_USERNAME``, ``LD_PASSWORD``, ...), else a credentials profile; or pass a ready
    :class:`Credentials`. ``transport`` replaces httpx's (tests, proxies).
    """

    def __init__(self, url: str | None = None, *, username: str | None = None,
                 password: str | None = None, client_id: str | None = None,
                 client_secret: str | None = None, community: str | None = None,
                 token: str | None = None, profile: str | None = None,
                 insecure: bool = False, timeout: p.Timeouts = p.DEFAULT_TIMEOUTS,
                 retry: RetryPolicy = DEFAULT_RETRY,
                 transport: httpx.BaseTransport | None = None,
                 credentials: Credentials | None = None) -> None:
        self.credentials = credentials_from(
            credentials, profile=profile, url=url, username=username, password=password,
            client_id=client_id, client_secret=client_secret, community=community,
            token=token, insecure=insecure or None)
        self._tokens = TokenState(self.credentials)
        self._lock = threading.Lock()
        self._timeouts = timeout
        self._retry = retry
        self._http = httpx.Client(base_url=self.credentials.url or "",
                                  timeout=timeout.httpx(),
                                  transport=transport or deadline_transport())

    def __repr__(self) -> str:
        return f"LDClient(url={self.credentials.url!r}, user={self.credentials.username!r})"

    def __enter__(self) -> LDClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    # -- the request machinery -------------------------------------------------------

    def _run(self, call: p.Call) -> p.Answer:
        steps = p.exchange(call, tokens_generation=lambda: self._tokens.generation,
                           retry=self._retry, secrets=self.credentials.secrets())
        return self._drive(steps)

    def _drive(self, steps: Generator[Any, Any, p.Answer]) -> p.Answer:
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
                    value = self._attempt(action.call)
                elif isinstance(action, p.Sleep):
                    self._retry.sleep(action.seconds)
                else:
                    self._login(action)
            except httpx.TransportError as exc:
                error = exc

    def _login(self, action: p.Login) -> None:
        with self._lock:
            if not self._tokens.wants_login(action.rejected):
                return
            form = p.Call("POST", ld.TOKEN, data=self._tokens.login_form(), authed=False)
            self._tokens.accept(self._run(form).json())
            log.debug("obtained a token for %s", self.credentials.username)

    def _attempt(self, call: p.Call) -> p.Answer:
        headers = dict(call.headers)
        if call.authed:
            headers.update(self._tokens.headers())
        deadline = self._timeouts.deadline
        end = None if deadline is None else time.monotonic() + deadline
        mark = DEADLINE.set(end)
        try:
            with ExitStack() as stack:
                request = self._http.build_request(
                    call.method, call.url, data=call.data, content=call.content,
                    files=call.files(stack) if call.files else None, headers=headers)
                response = self._http.send(request, stream=True)
                try:
                    return self._receive(call, response)
                finally:
                    response.close()
        except httpx.TimeoutException:
            if end is not None and time.monotonic() >= end:
                raise httpx.ReadTimeout(
                    f"the request ran past its deadline of {deadline} s") from None
            raise
        finally:
            DEADLINE.reset(mark)

    @staticmethod
    def _receive(call: p.Call, response: httpx.Response) -> p.Answer:
        sink = call.sink if response.status_code < 300 else None
        body = bytearray()
        if sink is not None:
            sink.begin(response.headers)
        for chunk in response.iter_raw() if sink is not None else response.iter_bytes():
            check_deadline()
            if sink is not None:
                sink.write(chunk)
            else:
                body += chunk
        if sink is not None:
            sink.finish()
        return p.Answer(response.status_code, response.headers, bytes(body),
                        str(response.request.url))

    # -- OAuth2 ----------------------------------------------------------------------

    def whoami(self) -> dict[str, Any]:
        """The user and community of the token (``tokenInfo``); logs in if needed."""
        return p.whoami_of(self._run(p.token_info_call()))

    # -- Batch -----------------------------------------------------------------------

    def import_file(self, path: str | os.PathLike[str], item_type: str, *,
                    job_name: str | None = None, content_type: str | None = None,
                    template: str | os.PathLike[str] | None = None, merge: bool = False,
                    header_row: bool | None = None, notification_email: str | None = None,
                    progress: _batch.Progress | None = None) -> Job:
        """Submit an import job; the file is streamed, never read whole into memory.

        Never re-sent once its body may have left: an answer that does not come back
        raises :class:`~ldtransform.client.errors.UploadOutcomeUnknown`.
        """
        call = _batch.import_call(Path(path), item_type, job_name=job_name,
                                  content_type=content_type, template=template, merge=merge,
                                  header_row=header_row,
                                  notification_email=notification_email, progress=progress)
        return p.job_of(self._run(call))

    def export(self, item_type: str, *, job_name: str | None = None,
               content_type: str = "application/json", row_header: bool = True,
               template: str | os.PathLike[str] | None = None, sql: str | None = None,
               filters: Mapping[str, Any] | None = None,
               notification_email: str | None = None) -> Job:
        """Submit an export job (``sql`` wins over ``filters``; neither: every item)."""
        call = _batch.export_call(item_type, job_name=job_name, content_type=content_type,
                                  row_header=row_header, template=template, sql=sql,
                                  filters=filters, notification_email=notification_email)
        return p.job_of(self._run(call))

    def status(self, job_id: str) -> Job:
        """The job's current status."""
        return p.job_of(self._run(p.status_call(job_id)))

    def cancel(self, job_id: str) -> Job:
        """Ask the server to cancel the job; answers its status (``Canceling`` or final)."""
        return p.job_of(self._run(p.cancel_call(job_id)))

    def wait(self, job_or_id: Job | str, *, policy: WaitPolicy = DEFAULT_WAIT,
             on_progress: Callable[[Job], object] | None = None,
             raise_on_failure: bool = True) -> Job:
        """Poll until the job ends; return it if Completed, else raise its outcome.

        A failed poll (network, 5xx) does not end the wait; an unknown status does.
        ``on_progress(job)`` sees every status polled.
        """
        waiting = Waiting(policy)
        job_id = p.job_id_of(job_or_id)
        while True:
            try:
                job = self.status(job_id)
            except ClientError as exc:  # Waiting re-raises what is not transient
                time.sleep(waiting.failed(exc))
                continue
            if on_progress is not None:
                on_progress(job)
            pause = waiting.seen(job)
            if pause is None:
                return raise_for_outcome(job) if raise_on_failure else job
            time.sleep(pause)

    def download(self, job: Job, dest: str | os.PathLike[str], *,
                 progress: _batch.Progress | None = None) -> list[Path]:
        """Download every result file of a completed export into the folder ``dest``."""
        return [self._fetch(link, target, progress)
                for link, target in _batch.targets(_batch.result_links(job), Path(dest))]

    def download_rejections(self, job: Job, dest: str | os.PathLike[str]) -> Path | None:
        """Download an import's rejection file into ``dest``; None when there is none."""
        if not job.rejection_file:
            return None
        [(link, target)] = _batch.targets((job.rejection_file,), Path(dest))
        return self._fetch(link, target, None)

    def _fetch(self, link: str, target: Path, progress: _batch.Progress | None) -> Path:
        sink = _batch.PartFile(target, progress)
        try:
            self._run(_batch.download_call(link, sink, self.credentials.url or ""))
        finally:
            sink.discard()
        return target

    # -- Items -----------------------------------------------------------------------

    def upsert(self, items: Any, *, item_type: str | None = None, action: str = "Create",
               batch_size: int = 1000) -> _items.UpsertResult:
        """Send items (envelopes, or DataFrame rows with ``item_type``) in batches.

        Each rejected item comes back with the index of its source row or envelope.
        """
        result = _items.UpsertResult()
        for batch in _items.batches(items, item_type=item_type, action=action,
                                    batch_size=batch_size):
            result.add(batch, self._run(_items.upsert_call(batch.envelopes)).json())
        return result

    def updates(self, item_type: str, *, processed_after: int = 0,
                last_id: str | None = None, max: int = 1000) -> Iterator[_items.UpdatesPage]:
        """Every page of items changed after the cursor, until a short page."""
        cursor = _items.Cursor(processed_after, last_id)
        while True:
            page = _items.page_of(self._run(_items.updates_call(item_type, cursor, max)),
                                  cursor)
            yield page
            if len(page.items) < max:
                return
            cursor = page.cursor
