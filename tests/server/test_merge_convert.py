"""A Merge file made by ``convert`` changes only the fields it has, on a real server."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from ldkit import ACCOUNTS, LD

import ldtransform

SCHEMA = ACCOUNTS.parent / "schemas" / "Account.json"


def full_accounts() -> list[dict[str, Any]]:
    """Three complete sample accounts under keys of this test's own."""
    items = copy.deepcopy(json.loads(ACCOUNTS.read_text(encoding="utf-8"))[:3])
    for n, item in enumerate(items):
        item["data"]["accountId"] = f"MRG{n}"
        item["data"]["paymentTerms"] = "NET30"
    return items


def test_a_two_column_merge_leaves_every_other_field_as_stored(ld: LD, tmp_path: Path) -> None:
    before = full_accounts()
    assert ld.run_import(before)["status"] == "Completed"

    source = tmp_path / "terms.csv"
    source.write_text("Account ID,Terms\nMRG0,COD\nMRG1,\nMRG2,NET15\n", encoding="utf-8")
    mapping = {"fields": {"accountId": "Account ID", "paymentTerms": "Terms"}}
    result = ldtransform.convert(source, schema=SCHEMA, mapping=mapping, action="Merge",
                                 out=tmp_path / "out")
    assert result.report.ok and result.records_written == 3
    for part in result.parts:
        assert ld.run_import(part.path)["status"] == "Completed"

    exported = {item["data"]["accountId"]: item["data"]
                for item in ld.exported_items(ld.run_export())}
    terms = {"MRG0": "COD", "MRG1": "NET30", "MRG2": "NET15"}  # an empty cell changes nothing
    for item in before:
        key = item["data"]["accountId"]
        assert exported[key] == {**item["data"], "paymentTerms": terms[key]}
