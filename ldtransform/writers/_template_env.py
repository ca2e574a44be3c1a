"""Compiling a CSV template in Jinja2's sandbox, and row mode: one record per block call.

The environment is :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` with
``StrictUndefined`` (a misspelt name is an error, never an empty cell) and a ``finalize``
that turns every ``{{ ... }}`` into a CSV cell: LD text, spreadsheet guard when asked,
RFC 4180 quoting. Attribute access is narrowed further than the sandbox does: a dot on
a record means its field (never a ``dict`` method, so a field called ``items`` works),
a name starting with ``_`` is refused outright, and an absent record (``addresses[0]``
of an item without addresses) has empty fields rather than failing.

The sandbox is :class:`~ldtransform._template_limits.LimitedSandbox`, the one the local
server's export templates run in: no value a template builds may outgrow its limits, a
record renders within a time and output limit, and a ``{{ ... }}`` must give data, never a
function. Every failure becomes a :class:`~ldtransform.errors.TemplateError` naming the
template file and line, found by walking the traceback to the compiled template's frames.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NoReturn

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError

from ldtransform._template_limits import (
    LimitedSandbox,
    NotDataError,
    TemplateLimitError,
    TemplateLimits,
    join_output,
)
from ldtransform.errors import TemplateError
from ldtransform.writers._template_filters import FilterContext, python_filters
from ldtransform.writers._template_values import Quoted, guard_text, quote_text, value_text

__all__ = ["CompiledTemplate", "CsvOptions", "compile_template", "no_field", "render_rows"]

INTERNALS = ("templates cannot reach Python internals: {name!r} starts with '_', which "
             "is refused (write item[\"{name}\"] for a field that really is called so)")


@dataclass(frozen=True)
class CsvOptions:
    """How cells are spelled: the writer's options that reach the template."""

    delimiter: str = ","
    spreadsheet_safe: bool = False
    timezone: str = "UTC"
    unset: str | None = ""

    @property
    def filters(self) -> FilterContext:
        return FilterContext(timezone=self.timezone, unset=self.unset)

    def cell(self, value: Any) -> str:
        """The finished cell of one value (what ``{{ value }}`` writes)."""
        if isinstance(value, Quoted):
            return value
        if isinstance(value, jinja2.Undefined):
            value._fail_with_undefined_error()
        text = value_text(value, self.timezone)
        if text is None:
            return ""
        if self.spreadsheet_safe:
            text = guard_text(text)
        return quote_text(text, self.delimiter)


def no_field(owner: str, name: str, fields: Iterable[str]) -> str:
    """The message for a field that does not exist, with a close match when there is one."""
    known = list(fields)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{owner} has no field {name!r} (its fields: {', '.join(known)}){hint}"


class _CsvSandbox(LimitedSandbox):
    """The sandbox, with records read as records (see the module docstring)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if attribute.startswith("_"):
            raise SecurityError(INTERNALS.format(name=attribute))
        if obj is None:
            return None
        if type(obj) is dict:
            if attribute in obj:
                return obj[attribute]
            return self.undefined(no_field("the record", attribute, obj), obj=obj,
                                  name=attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if obj is None:
            return None
        if type(obj) is dict and isinstance(argument, str):
            if argument in obj:
                return obj[argument]
            if argument.startswith("_"):
                raise SecurityError(INTERNALS.format(name=argument))
            return self.undefined(no_field("the record", argument, obj), obj=obj,
                                  name=argument)
        if type(obj) is list and type(argument) is int:
            # An absent child record is empty, not an error: most items have fewer.
            return obj[argument] if -len(obj) <= argument < len(obj) else None
        return super().getitem(obj, argument)

    def unsafe_undefined(self, obj: Any, attribute: str) -> NoReturn:
        raise SecurityError(f"templates cannot reach Python internals: access to "
                            f"{attribute!r} of a {type(obj).__name__} is refused")


@dataclass
class CompiledTemplate:
    """A template compiled once: its name for messages, Jinja2 template and blocks."""

    name: str
    template: jinja2.Template
    row: nodes.Block
    header: nodes.Block | None
    options: CsvOptions

    def lines_error(self, exc: BaseException, what: str) -> TemplateError:
        """``exc`` (raised while rendering) as a TemplateError naming file and line."""
        line = _template_line(exc.__traceback__, self.name, self.template)
        if isinstance(exc, SecurityError):
            problem = str(exc) if "Python internals" in str(exc) else (
                f"templates cannot reach Python internals: {exc}")
        elif isinstance(exc, UndefinedError):
            problem = exc.message or "undefined"
        elif isinstance(exc, TemplateLimitError | NotDataError):
            problem = str(exc)
        else:
            problem = f"{type(exc).__name__}: {exc}"
        return TemplateError(f"{problem} ({what})", template=self.name, line=line,
                             name=getattr(exc, "name", None))

    def header_text(self) -> str:
        """The rendered header block ('' when the template has none)."""
        if self.header is None:
            return ""
        env = self.template.environment
        assert isinstance(env, LimitedSandbox)
        env.begin_record()
        try:
            return join_output(self.template.blocks["header"](self.template.new_context({})),
                               env.limits)
        except TemplateError:
            raise
        except Exception as exc:
            raise self.lines_error(exc, "while writing the header") from exc


def compile_template(source: str, name: str, options: CsvOptions,
                     limits: TemplateLimits | None = None) -> CompiledTemplate:
    """Parse, check and compile ``source`` (called ``name`` in messages)."""
    env = _CsvSandbox(undefined=jinja2.StrictUndefined, autoescape=False,
                      keep_trailing_newline=True, finalize=options.cell, limits=limits)
    filters = python_filters(options.filters)
    filters["csv"] = lambda value: Quoted(options.cell(value))
    env.filters.update(filters)
    try:
        ast = env.parse(source, filename=name)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"syntax error: {exc.message}", template=name,
                            line=exc.lineno) from exc
    blocks = {block.name: block for block in ast.find_all(nodes.Block)}
    if "row" not in blocks:
        raise TemplateError("the template has no {% block row %}...{% endblock %}: that "
                            "block says how one item becomes a line", template=name)
    for attribute in ast.find_all(nodes.Getattr):
        if attribute.attr.startswith("_"):
            raise TemplateError(INTERNALS.format(name=attribute.attr), template=name,
                                line=attribute.lineno, name=attribute.attr)
    for block in blocks.values():
        _trim_newlines(block)
    try:
        code = env.compile(ast, name=name, filename=name)
    except TemplateSyntaxError as exc:
        raise TemplateError(exc.message or "cannot compile", template=name,
                            line=exc.lineno) from exc
    template = env.template_class.from_code(env, code, env.make_globals(None))
    return CompiledTemplate(name, template, blocks["row"], blocks.get("header"), options)


def _trim_newlines(block: nodes.Block) -> None:
    """Drop line breaks at the very start and end of a block's literal text, so a block
    may sit on lines of its own; the writer ends each line itself."""
    for position, strip in ((0, str.lstrip), (-1, str.rstrip)):
        statement = block.body[position] if block.body else None
        if not isinstance(statement, nodes.Output):
            continue
        data = statement.nodes[position] if statement.nodes else None
        if isinstance(data, nodes.TemplateData):
            data.data = strip(data.data, "\r\n")


def _template_line(tb: TracebackType | None, name: str, template: jinja2.Template
                   ) -> int | None:
    """The template line of the innermost traceback frame running the template."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == name:
            line = template.get_corresponding_lineno(tb.tb_lineno)
        tb = tb.tb_next
    return line


def render_rows(compiled: CompiledTemplate, items: list[dict[str, Any]],
                line_ending: str) -> list[str]:
    """Row mode: the ``row`` block once per item, reusing one context (no ``render()``)."""
    template = compiled.template
    env = template.environment
    assert isinstance(env, LimitedSandbox)
    block: Callable[[Any], Iterable[str]] = template.blocks["row"]
    context = template.new_context({"item": None})
    lines: list[str] = []
    append = lines.append
    try:
        for item in items:
            context.vars["item"] = item
            env.begin_record()
            append(join_output(block(context), env.limits) + line_ending)
    except TemplateError:
        raise
    except Exception as exc:
        raise compiled.lines_error(exc, f"record {len(lines) + 1} of the batch") from exc
    return lines
