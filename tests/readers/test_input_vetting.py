"""Inputs that are not data: empty files, binary files, ZIP archives, directories, pipes
and devices get one clear error (exit 3) from every command, before any parsing; standard
input is read when named as ``-``; a wrong delimiter gets a hint."""

from __future__ import annotations

import codecs
import gzip
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import ldtransform
from ldtransform.cli import EXIT_READ, main
from ldtransform.errors import ReadError

SAMPLES = Path(__file__).parent.parent.parent / "samples"
SCHEMA = str(SAMPLES / "schemas" / "Account.json")


def commands(source: str, out: Path) -> dict[str, list[str]]:
    """Every command that reads a source, reading ``source``."""
    return {
        "inspect": ["inspect", source],
        "validate": ["validate", source, "--schema", SCHEMA, "--rejected-dir", str(out)],
        "convert": ["convert", source, "--schema", SCHEMA, "--out", str(out / "converted")],
        "schema infer": ["schema", "infer", source, "--item-type", "Account"],
    }


def zip_of(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("accounts.csv", data)
    return buffer.getvalue()


def binary_data() -> bytes:
    # What a binary file starts with: a magic number, sizes as little-endian integers.
    return b"\x89BIN\r\n\x1a\n" + (1234).to_bytes(4, "little") + bytes(range(256)) * 4


Make = Callable[[Path], Path]


def written(name: str, data: bytes) -> Make:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path
    return make


def directory(folder: Path) -> Path:
    path = folder / "accounts.csv"
    path.mkdir()
    return path


def fifo(folder: Path) -> Path:
    path = folder / "accounts.csv"
    os.mkfifo(path)  # nobody ever writes to it: opening it for reading would block
    return path


BAD_INPUTS: dict[str, tuple[Make, str]] = {
    "0 bytes": (written("accounts.csv", b""), "the file is empty"),
    "0 bytes of JSON": (written("accounts.json", b""), "the file is empty"),
    "only a BOM": (written("accounts.csv", codecs.BOM_UTF8), "the file is empty"),
    "only whitespace": (written("accounts.jsonl", b" \r\n\n\t\n"), "the file is empty"),
    "only a UTF-16 BOM and blanks": (written("accounts.json", " \n".encode("utf-16")),
                                     "the file is empty"),
    "gzip of nothing": (written("accounts.csv.gz", gzip.compress(b"")), "the file is empty"),
    "binary named .csv": (written("accounts.csv", binary_data()), "not a text file"),
    "binary named .json": (written("accounts.json", binary_data()), "not a text file"),
    "ZIP named .csv": (written("accounts.csv", zip_of(b"id\n1\n")), "this is a ZIP archive"),
    "ZIP named .jsonl": (written("accounts.jsonl", zip_of(b"{}\n")), "this is a ZIP archive"),
    "directory": (directory, "this is a directory, not a regular file"),
    "FIFO": (fifo, "not a regular file: it is a named pipe"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_every_command_refuses_what_is_not_data(tmp_path: Path, case: str) -> None:
    make, message = BAD_INPUTS[case]
    source = make(tmp_path)
    for command, args in commands(str(source), tmp_path).items():
        result = CliRunner().invoke(main, args)
        assert result.exit_code == EXIT_READ, (command, result.output)
        assert f"error: {source}: {message}" in result.output, (command, result.output)
        assert "Traceback" not in result.output
    assert not (tmp_path / "converted").exists() or not any((tmp_path / "converted").iterdir())


def test_a_character_device_is_refused() -> None:
    for command, args in commands("/dev/zero", Path("/nonexistent")).items():
        result = CliRunner().invoke(main, [*args, "--format", "csv"])
        assert result.exit_code == EXIT_READ, (command, result.output)
        assert "/dev/zero: not a regular file: it is a character device" in result.output


def test_real_processes_exit_3_on_a_fifo_and_an_empty_file(tmp_path: Path) -> None:
    """The three reading commands, run as real processes side by side."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    running = {}
    for case in ("FIFO", "0 bytes"):
        folder = tmp_path / case.replace(" ", "-")
        folder.mkdir()
        make, message = BAD_INPUTS[case]
        source = make(folder)
        for command, args in commands(str(source), folder).items():
            if command != "schema infer":
                running[command, message] = subprocess.Popen(
                    [sys.executable, "-m", "ldtransform", *args], stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, text=True, env=env)
    for (command, message), process in running.items():
        try:
            _, stderr = process.communicate(timeout=60)  # a FIFO used to hang for ever
        finally:
            process.kill()
        assert process.returncode == EXIT_READ, (command, stderr)
        assert message in stderr and "Traceback" not in stderr, (command, stderr)


@pytest.mark.parametrize("case", ["0 bytes", "only a BOM", "binary named .csv", "FIFO",
                                  "directory"])
def test_the_python_api_raises_read_error(tmp_path: Path, case: str) -> None:
    make, message = BAD_INPUTS[case]
    with pytest.raises(ReadError, match=message):
        ldtransform.read(make(tmp_path))


def test_readers_used_directly_refuse_a_fifo(tmp_path: Path) -> None:
    from ldtransform.readers.csv import CsvReader
    from ldtransform.readers.json import JsonLinesReader

    source = fifo(tmp_path)
    for reader in (CsvReader(), JsonLinesReader()):
        with pytest.raises(ReadError, match="not a regular file"):
            reader.read(source)


def test_utf16_text_is_not_taken_for_binary(tmp_path: Path) -> None:
    with_bom = tmp_path / "wide.csv"
    with_bom.write_bytes("id,name\n1,Zoë\n".encode("utf-16"))
    assert ldtransform.read(with_bom).to_table().to_pylist() == [{"id": "1", "name": "Zoë"}]
    without = tmp_path / "wide.jsonl"
    without.write_bytes('{"id": 1}\n'.encode("utf-16-le"))
    with pytest.raises(ReadError, match=r"not a text file.*encoding='utf-16-le'"):
        ldtransform.read(without)
    assert ldtransform.read(without, encoding="utf-16-le").to_table().to_pylist() == [
        {"id": 1}]


def test_a_workbook_is_still_read_as_a_workbook(tmp_path: Path) -> None:
    # An .xlsx file is a ZIP archive: only the text readers refuse ZIP archives.
    assert ldtransform.read(SAMPLES / "accounts.xlsx").to_table().num_rows > 0


# -- standard input --------------------------------------------------------------------


def test_dash_reads_standard_input_in_every_command(tmp_path: Path) -> None:
    data = (SAMPLES / "accounts.csv").read_bytes()
    for command, args in commands("-", tmp_path).items():
        result = CliRunner().invoke(main, [*args, "--format", "csv"], input=data)
        assert result.exit_code in (0, 5), (command, result.output)  # 5: rows rejected
    inspected = CliRunner().invoke(main, ["inspect", "-", "--format", "csv", "--json"],
                                   input=data)
    assert json.loads(inspected.output)["rows"] == 25


def test_dash_needs_a_format() -> None:
    result = CliRunner().invoke(main, ["inspect", "-"], input=b"id\n1\n")
    assert result.exit_code == 4
    assert "standard input ('-')" in result.output and "--format" in result.output


def test_dash_reads_standard_input_in_a_real_process() -> None:
    data = (SAMPLES / "accounts.jsonl").read_bytes()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run([sys.executable, "-m", "ldtransform", "inspect", "-", "--format",
                             "jsonl", "--json"], input=data, capture_output=True, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rows"] == 25


# -- a delimiter that does not split the header ----------------------------------------


SEMICOLONS = b"accountId;name;city\n000417;Ann;Boston\n000418;Smith, John;Denver\n"


def test_a_semicolon_file_read_with_commas_gets_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_bytes(SEMICOLONS)
    # The comma in "Smith, John" makes a row of two fields under a one-column header.
    with pytest.raises(ReadError, match="delimiter=';'") as caught:
        ldtransform.read(path, delimiter=",").to_table()
    assert caught.value.line == 3
    result = CliRunner().invoke(main, ["inspect", str(path), "--delimiter", ","])
    assert result.exit_code == EXIT_READ and "--delimiter ';'" in result.output
    # Sniffed, it reads; given rightly, no hint.
    assert ldtransform.read(path).to_table().num_rows == 2
    assert ldtransform.read(path, delimiter=";").issues == []


def test_the_hint_reaches_validate_when_no_row_breaks(tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_bytes(SEMICOLONS.replace(b"Smith, John", b"Bob"))
    frames = ldtransform.read(path, delimiter=",")
    assert [issue.code for issue in frames.issues] == ["delimiter-hint"]
    result = CliRunner().invoke(main, ["validate", str(path), "--schema", SCHEMA,
                                       "--delimiter", ",", "--rejected-dir", str(tmp_path),
                                       "--json"])
    report = json.loads(result.output)
    hints = [i for i in report["issues"] if i["code"] == "delimiter-hint"]
    assert hints and "delimiter=';'" in hints[0]["message"]  # JSON keeps the library's words


def test_the_hint_reaches_a_mapping_that_finds_no_columns() -> None:
    result = CliRunner().invoke(main, [
        "validate", str(SAMPLES / "messy" / "accounts_semicolon.csv"), "--schema", SCHEMA,
        "--mapping", str(SAMPLES / "mappings" / "accounts.toml"), "--delimiter", ","])
    assert result.exit_code == 4
    assert "columns not found" in result.output and "--delimiter ';'" in result.output


# -- the encoding hint -----------------------------------------------------------------


@pytest.mark.parametrize(("name", "line"), [
    ("late.csv", b"1,plain ascii\n"), ("late.jsonl", b'{"a": "plain ascii"}\n')])
def test_auto_is_not_suggested_when_auto_was_given(tmp_path: Path, name: str,
                                                   line: bytes) -> None:
    # The first 64 KiB are ASCII, so 'auto' chooses UTF-8; a cp1252 byte comes later.
    header = b"id,note\n" if name.endswith(".csv") else b""
    path = tmp_path / name
    path.write_bytes(header + line * 8000 + line.replace(b"ascii", b"caf\xe9"))
    result = CliRunner().invoke(main, ["inspect", str(path), "--encoding", "auto"])
    assert result.exit_code == EXIT_READ, result.output
    assert "not valid utf-8" in result.output
    # Said as a command-line user types it.
    assert "--encoding auto" not in result.output.replace("--encoding auto chose", "")
    assert "--encoding auto chose utf-8" in result.output
    assert "--encoding cp1252" in result.output
    plain = CliRunner().invoke(main, ["inspect", str(path)])
    assert "--encoding auto" in plain.output  # without 'auto', it is worth suggesting
