"""The steps behind Frames' fluent methods (``frames.map(m).validate(s).write_items(d)``).

Kept out of :mod:`ldtransform.frames` so the core type does not import the stages above it
until a user calls them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ldtransform.errors import ConfigError
from ldtransform.frames import Frames
from ldtransform.schema import ItemSchema, load_schema

if TYPE_CHECKING:
    from ldtransform.mapping import Mapping

__all__ = ["map_frames", "validate_frames"]


def map_frames(frames: Frames, mapping: Mapping | dict[str, Any] | str | os.PathLike[str],
               schema: ItemSchema | str | os.PathLike[str] | None) -> Frames:
    from ldtransform.validation import as_mapping

    loaded = as_mapping(mapping)
    assert loaded is not None
    if loaded.spec.transforms:
        raise ConfigError(f"{loaded.source or 'the mapping'} names transforms, which run (and "
                          "count the rows they drop) in validation: use "
                          ".validate(schema, mapping=...) instead of .map(...)")
    item = schema if isinstance(schema, ItemSchema) or schema is None else load_schema(schema)
    bound = loaded.bind(frames.schema, source_path=frames.source, schema=item)
    mapped = bound(frames)
    mapped.item_schema = item
    return mapped


def validate_frames(frames: Frames, schema: ItemSchema | str | os.PathLike[str],
                    mapping: Any, rejected: str | os.PathLike[str] | None,
                    options: dict[str, Any]) -> Frames:
    from ldtransform.quarantine import QuarantineFile
    from ldtransform.validation import Validation

    run = Validation(schema, mapping=mapping, **options)
    stack = contextlib.ExitStack()
    sink = stack.enter_context(QuarantineFile(rejected)) if rejected is not None else None
    valid = run.run(frames, on_rejected=sink)

    def batches() -> Iterator[tuple[int, Any]]:
        with stack:  # the quarantine file is complete once the last batch is read
            for numbered in valid.numbered():
                yield numbered.first_row, numbered.batch
            run.finish()

    result = Frames(valid.schema, batches(), source=frames.source, info=frames.info)
    result.item_schema = run.schema
    result.report = run.report
    result.quarantine = sink
    return result


