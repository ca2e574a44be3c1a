"""Built-in readers, one module per format, and :func:`read`, the way in."""

from __future__ import annotations

import inspect
import sys
from typing import Any

import pyarrow as pa

from ldtransform import registry
from ldtransform._quarantine_file import apply_sidecar
from ldtransform.errors import UnknownOptionError
from ldtransform.frames import Frames
from ldtransform.protocols import Source
from ldtransform.readers._vetting import resolve_source

__all__ = ["is_in_memory", "read", "read_for_validation", "reader_options"]

DEFAULT_BATCH_SIZE = 65_536


def reader_options(reader_class: type) -> list[str]:
    """The option names a reader class accepts (its ``__init__`` keywords + batch_size)."""
    parameters = inspect.signature(reader_class).parameters
    taken = [
        name for name, p in parameters.items()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return sorted([*taken, "batch_size"])


def read(
    source: Source, *, format: str | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
    **options: Any,
) -> Frames:
    """Read ``source`` (a path or binary file; also a DataFrame or Arrow table) into
    streaming :class:`Frames`.

    The format comes from ``format`` or the file's suffix. Reader options include
    ``encoding`` (a codec or ``"auto"``), ``delimiter``, ``sheet``, ``header_row``;
    an option the chosen reader does not take raises :class:`UnknownOptionError`.
    ``"-"`` reads standard input (with ``format``). A path that is not a regular file
    (a directory, a pipe, a device) or an empty file raises :class:`ReadError`. A
    quarantine file ldtransform wrote is read with the options of its sidecar.
    """
    in_memory = _in_memory(source, batch_size)
    if in_memory is not None:
        return in_memory
    return _read_file(source, format, batch_size, options, report_bad_rows=False)


def _read_file(source: Source, format: str | None, batch_size: int, options: dict[str, Any],
               *, report_bad_rows: bool) -> Frames:
    """A file through its reader: a quarantine file with its sidecar's options, standard
    input and the checks on what the path names (see :func:`read`)."""
    format, options, sidecar = apply_sidecar(source, format, options)
    source = resolve_source(source, format)
    reader_class = registry.reader_for_source(source, format)
    valid = reader_options(reader_class)
    if report_bad_rows and "on_bad_row" in valid:
        options.setdefault("on_bad_row", "report")
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise UnknownOptionError(
            f"the {reader_class.format} reader does not take option(s) "
            f"{', '.join(unknown)}; valid options: {', '.join(valid)}"
        )
    reader = reader_class(**options)
    frames: Frames = reader.read(source, batch_size=batch_size)
    if sidecar is not None:
        frames.info["quarantine_of"] = sidecar.get("source")
    return frames


def is_in_memory(source: Any) -> bool:
    """True for a DataFrame or an Arrow table given in place of a file."""
    pandas = sys.modules.get("pandas")  # a DataFrame means pandas is already imported
    return isinstance(source, pa.Table) or (pandas is not None
                                            and isinstance(source, pandas.DataFrame))


def _in_memory(source: Any, batch_size: int) -> Frames | None:
    """Frames over a DataFrame or an Arrow table given in place of a file."""
    if isinstance(source, pa.Table):
        return Frames.from_table(source, batch_size=batch_size, source="<table>")
    if is_in_memory(source):
        return Frames.from_pandas(source, batch_size=batch_size)
    return None


def read_for_validation(source: Source, **options: Any) -> Frames:
    """:func:`read`, but a reader that can report bad rows as Issues does so rather than
    stop, so a validation run lists them with everything else."""
    if is_in_memory(source):
        return read(source, **options)
    batch_size = options.pop("batch_size", DEFAULT_BATCH_SIZE)
    return _read_file(source, options.pop("format", None), batch_size, options,
                      report_bad_rows=True)
