"""The README's benchmark tables are pasted from bench/results, never typed in."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


readme_tables = _load("readme_tables")

TEXT = """intro
<!-- bench/results/one.md -->
| old | 1.00 |
<!-- end of bench/results/one.md -->
middle
<!-- bench/results/two.md -->
| kept | 2.00 |
<!-- end of bench/results/two.md -->
"""


def test_a_block_is_replaced_by_its_results_file(tmp_path: Path) -> None:
    (tmp_path / "one.md").write_text("| new | 3.00 |\n\n_load_\n", encoding="utf-8")
    text = readme_tables.pasted(TEXT, tmp_path)
    assert "| new | 3.00 |\n\n_load_\n<!-- end of bench/results/one.md -->" in text
    assert "| old |" not in text
    assert "| kept | 2.00 |" in text  # no results file yet: left as it was
    assert readme_tables.blocks(text) == ["one", "two"]


def test_the_readme_shows_what_the_benchmarks_printed() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    names = readme_tables.blocks(text)
    opened = re.findall(r"<!-- bench/results/[\w.-]+\.md -->", text)
    assert len(opened) == len(names)  # every block is closed
    assert "bench_issue_table" in names
    assert readme_tables.pasted(text) == text
