"""convert/run: parts, manifest, quarantine, dry runs, and files that survive kill -9."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from click.testing import CliRunner
from clirun import run_cli

import ldtransform
from ldtransform.cli import main
from ldtransform.server import running

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SCHEMA = SAMPLES / "schemas" / "Account.json"
FLAT = SAMPLES / "mappings" / "accounts-flat.toml"


def many_accounts(path: Path, copies: int) -> Path:
    """samples/accounts.csv repeated ``copies`` times with unique keys."""
    table = pacsv.read_csv(SAMPLES / "accounts.csv", convert_options=pacsv.ConvertOptions(
        column_types=dict.fromkeys(pacsv.read_csv(SAMPLES / "accounts.csv").column_names,
                                   pa.string())))
    tables = []
    for copy in range(copies):
        ids = [f"K{copy:06d}{i:02d}" for i in range(table.num_rows)]
        tables.append(table.set_column(0, "accountId", pa.array(ids)))
    pacsv.write_csv(pa.concat_tables(tables), path)
    return path


def check_folder(folder: Path) -> int:
    """Every file under a final name is complete; returns the records in the parts."""
    records = 0
    for part in sorted(folder.glob("Account-*.json")):
        records += len(json.loads(part.read_bytes()))  # a torn file would not parse
    manifest = folder / "manifest.json"
    if manifest.exists():
        document = json.loads(manifest.read_bytes())
        for entry in document["parts"]:
            data = (folder / entry["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
            assert len(data) == entry["bytes"]
        assert document["totals"]["records"] == records
    return records


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "cached"])
def test_parts_written_block_by_block_are_the_same_bytes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, direct: bool) -> None:
    """Parts written in 4 KiB blocks, straight to disk or (where a system has no direct
    writes) through the cache with writeback asked for every 8 KiB, are byte for byte the
    parts written in one go; their hashes too."""
    from ldtransform import _blockfile, _parts

    source = many_accounts(tmp_path / "in.csv", 40)  # 1,000 rows

    def parts(out: str) -> list[_parts.PartInfo]:
        return ldtransform.convert(source, schema=SCHEMA, mapping=FLAT, out=tmp_path / out,
                                   to="items-jsonl", max_records=100).parts

    whole = parts("whole")  # each part far below one 1 MiB block
    monkeypatch.setattr(_blockfile, "BLOCK_BYTES", 4096)
    monkeypatch.setattr(_blockfile, "WRITEBACK_BYTES", 8192)
    if not direct:
        monkeypatch.setattr(_blockfile, "_DIRECT", 0)
    blocks = parts("blocks")
    assert len(blocks) == 10 and all(p.bytes > 3 * 4096 for p in blocks)
    assert [p.path.read_bytes() for p in blocks] == [p.path.read_bytes() for p in whole]
    assert [p.sha256 for p in blocks] == [p.sha256 for p in whole]
    assert [hashlib.sha256(p.path.read_bytes()).hexdigest() for p in blocks] == [
        p.sha256 for p in blocks]


def test_convert_splits_by_records_and_the_parts_add_up(tmp_path: Path) -> None:
    source = many_accounts(tmp_path / "in.csv", 8)  # 200 rows
    result = ldtransform.convert(source, schema=SCHEMA, mapping=FLAT, out=tmp_path / "out",
                                 max_records=30, batch_size=17)
    assert [p.records for p in result.parts] == [30] * 6 + [20]
    assert check_folder(tmp_path / "out") == 200 == result.records_written
    document = json.loads((tmp_path / "out/manifest.json").read_bytes())
    assert document["sources"][0]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert document["schema"]["path"] == str(SCHEMA) and document["mapping"]["sha256"]
    assert document["validation"]["rows_valid"] == 200 and document["format"] == "items-json"


def test_max_bytes_never_splits_a_record(tmp_path: Path) -> None:
    source = many_accounts(tmp_path / "in.csv", 2)
    result = ldtransform.convert(source, schema=SCHEMA, mapping=FLAT, out=tmp_path / "out",
                                 to="items-jsonl", max_bytes=5000)
    assert len(result.parts) > 5 and sum(p.records for p in result.parts) == 50
    lines = []
    for part in result.parts:
        data = part.path.read_bytes()
        assert len(data) <= 5000 and data.endswith(b"\n")
        lines += [json.loads(line) for line in data.splitlines()]
    assert [item["data"]["accountId"] for item in lines] == [
        f"K{c:06d}{i:02d}" for c in range(2) for i in range(25)]
    tiny = ldtransform.convert(source, schema=SCHEMA, mapping=FLAT, out=tmp_path / "tiny",
                               to="items-jsonl", max_bytes=10)
    assert [p.records for p in tiny.parts] == [1] * 50  # too big for any part: one each


def test_rejected_rows_are_quarantined_and_counted(tmp_path: Path) -> None:
    result = ldtransform.convert(SAMPLES / "messy/accounts_errors.csv", schema=SCHEMA,
                                 mapping=FLAT, out=tmp_path)
    assert (result.report.rows_read, result.records_written,
            result.report.rows_rejected) == (25, 18, 7)
    [rejected] = result.rejected
    assert rejected.path.name == "accounts_errors.rejected.csv"
    with rejected.path.open(newline="", encoding="utf-8") as f:
        assert [row["_row"] for row in csv.DictReader(f)] == [
            "4", "7", "11", "14", "18", "22", "25"]
    assert json.loads((tmp_path / "manifest.json").read_bytes())["rejected"][0]["records"] == 7


def test_dry_run_writes_nothing_and_an_earlier_run_is_protected(tmp_path: Path) -> None:
    out = tmp_path / "out"
    dry = ldtransform.convert(SAMPLES / "accounts.csv", schema=SCHEMA, mapping=FLAT, out=out,
                              dry_run=True, max_records=10)
    assert [p.records for p in dry.parts] == [10, 10, 5] and dry.bytes_written > 0
    assert not out.exists() or list(out.iterdir()) == []
    real = ldtransform.convert(SAMPLES / "accounts.csv", schema=SCHEMA, mapping=FLAT, out=out,
                               max_records=10)
    assert [p.bytes for p in real.parts] == [p.bytes for p in dry.parts]
    with pytest.raises(ldtransform.ConfigError, match="overwrite"):
        ldtransform.convert(SAMPLES / "accounts.csv", schema=SCHEMA, mapping=FLAT, out=out)
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    ldtransform.convert(SAMPLES / "accounts.csv", schema=SCHEMA, mapping=FLAT, out=out,
                        overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["Account-00001.json", "manifest.json",
                                                     "notes.txt"]


def test_fluent_form_from_a_dataframe(tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.read_csv(SAMPLES / "accounts.csv", dtype=str, keep_default_na=False)
    validated = ldtransform.read(frame).validate(SCHEMA, mapping=FLAT,
                                                 rejected=tmp_path / "rejected.csv")
    result = validated.write_items(tmp_path / "out", max_records=20)
    assert result.records_written == 25 and validated.report is not None
    assert validated.report.rows_valid == 25 and not (tmp_path / "rejected.csv").exists()


def test_cli_convert_summary_and_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["convert", str(SAMPLES / "accounts.xlsx"), "--schema",
                              str(SCHEMA), "--mapping", str(SAMPLES / "mappings/accounts.toml"),
                              "--out", str(tmp_path / "a"), "--max-bytes", "20kB"])
    assert ok.exit_code == 0, ok.output
    assert "25 rows in = 25 written + 0 rejected" in ok.output
    bad = runner.invoke(main, ["convert", str(SAMPLES / "messy/accounts_errors.csv"),
                               "--schema", str(SCHEMA), "--mapping", str(FLAT), "--out",
                               str(tmp_path / "b"), "--json"])
    assert bad.exit_code == 5
    summary = json.loads(bad.stdout)
    assert summary["rows_read"] == summary["records_written"] + summary["rows_rejected"]
    wrong = runner.invoke(main, ["convert", "nothing-*.csv", "--schema", str(SCHEMA),
                                 "--out", str(tmp_path / "c")])
    assert wrong.exit_code == 2 and "no file matches" in wrong.output


def _sample_pipeline(tmp_path: Path, upload: str | None = None) -> Path:
    """The sample as shipped, but writing under tmp_path rather than into the repository
    (and with ``upload`` as its [upload] section when given)."""
    text = (SAMPLES / "pipeline.toml").read_text(encoding="utf-8")
    for relative in ("schemas/", "mappings/", "accounts.xlsx"):
        text = text.replace(f'"{relative}', f'"{SAMPLES.as_posix()}/{relative}')
    assert '"../out/pipeline"' in text and "\n[upload]" in text
    if upload is not None:
        text = text[:text.index("\n[upload]")] + f"\n[upload]\n{upload}\n"
    pipeline = tmp_path / "pipeline.toml"
    pipeline.write_text(text.replace('"../out/pipeline"', '"out/pipeline"'), encoding="utf-8")
    return pipeline


def test_the_sample_pipeline_runs_as_is(tmp_path: Path) -> None:
    with running(data_dir=tmp_path / "ld", schemas=SAMPLES / "schemas",
                 processes=False) as url:
        env = {"LD_URL": url, "LD_USERNAME": "demo", "LD_PASSWORD": "demo"}
        done = run_cli("run", _sample_pipeline(tmp_path), env=env)
        assert done.returncode == 0, done.stderr
        assert "25 rows in = 25 written + 0 rejected; wrote 3 file(s)" in done.stdout
        assert check_folder(tmp_path / "out" / "pipeline") == 25
        lines = [line for line in done.stdout.splitlines() if line.startswith("Completed")]
        assert [line.split()[1] for line in lines] == [
            "Account-00001.json", "Account-00002.json", "Account-00003.json"]
        again = run_cli("run", _sample_pipeline(tmp_path), "--json", env=env)
        assert again.returncode == 0, again.stderr
        assert [p["status"] for p in json.loads(again.stdout)["upload"]] == ["Skipped"] * 3


def test_a_pipeline_dry_run_uploads_nothing(tmp_path: Path) -> None:
    done = run_cli("run", _sample_pipeline(tmp_path), "--dry-run", env={"LD_URL": ""})
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "out" / "pipeline").exists()


def test_a_pipeline_never_holds_secrets(tmp_path: Path) -> None:
    pipeline = _sample_pipeline(tmp_path, 'password = "hunter2"')
    done = run_cli("run", pipeline)
    assert done.returncode == 4
    assert "secrets never go in a pipeline file" in done.stderr
    assert "hunter2" not in done.stderr + done.stdout
    assert not (tmp_path / "out").exists()


def test_a_pipeline_without_a_server_says_where_to_name_it(tmp_path: Path) -> None:
    done = run_cli("run", _sample_pipeline(tmp_path), env={"LD_URL": ""})
    assert done.returncode == 4
    assert "no LD server URL" in done.stderr


@pytest.fixture(scope="module")
def big_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return many_accounts(tmp_path_factory.mktemp("kill") / "accounts.csv", 2400)  # 60k rows


def wait_for(path: Path, process: subprocess.Popen[bytes], seconds: float = 120) -> bool:
    """Poll until ``path`` exists (True) or the process ends or time runs out (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists():
            return True
        time.sleep(0.005)
    return path.exists()


@pytest.mark.parametrize("seed", range(10))
def test_kill_9_never_leaves_a_partial_file_under_a_final_name(tmp_path: Path,
                                                               big_source: Path,
                                                               seed: int) -> None:
    # Each seed kills the conversion as soon as a different part (1st to 10th of 30) is
    # in place, so every run is killed mid-way with complete parts on disk to check.
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "ldtransform", "convert",
                                str(big_source), "--schema", str(SCHEMA), "--mapping",
                                str(FLAT), "--out", str(out), "--max-records", "2000"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    part = 1 + seed * 3 % 10
    try:
        assert wait_for(out / f"Account-{part:05d}.json", process), "no part appeared"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=30)
    records = check_folder(out)  # every file under a final name is complete
    if process.returncode == -signal.SIGKILL:
        assert not (out / "manifest.json").exists()
        assert records >= part * 2000 and records % 2000 == 0  # only complete parts
    else:  # it finished before the kill landed: a complete run
        assert process.returncode == 0 and records == 60_000
    leftovers = [p.name for p in out.iterdir() if not p.name.startswith("Account-")
                 and p.name != "manifest.json"]
    assert all(name.startswith(".") and name.endswith(".part") for name in leftovers)


def test_template_csv_parts_each_start_with_the_header(tmp_path: Path) -> None:
    result = ldtransform.convert(SAMPLES / "accounts.xlsx", schema=SCHEMA,
                                 mapping=SAMPLES / "mappings/accounts.toml", out=tmp_path,
                                 to="csv", template=SAMPLES / "templates/account.csv.j2",
                                 max_records=10)
    assert [p.records for p in result.parts] == [10, 10, 5]
    rows = []
    for part in result.parts:
        with part.path.open(newline="", encoding="utf-8") as f:
            table = list(csv.reader(f))
        assert table[0][:3] == ["accountId", "name", "accountClass"]
        rows += table[1:]
    assert [r[0] for r in rows][:2] == ["ABC123", "000417"] and len(rows) == 25
    assert result.parts[0].path.read_bytes().count(b"\r\n") == 11  # RFC 4180 line ends


def test_on_error_fail_is_all_or_nothing(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # Small batches, so parts are complete on disk before the bad row is reached.
    monkeypatch.setattr(ldtransform.validation, "CHECK_ROWS", 4)
    source = tmp_path / "mixed.csv"
    with (SAMPLES / "accounts.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rows[19]["accountClass"] = "Wholesale"  # spreadsheet row 21
    with source.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "out"
    with pytest.raises(ldtransform.ValidationFailed, match="row 21") as failure:
        ldtransform.convert(source, schema=SCHEMA, mapping=FLAT, out=out, max_records=5,
                            batch_size=4, on_error="fail")
    assert failure.value.row == 21 and failure.value.report is not None
    assert not out.exists() or [p.name for p in out.iterdir()
                                if not p.name.startswith(".")] == []
    cli = CliRunner().invoke(main, ["convert", str(source), "--schema", str(SCHEMA),
                                    "--mapping", str(FLAT), "--out", str(out),
                                    "--on-error", "fail"])
    assert cli.exit_code == 5 and "row 21" in cli.stderr
    with pytest.raises(ldtransform.ValidationFailed, match="1 of 25 rows rejected"):
        ldtransform.validate(source, SCHEMA, mapping=FLAT, on_error="fail")


def test_progress_reports_rows_and_how_far_through_the_source(tmp_path: Path) -> None:
    source = many_accounts(tmp_path / "in.csv", 200)  # 5,000 rows, several blocks
    seen: list[tuple[int, float | None]] = []
    ldtransform.convert(source, schema=SCHEMA, mapping=FLAT, out=tmp_path / "out",
                        batch_size=500, progress=lambda rows, name, part: seen.append(
                            (rows, part)))
    assert seen and seen[-1] == (5000, 1.0)
    fractions = [part for _, part in seen]
    assert all(f is not None and 0 < f <= 1 for f in fractions)
    assert fractions == sorted(fractions)
    parquet: list[float | None] = []
    ldtransform.convert(SAMPLES / "accounts.parquet", schema=SCHEMA, mapping=FLAT,
                        out=tmp_path / "pq", progress=lambda r, n, part: parquet.append(part))
    assert parquet[-1] == 1.0


def test_rows_that_fill_the_last_part_exactly_leave_no_empty_part(tmp_path: Path) -> None:
    source = tmp_path / "accounts.csv"
    source.write_text("accountId,name,accountClass,currency\n" + "".join(
        f"A{n},Name {n},/Account/accountClass[invoiced],USD\n" for n in range(20)),
        encoding="utf-8")
    result = ldtransform.convert(source, schema=SCHEMA, out=tmp_path / "out", max_records=10)
    assert [p.records for p in result.parts] == [10, 10]
    assert sorted(p.name for p in (tmp_path / "out").glob("Account-*")) == [
        "Account-00001.json", "Account-00002.json"]
    empty = ldtransform.convert(source, schema=SCHEMA, out=tmp_path / "none", max_records=10,
                                transforms=[{"name": "filter", "where": 'accountId = "none"'}])
    assert [p.records for p in empty.parts] == [0]
