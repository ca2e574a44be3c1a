"""The round trip of N Account rows through a local LD server, stage by stage, with the
peak memory of the client (this process).

    .venv/bin/python bench/bench_roundtrip.py [--rows N] [--quick] [--part-records P]
        [--workdir DIR]

A seeded flat account CSV (bench_read.py's generator, unique keys, one delivery-days column;
cached in --workdir) goes through every stage a user runs, timed one by one:

1. convert: ``ldtransform.convert(csv, schema=Account.json, mapping=accounts-flat.toml,
   to="items-json", max_records=P)`` (validation included);
2. upload: the uploader (``parts_to_upload`` + ``Journal`` + ``Uploader(wait=False)``);
3. server import: from the upload's end until every import job is Completed (polled);
4. export: ``client.export(sql="SELECT * FROM Account")`` + ``client.wait``;
5. download: ``client.download`` of every result file;
6. read: ``ldtransform.read_export(files, schema).to_pandas()``, a typed DataFrame;
7. read, streamed: the same files batch by batch into a Parquet file.

The server (``ldtransform serve``) runs as its own process, so its CPU and memory are not
the client's. The client's peak RSS is taken per stage: the kernel's high-water mark
(``VmHWM``) reset before each stage where Linux allows it, and a thread sampling ``VmRSS``
every 10 ms. Targets (printed, never asserted): peak client RSS under 500 MiB in every
stage, and rows exported == rows converted.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from results import recorded

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SCHEMA = SAMPLES / "schemas" / "Account.json"
MAPPING = SAMPLES / "mappings" / "accounts-flat.toml"
GENERATOR_VERSION = 1  # bump when the generated data changes, to invalidate cached files
TARGET_MIB = 500
DELIVERY_DAYS = ["Fri", "Mon;Fri", "Tue;Thu", "Mon;Wed;Fri", ""]


# -- the source CSV -------------------------------------------------------------------------

def make_source(path: Path, rows: int) -> None:
    """bench_read.py's seeded accounts with unique keys and a ``deliveryDays`` column,
    shaped as samples/accounts.csv (the columns accounts-flat.toml maps)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    from bench_read import account_table

    table = account_table(rows).drop_columns(["orderCount"])
    rng = np.random.default_rng(12)
    # Unique keys in a shuffled order, 9 digits (the generator's own keys repeat).
    keys = pa.array(rng.permutation(rows) * 9 + rng.integers(0, 9, rows)).cast(pa.string())
    table = table.set_column(0, "accountId", pc.utf8_lpad(keys, width=9, padding="0"))
    days = pa.array(DELIVERY_DAYS).take(pa.array(rng.integers(0, len(DELIVERY_DAYS), rows)))
    table = table.add_column(table.schema.get_field_index("notes"), "deliveryDays", days)
    pacsv.write_csv(table, path)


def cached_source(workdir: Path, rows: int) -> Path:
    """The source CSV of ``rows``, generated in a child process (so that this one's peak
    memory is the benchmark's alone) unless already in ``workdir``."""
    path = workdir / f"roundtrip-accounts-{rows}-v{GENERATOR_VERSION}.csv"
    if not path.exists():
        started = time.perf_counter()
        partial = path.with_name(path.name + ".partial")
        subprocess.run([sys.executable, __file__, "--generate", str(partial), str(rows)],
                       check=True)
        partial.replace(path)
        print(f"generated {path} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return path


# -- the client's memory --------------------------------------------------------------------

def _status_kib(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(key):
                return int(line.split()[1])
    return 0


def _reset_high_water_mark() -> bool:
    """Set VmHWM back to the current RSS (Linux ≥ 4.0); False where not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class PeakRss:
    """The peak RSS of this process while the ``with`` block runs, in MiB."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.peak_kib = 0
        self.start_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._exact = False

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_kib = max(self.peak_kib, _status_kib("VmRSS:"))

    def __enter__(self) -> PeakRss:
        release_memory()
        self._exact = _reset_high_water_mark()
        self.start_kib = self.peak_kib = _status_kib("VmRSS:")
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_kib = max(self.peak_kib, _status_kib("VmRSS:"))
        if self._exact:
            self.peak_kib = max(self.peak_kib, _status_kib("VmHWM:"))

    @property
    def peak_mib(self) -> float:
        return self.peak_kib / 1024

    @property
    def start_mib(self) -> float:
        return self.start_kib / 1024


def release_memory() -> None:
    """Give back what earlier stages freed, so that a stage's peak is its own."""
    import pyarrow as pa

    gc.collect()
    pa.default_memory_pool().release_unused()


# -- the stages -----------------------------------------------------------------------------

@dataclass
class Stage:
    name: str
    seconds: float
    items: int
    peak_mib: float
    start_mib: float
    note: str = ""
    started: float = 0.0


class Stages:
    def __init__(self) -> None:
        self.done: list[Stage] = []

    @contextlib.contextmanager
    def stage(self, name: str, items: int) -> Iterator[Stage]:
        """Time and watch the memory of one stage; the caller may set ``items``/``note``."""
        print(f"{name} ...", file=sys.stderr, flush=True)
        record = Stage(name, 0.0, items, 0.0, 0.0)
        with PeakRss() as memory:
            record.started = time.perf_counter()
            yield record
            record.seconds = time.perf_counter() - record.started
        record.peak_mib, record.start_mib = memory.peak_mib, memory.start_mib
        self.done.append(record)
        print(f"  {record.seconds:.2f} s, peak client RSS {record.peak_mib:,.0f} MiB",
              file=sys.stderr, flush=True)


def start_bench_server(work: Path) -> tuple[Any, str]:
    from ldtransform.server.testing import free_port, start_server

    config = work / "server.toml"
    config.write_text("[limits]\nsql_time_limit = 600\nsql_row_limit = 10000000\n"
                      "records_per_file = 250000\nmax_upload_bytes = 4294967296\n"
                      "export_max_bytes = 17179869184\n")
    port = free_port()
    return start_server(port, work / "server", SAMPLES / "schemas", config), \
        f"http://127.0.0.1:{port}"


def wait_all(client: Any, job_ids: list[str], interval: float = 0.2) -> list[Any]:
    """Poll every job's status until each is terminal; their last statuses."""
    from ldtransform.ld import is_terminal

    last: dict[str, Any] = {}
    pending = list(job_ids)
    while pending:
        for job_id in list(pending):
            job = client.status(job_id)
            if is_terminal(str(job.status)):
                last[job_id] = job
                pending.remove(job_id)
        if pending:
            time.sleep(interval)
    return [last[job_id] for job_id in job_ids]


def run(rows: int, part_records: int, workdir: Path) -> dict[str, Any]:
    import pyarrow.parquet as pq

    import ldtransform
    from ldtransform.client import LDClient, WaitPolicy
    from ldtransform.client.journal import Journal, default_journal_path
    from ldtransform.client.parts import parts_to_upload
    from ldtransform.client.uploader import Uploader
    from ldtransform.ld import JobStatus

    source = cached_source(workdir, rows)
    work = Path(tempfile.mkdtemp(prefix="ld-roundtrip-", dir=workdir))
    stages = Stages()
    server, url = start_bench_server(work)
    facts: dict[str, Any] = {"rows": rows, "source_mib": source.stat().st_size / 2**20}
    try:
        parts_dir = work / "parts"
        with stages.stage("convert", rows) as stage:
            result = ldtransform.convert(source, schema=SCHEMA, mapping=MAPPING, out=parts_dir,
                                         to="items-json", max_records=part_records,
                                         overwrite=True)
        converted = result.records_written
        stage.note = (f"{len(result.parts)} parts, {result.bytes_written / 2**20:,.0f} MiB, "
                      f"{result.report.rows_rejected:,} rejected")
        facts.update(converted=converted, rejected=result.report.rows_rejected,
                     parts=len(result.parts), items_mib=result.bytes_written / 2**20)
        del result

        with LDClient(url, username="demo", password="demo") as client:
            parts = parts_to_upload([parts_dir], item_type=None)
            journal = Journal(default_journal_path(parts_dir), target=client.credentials.target)
            try:
                with stages.stage("upload", converted):
                    report = Uploader(client, journal, wait=False).run(parts)
            finally:
                journal.close()
            assert report.ok, [(o.part.path.name, o.word, o.detail) for o in report.outcomes]
            job_ids = [o.entry.job_id for o in report.outcomes if o.entry and o.entry.job_id]
            first_sent = stages.done[-1].started
            with stages.stage("server import", converted) as stage:
                jobs = wait_all(client, job_ids)
            failed = [(j.job_id, str(j.status), j.reason) for j in jobs
                      if j.status != JobStatus.COMPLETED]
            assert not failed, failed
            imported = sum(j.records_processed - j.records_rejected for j in jobs)
            stage.note = "from the upload's end; the jobs start while parts are still sent"
            facts.update(imported=imported, upload_and_import_s=time.perf_counter() - first_sent,
                         job_run_s=sum(j.run_time_ms for j in jobs) / 1000)

            with stages.stage("export", converted) as stage:
                job = client.export("Account", job_name="bench round trip",
                                    sql="SELECT * FROM Account")
                job = client.wait(job, policy=WaitPolicy(interval=0.2, cap=1.0))
            stage.note = f"{len(job.links)} result files"

            with stages.stage("download", converted) as stage:
                files = client.download(job, work / "export")
            exported_mib = sum(f.stat().st_size for f in files) / 2**20
            stage.note = f"{exported_mib:,.0f} MiB of JSON"
            facts.update(export_files=len(files), export_mib=exported_mib)

        with stages.stage("read into a typed DataFrame", converted) as stage:
            frame = ldtransform.read_export(files, SCHEMA).to_pandas()
        exported = len(frame)
        stage.items = exported
        frame_mib = frame.memory_usage(deep=True).sum() / 2**20
        stage.note = f"the DataFrame itself: {frame_mib:,.0f} MiB"
        facts.update(exported=exported, frame_mib=frame_mib,
                     frame_columns=len(frame.columns))
        del frame

        with stages.stage("read, streamed to Parquet", converted) as stage:
            frames = ldtransform.read_export(files, SCHEMA)
            with pq.ParquetWriter(work / "accounts.parquet", frames.schema) as writer:
                streamed = 0
                for batch in frames:
                    writer.write_batch(batch)
                    streamed += batch.num_rows
        stage.items = streamed
        stage.note = f"{(work / 'accounts.parquet').stat().st_size / 2**20:,.0f} MiB of Parquet"
        facts.update(streamed=streamed)
        facts.update(server_peak_mib=_server_peak_mib(server.pid))
    finally:
        server.terminate()
        server.wait(60)
        shutil.rmtree(work, ignore_errors=True)
    facts["stages"] = [vars(s) for s in stages.done]
    return facts


def _server_peak_mib(pid: int) -> tuple[float, float]:
    from bench_server import server_peak_rss_mib
    return server_peak_rss_mib(pid)


# -- the report -----------------------------------------------------------------------------

def print_report(facts: dict[str, Any], part_records: int) -> None:
    stages = [Stage(**s) for s in facts["stages"]]
    print(f"\n{facts['rows']:,} Account rows ({facts['source_mib']:,.0f} MiB of CSV) → "
          f"{facts['parts']} parts of up to {part_records:,} items "
          f"({facts['items_mib']:,.0f} MiB of item JSON) → a local LD server → "
          f"{facts['export_files']} export files ({facts['export_mib']:,.0f} MiB) → "
          f"a DataFrame; Python {sys.version.split()[0]}\n")
    print("| stage | seconds | items/s | peak client RSS (MiB) | RSS at start (MiB) | notes |")
    print("|---|--:|--:|--:|--:|---|")
    for s in stages:
        print(f"| {s.name} | {s.seconds:.2f} | {s.items / s.seconds:,.0f} | "
              f"{s.peak_mib:,.0f} | {s.start_mib:,.0f} | {s.note} |")
    print()
    total = sum(s.seconds for s in stages if not s.name.startswith("read, streamed"))
    print(f"- convert → DataFrame, end to end: {total:.1f} s "
          f"({facts['rows'] / total:,.0f} rows/s)")
    print(f"- upload + server import, from the first part sent to the last job Completed: "
          f"{facts['upload_and_import_s']:.1f} s "
          f"({facts['converted'] / facts['upload_and_import_s']:,.0f} items/s); the jobs' "
          f"own run times add up to {facts['job_run_s']:.1f} s")
    own, with_jobs = facts["server_peak_mib"]
    print(f"- server peak RSS (its own process, not the client's): {own:,.0f} MiB, "
          f"{with_jobs:,.0f} MiB with its job and helper processes")
    same = facts["exported"] == facts["converted"] == facts["imported"]
    print(f"- rows converted {facts['converted']:,} ({facts['rejected']:,} rejected), imported "
          f"{facts['imported']:,}, exported {facts['exported']:,}: "
          + ("rows exported == rows converted" if same else "DIFFERENT"))
    client = [s for s in stages if s.name != "convert"]
    worst = max(client, key=lambda s: s.peak_mib)
    convert = next(s for s in stages if s.name == "convert")
    for label, stage in (("upload → read", worst), ("convert", convert)):
        word = "met" if stage.peak_mib < TARGET_MIB else "NOT met"
        print(f"- {word}: peak client RSS < {TARGET_MIB} MiB ({label}): "
              f"{stage.peak_mib:,.0f} MiB in '{stage.name}'")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 rows")
    parser.add_argument("--part-records", type=int, default=100_000,
                        help="items per converted part (one import job each)")
    parser.add_argument("--workdir", type=Path,
                        default=Path(tempfile.gettempdir()) / "ldtransform-bench")
    parser.add_argument("--generate", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        make_source(Path(args.generate[0]), int(args.generate[1]))
        return
    rows = 100_000 if args.quick else args.rows
    args.workdir.mkdir(parents=True, exist_ok=True)
    facts = run(rows, args.part_records, args.workdir)
    with recorded("bench_roundtrip"):
        print_report(facts, args.part_records)
    print(json.dumps({**facts, "stages": [{k: v for k, v in s.items() if k != "started"}
                                          for s in facts["stages"]]}))


if __name__ == "__main__":
    main()
