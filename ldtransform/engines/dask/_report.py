"""The partitions' reports as the one report of the run, in source order."""

from __future__ import annotations

from collections.abc import Iterable

from ldtransform.report import EXAMPLES_PER_CODE, Report

__all__ = ["merged"]


def merged(reports: Iterable[Report], *, item_type: str | None, sources: list[str],
           max_issues: int) -> Report:
    """One report from the reports of consecutive sources: counts added up, issues listed
    in source order up to ``max_issues``, examples kept per code as one run keeps them."""
    report = Report(item_type=item_type, sources=sources, max_issues=max_issues)
    for part in reports:
        report.rows_read += part.rows_read
        report.rows_valid += part.rows_valid
        report.rows_rejected += part.rows_rejected
        report.rows_dropped += part.rows_dropped
        report.dropped_by.update(part.dropped_by)
        report.issue_count += part.issue_count
        report.by_code.update(part.by_code)
        report.by_field.update(part.by_field)
        report.by_severity.update(part.by_severity)
        report.issues += part.issues[:report.room()]
        for code, examples in part.examples.items():
            kept = report.examples.setdefault(code, [])
            kept += examples[:EXAMPLES_PER_CODE - len(kept)]
    return report
