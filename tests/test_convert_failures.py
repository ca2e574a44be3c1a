"""A conversion that fails leaves nothing of its own behind, and a source that changes
while it is converted is an error, not a manifest describing other bytes."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_pipeline import FLAT, SAMPLES, SCHEMA, many_accounts

import ldtransform
from ldtransform import _parts
from ldtransform.cli import main


def visible(folder: Path) -> list[str]:
    """The files a person (or an uploader) would take for output."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) \
        if folder.exists() else []


def with_bad_byte(path: Path, copies: int, row: int) -> Path:
    """Accounts with an invalid UTF-8 byte in spreadsheet row ``row`` (header is row 1)."""
    many_accounts(path, copies)
    lines = path.read_bytes().split(b"\n")
    # Inside the first (unquoted) value, away from any quote.
    lines[row - 1] = lines[row - 1][:1] + b"\xff" + lines[row - 1][1:]
    path.write_bytes(b"\n".join(lines))
    return path


@pytest.fixture
def small_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows checked (and so written) in small groups, so parts are complete on disk
    long before the end of a source."""
    monkeypatch.setattr(ldtransform.validation, "CHECK_ROWS", 100)


def test_bad_bytes_after_complete_parts_leave_no_part(tmp_path: Path,
                                                      small_checks: None) -> None:
    # 14,000 rows: the reader's first 1 MiB blocks are converted before the bad bytes.
    source = with_bad_byte(tmp_path / "in.csv", 560, row=13001)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["convert", str(source), "--schema", str(SCHEMA),
                                       "--mapping", str(FLAT), "--out", str(out),
                                       "--max-records", "1000", "--on-error", "fail"])
    assert result.exit_code == 3, result.output
    assert "line 13001" in result.stderr and "utf-8" in result.stderr
    assert visible(out) == []


def test_a_read_error_also_removes_parts_in_the_python_api(tmp_path: Path,
                                                           small_checks: None) -> None:
    # Past the reader's first blocks and what validation reads ahead of the writer.
    source = with_bad_byte(tmp_path / "in.csv", 100, row=2001)
    seen: list[int] = []
    with pytest.raises(ldtransform.ReadError, match="line 2001"):
        ldtransform.convert(source, schema=SCHEMA, mapping=FLAT, out=tmp_path / "out",
                            max_records=100, batch_size=100, on_error="fail",
                            progress=lambda rows, name, part: seen.append(rows))
    assert seen and seen[-1] >= 300  # parts were complete before the error
    assert visible(tmp_path / "out") == []


def test_ctrl_c_removes_the_parts_and_rejected_files_of_every_source(
        tmp_path: Path, small_checks: None) -> None:
    second = many_accounts(tmp_path / "second.csv", 24)
    at_interrupt: list[str] = []

    def interrupt_in_the_second_source(rows: int, name: str, part: Any) -> None:
        if name == str(second):
            at_interrupt.extend(visible(tmp_path / "out"))
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ldtransform.convert([SAMPLES / "messy/accounts_errors.csv", second], schema=SCHEMA,
                            mapping=FLAT, out=tmp_path / "out", max_records=50,
                            batch_size=100, progress=interrupt_in_the_second_source)
    assert "accounts_errors.rejected.csv" in at_interrupt
    assert visible(tmp_path / "out") == []


def test_a_write_error_removes_the_parts_written_before_it(
        tmp_path: Path, small_checks: None, monkeypatch: pytest.MonkeyPatch) -> None:
    source = many_accounts(tmp_path / "in.csv", 24)
    original = _parts.PartSink._write
    calls = 0

    def disk_full_on_the_fifth_write(self: _parts.PartSink, part: Any, records: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        original(self, part, records)

    monkeypatch.setattr(_parts.PartSink, "_write", disk_full_on_the_fifth_write)
    with pytest.raises(OSError, match="No space left"):
        ldtransform.convert(source, schema=SCHEMA, mapping=FLAT, out=tmp_path / "out",
                            max_records=50, batch_size=100)
    assert calls == 5
    assert visible(tmp_path / "out") == []


def convert_changing(source: Path, out: Path, change: Any, **options: Any) -> None:
    """Convert ``source``, calling ``change(source)`` once, after the first batch."""
    changed: list[bool] = []

    def after_the_first_batch(rows: int, name: str, part: Any) -> None:
        if not changed:
            changed.append(True)
            change(source)

    ldtransform.convert(source, schema=SCHEMA, mapping=FLAT, out=out, batch_size=100,
                        progress=after_the_first_batch, **options)


def appended(path: Path) -> None:
    with path.open("ab") as f:
        f.write(path.read_bytes().split(b"\n", 1)[1])  # the same rows again


def truncated(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def replaced(path: Path) -> None:
    """Another file of the same size renamed over it (what many editors do)."""
    other = path.with_name("other.csv")
    other.write_bytes(path.read_bytes().replace(b"K0", b"X0"))
    os.replace(other, path)


def rewritten_in_place(path: Path) -> None:
    """Same size, same inode, other bytes; the modification time moves on as any write's
    does (set here, so the test does not depend on the clock's resolution)."""
    before = path.stat().st_mtime_ns
    with path.open("r+b") as f:
        f.write(b"accountId,nom")
    os.utime(path, ns=(before + 10**9, before + 10**9))


@pytest.mark.parametrize(("change", "says"), [
    (appended, "bytes became"), (truncated, "bytes became"),
    (replaced, "replaced by another file"), (rewritten_in_place, "rewritten")])
def test_a_source_that_changes_while_converted_is_an_error(
        tmp_path: Path, small_checks: None, change: Any, says: str) -> None:
    source = many_accounts(tmp_path / "in.csv", 24)
    out = tmp_path / "out"
    with pytest.raises(ldtransform.ReadError, match="changed while it was converted") as err:
        convert_changing(source, out, change, max_records=100)
    assert err.value.source == str(source) and says in str(err.value)
    assert visible(out) == []  # no manifest, and no part either


def test_a_big_source_cut_short_in_the_middle_of_its_blocks_is_an_error(
        tmp_path: Path, small_checks: None) -> None:
    """Many blocks still to parse when the file is cut to a fraction: the reader meets
    the end early, and the run is an error rather than a short manifest (or a crash)."""
    source = many_accounts(tmp_path / "in.csv", 2400)  # ~10 MB: about twenty blocks
    out = tmp_path / "out"
    with pytest.raises(ldtransform.ReadError, match="changed while it was converted"):
        convert_changing(source, out, lambda path: os.truncate(path, 100_000))
    assert visible(out) == []


def test_a_changed_source_fails_the_cli_with_exit_3(tmp_path: Path, small_checks: None,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    source = many_accounts(tmp_path / "in.csv", 24)
    real_convert = ldtransform.pipeline.convert

    def convert_while_appending(*args: Any, **kwargs: Any) -> Any:
        done: list[bool] = []

        def append_once(rows: int, name: str, part: Any) -> None:
            if not done:
                done.append(True)
                appended(source)

        return real_convert(*args, **{**kwargs, "progress": append_once})

    monkeypatch.setattr(ldtransform.pipeline, "convert", convert_while_appending)
    result = CliRunner().invoke(main, ["convert", str(source), "--schema", str(SCHEMA),
                                       "--mapping", str(FLAT), "--out", str(tmp_path / "o")])
    assert result.exit_code == 3, result.output
    assert f"{source}" in result.stderr and "changed while it was converted" in result.stderr
    assert visible(tmp_path / "o") == []


def test_an_unchanged_source_is_hashed_as_read(tmp_path: Path) -> None:
    source = many_accounts(tmp_path / "in.csv", 4)
    result = ldtransform.convert(source, schema=SCHEMA, mapping=FLAT, out=tmp_path / "out")
    assert result.manifest is not None
    [entry] = json.loads(result.manifest.read_bytes())["sources"]
    data = source.read_bytes()
    assert entry == {"path": str(source), "bytes": len(data),
                     "sha256": hashlib.sha256(data).hexdigest()}


def test_a_read_error_from_a_change_is_reported_as_the_change(tmp_path: Path,
                                                               small_checks: None) -> None:
    # Bytes far ahead of the reader overwritten with invalid UTF-8: the reader fails on
    # them, and the error says the file changed rather than blaming its encoding.
    # ~10 MB, so the bytes scribbled near the end lie past what the reader has read ahead.
    source = many_accounts(tmp_path / "in.csv", 2400)

    def scribble(path: Path) -> None:
        before = path.stat().st_mtime_ns
        with path.open("r+b") as f:
            f.seek(path.stat().st_size - 4096)
            f.write(b"\xff\xfe")
        os.utime(path, ns=(before + 10**9, before + 10**9))  # as rewritten_in_place

    with pytest.raises(ldtransform.ReadError, match="changed while it was converted") as err:
        convert_changing(source, tmp_path / "out", scribble)
    assert isinstance(err.value.__cause__, ldtransform.EncodingError)
    assert visible(tmp_path / "out") == []
