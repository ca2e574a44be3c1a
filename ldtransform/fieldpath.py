"""The field-path grammar: ``addresses[0].city``, ``phones[].number``, ``deliveryDays[1]``.

A path is steps joined by dots; a step is a field name, optionally followed by a list index
in brackets (``[0]``) or by empty brackets (``[]``, every element). Names hold no dots,
brackets or white space. What a path may name (which fields, how deep, which indexes) is
for its reader to decide; this module only says how one is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MAX_LIST_INDEX", "FieldPath", "FieldPathError", "Step"]

#: The largest list index an import template's field path may name (``addresses[99].city``):
#: every row builds its lists up to the largest index named.
MAX_LIST_INDEX = 99

_STEP = re.compile(r"(?P<name>[^\[\].\s]+)(?:\[(?P<index>[0-9]*)\])?")


class FieldPathError(ValueError):
    """A field path that is not written by the grammar; the message says where."""


@dataclass(frozen=True)
class Step:
    """One step of a path: a field, optionally one element (``index``) or every one."""

    name: str
    index: int | None = None
    every: bool = False  # written ``name[]``

    def __str__(self) -> str:
        if self.every:
            return f"{self.name}[]"
        return self.name if self.index is None else f"{self.name}[{self.index}]"


@dataclass(frozen=True)
class FieldPath:
    """A parsed field path; ``str()`` gives its canonical text back."""

    steps: tuple[Step, ...]

    @classmethod
    def parse(cls, text: str) -> FieldPath:
        """Parse ``text``; raise :class:`FieldPathError` if it is not a field path."""
        steps = []
        for piece in text.split("."):
            match = _STEP.fullmatch(piece)
            if match is None:
                raise FieldPathError(f"{text!r} is not a field path: {piece!r} is not a field "
                                     "name with an optional [index]; write e.g. "
                                     "addresses[0].city")
            digits = match["index"]
            try:
                index = int(digits) if digits else None
            except ValueError:  # more digits than Python turns into an int
                raise FieldPathError(f"{text!r}: the list index is too long") from None
            steps.append(Step(match["name"], index, every=digits == ""))
        return cls(tuple(steps))

    @property
    def largest_index(self) -> int | None:
        """The largest list index the path names, if any."""
        return max((s.index for s in self.steps if s.index is not None), default=None)

    def __str__(self) -> str:
        return ".".join(map(str, self.steps))
