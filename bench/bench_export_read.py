"""Loading an LD JSON export into a typed DataFrame, next to what a user would do instead.

    .venv/bin/python bench/bench_export_read.py [--items N] [--quick] [--workdir DIR] [--repeat R]
        [--data accounts|messy]

Generates (once, cached in --workdir) an export of N Account items laid out as the local
server writes it (a JSON array, one item envelope per line), and the same items as JSON
Lines (or with ``--data messy`` bench/datasets.py's export, with nested addresses and
multi-line text). Each reader runs in a fresh subprocess, best of --repeat runs, and a
Markdown table gives the seconds, the peak memory the read added, and how ldtransform
compares:

- ``ldtransform.read_export(path, schema).to_pandas()``: typed columns (dates, Int64,
  booleans, categories, child records as lists);
- ``ldtransform.read_export(path).to_pandas()``: the same without a schema, types as the
  JSON gives them;
- ``json.load`` + ``pandas.json_normalize``: untyped, nested records as lists;
- ``pyarrow.json.read_json`` on the JSON Lines: an Arrow table, types as inferred.

Targets (printed, never asserted): at least 10x faster than the second, within 1.5x of the
third; typed at most 1.2x the untyped ``read_export(path).to_pandas()``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from datasets import messy_export
from results import child_result, print_measured, recorded

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "accounts.items.json"
SCHEMA = ROOT / "samples" / "schemas" / "Account.json"
GENERATOR_VERSION = 1  # bump when the generated data changes, to invalidate cached files


def generate(path: Path, jsonl: Path, items: int) -> None:
    """``items`` Account envelopes as the server exports them, and as JSON Lines."""
    import orjson

    samples = [item["data"] for item in json.loads(SAMPLES.read_text(encoding="utf-8"))]
    headers = {"category": "entity", "type": "Account"}
    with path.open("wb") as array, jsonl.open("wb") as lines:
        array.write(b"[")
        for number in range(1, items + 1):
            data = dict(samples[number % len(samples)])
            data["accountId"] = f"A{number:09d}"
            data["exposure"] = round(number * 0.37 % 10_000, 2)
            line = orjson.dumps({"headers": {**headers, "id": str(number),
                                             "revisionId": "1"}, "data": data})
            array.write((b",\n" if number > 1 else b"\n") + line)
            lines.write(line + b"\n")
        array.write(b"\n]\n")


def cached(workdir: Path, items: int) -> tuple[Path, Path]:
    path = workdir / f"export-{items}-v{GENERATOR_VERSION}.json"
    jsonl = path.with_suffix(".jsonl")
    if not (path.exists() and jsonl.exists()):
        started = time.perf_counter()
        partial, partial_lines = (p.with_name(p.name + ".partial") for p in (path, jsonl))
        generate(partial, partial_lines, items)
        partial.replace(path)
        partial_lines.replace(jsonl)
        print(f"generated {path} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return path, jsonl


# -- the readers; each runs in a fresh child process ---------------------------------------

def read_ldtransform(path: str, _: str) -> int:
    import ldtransform
    return len(ldtransform.read_export(path, str(SCHEMA)).to_pandas())


def read_ldtransform_untyped(path: str, _: str) -> int:
    import ldtransform
    return len(ldtransform.read_export(path).to_pandas())


def read_ldtransform_stream(path: str, _: str) -> int:
    import ldtransform
    return sum(batch.num_rows for batch in ldtransform.read_export(path, str(SCHEMA)))


def read_normalize(path: str, _: str) -> int:
    import pandas as pd
    with open(path, encoding="utf-8") as text:
        return len(pd.json_normalize(json.load(text)))


def read_pyarrow(_: str, jsonl: str) -> int:
    import pyarrow.json as pajson
    return int(pajson.read_json(jsonl).num_rows)


READERS = {  # key: (label, function, modules imported before the baseline RSS is taken)
    "ld": ("ldtransform.read_export(path, schema).to_pandas()", read_ldtransform,
           ["ldtransform", "pandas", "pyarrow.json"]),
    "ld-untyped": ("ldtransform.read_export(path).to_pandas(), untyped",
                   read_ldtransform_untyped, ["ldtransform", "pandas", "pyarrow.json"]),
    "ld-stream": ("ldtransform.read_export(path, schema), streamed", read_ldtransform_stream,
                  ["ldtransform", "pyarrow.json"]),
    "normalize": ("json.load + pandas.json_normalize", read_normalize, ["pandas"]),
    "pyarrow": ("pyarrow.json.read_json (JSON Lines)", read_pyarrow, ["pyarrow.json"]),
}


def child(key: str, path: str, jsonl: str) -> None:
    import importlib
    _, function, modules = READERS[key]
    for module in modules:
        importlib.import_module(module)
    print_measured(lambda: function(path, jsonl))


def measure(key: str, path: Path, jsonl: Path, repeat: int) -> dict | str:
    best: dict | None = None
    for _ in range(repeat):
        run = child_result(__file__, key, str(path), str(jsonl))
        if isinstance(run, str):
            return run
        if best is None or run["seconds"] < best["seconds"]:
            best = run
    assert best is not None
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 items")
    parser.add_argument("--workdir", type=Path,
                        default=Path(tempfile.gettempdir()) / "ldtransform-bench")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--data", choices=["accounts", "messy"], default="accounts",
                        help="the sample accounts, or bench/datasets.py's messy export")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    items = 100_000 if args.quick else args.items
    args.workdir.mkdir(parents=True, exist_ok=True)
    messy = args.data == "messy"
    path, jsonl = messy_export(args.workdir, items) if messy else cached(args.workdir, items)
    results = {key: measure(key, path, jsonl, args.repeat) for key in READERS}
    with recorded("bench_export_read" + ("-messy" if messy else "")):
        ours = results["ld"]
        print(f"{items:,}-item JSON export ({path.stat().st_size / 1e6:,.0f} MB), one envelope "
              f"per line; best of {args.repeat}\n")
        print("| reader | seconds | peak MB added | its time ÷ ldtransform's |")
        print("|---|---:|---:|---:|")
        for key, (label, _, _) in READERS.items():
            run = results[key]
            if isinstance(run, str):
                print(f"| {label} | failed: {run} | | |")
                continue
            ratio = run["seconds"] / ours["seconds"] if isinstance(ours, dict) else float("nan")
            print(f"| {label} | {run['seconds']:.2f} | {run['added'] / 1e6:,.0f} | {ratio:.2f}x |")
        if isinstance(ours, dict):
            for key, target, words in (("normalize", 10.0, "at least 10x faster"),
                                       ("pyarrow", 1 / 1.5, "within 1.5x"),
                                       ("ld-untyped", 1 / 1.2,
                                        "at most 1.2x the untyped read")):
                run = results[key]
                if isinstance(run, dict):
                    ratio = run["seconds"] / ours["seconds"]
                    verdict = "met" if ratio >= target else "not met"
                    print(f"\nTarget vs {READERS[key][0]}: {words} — {ratio:.2f}x, {verdict}.")


if __name__ == "__main__":
    main()
