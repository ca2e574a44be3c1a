"""Rejected rows as a workbook for people who key data in Excel: ``_row`` first, the
source's columns, ``_errors`` beside them; each bad cell filled and carrying the problem
as a comment. Written with XlsxWriter in constant-memory mode (extra ``excel``).

Text is always written as text, never as a formula, number or link, so a value such as
``=HYPERLINK(...)`` stays what the source held.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any, BinaryIO

import pyarrow as pa

from ldtransform.errors import MissingDependencyError

__all__ = ["SHEET", "RejectedWorkbook"]

SHEET = "Rejected rows"
ROW, ERRORS = "_row", "_errors"
# One reason in _errors: "field: message [code]", reasons joined by "; ".
_REASON = re.compile(r"(?P<field>[^:;]+?): (?P<message>.*?) \[(?P<code>[a-z0-9-]+)\](?:; |$)")
_INDEX = re.compile(r"\[\d+\]")
_EXACT_INT = 2**53  # beyond this a spreadsheet number is no longer the integer


class RejectedWorkbook:
    """Rows of rejected batches, appended to one sheet of a workbook written to ``file``."""

    def __init__(self, file: BinaryIO, names: list[str]) -> None:
        try:
            import xlsxwriter
        except ImportError as exc:
            raise MissingDependencyError("xlsxwriter", "excel",
                                         "Writing rejected rows as a workbook") from exc
        self.book = xlsxwriter.Workbook(file, {
            "constant_memory": True, "strings_to_numbers": False,
            "strings_to_formulas": False, "strings_to_urls": False})
        self.sheet = self.book.add_worksheet(SHEET)
        self.columns = [ROW, *(n for n in names if n not in (ROW, ERRORS)), ERRORS]
        self.bad = self.book.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
        self.bad_date = self.book.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006",
                                              "num_format": "yyyy-mm-dd"})
        self.date = self.book.add_format({"num_format": "yyyy-mm-dd"})
        self.timestamp = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        header = self.book.add_format({"bold": True, "bottom": 1})
        for column, name in enumerate(self.columns):
            self.sheet.write_string(0, column, name, header)
        self.sheet.freeze_panes(1, 1)
        self.sheet.set_column(len(self.columns) - 1, len(self.columns) - 1, 60)
        self.row = 0

    def add(self, batch: pa.RecordBatch) -> None:
        """Append the rows of ``batch`` (the source's columns plus ``_row``, ``_errors``)."""
        records = batch.to_pylist()
        for record in records:
            self.row += 1
            problems = self._problems(record.get(ERRORS) or "")
            for column, name in enumerate(self.columns):
                self._cell(self.row, column, record.get(name), problems.get(name))

    def close(self) -> None:
        self.sheet.autofilter(0, 0, max(self.row, 1), len(self.columns) - 1)
        self.book.close()

    def _problems(self, errors: str) -> dict[str, str]:
        """Each problem of a row, by the column that holds the bad value."""
        found: dict[str, list[str]] = {}
        for reason in _REASON.finditer(errors):
            column = self._column_of(reason.group("field"))
            if column is not None:
                found.setdefault(column, []).append(
                    f"{reason.group('message')} [{reason.group('code')}]")
        return {column: "\n".join(messages) for column, messages in found.items()}

    def _column_of(self, field: str) -> str | None:
        """The column of an issue's field: itself, or a child field's own name
        (``addresses[0].city`` → ``city``)."""
        for candidate in (field, _INDEX.sub("", field), field.rsplit(".", 1)[-1]):
            if candidate in self.columns and candidate not in (ROW, ERRORS):
                return candidate
        return None

    def _cell(self, row: int, column: int, value: Any, problem: str | None) -> None:
        style = self.bad if problem else None
        if value is None:
            if problem:
                self.sheet.write_blank(row, column, None, style)
        elif isinstance(value, bool):
            self.sheet.write_boolean(row, column, value, style)
        elif isinstance(value, int | float) and not isinstance(value, bool) \
                and abs(value) < _EXACT_INT:
            self.sheet.write_number(row, column, value, style)
        elif isinstance(value, dt.datetime):
            self.sheet.write_datetime(row, column, value.replace(tzinfo=None),
                                      self.bad if problem else self.timestamp)
        elif isinstance(value, dt.date):
            self.sheet.write_datetime(row, column, value, self.bad_date if problem
                                      else self.date)
        else:
            text = str(value) if not isinstance(value, Decimal) else format(value, "f")
            self.sheet.write_string(row, column, text, style)
        if problem:
            self.sheet.write_comment(row, column, problem, {"x_scale": 2, "y_scale": 1.5})
