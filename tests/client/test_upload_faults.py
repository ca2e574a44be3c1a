"""Uploads never lose a part and never import one twice: under faults on every request,
under the server's injected errors, and when ``ldtransform upload`` is killed at random.

Each scenario ends with the same three figures, read through a clean connection: every
item sent is in LD (0 lost), with the data that was sent (0 wrong), at revision 1 (0
imported twice). Canary secrets are looked for in every output, message, repr and file.
"""

from __future__ import annotations

import contextlib
import csv
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    CANARY_PW,
    CANARY_SECRET,
    SCHEMAS,
    account,
    canary_credentials,
    server_config,
    write_items,
)
from faultproxy import FaultProxy

from ldtransform import ld
from ldtransform.client import LDClient, RetryPolicy, Timeouts, WaitPolicy
from ldtransform.client.arrival import ArrivalCheck
from ldtransform.client.journal import JOURNAL_NAME, Journal, PartState
from ldtransform.client.parts import parts_to_upload
from ldtransform.client.uploader import Uploader, UploadReport
from ldtransform.server import running

ROOT = Path(__file__).resolve().parents[2]
#: A blackholed request ends after 2 s of silence; no request outlives 10 s.
TIMEOUTS = Timeouts(connect=1, read=2, deadline=10)
RETRY = RetryPolicy(attempts=6, base=0.05, cap=0.5, budget=10)
WAIT = WaitPolicy(interval=0.1, cap=0.5, timeout=60)
#: 30 % of requests faulted, of every kind the proxy knows.
FAULT_MIX = {"reset_before": 0.08, "reset_after": 0.10, "blackhole": 0.04, "slow": 0.08}
MAX_RUNS = 8
#: Uploads running at once in the fault test.
UPLOADERS = 10


def _key(n: int) -> str:
    return f"A{n:06d}"


def _in_ld(client: LDClient) -> dict[str, tuple[dict[str, Any], str]]:
    """Every Account in LD: its data and revisionId, by accountId."""
    found: dict[str, tuple[dict[str, Any], str]] = {}
    for page in client.updates("Account", max=1000):
        for item in page.items:
            found[item["data"]["accountId"]] = (item["data"],
                                                str(item["headers"]["revisionId"]))
    return found


def _figures(url: str, sent: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Lost, wrong and imported-twice items among ``sent`` (data by accountId)."""
    with LDClient(credentials=canary_credentials(url)) as client:
        stored = _in_ld(client)
    lost = [key for key in sent if key not in stored]
    wrong = [key for key, data in sent.items()
             if key in stored and {k: stored[key][0].get(k) for k in data} != data]
    twice = [key for key in sent if key in stored and stored[key][1] != "1"]
    return {"sent": len(sent), "lost": len(lost), "wrong": len(wrong), "twice": len(twice)}


def _upload_until_ok(client: LDClient, journal: Journal, path: Path,
                     grace_ms: int = 1000) -> tuple[int, Counter[str]]:
    """Run the upload of ``path`` until it reports ok: the runs it took and the words
    each part ended with along the way."""
    parts = parts_to_upload([path], item_type="Account", key_fields=("accountId",))
    words: Counter[str] = Counter()
    for run in range(1, MAX_RUNS + 1):
        report: UploadReport = Uploader(
            client, journal, policy=WAIT, sleep=time.sleep,
            arrival=ArrivalCheck(client, grace_ms=grace_ms)).run(parts)
        words.update(o.word for o in report.outcomes)
        if report.ok:
            return run, words
        assert {o.word for o in report.outcomes} <= {"Unresolved"}, report.outcomes
    raise AssertionError(f"{path.name}: not uploaded after {MAX_RUNS} runs: {words}")


def test_faults_on_a_third_of_requests_lose_nothing_and_import_nothing_twice(
        tmp_path: Path) -> None:
    """50 uploads of 4 items each through a proxy faulting 30 % of all requests."""
    sent: dict[str, dict[str, Any]] = {}
    files = []
    for i in range(50):
        items = [account(4 * i + k, name=f"Account {i}/{k}") for k in range(4)]
        sent.update({item["data"]["accountId"]: item["data"] for item in items})
        files.append(write_items(tmp_path / f"part-{i:02d}.json", items))
    runs: Counter[int] = Counter()
    words: Counter[str] = Counter()
    # ten clients logging in at once count as failures until each login is checked
    config = server_config(auth={"max_failures": 0})
    with running(data_dir=tmp_path / "ld", schemas=SCHEMAS, config=config) as url, \
            FaultProxy(url, faults=FAULT_MIX, seed=12, slow_chunk=16) as proxy, \
            Journal(tmp_path / "journal.sqlite3") as journal:

        def upload(paths: list[Path]) -> None:
            # uploads run side by side (most of their time is spent waiting)
            with LDClient(credentials=canary_credentials(proxy.url), timeout=TIMEOUTS,
                          retry=RETRY) as client:
                for path in paths:
                    needed, seen = _upload_until_ok(client, journal, path)
                    runs[needed] += 1
                    words.update(seen)

        with ThreadPoolExecutor(UPLOADERS) as pool:
            for done in [pool.submit(upload, files[i::UPLOADERS]) for i in range(UPLOADERS)]:
                done.result()
        faults = proxy.counts()
        imports = proxy.counts(ld.IMPORT)
        print(f"\nfaults by kind {dict(faults)}; on imports {dict(imports)}; "
              f"runs needed {dict(runs)}; outcomes {dict(words)}")
        assert sum(faults.values()) - faults["pass"] >= 0.2 * sum(faults.values())
        # the faults that make an import's outcome unknown did hit imports
        assert imports["reset_after"] and imports["reset_before"]
        assert words["Arrived"], "no lost answer was found on the server"
        assert _figures(url, sent) == {"sent": 200, "lost": 0, "wrong": 0, "twice": 0}
        assert all(e.attempts <= MAX_RUNS for e in journal.entries())


def test_the_servers_injected_errors_are_waited_out(tmp_path: Path) -> None:
    """503 on imports and 429 on status polls, both with Retry-After."""
    faults = [
        {"route": ld.IMPORT, "status": 503, "retry_after": 0.2, "probability": 0.4},
        {"route": ld.STATUS + "*", "status": 429, "retry_after": 0.2, "probability": 0.3},
    ]
    config = server_config(faults=faults, processing={"fault_seed": 7})
    sent: dict[str, dict[str, Any]] = {}
    files = []
    for i in range(12):
        items = [account(1000 + 4 * i + k) for k in range(4)]
        sent.update({item["data"]["accountId"]: item["data"] for item in items})
        files.append(write_items(tmp_path / f"part-{i:02d}.json", items))
    with running(data_dir=tmp_path / "ld", schemas=SCHEMAS, config=config) as url, \
            FaultProxy(url) as proxy, \
            LDClient(credentials=canary_credentials(proxy.url), timeout=TIMEOUTS,
                     retry=RETRY) as client, \
            Journal(tmp_path / "journal.sqlite3") as journal:
        for path in files:
            assert _upload_until_ok(client, journal, path)[0] == 1
        answered = Counter(("status" if e.path.startswith(ld.STATUS) else e.path, e.status)
                           for e in proxy.exchanges)
        print(f"\nanswers {dict(answered)}")
        assert answered[(ld.IMPORT, 503)] and answered[("status", 429)]
        assert answered[(ld.IMPORT, 200)] == len(files)
        assert _figures(url, sent) == {"sent": 48, "lost": 0, "wrong": 0, "twice": 0}


def _cli_env(tmp_path: Path, url: str, password: str = CANARY_PW) -> dict[str, str]:
    """The environment of an ``ldtransform`` process: canary credentials, a home of its
    own (no profile, a state folder inside the test's folder)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT),
            "HOME": str(home), "XDG_STATE_HOME": str(home / "state"),
            "LD_URL": url, "LD_USERNAME": "canary", "LD_PASSWORD": password,
            "LD_CLIENT_ID": "tool", "LD_CLIENT_SECRET": CANARY_SECRET,
            "LD_COMMUNITY": "Demo"}


def _ldtransform(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "ldtransform", *map(str, args)]


def _converted_accounts(tmp_path: Path, count: int, per_part: int,
                        first: int = 0) -> tuple[Path, dict[str, Any]]:
    """A conversion's folder of ``count`` accounts (from number ``first``) in parts of
    ``per_part``, and the data of each account by accountId."""
    from ldtransform import convert

    tmp_path.mkdir(exist_ok=True)
    source = tmp_path / "accounts.csv"
    sent = {_key(n): {"accountId": _key(n), "name": f"Account {n}",
                      "accountClass": "/Account/accountClass[invoiced]",
                      "currency": ("USD", "CAD", "EUR")[n % 3]}
            for n in range(first, first + count)}
    with open(source, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(next(iter(sent.values()))))
        writer.writeheader()
        writer.writerows(sent.values())
    out = tmp_path / "out"
    result = convert(source, schema=SCHEMAS / "Account.json", out=out, max_records=per_part)
    assert result.manifest is not None
    return out, sent


def _canaries_in_files(*folders: Path) -> list[str]:
    """Files under ``folders`` holding a canary secret (every byte is looked at)."""
    secrets = [c.encode() for c in CANARIES]
    return [str(path) for folder in folders for path in folder.rglob("*")
            if path.is_file() and any(s in path.read_bytes() for s in secrets)]


#: A wrong password, itself a secret that must never show.
WRONG_PW = "canary-wrong-pw-93c1"
CANARIES = (CANARY_PW, CANARY_SECRET, WRONG_PW)


def _no_canary(*texts: str) -> None:
    for text in texts:
        for canary in CANARIES:
            assert canary not in text


def _moment(journal: Path) -> str:
    """What a killed upload was doing, as its journal shows: ``sending`` a part,
    ``waiting`` for jobs, or ``starting`` (no part sent yet)."""
    if not journal.is_file():
        return "starting"
    with contextlib.closing(sqlite3.connect(journal)) as db:
        states = {state for (state,) in db.execute("SELECT state FROM parts")}
    if PartState.SENDING in states:
        return "sending"
    return "waiting" if PartState.SENT in states else "starting"


#: How many times ``ldtransform upload`` is killed.
KILLS = 12


def test_kill_9_at_random_moments_loses_nothing_and_imports_nothing_twice(
        tmp_path: Path) -> None:
    """``ldtransform upload --wait`` of a conversion killed at random moments, each time
    run again; once it completes, the same with a new conversion, until 12 kills; then the
    last one run to success.

    The server holds every import request 0.2 s (a kill often lands while one is out) and
    imports 4 records a second, one per chunk, so a run also spends seconds waiting; every
    job runs at once (no queue), so a part whose send was cut shows its first item well
    within the 1 s ``--unknown-grace``.
    """
    config = server_config(processing={"records_per_second": 4, "chunk_size": 1,
                                       "workers": 64},
                           faults=[{"route": ld.IMPORT, "delay": 0.2}])
    chance = random.Random(9)
    exits, moments = Counter[int](), Counter[str]()
    sent: dict[str, Any] = {}
    logs = tmp_path / "logs"
    logs.mkdir()
    with running(data_dir=tmp_path / "ld", schemas=SCHEMAS, config=config) as url:
        env = _cli_env(tmp_path, url)

        def conversion() -> Path:
            rounds = exits[0] + 1
            folder, accounts = _converted_accounts(tmp_path / f"round-{rounds}", 200, 20,
                                                   first=1000 * rounds)
            sent.update(accounts)
            return folder

        def upload(folder: Path, kill_after: float | None) -> int:
            run = len(list(logs.glob("*.out"))) + 1
            command = _ldtransform("upload", folder, "--wait", "--unknown-grace", "1")
            with open(logs / f"{run}.out", "w") as out, open(logs / f"{run}.err", "w") as err:
                proc = subprocess.Popen(command, env=env, stdout=out, stderr=err)
                try:
                    return proc.wait(timeout=kill_after or 60)
                except subprocess.TimeoutExpired:
                    if kill_after is None:
                        raise
                proc.send_signal(signal.SIGKILL)
                code = proc.wait(timeout=10)
            moments[_moment(folder / JOURNAL_NAME)] += 1
            return code

        folder = conversion()
        while sum(moments.values()) < KILLS:
            if (code := upload(folder, chance.uniform(0.4, 2.2))) != -signal.SIGKILL:
                exits[code] += 1
                if code == 0:
                    folder = conversion()
        for _ in range(MAX_RUNS):
            exits[code := upload(folder, None)] += 1
            if code == 0:
                break
        for run in logs.glob("*.err"):
            assert "Traceback" not in run.read_text()
        assert set(exits) <= {0, 6}, exits
        figures = _figures(url, sent)
    kills = sum(moments.values())
    print(f"\nkills {kills} ({dict(moments)}), other exits {dict(exits)}, "
          f"runs {kills + exits.total()}, conversions {exits[0]}; {figures}")
    assert code == 0, (logs / f"{kills + exits.total()}.out").read_text()
    assert figures == {"sent": len(sent), "lost": 0, "wrong": 0, "twice": 0}
    assert moments["sending"] + moments["waiting"] > 0, "every kill landed before a send"
    assert _canaries_in_files(tmp_path) == []


def test_an_empty_part_whose_answer_was_lost_is_settled(tmp_path: Path) -> None:
    """A part without items cannot arrive twice: sending it again is safe (it is not left
    unresolved run after run)."""
    path = write_items(tmp_path / "empty.json", [])
    with running(data_dir=tmp_path / "ld", schemas=SCHEMAS, config=server_config()) as url, \
            FaultProxy(url) as proxy, \
            LDClient(credentials=canary_credentials(proxy.url), timeout=TIMEOUTS,
                     retry=RETRY) as client, \
            Journal(tmp_path / "journal.sqlite3") as journal:
        client.whoami()
        proxy.set_faults(["reset_after"])
        assert _upload_until_ok(client, journal, path)[0] == 1


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_state(journal: Path, state: PartState, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if journal.is_file():
            with contextlib.closing(sqlite3.connect(journal, timeout=5)) as db:
                if db.execute("SELECT 1 FROM parts WHERE state = ?", (state,)).fetchone():
                    return
        time.sleep(0.05)
    raise AssertionError(f"no part became {state} in {timeout} s")


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_canary_secrets_never_show(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   caplog: pytest.LogCaptureFixture) -> None:
    """login, upload, status and jobs, in this process and as processes, succeeding and
    failing (wrong password, server down, Ctrl-C): no output, message, log, repr or file
    holds a secret."""
    from clirun import run_cli

    from ldtransform.client import AsyncLDClient, AuthError, TransportError

    caplog.set_level("DEBUG")
    folder, _ = _converted_accounts(tmp_path, 40, 20)
    config = server_config(processing={"records_per_second": 20, "chunk_size": 2})
    outputs: list[str] = []
    down = f"http://127.0.0.1:{_free_port()}"
    with running(data_dir=tmp_path / "ld", schemas=SCHEMAS, config=config) as url:
        env = _cli_env(tmp_path, url)
        for name, value in env.items():
            monkeypatch.setenv(name, value)

        def cli(*args: str | Path, expect: int, **changes: str) -> str:
            with monkeypatch.context() as patch:
                for name, value in changes.items():
                    patch.setenv(name, value)
                done = run_cli(*args)
            outputs.extend((done.stdout, done.stderr))
            assert done.returncode == expect, (args, done.stdout, done.stderr)
            return done.stdout

        def process(*args: str | Path, expect: int, **changes: str) -> str:
            done = subprocess.run(_ldtransform(*args), env={**env, **changes},
                                  capture_output=True, text=True, timeout=60)
            outputs.extend((done.stdout, done.stderr))
            assert done.returncode == expect, (args, done.stdout, done.stderr)
            return done.stdout

        assert "Demo" in cli("login", expect=0)
        cli("login", expect=4, LD_PASSWORD=WRONG_PW)
        cli("login", expect=7, LD_URL=down)
        cli("upload", folder, "--wait", expect=0)
        with Journal(folder / JOURNAL_NAME) as journal:
            job_id = journal.entries()[0].job_id
        assert job_id
        cli("status", job_id, "--json", expect=0)
        cli("status", job_id, expect=7, LD_URL=down)
        cli("jobs", folder, expect=0)
        process("login", expect=4, LD_PASSWORD=WRONG_PW)
        process("status", job_id, expect=0)
        assert job_id in process("jobs", folder, expect=0)
        more = tmp_path / "more"
        more.mkdir()
        # Parts of 400 records: at 20 records a second their jobs run for 20 s, so the
        # Ctrl-C below lands while they run however slow the machine (cancelling them
        # ends them at the next chunk).
        second, _ = _converted_accounts(more, 800, 400)
        process("upload", second, "--wait", expect=7, LD_URL=down)

        # Ctrl-C while the jobs of the second conversion run
        # As from a terminal: a test run started in the background inherits SIGINT
        # ignored, and Python then installs no KeyboardInterrupt for it.
        proc = subprocess.Popen(_ldtransform("upload", second, "--wait"), env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=_interruptible)
        _wait_for_state(second / JOURNAL_NAME, PartState.SENT)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        outputs.extend((out, err))
        assert proc.returncode == 130, err
        with Journal(second / JOURNAL_NAME) as journal:
            assert PartState.CANCELED in {e.state for e in journal.entries()}

        # the library: a refused login, a server down, and the objects' reprs
        for bad in (canary_credentials(url, password=WRONG_PW),
                    canary_credentials(down)):
            with LDClient(credentials=bad, timeout=TIMEOUTS, retry=RETRY) as client:
                with pytest.raises((AuthError, TransportError)) as caught:
                    client.whoami()
                outputs.extend((str(caught.value), repr(caught.value),
                                "".join(traceback.format_exception(caught.value))))
        with LDClient(credentials=canary_credentials(url)) as client, \
                Journal(tmp_path / "repr.sqlite3") as journal:
            client.whoami()
            uploader = Uploader(client, journal)
            outputs.extend(repr(thing) for thing in (
                client, client.credentials, client._tokens, journal, uploader,
                AsyncLDClient(credentials=canary_credentials(url))))
    outputs.extend(record.getMessage() for record in caplog.records)
    _no_canary(*outputs)
    assert _canaries_in_files(tmp_path) == []
