"""The plugin guide (docs/plugins.md) shows only what is true: its Python blocks run, its
scaffold output is what the scaffold writes, and it covers every plugin group."""

from __future__ import annotations

import importlib.util
import re
from importlib import metadata
from pathlib import Path

import pytest

from ldtransform import registry, testing
from ldtransform.cli._scaffold import new_plugin

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"(?:<!-- (\w+): ([^>]*) -->\n)?```(\w+)\n(.*?)\n```", re.DOTALL)


def blocks(language: str) -> list[tuple[str | None, str, str]]:
    """(marker, marker text, code) of each block in ``language``, in order."""
    return [(marker, note, code) for marker, note, lang, code in BLOCK.findall(GUIDE)
            if lang == language]


def installed(distribution: str) -> bool:
    """Whether ``distribution`` is installed and its module (named after it) imports."""
    try:
        metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return False
    return importlib.util.find_spec(distribution.replace("-", "_")) is not None


def test_the_python_blocks_run_in_order(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "guide"}
    ran = 0
    for marker, note, code in blocks("python"):
        if marker == "needs" and not installed(note.strip()):
            continue  # runs where the plugin is installed (make test installs plugins/*)
        exec(compile(code, "docs/plugins.md", "exec"), namespace)
        ran += 1
    assert ran >= 4


def test_the_scaffold_output_shown_is_the_scaffolds(tmp_path: Path) -> None:
    shown = [(note, code) for marker, note, code in blocks("toml") if marker == "scaffold"]
    assert shown
    for note, code in shown:
        name, kind, file = note.split()
        folder = new_plugin(name, kind, tmp_path / kind)
        assert (folder / file).read_text(encoding="utf-8").strip() == code.strip()


@pytest.mark.parametrize("kind", sorted(registry.GROUPS))
def test_every_group_and_its_suite_are_in_the_guide(kind: str) -> None:
    suite = {"reader": "ReaderContract", "writer": "WriterContract",
             "validator": "ValidatorContract", "transform": "TransformContract"}[kind]
    assert f"`{registry.GROUPS[kind]}`" in GUIDE and f"`{suite}`" in GUIDE
    assert suite in testing.__all__


def test_every_hook_of_the_reader_suite_is_documented() -> None:
    for hook in ("carries_newlines", "install_hint", "optional_modules", "expected"):
        assert hasattr(testing.ReaderContract, hook) and f"`{hook}" in GUIDE


def test_the_readme_links_the_guide() -> None:
    assert "(docs/plugins.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
