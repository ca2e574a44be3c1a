"""A whole-request deadline for the synchronous client.

httpx's read timeout applies to each read, so a server sending one byte at a time never
trips it. The client sets :data:`DEADLINE` (a monotonic time) around each request, and the
network streams of :func:`deadline_transport` shorten every read and write to the time
left, failing with a timeout once it has passed.
"""

from __future__ import annotations

import time
import typing
from contextvars import ContextVar

import httpcore
import httpx

__all__ = ["DEADLINE", "check_deadline", "deadline_transport"]

DEADLINE: ContextVar[float | None] = ContextVar("ldtransform_client_deadline", default=None)


def check_deadline() -> None:
    """Raise ``httpx.ReadTimeout`` if the current request's deadline has passed."""
    end = DEADLINE.get()
    if end is not None and time.monotonic() >= end:
        raise httpx.ReadTimeout("the request ran past its deadline")


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    end = DEADLINE.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise error("the request ran past its deadline")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: typing.Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname,
                                             _bounded(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: typing.Iterable[typing.Any] | None = None,
                    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_tcp(
            host, port, _bounded(timeout, httpcore.ConnectTimeout), local_address,
            socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: typing.Iterable[typing.Any] | None = None,
                            ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(
            path, _bounded(timeout, httpcore.ConnectTimeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_transport() -> httpx.HTTPTransport:
    """httpx's own transport, its network streams bounded by :data:`DEADLINE`."""
    transport = httpx.HTTPTransport()
    # httpx takes no network backend, so wrap the one its connection pool made.
    pool = transport._pool
    pool._network_backend = _Backend(pool._network_backend)
    return transport
