"""Finding readers, writers, validators and transforms by name or by file suffix.

Built-ins are listed below as ``"module:Class"`` strings and loaded lazily, exactly as
third-party plugins are through the entry-point groups in :data:`GROUPS`. A plugin that
fails to import fails only when it is used, naming itself and its distribution; two
distributions claiming one name is an error naming both.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import PurePath
from typing import Any, Literal

from ldtransform._plugin_guard import guarded
from ldtransform._version import __version__
from ldtransform.errors import PluginConflictError, PluginLoadError, UnknownFormatError

__all__ = ["GROUPS", "PluginSpec", "describe", "find", "load", "names", "reader_for_source"]

Kind = Literal["reader", "writer", "validator", "transform"]

GROUPS: dict[Kind, str] = {
    "reader": "ldtransform.readers",
    "writer": "ldtransform.writers",
    "validator": "ldtransform.validators",
    "transform": "ldtransform.transforms",
}

BUILTINS: dict[Kind, dict[str, str]] = {
    "reader": {
        "csv": "ldtransform.readers.csv:CsvReader",
        "excel": "ldtransform.readers.excel:ExcelReader",
        "parquet": "ldtransform.readers.parquet:ParquetReader",
        "json": "ldtransform.readers.json:JsonReader",
        "jsonl": "ldtransform.readers.json:JsonLinesReader",
    },
    "writer": {
        "items-json": "ldtransform.writers.items_json:ItemsJsonWriter",
        "items-jsonl": "ldtransform.writers.items_json:ItemsJsonLinesWriter",
        "json": "ldtransform.writers.records_json:RecordsJsonWriter",
        "jsonl": "ldtransform.writers.records_json:RecordsJsonLinesWriter",
        "csv": "ldtransform.writers.csv_template:TemplateCsvWriter",
    },
    "validator": {
        "field-order": "ldtransform.validators.field_order:FieldOrder",
    },
    "transform": {
        "dedupe": "ldtransform.transforms.dedupe:Dedupe",
        "drop_empty_rows": "ldtransform.transforms.empty:DropEmptyRows",
        "filter": "ldtransform.transforms.filter:Filter",
    },
}


@dataclass(frozen=True)
class PluginSpec:
    """One registered plugin: where it lives and which distribution provides it."""

    kind: Kind
    name: str
    target: str
    distribution: str
    version: str

    @property
    def builtin(self) -> bool:
        return self.distribution == "ldtransform" and self.target.startswith("ldtransform.")

    def load(self) -> Any:
        """Import and return the plugin object (usually a class); a third-party one comes
        wrapped so that an exception its code raises is a PluginError naming it."""
        return _load_target(self)


@cache
def _load_target(spec: PluginSpec) -> Any:
    module_name, _, attribute = spec.target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in filter(None, attribute.split(".")):
            obj = getattr(obj, part)
    except (Exception, SystemExit) as exc:  # a module that exits on import is broken too
        raise PluginLoadError(
            f"the {spec.kind} plugin {spec.name!r} ({spec.target}) from distribution "
            f"{spec.distribution} {spec.version} failed to load: {type(exc).__name__}: {exc}. "
            f"Reinstall or upgrade {spec.distribution}, or uninstall it if unused"
        ) from exc
    # A third-party plugin's failures are named as its own; built-ins raise their own errors.
    return obj if spec.builtin else guarded(spec, obj)


@cache
def _discover(kind: Kind) -> dict[str, tuple[PluginSpec, ...]]:
    """Every claim on every name of ``kind``; more than one claim is a conflict."""
    claims: dict[str, list[PluginSpec]] = {}
    version = __version__
    for name, target in BUILTINS[kind].items():
        claims.setdefault(name, []).append(PluginSpec(kind, name, target, "ldtransform", version))
    for entry in metadata.entry_points(group=GROUPS[kind]):
        dist = entry.dist
        spec = PluginSpec(
            kind,
            entry.name,
            entry.value,
            dist.name if dist is not None else "<unknown distribution>",
            dist.version if dist is not None else "?",
        )
        same = claims.setdefault(entry.name, [])
        # One distribution seen twice on sys.path is not a conflict.
        if all((s.distribution, s.target) != (spec.distribution, spec.target) for s in same):
            same.append(spec)
    return {name: tuple(specs) for name, specs in sorted(claims.items())}


def refresh() -> None:
    """Forget what was discovered (after installing a plugin at run time)."""
    _discover.cache_clear()
    _load_target.cache_clear()


def names(kind: Kind) -> list[str]:
    """All names registered for ``kind``, sorted."""
    return list(_discover(kind))


def find(kind: Kind, name: str) -> PluginSpec:
    """The one plugin registered as ``name``; raise if there is none or more than one."""
    claims = _discover(kind).get(name)
    if not claims:
        installed = ", ".join(names(kind)) or "none"
        raise UnknownFormatError(
            f"no {kind} named {name!r} is installed (installed {kind}s: {installed}). "
            f"Check the spelling, or install a plugin that provides it"
        )
    if len(claims) > 1:
        who = " and ".join(f"{s.distribution} {s.version} ({s.target})" for s in claims)
        raise PluginConflictError(
            f"the {kind} name {name!r} is claimed by both {who}; uninstall one of them"
        )
    return claims[0]


def load(kind: Kind, name: str) -> Any:
    """Find and import the plugin registered as ``name``."""
    return find(kind, name).load()


def _suffix_of(source: object) -> str | None:
    if isinstance(source, str | os.PathLike):
        return PurePath(os.fspath(source)).name.lower()
    name = getattr(source, "name", None)
    return PurePath(name).name.lower() if isinstance(name, str) else None


def reader_for_source(source: object, format: str | None = None) -> Any:
    """The reader class for ``source``: by explicit ``format``, else by file suffix."""
    if format is not None:
        return load("reader", format)
    filename = _suffix_of(source)
    if filename is None:
        raise UnknownFormatError(
            "cannot tell the format of an unnamed stream; pass format= one of: "
            + ", ".join(names("reader"))
        )
    best: tuple[int, str] | None = None
    failures: list[str] = []
    # Built-ins first, so a broken plugin never stands in the way of a common format.
    ordered = sorted(_discover("reader").items(), key=lambda item: not item[1][0].builtin)
    for name, claims in ordered:
        if best is not None and not claims[0].builtin:
            break
        try:
            # The first claim is enough to learn the suffixes; a conflict on the name
            # is reported below, when the chosen name is loaded.
            suffixes = getattr(claims[0].load(), "suffixes", ())
        except PluginLoadError as exc:
            failures.append(str(exc))
            continue
        for suffix in suffixes:
            if filename.endswith(suffix.lower()) and (best is None or len(suffix) > best[0]):
                best = (len(suffix), name)
    if best is None:
        known = ", ".join(names("reader"))
        extra = f" (some plugins failed: {'; '.join(failures)})" if failures else ""
        raise UnknownFormatError(
            f"no reader knows the suffix of {filename!r}; pass format= one of: {known}{extra}"
        )
    return load("reader", best[1])


def describe() -> list[dict[str, Any]]:
    """Every registered plugin of every kind: name, suffixes, distribution, version and
    status (``ok``, ``conflict``, or ``broken`` with the load error). Loading each one is
    how its suffixes are learnt; one that fails is reported, not raised."""
    rows: list[dict[str, Any]] = []
    for kind in GROUPS:
        for name, claims in _discover(kind).items():
            for spec in claims:
                status = "conflict" if len(claims) > 1 else "ok"
                error = None
                suffixes: list[str] = []
                if status == "ok":
                    try:
                        suffixes = _suffixes(spec.load())
                    except PluginLoadError as exc:
                        status, error = "broken", str(exc)
                rows.append({
                    "kind": kind,
                    "name": name,
                    "suffixes": suffixes,
                    "distribution": spec.distribution,
                    "version": spec.version,
                    "status": status,
                    "target": spec.target,
                    "error": error,
                })
    return rows


def _suffixes(plugin: Any) -> list[str]:
    """A reader's ``suffixes``, a writer's ``suffix``; none for other kinds."""
    found = getattr(plugin, "suffixes", None)
    if found is None:
        found = getattr(plugin, "suffix", None)
    if isinstance(found, str):
        return [found] if found else []
    return [str(s) for s in found] if isinstance(found, tuple | list) else []
