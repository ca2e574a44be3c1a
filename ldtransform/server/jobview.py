"""The job-status object every batch route answers with (the seed page's fields, plus links).

``recordsProcessed`` and ``runTime`` are strings of digits, as in the seed page's example.
Added fields: ``jobType``, ``recordsRejected``, ``rejectionFile`` (URL of the rejection
file, or absent), ``links`` (URLs of an export's result files) and ``linksExpire``.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from typing import Any

from ldtransform.ld import JobStatus, download_path
from ldtransform.server.store import Store

__all__ = ["job_status", "ld_time"]


def ld_time(epoch: float) -> str:
    """``2015-05-26T13:35:25+0000``."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _run_ms(job: sqlite3.Row) -> int:
    if job["started"] is None:
        return 0
    end = job["finished"] if job["finished"] is not None else time.time()
    return max(0, int((end - job["started"]) * 1000))


def job_status(job: sqlite3.Row, store: Store, base_url: str) -> dict[str, Any]:
    """The JSON status object of a job."""
    base = base_url.rstrip("/")
    status: dict[str, Any] = {
        "submitTime": ld_time(job["submit_time"]),
        "jobId": job["job_id"],
        "jobName": job["job_name"],
        "jobType": job["kind"],
        "contentType": job["content_type"],
        "itemType": job["item_type"],
        "recordsProcessed": str(job["records_processed"]),
        "recordsRejected": str(job["records_rejected"]),
        "runTime": str(_run_ms(job)),
        "status": job["status"],
        "reason": job["reason"],
    }
    if job["notification_email"]:
        status["notificationEmail"] = job["notification_email"]
    files = store.files_of(job["job_id"]) if job["finished"] is not None else []
    for row in files:
        if row["kind"] == "rejects":
            status["rejectionFile"] = base + download_path(row["link_id"], row["name"])
    if job["kind"] == "export" and job["status"] == JobStatus.COMPLETED:
        results = [row for row in files if row["kind"] == "result"]
        status["links"] = [base + download_path(r["link_id"], r["name"]) for r in results]
        if results and results[0]["expires"] is not None:
            status["linksExpire"] = ld_time(results[0]["expires"])
    return status
