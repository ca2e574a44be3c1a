"""What a conversion tells its writer, as one value, and the writer made from it."""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from ldtransform import registry
from ldtransform.errors import ConfigError

if TYPE_CHECKING:
    from ldtransform.schema import ItemSchema
    from ldtransform.writers import RecordWriter

__all__ = ["WriterOptions", "make_writer"]


@dataclass(frozen=True, kw_only=True)
class WriterOptions:
    """The options of the writer a conversion uses; ``None`` (and ``False``) is "not asked".

    ``template``, ``delimiter`` and ``spreadsheet_safe`` are for the CSV writer,
    ``action``, ``action_column`` and ``empty`` for the LD item writers (see
    :mod:`ldtransform.writers.items_json`). ``other`` holds the options of one writer
    beyond these (``template_text``, a plugin writer's own). A writer given an option it
    does not take is an error, so an option never goes unnoticed.
    """

    template: str | os.PathLike[str] | None = None
    delimiter: str | None = None
    spreadsheet_safe: bool = False
    action: str | None = None
    action_column: str | None = None
    empty: str | None = None
    other: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> WriterOptions:
        """The options named as a writer's keywords (``delimiter=";"``, ``mode="row"``)."""
        named = {spec.name for spec in fields(cls)} - {"other"}
        return cls(**{name: value for name, value in options.items() if name in named},
                   other={name: value for name, value in options.items()
                          if name not in named})

    @property
    def partial(self) -> bool:
        """Whether every item changes a stored one, so a field may have no column."""
        from ldtransform._empty import PARTIAL_ACTIONS

        return self.action_column is None and self.action in PARTIAL_ACTIONS

    def keywords(self) -> dict[str, Any]:
        """The options asked for, as keywords of a writer's ``__init__``."""
        named = {"template": self.template, "delimiter": self.delimiter,
                 "spreadsheet_safe": self.spreadsheet_safe or None, "action": self.action,
                 "action_column": self.action_column, "empty": self.empty, **self.other}
        return {name: value for name, value in named.items() if value is not None}


def make_writer(to: str, schema: ItemSchema | None, options: WriterOptions) -> RecordWriter:
    """The writer called ``to``, given only the options it takes (others are an error)."""
    cls = registry.load("writer", to)
    accepted = set(inspect.signature(cls).parameters) - {"schema"}
    given = options.keywords()
    unknown = sorted(set(given) - accepted)
    if unknown:
        raise ConfigError(f"the {to} writer does not take {', '.join(unknown)}; it takes "
                          f"{', '.join(sorted(accepted)) or 'no options'}")
    writer: RecordWriter = cls(schema=schema, **given)
    return writer
