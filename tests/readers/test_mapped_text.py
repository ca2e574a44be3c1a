"""A plain CSV file is parsed where it lies (mapped into memory), a compressed one from a
stream: both give the same rows and row numbers, and the mapped pages the parser has
read are let go of as it goes, so a big file never sits in the process."""

from __future__ import annotations

import gzip
import mmap
from pathlib import Path

import pyarrow as pa
import pytest

import ldtransform
from ldtransform.readers._text import Utf8Text


def _resident_kib(address: int) -> int:
    """The resident size of the mapping holding ``address`` (Linux's smaps)."""
    inside = False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()[0]
        if "-" in head and not head.endswith(":"):
            start, end = (int(part, 16) for part in head.split("-"))
            inside = start <= address < end
        elif inside and head == "Rss:":
            return int(line.split()[1])
    raise AssertionError("the mapping is not in /proc/self/smaps")


def test_pages_let_go_of_are_read_again_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    data = b"".join(b"%07d,some text here\n" % i for i in range(400_000))  # ~8 MiB
    path.write_bytes(data)
    mapped = Utf8Text(path=str(path)).mapped()
    assert mapped is not None
    try:
        address = pa.py_buffer(mapped.mapping).address
        assert mapped.stream.read() == data  # every page read once
        assert _resident_kib(address) > 4096
        mapped.drop_pages(len(data), len(data))
        assert _resident_kib(address) < 64
        mapped.stream.seek(0)
        assert mapped.stream.read() == data  # read again from the page cache
    finally:
        mapped.close()


def test_only_the_span_before_the_position_is_let_go_of(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * (4 << 20))
    mapped = Utf8Text(path=str(path)).mapped()
    assert mapped is not None
    try:
        address = pa.py_buffer(mapped.mapping).address
        mapped.stream.read()
        mapped.drop_pages(3 << 20, 1 << 20)  # the third MiB
        # The two MiB before it stay; the kernel may let go of the rest of a huge page.
        assert 2048 <= _resident_kib(address) <= 3072 + 64
    finally:
        mapped.close()


def test_empty_and_compressed_files_are_not_mapped(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "a.csv.gz").write_bytes(gzip.compress(b"a\n1\n"))
    assert Utf8Text(path=str(tmp_path / "empty.csv")).mapped() is None
    assert Utf8Text(path=str(tmp_path / "a.csv.gz"), gzip=True).mapped() is None


def test_a_file_read_in_place_and_its_gzip_give_the_same_rows(tmp_path: Path) -> None:
    """Many blocks of either size, values spanning lines and block edges, non-Latin text
    and bad rows in between: the same rows, numbered alike."""
    lines = ["id,name,notes"]
    for i in range(60_000):
        if i % 9_973 == 5:
            lines.append(f"{i},too,many,fields")
        else:
            lines.append(f'{i},"Имя {i}, «ок»","line one\r\nline ""two"" {i}"')
    data = ("\n".join(lines) + "\n").encode()
    plain, packed = tmp_path / "rows.csv", tmp_path / "rows.csv.gz"
    plain.write_bytes(data)
    packed.write_bytes(gzip.compress(data))

    def rows(path: Path) -> tuple[list[tuple[int, int]], pa.Table, list[int | None]]:
        frames = ldtransform.read(path, on_bad_row="report")
        numbered = list(frames.numbered())
        starts = [(n.first_row, n.batch.num_rows) for n in numbered]
        table = pa.Table.from_batches([n.batch for n in numbered])
        return _runs(starts), table, [issue.row for issue in frames.issues]

    in_place, streamed = rows(plain), rows(packed)
    assert in_place[1].equals(streamed[1])
    assert in_place[0] == streamed[0]  # the same row numbers, whatever the batches
    assert in_place[2] == streamed[2] == [i + 2 for i in range(60_000) if i % 9_973 == 5]
    assert in_place[1].num_rows == 60_000 - len(in_place[2])


def _runs(starts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Batches as runs of consecutive row numbers: ``(first row, rows)``."""
    runs: list[tuple[int, int]] = []
    for first, count in starts:
        if runs and runs[-1][0] + runs[-1][1] == first:
            runs[-1] = (runs[-1][0], runs[-1][1] + count)
        else:
            runs.append((first, count))
    return runs


def test_a_file_system_that_maps_no_files_is_read_as_a_stream(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(b"id,name\n" + b"".join(b'%d,"n\n%d"\n' % (i, i) for i in range(5000)))
    expected = ldtransform.read(path).to_table()

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(19, "No such device")

    monkeypatch.setattr(mmap, "mmap", refuse)
    assert Utf8Text(path=str(path)).mapped() is None
    assert ldtransform.read(path).to_table().equals(expected)
    assert expected.num_rows == 5000
