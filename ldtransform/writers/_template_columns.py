"""Column mode: a ``row`` block evaluated once per batch, a column at a time.

Jinja2 renders tens of thousands of rows a second; an import file has millions. Most
import templates are plain, though: literal text between ``{{ item.field }}`` cells,
perhaps through a filter. Such a block is a fixed sequence of literals and cells, so
each cell can be computed for a whole batch with Arrow kernels and the line is
``binary_join_element_wise`` of the pieces. :func:`plan_row` decides whether a block is
that simple (anything else, ``{% if %}``, ``~``, calls, unknown filters, runs in row mode)
and :class:`ColumnPlan` evaluates it. Both modes write the same bytes.

:func:`check_access` checks every ``item...`` path of a template against the batch's
fields before anything is written, in both modes, so a misspelt field fails at once
with its line, not halfway through a file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from jinja2 import nodes

from ldtransform.errors import TemplateError
from ldtransform.writers._template_env import INTERNALS, CsvOptions, no_field
from ldtransform.writers._template_filters import ARROW_FILTERS
from ldtransform.writers._template_values import column_text, guard_column, quote_column

__all__ = ["Cell", "ColumnPlan", "check_access", "plan_row"]

Step = str | int


@dataclass(frozen=True)
class Cell:
    """One ``{{ ... }}`` of the row: a path from ``item``, then filters."""

    path: tuple[Step, ...]
    filters: tuple[tuple[str, tuple[Any, ...], tuple[tuple[str, Any], ...]], ...]
    line: int


def _path(node: nodes.Node) -> tuple[Step, ...] | None:
    """``item.a[0]["b"]`` as ("a", 0, "b"); None when it is not such a path."""
    steps: list[Step] = []
    while True:
        if isinstance(node, nodes.Getattr):
            steps.append(node.attr)
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) \
                and type(node.arg.value) in (str, int):
            steps.append(node.arg.value)
        elif isinstance(node, nodes.Name) and node.name == "item" and steps:
            return tuple(reversed(steps))
        else:
            return None
        node = node.node


def _shown(path: Sequence[Step]) -> str:
    text = "item"
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else f".{step}"
    return text


def check_access(block: nodes.Block, schema: pa.Schema, template: str) -> None:
    """Raise a TemplateError for the first ``item`` path that names no field."""
    for node in block.find_all((nodes.Getattr, nodes.Getitem)):
        path = _path(node)
        if path is not None:
            path_type(schema, path, template, node.lineno)


def path_type(schema: pa.Schema, path: Sequence[Step], template: str, line: int
              ) -> pa.DataType:
    """The Arrow type at the end of ``path``; a TemplateError when a step fails."""
    kind: pa.DataType = pa.struct(list(schema))
    for depth, step in enumerate(path):
        owner = _shown(path[:depth])
        if pa.types.is_struct(kind) and isinstance(step, str):
            names = [field.name for field in kind]
            if step not in names:
                if step.startswith("_"):
                    raise TemplateError(INTERNALS.format(name=step), template=template,
                                        line=line, name=step)
                raise TemplateError(no_field(owner, step, names), template=template,
                                    line=line, name=step)
            kind = kind.field(names.index(step)).type
        elif pa.types.is_list(kind) and isinstance(step, int):
            kind = kind.value_type
        else:
            what = "a list: pick one element, e.g. [0]" if pa.types.is_list(kind) else (
                f"a {kind} value, not a list" if isinstance(step, int) else f"a {kind} value")
            raise TemplateError(f"{owner} is {what}; cannot take {step!r} of it",
                                template=template, line=line, name=str(step))
    return kind


def plan_row(block: nodes.Block, constant: Callable[[Any], str]) -> list[str | Cell] | str:
    """The row as literals and cells, or the reason it needs row mode; ``constant``
    writes a ``{{ "literal" }}`` cell (the template's finalize)."""
    pieces: list[str | Cell] = []
    for statement in block.body:
        if not isinstance(statement, nodes.Output):
            return f"line {statement.lineno}: a {type(statement).__name__} statement"
        for node in statement.nodes:
            if isinstance(node, nodes.TemplateData):
                pieces.append(node.data)
                continue
            if isinstance(node, nodes.Const):
                pieces.append(constant(node.value))
                continue
            cell = _cell(node)
            if isinstance(cell, str):
                return f"line {node.lineno}: {cell}"
            pieces.append(cell)
    return pieces


def _cell(node: nodes.Expr) -> Cell | str:
    filters: list[tuple[str, tuple[Any, ...], tuple[tuple[str, Any], ...]]] = []
    outermost = True
    while isinstance(node, nodes.Filter):
        if node.dyn_args is not None or node.dyn_kwargs is not None or node.node is None:
            return "filter with computed arguments"
        known = node.name in ARROW_FILTERS or (node.name == "csv" and outermost)
        args = [a.value for a in node.args if isinstance(a, nodes.Const)]
        kwargs: list[tuple[str, Any]] = []
        for keyword in node.kwargs:
            value = keyword.value if isinstance(keyword, nodes.Keyword) else None
            if isinstance(value, nodes.Const):
                kwargs.append((str(keyword.key), value.value))
        if not known or len(args) < len(node.args) or len(kwargs) < len(node.kwargs):
            return f"filter {node.name!r} (or its arguments) has no column form"
        if node.name != "csv":  # every cell is quoted; the filter only says so
            filters.append((node.name, tuple(args), tuple(kwargs)))
        outermost = False
        node = node.node
    path = _path(node)
    if path is None:
        return f"{type(node).__name__} expression"
    return Cell(path, tuple(reversed(filters)), node.lineno)


class ColumnPlan:
    """A planned row, checked against one Arrow schema, ready to encode batches."""

    def __init__(self, pieces: list[str | Cell], schema: pa.Schema, *, template: str,
                 options: CsvOptions, line_ending: str) -> None:
        self.template = template
        self.options = options
        for piece in pieces:
            if isinstance(piece, Cell):
                path_type(schema, piece.path, template, piece.line)
        merged: list[str | Cell] = []
        for piece in [*pieces, line_ending]:
            if isinstance(piece, str) and merged and isinstance(merged[-1], str):
                merged[-1] += piece
            else:
                merged.append(piece)
        self.pieces = merged

    def encode(self, batch: pa.RecordBatch) -> pa.Array:
        """One line per record of ``batch`` (line ending included)."""
        parts: list[Any] = [piece if isinstance(piece, str) else self._column(piece, batch)
                            for piece in self.pieces]
        if not any(isinstance(part, pa.Array) for part in parts):
            return pa.array(["".join(parts)] * batch.num_rows, pa.string())
        between = parts[1:-1:2]
        if len(parts) % 2 == 0 and all(isinstance(p, pa.Array) for p in parts[::2]) and all(
                isinstance(p, str) for p in between) and len(separators := set(between)) == 1:
            # cell,cell,...,cell + line ending: one join with a separator is about
            # twice as fast as joining every literal as a piece of its own.
            joined = pc.binary_join_element_wise(*parts[::2], separators.pop())
            return pc.binary_join_element_wise(joined, parts[-1], "")
        return pc.binary_join_element_wise(*parts, "")

    def _column(self, cell: Cell, batch: pa.RecordBatch) -> pa.Array:
        array = batch.column(batch.schema.get_field_index(str(cell.path[0])))
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        for step in cell.path[1:]:
            array = _element(array, step) if isinstance(step, int) else pc.struct_field(
                array, step)
        context = self.options.filters
        try:
            for name, args, kwargs in cell.filters:
                array = ARROW_FILTERS[name](array, context, *args, **dict(kwargs))
        except (TypeError, ValueError, pa.ArrowException) as exc:
            raise TemplateError(f"{type(exc).__name__}: {exc} (in {_shown(cell.path)})",
                                template=self.template, line=cell.line) from exc
        text = column_text(array, context.timezone, context.unset)
        if self.options.spreadsheet_safe:
            text = guard_column(text)
        return pc.fill_null(quote_column(text, self.options.delimiter), "")


def _element(lists: pa.Array, index: int) -> pa.Array:
    """Element ``index`` of each list (negative counts from the end); null where the
    list is null or too short, as row mode renders an absent record."""
    offsets = lists.offsets
    starts = offsets[:-1] if index >= 0 else offsets[1:]
    lengths = pc.list_value_length(lists)
    present = pc.greater(lengths, index) if index >= 0 else pc.greater_equal(
        lengths, -index)
    positions = pc.if_else(present, pc.add(starts, index), pa.scalar(None, offsets.type))
    return pc.take(lists.values, positions)
