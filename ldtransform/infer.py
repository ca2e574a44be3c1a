"""What the values of each column look like: the types ``inspect`` shows.

Text columns are tested against patterns batch by batch (vectorised with
pyarrow.compute), so inferring over a whole file costs one pass and little memory. A text
column is numeric only when no value has a leading zero: ``007`` is a code, not 7.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["ColumnProfile", "TypeInference"]

# Checked in this order; the first kind that every non-empty value matches wins.
TEXT_KINDS: dict[str, str] = {
    "boolean": r"^(?i:true|false|yes|no)$",
    "integer": r"^[+-]?(0|[1-9][0-9]*)$",
    "number": r"^[+-]?((0|[1-9][0-9]*)(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$",
    "date": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "datetime": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
                r"(Z|[+-][0-9]{2}:?[0-9]{2})?$",
}


def arrow_kind(data_type: pa.DataType) -> str:
    """The logical type name of a non-text Arrow type."""
    checks = (
        (pa.types.is_boolean, "boolean"),
        (pa.types.is_integer, "integer"),
        (pa.types.is_floating, "number"),
        (pa.types.is_decimal, "number"),
        (pa.types.is_date, "date"),
        (pa.types.is_timestamp, "datetime"),
        (pa.types.is_time, "time"),
        (pa.types.is_struct, "object"),
        (pa.types.is_list, "array"),
        (pa.types.is_large_list, "array"),
    )
    for check, kind in checks:
        if check(data_type):
            return kind
    return "string"


def _is_text(data_type: pa.DataType) -> bool:
    return bool(pa.types.is_string(data_type) or pa.types.is_large_string(data_type))


@dataclass
class ColumnProfile:
    """What one column holds: inferred ``kind``, null and empty counts, a few examples."""

    name: str
    arrow_type: str
    kind: str = "string"
    nulls: int = 0
    empty: int = 0
    examples: list[str] = field(default_factory=list)


class TypeInference:
    """Accumulates column profiles over batches; call :meth:`update`, then :meth:`result`."""

    def __init__(self, schema: pa.Schema, examples: int = 3) -> None:
        self.schema = schema
        self.max_examples = examples
        self.profiles = {f.name: ColumnProfile(f.name, str(f.type)) for f in schema}
        # For text columns: the kinds every non-empty value seen so far still matches.
        self.candidates = {f.name: list(TEXT_KINDS) for f in schema if _is_text(f.type)}
        self.seen_values = dict.fromkeys(self.candidates, False)

    def update(self, batch: pa.RecordBatch) -> None:
        """Fold one batch into the profiles."""
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            profile = self.profiles[name]
            profile.nulls += column.null_count
            if name not in self.candidates:
                self._remember(profile, column.drop_null())
                continue
            blank = pc.equal(pc.utf8_trim_whitespace(column), "")
            profile.empty += pc.sum(blank).as_py() or 0
            values = column.filter(pc.invert(pc.fill_null(blank, True)))
            if len(values) == 0:
                continue
            self.seen_values[name] = True
            self._remember(profile, values)
            self.candidates[name] = [
                kind for kind in self.candidates[name]
                if pc.all(pc.match_substring_regex(values, TEXT_KINDS[kind])).as_py()
            ]

    def _remember(self, profile: ColumnProfile, values: pa.Array) -> None:
        room = self.max_examples - len(profile.examples)
        if room > 0:
            profile.examples.extend(str(v) for v in values.slice(0, room).to_pylist())

    def result(self) -> list[ColumnProfile]:
        """The profiles, one per column, in schema order."""
        for name, profile in self.profiles.items():
            if name in self.candidates:
                kinds = self.candidates[name]
                profile.kind = kinds[0] if kinds and self.seen_values[name] else "string"
            else:
                profile.kind = arrow_kind(self.schema.field(name).type)
        return list(self.profiles.values())
