"""Rules of the layout that an import contract cannot see."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "ldtransform"
# The commands: the cli package and the `serve` command, which lives with its server.
COMMANDS = ("cli/", "server/command.py")
PRINTERS = {"print", "echo", "secho"}


def prints(source: str) -> list[int]:
    """Lines of ``source`` that call print, click.echo/secho, or write to sys.stdout/stderr."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        called = node.func
        if (isinstance(called, ast.Name) and called.id in PRINTERS) or (
                isinstance(called, ast.Attribute) and (called.attr in PRINTERS or (
                    called.attr == "write" and isinstance(called.value, ast.Attribute)
                    and called.value.attr in ("stdout", "stderr")))):
            lines.append(node.lineno)
    return lines


def test_the_finder_sees_each_way_of_printing() -> None:
    source = ("print(1)\nclick.echo(2)\nsecho(3)\nsys.stderr.write('4')\n"
              "log.info('no')\nfile.write('no')\n")
    assert prints(source) == [1, 2, 3, 4]


def test_only_the_commands_print() -> None:
    printing = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if not relative.startswith(COMMANDS) and (lines := prints(path.read_text("utf-8"))):
            printing[relative] = lines
    assert printing == {}, "report through logging, Issues or return values instead"
