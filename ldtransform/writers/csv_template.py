"""Template CSV: a Jinja2 template decides the header and how each item becomes a line.

This is how users produce the CSV layout a server-side import template expects::

    {% block header %}
    accountId,name,city
    {% endblock %}
    {% block row %}
    {{ item.accountId }},{{ item.name }},{{ item.addresses[0].city }}
    {% endblock %}

``header`` is the first line of every file (and of every part when output is split);
``row`` is one line per item, ``item`` being the validated record: ``item.field``,
``item["field"]``, child records as ``item.addresses[0].city`` (an absent child gives an
empty cell; ``[-1]`` is the last). Line breaks at the very start and end of a block are
dropped and the writer ends each line with ``line_ending``. Text outside the blocks
(comments, notes) is never written.

Every ``{{ ... }}`` is a cell: the value's LD text (dates ``2014-02-01T05:00:00+0000``,
floats keep ``.0``, ``true``/``false``, child records as JSON), prefixed with ``'`` when
``spreadsheet_safe`` and it starts with ``= + - @``, tab or CR, then quoted per RFC 4180
when it holds the delimiter, a quote, CR or LF. Literal text is written as it stands.
Filters: ``csv`` (explicit quoting, the default anyway), ``ld_datetime(pattern=None)``,
``ld_date(pattern="%Y-%m-%d")``, ``dimension_value(level=None)``,
``dimension_path("/Account/accountClass")``, ``default(text)``, ``upper``, ``lower``,
``trim(chars=None)``, ``replace(old, new, count=None)``, ``join(separator)``, ``length``
(see ``samples/templates/README.md``), plus Jinja2's other built-ins in row mode.

Two ways to run, same bytes: *column mode* when the row block is only literals and
``{{ item... | filters }}`` cells (whole batches through Arrow kernels, see
:mod:`._template_columns`), *row mode* otherwise (Jinja2's sandbox calling the compiled
``row`` block once per item, see :mod:`._template_env`). Without a template the writer
writes plain columns: one per top-level field, the header their names.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import BinaryIO, ClassVar, Literal

import pyarrow as pa

from ldtransform._template_limits import TemplateLimits
from ldtransform.errors import ConfigError, TemplateError
from ldtransform.frames import Frames
from ldtransform.schema import FieldSpec, ItemSchema
from ldtransform.writers import RecordWriter
from ldtransform.writers._template_columns import Cell, ColumnPlan, check_access, plan_row
from ldtransform.writers._template_env import CsvOptions, compile_template, render_rows
from ldtransform.writers._template_values import fill_text, quote_text

__all__ = ["TemplateCsvWriter", "default_template"]

logger = logging.getLogger("ldtransform")

Mode = Literal["auto", "column", "row"]


class TemplateCsvWriter(RecordWriter):
    """CSV shaped by a Jinja2 template (or plain columns without one).

    ``template`` is a template file; ``template_text`` the template itself. ``mode``
    forces ``"column"`` (an error when the template needs row mode) or ``"row"``.
    ``limits`` bounds what the template may build, write and spend per record (the
    defaults of :class:`~ldtransform._template_limits.TemplateLimits` otherwise).
    """

    format: ClassVar[str] = "csv"
    suffix: ClassVar[str] = ".csv"

    def __init__(self, *, schema: ItemSchema | None = None,
                 template: str | os.PathLike[str] | None = None,
                 template_text: str | None = None, delimiter: str = ",",
                 line_ending: str = "\r\n", spreadsheet_safe: bool = False,
                 mode: Mode = "auto", limits: TemplateLimits | None = None) -> None:
        super().__init__(schema=schema)
        if not delimiter or any(c in delimiter for c in '"\r\n'):
            raise ConfigError(f"the CSV delimiter cannot be {delimiter!r}: it must be "
                              "non-empty and hold no quote, CR or LF")
        if mode not in ("auto", "column", "row"):
            raise ConfigError(f"mode must be 'auto', 'column' or 'row', not {mode!r}")
        self.line_ending = line_ending
        self.options = CsvOptions(delimiter, spreadsheet_safe, self.timezone, self.unset)
        self._names = schema.field_names if schema else None
        self._plan: tuple[pa.Schema, ColumnPlan | None] | None = None
        source, name = _template_source(template, template_text)
        self._compiled = None if source is None else compile_template(
            source, name, self.options, limits)
        self._pieces: list[str | Cell] | str | None = None
        if self._compiled is not None:
            self._pieces = ("row mode was asked for" if mode == "row" else
                            plan_row(self._compiled.row, self.options.cell))
            if isinstance(self._pieces, str):
                if mode == "column":
                    raise TemplateError(f"this template cannot run in column mode: "
                                        f"{self._pieces}", template=name)
                logger.info("template %s renders in row mode (%s)", name, self._pieces)

    @property
    def mode(self) -> str:
        """``"plain"`` (no template), ``"column"`` or ``"row"``."""
        if self._compiled is None:
            return "plain"
        return "row" if isinstance(self._pieces, str) else "column"

    def begin(self) -> bytes:
        """The header line (b"" when the template has no header block)."""
        if self._compiled is not None:
            text = self._compiled.header_text()
            return (text + self.line_ending).encode("utf-8") if text else b""
        if self._names is None:
            raise ConfigError("a CSV without a template takes its header from the schema: "
                              "give the writer schema=... (or a template)")
        cells = (quote_text(name, self.options.delimiter) for name in self._names)
        return (self.options.delimiter.join(cells) + self.line_ending).encode("utf-8")

    def encode(self, batch: pa.RecordBatch) -> pa.Array:
        """One CSV line per record of ``batch``, each ending with ``line_ending``."""
        if self._plan is None or self._plan[0] != batch.schema:
            self._plan = (batch.schema, self._make_plan(batch.schema))
        plan = self._plan[1]
        if plan is not None:
            return plan.encode(batch)
        assert self._compiled is not None
        columns = [fill_text(column, self.unset) for column in batch.columns]
        items = pa.RecordBatch.from_arrays(columns, schema=pa.schema(
            [pa.field(f.name, c.type) for f, c in zip(batch.schema, columns, strict=True)]
        )).to_pylist()
        return pa.array(render_rows(self._compiled, items, self.line_ending), pa.string())

    def write(self, frames: Frames, sink: BinaryIO) -> int:
        """Write ``frames`` as one CSV file; plain columns take their names from it."""
        if self._names is None:
            self._names = list(frames.schema.names)
        return super().write(frames, sink)

    def _make_plan(self, schema: pa.Schema) -> ColumnPlan | None:
        compiled = self._compiled
        if compiled is None:
            names = self._names or schema.names
            self._names = names
            pieces: list[str | Cell] = []
            for number, name in enumerate(names):
                pieces += [self.options.delimiter] if number else []
                pieces.append(Cell((name,), (), 0))
            return ColumnPlan(pieces, schema, template="<plain columns>",
                              options=self.options, line_ending=self.line_ending)
        check_access(compiled.row, schema, compiled.name)
        if isinstance(self._pieces, str) or self._pieces is None:
            return None
        return ColumnPlan(self._pieces, schema, template=compiled.name,
                          options=self.options, line_ending=self.line_ending)


def _template_source(template: str | os.PathLike[str] | None, text: str | None
                     ) -> tuple[str | None, str]:
    if template is not None and text is not None:
        raise ConfigError("give a template file or template_text, not both")
    if template is None:
        return text, "<template>"
    name = os.fspath(template)
    try:
        return Path(name).read_text(encoding="utf-8"), name
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"cannot read the template: {exc}", template=name) from exc


# -- the default template of a schema (``ldtransform template init``) ------------------

def default_template(schema: ItemSchema, *, delimiter: str = ",") -> str:
    """A template writing every field of ``schema``: top-level fields as they are, the
    first child record of a list of records as ``field_1_child`` columns, the fields of
    an object as ``field_child``, plain lists joined with ``;``. Meant to be edited."""
    columns: list[tuple[str, str]] = []
    for spec in schema.fields:
        columns += _columns(spec, spec.name, _member("item", spec.name))
    header = delimiter.join(quote_text(name, delimiter) for name, _ in columns)
    row = delimiter.join("{{ " + expression + " }}" for _, expression in columns)
    return (
        f"{{#- CSV template for {schema.item_type} items, written by `ldtransform template "
        "init`: edit it.\n"
        "    The header block is the first line of every file; the row block is one line\n"
        "    per item (`item`). Cells are quoted as CSV needs; text outside the blocks is\n"
        "    never written. See samples/templates/README.md for filters and rules. -#}\n"
        f"{{% block header %}}\n{header}\n{{% endblock %}}\n"
        f"{{% block row %}}\n{row}\n{{% endblock %}}\n"
    )


_KEYWORDS = {"and", "or", "not", "in", "is", "if", "else", "true", "false", "none",
             "True", "False", "None"}


def _member(expression: str, name: str) -> str:
    """``a.name``, or ``a["name"]`` where a dot cannot be written (or is refused)."""
    if name.isidentifier() and not name.startswith("_") and name not in _KEYWORDS:
        return f"{expression}.{name}"
    return f"{expression}[{json.dumps(name)}]"


def _columns(spec: FieldSpec, name: str, expression: str) -> list[tuple[str, str]]:
    if spec.type == "array" and spec.fields:
        return [column for child in spec.fields
                for column in _columns(child, f"{name}_1_{child.name}",
                                       _member(f"{expression}[0]", child.name))]
    if spec.type == "object" and spec.fields:
        return [column for child in spec.fields
                for column in _columns(child, f"{name}_{child.name}",
                                       _member(expression, child.name))]
    if spec.type == "array":
        return [(name, f'{expression} | join(";")')]
    return [(name, expression)]
