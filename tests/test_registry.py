"""Plugin discovery through real entry points: built-ins, conflicts, broken plugins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fakeplugins import fake_distribution

from ldtransform import registry
from ldtransform.errors import UnknownFormatError


def run_python(site: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=120)


READER_MODULE = """
    import pyarrow as pa
    from ldtransform import Frames

    class Reader:
        format = "{name}"
        suffixes = ("{suffix}",)
        def read(self, source, *, schema=None, batch_size=65536):
            return Frames(pa.schema([("x", pa.string())]), iter(()))
"""


def test_builtin_readers_by_suffix() -> None:
    cases = {"a.csv": "csv", "a.CSV.GZ": "csv", "a.tsv": "csv", "b.xlsx": "excel",
             "b.xlsm": "excel", "b.xls": "excel", "b.ods": "excel", "c.parquet": "parquet",
             "c.pq": "parquet", "d.json": "json", "d.jsonl": "jsonl", "d.ndjson": "jsonl"}
    for filename, fmt in cases.items():
        assert registry.reader_for_source(filename).format == fmt, filename


def test_unknown_suffix_lists_installed_readers() -> None:
    with pytest.raises(UnknownFormatError) as caught:
        registry.reader_for_source("report.docx")
    message = str(caught.value)
    assert "report.docx" in message and "csv" in message and "parquet" in message


def test_unknown_format_name_lists_installed_readers() -> None:
    with pytest.raises(UnknownFormatError, match=r"installed readers: .*csv.*excel"):
        registry.load("reader", "xlsx")


def test_unnamed_stream_needs_a_format() -> None:
    import io

    with pytest.raises(UnknownFormatError, match="pass format="):
        registry.reader_for_source(io.BytesIO(b""))


def test_plugin_is_found_and_loaded_lazily(tmp_path: Path) -> None:
    fake_distribution(tmp_path, "ldt-fwf", """
        [ldtransform.readers]
        fwf = ldt_fwf:Reader
    """, READER_MODULE.format(name="fwf", suffix=".fakefwf"))  # .fwf: the real plugin's
    result = run_python(tmp_path, """
        import sys, ldtransform
        from ldtransform import registry
        spec = registry.find("reader", "fwf")
        assert "ldt_fwf" not in sys.modules          # found without importing
        print(spec.distribution, spec.version, registry.reader_for_source("x.fakefwf").format)
        print(ldtransform.read("x.fakefwf").schema.names)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["ldt-fwf 1.0 fwf", "['x']"]


def test_two_distributions_claiming_one_name_is_an_error_naming_both(tmp_path: Path) -> None:
    for dist in ("ldt-one", "ldt-two"):
        fake_distribution(tmp_path, dist, f"""
            [ldtransform.readers]
            dup = {dist.replace('-', '_')}:Reader
        """, READER_MODULE.format(name="dup", suffix=".dup"))
    result = run_python(tmp_path, """
        import ldtransform
        ldtransform.read("file.bin", format="dup")
    """)
    assert result.returncode != 0
    assert "PluginConflictError" in result.stderr
    assert "ldt-one 1.0" in result.stderr and "ldt-two 1.0" in result.stderr


def test_plugin_claiming_a_builtin_name_conflicts(tmp_path: Path) -> None:
    fake_distribution(tmp_path, "ldt-csv", """
        [ldtransform.readers]
        csv = ldt_csv:Reader
    """, READER_MODULE.format(name="csv", suffix=".csv"))
    result = run_python(tmp_path, "import ldtransform; ldtransform.read('a.csv')")
    assert "PluginConflictError" in result.stderr
    assert "claimed by both ldtransform " in result.stderr and "ldt-csv 1.0" in result.stderr


def test_broken_plugin_fails_only_when_used_and_names_itself(tmp_path: Path) -> None:
    fake_distribution(tmp_path, "ldt-broken", """
        [ldtransform.readers]
        broken = ldt_broken:Reader
    """, "raise RuntimeError('boom at import')\n")
    sample = tmp_path / "ok.csv"
    sample.write_text("a\n1\n")
    result = run_python(tmp_path, f"""
        import ldtransform
        from ldtransform.errors import PluginLoadError
        assert ldtransform.read({str(sample)!r}).to_table().num_rows == 1
        try:
            ldtransform.read("x.bin", format="broken")
        except PluginLoadError as exc:
            print(exc)
    """)
    assert result.returncode == 0, result.stderr
    assert "'broken'" in result.stdout and "ldt-broken 1.0" in result.stdout
    assert "boom at import" in result.stdout


def test_plugins_command_lists_everything_with_status(tmp_path: Path) -> None:
    fake_distribution(tmp_path, "ldt-broken", """
        [ldtransform.readers]
        broken = ldt_broken:Reader
    """, "raise RuntimeError('boom')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "ldtransform", "plugins", "--json"],
                            env=env, capture_output=True, text=True, check=True)
    rows = {(row["kind"], row["name"]): row for row in json.loads(result.stdout)}
    assert rows[("reader", "csv")]["distribution"] == "ldtransform"
    assert rows[("reader", "csv")]["status"] == "ok"
    assert rows[("reader", "broken")]["status"] == "broken"
    assert rows[("reader", "broken")]["distribution"] == "ldt-broken"
    human = subprocess.run([sys.executable, "-m", "ldtransform", "plugins"], env=env,
                           capture_output=True, text=True, check=True).stdout
    assert "broken" in human and "ldt-broken" in human
