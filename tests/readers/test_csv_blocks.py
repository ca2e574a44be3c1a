"""The CSV reader parses in blocks of 64 to 128 KiB, or up to 512 KiB when asked to read
in bulk (as validation does), from a plain file or a gzip stream: whatever the blocks,
the same rows, row numbers and bad rows."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa

import ldtransform


def test_big_and_small_blocks_plain_or_gzipped_give_the_same_rows(tmp_path: Path) -> None:
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

    def rows(path: Path, batch_size: int, bulk: bool
             ) -> tuple[list[tuple[int, int]], pa.Table, list[int | None]]:
        frames = ldtransform.read(path, on_bad_row="report", batch_size=batch_size)
        if bulk:
            frames.read_in_bulk()
        numbered = list(frames.numbered())
        starts = [(n.first_row, n.batch.num_rows) for n in numbered]
        table = pa.Table.from_batches([n.batch for n in numbered])
        return _runs(starts), table, [issue.row for issue in frames.issues]

    big, small = rows(plain, 65_536, True), rows(packed, 300, False)  # 512 and 64 KiB
    assert big[1].equals(small[1])
    assert big[0] == small[0]  # the same row numbers, whatever the batches
    assert big[2] == small[2] == [i + 2 for i in range(60_000) if i % 9_973 == 5]
    assert big[1].num_rows == 60_000 - len(big[2])


def test_bulk_gives_fewer_bigger_batches_and_only_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(b"id,text\n" + b"".join(b"%d,%s\n" % (i, b"x" * 40) for i in range(80_000)))

    def batches(bulk: str) -> list[int]:
        frames = ldtransform.read(path)
        if bulk == "before":
            frames.read_in_bulk()
        sizes, numbered = [], frames.numbered()
        for batch in numbered:
            sizes.append(batch.batch.num_rows)
            if bulk == "after":
                frames.read_in_bulk()  # too late: the parse has begun
        return sizes

    plain, bulk, late = batches("no"), batches("before"), batches("after")
    assert sum(plain) == sum(bulk) == sum(late) == 80_000
    assert len(bulk) * 3 < len(plain)  # blocks four times as big
    assert late == plain


def _runs(starts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Batches as runs of consecutive row numbers: ``(first row, rows)``."""
    runs: list[tuple[int, int]] = []
    for first, count in starts:
        if runs and runs[-1][0] + runs[-1][1] == first:
            runs[-1] = (runs[-1][0], runs[-1][1] + count)
        else:
            runs.append((first, count))
    return runs
