"""Conformance suites for plugin authors, the same ones the built-in formats pass.

Subclass the suite of your plugin's kind in a test module and fill in what it asks for;
pytest then runs every contract test against your plugin, found through its entry point::

    from ldtransform.testing import ReaderContract

    class TestFixedWidthReader(ReaderContract):
        format = "fixedwidth"
        carries_newlines = False      # a line-based format: no newline inside a value

        def write_table(self, table, path): ...
        def malformed_inputs(self): return [b"\\xff\\xfe"]

- :class:`ReaderContract`: implement ``write_table`` and ``malformed_inputs``; hooks:
  ``expected``, ``carries_newlines``, ``optional_modules``, ``install_hint``, ``suffix``.
- :class:`WriterContract`: implement ``make_writer`` and ``read_back``; hook ``expected_rows``.
- :class:`ValidatorContract`: implement ``make_validator`` and ``sample_table``.
- :class:`TransformContract`: implement ``make_transform`` and ``sample_table``.

The names of the contract tests are API (listed in CHANGELOG.md): a plugin may skip or
extend one by name, so renaming one is a breaking change. The suites need pytest, which
``pip install 'ldtransform[testing]'`` brings (with hypothesis, for your own tests).
"""

from __future__ import annotations

try:
    import pytest  # noqa: F401  (the suites are pytest classes)
except ImportError:  # pragma: no cover - exercised in a subprocess
    from ldtransform.errors import MissingDependencyError

    raise MissingDependencyError(
        "pytest", "testing", "ldtransform.testing (the plugin conformance suites)") from None

from ldtransform.testing._tables import UnseekableStream, canonical_table
from ldtransform.testing.readers import ReaderContract
from ldtransform.testing.transforms import TransformContract
from ldtransform.testing.validators import ValidatorContract
from ldtransform.testing.writers import WriterContract

__all__ = [
    "ReaderContract",
    "TransformContract",
    "UnseekableStream",
    "ValidatorContract",
    "WriterContract",
    "canonical_table",
]
