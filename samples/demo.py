"""The demo behind `make demo`: read, validate, convert, import into a local LD server
and export back.

Each source is read with the options a user would give it (see samples/README.md). The
validation runs show a clean workbook and a hand-keyed CSV with errors, whose rejected
rows and HTML report land in out/. The workbook is then converted to LD item JSON (in
parts of ten items) and to template CSV, in out/items and out/csv. Last, the item files
go through a local LD server on loopback (out/ld-server) with plain HTTP requests, and an
export with a SQL query comes back.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

import ldtransform

HERE = Path(__file__).parent

SOURCES: list[tuple[str, dict[str, Any]]] = [
    ("accounts.csv", {}),
    ("accounts.xlsx", {"sheet": "Accounts"}),
    ("accounts.xlsx", {"sheet": "Addresses"}),
    ("accounts.parquet", {}),
    ("accounts.json", {}),
    ("accounts.jsonl", {}),
    ("accounts.items.json", {}),
    ("messy/accounts_semicolon.csv", {}),
    ("messy/accounts_latin1.csv", {"encoding": "latin-1"}),
    ("messy/accounts_bom.csv", {}),
    ("messy/accounts_multiline.csv", {}),
    ("messy/accounts_title_rows.csv", {"header_row": 3}),
    ("messy/accounts.tsv", {}),
]


def main() -> int:
    # Logs and CI capture the demo: give it room instead of the 80 columns of a pipe.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
    console.rule("ldtransform inspect samples/accounts.xlsx")
    env = {**os.environ, "COLUMNS": str(console.width)}
    subprocess.run([sys.executable, "-m", "ldtransform", "inspect",
                    str(HERE / "accounts.xlsx"), "--rows", "3"], check=True, env=env)
    console.rule("Reading every sample")
    table = Table("source", "options", "format", "detected", "rows", "columns")
    failures = 0
    for name, options in SOURCES:
        try:
            frames = ldtransform.read(HERE / name, **options)
            rows = sum(batch.num_rows for batch in frames)
        except ldtransform.LdTransformError as exc:
            failures += 1
            table.add_row(name, str(options), "[red]error[/red]", str(exc), "", "")
            continue
        info = frames.info
        detected = ", ".join(
            f"{key}={info[key]!r}" for key in ("encoding", "delimiter", "sheet", "envelope")
            if info.get(key) not in (None, False)
        )
        table.add_row(name, ", ".join(f"{k}={v!r}" for k, v in options.items()),
                      info.get("format", "?"), detected, str(rows),
                      str(len(frames.schema)))
    console.print(table)
    console.print("Every sample read." if not failures else f"[red]{failures} failed[/red]")
    ok = validate(console, env) and convert(console, env) and round_trip(console)
    return 1 if failures or not ok else 0


def validate(console: Console, env: dict[str, str]) -> bool:
    """Validate a clean workbook (exit 0) and a hand-keyed CSV with errors (exit 5)."""
    out = HERE.parent / "out"
    schema = ["--schema", str(HERE / "schemas/Account.json")]
    runs = [
        ("accounts.xlsx", "mappings/accounts.toml", 0, []),
        ("messy/accounts_errors.csv", "mappings/accounts-flat.toml", 5,
         ["--report", str(out / "accounts_errors.report.html"), "--show", "10"]),
    ]
    ok = True
    for source, mapping, expected, extra in runs:
        console.rule(f"ldtransform validate samples/{source}")
        done = subprocess.run([sys.executable, "-m", "ldtransform", "validate",
                               str(HERE / source), *schema, "--mapping", str(HERE / mapping),
                               "--rejected-dir", str(out), *extra], env=env)
        if done.returncode != expected:
            console.print(f"[red]expected exit code {expected}, got {done.returncode}[/red]")
            ok = False
    return ok


def convert(console: Console, env: dict[str, str]) -> bool:
    """The workbook to LD item JSON (split in parts), then to template CSV."""
    out = HERE.parent / "out"
    common = [str(HERE / "accounts.xlsx"), "--schema", str(HERE / "schemas/Account.json"),
              "--mapping", str(HERE / "mappings/accounts.toml"), "--overwrite"]
    runs = [
        ("items-json", ["--out", str(out / "items"), "--max-records", "10"]),
        ("csv", ["--out", str(out / "csv"), "--template",
                 str(HERE / "templates/account.csv.j2")]),
    ]
    ok = True
    for to, extra in runs:
        console.rule(f"ldtransform convert samples/accounts.xlsx --to {to}")
        done = subprocess.run([sys.executable, "-m", "ldtransform", "convert", *common,
                               "--to", to, *extra], env=env)
        ok = ok and done.returncode == 0
    first = out / "csv" / "Account-00001.csv"
    if first.exists():
        console.rule(f"the first lines of {first.relative_to(HERE.parent)}")
        for line in first.read_text(encoding="utf-8").splitlines()[:3]:
            console.print(Text(line), soft_wrap=True)
    return ok


def round_trip(console: Console) -> bool:
    """The item files to a local LD server (`ldtransform serve`, in-process) and back.

    Plain HTTP requests shaped like LD's example scripts: a token, one import job per
    part, status polls to Completed, then an export job with a SQL query and its files.
    """
    import time

    import httpx

    from ldtransform.server import running

    console.rule("the item files through a local LD server")
    parts = sorted((HERE.parent / "out" / "items").glob("Account-*.json"))
    with running(data_dir=HERE.parent / "out" / "ld-server",
                 schemas=HERE / "schemas") as url, httpx.Client(base_url=url) as http:
        token = http.post("/ls/api/oauth2/token", data={
            "grant_type": "password", "client_id": "ldtransform",
            "client_secret": "ldtransform", "username": "demo", "password": "demo",
            "scope": "community=Demo"}).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"

        def finished(job: dict[str, str]) -> dict[str, str]:
            while job["status"] not in ("Completed", "Rejected", "Failed", "Canceled"):
                time.sleep(0.1)
                job = http.post("/ls/api/batch/status", data={"jobId": job["jobId"]}).json()
            return job

        imported = 0
        for part in parts:
            job = http.post("/ls/api/batch/import", files={"file": part.read_bytes()}, data={
                "jobName": part.name, "itemType": "Account",
                "contentType": "application/json", "merge": "False"}).json()
            job = finished(job)
            console.print(Text(f"import {part.name}: {job['status']}, "
                               f"{job['recordsProcessed']} records, {job['reason']}"))
            imported += int(job["recordsProcessed"])
        export = finished(http.post("/ls/api/batch/export", data={
            "jobName": "Accounts in USD", "itemType": "Account",
            "contentType": "text/plain", "rowHeader": "true",
            "sqlQuery": "SELECT accountId, name, currency FROM Account "
                        "WHERE currency = 'USD' ORDER BY accountId"}).json())
        lines = [line for link in export.get("links", [])
                 for line in http.get(link).text.splitlines()]
    console.print(Text(f"export: {export['status']}, {len(export.get('links', []))} file(s), "
                       f"{len(lines) - 1} USD accounts of {imported} imported; first rows:"))
    for line in lines[:4]:
        console.print(Text(f"  {line}"))
    return export["status"] == "Completed" and imported == 25


if __name__ == "__main__":
    sys.exit(main())
