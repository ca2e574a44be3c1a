"""The "messy" benchmark data: an Account CSV that is hard to read and to check, and an LD
export of the same accounts, so that the figures do not depend on one friendly file.

    .venv/bin/python bench/datasets.py [--rows N] [--workdir DIR]   # writes both, cached

The CSV has 22 columns (``bench/schemas/messy_accounts.json``): names with quotes, commas
and non-Latin scripts (CJK, Cyrillic, Arabic, emoji); a ``notes`` column with embedded
newlines and CRLF in about 10 % of the rows; four pattern-checked columns (the primary key
among them), two dates, a timestamp, enumerations, booleans, numbers. One row in a hundred
carries exactly one error (a wrong type, a pattern failure, an earlier row's key, a value
outside an enum); the rows and kinds are kept in a ``.truth.json`` beside the file.

The export is a JSON array of one item envelope per line, as the local server writes it,
each with 1 to 3 nested addresses and a licence list (``samples/schemas/Account.json``),
and the same envelopes as JSON Lines.

Everything is seeded and built column-wise with numpy and Arrow kernels (no Python loop
over rows): 1,000,000 rows take a few seconds. Files are generated in a child process, so
a benchmark's parent stays small (Linux carries a parent's peak RSS into its children's).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

VERSION = 1  # bump when the generated data changes, to invalidate cached files
ROOT = Path(__file__).resolve().parents[1]
MESSY_SCHEMA = Path(__file__).with_name("schemas") / "messy_accounts.json"
EXPORT_SCHEMA = ROOT / "samples" / "schemas" / "Account.json"
ERROR_SHARE = 0.01
MULTILINE_SHARE = 0.10

FIRST = ['The "Golden" Dragon', "Smith, Jones & Co.", "株式会社 山田商店", "ООО «Ромашка»",
         "شركة النور للتجارة", "Café Zoë", "Ørsted Provisions", "北京烤鸭 🦆", "Łódź Deli",
         "O'Brien's", "Müller, Sohn & Töchter", "Пекарня №7", "🍕 Pizza \"Uno\"", "Harbor View",
         "서울 마트", "Ελληνικό Καφέ", "Big Al's, Inc.", "Green Valley"]
SECOND = ["Market", "GmbH", "Pub", "Store, Inc.", "商店", "и сыновья", "— Wholesale", "Bakery",
          "للأغذية", "Liquors, LLC", "🍷", ""]
CITIES = ["Boston", "東京", "Москва", "دبي", "São Paulo", "Zürich", "New Orleans", "Kraków",
          "Αθήνα", "서울", "Montréal", "Reykjavík"]
STREETS = ["Main St", "Harbor Rd", "ул. Ленина", "銀座通り", "شارع الملك فهد", "Rue de l'Église",
           "Elm Ave, Unit 4", 'Dock "B"']
ONE_LINE_NOTES = ["Back door only", 'Ask for "Sam" at the counter', "Closed Mondays, cash only",
                  "Платёж наличными", "配達は午前中", "🚚 before 10am"]
MULTILINE_NOTES = ["Deliver before 10am.\nDock closes at noon on Fridays.",
                   'Owner says "no Sunday deliveries"\r\nUse side entrance, ring twice',
                   "Первая строка\r\nвторая строка\r\nтретья, последняя",
                   "配達メモ:\n午前中のみ\n土日は休み",
                   "Line one, with a comma\n\nLine three after a blank line",
                   "ملاحظة: التسليم صباحاً\r\nشكراً 🙏"]
ENUMS = {"accountClass": ["Invoiced", "Cash"], "channel": ["10", "20", "30"],
         "currency": ["USD", "CAD", "EUR", "JPY", "RUB", "AED"],
         "paymentTerms": ["CCOD", "COD", "NET15", "NET30"]}
#: kind: {column: bad values, one picked per row}; each bad row gets exactly one.
BAD_VALUES: dict[str, dict[str, list[str]]] = {
    "type-error": {"exposure": ["n/a", "12,5", "1.2.3"], "orderCount": ["3.5", "many"],
                   "openedOn": ["2021-02-30", "31/12/2020"], "reviewedOn": ["2020-13-01"],
                   "updatedAt": ["yesterday", "2021-13-01T00:00:00"],
                   "creditBlock": ["maybe", "ja"]},
    "pattern-mismatch": {"accountId": [],  # the row's own key in lower case: still unique
                         "taxId": ["DE-12345", "de-1234567", "DE 1234567"],
                         "postalCode": ["1234", "0210A", "02139-1234"],
                         "phoneNumber": ["617-555-0100", "555010", "+1 617 555 0100"]},
    "not-in-enum": {"currency": ["GBP", "usd"], "accountClass": ["Credit"],
                    "paymentTerms": ["NET60"], "channel": ["40"]},
    "duplicate-key": {"accountId": []},  # a clean earlier row's key
}
KINDS = list(BAD_VALUES)


# -- the CSV -----------------------------------------------------------------------------------

def messy_table(rows: int, seed: int = 13) -> tuple[pa.Table, dict[str, Any]]:
    """``rows`` seeded accounts as text columns, with errors in 1 % of the rows, and the
    truth about those errors: ``{"rows": [...], "kinds": [...], "fields": [...]}`` (rows
    numbered as a spreadsheet shows them, the header being row 1)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed)
    columns = clean_columns(rows, rng)
    bad = np.sort(rng.choice(np.arange(1, rows), max(len(KINDS), round(rows * ERROR_SHARE)),
                             replace=False))  # row 0 stays clean: a key source for duplicates
    kind_at = rng.integers(0, len(KINDS), len(bad))
    fields: list[str] = [""] * len(bad)
    clean = np.ones(rows, dtype=bool)
    clean[bad] = False
    clean_rows = np.flatnonzero(clean)
    for k, kind in enumerate(KINDS):
        chosen = kind_at == k
        names = list(BAD_VALUES[kind])
        field_at = rng.integers(0, len(names), int(chosen.sum()))
        for f, name in enumerate(names):
            positions = bad[chosen][field_at == f]
            for i in np.flatnonzero(chosen)[field_at == f]:
                fields[i] = name
            if not len(positions):
                continue
            mask = np.zeros(rows, dtype=bool)
            mask[positions] = True
            column = columns[name]
            if kind == "duplicate-key":  # a clean row before it: only this row is flagged
                before = np.searchsorted(clean_rows, positions)
                sources = clean_rows[(rng.random(len(positions)) * before).astype(np.int64)]
                replacement = column.take(pa.array(sources))
                values = put(column, positions, replacement)
            elif name == "accountId":
                values = pc.if_else(pa.array(mask), pc.utf8_lower(column), column)
            else:
                choices = pa.array(BAD_VALUES[kind][name])
                replacement = choices.take(pa.array(rng.integers(0, len(choices), len(positions))))
                values = put(column, positions, replacement)
            columns[name] = values
    truth = {"rows": (bad + 2).tolist(), "kinds": [KINDS[k] for k in kind_at.tolist()],
             "fields": fields}
    return pa.table(columns), truth


def put(column: pa.Array, positions: np.ndarray, values: pa.Array) -> pa.Array:
    """``column`` with ``values`` at ``positions`` (sorted), as text."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    mask = np.zeros(len(column), dtype=bool)
    mask[positions] = True
    return pc.replace_with_mask(column, pa.array(mask), values.cast(column.type))


def clean_columns(rows: int, rng: np.random.Generator) -> dict[str, pa.Array]:
    """The 22 columns, every value valid, all as text (the CSV is text)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    def pick(values: list[str], p: list[float] | None = None) -> pa.Array:
        return pa.array(values).take(pa.array(rng.choice(len(values), rows, p=p)))

    def number_text(values: np.ndarray) -> pa.Array:
        return pa.array(values).cast(pa.string())

    def digits(width: int, high: int) -> pa.Array:
        return pc.utf8_lpad(number_text(rng.integers(0, high, rows)), width=width, padding="0")

    def join(*parts: Any) -> pa.Array:
        return pc.binary_join_element_wise(*parts, "")

    def maybe_empty(values: pa.Array, share: float) -> pa.Array:
        return pc.if_else(pa.array(rng.random(rows) < share), "", values)

    # Unique keys: 8 digits from a permutation (up to 11 million rows).
    keys = pc.utf8_lpad(number_text(rng.permutation(rows) * 9 + rng.integers(0, 9, rows)),
                        width=8, padding="0")
    opened = np.datetime64("2010-01-01") + rng.integers(0, 5000, rows)
    updated = (np.datetime64("2020-01-01T00:00:00") + rng.integers(0, 10**8, rows)
               ).astype("datetime64[s]")
    multiline = rng.random(rows) < MULTILINE_SHARE
    notes = pc.if_else(pa.array(multiline), pick(MULTILINE_NOTES),
                       maybe_empty(pick(ONE_LINE_NOTES), 0.7))
    name = join(pick(FIRST), " ", pick(SECOND))
    return {
        "accountId": join("AC", keys),
        "name": name,
        "legalName": maybe_empty(join(name, " (", pick(CITIES), ")"), 0.3),
        **{field: pick(values) for field, values in ENUMS.items()},
        "taxId": join(pick(["DE", "FR", "JP", "RU", "AE", "US"]), "-", digits(7, 10**7)),
        "creditBlock": pick(["true", "false"], p=[0.2, 0.8]),
        "overallBlock": pick(["true", "false", "1", "0"], p=[0.03, 0.87, 0.02, 0.08]),
        "exposure": number_text(np.round(rng.uniform(0, 100_000, rows), 2)),
        "limit": pick(["0", "1000", "1250.5", "2500", "10000"]),
        "orderCount": number_text(rng.integers(0, 5000, rows)),
        "openedOn": pa.array(opened).cast(pa.string()),
        "reviewedOn": maybe_empty(pa.array(opened + rng.integers(0, 900, rows))
                                  .cast(pa.string()), 0.2),
        "updatedAt": join(pc.strftime(pa.array(updated), format="%Y-%m-%dT%H:%M:%S"), "+0000"),
        "addressLine1": join(number_text(rng.integers(1, 9999, rows)), " ", pick(STREETS)),
        "city": pick(CITIES),
        "region": maybe_empty(pick(["MA", "ON", "Île-de-France", "東京都", "Москва"]), 0.2),
        "postalCode": digits(5, 100_000),
        "phoneNumber": join("+", number_text(rng.integers(10**9, 10**12, rows))),
        "notes": notes,
    }


def write_messy_csv(path: Path, rows: int) -> None:
    """The CSV (quoted where needed, CRLF kept inside quotes) and its ``.truth.json``."""
    import pyarrow.csv as pacsv

    table, truth = messy_table(rows)
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
    truth_file(path).write_text(json.dumps({"file": path.name, "rows": rows, **truth}))


def truth_file(path: Path) -> Path:
    return path.with_name(path.name.split(".")[0] + ".truth.json")


# -- the export ----------------------------------------------------------------------------------

def write_messy_export(path: Path, jsonl: Path, rows: int) -> None:
    """``rows`` Account envelopes as the server exports them (a JSON array, one envelope per
    line) and as JSON Lines; names, cities and streets are the CSV's messy text."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(31)
    text = clean_columns(rows, rng)

    def s(values: pa.Array) -> pa.Array:  # a JSON string literal
        escaped = values
        for old, new in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r")):
            escaped = pc.replace_substring(escaped, old, new)
        return join('"', escaped, '"')

    def join(*parts: Any) -> pa.Array:
        return pc.binary_join_element_wise(*parts, "")

    def pick(values: list[str]) -> pa.Array:
        return pa.array(values).take(pa.array(rng.integers(0, len(values), rows)))

    def address(kind: str, primary: str) -> pa.Array:
        return join('{"city":', s(pick(CITIES)), ',"postalCode":"', text["postalCode"],
                    '","addressLine1":', s(text["addressLine1"]),
                    ',"country":"', pick(["US", "JP", "RU", "AE"]),
                    f'","addressType":"{kind}","primary":{primary}}}')

    count = rng.choice([1, 2, 3], rows, p=[0.5, 0.35, 0.15])
    addresses = join("[", address("Work", "true"),
                     pc.if_else(pa.array(count >= 2), join(",", address("Delivery", "false")), ""),
                     pc.if_else(pa.array(count >= 3), join(",", address("Billing", "false")), ""),
                     "]")
    licence = join('[{"licenseNumber":"LIC-', pc.utf8_lpad(text["orderCount"], width=6,
                                                             padding="0"),
                   '","licenseValidFrom":"', text["openedOn"], 'T05:00:00+0000",'
                   '"licenseValidTo":"', text["updatedAt"], '","licenseType":"7"}]')
    classes = pc.if_else(pc.equal(text["accountClass"], "Cash"),
                         "/Account/accountClass[cash]", "/Account/accountClass[invoiced]")
    ids = pa.array(np.arange(1, rows + 1)).cast(pa.string())
    lines = join('{"headers":{"category":"entity","type":"Account","id":"', ids,
                 '","revisionId":"1"},"data":{"accountId":"', text["accountId"],
                 '","name":', s(text["name"]), ',"notes":', s(text["notes"]),
                 ',"accountClass":"', classes,
                 '","channel":"', text["channel"], '","currency":"',
                 pick(["USD", "CAD", "EUR"]), '","paymentTerms":"', text["paymentTerms"],
                 '","exposure":', text["exposure"], ',"limit":', text["limit"],
                 ',"creditBlock":', text["creditBlock"], ',"overallBlock":',
                 pick(["true", "false"]), ',"accountLicenseInformation":', licence,
                 ',"addresses":', addresses, "}}")
    with path.open("wb") as array, jsonl.open("wb") as lines_file:
        array.write(b"[\n")
        for start in range(0, rows, 100_000):  # blocks: offsets stay 32-bit at any size
            block = lines[start:start + 100_000]
            array.write((b",\n" if start else b"") + text_bytes(join(block, ",\n"))[:-2])
            lines_file.write(text_bytes(join(block, "\n")))
        array.write(b"\n]\n")


def text_bytes(values: pa.Array) -> bytes:
    """The UTF-8 of a string array's values, one after the other."""
    import numpy as np

    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)
    first, last = offsets[values.offset], offsets[values.offset + len(values)]
    return values.buffers()[2].to_pybytes()[first:last]


# -- cached files, generated in a child ---------------------------------------------------------

def messy_csv(workdir: Path, rows: int) -> Path:
    """The messy CSV of ``rows`` rows in ``workdir``, generated (in a child) if missing."""
    path = workdir / f"messy-accounts-{rows}-v{VERSION}.csv"
    _generate("csv", path, rows)
    return path


def messy_export(workdir: Path, rows: int) -> tuple[Path, Path]:
    """The messy export (JSON array) and the same items as JSON Lines."""
    path = workdir / f"messy-export-{rows}-v{VERSION}.json"
    _generate("export", path, rows)
    return path, path.with_suffix(".jsonl")


def _generate(kind: str, path: Path, rows: int) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--generate", kind, str(path), str(rows)],
                   check=True)
    print(f"generated {path} in {time.perf_counter() - started:.1f}s", file=sys.stderr)


def generate(kind: str, path: Path, rows: int) -> None:
    """Write the file(s) of ``kind`` under partial names, then rename them into place."""
    partial = path.with_name(path.name + ".partial")
    if kind == "csv":
        write_messy_csv(partial, rows)
        truth_file(partial).replace(truth_file(path))
        partial.replace(path)
        return
    jsonl = path.with_suffix(".jsonl")
    partial_lines = jsonl.with_name(jsonl.name + ".partial")
    write_messy_export(partial, partial_lines, rows)
    partial_lines.replace(jsonl)
    partial.replace(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path,
                        default=Path(tempfile.gettempdir()) / "ldtransform-bench")
    parser.add_argument("--generate", nargs=3, help=argparse.SUPPRESS)  # csv|export PATH ROWS
    args = parser.parse_args()
    if args.generate:
        kind, path, rows = args.generate
        generate(kind, Path(path), int(rows))
        return
    print(messy_csv(args.workdir, args.rows))
    print(*messy_export(args.workdir, args.rows))


if __name__ == "__main__":
    main()
