"""Installed-looking plugin distributions for tests: a dist-info folder with entry points,
and the plugin's module beside it, in a folder put on ``sys.path``."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ldtransform import registry
from ldtransform.cli._words import _reader_option_names


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


@contextmanager
def installed(site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The distributions in ``site`` seen by the registry (and the CLI's list of reader
    options) inside the block, and forgotten after it."""
    monkeypatch.syspath_prepend(str(site))
    registry.refresh()
    _reader_option_names.cache_clear()
    try:
        yield
    finally:
        monkeypatch.undo()
        registry.refresh()
        _reader_option_names.cache_clear()
