"""The ``receiptType`` of an item that was not applied (upsert answers, rejection files)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ReceiptType"]


class ReceiptType(StrEnum):
    """Why an item was rejected; LD lists no values, these are the local server's."""

    READ_ERROR = "ReadError"
    """The record could not be read as an item envelope."""
    INVALID_ACTION = "InvalidAction"
    """``headers.action`` is not Create, Merge, Update or Delete."""
    WRONG_ITEM_TYPE = "WrongItemType"
    """``headers.type`` differs from the job's itemType."""
    UNKNOWN_ITEM_TYPE = "UnknownItemType"
    """The server has no schema for ``headers.type``."""
    VALIDATION_ERROR = "ValidationError"
    """The item's data breaks its schema."""
    NOT_FOUND = "NotFound"
    """An Update or Delete names an item that does not exist."""
