"""What an upload sends: the parts of a conversion (its manifest) or files named one by one.

A part of a manifest is checked against the manifest's size and SHA-256 before it is sent,
so a part edited after ``convert`` is refused rather than imported as something else. Each
part knows how to list its primary keys, which is how an upload whose answer was lost is
later found on the server (:mod:`ldtransform.client.arrival`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ldtransform.client.errors import UploadError
from ldtransform.client.journal import Part
from ldtransform.manifest import MANIFEST, Manifest

__all__ = ["Fingerprint", "UploadPart", "fingerprint", "item_key", "parts_to_upload"]

_JSON_FORMATS = {"items-json", "items-jsonl", "json", "jsonl"}


@dataclass(frozen=True)
class UploadPart:
    """A file to import, with its identity (:class:`Part`), its records as the manifest
    counts them (None for a loose file), the CSV import template it needs, and the
    primary-key fields that identify its items."""

    part: Part
    records: int | None
    content_type: str
    template: Path | None
    key_fields: tuple[str, ...]
    manifest: Manifest | None = None

    @property
    def path(self) -> Path:
        return self.part.path

    def fingerprints(self) -> dict[tuple[str, ...], Fingerprint | None]:
        """Each item's primary key, with a fingerprint of the fields it sets (None where
        only the key can be compared: CSV rows, deletions); empty when no key is known.

        The fingerprint is what tells "LD holds this part's data" from "LD holds other
        data under the same keys", e.g. from an earlier import of an older version."""
        if not self.key_fields:
            return {}
        if self.content_type != "application/json":
            return {item_key(row, self.key_fields): None
                    for row in _csv_records(self.path, self.template)}
        return {item_key(data, self.key_fields): (None if action == "Delete"
                                              else fingerprint(data, tuple(data)))
                for action, data in _json_items(self.path)}


#: The fields an item sets and a digest of their values (see :func:`fingerprint`).
Fingerprint = tuple[tuple[str, ...], bytes]


def fingerprint(data: dict[str, Any], fields: tuple[str, ...]) -> Fingerprint:
    """A digest of ``data``'s values of ``fields`` (absent ones as null), order-free."""
    values = {name: data.get(name) for name in fields}
    digest = hashlib.blake2b(orjson.dumps(values, option=orjson.OPT_SORT_KEYS),
                             digest_size=16).digest()
    return fields, digest


def parts_to_upload(targets: Sequence[str | os.PathLike[str]], *, item_type: str | None,
                    merge: bool = False, template: str | os.PathLike[str] | None = None,
                    key_fields: Sequence[str] = ()) -> list[UploadPart]:
    """The parts named by ``targets``: a conversion's folder or its ``manifest.json`` (every
    data part, in order), or data files. ``item_type`` is required for files and must agree
    with a manifest's."""
    parts: list[UploadPart] = []
    for target in targets:
        path = Path(target)
        manifest_path = path if path.name == MANIFEST else path / MANIFEST
        if manifest_path.is_file():
            parts.extend(_manifest_parts(manifest_path, item_type, merge, template,
                                         tuple(key_fields)))
        elif path.is_dir():
            raise UploadError(f"{path}: a folder without {MANIFEST}; name its files, or run "
                              "'ldtransform convert' into it first")
        elif not path.is_file():
            raise UploadError(f"{path}: no such file")
        else:
            if not item_type:
                raise UploadError(f"{path}: say which itemType it holds (--item-type)")
            parts.append(_file_part(path, item_type, merge, template, tuple(key_fields)))
    return parts


def _manifest_parts(manifest_path: Path, item_type: str | None, merge: bool,
                    template: str | os.PathLike[str] | None,
                    key_fields: tuple[str, ...]) -> Iterator[UploadPart]:
    manifest = Manifest.read(manifest_path)
    kind = manifest.item_type
    if kind is None and not item_type:
        raise UploadError(f"{manifest_path}: the conversion had no schema; say which "
                          "itemType its parts hold (--item-type)")
    if item_type and kind and item_type != kind:
        raise UploadError(f"{manifest_path}: its parts are {kind} items, not {item_type}; "
                          f"drop --item-type or use --item-type {kind}")
    keys = key_fields or _schema_keys(manifest, manifest_path)
    folder = manifest_path.parent
    for listed in manifest.parts:
        path = folder / listed.file
        part = Part.of_file(path, item_type or kind or "", merge) if path.is_file() else None
        if part is None:
            raise UploadError(f"{path}: listed in {manifest_path} but missing; run the "
                              "conversion again")
        if (part.sha256, part.size) != (listed.sha256, listed.bytes):
            raise UploadError(f"{path}: changed since the conversion wrote it (its SHA-256 "
                              f"differs from {manifest_path}); run the conversion again")
        content_type = ("application/json" if manifest.format in _JSON_FORMATS
                        else "text/plain")
        yield UploadPart(part, listed.records, content_type, _template(path, template,
                         content_type), keys, manifest)


def _file_part(path: Path, item_type: str, merge: bool,
               template: str | os.PathLike[str] | None,
               key_fields: tuple[str, ...]) -> UploadPart:
    content_type = ("application/json" if path.suffix.lower() in (".json", ".jsonl")
                    else "text/plain")
    return UploadPart(Part.of_file(path, item_type, merge), None, content_type,
                      _template(path, template, content_type), key_fields)


def _template(path: Path, template: str | os.PathLike[str] | None,
              content_type: str) -> Path | None:
    if content_type == "application/json":
        return None
    if template is None:
        raise UploadError(f"{path}: a CSV import needs its LD import template (--template "
                          "FILE.json: which column goes to which field)")
    return Path(template)


def _schema_keys(manifest: Manifest, manifest_path: Path) -> tuple[str, ...]:
    if manifest.schema is None:
        return ()
    from ldtransform.schema import load_schema

    schema_path = Path(manifest.schema.path)
    if not schema_path.is_absolute():
        schema_path = manifest_path.parent / schema_path
    if not schema_path.is_file():
        return ()
    return load_schema(schema_path).primary_key


def item_key(data: dict[str, Any], fields: tuple[str, ...]) -> tuple[str, ...]:
    """An item's primary key as text (so ``20`` in JSON and ``"20"`` in CSV agree)."""
    return tuple(str(data.get(name)) for name in fields)



def _json_items(path: Path) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """The action and ``data`` of each item: line by line for one element per line (as
    ldtransform writes them), else the whole document (parts are bounded in size)."""
    with open(path, "rb") as handle:
        lines = iter(handle)
        try:
            yield from _items_per_line(lines)
            return
        except ValueError:
            pass
    document = orjson.loads(path.read_bytes())
    rows = document if isinstance(document, list) else [document]
    for item in rows:
        if isinstance(item, dict):
            yield _action_and_data(item)


def _action_and_data(item: Any) -> tuple[str | None, dict[str, Any]]:
    if not isinstance(item, dict):
        return None, {}
    return (item.get("headers") or {}).get("action"), item.get("data") or {}


def _items_per_line(lines: Iterator[bytes]) -> Iterator[tuple[str | None, dict[str, Any]]]:
    seen = []
    for line in lines:
        text = line.strip().rstrip(b",")
        if text in (b"", b"[", b"]"):
            continue
        # ValueError (orjson.JSONDecodeError) when the file is not one element per line
        seen.append(_action_and_data(orjson.loads(text)))
    yield from seen


def _csv_records(path: Path, template: Path | None) -> Iterator[dict[str, Any]]:
    """Each row as ``{field: cell}`` for the template's top-level column fields."""
    spec = orjson.loads(template.read_bytes()) if template else {}
    columns = spec.get("columns", {})
    if isinstance(columns, dict):
        columns = [{"column": c, "field": f} for c, f in columns.items()]
    text = path.read_text(encoding=spec.get("encoding", "utf-8-sig"))
    reader = csv.reader(io.StringIO(text), delimiter=spec.get("delimiter", ","))
    header = next(reader, [])
    where = {c["field"]: (c["column"] - 1 if isinstance(c["column"], int)
                          else header.index(c["column"]) if c["column"] in header else None)
             for c in columns}
    for row in reader:
        yield {name: row[i] for name, i in where.items() if i is not None and i < len(row)}
