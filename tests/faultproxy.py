"""A TCP proxy for tests that breaks HTTP/1.1 exchanges on purpose, one request at a time.

It sits between a client and a server on loopback, reads each request's boundaries (request
line, headers, a ``Content-Length`` or chunked body) so it can act per request, also on a
kept-alive connection, and does one of:

- ``pass``: forward the request and the answer untouched;
- ``reset_before``: reset the client's connection (RST) before forwarding anything;
- ``reset_after``: forward the request, read the server's whole answer, then reset the
  client's connection without passing the answer on (the server did the work, the client
  cannot know);
- ``blackhole``: forward the request, swallow the answer and keep the client's connection
  open without a word (the client's read timeout has to end it);
- ``slow``: pass the answer on at a trickle (``slow_chunk`` bytes every ``slow_delay``
  seconds), head and body alike.

A client sees a reset as ``httpx.ReadError`` (or ``WriteError``, or ``RemoteProtocolError``
when the reset arrives as the connection is being reused), a blackhole as its read timeout.

Which one is seeded-random (``faults={"reset_after": 0.1, "slow": 0.05}``, the rest pass)
or scripted (``faults=["pass", "reset_before"]``, one per request in arrival order, then
``pass``). Every request is recorded as an :class:`Exchange` (method, path, fault, the
server's status and body when it answered), so a test can count what happened::

    with running() as url, FaultProxy(url, faults={"reset_after": 0.3}, seed=1) as proxy:
        httpx.get(proxy.url + "/health")
        proxy.counts()["reset_after"]
"""

from __future__ import annotations

import contextlib
import random
import select
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from types import TracebackType
from urllib.parse import urlsplit

__all__ = ["FAULTS", "Exchange", "FaultProxy"]

PASS = "pass"
RESET_BEFORE = "reset_before"
RESET_AFTER = "reset_after"
BLACKHOLE = "blackhole"
SLOW = "slow"
#: Every fault a request can get.
FAULTS = (PASS, RESET_BEFORE, RESET_AFTER, BLACKHOLE, SLOW)
#: Recorded when the server's side broke (it closed or reset): not something the proxy chose.
UPSTREAM_ERROR = "upstream_error"

_MAX_HEAD = 64 * 1024
#: How much of an answer's body an :class:`Exchange` keeps.
_MAX_KEPT_BODY = 1 << 20
_RECV = 64 * 1024


@dataclass(frozen=True)
class Exchange:
    """One request through the proxy and what the proxy did to it."""

    connection: int
    """The client connection's number (1, 2, ... in the order they were accepted)."""
    method: str
    path: str
    fault: str
    status: int | None = None
    """The server's status code, or None when the request never reached it (or it did
    not answer)."""
    body: bytes | None = None
    """The server's answer body (de-chunked, at most 1 MiB), also when the client never
    got it: a test can read the job id a ``reset_after`` kept from the client."""


class _Closed(Exception):
    """The peer closed its side (or the proxy is stopping)."""


class _ClientGone(_Closed):
    """The client went away while its answer was being passed on."""


class _Stream:
    """A socket with a read buffer: lines, exact reads and whatever is there."""

    def __init__(self, sock: socket.socket, closed: type[_Closed] = _Closed) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.closed = closed

    def _fill(self) -> None:
        try:
            data = self.sock.recv(_RECV)
        except OSError as exc:
            raise self.closed from exc
        if not data:
            raise self.closed
        self.buf += data

    def readline(self) -> bytes:
        while (end := self.buf.find(b"\n")) < 0:
            if len(self.buf) > _MAX_HEAD:
                raise _Closed
            self._fill()
        line = bytes(self.buf[:end + 1])
        del self.buf[:end + 1]
        return line

    def read_some(self, limit: int) -> bytes:
        if not self.buf:
            self._fill()
        data = bytes(self.buf[:limit])
        del self.buf[:limit]
        return data

    def read_all(self) -> Iterator[bytes]:
        """Everything until the peer closes."""
        while True:
            try:
                yield self.read_some(_RECV)
            except _Closed:
                return


def _read_head(stream: _Stream) -> tuple[bytes, list[bytes]]:
    """The raw head of a message (start line, headers, blank line) and its lines."""
    lines = [stream.readline()]
    while lines[0] in (b"\r\n", b"\n"):    # blank lines before a request are allowed
        lines = [stream.readline()]
    while lines[-1] not in (b"\r\n", b"\n"):
        lines.append(stream.readline())
        if sum(map(len, lines)) > _MAX_HEAD:
            raise _Closed
    return b"".join(lines), lines


def _headers(lines: list[bytes]) -> dict[str, str]:
    """Header names (lower case) and values; repeated names are joined with commas."""
    found: dict[str, str] = {}
    for line in lines[1:-1]:
        name, _, value = line.decode("latin-1").partition(":")
        key = name.strip().lower()
        found[key] = f"{found[key]}, {value.strip()}" if key in found else value.strip()
    return found


def _body(stream: _Stream, headers: Mapping[str, str],
          until_close: bool) -> Iterator[tuple[bytes, bytes]]:
    """A message body as (raw bytes to relay, decoded body bytes) pieces."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size_line = stream.readline()
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            yield size_line, b""
            if size == 0:
                while (trailer := stream.readline()) not in (b"\r\n", b"\n"):
                    yield trailer, b""
                yield trailer, b""
                return
            left, data_left = size + 2, size    # the data and its CRLF
            while left:
                piece = stream.read_some(left)
                left -= len(piece)
                data = piece[:data_left]
                data_left -= len(data)
                yield piece, data
    elif "content-length" in headers:
        left = int(headers["content-length"])
        while left:
            piece = stream.read_some(left)
            left -= len(piece)
            yield piece, piece
    elif until_close:
        for piece in stream.read_all():
            yield piece, piece


def _request_line(line: bytes) -> tuple[str, str]:
    """The method and path of a request line."""
    parts = line.decode("latin-1").split()
    if len(parts) < 2:
        raise _Closed
    return parts[0], urlsplit(parts[1]).path


def _relay(head: bytes, body: Iterator[tuple[bytes, bytes]], kept: bytearray,
           on_end: Callable[[], None]) -> Iterator[bytes]:
    """A message's raw bytes, keeping (the start of) its decoded body in ``kept``;
    ``on_end`` runs once the whole message is read, before its last bytes go out (so a
    client that has its answer also finds it recorded)."""
    held = head
    for raw, decoded in body:
        if len(kept) < _MAX_KEPT_BODY:
            kept += decoded[:_MAX_KEPT_BODY - len(kept)]
        yield held
        held = raw
    on_end()
    yield held


def _reset(sock: socket.socket) -> None:
    """Close with an RST instead of a FIN (SO_LINGER on, zero timeout)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class _Chooser:
    """Picks each request's fault: scripted in order, or seeded-random by probability."""

    def __init__(self, faults: Mapping[str, float] | Sequence[str] | None, seed: int) -> None:
        self.lock = threading.Lock()
        self.random = random.Random(seed)
        self.script: list[str] = []
        self.weights: dict[str, float] = {}
        if isinstance(faults, Mapping):
            unknown = set(faults) - set(FAULTS)
            if unknown or sum(faults.values()) > 1 or min(faults.values(), default=0) < 0:
                raise ValueError(f"bad fault probabilities: {dict(faults)}")
            self.weights = dict(faults)
        elif faults is not None:
            unknown = set(faults) - set(FAULTS)
            if unknown:
                raise ValueError(f"unknown faults: {sorted(unknown)}")
            self.script = list(faults)

    def next(self) -> str:
        with self.lock:
            if self.script:
                return self.script.pop(0)
            draw = self.random.random()
            for fault, weight in self.weights.items():
                if draw < weight:
                    return fault
                draw -= weight
            return PASS


class FaultProxy:
    """A proxy on a free loopback port in front of ``upstream`` (a port or a base URL).

    ``faults``: probabilities per fault name, or a script of fault names (see the module
    docstring). ``seed`` seeds the random choice. ``slow_chunk`` bytes are passed every
    ``slow_delay`` seconds for a ``slow`` answer.
    """

    def __init__(self, upstream: int | str, *,
                 faults: Mapping[str, float] | Sequence[str] | None = None, seed: int = 0,
                 slow_delay: float = 0.01, slow_chunk: int = 1) -> None:
        if isinstance(upstream, int):
            self.upstream = ("127.0.0.1", upstream)
        else:
            parts = urlsplit(upstream)
            self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.slow_delay = slow_delay
        self.slow_chunk = slow_chunk
        self._chooser = _Chooser(faults, seed)
        self._seed = seed
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]

    @property
    def url(self) -> str:
        """The proxy's base URL: give it to the client instead of the server's."""
        return f"http://127.0.0.1:{self.port}"

    def set_faults(self, faults: Mapping[str, float] | Sequence[str] | None,
                   seed: int | None = None) -> None:
        """Change what the next requests get (e.g. after a clean login)."""
        self._chooser = _Chooser(faults, self._seed if seed is None else seed)

    @property
    def exchanges(self) -> list[Exchange]:
        """Every request so far, in the order their faults were chosen."""
        with self._lock:
            return list(self._exchanges)

    def counts(self, path: str | None = None) -> Counter[str]:
        """How many requests (to ``path``, when given) got each fault."""
        return Counter(e.fault for e in self.exchanges if path is None or e.path == path)

    # -- running -------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        self._spawn(self._accept_loop, "faultproxy-accept")
        return self

    def close(self) -> None:
        """Stop: close the listener and every connection, wait for the threads."""
        self._stopping.set()
        with self._lock:
            sockets = [self._listener, *self._sockets]
        for sock in sockets:        # wakes the threads blocked in accept() or recv()
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._listener.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _track(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.add(sock)
        if self._stopping.is_set():     # close() may have run just before: do not linger
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        return sock

    def _forget(self, sock: socket.socket | None, *, reset: bool = False) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.discard(sock)
        if reset:
            _reset(sock)
        else:
            sock.close()

    def _record(self, exchange: Exchange) -> None:
        with self._lock:
            self._exchanges.append(exchange)

    def _accept_loop(self) -> None:
        number = 0
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            number += 1
            self._spawn(self._serve, "faultproxy-conn", self._track(client), number)

    # -- one client connection -------------------------------------------------------------

    def _serve(self, client_sock: socket.socket, conn: int) -> None:
        client = _Stream(client_sock, _ClientGone)
        upstream: _Stream | None = None
        reset_client = False
        try:
            while not self._stopping.is_set():
                try:
                    head, lines = _read_head(client)
                    method, path = _request_line(lines[0])
                except _Closed:
                    return
                fault = self._chooser.next()
                if fault == RESET_BEFORE:
                    self._record(Exchange(conn, method, path, fault))
                    reset_client = True
                    return
                try:
                    upstream = self._connected(upstream)
                    keep_open = self._forward(conn, client, upstream, head, lines, fault)
                except _ClientGone:     # while its request was read
                    self._record(Exchange(conn, method, path, fault))
                    return
                except (_Closed, OSError):
                    self._record(Exchange(conn, method, path, UPSTREAM_ERROR))
                    reset_client = True
                    return
                if fault == RESET_AFTER:
                    reset_client = True
                    return
                if fault == BLACKHOLE:
                    self._forget(upstream.sock)
                    upstream = None
                    for _ in client.read_all():     # silence until the client gives up
                        pass
                    return
                if not keep_open:
                    return
        finally:
            if upstream is not None:
                self._forget(upstream.sock)
            self._forget(client_sock, reset=reset_client)

    def _connected(self, upstream: _Stream | None) -> _Stream:
        """``upstream``, or a new connection when there is none or the server closed it."""
        if upstream is not None:
            if self._alive(upstream.sock):
                return upstream
            self._forget(upstream.sock)
        return _Stream(self._track(socket.create_connection(self.upstream)))

    def _forward(self, conn: int, client: _Stream, upstream: _Stream, head: bytes,
                 lines: list[bytes], fault: str) -> bool:
        """Pass one request to the server and deliver its answer as ``fault`` says;
        whether the client's connection may carry another request."""
        method, path = _request_line(lines[0])
        headers = _headers(lines)
        upstream.sock.sendall(head)
        for raw, _ in _body(client, headers, until_close=False):
            upstream.sock.sendall(raw)
        keep_open = self._answer(client.sock, upstream, Exchange(conn, method, path, fault))
        return keep_open and "close" not in headers.get("connection", "").lower()

    @staticmethod
    def _alive(sock: socket.socket) -> bool:
        """Whether an idle upstream connection is still open (the server may have closed
        it after its keep-alive timeout; then the proxy opens a new one, as a client
        would, before anything of the request was sent)."""
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return True
        try:
            return bool(sock.recv(1, socket.MSG_PEEK))
        except OSError:
            return False

    def _answer(self, client: socket.socket, upstream: _Stream, request: Exchange) -> bool:
        """Read the server's answer and deliver it as the request's fault says; whether
        the connection may carry another request."""
        method, fault = request.method, request.fault
        while True:
            head, lines = _read_head(upstream)
            status = int(lines[0].split()[1])
            headers = _headers(lines)
            if 100 <= status < 200:      # an interim answer (100 Continue): pass it on
                if fault in (PASS, SLOW):
                    self._deliver(client, [head], fault)
                continue
            no_body = method == "HEAD" or status in (204, 304)
            until_close = not no_body and "content-length" not in headers and (
                "chunked" not in headers.get("transfer-encoding", "").lower())
            kept = bytearray()
            recorded: list[Exchange] = []

            def record(status: int = status, kept: bytearray = kept,
                       recorded: list[Exchange] = recorded) -> None:
                recorded.append(replace(request, status=status, body=bytes(kept)))
                self._record(recorded[0])

            body = iter(()) if no_body else _body(upstream, headers, until_close)
            try:
                self._deliver(client, _relay(head, body, kept, record), fault)
            except _ClientGone:
                if not recorded:
                    record()
                return False
            return not until_close and "close" not in headers.get("connection", "").lower()

    def _deliver(self, client: socket.socket, pieces: Iterator[bytes] | list[bytes],
                 fault: str) -> None:
        for piece in pieces:
            if fault == PASS:
                self._send(client, piece)
            elif fault == SLOW:
                for start in range(0, len(piece), self.slow_chunk):
                    if self._stopping.wait(self.slow_delay):
                        raise _ClientGone
                    self._send(client, piece[start:start + self.slow_chunk])
            # reset_after and blackhole: read to the end, pass nothing on

    @staticmethod
    def _send(client: socket.socket, data: bytes) -> None:
        try:
            client.sendall(data)
        except OSError as exc:
            raise _ClientGone from exc

