"""Benchmark of the local LD server: import N Account items (JSON), export them back with SQL.

Reports items/s for the import and the export, the server's peak RSS, and the latency of
job-status polls made by 20 concurrent pollers while the import runs. The server runs as
its own process (``ldtransform serve``), so its memory is measured alone.

    python bench/bench_server.py            # 1,000,000 items
    python bench/bench_server.py --quick    # 50,000 items
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import httpx
import orjson
from results import recorded

from ldtransform import ld
from ldtransform.ld import JobStatus, is_terminal
from ldtransform.server.testing import descendants, free_port, start_server

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "samples" / "schemas"
TOKEN_FORM = {"grant_type": "password", "client_id": "ldtransform",
              "client_secret": "ldtransform", "username": "demo", "password": "demo",
              "scope": "community=Demo"}


def account(n: int) -> dict[str, Any]:
    """A realistic Account envelope, shaped like samples/accounts.items.json."""
    name = f"Customer #{n}"
    return {"headers": {"category": "entity", "type": "Account", "action": "Create"},
            "data": {
                "accountId": f"B{n:09d}", "accountNumber": f"B{n:09d}", "name": name,
                "accountClass": "/Account/accountClass[invoiced]",
                "accountFamily": "/Account/accountFamily[]/group[]", "accountType": "",
                "chain": "", "channel": "20", "currency": ("USD", "CAD", "EUR")[n % 3],
                "distributionPoint": "", "orgPath": "", "paymentTerms": "NET30",
                "riskCategory": "", "salesOffice": "", "storeId": "", "userId": "",
                "exposure": round(n * 0.37 % 10000, 2), "limit": 2500.0,
                "creditBlock": n % 7 == 0, "overallBlock": False,
                "accountLicenseInformation": [{
                    "licenseNumber": f"LIC-{n % 1000000:06d}",
                    "licenseValidFrom": "2014-02-01T05:00:00+0000",
                    "licenseValidTo": "2015-02-28T05:00:00+0000", "licenseType": "7"}],
                "addresses": [{
                    "name": name, "city": "Boston", "postalCode": "02134", "region": "MA",
                    "addressLine1": f"{n % 999} Harbor Rd", "country": "US",
                    "addressType": "Work", "addressLine2": "", "addressLine3": "",
                    "addressNote": "", "primary": True}],
                "deliveryDays": ["Fri"],
                "phones": [{"phoneNumber": f"{6000000000 + n:010d}", "phoneCountryCode": "1",
                            "phoneType": "office"}]}}


def write_items(path: Path, count: int) -> int:
    with open(path, "wb") as out:
        out.write(b"[\n")
        for start in range(0, count, 10_000):
            stop = min(count, start + 10_000)
            out.write(b",\n".join(orjson.dumps(account(n)) for n in range(start, stop)))
            out.write(b",\n" if stop < count else b"\n")
        out.write(b"]\n")
    return path.stat().st_size


def start_bench_server(work: Path, port: int) -> subprocess.Popen[str]:
    config = work / "server.toml"
    config.write_text("[limits]\nsql_time_limit = 600\nsql_row_limit = 10000000\n"
                      "records_per_file = 250000\nmax_upload_bytes = 4294967296\n")
    return start_server(port, work / "data", SCHEMAS, config)


def peak_rss_mib(pid: int) -> float:
    """The process's high-water RSS (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def server_peak_rss_mib(pid: int) -> tuple[float, float]:
    """Peak RSS of the server process, and of it plus its job and preparer processes
    (an upper bound: their peaks need not coincide)."""
    own = peak_rss_mib(pid)
    return own, own + sum(peak_rss_mib(p) for p in descendants(pid))


class Pollers:
    """N threads posting /ls/api/batch/status, each on its own keep-alive connection."""

    def __init__(self, url: str, token: str, job_id: str, count: int,
                 interval: float) -> None:
        self.url, self.token, self.job_id, self.interval = url, token, job_id, interval
        self.latencies: list[float] = []
        self.errors = 0
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self.poll, daemon=True) for _ in range(count)]

    def poll(self) -> None:
        # http.client rather than httpx: the pollers share the machine with the server,
        # and a lean client leaves it more of the CPU (about 0.14 ms a poll, not 0.44).
        url = urllib.parse.urlsplit(self.url)
        body = urllib.parse.urlencode({ld.JOB_ID: self.job_id})
        headers = {"Authorization": "Bearer " + self.token,
                   "Content-Type": "application/x-www-form-urlencoded"}
        connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
        try:
            while not self.done.is_set():
                started = time.perf_counter()
                connection.request("POST", ld.STATUS, body=body, headers=headers)
                response = connection.getresponse()
                answer = response.read()
                self.latencies.append(time.perf_counter() - started)
                if response.status != 200:
                    self.errors += 1
                elif is_terminal(orjson.loads(answer)["status"]):
                    self.done.set()
                if self.interval:
                    self.done.wait(self.interval)
        finally:
            connection.close()

    def __enter__(self) -> Pollers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join()


def wait(client: httpx.Client, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    while True:
        status: dict[str, Any] = client.post(ld.STATUS, headers=headers,
                                             data={ld.JOB_ID: job_id}).json()
        if is_terminal(status["status"]):
            return status
        time.sleep(0.2)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run(count: int, pollers: int, interval: float) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="ld-bench-"))
    data = work / "accounts.items.json"
    t0 = time.perf_counter()
    size = write_items(data, count)
    print(f"wrote {count:,} items ({size / 2**20:,.0f} MiB) in {time.perf_counter() - t0:.1f} s")
    port = free_port()
    proc = start_bench_server(work, port)
    url = f"http://127.0.0.1:{port}"
    result: dict[str, Any] = {"items": count, "file_mib": round(size / 2**20, 1),
                              "pollers": pollers, "poll_interval_s": interval}
    try:
        client = httpx.Client(base_url=url, timeout=600)
        token = client.post(ld.TOKEN, data=TOKEN_FORM).json()["access_token"]
        headers = {"Authorization": "Bearer " + token}
        t0 = time.perf_counter()
        with open(data, "rb") as handle:
            job = client.post(ld.IMPORT, headers=headers, files={
                "file": ("data.json", handle, "application/json")}, data={
                "jobName": "bench import", "itemType": "Account",
                "contentType": "application/json"}).json()
        upload_s = time.perf_counter() - t0
        with Pollers(url, token, job["jobId"], pollers, interval) as poll:
            done = wait(client, headers, job["jobId"])
        import_s = time.perf_counter() - t0
        assert done["status"] == JobStatus.COMPLETED and done["recordsRejected"] == "0", done
        run_ms = int(done["runTime"])
        result.update(
            upload_s=round(upload_s, 2), import_wall_s=round(import_s, 2),
            import_items_per_s=round(count / (run_ms / 1000)),
            import_items_per_s_incl_upload=round(count / import_s),
            polls=len(poll.latencies), poll_errors=poll.errors,
            poll_p50_ms=round(percentile(poll.latencies, 0.5) * 1000, 1),
            poll_p99_ms=round(percentile(poll.latencies, 0.99) * 1000, 1),
            poll_mean_ms=round(statistics.fmean(poll.latencies or [0.0]) * 1000, 1))
        t0 = time.perf_counter()
        job = client.post(ld.EXPORT, headers=headers, data={
            "jobName": "bench export", "itemType": "Account", "contentType": "application/json",
            "sqlQuery": "SELECT * FROM Account"}).json()
        done = wait(client, headers, job["jobId"])
        export_s = time.perf_counter() - t0
        assert done["status"] == JobStatus.COMPLETED, done
        exported = 0
        for link in done["links"]:
            with client.stream("GET", link, headers=headers) as r:
                exported += sum(len(chunk) for chunk in r.iter_bytes())
        result.update(export_wall_s=round(export_s, 2),
                      export_items_per_s=round(count / export_s),
                      export_files=len(done["links"]),
                      export_mib=round(exported / 2**20, 1),
                      server_peak_rss_mib=round(server_peak_rss_mib(proc.pid)[0], 1),
                      server_and_jobs_peak_rss_mib=round(server_peak_rss_mib(proc.pid)[1], 1))
    finally:
        proc.terminate()
        proc.wait(60)
        for path in sorted(work.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        work.rmdir()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 items instead of 1M")
    parser.add_argument("--items", type=int, help="number of items (overrides --quick)")
    parser.add_argument("--pollers", type=int, default=20)
    parser.add_argument("--poll-interval", type=float, default=0.05,
                        help="seconds each poller waits between polls (0: back to back)")
    args = parser.parse_args()
    count = args.items or (50_000 if args.quick else 1_000_000)
    result = run(count, args.pollers, args.poll_interval)
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value:,}" if isinstance(value, int) else
              f"{key:<{width}}  {value}")
    print(json.dumps(result))
    with recorded("bench_server"):
        print(f"\n{count:,} Account items ({result['file_mib']:,} MiB of JSON), "
              f"{args.pollers} pollers every {args.poll_interval * 1000:g} ms\n")
        print("| import items/s | export items/s | status poll p50 / p99 | peak RSS: server / "
              "server + job and helper processes |")
        print("|--:|--:|--:|--:|")
        print(f"| {result['import_items_per_s']:,} | {result['export_items_per_s']:,} | "
              f"{result['poll_p50_ms']} / {result['poll_p99_ms']} ms | "
              f"{result['server_peak_rss_mib']:,.0f} / "
              f"{result['server_and_jobs_peak_rss_mib']:,.0f} MiB |")
        met = {"import ≥ 50,000 items/s": result["import_items_per_s"] >= 50_000,
               "status poll p99 < 50 ms": result["poll_p99_ms"] < 50,
               "server + jobs peak RSS < 1 GiB": result["server_and_jobs_peak_rss_mib"] < 1024}
        print()
        for target, ok in met.items():
            print(f"- {'met' if ok else 'NOT met'}: {target}")
    if os.environ.get("BENCH_STRICT"):
        sys.exit(0 if all(met.values()) else 1)


if __name__ == "__main__":
    main()
