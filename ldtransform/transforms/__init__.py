"""Transforms: steps that run on a source's rows between reading and validation.

A transform takes :class:`~ldtransform.frames.Frames` and returns Frames (see
:class:`~ldtransform.protocols.Transform`). A mapping or pipeline file names them in order::

    transforms = [
        {name = "drop_empty_rows"},
        {name = "filter", where = 'country = "US" and not (status = "closed")'},
        {name = "dedupe", on = ["accountId"]},
    ]

They see the source's own columns (the names in the file, before the mapping), so the
rows they pass on are the rows a rejected-rows file shows. Built-ins are registered like
readers and writers (:mod:`ldtransform.registry`); plugins add more through the
``ldtransform.transforms`` entry-point group. A transform may drop rows, never add them:
every dropped row is counted, per transform, in the report (rows read = valid + rejected +
dropped), and the rows passed on keep their source row numbers.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from ldtransform import registry
from ldtransform.errors import ConfigError
from ldtransform.frames import Frames, RawBatch
from ldtransform.protocols import Transform

__all__ = ["Chain", "RowFilter", "TransformSpec", "make_transforms"]

#: A transform as configured: a table (``{name = "dedupe", on = ["id"]}``) or an object.
TransformSpec = Mapping[str, Any] | Transform


def make_transforms(specs: Iterable[TransformSpec], *, where: str = "transforms") \
        -> list[Transform]:
    """Transform objects from tables naming a registered transform and its options (and
    from objects passed as they are); mistakes name their place in ``where``."""
    made: list[Transform] = []
    for number, spec in enumerate(specs):
        path = f"{where}[{number}]"
        if not isinstance(spec, Mapping):
            if not callable(spec):
                raise ConfigError(f"{path}: a transform is a table such as "
                                  "{name = \"dedupe\", on = [\"id\"]}, not "
                                  f"{type(spec).__name__}")
            made.append(spec)
            continue
        options = dict(spec)
        name = options.pop("name", None)
        if not isinstance(name, str):
            raise ConfigError(f"{path}: a transform needs a name, one of "
                              f"{', '.join(registry.names('transform'))}")
        made.append(_construct(registry.load("transform", name), name, options, path))
    return made


def _construct(cls: Any, name: str, options: dict[str, Any], path: str) -> Transform:
    accepted = set(inspect.signature(cls).parameters)
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ConfigError(f"{path}: the {name} transform does not take "
                          f"{', '.join(unknown)}; it takes "
                          f"{', '.join(sorted(accepted)) or 'no options'}")
    try:
        transform: Transform = cls(**options)
    except TypeError as exc:  # a required option missing
        raise ConfigError(f"{path}: {name}: {exc}") from exc
    return transform


class Chain:
    """The transforms applied in order to one source's rows, counting the rows each one
    dropped (known once the output has been read).

    The trailing :class:`RowFilter` transforms (all of them, usually) are applied by the
    validation to each batch it checks (:meth:`filter`), which carries the row numbers of
    the rows left: a filter that keeps every other row must not cut the stream into
    batches of one row. Other transforms, and row filters before them, run on Frames.
    """

    def __init__(self, transforms: list[Transform], frames: Frames) -> None:
        self.stages: list[tuple[str, Frames, Frames]] = []
        last_other = max((i for i, t in enumerate(transforms) if not isinstance(t, RowFilter)),
                         default=-1)
        self.row_filters = [t for t in transforms[last_other + 1:] if isinstance(t, RowFilter)]
        self._filtered: dict[str, int] = {}
        self.names = [_name(t) for t in transforms]
        for transform in transforms[:last_other + 1]:
            output = transform(frames)
            if not isinstance(output, Frames):
                raise ConfigError(f"the transform {_name(transform)} returned "
                                  f"{type(output).__name__}, not Frames")
            output.fraction = frames.fraction
            self.stages.append((_name(transform), frames, output))
            frames = output
        for row_filter in self.row_filters:
            row_filter.bind(frames.schema, frames.source)
        self.output = frames

    def filter(self, batch: pa.RecordBatch, rows: np.ndarray) -> tuple[pa.RecordBatch,
                                                                       np.ndarray]:
        """``batch`` without the rows the row filters drop, and the row numbers left."""
        for row_filter in self.row_filters:
            keep = np.asarray(row_filter.keep(batch), dtype=bool)
            if keep.all():
                continue
            name = _name(row_filter)
            self._filtered[name] = self._filtered.get(name, 0) + int((~keep).sum())
            batch, rows = batch.filter(pa.array(keep)), rows[keep]
        return batch, rows

    def dropped(self) -> dict[str, int]:
        """Rows each transform dropped (read all the output first)."""
        counts = dict.fromkeys(self.names, 0)
        for name, dropped in self._filtered.items():
            counts[name] += dropped
        for name, given, passed in self.stages:
            lost = given.rows_read - passed.rows_read
            if lost < 0:
                raise ConfigError(f"the transform {name} passed on {passed.rows_read:,} rows "
                                  f"of {given.rows_read:,}: a transform may drop rows, not "
                                  "add them (an added row has no row in the source)")
            counts[name] += lost
        return counts


def _name(transform: Transform) -> str:
    for attribute in ("name", "__name__"):
        if isinstance(getattr(transform, attribute, None), str):
            return str(getattr(transform, attribute))
    return type(transform).__name__


class RowFilter:
    """Base of transforms that keep some rows as they are: subclasses say which.

    Kept rows keep their row numbers: a batch with dropped rows inside is passed on as the
    runs of consecutive rows between them.
    """

    name: ClassVar[str] = "row-filter"

    def keep(self, batch: pa.RecordBatch) -> np.ndarray:
        """A boolean per row of ``batch``: True to pass it on. Called on the batches in
        source order, each row once."""
        raise NotImplementedError

    def bind(self, schema: pa.Schema, source: str | None) -> None:
        """Check options against the source's columns (before any row is read)."""

    def __call__(self, frames: Frames) -> Frames:
        self.bind(frames.schema, frames.source)
        return Frames(frames.schema, self._kept(frames), source=frames.source,
                      info=frames.info, issues=frames.issues)

    def _kept(self, frames: Frames) -> Iterator[RawBatch]:
        for first_row, batch in frames.numbered():
            yield from kept_runs(first_row, batch, self.keep(batch))


def kept_runs(first_row: int, batch: pa.RecordBatch, keep: np.ndarray) -> Iterator[RawBatch]:
    """The runs of consecutive kept rows of ``batch``, each with its first row number."""
    if keep.all():
        yield first_row, batch
        return
    at = np.flatnonzero(keep)
    if not len(at):
        return
    for run in np.split(at, np.flatnonzero(np.diff(at) != 1) + 1):
        start = int(run[0])
        yield first_row + start, batch.slice(start, len(run))


def check_columns(names: Iterable[str], schema: pa.Schema, what: str,
                  source: str | None) -> None:
    """A ConfigError naming every column of ``names`` the source lacks."""
    from ldtransform.mapping._spec import close_match

    missing = [name for name in names if name not in schema.names]
    if missing:
        hints = "; ".join(f"{name!r}{close_match(name, schema.names)}" for name in missing)
        raise ConfigError(f"{what}: {source or 'the source'} has no column {hints}; its "
                          f"columns are {', '.join(schema.names)}")
