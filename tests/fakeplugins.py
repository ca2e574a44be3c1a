"""Installed-looking plugin distributions for tests: a dist-info folder with entry points,
and the plugin's module beside it, in a folder put on ``sys.path``."""

from __future__ import annotations

import textwrap
from pathlib import Path


def fake_distribution(site: Path, name: str, entry_points: str, module: str = "",
                      version: str = "1.0") -> None:
    """Write distribution ``name`` (dist-info + module ``name`` with ``_`` for ``-``)."""
    stem = name.replace("-", "_")
    info = site / f"{stem}-{version}.dist-info"  # as wheels name it
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    if module:
        (site / f"{stem}.py").write_text(textwrap.dedent(module))
