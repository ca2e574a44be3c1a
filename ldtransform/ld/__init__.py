"""The LD Batch and Items API contract: job statuses, routes, form fields, receipt types.

Only the names both sides of the wire agree on live here (standard library only), so the
local server and a client speak the same words: :class:`JobStatus` and its terminal set,
the ``/ls/api/...`` paths, the multipart fields of a submission, and the ``receiptType``
values of a rejected item.
"""

from __future__ import annotations

from ldtransform.ld.fields import JOB_ID, ExportField, ImportField
from ldtransform.ld.receipts import ReceiptType
from ldtransform.ld.routes import (
    API,
    BATCH,
    CANCEL,
    DOWNLOAD,
    EXPORT,
    HEALTH,
    IMPORT,
    ITEMS,
    SET_COMMUNITY,
    STATUS,
    TOKEN,
    TOKEN_INFO,
    UPDATES,
    UPSERT,
    VALIDATE,
    download_path,
)
from ldtransform.ld.statuses import ACTIVE, TERMINAL, JobStatus, is_terminal

__all__ = [
    "ACTIVE", "API", "BATCH", "CANCEL", "DOWNLOAD", "EXPORT", "HEALTH", "IMPORT",
    "ITEMS", "JOB_ID", "SET_COMMUNITY", "STATUS", "TERMINAL",
    "TOKEN", "TOKEN_INFO", "UPDATES", "UPSERT", "VALIDATE", "ExportField", "ImportField",
    "JobStatus", "ReceiptType", "download_path", "is_terminal",
]
