"""Reading JSON with ``ldtransform.read``, next to ``pyarrow.json.read_json`` on JSON Lines.

    .venv/bin/python bench/bench_json_read.py [--items N] [--quick] [--workdir DIR] [--repeat R]

Generates (once, cached in --workdir) N LD item envelopes with nested address lists, in
every layout the JSON readers take: JSON Lines, a JSON array one element per line (as the
server exports), the same array gzipped, pretty-printed, and all on one line. Each read
runs in a fresh subprocess; the anchor (``pyarrow.json.read_json`` on the JSON Lines, an
Arrow table as inferred) and the layouts take turns (A B A B ...), --repeat rounds, and a
Markdown table gives the median seconds, the peak memory the read added, and the ratio to
the anchor's median. ldtransform's reads stream the batches (``for batch in frames``).

Targets (printed, never asserted): every layout within 1.5x of the anchor; streaming
peak under 300 MiB.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from results import child_result, load_averages, median_result, print_measured, recorded

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "accounts.items.json"
GENERATOR_VERSION = 1  # bump when the generated data changes, to invalidate cached files
LAYOUTS = {  # key: (label, file suffix)
    "jsonl": ("JSON Lines", ".jsonl"),
    "lines": ("array, one item per line", ".json"),
    "gzip": ("array, one item per line, gzip", ".json.gz"),
    "pretty": ("array, pretty-printed", ".pretty.json"),
    "oneline": ("array on one line", ".oneline.json"),
}


def generate(stem: Path, items: int) -> None:
    """``items`` Account envelopes in every layout, files named ``stem`` + suffix."""
    import orjson

    samples = json.loads(SAMPLES.read_text(encoding="utf-8"))
    files = {key: open(f"{stem}{suffix}.partial", "wb")  # noqa: SIM115
             for key, (_, suffix) in LAYOUTS.items() if key != "gzip"}
    try:
        for key in ("lines", "pretty", "oneline"):
            files[key].write(b"[")
        for number in range(1, items + 1):
            item = samples[number % len(samples)]
            data = dict(item["data"])
            data["accountId"] = f"A{number:09d}"
            data["exposure"] = round(number * 0.37 % 10_000, 2)
            envelope = {"headers": {**item["headers"], "id": str(number)}, "data": data}
            line = orjson.dumps(envelope)
            sep = b"," if number > 1 else b""
            files["jsonl"].write(line + b"\n")
            files["lines"].write(sep + b"\n" + line)
            files["oneline"].write(sep + line)
            files["pretty"].write(sep + b"\n" + orjson.dumps(envelope,
                                                             option=orjson.OPT_INDENT_2))
        files["lines"].write(b"\n]\n")
        files["pretty"].write(b"\n]\n")
        files["oneline"].write(b"]")
    finally:
        for file in files.values():
            file.close()
    with open(f"{stem}.json.partial", "rb") as source, \
            gzip.open(f"{stem}.json.gz.partial", "wb", compresslevel=1) as target:
        shutil.copyfileobj(source, target, 1 << 20)
    for _, suffix in LAYOUTS.values():
        os.replace(f"{stem}{suffix}.partial", f"{stem}{suffix}")


def cached(workdir: Path, items: int) -> dict[str, Path]:
    stem = workdir / f"json-read-{items}-v{GENERATOR_VERSION}"
    paths = {key: Path(f"{stem}{suffix}") for key, (_, suffix) in LAYOUTS.items()}
    if not all(p.exists() for p in paths.values()):
        started = time.perf_counter()
        generate(stem, items)
        print(f"generated {stem}.* in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return paths


# -- the reads; each runs in a fresh child process -----------------------------------------

def read_ldtransform(path: str) -> int:
    import ldtransform
    return sum(batch.num_rows for batch in ldtransform.read(path))


def read_pyarrow(path: str) -> int:
    import pyarrow.json as pajson
    return int(pajson.read_json(path).num_rows)


def child(key: str, path: str) -> None:
    import importlib
    for module in ("ldtransform", "pyarrow.json"):
        importlib.import_module(module)
    print_measured(lambda: (read_pyarrow if key == "anchor" else read_ldtransform)(path))


def run(key: str, path: Path) -> dict | str:
    return child_result(__file__, key, str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 items, one round")
    parser.add_argument("--workdir", type=Path,
                        default=Path(tempfile.gettempdir()) / "ldtransform-bench")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--layouts", default=",".join(LAYOUTS),
                        help="comma-separated subset of " + ",".join(LAYOUTS))
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    items = 100_000 if args.quick else args.items
    repeat = 1 if args.quick else args.repeat
    layouts = args.layouts.split(",")
    args.workdir.mkdir(parents=True, exist_ok=True)
    paths = cached(args.workdir, items)
    loads = [load_averages()]
    runs: dict[str, list[dict | str]] = {key: [] for key in ["anchor", *layouts]}
    for _ in range(repeat):  # A B A B: the anchor before each layout, every round
        for key in layouts:
            runs["anchor"].append(run("anchor", paths["jsonl"]))
            runs[key].append(run(key, paths[key]))
        loads.append(load_averages())
    anchor = median_result(runs["anchor"])
    with recorded("bench_json_read"):
        _print_table(items, loads, layouts, paths, runs, anchor)


def _print_table(items: int, loads: list[str], layouts: list[str], paths: dict[str, Path],
                 runs: dict[str, list[dict | str]], anchor: dict | str) -> None:
    print(f"Reading {items:,} LD item envelopes with nested address lists\n")
    print(f"Load average (1, 5, 15 min) before and after each round: {' / '.join(loads)}\n")
    print("| read | MB | median seconds | peak MiB added | ratio to anchor |")
    print("|---|---:|---:|---:|---:|")
    rows = [("anchor", "pyarrow.json.read_json on the JSON Lines", paths["jsonl"])]
    rows += [(key, f"ldtransform.read, {LAYOUTS[key][0]}", paths[key]) for key in layouts]
    for key, label, path in rows:
        median = median_result(runs[key])
        size = path.stat().st_size / 1e6
        if isinstance(median, str):
            print(f"| {label} | {size:,.0f} | failed: {median} | | |")
            continue
        ratio = median["seconds"] / anchor["seconds"] if isinstance(anchor, dict) else 0
        print(f"| {label} | {size:,.0f} | {median['seconds']:.2f} "
              f"| {median['added'] / 2**20:,.0f} | {ratio:.2f}x |")
    print("\nTargets: every layout within 1.5x of the anchor; streamed peak under 300 MiB.")


if __name__ == "__main__":
    main()
