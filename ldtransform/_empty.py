"""What an item carries for a field its source left empty, or never had.

A ``Merge`` or ``Update`` changes a stored item, so its item holds only the fields that
come from the source: a field with no column is left out, or the import would blank the
stored value. What an *empty* value of a column means is a rule, ``empty``:

* ``"omit"`` — the field is left out of that item (the stored value stays); the default
  for ``Merge`` and ``Update``;
* ``"clear"`` — the field is written empty (``""`` or ``null``), which clears it; the
  default for ``Create``.

Which fields had no column, and a mapping's ``empty`` rule, travel with the validated
batches as Arrow metadata, so any writer down the line can tell.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from ldtransform.errors import ConfigError

__all__ = ["EMPTY_RULES", "PARTIAL_ACTIONS", "absent_fields", "check_empty", "effective_empty",
           "mapping_empty", "with_presence"]

EMPTY_RULES = ("omit", "clear")
#: Actions that change a stored item rather than state it whole.
PARTIAL_ACTIONS = ("Merge", "Update")
_ABSENT = b"ldtransform.absent"  # field metadata: the source had no column for it
_EMPTY = b"ldtransform.empty"  # schema metadata: the mapping's empty rule


def check_empty(rule: str | None, where: str = "empty") -> str | None:
    """``rule`` when it is None or one of :data:`EMPTY_RULES`, else a ConfigError."""
    if rule is not None and rule not in EMPTY_RULES:
        raise ConfigError(f"{where} is 'omit' (leave the field out of the item) or 'clear' "
                          f"(write it empty), not {rule!r}")
    return rule


def effective_empty(action: str, explicit: str | None, from_mapping: str | None) -> str:
    """The rule for one action: the one given, else the mapping's, else by action."""
    return explicit or from_mapping or ("omit" if action in PARTIAL_ACTIONS else "clear")


def with_presence(schema: pa.Schema, absent: Iterable[str], empty: str | None) -> pa.Schema:
    """``schema`` marking the ``absent`` fields (no column) and the mapping's rule."""
    missing = set(absent)
    fields = [f.with_metadata({_ABSENT: b"true"}) if f.name in missing else f for f in schema]
    marked = pa.schema(fields)
    return marked.with_metadata({_EMPTY: empty.encode()}) if empty else marked


def absent_fields(schema: pa.Schema) -> list[str]:
    """The fields ``schema`` marks as having had no column in the source."""
    return [f.name for f in schema if f.metadata and f.metadata.get(_ABSENT) == b"true"]


def mapping_empty(schema: pa.Schema) -> str | None:
    """The ``empty`` rule of the mapping that made ``schema``, if it set one."""
    value = (schema.metadata or {}).get(_EMPTY)
    return value.decode() if value else None
