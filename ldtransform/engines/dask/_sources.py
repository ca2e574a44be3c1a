"""The sources of a Dask run: globs and URLs expanded on the driver, read on the workers.

Paths without a protocol are read where they are (every worker must see them: a shared
file system); URLs (``s3://``, ``gs://``, ``abfs://``, ``memory://``...) are copied by
fsspec into a temporary folder on the worker, read from there and named by their URL.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from ldtransform.errors import ConfigError, ReadError

__all__ = ["expand", "local_copy"]


def _remote(source: str) -> bool:
    return "://" in source and not source.startswith("file://")


def expand(sources: Any) -> list[str]:
    """Every source as a path or URL, globs expanded in sorted order."""
    listed = list(sources) if isinstance(sources, list | tuple) else [sources]
    found: list[str] = []
    for source in listed:
        if not isinstance(source, str | os.PathLike):
            raise ConfigError("the dask engine reads files (paths, globs or URLs), not "
                              f"{type(source).__name__}; use the local engine")
        text = os.fspath(source).removeprefix("file://")
        if not glob.has_magic(text):
            found.append(text)
        elif _remote(text):
            found += _remote_glob(text)
        elif Path(text).exists():
            found.append(text)
        else:
            matches = sorted(glob.glob(text))
            if not matches:
                raise ReadError("no file matches this pattern", source=text)
            found += matches
    if not found:
        raise ConfigError("no sources to convert")
    return found


def _remote_glob(pattern: str) -> list[str]:
    import fsspec

    try:
        fs, _, paths = fsspec.core.get_fs_token_paths(pattern)
    except (OSError, ValueError, ImportError) as exc:
        raise ReadError(f"cannot be listed: {exc}", source=pattern) from exc
    matches = sorted(fs.unstrip_protocol(path) for path in paths)
    if not matches:
        raise ReadError("no file matches this pattern", source=pattern)
    return matches


@contextlib.contextmanager
def local_copy(source: str) -> Iterator[str | None]:
    """A local copy of a remote ``source`` for the readers (None for a local path)."""
    if not _remote(source):
        yield None
        return
    import fsspec

    with tempfile.TemporaryDirectory(prefix="ldtransform-") as folder:
        target = Path(folder) / (PurePosixPath(source.split("?")[0]).name or "source")
        try:
            with fsspec.open(source, "rb") as remote, target.open("wb") as file:
                shutil.copyfileobj(remote, file, 1 << 20)
        except (OSError, ValueError, ImportError) as exc:
            raise ReadError(f"cannot be read: {exc}", source=source) from exc
        yield str(target)
