"""The reader holds one record at a time, not the file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ldtransform_xml._stream import RecordPath, records

import ldtransform

RECORDS = 20_000


def write_records(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as file:
        file.write("<export><accounts>\n")
        for number in range(count):
            file.write(f'<account id="{number}"><name>name {number}</name><city>Köln</city>'
                       f"<line><n>{number}</n></line><line><n>{-number}</n></line></account>\n")
        file.write("</accounts></export>\n")


def test_records_already_read_are_cleared_from_the_tree(tmp_path: Path) -> None:
    path = tmp_path / "many.xml"
    write_records(path, RECORDS)
    held = []
    for number, element in enumerate(records(str(path), path.name, RecordPath("account"))):
        if number % 1000 == 999:
            parent = element.getparent()
            held.append(len(parent))  # records still in the tree: the ones parsed ahead
            assert all(len(child) == 0 for child in element.itersiblings(preceding=True))
    assert len(held) == RECORDS // 1000
    assert max(held) < 2000, held  # never the whole file


def test_peak_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    # In a fresh interpreter, after one small read (imports), the peak resident size while
    # reading a file of many small records grows by far less than the tree would take.
    small, large = tmp_path / "small.xml", tmp_path / "large.xml"
    write_records(small, 10)
    write_records(large, RECORDS * 2)
    script = (
        "import resource, sys, ldtransform\n"
        "def peak(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024\n"
        "ldtransform.read(sys.argv[1], records='account').to_table()\n"
        "before = peak()\n"
        "rows = sum(b.num_rows for b in ldtransform.read(sys.argv[2], records='account',"
        " batch_size=500))\n"
        "print(rows, peak() - before)\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(small), str(large)],
                         capture_output=True, text=True, check=True).stdout.split()
    rows, growth_mib = int(out[0]), int(out[1])
    size_mib = large.stat().st_size / 2**20
    assert rows == RECORDS * 2
    # A parsed tree of this file takes about ten times its size; streaming, a few MiB.
    assert growth_mib < max(2 * size_mib, 8), (growth_mib, size_mib)


def test_child_records_of_many_records(tmp_path: Path) -> None:
    path = tmp_path / "many.xml"
    write_records(path, 50)
    table = ldtransform.read(path, records="account", batch_size=7).to_table()
    assert table.num_rows == 50
    assert table.column("line").to_pylist()[3] == [{"n": "3"}, {"n": "-3"}]
