"""The package surface: lazy heavy imports, a sorted public API, the entry points."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
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


def _imports_of_the_package_root(source: str) -> list[str]:
    """``from ldtransform import __version__`` and ``ldtransform.__version__`` in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "ldtransform" and node.level == 0:
            found += [alias.name for alias in node.names if alias.name == "__version__"]
        elif (isinstance(node, ast.Attribute) and node.attr == "__version__"
              and isinstance(node.value, ast.Name) and node.value.id == "ldtransform"):
            found.append("ldtransform.__version__")
    return found


def test_the_root_finder_sees_both_spellings() -> None:
    assert _imports_of_the_package_root(
        "from ldtransform import __version__\nimport ldtransform\nv = ldtransform.__version__"
    ) == ["__version__", "ldtransform.__version__"]
    assert _imports_of_the_package_root("from ldtransform._version import __version__") == []


def test_no_module_reaches_for_the_package_root_for_its_version() -> None:
    package = Path(ldtransform.__file__).parent
    offenders = {
        str(path.relative_to(package)): found
        for path in sorted(package.rglob("*.py"))
        if path != package / "__init__.py"
        and (found := _imports_of_the_package_root(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_the_version_is_the_one_in_pyproject() -> None:
    pyproject = Path(ldtransform.__file__).parent.parent / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]
    assert ldtransform.__version__ == declared
    from ldtransform._version import __version__

    assert __version__ is ldtransform.__version__
