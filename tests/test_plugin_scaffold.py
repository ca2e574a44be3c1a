"""``ldtransform plugin new`` writes a package that installs and passes its contract tests
at once, for every kind of plugin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ldtransform.cli import EXIT_CONFIG, main
from ldtransform.cli._scaffold import KINDS, new_plugin
from ldtransform.testing import ReaderContract

ROOT = Path(__file__).resolve().parent.parent
CLASSES = {"reader": "TestMyreaderReader", "writer": "TestMywriterWriter",
           "validator": "TestMyvalidatorValidator", "transform": "TestMytransformTransform"}


def test_every_kind_installs_and_passes_its_contract_tests(tmp_path: Path) -> None:
    """Installed as a user would (a wheel built from the folder), into a folder of its own
    so the shared environment is untouched; its entry point is then found for real."""
    folders = [new_plugin(f"ldtransform-my{kind}", kind, tmp_path) for kind in KINDS]
    site = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--no-build-isolation", "--no-index", "--target", str(site), *map(str, folders)],
        capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider",
         *(str(folder / "tests") for folder in folders)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    for kind, test_class in CLASSES.items():
        module = f"test_ldtransform_my{kind}.py::{test_class}"
        passed = [line for line in done.stdout.splitlines()
                  if module in line and " PASSED" in line]
        assert len(passed) >= 6, (kind, done.stdout[-3000:])


def test_an_editable_install_passes_its_tests_too(tmp_path: Path) -> None:
    """`pip install -e`, as the README says: the code stays in the folder, found through
    the .pth file the install writes (a site folder, not just a path entry)."""
    folder = new_plugin("ldtransform-foo", "reader", tmp_path)
    site = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--no-build-isolation", "--no-index", "--target", str(site), "-e", str(folder)],
        capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    assert not (site / "ldtransform_foo").exists()  # not copied: the folder is used
    run = ("import site, sys; site.addsitedir(sys.argv[1]); import pytest; "
           "sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', sys.argv[2]]))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", run, str(site), str(folder / "tests")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    contract_tests = [name for name in dir(ReaderContract) if name.startswith("test_")]
    assert f"{len(contract_tests)} passed" in done.stdout, done.stdout[-3000:]


def test_the_package_names_follow_the_distribution_name(tmp_path: Path) -> None:
    folder = new_plugin("ldtransform-fixed-width", "reader", tmp_path)
    pyproject = (folder / "pyproject.toml").read_text(encoding="utf-8")
    assert 'name = "ldtransform-fixed-width"' in pyproject
    assert '[project.entry-points."ldtransform.readers"]\n' \
        'fixed-width = "ldtransform_fixed_width:FixedWidthReader"' in pyproject
    assert (folder / "ldtransform_fixed_width" / "__init__.py").is_file()
    assert "class TestFixedWidthReader(ReaderContract)" in \
        (folder / "tests" / "test_ldtransform_fixed_width.py").read_text(encoding="utf-8")
    assert "ldtransform.readers" in (folder / "README.md").read_text(encoding="utf-8")


def test_the_command_writes_in_the_current_folder(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    done = runner.invoke(main, ["plugin", "new", "ldtransform-trim", "--kind", "transform"])
    assert done.exit_code == 0, done.output
    assert "pip install -e './ldtransform-trim[test]'" in done.output
    assert (tmp_path / "ldtransform-trim" / "ldtransform_trim" / "__init__.py").is_file()
    again = runner.invoke(main, ["plugin", "new", "ldtransform-trim", "--kind", "transform"])
    assert again.exit_code == EXIT_CONFIG and "exists already" in again.output
    bad = runner.invoke(main, ["plugin", "new", "Not A Name", "--kind", "reader"])
    assert bad.exit_code == EXIT_CONFIG and "distribution name" in bad.output
    no_kind = runner.invoke(main, ["plugin", "new", "ldtransform-x"])
    assert no_kind.exit_code == 2 and "--kind" in no_kind.output
