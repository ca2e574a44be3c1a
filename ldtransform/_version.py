"""The installed version of ldtransform, read once from the package metadata.

pyproject.toml holds the version literal; every module that needs it imports it from here,
so nothing reaches for the package root (and its whole public API) just for a string.
"""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("ldtransform")
except metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = "0+unknown"
