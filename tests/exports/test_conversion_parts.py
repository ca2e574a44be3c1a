"""read_export also reads the item files a conversion writes (never stored: no id or
revisionId in their headers, booleans as true/false)."""

from __future__ import annotations

from pathlib import Path

import ldtransform

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SCHEMA = SAMPLES / "schemas" / "Account.json"


def test_a_conversions_parts_read_back_as_validated(tmp_path: Path) -> None:
    options = {"schema": SCHEMA, "mapping": SAMPLES / "mappings" / "accounts.toml",
               "sheet": "Accounts"}
    ldtransform.convert(SAMPLES / "accounts.xlsx", out=tmp_path, max_records=10, **options)
    frame = ldtransform.read_export(sorted(tmp_path.glob("Account-*.json")),
                                    SCHEMA).to_pandas()
    valid = ldtransform.validate(SAMPLES / "accounts.xlsx", **options).valid
    assert len(frame) == len(valid) == 25
    assert str(frame["creditBlock"].dtype) == "boolean"
    assert frame["creditBlock"].tolist() == valid["creditBlock"].tolist()
    assert frame["accountId"].tolist() == valid["accountId"].tolist()
