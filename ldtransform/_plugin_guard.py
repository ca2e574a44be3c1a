"""Third-party plugins behind a guard: an exception their code raises becomes a
:class:`~ldtransform.errors.PluginError` naming the plugin, its distribution and version,
with the original as ``__cause__``.

The guard covers constructing the plugin, calling its methods, and iterating what they
return lazily (the batches of a reader's Frames, a validator's issues). ldtransform's own
exceptions raised by a plugin (a ``ReadError`` it chose to raise) pass through unchanged.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ldtransform.errors import LdTransformError, PluginError

if TYPE_CHECKING:
    from ldtransform.registry import PluginSpec

__all__ = ["guarded"]


def guarded(spec: PluginSpec, target: Any) -> Any:
    """``target`` (a plugin's class or function) wrapped so its failures name ``spec``."""
    if not callable(target):
        return target
    return _Callable(spec, target)


def failure(spec: PluginSpec, exc: Exception) -> PluginError:
    """The PluginError standing for ``exc`` raised inside the plugin ``spec``."""
    return PluginError(
        f"the {spec.kind} plugin {spec.name!r} ({spec.target}) from distribution "
        f"{spec.distribution} {spec.version} failed: {type(exc).__name__}: {exc}. This is a "
        f"problem in the plugin, not in ldtransform: report it to the authors of "
        f"{spec.distribution}", plugin=spec.name, distribution=spec.distribution,
        version=spec.version)


def _call(spec: PluginSpec, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        result = function(*args, **kwargs)
    except LdTransformError:
        raise
    except Exception as exc:
        raise failure(spec, exc) from exc
    return _lazy(spec, result)


def _lazy(spec: PluginSpec, result: Any) -> Any:
    """What runs plugin code later, guarded too."""
    from ldtransform.frames import Frames

    if isinstance(result, Frames):
        result._batches = _iterate(spec, result._batches)
        return result
    if isinstance(result, types.GeneratorType):
        return _iterate(spec, result)
    return result


def _iterate(spec: PluginSpec, items: Iterable[Any]) -> Iterator[Any]:
    iterator = iter(items)
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except LdTransformError:
            raise
        except Exception as exc:
            raise failure(spec, exc) from exc
        yield item


class _Callable:
    """A plugin's class or function: calling it is guarded, and so is the instance made."""

    def __init__(self, spec: PluginSpec, target: Any) -> None:
        self._spec = spec
        self.__wrapped__ = target  # inspect.signature and unwrap see the plugin itself

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        made = _call(self._spec, self.__wrapped__, *args, **kwargs)
        if inspect.isclass(self.__wrapped__) and isinstance(made, self.__wrapped__):
            return _Instance(self._spec, made)
        return made

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__wrapped__, name)

    def __repr__(self) -> str:
        return f"<plugin {self._spec.name!r} from {self._spec.distribution}: " \
               f"{self.__wrapped__!r}>"


class _Instance:
    """A plugin object whose method calls are guarded."""

    def __init__(self, spec: PluginSpec, instance: Any) -> None:
        object.__setattr__(self, "_spec", spec)
        object.__setattr__(self, "__wrapped__", instance)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.__wrapped__, name)
        if not callable(value) or inspect.isclass(value):
            return value

        def method(*args: Any, **kwargs: Any) -> Any:
            return _call(self._spec, value, *args, **kwargs)

        return method

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.__wrapped__, name, value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # a Transform is called
        return _call(self._spec, self.__wrapped__, *args, **kwargs)

    def __repr__(self) -> str:
        return repr(self.__wrapped__)
