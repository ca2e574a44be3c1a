"""Limits on what a Jinja2 template may build, write and spend: one sandbox for every
template ldtransform renders (the CSV template writer and the local server's exports).

Jinja2's sandbox keeps a template away from Python internals, but not from building a
gigabyte string (``'x' * 10**9``), looping for ever (nested ``range(100000)`` loops) or
writing a function's repr. :class:`LimitedSandbox` adds:

- **size**: no text, list or mapping a template builds may hold more than
  ``value_chars`` characters or elements. ``*``, ``+``, ``**`` and ``%`` are checked
  *before* they run, as are the widths and counts of the string methods and filters that
  multiply their input (``center``, ``replace``, ``join``, ``format``...); every other
  result of a call, filter or ``~`` is measured after it;
- **time**: each record renders within ``time_limit`` seconds; loop iterations, calls and
  filters count as steps, and every few steps the clock (and an ``interrupt`` callback,
  e.g. a cancel request) is looked at;
- **output**: one record's output is at most ``output_chars`` characters
  (:func:`join_output`), and a ``{{ ... }}`` must give data (text, numbers, dates, lists,
  mappings), never a function, method, class or module.

Going over a limit raises :class:`TemplateLimitError`; writing a non-data value,
:class:`NotDataError`.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from decimal import Decimal
from functools import update_wrapper
from typing import Any

from jinja2 import nodes
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg
from markupsafe import Markup

__all__ = ["LimitedSandbox", "NotDataError", "TemplateLimitError", "TemplateLimits", "join_output",
           "refuse_non_data", "template_line"]

#: Largest integer a template may compute, in bits (about 20,000 digits).
MAX_INT_BITS = 1 << 16
#: Steps between two looks at the clock.
_CHECK_EVERY = 64
_STEPS_FILTER = "_limit_steps"
_SIZE_FILTER = "_limit_size"
_PERCENT_WIDTH = re.compile(r"%[-#0 +]*(\d+|\*)?(?:\.(\d+|\*))?")
_FORMAT_SPEC = re.compile(r"\{[^{}]*:([^{}]*)\}")
#: Types whose size is their length (text) or nothing to worry about.
_PLAIN = frozenset({str, float, bool, type(None)})
_DATA = (str, bytes, int, float, Decimal, date, datetime, time_of_day, timedelta, list,
         tuple, dict, Undefined, Markup)


@dataclass(frozen=True)
class TemplateLimits:
    """How much one template may build, write and spend on one record."""

    #: Most characters (text) or elements (lists, mappings, counted deep) of any value.
    value_chars: int = 10_000_000
    #: Most characters one record's rendering may write.
    output_chars: int = 10_000_000
    #: Most seconds one record's rendering may take.
    time_limit: float = 10.0


class TemplateLimitError(Exception):
    """A template went over one of its limits; the message says which."""


class NotDataError(TypeError):
    """A ``{{ ... }}`` gave something that is not data (a function, a class...)."""


def _too_big(what: str, size: int, limit: int) -> TemplateLimitError:
    return TemplateLimitError(f"{what} would hold {size:,} characters or elements, more "
                              f"than the limit of {limit:,} a template may build")


def measure(value: Any, limit: int) -> int:
    """Characters of text plus elements of containers in ``value`` (counted deep);
    stops counting once past ``limit``, so it costs little whatever ``value`` is."""
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, dict):
            total += len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += len(item)
            stack.extend(item)
        else:
            total += 1
    return total


def refuse_non_data(value: Any) -> Any:
    """``value`` if it is data a template may write; else a :class:`NotDataError`."""
    if value is None or isinstance(value, _DATA):
        return value
    kind = type(value).__name__
    what = "a function or method" if callable(value) else f"a {kind}"
    raise NotDataError(f"the expression gives {what} ({kind}), not data that can be "
                             "written; call it or write a field instead")


def join_output(pieces: Iterable[str], limits: TemplateLimits) -> str:
    """The pieces a template rendering yields, joined, within ``limits.output_chars``."""
    out: list[str] = []
    append, size, limit = out.append, 0, limits.output_chars
    for piece in pieces:
        size += len(piece)
        if size > limit:
            raise TemplateLimitError(f"one record's output is longer than the limit of "
                                     f"{limit:,} characters")
        append(piece)
    return "".join(out)


def template_line(exc: BaseException, filename: str) -> int | None:
    """The line of ``filename`` (a template) where ``exc`` was raised, if it ran there."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _widths(fmt: str) -> list[int | None]:
    """The widths and precisions in a ``%`` or ``format`` string (None for ``*``)."""
    found: list[int | None] = []
    for width, precision in _PERCENT_WIDTH.findall(fmt):
        found += [None if part == "*" else int(part) for part in (width, precision) if part]
    for spec in _FORMAT_SPEC.findall(fmt):
        found += [int(n) for n in re.findall(r"\d+", spec)]
    return found


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox under :class:`TemplateLimits` (see the module).

    Call :meth:`begin_record` before rendering each record. ``interrupt``, when set, is
    called every few steps and may raise to stop the rendering (a cancel request).
    """

    intercepted_binops = frozenset({"*", "+", "**", "%"})

    def __init__(self, *args: Any, limits: TemplateLimits | None = None,
                 **kwargs: Any) -> None:
        inner = kwargs.pop("finalize", None)
        super().__init__(*args, finalize=self._finalizer(inner), **kwargs)
        self.limits = limits or TemplateLimits()
        self.interrupt: Callable[[], None] | None = None
        self._deadline = math.inf
        self._steps = 0
        self.filters = _LimitedFilters(self, self.filters)
        self.filters[_STEPS_FILTER] = self._count_steps
        self.filters[_SIZE_FILTER] = lambda value: self._checked(value, "the result of '~'")
        # Lorem ipsum builds as much text as it is asked for, in one call.
        self.globals.pop("lipsum", None)

    def _finalizer(self, inner: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
        def finalize(value: Any) -> Any:
            if type(value) not in _PLAIN:
                refuse_non_data(value)
                if not isinstance(value, Undefined):
                    self._checked(value, "the written value")
            elif type(value) is str and len(value) > self.limits.value_chars:
                raise _too_big("the written value", len(value), self.limits.value_chars)
            return value if inner is None else inner(value)
        return finalize

    # -- time -------------------------------------------------------------------------

    def begin_record(self) -> None:
        """Start the clock of one record's rendering."""
        self._deadline = time.monotonic() + self.limits.time_limit

    def step(self) -> None:
        """One loop iteration, call or filter: now and then, look at the clock."""
        self._steps += 1
        if self._steps % _CHECK_EVERY:
            return
        if time.monotonic() > self._deadline:
            raise TemplateLimitError(f"rendering one record took longer than the limit "
                                     f"of {self.limits.time_limit:g} s")
        if self.interrupt is not None:
            self.interrupt()

    def _count_steps(self, iterable: Any) -> Iterator[Any]:
        for value in iterable:
            self.step()
            yield value

    # -- size -------------------------------------------------------------------------

    def _checked(self, value: Any, what: str = "the value") -> Any:
        limit = self.limits.value_chars
        if type(value) in _PLAIN:  # the common case, quickly
            if type(value) is str and len(value) > limit:
                raise _too_big(what, len(value), limit)
            return value
        if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            raise TemplateLimitError(f"{what} is a number of more than {MAX_INT_BITS} bits")
        size = measure(value, limit)
        if size > limit:
            raise _too_big(what, size, limit)
        return value

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        self.step()
        self._before_binop(operator, left, right)
        return self._checked(super().call_binop(context, operator, left, right),
                             f"the result of {operator!r}")

    def _before_binop(self, operator: str, left: Any, right: Any) -> None:
        limit = self.limits.value_chars
        sized = (str, bytes, list, tuple)
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, sized) and isinstance(count, int):
                    size = measure(seq, limit) * max(count, 0)
                    if size > limit:
                        raise _too_big("the result of '*'", size, limit)
            if isinstance(left, int) and isinstance(right, int) \
                    and left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise TemplateLimitError(f"the result of '*' is a number of more than "
                                         f"{MAX_INT_BITS} bits")
        elif operator == "+" and isinstance(left, sized) and isinstance(right, sized):
            size = measure(left, limit) + measure(right, limit)
            if size > limit:
                raise _too_big("the result of '+'", size, limit)
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) \
                and abs(left) > 1 and right * math.log2(abs(left)) > MAX_INT_BITS:
            raise TemplateLimitError(f"the result of '**' is a number of more than "
                                     f"{MAX_INT_BITS} bits")
        elif operator == "%" and isinstance(left, str):
            self._check_format(left, right if isinstance(right, tuple) else (right,))

    def _check_format(self, fmt: str, args: Iterable[Any]) -> None:
        limit = self.limits.value_chars
        widths = _widths(fmt)
        stars = any(w is None for w in widths)
        numbers = [w for w in widths if w is not None]
        if stars:  # a width taken from the arguments
            numbers += [a for a in args if isinstance(a, int) and not isinstance(a, bool)]
        if numbers and max(numbers) > limit:
            raise _too_big("a formatted text", max(numbers), limit)

    def call(__self, __context: Context, __obj: Any,
             *args: Any, **kwargs: Any) -> Any:
        __self.step()
        target = getattr(__obj, "__wrapped__", __obj)
        owner = getattr(target, "__self__", None)
        if isinstance(owner, str):
            __self._before_text_method(owner, getattr(target, "__name__", ""), args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        return __self._checked(result, "the result of a call")

    def _before_text_method(self, text: str, name: str, args: tuple[Any, ...],
                            kwargs: dict[str, Any]) -> None:
        limit = self.limits.value_chars
        first = args[0] if args else None
        if name in ("center", "ljust", "rjust", "zfill") and isinstance(first, int) \
                and first > limit:
            raise _too_big(f"the result of {name}()", first, limit)
        elif name == "expandtabs" and isinstance(first, int) \
                and text.count("\t") * first > limit:
            raise _too_big("the result of expandtabs()", text.count("\t") * first, limit)
        elif name == "replace":
            self._check_replace(text, *args[:2])
        elif name == "join" and first is not None:
            self._check_join(first, text)
        elif name in ("format", "format_map"):
            self._check_format(text, [*args, *kwargs.values()])

    def _check_replace(self, text: Any, old: Any = None, new: Any = None) -> None:
        if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
            count = len(text) + 1 if not old else text.count(old)
            size = len(text) + count * len(new)
            if size > self.limits.value_chars:
                raise _too_big("the result of replace", size, self.limits.value_chars)

    def _check_join(self, values: Any, separator: Any) -> None:
        if isinstance(separator, str) and hasattr(values, "__len__"):
            size = len(separator) * len(values)
            if size > self.limits.value_chars:
                raise _too_big("the result of join", size, self.limits.value_chars)

    def check_filter(self, name: str, value: Any, args: tuple[Any, ...]) -> None:
        """Refuse a filter call whose result would be over the size limit."""
        limit = self.limits.value_chars
        for arg in args:
            if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > limit:
                raise _too_big(f"the result of the {name} filter", abs(arg), limit)
        if name == "join":
            self._check_join(value, args[0] if args else "")
        elif name == "replace":
            self._check_replace(value, *args[:2])
        elif name == "format" and isinstance(value, str):
            self._check_format(value, args)
        elif name == "indent" and isinstance(value, str) and args \
                and isinstance(args[0], str):
            size = len(value) + value.count("\n") * len(args[0])
            if size > limit:
                raise _too_big("the result of the indent filter", size, limit)

    # -- parsing: loops count steps, '~' is measured ----------------------------------

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in list(tree.find_all(nodes.For)):
            loop.iter = nodes.Filter(loop.iter, _STEPS_FILTER, [], [], None, None,
                                     lineno=loop.lineno)
        for parent in list(tree.find_all(nodes.Node)):
            for field, child in parent.iter_fields():
                if isinstance(child, nodes.Concat):
                    setattr(parent, field, _measured(child))
                elif isinstance(child, list):
                    child[:] = [_measured(c) if isinstance(c, nodes.Concat) else c
                                for c in child]
        return tree


def _measured(node: nodes.Concat) -> nodes.Filter:
    return nodes.Filter(node, _SIZE_FILTER, [], [], None, None, lineno=node.lineno)


class _LimitedFilters(dict[str, Any]):
    """The filters of a :class:`LimitedSandbox`: each is wrapped as it is added, so that
    every call counts a step and is checked before (arguments) and after (result)."""

    def __init__(self, env: LimitedSandbox, filters: dict[str, Any]) -> None:
        super().__init__()
        self._env = env
        self.update(filters)

    def __setitem__(self, name: str, function: Any) -> None:
        super().__setitem__(name, self._wrap(name, function))

    def update(self, *args: Any, **kwargs: Any) -> None:
        for name, function in dict(*args, **kwargs).items():
            self[name] = function

    def _wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        env = self._env
        if name in (_STEPS_FILTER, _SIZE_FILTER):
            return function
        passes = _PassArg.from_obj(function) is not None

        def limited(*args: Any, **kwargs: Any) -> Any:
            env.step()
            value, rest = (args[1], args[2:]) if passes else (args[0], args[1:])
            env.check_filter(name, value, (*rest, *kwargs.values()))
            return env._checked(function(*args, **kwargs), f"the result of the {name} filter")

        return update_wrapper(limited, function)
