"""The CSV reader in real processes: every read ends with a clean exit, every failed read
with its error (exit 3 from the CLI), never an abort; long rows read up to the limit."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import ldtransform
from ldtransform.errors import ReadError

ROWS = 20_000

# Reads a CSV (a path, or standard input for "-") and prints its first row number, its
# rows and a digest of the names; "first" stops after the first batch, leaving pyarrow's
# read-ahead mid-file. Lean: the package's own __init__ (pipeline, mapping) is skipped.
READ_SCRIPT = """
import hashlib, sys, types
package, source, encoding, how = sys.argv[1:]
sys.modules["ldtransform"] = types.ModuleType("ldtransform")
sys.modules["ldtransform"].__path__ = [package]
from ldtransform.readers.csv import CsvReader
reader = CsvReader(encoding=None if encoding == "default" else encoding)
frames = reader.read(sys.stdin.buffer if source == "-" else source, batch_size=500)
rows, firsts, digest = 0, [], hashlib.sha256()
for first, batch in frames.numbered():
    rows += batch.num_rows
    firsts.append(first)
    digest.update("".join(name + "\\n" for name in batch.column("name").to_pylist()).encode())
    if how == "first":
        break
print(firsts[0], rows, digest.hexdigest())
"""
PACKAGE = str(Path(ldtransform.__file__).parent)


def expected(how: str) -> str:
    """What READ_SCRIPT prints for the file ``sources`` writes, computed in this process."""
    names = [f"Café {i}, \"the\" shop" for i in range(ROWS)]
    if how == "first":
        names = names[:500]
    digest = hashlib.sha256("".join(name + "\n" for name in names).encode())
    return f"2 {len(names)} {digest.hexdigest()}"


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same table as UTF-8, cp1252 and gzip files (each many parse blocks long)."""
    folder = tmp_path_factory.mktemp("exits")
    text = "id,name,city\n" + "".join(
        f'{i},"Café {i}, ""the"" shop",Boston\n' for i in range(ROWS))
    files = {"utf-8": folder / "shops.csv", "cp1252": folder / "shops-cp1252.csv",
             "gzip": folder / "shops.csv.gz"}
    files["utf-8"].write_text(text, encoding="utf-8")
    files["cp1252"].write_text(text, encoding="cp1252")
    files["gzip"].write_bytes(gzip.compress(text.encode(), compresslevel=1))
    return files


def run_read(args: tuple[str, str, str, Path | None]) -> tuple[int, str, str]:
    source, encoding, how, stdin = args
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as feed:
        done = subprocess.run([sys.executable, "-c", READ_SCRIPT, PACKAGE, source, encoding, how],
                              stdin=feed, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout.strip(), done.stderr[-500:]


def test_two_hundred_reads_all_exit_cleanly_with_the_right_rows(
        sources: dict[str, Path]) -> None:
    # Reads left mid-file (pyarrow still reading ahead at exit) and whole reads, from a
    # file pyarrow reads itself, a gzip file, a transcoded cp1252 file and a pipe.
    kinds = [
        (str(sources["utf-8"]), "default", "first", None),
        (str(sources["utf-8"]), "default", "all", None),
        (str(sources["gzip"]), "default", "first", None),
        (str(sources["cp1252"]), "cp1252", "first", None),
        ("-", "default", "first", sources["utf-8"]),
    ]
    runs = [kinds[i % len(kinds)] for i in range(200)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run_read, runs))
    failed = [(run, result) for run, result in zip(runs, results, strict=True)
              if result[:2] != (0, expected(run[2]))]
    assert not failed, f"{len(failed)} of 200 runs went wrong, e.g. {failed[0]}"


# -- rows longer than a parse block ----------------------------------------------------

def test_a_value_of_several_mib_reads_whole(tmp_path: Path) -> None:
    big = "x, y\n\"z\" " * 400_000  # 3.6 MB, delimiters, quotes and newlines inside
    quoted = big.replace('"', '""')
    path = tmp_path / "big.csv"
    path.write_text(f'id,note,city\n1,short,Boston\n2,"{quoted}",Austin\n3,last,Denver\n',
                    encoding="utf-8", newline="")
    frames = ldtransform.read(path, batch_size=100)
    numbered = {first + i: row for first, batch in frames.numbered()
                for i, row in enumerate(batch.to_pylist())}
    assert numbered == {2: {"id": "1", "note": "short", "city": "Boston"},
                        3: {"id": "2", "note": big, "city": "Austin"},
                        4: {"id": "3", "note": "last", "city": "Denver"}}


def write_row_past_the_limit(path: Path) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('id,note,city\n1,short,Boston\n2,"fine",Austin\n3,ok,"')
        handle.write("y" * (33 << 20))  # more than two blocks of the largest size
        handle.write('"\n4,after,Denver\n')


def test_a_row_past_the_limit_is_a_read_error_naming_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    write_row_past_the_limit(path)
    with pytest.raises(ReadError, match="longer than 16 MiB") as caught:
        ldtransform.read(path).to_table()
    assert (caught.value.row, caught.value.line, caught.value.column) == (4, 4, "C (city)")


# -- inputs that used to abort the process ---------------------------------------------

def nul_bytes(path: Path) -> None:
    with open(path, "wb") as handle:
        handle.truncate(5 << 30)  # a sparse 5 GB file of NUL bytes


def gzip_bomb(path: Path) -> None:
    with gzip.open(path, "wb", compresslevel=1) as handle:
        zeros = b"\0" * (1 << 20)
        for _ in range(256):
            handle.write(zeros)


def zip_archive(path: Path) -> None:
    inner = path.with_suffix(".txt")
    inner.write_text("id,name\n" + "".join(f"{i},shop {i}\n" for i in range(50_000)))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(inner, "shops.csv")


@pytest.mark.parametrize(("name", "make", "message"), [
    ("huge.csv", write_row_past_the_limit, r"line 4, column 'C \(city\)': the row is longer "
                                           r"than 16 MiB"),
    ("zeros.csv", nul_bytes, r"zeros\.csv: not a text file"),
    ("bomb.csv.gz", gzip_bomb, r"bomb\.csv\.gz: not a text file"),
    ("archive.csv", zip_archive, r"archive\.csv(, line 1)?: (this is a ZIP archive|bytes)"),
])
def test_a_failing_input_exits_3_with_its_error(tmp_path: Path, name: str, make: object,
                                                 message: str) -> None:
    path = tmp_path / name
    make(path)  # type: ignore[operator]
    done = subprocess.run([sys.executable, "-m", "ldtransform", "inspect", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr[-2000:]
    assert "Fatal Python error" not in done.stderr
    output = " ".join((done.stdout + done.stderr).split())
    assert "error:" in output
    assert re.search(message, output), output


def test_a_gzip_bomb_given_as_a_stream_is_refused_without_unpacking_it() -> None:
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", compresslevel=1) as handle:
        zeros = b"\0" * (1 << 20)
        for _ in range(256):
            handle.write(zeros)
    packed.seek(0)
    with pytest.raises(ReadError, match="not a text file"):
        ldtransform.read(packed, format="csv").to_table()


def test_bytes_invalid_in_the_named_encoding_name_their_line(tmp_path: Path) -> None:
    path = tmp_path / "shops.csv"
    path.write_bytes("id,name\n1,Café\n2,bad \x81 byte\n".encode("latin-1"))
    with pytest.raises(ReadError, match=r"line 3: bytes b'\\x81' at byte 21 are not valid "
                                        "cp1252"):
        ldtransform.read(path, encoding="cp1252").to_table()
