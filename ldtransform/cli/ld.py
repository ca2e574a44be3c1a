"""The commands that talk to an LD server: ``login``, ``upload``, ``status``, ``cancel``,
``jobs`` (commands of the CLI: they print).

Credentials come from ``LD_*`` environment variables or a credentials profile; secrets are
never taken from flags, and a missing password is asked for on a terminal.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ldtransform.cli._common import EXIT_INTERRUPTED, EXIT_JOBS, errors_reported, examples
from ldtransform.manifest import MANIFEST

if TYPE_CHECKING:
    from rich.console import Console

    from ldtransform.client import Job, LDClient
    from ldtransform.client.uploader import PartOutcome, UploadReport

__all__ = ["cancel", "jobs", "login", "run_upload", "server_options", "status", "upload",
           "upload_converted", "with_client"]


def server_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--url``, ``--profile``, ``--community``, ``--user``, ``--insecure``: which server
    and who; the password, client secret or token come from ``LD_*`` or the profile."""
    for option in reversed((
        click.option("--url", envvar="LD_URL", help="The LD server (default: $LD_URL or "
                     "the profile's url)."),
        click.option("--profile", help="A profile of ~/.config/ldtransform/credentials.toml."),
        click.option("--community", help="The community to work in (default: the user's "
                     "first)."),
        click.option("--user", "username", help="The LD user (default: $LD_USERNAME)."),
        click.option("--insecure", is_flag=True,
                     help="Allow plain http:// to a host that is not this machine."),
    )):
        command = option(command)
    return command


def open_client(settings: dict[str, Any]) -> LDClient:
    """An :class:`LDClient` from the server options (asking for a missing password on a
    terminal)."""
    from ldtransform.client import Credentials, LDClient

    prompt = _ask_password if sys.stdin.isatty() else None
    credentials = Credentials.resolve(
        settings.pop("profile", None), prompt=prompt, url=settings.pop("url", None),
        community=settings.pop("community", None), username=settings.pop("username", None),
        insecure=settings.pop("insecure", False) or None)
    return LDClient(credentials=credentials)


def _ask_password(text: str) -> str:
    value: str = click.prompt(text.rstrip(": "), hide_input=True, err=True)
    return value


def with_client(command: Callable[..., Any]) -> Callable[..., Any]:
    """Run the command with ``client`` built from its server options, errors as one line."""
    @functools.wraps(command)
    def run(**kwargs: Any) -> Any:
        names = ("url", "profile", "community", "username", "insecure")
        settings = {name: kwargs.pop(name) for name in names}
        with errors_reported(), _interrupted(), open_client(settings) as client:
            return command(client, **kwargs)
    return run


@contextmanager
def _interrupted() -> Iterator[None]:
    try:
        yield
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)


@click.command(short_help="Check the LD credentials: print user and community.",
               epilog=examples("ldtransform login", "ldtransform login --community Demo"))
@server_options
@with_client
def login(client: LDClient) -> None:
    """Log in to the LD server and print who you are and in which community."""
    who = client.whoami()
    click.echo(f"logged in to {client.credentials.url} as {who.get('userId')} "
               f"in community {who.get('community')}")


@click.command(short_help="Print an LD job's status.",
               epilog=examples("ldtransform status samples/accounts.items.json",
                               "ldtransform status samples/accounts.items.json --json"))
@click.argument("job")
@click.option("--json", "as_json", is_flag=True, help="Print the status object as JSON.")
@server_options
@with_client
def status(client: LDClient, job: str, as_json: bool) -> None:
    """Print the status of JOB: a job id, or a file an upload sent (its last job there)."""
    _print_job(client.status(job_id_of(client, job)), as_json)


@click.command(short_help="Cancel an LD job.",
               epilog=examples("ldtransform cancel samples/accounts.items.json",
                               "ldtransform cancel samples/accounts.items.json --json"))
@click.argument("job")
@click.option("--json", "as_json", is_flag=True, help="Print the status object as JSON.")
@server_options
@with_client
def cancel(client: LDClient, job: str, as_json: bool) -> None:
    """Ask the server to cancel JOB (a job id, or a file an upload sent); records already
    imported stay, and a job that has ended is left as it is."""
    _print_job(client.cancel(job_id_of(client, job)), as_json)


def job_id_of(client: LDClient, job: str) -> str:
    """``job`` itself, or when it names a file, the id of the last job an upload made of
    that file's content on this server (from the upload journal)."""
    path = Path(job)
    if not path.is_file():
        return job
    from ldtransform.client.errors import UploadError
    from ldtransform.client.journal import Journal, Part, default_journal_path

    journal_path = default_journal_path(path.parent if (path.parent / MANIFEST).is_file()
                                        else path)
    sha256 = Part.of_file(path, "").sha256
    found = []
    if journal_path.is_file():
        with Journal(journal_path, target=client.credentials.target) as journal:
            found = [e for e in journal.entries() if e.sha256 == sha256 and e.job_id
                     and e.target == client.credentials.target]
    if not found:
        raise UploadError(f"{path}: no upload of this file to {client.credentials.target} "
                          f"is recorded in {journal_path}; give the job id")
    return str(max(found, key=lambda e: e.send_ms or 0).job_id)


def _print_job(job: Job, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(job.raw, indent=2))
        return
    click.echo(f"{job.status}  {job.job_id}  {job.job_name or ''}".rstrip())
    click.echo(f"  {job.records_processed:,} records processed, {job.records_rejected:,} "
               f"rejected, {job.run_time_ms / 1000:.1f} s")
    if job.reason:
        click.echo(f"  {job.reason}")
    for link in job.links:
        click.echo(f"  result: {link}")
    if job.rejection_file:
        click.echo(f"  rejected records: {job.rejection_file}")


@click.command(short_help="Show what uploads sent: parts, job ids, last status.",
               epilog=examples("ldtransform jobs",
                               "ldtransform jobs samples/accounts.items.json"))
@click.argument("target", required=False)
@click.option("--journal", "journal_path", type=click.Path(dir_okay=False),
              help="The journal file (default: the one of TARGET, a conversion's folder, "
                   "else the user's).")
def jobs(target: str | None, journal_path: str | None) -> None:
    """List every part an upload recorded: when it was sent, its job id and last status."""
    from ldtransform.client.journal import Journal, default_journal_path

    with errors_reported():
        path = Path(journal_path) if journal_path else default_journal_path(target or ".")
        if not path.is_file():
            click.echo(f"no uploads recorded yet ({path} does not exist)")
            return
        journal = Journal(path)
        try:
            click.echo(journal.summary())
        finally:
            journal.close()


@click.command(short_help="Upload converted parts to LD; resumable, never twice.",
               epilog=examples("ldtransform upload samples/accounts.items.json --item-type "
                               "Account --wait",
                               "ldtransform upload samples/accounts.items.json --item-type "
                               "Account --merge --key accountId"))
@click.argument("targets", nargs=-1, required=True)
@click.option("--item-type", help="The itemType (required for files; a conversion's "
              "manifest names it).")
@click.option("--merge", is_flag=True, help="Merge into existing items instead of "
              "replacing them.")
@click.option("--wait/--no-wait", default=False, help="Follow every job to its end and exit "
              "non-zero unless all completed with no record rejected.")
@click.option("--template", type=click.Path(exists=True, dir_okay=False),
              help="The LD import template (JSON) for CSV parts.")
@click.option("--key", "keys", multiple=True, help="Primary-key field(s) identifying items "
              "(default: the schema's), used to find a part whose answer was lost.")
@click.option("--journal", "journal_path", type=click.Path(dir_okay=False),
              help="The upload journal (default: beside the manifest, else the user's).")
@click.option("--resend-unknown", is_flag=True, help="Send again parts whose answer was "
              "lost even when LD cannot show yet whether they arrived.")
@click.option("--no-cancel", is_flag=True, help="On Ctrl-C, leave the running jobs running.")
@click.option("--timeout", type=float, help="Stop waiting after this many seconds "
              "(the jobs go on).")
@click.option("--unknown-grace", type=float, default=120.0, show_default=True,
              help="Seconds a lost import may take to show its items before it counts as "
                   "never arrived.")
@server_options
@with_client
def upload(client: LDClient, targets: tuple[str, ...], item_type: str | None, merge: bool,
           wait: bool, template: str | None, keys: tuple[str, ...], journal_path: str | None,
           resend_unknown: bool, no_cancel: bool, timeout: float | None,
           unknown_grace: float) -> None:
    """Upload TARGETS (a conversion's folder or manifest.json, or data files) to LD.

    Every part is recorded in a journal before it is sent, so running the same command
    again resumes: parts already imported are skipped and running jobs are followed.
    """
    report = run_upload(client, list(targets), item_type=item_type, merge=merge, wait=wait,
                        template=template, keys=keys, journal_path=journal_path,
                        resend_unknown=resend_unknown, cancel_on_interrupt=not no_cancel,
                        timeout=timeout, unknown_grace=unknown_grace)
    sys.exit(0 if report.ok else EXIT_JOBS)


def upload_converted(folder: str, section: dict[str, Any], *,
                     quiet: bool = False) -> tuple[list[dict[str, Any]], bool]:
    """``run``'s [upload]: upload a conversion's folder and (by default) wait for its jobs.
    Returns each part's outcome as a dict and whether all went through."""
    settings = {"url": section.get("url"), "profile": section.get("profile"),
                "community": section.get("community"), "username": section.get("user"),
                "insecure": bool(section.get("insecure", False))}
    keys = section.get("key", ())
    with errors_reported(), _interrupted(), open_client(settings) as client:
        report = run_upload(
            client, [folder], merge=bool(section.get("merge", False)),
            wait=bool(section.get("wait", True)), template=section.get("template"),
            keys=(keys,) if isinstance(keys, str) else tuple(keys),
            journal_path=section.get("journal"),
            resend_unknown=bool(section.get("resend_unknown", False)),
            timeout=section.get("timeout"),
            unknown_grace=float(section.get("unknown_grace", 120.0)), quiet=quiet)
    return [_outcome_dict(o) for o in report.outcomes], report.ok


def _outcome_dict(outcome: PartOutcome) -> dict[str, Any]:
    job = outcome.job
    return {"part": outcome.part.path.name, "status": outcome.word,
            "job_id": outcome.entry.job_id if outcome.entry else None,
            "records": job.records_processed if job else None,
            "rejected": job.records_rejected if job else None, "detail": outcome.detail,
            "rejected_records": str(outcome.rejections_file) if outcome.rejections_file
            else None}


def run_upload(client: LDClient, targets: list[str], *, item_type: str | None = None,
               merge: bool = False, wait: bool = True, template: str | None = None,
               keys: tuple[str, ...] = (), journal_path: str | None = None,
               resend_unknown: bool = False, cancel_on_interrupt: bool = True,
               timeout: float | None = None, unknown_grace: float = 120.0,
               console: Console | None = None, quiet: bool = False) -> UploadReport:
    """Upload with progress on the terminal and a line per part; used by ``run`` too."""
    from rich.console import Console

    from ldtransform.client import WaitPolicy
    from ldtransform.client.arrival import ArrivalCheck
    from ldtransform.client.journal import Journal, default_journal_path
    from ldtransform.client.parts import parts_to_upload
    from ldtransform.client.uploader import Uploader

    console = console or Console(stderr=True, highlight=False)
    parts = parts_to_upload(targets, item_type=item_type, merge=merge, template=template,
                            key_fields=keys)
    journal = Journal(journal_path or default_journal_path(targets[0]),
                      target=client.credentials.target)
    try:
        with _UploadProgress(console) as events:
            uploader = Uploader(
                client, journal, wait=wait, policy=WaitPolicy(timeout=timeout),
                arrival=ArrivalCheck(client, grace_ms=int(unknown_grace * 1000)),
                resend_unknown=resend_unknown, cancel_on_interrupt=cancel_on_interrupt,
                events=events)
            report = uploader.run(parts)
    finally:
        journal.close()
    if not quiet:
        for outcome in report.outcomes:
            _print_outcome(outcome)
    return report


def _print_outcome(outcome: PartOutcome) -> None:
    job = f"  job {outcome.entry.job_id}" if outcome.entry and outcome.entry.job_id else ""
    counts = ""
    if outcome.job is not None:
        counts = f"  {outcome.job.records_processed:,} records"
        if outcome.job.records_rejected:
            counts += f", {outcome.job.records_rejected:,} rejected"
    click.echo(f"{outcome.word}  {outcome.part.path.name}{job}{counts}")
    if outcome.detail and outcome.word != "Completed":
        click.echo(f"  {outcome.detail}")
    for record in outcome.rejections[:20]:
        why = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in record.errors) \
            or record.message or ""
        click.echo(f"  rejected: {record.where()}: {why}")
    if len(outcome.rejections) > 20:
        click.echo(f"  ... and {len(outcome.rejections) - 20:,} more")
    if outcome.rejections_file:
        click.echo(f"  rejected records: {outcome.rejections_file}")


class _UploadProgress:
    """Bars on a terminal: bytes uploaded per part, then the job's records processed."""

    def __init__(self, console: Console) -> None:
        from ldtransform.client.uploader import UploadEvents

        self.console = console
        self.bar: Any = None
        self.tasks: dict[Path, Any] = {}
        outer = self

        class Events(UploadEvents):
            def bytes_sent(self, part: Any, sent: int, total: int | None) -> None:
                size = f" of {total / 1e6:,.1f}" if total else ""
                outer._update(part, sent, total, f"uploading {sent / 1e6:,.1f}{size} MB")

            def job(self, part: Any, job: Job) -> None:
                of = f" of {part.records:,}" if part.records is not None else ""
                outer._update(part, job.records_processed, part.records,
                              f"{job.status}: {job.records_processed:,}{of} records")

            def note(self, text: str) -> None:
                outer.console.print(text, highlight=False, markup=False)

        self.events = Events()

    def __enter__(self) -> Any:
        if self.console.is_terminal:
            from rich import progress as bars

            self.bar = bars.Progress(bars.TextColumn("{task.description}"), bars.BarColumn(),
                                     bars.TextColumn("{task.fields[what]}"),
                                     console=self.console, transient=True)
            self.bar.__enter__()
        return self.events

    def _update(self, part: Any, done: int, total: int | None, what: str) -> None:
        if self.bar is None:
            return
        if part.path not in self.tasks:
            self.tasks[part.path] = self.bar.add_task(part.path.name, total=total, what=what)
        self.bar.update(self.tasks[part.path], completed=done, total=total, what=what)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)
