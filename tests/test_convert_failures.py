"""A conversion that fails leaves nothing of its own behind, and a source that changes
while it is converted is an error, not a manifest describing other bytes."""

from __future__ import annotations

import errno
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
    lines[row - 1] = lines[row - 1].replace(b",", b",\xff", 1)
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
    source = with_bad_byte(tmp_path / "in.csv", 24, row=501)
    seen: list[int] = []
    with pytest.raises(ldtransform.ReadError, match="line 501"):
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
