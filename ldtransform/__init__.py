"""ldtransform: messy files in, clean and validated Liquid Decisions data out.

The public API is re-exported here; everything else is private::

    import ldtransform
    frames = ldtransform.read("accounts.xlsx", sheet="Accounts")
    df = frames.to_pandas()
"""

from __future__ import annotations

from ldtransform import _pandas_hook
from ldtransform._version import __version__
from ldtransform.errors import (
    ConfigError,
    EncodingError,
    LdTransformError,
    MappingError,
    MissingDependencyError,
    PluginConflictError,
    PluginError,
    PluginLoadError,
    ReadError,
    SchemaError,
    StreamConsumedError,
    UnknownFormatError,
    UnknownOptionError,
    ValidationFailed,
    WorkbookError,
)
from ldtransform.exports import export_frame, read_export
from ldtransform.frames import Frames, NumberedBatch
from ldtransform.mapping import BoundMapping, Mapping
from ldtransform.pipeline import ConvertResult, convert
from ldtransform.protocols import Issue, Reader, Transform, Validator, Writer
from ldtransform.readers import read
from ldtransform.report import Report
from ldtransform.result import Result, validate
from ldtransform.schema import FieldSpec, ItemSchema, load_schema
from ldtransform.validation import Validation

_pandas_hook.install()  # df.ld.validate(...) once pandas is imported


__all__ = [
    "BoundMapping",
    "ConfigError",
    "ConvertResult",
    "EncodingError",
    "FieldSpec",
    "Frames",
    "Issue",
    "ItemSchema",
    "LdTransformError",
    "Mapping",
    "MappingError",
    "MissingDependencyError",
    "NumberedBatch",
    "PluginConflictError",
    "PluginError",
    "PluginLoadError",
    "ReadError",
    "Reader",
    "Report",
    "Result",
    "SchemaError",
    "StreamConsumedError",
    "Transform",
    "UnknownFormatError",
    "UnknownOptionError",
    "Validation",
    "ValidationFailed",
    "Validator",
    "WorkbookError",
    "Writer",
    "__version__",
    "convert",
    "export_frame",
    "load_schema",
    "read",
    "read_export",
    "validate",
]
