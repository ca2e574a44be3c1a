"""Which other sheet of a workbook holds the columns a mapping names.

A workbook's first sheet is often a cover or notes page; when the mapped columns are
missing from the sheet read, the error says which sheet has them.
"""

from __future__ import annotations

import os
from typing import Any

from ldtransform.errors import LdTransformError, MappingError

__all__ = ["with_sheet_hint"]


def with_sheet_hint(error: MappingError, source: Any, info: dict[str, Any]) -> MappingError:
    """``error`` with the sheet holding its missing columns named, when one does."""
    sheets = info.get("sheets") or []
    if not error.columns or len(sheets) < 2 or not isinstance(source, str | os.PathLike):
        return error
    found = _sheet_with(source, set(error.columns), sheets, info)
    if found is None:
        return error
    return MappingError(f"{error.problem}. The columns are on sheet {found!r}: pass "
                        f"sheet={found!r}", path=error.path, source=error.source,
                        columns=error.columns)


def _sheet_with(source: str | os.PathLike[str], columns: set[str], sheets: list[str],
                info: dict[str, Any]) -> str | None:
    from ldtransform.readers import read

    header_row = info.get("header_row", 1)
    for name in sheets:
        if name == info.get("sheet"):
            continue
        try:
            names = read(source, format="excel", sheet=name, header_row=header_row).schema.names
        except LdTransformError:
            continue  # a sheet that cannot be read this way holds no answer
        if columns <= set(names):
            return str(name)
    return None
