"""Upload parts to LD so that none is imported twice and none is lost.

Every part goes through the :class:`~ldtransform.client.journal.Journal`, which is written
*before* a request leaves. Running the same upload again therefore resumes:

- a part whose job completed (or that the server showed had arrived) is skipped;
- a part whose job was still running is followed by its job id, not sent again;
- a part whose answer was lost (no job id) is looked for on the server first
  (:mod:`~ldtransform.client.arrival`) and sent again only when it never arrived; while
  that cannot be told yet it is reported as unresolved, for the next run to settle
  (``resend_unknown=True`` is the user's explicit override);
- everything else (new, canceled, failed, rejected) is sent.

Ctrl-C cancels the jobs this run is following (unless ``cancel_on_interrupt=False``),
records that in the journal and lets the ``KeyboardInterrupt`` through.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ldtransform.client.arrival import Arrival, ArrivalCheck, wait_for_decision
from ldtransform.client.errors import (
    AuthError,
    ClientError,
    CredentialsError,
    TransportError,
    UploadOutcomeUnknown,
)
from ldtransform.client.jobs import DEFAULT_WAIT, Job, Waiting, WaitPolicy
from ldtransform.client.journal import Entry, Journal, JournalConflict, PartState
from ldtransform.client.parts import UploadPart
from ldtransform.client.rejections import RejectedRecord, map_rejections, write_rejections
from ldtransform.client.sync import LDClient
from ldtransform.ld import JobStatus

__all__ = ["PartOutcome", "UploadEvents", "UploadReport", "Uploader"]

#: Outcome words besides the job statuses.
SKIPPED = "Skipped"          # already imported by an earlier run
ARRIVED = "Arrived"          # an earlier lost answer: the server shows the part arrived
SUBMITTED = "Submitted"      # sent (or followed) without waiting for the job to end
UNRESOLVED = "Unresolved"    # the answer was lost and the server cannot tell yet
BUSY = "Busy"                # another upload is sending this part right now
NOT_SENT = "NotSent"         # the server refused the request itself (HTTP error)
_GOOD = {JobStatus.COMPLETED.value, SKIPPED, ARRIVED}
#: A part whose answers keep getting lost is left for the next run after this many sends.
MAX_SENDS_PER_RUN = 3


@dataclass
class PartOutcome:
    """How one part ended in this run."""

    part: UploadPart
    word: str
    entry: Entry | None = None
    job: Job | None = None
    detail: str = ""
    rejections: list[RejectedRecord] = field(default_factory=list)
    rejections_file: Path | None = None

    @property
    def records_rejected(self) -> int:
        """Records LD rejected, as the part's job (or, for a skipped part, the journal)
        counted them."""
        if self.job is not None:
            return self.job.records_rejected
        return (self.entry.records_rejected or 0) if self.entry is not None else 0


@dataclass
class UploadReport:
    """Every part's outcome, in the order the parts were given."""

    outcomes: list[PartOutcome] = field(default_factory=list)
    waited: bool = True

    @property
    def ok(self) -> bool:
        """All parts completed without a rejected record (or, without waiting, were
        handed to LD)."""
        good = _GOOD if self.waited else _GOOD | {SUBMITTED}
        return all(o.word in good and not o.records_rejected for o in self.outcomes)


class UploadEvents:
    """What an upload reports while it runs (the CLI draws progress bars from it)."""

    def sending(self, part: UploadPart) -> None:
        """A part's upload starts."""

    def bytes_sent(self, part: UploadPart, sent: int, total: int | None) -> None:
        """Bytes of the part's file sent so far (of ``total``, when known)."""

    def job(self, part: UploadPart, job: Job) -> None:
        """A status of the part's job (``recordsProcessed`` grows while it runs)."""

    def done(self, outcome: PartOutcome) -> None:
        """A part ended in this run."""

    def note(self, text: str) -> None:
        """Something worth a line: a part looked for, skipped, canceled."""


@dataclass
class _Following:
    part: UploadPart
    entry: Entry
    job: Job | None
    waiting: Waiting
    due: float = 0.0


class Uploader:
    """Uploads parts through ``client`` with ``journal``; see the module docstring.

    ``wait``: follow every job to its end (else return once each part is handed over).
    ``rejections_dir``: where rejection files go (default: beside each part).
    """

    def __init__(self, client: LDClient, journal: Journal, *, wait: bool = True,
                 policy: WaitPolicy = DEFAULT_WAIT, arrival: ArrivalCheck | None = None,
                 resend_unknown: bool = False, cancel_on_interrupt: bool = True,
                 events: UploadEvents | None = None,
                 rejections_dir: str | Path | None = None,
                 sleep: Callable[[float], object] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.journal = journal
        self.wait = wait
        self.policy = policy
        self.arrival = arrival or ArrivalCheck(client)
        self.resend_unknown = resend_unknown
        self.cancel_on_interrupt = cancel_on_interrupt
        self.events = events or UploadEvents()
        self.rejections_dir = Path(rejections_dir) if rejections_dir else None
        self._sleep = sleep
        self._monotonic = monotonic
        self._following: list[_Following] = []
        self._unknown: list[tuple[UploadPart, Entry]] = []
        self._sending: Entry | None = None
        self._outcomes: dict[Path, PartOutcome] = {}
        self._resent: list[Path] = []

    def run(self, parts: Sequence[UploadPart]) -> UploadReport:
        """Send, resolve and (with ``wait``) follow every part; see the module docstring."""
        try:
            for part in parts:
                self._start(part)
            while self._unknown:
                self._resolve(*self._unknown.pop(0))
            if self.wait:
                self._follow_all()
            else:
                for following in list(self._following):   # _finish removes it
                    self._finish(following, SUBMITTED)
        except KeyboardInterrupt:
            self._interrupted()
            raise
        return UploadReport([self._outcomes[p.path] for p in parts], waited=self.wait)

    # -- one part ----------------------------------------------------------------------

    def _start(self, part: UploadPart) -> None:
        entry = self.journal.plan(part.part)
        if entry.completed:
            self._outcome(PartOutcome(part, SKIPPED, entry, detail=_earlier(entry)))
        elif entry.state is PartState.SENT and entry.job_id:
            self.events.note(f"{part.path.name}: following job {entry.job_id} "
                             "sent by an earlier run")
            self._follow(part, entry, None)
        elif entry.state is PartState.SENDING:
            self._outcome(PartOutcome(part, BUSY, entry,
                                      detail="another upload is sending it right now"))
        elif entry.state is PartState.UNKNOWN:
            self._unknown.append((part, entry))
        else:
            self._send(part, entry)

    def _send(self, part: UploadPart, entry: Entry) -> None:
        try:
            entry = self.journal.sending(entry)
        except JournalConflict as exc:
            self._outcome(PartOutcome(part, BUSY, exc.entry, detail=str(exc)))
            return
        self._sending = entry
        self.events.sending(part)
        try:
            job = self.client.import_file(
                part.path, part.part.item_type, job_name=entry.job_name,
                content_type=part.content_type, template=part.template,
                merge=part.part.merge,
                progress=lambda sent, total: self.events.bytes_sent(part, sent, total))
        except UploadOutcomeUnknown as exc:
            entry = self.journal.unknown(entry)
            self.events.note(f"{part.path.name}: {exc}; looking whether it arrived")
            self._unknown.append((part, entry))
            return
        except (AuthError, CredentialsError):
            raise
        except TransportError:   # the import never left (else: unknown), nor will the next
            self.journal.resolve(self.journal.unknown(entry), arrived=False)
            raise
        except ClientError as exc:  # the server answered: no job was made
            entry = self.journal.resolve(self.journal.unknown(entry), arrived=False)
            self._outcome(PartOutcome(part, NOT_SENT, entry, detail=str(exc)))
            return
        finally:
            self._sending = None
        entry = self.journal.sent(entry, job.job_id, str(job.status))
        self._follow(part, entry, job)

    def _resolve(self, part: UploadPart, entry: Entry) -> None:
        if not part.key_fields:
            answer = Arrival.UNDECIDED
        else:
            expected = part.fingerprints()
            sent = entry.send_ms or 0
            answer = wait_for_decision(
                lambda: self.arrival.check(part.part.item_type, part.key_fields, expected,
                                           sent, self.journal.clock()),
                deadline_ms=sent + self.arrival.grace_ms, clock=self.journal.clock,
                sleep=self._sleep)
        if answer is Arrival.ARRIVED:
            entry = self.journal.resolve(entry, arrived=True)
            self._outcome(PartOutcome(part, ARRIVED, entry,
                                      detail="its answer was lost, but its items are in LD"))
        elif (answer is Arrival.NEVER or self.resend_unknown) and \
                self._resent.count(part.path) < MAX_SENDS_PER_RUN:
            entry = self.journal.resolve(entry, arrived=False)
            why = "never arrived" if answer is Arrival.NEVER else "--resend-unknown"
            self.events.note(f"{part.path.name}: sending again ({why})")
            self._resent.append(part.path)
            self._send(part, entry)
        else:
            self._outcome(_unresolved(part, entry))

    # -- following jobs ------------------------------------------------------------------

    def _follow(self, part: UploadPart, entry: Entry, job: Job | None) -> None:
        self._following.append(_Following(part, entry, job, Waiting(self.policy)))

    def _follow_all(self) -> None:
        while self._following:
            now = self._monotonic()
            ready = [f for f in self._following if f.due <= now]
            if not ready:
                self._sleep(min(f.due for f in self._following) - now)
                continue
            for following in ready:
                self._poll(following)

    def _poll(self, following: _Following) -> None:
        assert following.entry.job_id is not None
        try:
            job = self.client.status(following.entry.job_id)
        except ClientError as exc:
            following.due = self._monotonic() + following.waiting.failed(exc)
            return
        following.job = job
        self.events.job(following.part, job)
        following.entry = self.journal.update_status(following.entry, job)
        pause = following.waiting.seen(job)
        if pause is None:
            self._finish(following, str(job.status))
        else:
            following.due = self._monotonic() + pause

    def _finish(self, following: _Following, word: str) -> None:
        self._following.remove(following)
        outcome = PartOutcome(following.part, word, following.entry, following.job,
                              detail=(following.job.reason or "") if following.job else "")
        job = following.job
        if job is not None and job.records_rejected and job.rejection_file:
            part = following.part
            folder = self.rejections_dir or _quarantine_folder(part)
            downloaded = self.client.download_rejections(job, folder)
            if downloaded is not None:
                outcome.rejections = map_rejections(downloaded, part)
                outcome.rejections_file = write_rejections(
                    outcome.rejections, folder / f"{part.path.stem}.ld-rejected.csv")
        self._outcome(outcome)

    def _outcome(self, outcome: PartOutcome) -> None:
        self._outcomes[outcome.part.path] = outcome
        self.events.done(outcome)

    # -- Ctrl-C --------------------------------------------------------------------------

    def _interrupted(self) -> None:
        if self._sending is not None:
            with contextlib.suppress(JournalConflict):
                self.journal.unknown(self._sending)
        for following in self._following:
            job_id = following.entry.job_id
            if not self.cancel_on_interrupt or job_id is None:
                continue
            with contextlib.suppress(ClientError):
                self.client.cancel(job_id)
                self.events.note(f"{following.part.path.name}: job {job_id} canceled")
            self.journal.canceled(following.entry)


def _unresolved(part: UploadPart, entry: Entry) -> PartOutcome:
    why = ("no primary key is known to look for its items (give --key)" if not
           part.key_fields else "LD does not show yet whether it arrived")
    return PartOutcome(part, UNRESOLVED, entry,
                       detail=f"its answer was lost and {why}; run the upload again to "
                              "settle it, or pass --resend-unknown to send it anyway")


def _quarantine_folder(part: UploadPart) -> Path:
    """Where the conversion put its rejected rows (else beside the part)."""
    manifest = part.manifest
    if manifest is not None and manifest.rejected:
        first = Path(manifest.rejected[0].file)
        if first.is_absolute():
            return first.parent
    return part.path.parent


def _earlier(entry: Entry) -> str:
    if entry.state is PartState.ARRIVED:
        return "already in LD (found after a lost answer)"
    return f"already imported as job {entry.job_id}"
