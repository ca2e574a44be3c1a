"""BlockFile: the bytes given land in the file, whole blocks straight to disk where the
file system allows, and every other way (refused, short writes, no direct writes at all)
through the cache."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from unittest import mock

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldtransform import _blockfile
from ldtransform._blockfile import BlockFile

BLOCK = 4096


def direct_writes_allowed(folder: Path) -> bool:
    if not getattr(os, "O_DIRECT", 0):
        return False
    try:
        fd = os.open(folder / "probe", os.O_WRONLY | os.O_CREAT | os.O_DIRECT)
    except OSError:
        return False
    os.close(fd)
    return True


def direct_flag(fd: int) -> bool:
    """Whether ``fd`` has O_DIRECT set, as the system reports it."""
    import fcntl

    return bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT)


@contextmanager
def block_file(path: Path, *, direct: bool = True) -> Iterator[BlockFile]:
    """A BlockFile with 4 KiB blocks (writeback asked every two) over a new file at
    ``path``, closed afterwards; ``direct=False``: a system without direct writes."""
    with ExitStack() as patches:
        patches.enter_context(mock.patch.object(_blockfile, "BLOCK_BYTES", BLOCK))
        patches.enter_context(mock.patch.object(_blockfile, "WRITEBACK_BYTES", 2 * BLOCK))
        if not direct:
            patches.enter_context(mock.patch.object(_blockfile, "_DIRECT", 0))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            file = BlockFile(fd)
            yield file
            file.close()
        finally:
            os.close(fd)


chunks = st.lists(st.binary(max_size=3 * BLOCK + 7), max_size=12)


@settings(max_examples=60, deadline=None)
@given(chunks=chunks, direct=st.booleans(), as_arrow=st.booleans())
def test_the_file_holds_exactly_the_bytes_written(chunks: list[bytes], direct: bool,
                                                  as_arrow: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "part"
        with block_file(path, direct=direct) as file:
            for chunk in chunks:
                file.write(pa.py_buffer(chunk) if as_arrow else chunk)
        assert path.read_bytes() == b"".join(chunks)


def test_whole_blocks_go_straight_to_disk_and_the_last_one_through_the_cache(
        tmp_path: Path) -> None:
    if not direct_writes_allowed(tmp_path):
        pytest.skip(f"the file system of {tmp_path} takes no direct writes")
    data = os.urandom(3 * BLOCK + 100)
    with block_file(tmp_path / "part") as file:
        assert file.direct and direct_flag(file.fd)
        file.write(data)
        assert file.written == 3 * BLOCK and file.filled == 100
        assert file.direct and direct_flag(file.fd)
    assert (tmp_path / "part").read_bytes() == data


def test_the_last_block_turns_direct_writes_off(tmp_path: Path) -> None:
    if not direct_writes_allowed(tmp_path):
        pytest.skip(f"the file system of {tmp_path} takes no direct writes")
    fd = os.open(tmp_path / "part", os.O_WRONLY | os.O_CREAT)
    try:
        with mock.patch.object(_blockfile, "BLOCK_BYTES", BLOCK):
            file = BlockFile(fd)
            file.write(b"x" * (BLOCK + 1))
            file.close()
        assert not file.direct and not direct_flag(fd)
    finally:
        os.close(fd)
    assert (tmp_path / "part").read_bytes() == b"x" * (BLOCK + 1)


def test_a_refused_direct_write_goes_through_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Some file systems take the flag and then refuse the write (EINVAL): the block is
    written through the cache, and so is everything after it."""
    real_write = os.write
    refused: list[int] = []

    def refusing(fd: int, data: bytes) -> int:
        if getattr(os, "O_DIRECT", 0) and direct_flag(fd):
            refused.append(len(data))
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)

    monkeypatch.setattr(_blockfile.os, "write", refusing)
    data = os.urandom(5 * BLOCK + 9)
    with block_file(tmp_path / "part") as file:
        file.write(data)
        assert not file.direct
    assert (tmp_path / "part").read_bytes() == data
    assert refused in ([BLOCK], [])  # [] where the flag itself was refused


def test_a_short_write_leaves_the_rest_to_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that takes fewer bytes than a block leaves the file out of alignment for
    direct writes: the rest goes through the cache, and no byte is lost."""
    real_write = os.write
    calls: list[int] = []

    def short_once(fd: int, data: bytes) -> int:
        calls.append(len(data))
        if len(calls) > 1:
            return real_write(fd, data)
        import fcntl  # the first write takes 100 bytes only (no direct write is that short)

        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~getattr(os, "O_DIRECT", 0))
        try:
            return real_write(fd, bytes(data)[:100])
        finally:
            fcntl.fcntl(fd, fcntl.F_SETFL, flags)

    monkeypatch.setattr(_blockfile.os, "write", short_once)
    data = os.urandom(3 * BLOCK + 5)
    with block_file(tmp_path / "part") as file:
        file.write(data)
        assert not file.direct
    assert calls[:2] == [BLOCK, BLOCK - 100]
    assert (tmp_path / "part").read_bytes() == data


def test_the_cached_path_asks_for_each_range_to_be_written_out(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not hasattr(os, "posix_fadvise"):
        pytest.skip("no posix_fadvise on this system")
    real_advise = os.posix_fadvise
    asked: list[tuple[int, int]] = []

    def advise(fd: int, offset: int, length: int, advice: int) -> None:
        asked.append((offset, length))
        real_advise(fd, offset, length, advice)

    monkeypatch.setattr(_blockfile.os, "posix_fadvise", advise)
    data = os.urandom(7 * BLOCK + 3)
    with block_file(tmp_path / "part", direct=False) as file:
        file.write(data)
    # every two blocks (WRITEBACK_BYTES), one range after the other
    assert asked == [(0, 2 * BLOCK), (2 * BLOCK, 2 * BLOCK), (4 * BLOCK, 2 * BLOCK)]
    assert (tmp_path / "part").read_bytes() == data


def test_closing_while_a_view_of_the_staging_buffer_lives_on(tmp_path: Path) -> None:
    """A sampling profiler (such as Dask's) can keep a finished frame, and the view of the
    staging buffer in it, alive: closing still writes everything and raises nothing."""
    with block_file(tmp_path / "part") as file:
        file.write(b"x" * (BLOCK + 10))
        kept = file.staged[:10]
    assert bytes(kept) == b"x" * 10
    assert (tmp_path / "part").read_bytes() == b"x" * (BLOCK + 10)
