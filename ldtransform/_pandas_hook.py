"""Register the ``DataFrame.ld`` accessor as soon as pandas is imported (and the Dask
DataFrame's ``ddf.ld`` as soon as ``dask.dataframe`` is).

``import ldtransform`` must not import pandas (it is slow and the CLI often does not need
it), yet ``df.ld`` has to work whichever of the two a user imports first. If pandas is
already loaded the accessor is registered at once; otherwise a one-shot import hook
registers it right after pandas finishes importing.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

__all__ = ["install"]


class _AfterPandas(importlib.abc.MetaPathFinder):
    """Finds pandas through the other finders, then wraps its loader."""

    module = "pandas"

    def register(self) -> Any:
        return _register()

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.module:
            return None
        sys.meta_path.remove(self)  # one shot, and do not find ourselves below
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module: ModuleType) -> None:
            exec_module(module)
            self.register()

        spec.loader.exec_module = exec_then_register  # type: ignore[method-assign]
        return spec


def _register() -> Any:
    import ldtransform.accessor

    return ldtransform.accessor


class _AfterDaskDataFrame(_AfterPandas):
    """The same for ``dask.dataframe``, whose ``ddf.ld`` the Dask engine provides."""

    module = "dask.dataframe"

    def register(self) -> Any:
        return _register_dask()


def _register_dask() -> Any:
    import importlib

    try:  # loaded by name: the core never imports an engine
        return importlib.import_module("ldtransform.engines.dask._accessor")
    except ImportError:  # dask without distributed: no ddf.ld, nothing else lost
        return None


def install() -> None:
    """Make ``DataFrame.ld`` available now or when pandas gets imported, and the Dask
    DataFrame's likewise."""
    if "pandas" in sys.modules:
        _register()
    elif not any(type(f) is _AfterPandas for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterPandas())
    if "dask.dataframe" in sys.modules:
        _register_dask()
    elif not any(isinstance(f, _AfterDaskDataFrame) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterDaskDataFrame())
