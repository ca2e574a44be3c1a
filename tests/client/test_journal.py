"""The upload journal: states, identity of parts, crashes and competing runs."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ldtransform.client.journal import (
    JOURNAL_NAME,
    Journal,
    JournalConflict,
    Part,
    PartState,
    default_journal_path,
)
from ldtransform.errors import LdTransformError
from ldtransform.ld import JobStatus

#: Processes start fresh (the test run may hold threads, which fork would copy badly).
SPAWN = multiprocessing.get_context("spawn")


class Clock:
    """Epoch milliseconds that move only when a test says so."""

    def __init__(self, now: int = 1_700_000_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@dataclass(frozen=True)
class Job:
    status: str
    records_processed: int = 0
    records_rejected: int = 0
    reason: str | None = None


def write_part(path: Path, keys: list[str]) -> Path:
    path.write_text(json.dumps([{"data": {"accountId": k}} for k in keys]))
    return path


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def journal(tmp_path: Path, clock: Clock) -> Any:
    with Journal(tmp_path / JOURNAL_NAME, clock=clock) as journal:
        yield journal


def test_a_part_is_its_content_item_type_and_merge_flag(tmp_path: Path,
                                                        journal: Journal) -> None:
    first = write_part(tmp_path / "accounts-0001.json", ["A1", "A2"])
    part = Part.of_file(first, "Account")
    entry = journal.plan(part)
    assert (entry.state, entry.size, entry.path) == (
        PartState.PLANNED, first.stat().st_size, str(first))
    assert entry.job_name == f"accounts-0001-{part.sha256[:12]}"

    renamed = first.rename(tmp_path / "renamed.json")
    again = journal.plan(Part.of_file(renamed, "Account"))
    assert (again.id, again.job_name, again.path) == (entry.id, entry.job_name, str(renamed))

    merged = journal.plan(Part.of_file(renamed, "Account", merge=True))
    other_type = journal.plan(Part.of_file(renamed, "Attendee"))
    other_content = journal.plan(
        Part.of_file(write_part(tmp_path / "b.json", ["A1", "A3"]), "Account"))
    assert len({entry.id, merged.id, other_type.id, other_content.id}) == 4
    assert journal.find(part.sha256, "Account", False) == again
    assert journal.find(part.sha256, "Account", True) == merged
    assert journal.find("0" * 64, "Account", False) is None


def test_a_part_goes_from_planned_to_finished(tmp_path: Path, journal: Journal,
                                              clock: Clock) -> None:
    entry = journal.plan(Part.of_file(write_part(tmp_path / "p.json", ["A1"]), "Account"))
    clock.now += 1000
    sending = journal.sending(entry, "p-job")
    assert (sending.state, sending.job_name, sending.send_ms, sending.attempts) == (
        PartState.SENDING, "p-job", clock.now, 1)
    assert journal.get(entry).state is PartState.SENDING     # committed before the request

    clock.now += 50
    sent = journal.sent(sending, "job-1", JobStatus.ACCEPTED)
    assert (sent.state, sent.job_id, sent.status, sent.answered_ms) == (
        PartState.SENT, "job-1", "Accepted", clock.now)
    running = journal.update_status(sent, Job(JobStatus.PROCESSING, 10))
    assert (running.state, running.status, running.records_processed) == (
        PartState.SENT, "Processing", 10)
    assert not running.completed

    done = journal.update_status(running, Job(JobStatus.COMPLETED, 20, 1, "1 rejected"))
    assert (done.state, done.status, done.records_processed, done.records_rejected,
            done.reason) == (PartState.FINISHED, "Completed", 20, 1, "1 rejected")
    assert done.completed
    # a poll that read the job before it ended does not undo the end
    assert journal.update_status(done, Job(JobStatus.PROCESSING, 15)).status == "Completed"
    with pytest.raises(JournalConflict, match="finished as job job-1"):
        journal.sending(journal.get(done))


def test_an_unknown_send_is_resolved_before_it_is_sent_again(tmp_path: Path,
                                                             journal: Journal,
                                                             clock: Clock) -> None:
    entry = journal.plan(Part.of_file(write_part(tmp_path / "p.json", ["A1"]), "Account"))
    sending = journal.sending(entry, now_ms=123)
    clock.now += 5000
    unknown = journal.unknown(sending)
    assert (unknown.state, unknown.job_id, unknown.send_ms) == (PartState.UNKNOWN, None, 123)

    never = journal.resolve(unknown, arrived=False)
    assert never.state is PartState.PLANNED
    second = journal.sending(never)
    assert (second.attempts, second.send_ms) == (2, clock.now)
    with pytest.raises(JournalConflict):          # only the run that claimed it answers
        journal.resolve(second, arrived=True)

    arrived = journal.resolve(journal.unknown(second), arrived=True)
    assert arrived.state is PartState.ARRIVED and arrived.completed
    with pytest.raises(JournalConflict):
        journal.sending(arrived)


def test_a_canceled_part_may_be_sent_again(tmp_path: Path, journal: Journal) -> None:
    entry = journal.plan(Part.of_file(write_part(tmp_path / "p.json", ["A1"]), "Account"))
    with pytest.raises(JournalConflict, match="no job"):
        journal.update_status(entry, Job(JobStatus.COMPLETED))
    sent = journal.sent(journal.sending(entry), "job-1")
    canceled = journal.canceled(sent)
    assert canceled.state is PartState.CANCELED
    ended = journal.update_status(canceled, Job(JobStatus.CANCELED, 3, 0, "canceled"))
    assert (ended.state, ended.status, ended.completed) == (
        PartState.FINISHED, "Canceled", False)
    again = journal.sending(ended)
    assert (again.state, again.job_id, again.status, again.attempts) == (
        PartState.SENDING, None, None, 2)


def test_a_stale_entry_cannot_claim_a_part(tmp_path: Path, clock: Clock) -> None:
    part = Part.of_file(write_part(tmp_path / "p.json", ["A1"]), "Account")
    with Journal(tmp_path / "j.sqlite3", clock=clock) as first, \
            Journal(tmp_path / "j.sqlite3", clock=clock) as second:
        seen_by_first, seen_by_second = first.plan(part), second.plan(part)
        first.sending(seen_by_first)
        with pytest.raises(JournalConflict, match="another upload"):
            second.sending(seen_by_second)
        fresh = second.find(part.sha256, "Account", False)
        assert fresh is not None and fresh.state is PartState.SENDING   # its owner lives
        with pytest.raises(JournalConflict, match="is sending"):
            second.sending(fresh)
        with pytest.raises(JournalConflict, match="not being sent by this run"):
            second.sent(fresh, "job-x")


def test_closing_leaves_its_own_sends_unknown(tmp_path: Path, clock: Clock) -> None:
    part = Part.of_file(write_part(tmp_path / "p.json", ["A1"]), "Account")
    with Journal(tmp_path / "j.sqlite3", clock=clock) as journal:
        journal.sending(journal.plan(part))
    with Journal(tmp_path / "j.sqlite3", clock=clock) as journal:
        [entry] = journal.entries()
        assert (entry.state, entry.owner) == (PartState.UNKNOWN, None)


def claim_and_crash(path: str, part: Part, ready: Any, how: str) -> None:
    """In a child process: claim the part, then die without closing the journal."""
    journal = Journal(path)
    journal.sending(journal.plan(part), now_ms=42)
    if how == "exit":
        os._exit(0)
    ready.set()
    signal.pause()


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_a_send_cut_off_by_a_crash_is_unknown(tmp_path: Path, how: str) -> None:
    path = str(tmp_path / "j.sqlite3")
    part = Part.of_file(write_part(tmp_path / "p.json", ["A1"]), "Account")
    ready = SPAWN.Event()
    child = SPAWN.Process(target=claim_and_crash, args=(path, part, ready, how))
    child.start()
    if how == "kill":
        assert ready.wait(60)
        with Journal(path) as watching:          # a run that looks while the other lives
            [entry] = watching.entries()
            assert entry.state is PartState.SENDING
            os.kill(child.pid or 0, signal.SIGKILL)
            child.join(30)
            [entry] = watching.entries()          # ... and after it was killed
            assert (entry.state, entry.send_ms, entry.job_id) == (
                PartState.UNKNOWN, 42, None)
    child.join(30)
    with Journal(path) as reopened:
        [entry] = reopened.entries()
        assert (entry.state, entry.send_ms, entry.attempts) == (PartState.UNKNOWN, 42, 1)
        assert reopened.sending(entry).attempts == 2     # resendable, once resolved
    assert not list((tmp_path / "j.sqlite3-owners").iterdir())


def claim_all(path: str, barrier: Any, results: Any) -> None:
    """In a child process: read every part, wait for the rival, then claim them all."""
    with Journal(path) as journal:
        seen = journal.entries()
        barrier.wait(60)
        won = []
        for entry in seen:
            try:
                claimed = journal.sending(entry)
            except JournalConflict:
                continue
            journal.sent(claimed, f"job-{os.getpid()}-{entry.id}")
            won.append(entry.id)
        results.put(won)


def test_two_runs_never_both_send_a_part(tmp_path: Path) -> None:
    path = str(tmp_path / "j.sqlite3")
    with Journal(path) as journal:
        ids = {journal.plan(Part(tmp_path / f"p{n}.json", f"{n:064x}", n, "Account")).id
               for n in range(40)}
    barrier, results = SPAWN.Barrier(2), SPAWN.Queue()
    runs = [SPAWN.Process(target=claim_all, args=(path, barrier, results)) for _ in range(2)]
    for run in runs:
        run.start()
    won = [set(results.get(timeout=120)) for _ in runs]
    for run in runs:
        run.join(30)
        assert run.exitcode == 0
    assert won[0] | won[1] == ids and not won[0] & won[1]
    with Journal(path) as journal:
        entries = journal.entries()
    assert {(e.state, e.attempts) for e in entries} == {(PartState.SENT, 1)}


def test_where_the_journal_lives(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "manifest.json").write_text("{}")
    assert default_journal_path(folder / "manifest.json") == folder / JOURNAL_NAME
    assert default_journal_path(folder) == folder / JOURNAL_NAME
    loose = tmp_path / "loose.json"
    assert default_journal_path(loose, environ={"XDG_STATE_HOME": str(tmp_path / "s")}) == (
        tmp_path / "s" / "ldtransform" / "journal.sqlite3")
    assert default_journal_path(loose, environ={"HOME": str(tmp_path)}) == (
        tmp_path / ".local" / "state" / "ldtransform" / "journal.sqlite3")


def test_summary_says_what_was_sent_when(tmp_path: Path, journal: Journal,
                                        clock: Clock) -> None:
    sent = journal.plan(Part.of_file(write_part(tmp_path / "a.json", ["A1"]), "Account"))
    journal.plan(Part.of_file(write_part(tmp_path / "b.json", ["A2"]), "Account", merge=True))
    clock.now = 1_700_000_000_000          # 2023-11-14 22:13:20 UTC
    done = journal.sent(journal.sending(sent), "4b2f-job")
    journal.update_status(done, Job(JobStatus.COMPLETED, 1))
    header, first, second = journal.summary().splitlines()
    assert header.split() == ["part", "server", "items", "state", "sent", "(UTC)", "job",
                              "id", "status", "processed", "rejected"]
    assert first.split() == ["a.json", "-", "Account", "finished", "2023-11-14", "22:13:20",
                             "4b2f-job", "Completed", "1", "0"]
    assert second.split() == ["b.json", "-", "Account", "merge", "planned", "-", "-", "-",
                              "-", "-"]


def test_a_part_sent_to_two_servers_is_two_parts(tmp_path: Path, clock: Clock) -> None:
    part = Part.of_file(write_part(tmp_path / "a.json", ["A1"]), "Account")
    path = tmp_path / JOURNAL_NAME
    with Journal(path, target="https://qa#Demo", clock=clock) as qa:
        done = qa.sent(qa.sending(qa.plan(part)), "qa-job")
        qa.update_status(done, Job(JobStatus.COMPLETED, 1))
        assert qa.find(part.sha256, "Account", False).completed
    with Journal(path, target="https://prod#Demo", clock=clock) as prod:
        assert prod.find(part.sha256, "Account", False) is None
        assert prod.plan(part).state is PartState.PLANNED
        assert [e.target for e in prod.entries()] == ["https://qa#Demo", "https://prod#Demo"]


def test_a_journal_of_another_layout_is_refused_with_what_to_do(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / JOURNAL_NAME
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE parts (id INTEGER PRIMARY KEY, sha256 TEXT)")
    with pytest.raises(LdTransformError, match=r"another layout .* move it aside"):
        Journal(path)
