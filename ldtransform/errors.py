"""Every exception ldtransform raises, all from one base.

Problems *in the data* are :class:`~ldtransform.protocols.Issue` values, not exceptions.
Exceptions are failures of the program or its inputs, and each message says what went
wrong, where (file, line/row, sheet, column) and what to do next::

    LdTransformError
    ├── ConfigError                 bad option, argument or configuration
    │   ├── UnknownOptionError      an option a reader/writer does not take
    │   ├── SchemaError             an itemType schema file is itself wrong
    │   ├── MappingError            a mapping names unknown columns or is malformed
    │   └── TemplateError           a CSV template is malformed, unsafe or names no field
    ├── PluginError                 a plugin cannot be loaded or used, or failed
    │   ├── UnknownFormatError      no reader/writer of that name or suffix
    │   ├── PluginConflictError     two distributions claim one name
    │   └── PluginLoadError         a plugin failed to import
    ├── MissingDependencyError      an optional extra is not installed
    ├── StreamConsumedError         a one-shot Frames was iterated twice
    ├── ValidationFailed            on_error="fail": rows were rejected
    ├── UnwritableValueError        a value the output format has no spelling for (inf)
    └── ReadError                   a source cannot be read as the format says
        ├── EncodingError           bytes invalid for the encoding
        └── WorkbookError           a workbook is protected, corrupt or lacks a sheet
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ConfigError",
    "EncodingError",
    "LdTransformError",
    "MappingError",
    "MissingDependencyError",
    "PluginConflictError",
    "PluginError",
    "PluginLoadError",
    "ReadError",
    "SchemaError",
    "StreamConsumedError",
    "TemplateError",
    "UnknownFormatError",
    "UnknownOptionError",
    "UnwritableValueError",
    "ValidationFailed",
    "WorkbookError",
]


class LdTransformError(Exception):
    """Base of every ldtransform exception."""


class ConfigError(LdTransformError):
    """An option, argument or configuration value is wrong."""


class UnknownOptionError(ConfigError, TypeError):
    """A reader or writer was given an option it does not take."""


class SchemaError(ConfigError):
    """An itemType schema is itself wrong; ``path`` is the JSON path of the mistake."""

    def __init__(self, problem: str, *, path: str, source: str | None = None) -> None:
        self.problem = problem
        self.path = path
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{path}: {problem}")


class MappingError(ConfigError):
    """A mapping is malformed or names source columns that do not exist.

    ``path`` locates the mistake in the mapping (``fields.accountClass.values``);
    ``columns`` are the source columns it names that the source lacks, if that is the
    mistake.
    """

    def __init__(self, problem: str, *, path: str | None = None,
                 source: str | None = None, columns: list[str] | None = None) -> None:
        self.problem = problem
        self.path = path
        self.source = source
        self.columns = columns or []
        where = ": ".join(part for part in (source, path) if part)
        super().__init__(f"{where}: {problem}" if where else problem)


class TemplateError(ConfigError):
    """A CSV template cannot be compiled or rendered.

    ``template`` (file name), ``line`` and ``name`` (the variable or field at fault) say
    where; the message starts with ``template:line``.
    """

    def __init__(self, problem: str, *, template: str | None = None, line: int | None = None,
                 name: str | None = None) -> None:
        self.problem = problem
        self.template = template
        self.line = line
        self.name = name
        where = ":".join(str(part) for part in (template, line) if part is not None)
        super().__init__(f"{where}: {problem}" if where else problem)


class PluginError(LdTransformError):
    """A plugin (built-in or third-party) cannot be found, loaded or used.

    When a third-party plugin's own code failed, ``plugin``, ``distribution`` and
    ``version`` name it and ``__cause__`` is the exception it raised.
    """

    def __init__(self, message: str, *, plugin: str | None = None,
                 distribution: str | None = None, version: str | None = None) -> None:
        self.plugin = plugin
        self.distribution = distribution
        self.version = version
        super().__init__(message)


class UnknownFormatError(PluginError):
    """No installed reader or writer matches the requested format or file suffix."""


class PluginConflictError(PluginError):
    """Two installed distributions register the same format name."""


class PluginLoadError(PluginError):
    """A plugin's entry point failed to import."""


class MissingDependencyError(LdTransformError, ImportError):
    """An optional dependency is missing; the message names the extra to install (a
    plugin passes ``package=`` its own distribution, whose extra it is)."""

    def __init__(self, module: str, extra: str, purpose: str, *,
                 package: str = "ldtransform") -> None:
        self.module = module
        self.extra = extra
        super().__init__(
            f"{purpose} needs the optional package {module!r}, which is not installed. "
            f"Install it with: pip install '{package}[{extra}]'"
        )


class StreamConsumedError(LdTransformError, RuntimeError):
    """A :class:`~ldtransform.frames.Frames` was iterated a second time."""


class ValidationFailed(LdTransformError):
    """Rows were rejected where ``on_error="fail"`` asked for all or nothing.

    ``report`` is the validation report so far; ``row`` and ``source`` locate the first
    rejected row.
    """

    def __init__(self, message: str, *, report: object = None, row: int | None = None,
                 source: str | None = None) -> None:
        self.report = report
        self.row = row
        self.source = source
        super().__init__(message)


class UnwritableValueError(LdTransformError, ValueError):
    """A value has no spelling in the output format (nan or inf in LD items or CSV)."""


class ReadError(LdTransformError):
    """A source cannot be read as its format says.

    ``source``, ``line`` (physical line), ``row`` (row as a person counts it in the file),
    ``column`` and ``sheet`` locate the problem where known; the message already names them.
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str | Path | None = None,
        line: int | None = None,
        row: int | None = None,
        column: str | None = None,
        sheet: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        self.source = str(source) if source is not None else None
        self.line = line
        self.row = row
        self.column = column
        self.sheet = sheet
        self.hint = hint
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = [self.source or "<input>"]
        if self.sheet is not None:
            where.append(f"sheet {self.sheet!r}")
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.row is not None and self.row != self.line:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        text = f"{', '.join(where)}: {self.problem}"
        return f"{text}. {self.hint}" if self.hint else text


class EncodingError(ReadError):
    """The bytes of a text source are not valid in the encoding used to read it."""


class WorkbookError(ReadError):
    """A workbook is password-protected, corrupt, or has no such sheet."""
