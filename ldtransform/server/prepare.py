"""Reading and checking an import's records in helper processes while the job writes.

Most of a big import's time goes into decoding and checking records, work that needs no
database. A job process hands it to its *preparers*, helper processes that turn the
upload into :class:`~ldtransform.server.items.Plan` chunks, and only applies the plans, in
order. With several preparers each takes every n-th chunk and passes over the others
unread (JSON one element per line, CSV), so on two cores reading and writing run side by
side. A JSON file that is not laid out one element per line is read by one preparer.

Messages: the job sends ``("job", (ImportSource, share))``, then ``("more", None)`` per
chunk it wants; a preparer answers each request with one message: ``("plan", Plan)``,
``("end", None)`` once its records are exhausted (and to any further request),
``("unreadable", message)``, ``("relayout", None)`` when the file stops being one element
per line, or, for a fault of its own, ``("error", message)``.
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
from collections.abc import Generator, Iterator
from dataclasses import dataclass, replace
from itertools import count, islice
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ldtransform.errors import ReadError
from ldtransform.server.items import Plan, TypeContext, load_types, plan_records
from ldtransform.server.sources import (
    LayoutChanged,
    Record,
    TemplateError,
    Wanted,
    csv_records,
    json_records,
    parse_template,
)

__all__ = ["ImportSource", "Preparer", "PreparerGone", "Unreadable", "read_plans"]

#: Requests each preparer keeps open: one chunk in the pipe, one being prepared.
_IN_FLIGHT = 2

#: (which share, of how many): a preparer's part of an import's chunks.
Share = tuple[int, int]


class Unreadable(Exception):
    """The upload cannot be read past some record; the message says why."""


class PreparerGone(Exception):
    """A preparer process ended in the middle of a job."""


class _Relayout(Exception):
    """The file must be read by one preparer from here on."""


@dataclass(frozen=True)
class ImportSource:
    """What a preparer needs to read one import job's records."""

    path: Path
    format: str
    item_type: str
    merge: bool
    template: str | None
    header_row: bool
    cursor: int
    chunk_size: int


def _records(source: ImportSource, types: dict[str, TypeContext],
             wanted: Wanted | None) -> Iterator[Record]:
    if source.format == "json":
        return json_records(source.path, wanted)
    template = parse_template(source.template or "", types[source.item_type].schema)
    return csv_records(source.path, template, header_row=source.header_row, wanted=wanted)


def read_plans(source: ImportSource, types: dict[str, TypeContext],
               share: Share = (0, 1)) -> Generator[Plan, None, None]:
    """The job's records after ``source.cursor``, checked, a chunk at a time.

    With a ``share`` of ``(i, n)``, only chunks ``i``, ``i + n``, ``i + 2n`` … (counted
    from the cursor) are read and given.
    """
    index, parts = share
    cursor, size = source.cursor, source.chunk_size
    wanted = None
    if parts > 1:
        def wanted(number: int) -> bool:
            return number > cursor and (number - 1 - cursor) // size % parts == index
    try:
        records = _records(source, types, wanted)
        if wanted is None:
            for _ in islice(records, cursor):
                pass
        chunk: list[Record] = []
        current = -1
        for record in records:
            at = (record[0] - 1 - cursor) // size
            if at != current and chunk:
                yield plan_records(chunk, item_type=source.item_type, types=types,
                                   merge=source.merge)
                chunk = []
            current = at
            chunk.append(record)
        if chunk:
            yield plan_records(chunk, item_type=source.item_type, types=types,
                               merge=source.merge)
    except (ReadError, UnicodeError, TemplateError, ValueError) as exc:
        raise Unreadable(str(exc)) from exc


class _Helper:
    """One preparer process and the job process's end of its pipe."""

    def __init__(self, schemas_dir: Path | None) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(theirs, schemas_dir),
                                       name="ld-preparer", daemon=True)
        self.process.start()
        theirs.close()
        #: Answers still to come for requests made.
        self.owed = 0

    def begin(self, source: ImportSource, share: Share) -> None:
        self.conn.send(("job", (source, share)))
        for _ in range(_IN_FLIGHT):
            self.request()

    def request(self) -> None:
        self.conn.send(("more", None))
        self.owed += 1

    def answer(self) -> tuple[str, Any]:
        kind, value = self.conn.recv()
        self.owed -= 1
        return kind, value

    def settle(self) -> None:
        """Take the answers still owed and end the job, so the next one starts clean."""
        while self.owed:
            self.answer()
        self.conn.send(("stop", None))

    def close(self) -> None:
        self.conn.close()
        self.process.terminate()
        self.process.join(5)


class Preparer:
    """A job process's preparer processes (started on first use, restarted when gone)."""

    def __init__(self, schemas_dir: Path | None, processes: int = 2) -> None:
        self.schemas_dir = schemas_dir
        self.processes = max(1, processes)
        self._helpers: list[_Helper] = []

    def start(self) -> None:
        """Start the processes now, so the first job does not wait for them."""
        if any(not helper.process.is_alive() for helper in self._helpers):
            self.close()
        while len(self._helpers) < self.processes:
            self._helpers.append(_Helper(self.schemas_dir))

    def close(self) -> None:
        """End the processes (they also end by themselves when this process ends)."""
        for helper in self._helpers:
            helper.close()
        self._helpers = []

    def plans(self, source: ImportSource) -> Generator[Plan, None, None]:
        """The job's plans, as :func:`read_plans` gives them, prepared by the processes."""
        self.start()
        done = [source.cursor]
        try:
            yield from self._shared(source, self._helpers, done)
        except _Relayout:
            yield from self._shared(replace(source, cursor=done[0]), self._helpers[:1], done)

    def _shared(self, source: ImportSource, helpers: list[_Helper],
                done: list[int]) -> Generator[Plan, None, None]:
        """Plans of chunks shared out round robin; ``done`` counts the records given."""
        try:
            for index, helper in enumerate(helpers):
                helper.begin(source, (index, len(helpers)))
            for chunk in count():
                helper = helpers[chunk % len(helpers)]
                kind, value = helper.answer()
                if kind == "end":
                    return
                if kind == "unreadable":
                    raise Unreadable(value)
                if kind == "relayout":
                    raise _Relayout
                if kind == "error":
                    raise RuntimeError(value)
                helper.request()
                done[0] += value.count
                yield value
        except (EOFError, OSError) as exc:
            self.close()
            raise PreparerGone("a process reading the upload ended unexpectedly") from exc
        finally:
            try:
                for helper in helpers:
                    helper.settle()
            except (EOFError, OSError):
                self.close()


def _serve(conn: Connection, schemas_dir: Path | None) -> None:
    """A preparer process: answer requests until the job process goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when to stop
    # Parsed records hold no reference cycles; the cyclic collector only rescans them.
    gc.disable()
    types = load_types(schemas_dir)
    plans: Iterator[Plan] | None = None
    try:
        while True:
            kind, value = conn.recv()
            if kind == "job":
                source, share = value
                plans = read_plans(source, types, share)
            elif kind == "stop":
                plans = None
                gc.collect()
            else:
                conn.send(_next(plans))
    except (EOFError, OSError):
        return


def _next(plans: Iterator[Plan] | None) -> tuple[str, Any]:
    if plans is None:
        return "end", None
    try:
        return "plan", next(plans)
    except StopIteration:
        return "end", None
    except Unreadable as exc:
        return "unreadable", str(exc)
    except LayoutChanged:
        return "relayout", None
    except Exception as exc:  # a fault in the server: the job fails with its description
        return "error", f"{type(exc).__name__}: {exc}"
