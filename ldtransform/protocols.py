"""The contracts between stages: :class:`Issue` and the plugin protocols.

A plugin is any class that satisfies one of these protocols and is registered under an
entry-point group (see :mod:`ldtransform.registry`). Options go to ``__init__`` so that
``read`` and ``write`` look the same for every format.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pyarrow as pa

    from ldtransform.frames import Frames

__all__ = ["Issue", "Reader", "Severity", "Source", "Transform", "Validator", "Writer"]

#: What a reader accepts: a path or an open binary file.
Source = str | os.PathLike[str] | BinaryIO

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Issue:
    """One problem in the data, located in the source.

    ``row`` is the row as a person counts it in the file (see the README's "Row numbers");
    ``code`` is a stable kebab-case identifier such as ``"too-many-fields"``. Fields are
    given by name (``Issue(code=..., message=..., row=...)``), so none is mistaken for another.
    """

    code: str
    message: str
    row: int | None = None
    field: str | None = None
    value: Any = None
    severity: Severity = "error"
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The issue as a plain dict (for JSON and DataFrames)."""
        return asdict(self)


@runtime_checkable
class Reader(Protocol):
    """Reads one source into :class:`~ldtransform.frames.Frames`, streaming."""

    format: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]]

    def read(
        self, source: Source, *, schema: pa.Schema | None = None, batch_size: int = 65_536
    ) -> Frames: ...


@runtime_checkable
class Writer(Protocol):
    """Writes frames to a binary sink; returns the number of rows written."""

    format: ClassVar[str]
    suffix: ClassVar[str]

    def write(self, frames: Frames, sink: BinaryIO) -> int: ...


@runtime_checkable
class Validator(Protocol):
    """Checks batches; ``finish`` reports what needs all batches (uniqueness, ...)."""

    name: ClassVar[str]

    def check(self, batch: pa.RecordBatch, *, first_row: int) -> Iterable[Issue]: ...

    def finish(self) -> Iterable[Issue]: ...


@runtime_checkable
class Transform(Protocol):
    """Turns frames into frames (mapping, normalising, ...)."""

    name: ClassVar[str]

    def __call__(self, frames: Frames) -> Frames: ...
