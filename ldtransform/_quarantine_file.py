"""How a quarantine file was written, kept beside it, so it reads back whatever the
original needed.

A quarantine file (``accounts.rejected.csv``) is written in one known way (UTF-8, comma,
the header on row 1) whatever its source was (cp1252, ``;``, a title row above the
header). Beside it goes a small sidecar, ``accounts.rejected.csv.json``, saying so; the
readers take the sidecar's options over those given for the original (which would not fit),
and say so. Names never stack: the rows rejected from ``x.rejected.csv`` go to
``x.rejected.csv`` again.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path, PurePath
from typing import Any

__all__ = ["SIDECAR_SUFFIX", "apply_sidecar", "quarantine_files", "read_sidecar",
           "refuses_own_input", "rejected_name", "sidecar_path", "sidecar_text", "source_stem"]

SIDECAR_SUFFIX = ".json"
KIND = "ldtransform quarantine"
FORMATS = {"csv": ("csv", {"encoding": "utf-8", "delimiter": ",", "header_row": 1}),
           "jsonl": ("jsonl", {"encoding": "utf-8"}),
           "xlsx": ("excel", {"sheet": 0, "header_row": 1})}
_COMPRESSION = (".gz",)
logger = logging.getLogger("ldtransform")


def source_stem(source: str | None) -> str:
    """What files made from ``source`` are named after: ``data/accounts.csv.gz`` →
    ``accounts``, ``<dataframe>`` → ``dataframe``, standard input → ``stdin``."""
    if source == "-":
        return "stdin"
    name = PurePath(source or "data").name.strip("<>") or "data"
    for compression in _COMPRESSION:
        name = name.removesuffix(compression)
    return PurePath(name).stem if "." in name.lstrip(".") else name


def rejected_name(source: str | None, suffix: str = "csv") -> str:
    """``accounts.csv`` → ``accounts.rejected.csv``; ``accounts.rejected.csv`` stays
    ``accounts.rejected.csv`` (``suffix`` is the quarantine file's format)."""
    return f"{source_stem(source).removesuffix('.rejected')}.rejected.{suffix}"


def refuses_own_input(target: Path, reading: object) -> bool:
    """Whether ``target`` is the very file being read (``reading``): its still-rejected
    rows must not replace it, or the rows a person fixed in it would be lost."""
    if not isinstance(reading, str | os.PathLike) or os.fspath(reading) == "-":
        return False
    try:
        return os.path.samefile(target, reading)
    except OSError:
        return False  # no such target yet


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(path)}{SIDECAR_SUFFIX}")


def quarantine_files(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """A quarantine file and its sidecar: what goes when the file goes."""
    return Path(path), sidecar_path(path)


def sidecar_text(path: Path, suffix: str, source: str | None, rows: int) -> bytes:
    """The sidecar of the quarantine file ``path`` of format ``suffix``."""
    reader, options = FORMATS[suffix]
    document = {"kind": KIND, "file": path.name, "source": source, "rows": rows,
                "format": reader, "options": options,
                "note": "How ldtransform wrote this file: it reads it back with these "
                        "options. _row is the row in the source, _errors why it was "
                        "rejected; both are ignored when the file is read back."}
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def read_sidecar(source: Any) -> dict[str, Any] | None:
    """The sidecar of ``source`` if it is a quarantine file ldtransform wrote, else None."""
    if not isinstance(source, str | os.PathLike):
        return None
    path = sidecar_path(source)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (not isinstance(document, dict) or document.get("kind") != KIND
            or document.get("file") != Path(source).name
            or not isinstance(document.get("options"), dict)):
        return None  # someone else's JSON, or the sidecar of another file
    return document


def apply_sidecar(source: Any, format: str | None, options: dict[str, Any]
                  ) -> tuple[str | None, dict[str, Any], dict[str, Any] | None]:
    """``format`` and ``options`` for reading ``source``: a quarantine file's own, where it
    has a sidecar, with the given ones it cannot use dropped (and said so in a warning);
    else as given. Also returns the sidecar."""
    sidecar = read_sidecar(source)
    if sidecar is None:
        return format, options, None
    own: dict[str, Any] = dict(sidecar["options"])
    kept = {name: value for name, value in options.items()
            if name in _KEEP and name not in own}
    ignored = {name: value for name, value in options.items()
               if name not in kept and own.get(name, object()) != value}
    if format not in (None, sidecar["format"]):
        ignored["format"] = format
    if ignored:
        given = ", ".join(f"{name}={value!r}" for name, value in ignored.items())
        how = ", ".join(f"{name.replace('_', ' ')} {value!r}" for name, value in own.items())
        logger.warning("%s is a quarantine file ldtransform wrote (described in %s): it is "
                       "read as written (%s), and the options given for its original "
                       "(%s) do not apply to it", source, sidecar_path(source).name, how,
                       given)
    return str(sidecar["format"]), {**own, **kept}, sidecar


# Options about how to go on, not about the file's layout: they still apply.
_KEEP = {"on_bad_row", "columns", "batch_size"}
