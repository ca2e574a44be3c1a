"""The form fields of batch submissions and of the routes that name a job."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["JOB_ID", "ExportField", "ImportField"]


class ImportField(StrEnum):
    """The multipart fields of ``POST /ls/api/batch/import``."""

    JOB_NAME = "jobName"
    ITEM_TYPE = "itemType"
    FILE = "file"
    CONTENT_TYPE = "contentType"
    TEMPLATE = "template"
    MERGE = "merge"
    HEADER_ROW = "headerRow"
    """Not on the seed page: whether a CSV's first line is a header (default true)."""
    NOTIFICATION_EMAIL = "notificationEmail"


class ExportField(StrEnum):
    """The form fields of ``POST /ls/api/batch/export``."""

    JOB_NAME = "jobName"
    ITEM_TYPE = "itemType"
    CONTENT_TYPE = "contentType"
    ROW_HEADER = "rowHeader"
    TEMPLATE = "template"
    SQL_QUERY = "sqlQuery"
    FILTERS = "filters"
    NOTIFICATION_EMAIL = "notificationEmail"


#: The field of ``/status`` and ``/cancel``: the id from the submit answer.
JOB_ID = "jobId"
