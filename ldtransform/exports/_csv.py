"""CSV result files: plain columns or rendered through a template, header row or not.

The text is read by the toolkit's CSV reader (every value stays text); the column names
come from the header row when there is one, otherwise from the export template (its
``## header:`` line, else the ``item.<name>`` it refers to, in order) or the schema's
field order, which is how the server writes plain CSV.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

from ldtransform.errors import ConfigError, ReadError
from ldtransform.schema import ItemSchema

__all__ = ["expected_names", "has_header", "template_text"]

_HEADER_LINE = re.compile(r"\A##\s*header:\s*(.*?)\s*(?:\r?\n|\Z)")
_ITEM_REF = re.compile(r"\bitem\.([A-Za-z_]\w*)")


def template_text(template: str | os.PathLike[str] | None) -> str | None:
    """An export template given as its text or as the path of a file holding it."""
    if template is None:
        return None
    if isinstance(template, os.PathLike) or ("\n" not in template and "{" not in template
                                             and Path(template).is_file()):
        try:
            return Path(template).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read the export template {template}: "
                              f"{exc.strerror or exc}") from exc
    return template


def expected_names(template: str | None, schema: ItemSchema | None) -> list[str] | None:
    """The columns the server writes for ``template`` (or plain CSV of ``schema``)."""
    if template and template.strip():
        match = _HEADER_LINE.match(template)
        if match:
            return next(csv.reader([match.group(1)]))
        body = template[match.end():] if match else template
        return list(dict.fromkeys(_ITEM_REF.findall(body)))
    return schema.field_names if schema is not None else None


def first_row(path: Path) -> list[str]:
    """The cells of the first row of a CSV file (empty for an empty file)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as text:
            return next(csv.reader(text), [])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ReadError(f"cannot read the first row: {exc}", source=str(path)) from exc


def has_header(path: Path, header: bool | None, names: list[str] | None) -> bool:
    """Whether ``path`` starts with a header row: as told, else when its first row is
    the expected names, or has another number of cells (the header of a ``sqlQuery``'s
    columns: without one, their names are not known anyway); with no names expected,
    always."""
    if header is not None:
        return header
    if names is None:
        return True
    row = first_row(path)
    return row == names or (bool(row) and len(row) != len(names))
