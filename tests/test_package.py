"""The package surface: lazy heavy imports, a sorted public API, the entry points."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import ldtransform


def run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_import_does_not_load_optional_or_heavy_stacks() -> None:
    loaded = run(
        "import sys, ldtransform; "
        "print(sorted(m for m in ('python_calamine', 'fastapi', 'uvicorn', 'pandas', "
        "'rich', 'openpyxl') if m in sys.modules))"
    )
    assert loaded == "[]"


def test_cli_help_does_not_load_readers_or_optional_stacks() -> None:
    loaded = run(
        "import sys; from click.testing import CliRunner; from ldtransform.cli import main; "
        "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0, r.output; "
        "print(sorted(m for m in ('python_calamine', 'pandas', 'fastapi', 'rich', "
        "'ldtransform.readers.csv') "
        "if m in sys.modules))"
    )
    assert loaded == "[]"


def test_public_names_are_sorted_and_exist() -> None:
    assert ldtransform.__all__ == sorted(ldtransform.__all__)
    for name in ldtransform.__all__:
        assert hasattr(ldtransform, name), name


def test_every_error_derives_from_the_base() -> None:
    from ldtransform import errors

    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.LdTransformError)


def test_python_dash_m_and_console_script() -> None:
    helped = subprocess.run([sys.executable, "-m", "ldtransform", "--help"],
                            capture_output=True, text=True, check=True).stdout
    assert "inspect" in helped and "plugins" in helped
    script = subprocess.run([str(Path(sys.executable).with_name("ldtransform")), "--help"],
                            capture_output=True, text=True, check=True).stdout
    assert script == helped
    out = subprocess.run([sys.executable, "-m", "ldtransform", "--version"],
                         capture_output=True, text=True, check=True).stdout
    assert ldtransform.__version__ in out
