"""Every sample file reads to the same 25 accounts, whatever its format or mess."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import ldtransform

SAMPLES = Path(__file__).parent.parent / "samples"

FLAT = [
    ("accounts.xlsx", {}),
    ("accounts.parquet", {}),
    ("accounts.json", {}),
    ("accounts.jsonl", {}),
    ("messy/accounts_semicolon.csv", {}),
    ("messy/accounts_latin1.csv", {"encoding": "latin-1"}),
    ("messy/accounts_latin1.csv", {"encoding": "auto"}),
    ("messy/accounts_bom.csv", {}),
    ("messy/accounts_multiline.csv", {}),
    ("messy/accounts_title_rows.csv", {"header_row": 3}),
    ("messy/accounts.tsv", {}),
]


def as_text(value: Any) -> str:
    """The CSV spelling of a typed value, to compare typed and text sources."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def records(name: str, **options: Any) -> list[dict[str, str]]:
    table = ldtransform.read(SAMPLES / name, **options).to_table()
    return [{k: as_text(v) for k, v in row.items()} for row in table.to_pylist()]


@pytest.fixture(scope="module")
def reference() -> list[dict[str, str]]:
    rows = records("accounts.csv")
    assert len(rows) == 25
    return rows


@pytest.mark.parametrize(("name", "options"), FLAT, ids=[f"{n}{o}" for n, o in FLAT])
def test_flat_sample_matches_the_csv(name: str, options: dict[str, Any],
                                     reference: list[dict[str, str]]) -> None:
    assert records(name, **options) == reference


def test_multiline_notes_and_codes_survive(reference: list[dict[str, str]]) -> None:
    assert any("\n" in row["notes"] for row in reference)
    assert any(row["accountId"].startswith("0") for row in reference)
    assert any(row["postalCode"].startswith("0") for row in reference)


def test_workbook_second_sheet() -> None:
    frames = ldtransform.read(SAMPLES / "accounts.xlsx", sheet="Addresses")
    table = frames.to_table()
    assert table.num_rows == 59 and frames.info["sheets"] == ["Accounts", "Addresses"]
    assert str(table.schema.field("primary").type) == "bool"


def test_item_envelopes_flatten_to_data_columns() -> None:
    frames = ldtransform.read(SAMPLES / "accounts.items.json")
    table = frames.to_table()
    assert frames.info["envelope"] is True and table.num_rows == 25
    first = table.to_pylist()[0]
    assert first["_headers.type"] == "Account" and first["_headers.action"] == "Create"
    assert first["accountClass"].startswith("/Account/accountClass[")
    assert isinstance(first["addresses"], list) and "city" in first["addresses"][0]


def test_the_server_ships_the_sample_schemas_unchanged() -> None:
    """`ldtransform serve` without --schemas uses copies of samples/schemas: keep them equal."""
    here = Path(__file__).resolve().parent.parent
    shipped = here / "ldtransform" / "server" / "schemas"
    names = sorted(p.name for p in shipped.glob("*.json"))
    assert names == sorted(p.name for p in (here / "samples" / "schemas").glob("*.json"))
    for name in names:
        assert (shipped / name).read_bytes() == (here / "samples" / "schemas" / name).read_bytes()
