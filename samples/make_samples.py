"""Regenerate the sample files in samples/ from one seeded list of Account records.

    .venv/bin/python samples/make_samples.py

Every file holds the same 25 accounts; see samples/README.md for what each one shows.
The output is deterministic: rerunning it rewrites byte-identical files.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
rng = random.Random(2014)

NAMES = [
    "Café Zoë", "Müller GmbH", "Smith & Sons Hardware", "Acme Supply, Inc.", 'The "Corner" Store',
    "O'Brien's Pub", "Harbor View Market", "Green Valley Grocers", "Ørsted Bakery",
    "Peña Distributors", "Blue Ridge Liquors", "Lakeside Deli & Café", "Main Street Pharmacy",
    "Sunrise Foods, LLC", "Crème de la Crème Pâtisserie", "Big Al's Package Store",
    "Northside Convenience", "Bayou Bistro", "Pine & Oak Tavern", "Garcia Brothers Wholesale",
    "Highland Spirits Co.", "Riverbend Market", "Ça Va Brasserie", "Twin Pines 24/7",
    "Bäckerei Schön",
]
CITIES = [  # (city, region, postalCode): several New England codes start with 0
    ("Boston", "MA", "02134"), ("Providence", "RI", "02903"), ("Newark", "NJ", "07102"),
    ("Hartford", "CT", "06103"), ("Portland", "ME", "04101"), ("Chicago", "IL", "60614"),
    ("Austin", "TX", "78701"), ("Denver", "CO", "80202"), ("New Orleans", "LA", "70112"),
]
STREETS = ["Main St", "Fairy Tale Blvd", "Harbor Rd", "Elm Ave", "Commerce Way", "Oak Ln"]
NOTES = [
    "", "Back door only", "", 'Ask for "Sam" at the counter',
    "Deliver before 10am.\nDock closes at noon on Fridays.", "",
    "Gate code 4471\nCall ahead: dog on premises", "Closed Mondays, cash only",
    'Owner says "no Sunday deliveries"\nUse side entrance, ring twice', "",
]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri"]

# Column order of every flat file (csv, xlsx "Accounts", parquet, json, jsonl).
SCHEMA = pa.schema([
    ("accountId", pa.string()), ("name", pa.string()), ("accountClass", pa.string()),
    ("channel", pa.string()), ("currency", pa.string()), ("paymentTerms", pa.string()),
    ("creditBlock", pa.bool_()), ("overallBlock", pa.bool_()),
    ("exposure", pa.float64()), ("limit", pa.float64()),
    ("licenseNumber", pa.string()), ("licenseValidFrom", pa.date32()),
    ("licenseValidTo", pa.date32()), ("addressLine1", pa.string()), ("city", pa.string()),
    ("region", pa.string()), ("postalCode", pa.string()), ("phoneNumber", pa.string()),
    ("deliveryDays", pa.string()), ("notes", pa.string()),
])


def month_end_a_year_on(day: date) -> date:
    """2014-02-01 -> 2015-02-28: licenses run to the end of the same month a year later."""
    next_month = date(day.year + 1, day.month, 28) + timedelta(days=4)
    return next_month.replace(day=1) - timedelta(days=1)


def make_account(i: int, name: str) -> dict:
    """One flat Account: Python types (date/None, bool, float, str; '' for unset text)."""
    if i < 2:
        account_id = ["ABC123", "000417"][i]
    elif i % 3 == 0:
        account_id = f"{rng.randrange(1, 99_999):06d}"  # always at least one leading zero
    else:
        account_id = "".join(rng.choices("ABCDEFGHKLMNPRSTW", k=3)) + str(rng.randrange(100, 999))
    city, region, postal = CITIES[i % len(CITIES)]
    valid_from = date(rng.randrange(2014, 2024), rng.randrange(1, 13), 1)
    if i == 0:
        valid_from = date(2014, 2, 1)  # as in LD's own example account
    licensed = i % 8 != 5  # a few accounts have no license: empty number, no dates
    return {
        "accountId": account_id, "name": name,
        "accountClass": rng.choice(["Invoiced", "Invoiced", "Cash"]),
        "channel": rng.choice(["10", "20", "20", "30"]),
        "currency": rng.choice(["USD"] * 5 + ["CAD"]),
        "paymentTerms": rng.choice(["CCOD", "NET30", "NET15", "COD"]),
        "creditBlock": rng.random() < 0.25, "overallBlock": rng.random() < 0.1,
        "exposure": 0.0 if i % 4 == 0 else round(rng.uniform(10, 9000), 2),
        "limit": rng.choice([0.0, 1000.0, 1250.5, 2500.0, 10000.0]),
        "licenseNumber": f"LIC-{rng.randrange(10**6):06d}" if licensed else "",
        "licenseValidFrom": valid_from if licensed else None,
        "licenseValidTo": month_end_a_year_on(valid_from) if licensed else None,
        "addressLine1": f"{rng.randrange(1, 2000)} {rng.choice(STREETS)}",
        "city": city, "region": region, "postalCode": postal,
        "phoneNumber": str(rng.randrange(2_012_000_000, 9_899_999_999)),
        "deliveryDays": ";".join(d for d in DAYS if rng.random() < 0.3),
        "notes": NOTES[i % len(NOTES)],
    }


def make_addresses(i: int, account: dict) -> list[dict]:
    """Rows of the 'Addresses' sheet: the primary Work address, then 1-2 more."""
    rows = [{"addressType": "Work", "city": account["city"],
             "postalCode": account["postalCode"], "primary": True}]
    for kind in ["Delivery", "Billing"][: 1 + (i % 3 == 0)]:
        city, _, postal = rng.choice(CITIES)
        rows.append({"addressType": kind, "city": city, "postalCode": postal, "primary": False})
    return [{"accountId": account["accountId"], **row} for row in rows]


ACCOUNTS = [make_account(i, name) for i, name in enumerate(NAMES)]
ADDRESSES = [make_addresses(i, account) for i, account in enumerate(ACCOUNTS)]
assert len({a["accountId"] for a in ACCOUNTS}) == len(ACCOUNTS), "accountId must be unique"


def as_text(value: object) -> str:
    """How a value is spelled in the text files: ISO dates, lower-case booleans, '' for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if isinstance(value, date) else str(value)


def ld_datetime(day: date) -> str:
    """LD spells a date as local midnight US-Eastern in UTC: 2014-02-01T05:00:00+0000."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo("America/New_York"))
    return midnight.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S%z")


def to_item(account: dict, addresses: list[dict]) -> dict:
    """The LD item envelope of one account; fields in the order of LD's own accounts.json."""
    a = account
    licenses = [{
        "licenseNumber": a["licenseNumber"],
        "licenseValidFrom": ld_datetime(a["licenseValidFrom"]),
        "licenseValidTo": ld_datetime(a["licenseValidTo"]), "licenseType": "7",
    }] if a["licenseNumber"] else []
    data = {
        "accountClass": f"/Account/accountClass[{a['accountClass'].lower()}]",
        "accountFamily": "/Account/accountFamily[]/group[]",  # no family or group chosen
        "accountId": a["accountId"], "accountNumber": a["accountId"], "accountType": "",
        "chain": "", "channel": a["channel"], "currency": a["currency"],
        "distributionPoint": "", "name": a["name"], "orgPath": "",
        "paymentTerms": a["paymentTerms"], "riskCategory": "", "salesOffice": "",
        "storeId": "", "userId": "", "exposure": a["exposure"], "limit": a["limit"],
        "creditBlock": a["creditBlock"], "overallBlock": a["overallBlock"],
        "accountLicenseInformation": licenses,
        "addresses": [{  # street, region and note are known for the primary address only
            "name": a["name"], "city": row["city"], "postalCode": row["postalCode"],
            "region": a["region"] if row["primary"] else "",
            "addressLine1": a["addressLine1"] if row["primary"] else "", "country": "US",
            "addressType": row["addressType"], "addressLine2": "", "addressLine3": "",
            "addressNote": a["notes"] if row["primary"] else "", "primary": row["primary"],
        } for row in addresses],
        "deliveryDays": a["deliveryDays"].split(";") if a["deliveryDays"] else [],
        "phones": [{"phoneNumber": a["phoneNumber"], "phoneCountryCode": "1",
                    "phoneType": "office"}],
    }
    return {"headers": {"category": "entity", "type": "Account", "action": "Create"},
            "data": data}


def write_csv(path: Path, *, encoding: str = "utf-8", title: tuple[str, ...] = (),
              **dialect: object) -> None:
    """One flat file: optional title lines, a header row, one row per account."""
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f, **{"lineterminator": "\n", **dialect})
        writer.writerows([line] for line in title)
        writer.writerow(SCHEMA.names)
        writer.writerows([as_text(a[c]) for c in SCHEMA.names] for a in ACCOUNTS)


def write_xlsx(path: Path) -> None:
    wb = openpyxl.Workbook()
    sheet = wb.active
    sheet.title = "Accounts"
    sheet.append(SCHEMA.names)
    for account in ACCOUNTS:  # dates, booleans and floats become typed cells, codes text
        sheet.append([account[column] for column in SCHEMA.names])
    addresses = wb.create_sheet("Addresses")
    addresses.append(["accountId", "addressType", "city", "postalCode", "primary"])
    for row in (row for rows in ADDRESSES for row in rows):
        addresses.append(list(row.values()))
    buffer = io.BytesIO()
    wb.save(buffer)
    # openpyxl stamps the save time into the zip and docProps; pin both for stable bytes.
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "docProps/core.xml":
                data = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2024-03-01T00:00:00Z", data)
            dst.writestr(zipfile.ZipInfo(name, (2024, 3, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)


def write_text(path: Path, text: str) -> None:
    path.write_text(text + "\n", encoding="utf-8", newline="\n")


# Problems a person makes when keying accounts by hand, one per row: (row index, column,
# value). samples/messy/accounts_errors.csv carries them for the validation demo.
ERRORS = [
    (2, "accountClass", "Wholesale"),        # no such account class
    (5, "exposure", "1.234,50"),             # a European-style number
    (9, "accountId", "ABC123"),              # the key of the first account, again
    (12, "licenseValidTo", "2019-02-30"),    # no such day
    (16, "phoneNumber", "555-0199"),         # not ten digits
    (20, "currency", ""),                    # required, left empty
    (23, "licenseValidFrom", "2024-01-01"),  # the license starts after it ends
]


def write_errors_csv(path: Path) -> None:
    rows = [{c: as_text(a[c]) for c in SCHEMA.names} for a in ACCOUNTS]
    for index, column, value in ERRORS:
        rows[index][column] = value
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=SCHEMA.names, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    (HERE / "messy").mkdir(exist_ok=True)
    write_csv(HERE / "accounts.csv")
    write_csv(HERE / "messy/accounts_semicolon.csv", delimiter=";")
    write_csv(HERE / "messy/accounts_latin1.csv", encoding="latin-1")
    write_csv(HERE / "messy/accounts_bom.csv", encoding="utf-8-sig", lineterminator="\r\n")
    write_csv(HERE / "messy/accounts_multiline.csv", quoting=csv.QUOTE_ALL)
    write_csv(HERE / "messy/accounts_title_rows.csv", title=(
        "Account master export (ERP)", "Generated 2024-03-01 08:15 - all regions"))
    write_csv(HERE / "messy/accounts.tsv", delimiter="\t")
    write_errors_csv(HERE / "messy/accounts_errors.csv")
    write_xlsx(HERE / "accounts.xlsx")
    pq.write_table(pa.Table.from_pylist(ACCOUNTS, schema=SCHEMA), HERE / "accounts.parquet")
    flat = [{k: v.isoformat() if isinstance(v, date) else v for k, v in a.items()}
            for a in ACCOUNTS]  # JSON: ISO date strings, null for no date
    write_text(HERE / "accounts.json", json.dumps(flat, indent=2, ensure_ascii=False))
    write_text(HERE / "accounts.jsonl", "\n".join(json.dumps(a, ensure_ascii=False) for a in flat))
    items = [to_item(a, rows) for a, rows in zip(ACCOUNTS, ADDRESSES, strict=True)]
    write_text(HERE / "accounts.items.json", json.dumps(items, indent=2, ensure_ascii=False))
    print(f"wrote {len(ACCOUNTS)} accounts to {HERE}")


if __name__ == "__main__":
    main()
