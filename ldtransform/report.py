"""Report: every problem a validation found, counted in full and listed up to a cap.

The counts (rows read, valid, rejected; issues by code, field and severity) always cover
every issue. The list keeps the first ``max_issues`` issues in source-row order, and a few
examples of each code are kept whatever the cap, for the HTML report.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import orjson

from ldtransform.protocols import Issue

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ISSUE_COLUMNS", "Report"]

ISSUE_COLUMNS = ("code", "row", "field", "value", "message", "severity", "source")
EXAMPLES_PER_CODE = 5
_CHILD_INDEX = re.compile(r"\[\d+\]")


class Report:
    """The outcome of validating one or more sources against an itemType schema."""

    def __init__(self, *, item_type: str | None = None, sources: Iterable[str] = (),
                 max_issues: int = 1000) -> None:
        if max_issues < 0:
            raise ValueError("max_issues must be zero or more")
        self.item_type = item_type
        self.sources = list(sources)
        self.max_issues = max_issues
        self.rows_read = 0
        self.rows_valid = 0
        self.rows_rejected = 0
        #: Rows a transform dropped on purpose (dedupe, filter...): counted, per
        #: transform, so that rows read = valid + rejected + dropped.
        self.rows_dropped = 0
        self.dropped_by: Counter[str] = Counter()
        self.issues: list[Issue] = []
        self.issue_count = 0
        self.by_code: Counter[str] = Counter()
        self.by_field: Counter[str] = Counter()
        self.by_severity: Counter[str] = Counter()
        self.examples: dict[str, list[Issue]] = {}

    # -- collecting --------------------------------------------------------------------

    def count(self, code: str, field: str | None, severity: str, n: int) -> None:
        """Count ``n`` issues of one kind (whether or not they are listed)."""
        self.issue_count += n
        self.by_code[code] += n
        # addresses[2].city and addresses[0].city are one field of the schema
        self.by_field[_CHILD_INDEX.sub("[]", field) if field else "(file)"] += n
        self.by_severity[severity] += n

    def room(self) -> int:
        """How many more issues the list takes."""
        return max(0, self.max_issues - len(self.issues))

    def wants_example(self, code: str) -> bool:
        return len(self.examples.get(code, ())) < EXAMPLES_PER_CODE

    def list_issues(self, issues: Iterable[Issue]) -> None:
        """List already-counted issues (up to the cap) and keep examples of each code."""
        for issue in issues:
            if len(self.issues) < self.max_issues:
                self.issues.append(issue)
            if self.wants_example(issue.code):
                self.examples.setdefault(issue.code, []).append(issue)

    def add(self, issue: Issue) -> None:
        """Count and list one issue."""
        self.count(issue.code, issue.field, issue.severity, 1)
        self.list_issues([issue])

    # -- reading -----------------------------------------------------------------------

    @property
    def errors(self) -> int:
        return self.by_severity.get("error", 0)

    @property
    def warnings(self) -> int:
        return self.by_severity.get("warning", 0)

    @property
    def ok(self) -> bool:
        """True when no row was rejected and no error was found."""
        return self.rows_rejected == 0 and self.errors == 0

    @property
    def truncated(self) -> bool:
        return self.issue_count > len(self.issues)

    def summary(self) -> dict[str, Any]:
        """Counts only: rows read/valid/rejected, issues by code, field and severity."""
        return {
            "item_type": self.item_type,
            "sources": self.sources,
            "rows_read": self.rows_read,
            "rows_valid": self.rows_valid,
            "rows_rejected": self.rows_rejected,
            "rows_dropped": self.rows_dropped,
            "dropped_by": dict(self.dropped_by),
            "issues": self.issue_count,
            "issues_listed": len(self.issues),
            "errors": self.errors,
            "warnings": self.warnings,
            "by_code": dict(self.by_code.most_common()),
            "by_field": dict(self.by_field.most_common()),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per listed Issue, with the Issue's fields as columns."""
        import pandas as pd

        rows = [issue.to_dict() for issue in self.issues]
        frame = pd.DataFrame(rows, columns=list(ISSUE_COLUMNS))
        frame["row"] = frame["row"].astype("Int64")
        return frame

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary(),
                "issues": [issue.to_dict() for issue in self.issues]}

    def to_json(self) -> str:
        """The summary and the listed issues as JSON text."""
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2,
                            default=str).decode()

    def to_html(self) -> str:
        """A self-contained HTML page: summary, issues per field chart, examples per code."""
        from ldtransform._report_html import render

        return render(self)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return (f"<Report {self.item_type or ''}: {self.rows_read} rows read, "
                f"{self.rows_valid} valid, {self.rows_rejected} rejected, "
                f"{self.issue_count} issues>")
