"""Every plugin group the registry knows is documented, has a public conformance suite, and
every built-in plugin passes that suite, as a third party's would."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ldtransform import registry, testing

ROOT = Path(__file__).resolve().parent.parent
SUITES = {"reader": "ReaderContract", "writer": "WriterContract",
          "validator": "ValidatorContract", "transform": "TransformContract"}


def plugin_docs() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme[readme.index("## Writing a plugin"):].split("\n## ", 1)[0]


def suites_run_in(path: Path) -> set[tuple[str, str]]:
    """(kind, plugin name) for each class in ``path`` that subclasses a suite, directly or
    through another class of the module, read from its ``format``/``name`` assignment."""
    kind_of = {suite: kind for kind, suite in SUITES.items()}
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.ClassDef):
            continue
        kinds = {kind_of[b.id] for b in node.bases if isinstance(b, ast.Name) and b.id in kind_of}
        if not kinds:
            continue
        kind_of[node.name] = kind = kinds.pop()
        for statement in node.body:
            if (isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant)
                    and any(isinstance(t, ast.Name) and t.id in ("format", "name")
                            for t in statement.targets)):
                found.add((kind, statement.value.value))
    return found


def test_the_suites_cover_the_registry() -> None:
    assert set(SUITES) == set(registry.GROUPS)


@pytest.mark.parametrize("kind", sorted(registry.GROUPS))
def test_each_group_is_documented_with_its_suite(kind: str) -> None:
    docs = plugin_docs()
    assert f"`{registry.GROUPS[kind]}`" in docs
    assert f"`{SUITES[kind]}`" in docs
    assert SUITES[kind] in testing.__all__ and isinstance(getattr(testing, SUITES[kind]), type)


@pytest.mark.parametrize("kind", sorted(registry.GROUPS))
def test_every_built_in_passes_its_suite(kind: str) -> None:
    tested = set().union(*map(suites_run_in, (ROOT / "tests").rglob("test_*.py")))
    assert {(kind, name) for name in registry.BUILTINS[kind]} <= tested


def test_the_finder_follows_subclasses_of_subclasses(tmp_path: Path) -> None:
    module = tmp_path / "test_x.py"
    module.write_text('class A(WriterContract):\n    format = "a"\n\n'
                      'class B(A):\n    format = "b"\n\nclass C:\n    format = "c"\n')
    assert suites_run_in(module) == {("writer", "a"), ("writer", "b")}
