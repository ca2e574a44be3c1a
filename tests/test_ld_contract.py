"""The LD contract: the job statuses and routes the Batch and Items API pages name."""

from __future__ import annotations

import ast
from pathlib import Path

from ldtransform import ld
from ldtransform.ld import TERMINAL, JobStatus, ReceiptType, is_terminal

#: The status table of the Batch Import and Export page: status and whether it ends a job.
SEED_STATUSES = {
    "Initialized": False, "Accepted": False, "Processing": False, "Completed": True,
    "Rejected": True, "Canceling": False, "Canceled": True, "Failed": True,
}


def test_the_statuses_are_the_eight_of_the_seed_page() -> None:
    assert {status.value for status in JobStatus} == set(SEED_STATUSES)
    assert {name for name, ends in SEED_STATUSES.items() if ends} == TERMINAL
    assert set(JobStatus) - TERMINAL == ld.ACTIVE


def test_a_status_compares_and_prints_as_its_wire_text() -> None:
    assert JobStatus.COMPLETED == "Completed" and f"{JobStatus.CANCELING}" == "Canceling"
    assert JobStatus("Rejected") is JobStatus.REJECTED
    assert is_terminal("Failed") and is_terminal(JobStatus.CANCELED)
    assert not is_terminal("Canceling") and not is_terminal("Completed ")


def test_routes_are_the_ld_paths() -> None:
    assert (ld.TOKEN, ld.IMPORT, ld.EXPORT, ld.STATUS, ld.CANCEL, ld.UPSERT, ld.UPDATES) == (
        "/ls/api/oauth2/token", "/ls/api/batch/import", "/ls/api/batch/export",
        "/ls/api/batch/status", "/ls/api/batch/cancel", "/ls/api/items/upsert",
        "/ls/api/items/updates")
    assert ld.download_path("abc", "part-1.json") == "/ls/api/batch/download/abc/part-1.json"


def test_the_contract_imports_only_the_standard_library() -> None:
    package = Path(ld.__file__).parent
    imported = set()
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif (isinstance(node, ast.ImportFrom) and node.module
                  and not node.module.startswith("ldtransform.ld")):
                imported.add(node.module.split(".")[0])
    assert imported <= {"__future__", "enum"}, imported


def test_receipt_types_are_distinct_words() -> None:
    values = [receipt.value for receipt in ReceiptType]
    assert len(set(values)) == len(values) and all(v.isalpha() for v in values)
