"""The demo behind `make demo`: read, validate, convert, import into a local LD server
and export back.

Each source is read with the options a user would give it (see samples/README.md). The
validation runs show a clean workbook and a hand-keyed CSV with errors, whose rejected
rows and HTML report land in out/. The workbook is then converted to LD item JSON (in
parts of ten items) and to template CSV, in out/items and out/csv. Last, the item files
Last, `ldtransform run samples/pipeline.toml` converts again and uploads every part to a
local LD server on a free loopback port (out/ld-server), waiting for each job, and an
export with a SQL query comes back as a typed DataFrame.
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
    ok = validate(console, env) and convert(console, env) and round_trip(console, env)
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


def round_trip(console: Console, env: dict[str, str]) -> bool:
    """The sample pipeline through a local LD server and back into a DataFrame.

    `ldtransform serve` starts on a free loopback port, `ldtransform run
    samples/pipeline.toml` converts, uploads and waits for every job (its [upload]
    section), and an export with a SQL query comes back as a typed DataFrame.
    """
    from ldtransform.client import LDClient
    from ldtransform.server.testing import free_port, start_server

    out = HERE.parent / "out"
    port = free_port()
    console.rule(f"ldtransform serve --port {port} (a local LD server)")
    server = start_server(port, out / "ld-server", HERE / "schemas", HERE / "server.toml")
    try:
        ld_env = {**env, "LD_URL": f"http://127.0.0.1:{port}", "LD_USERNAME": "demo",
                  "LD_PASSWORD": "demo"}
        console.rule("ldtransform run samples/pipeline.toml (convert, upload, wait)")
        done = subprocess.run([sys.executable, "-m", "ldtransform", "run",
                               str(HERE / "pipeline.toml")], env=ld_env)
        if done.returncode != 0:
            console.print(f"[red]ldtransform run exited {done.returncode}[/red]")
            return False
        console.rule("ldtransform.export_frame(client, 'Account', sql=...)")
        with LDClient(ld_env["LD_URL"], username="demo", password="demo") as client:
            frame = ldtransform.export_frame(
                client, "Account", sql="SELECT * FROM Account ORDER BY accountId",
                schema=HERE / "schemas" / "Account.json")
            imported = _rows_imported(out / "pipeline", client.credentials.target)
    finally:
        server.terminate()
        server.wait(timeout=30)
    console.print(Text(str(frame[["accountId", "name", "currency", "exposure"]].head())))
    console.print(Text(f"{len(frame)} rows exported, {imported} imported (LD's job counts): "
                       + ("equal" if len(frame) == imported else "DIFFERENT")))
    return len(frame) == imported


def _rows_imported(folder: Path, target: str) -> int:
    """Records LD's import jobs applied, as the upload journal recorded their statuses."""
    from ldtransform.client.journal import JOURNAL_NAME, Journal

    with Journal(folder / JOURNAL_NAME, target=target) as journal:
        return sum((e.records_processed or 0) - (e.records_rejected or 0)
                   for e in journal.entries() if e.target == target and e.completed)


if __name__ == "__main__":
    sys.exit(main())
