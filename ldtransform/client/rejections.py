"""Records LD rejected, traced back to the source file and row they were converted from.

An import job's rejection file (NDJSON) names each record by its number in the part; the
convert manifest says which source row each record of a part came from. The result is
saved as a CSV a person can read beside the toolkit's own quarantine file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ldtransform._atomic import atomic_writer
from ldtransform.client.parts import UploadPart, item_key

__all__ = ["RejectedRecord", "map_rejections", "write_rejections"]

_COLUMNS = ("source", "row", "part", "record", "key", "receipt_type", "field", "code",
            "message")


@dataclass(frozen=True)
class RejectedRecord:
    """One record LD did not apply: where it came from and why."""

    part: str
    record: int
    source: str | None
    row: int | None
    key: tuple[str, ...]
    receipt_type: str | None
    message: str | None
    errors: tuple[dict[str, Any], ...]

    def where(self) -> str:
        """``accounts.xlsx row 7`` when the source is known, else the part and record."""
        if self.source is not None:
            return f"{self.source} row {self.row}"
        return f"{self.part} record {self.record}"


def map_rejections(rejection_file: Path, part: UploadPart) -> list[RejectedRecord]:
    """Read a downloaded rejection file and trace each record through the manifest."""
    manifest = part.manifest
    found = []
    for line in _lines(rejection_file):
        headers = line.get("headers") or {}
        record = int(line.get("record") or 0)
        origin = manifest.origin(part.path.name, record) if manifest else None
        data = line.get("data") or {}
        found.append(RejectedRecord(
            part=part.path.name, record=record,
            source=origin[0] if origin else None, row=origin[1] if origin else None,
            key=item_key(data, part.key_fields) if part.key_fields else (),
            receipt_type=headers.get("receiptType"), message=headers.get("receiptMessage"),
            errors=tuple(line.get("errors") or ())))
    return found


def write_rejections(records: list[RejectedRecord], path: Path) -> Path:
    """Save ``records`` as CSV (one line per problem), atomically."""
    with atomic_writer(path) as raw:
        text = _csv_text(records)
        raw.write(text.encode("utf-8"))
    return path


def _csv_text(records: list[RejectedRecord]) -> str:
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_COLUMNS)
    for r in records:
        problems = r.errors or ({"field": "", "code": "", "message": r.message or ""},)
        for problem in problems:
            writer.writerow((r.source or "", r.row or "", r.part, r.record, "|".join(r.key),
                             r.receipt_type or "", problem.get("field", ""),
                             problem.get("code", ""), problem.get("message", "")))
    return out.getvalue()


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, "rb") as handle:
        for line in handle:
            if line.strip():
                yield orjson.loads(line)
