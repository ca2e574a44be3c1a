"""The self-contained HTML form of a Report: no scripts, no external files.

A summary line (rows in = valid + rejected), a bar chart of issues per field drawn as
inline SVG, a table of issues by code, then the first rows of each kind of problem.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ldtransform.protocols import Issue
    from ldtransform.report import Report

__all__ = ["render"]

BAR_HEIGHT, BAR_GAP, BAR_SPACE, CHAR_WIDTH = 18, 6, 420, 7
FIELDS_CHARTED = 25

STYLE = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,sans-serif;margin:2em;color:#1f2328}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:2em}
.ok{color:#1a7f37}.bad{color:#cf222e}.warn{color:#9a6700}
table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
code{background:#f6f8fa;padding:0 3px}.muted{color:#656d76}
"""


def render(report: Report) -> str:
    """The whole page as one string."""
    title = f"Validation of {report.item_type or 'items'}"
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{escape(title)}</h1>", _summary(report)]
    if report.issue_count:
        parts += ["<h2>Issues per field</h2>", _chart(report), "<h2>Issues by code</h2>",
                  _codes(report), "<h2>First rows of each kind of problem</h2>",
                  *(_examples(code, issues) for code, issues in report.examples.items())]
    parts.append("</body></html>")
    return "\n".join(parts)


def _summary(report: Report) -> str:
    verdict = ("<b class='ok'>valid</b>" if report.ok else
               "<b class='bad'>rows rejected</b>" if report.rows_rejected else
               "<b class='bad'>errors found</b>")
    sources = ", ".join(f"<code>{escape(s)}</code>" for s in report.sources) or "—"
    listed = (f" (the first {len(report.issues):,} are listed in the report's data)"
              if report.truncated else "")
    dropped = "".join(f" + {n:,} dropped by {escape(name)}"
                      for name, n in report.dropped_by.items() if n)
    return (f"<p>{verdict}: {sources}</p><p><b>{report.rows_read:,}</b> rows read = "
            f"<b class='ok'>{report.rows_valid:,}</b> valid + "
            f"<b class='bad'>{report.rows_rejected:,}</b> rejected{dropped}. "
            f"{report.issue_count:,} issues: {report.errors:,} errors, "
            f"<span class='warn'>{report.warnings:,} warnings</span>{listed}.</p>")


def _chart(report: Report) -> str:
    counts = report.by_field.most_common(FIELDS_CHARTED)
    top = counts[0][1] if counts else 1
    height = len(counts) * (BAR_HEIGHT + BAR_GAP)
    # Room for the longest field name (a 12px font averages about 7px a character).
    label_width = 16 + CHAR_WIDTH * max((len(field) for field, _ in counts), default=8)
    bars = []
    for i, (field, count) in enumerate(counts):
        y = i * (BAR_HEIGHT + BAR_GAP)
        width = max(2, round(BAR_SPACE * count / top))
        bars.append(
            f"<text x='{label_width - 8}' y='{y + 13}' text-anchor='end'>{escape(field)}"
            f"</text><rect x='{label_width}' y='{y}' width='{width}' height='{BAR_HEIGHT}' "
            f"fill='#cf222e'><title>{escape(field)}: {count:,}</title></rect>"
            f"<text x='{label_width + width + 6}' y='{y + 13}'>{count:,}</text>")
    more = len(report.by_field) - len(counts)
    note = f"<p class='muted'>and {more} more fields</p>" if more > 0 else ""
    return (f"<svg role='img' aria-label='issues per field' "
            f"width='{label_width + BAR_SPACE + 80}' "
            f"height='{height}' font-size='12' xmlns='http://www.w3.org/2000/svg'>"
            f"{''.join(bars)}</svg>{note}")


def _codes(report: Report) -> str:
    rows = "".join(f"<tr><td><code>{escape(code)}</code></td><td class='n'>{n:,}</td></tr>"
                   for code, n in report.by_code.most_common())
    return f"<table><tr><th>code</th><th>issues</th></tr>{rows}</table>"


def _examples(code: str, issues: list[Issue]) -> str:
    rows = "".join(
        f"<tr><td class='n'>{'' if i.row is None else i.row}</td>"
        f"<td>{escape(i.field or '')}</td><td>{escape(_value(i.value))}</td>"
        f"<td>{escape(i.message)}</td><td>{escape(i.source or '')}</td></tr>"
        for i in issues)
    return (f"<h3><code>{escape(code)}</code></h3><table><tr><th>row</th><th>field</th>"
            f"<th>value</th><th>message</th><th>source</th></tr>{rows}</table>")


def _value(value: object) -> str:
    return "" if value is None else str(value)
