"""Reading a fixed-width export with the ldtransform-fixedwidth plugin, next to
``pandas.read_fwf`` with the same column positions.

    .venv/bin/python bench/bench_fixedwidth.py [--records N] [--quick] [--workdir DIR] [--repeat R]

Generates (once, cached in --workdir) N records of a typical mainframe extract (account
id, name, city, amount with implied decimals, count, date: 64 characters a line) in UTF-8
and in the EBCDIC code page cp037, with the TOML layout describing them. Each read runs in
a fresh subprocess; the anchor (``pandas.read_fwf`` with the same colspecs and encoding,
types as pandas infers them) and ldtransform's read (typed by the layout: text, decimal,
integer, date; batches streamed) take turns (A B A B ...), --repeat rounds, and a Markdown
table gives the median seconds, the peak memory the read added and the ratio to the
anchor's median on the same file.

Target (printed, never asserted): ldtransform at most 1.0x the anchor's time.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from results import child_result, load_averages, median_result, print_measured, recorded

GENERATOR_VERSION = 1  # bump when the generated data changes, to invalidate cached files
FIELDS = [  # name, start (from 1), width, type, right-aligned
    ("account_id", 1, 10, "string", False),
    ("name", 11, 20, "string", False),
    ("city", 31, 12, "string", False),
    ("amount", 43, 11, "decimal", True),
    ("count", 54, 3, "integer", True),
    ("opened", 57, 8, "date", False),
]
NAMES = ["Zoë Müller", "Ana García", "Jean Dupont", "Åsa Berg", "O'Brien & Sons", "Li Wei"]
CITIES = ["Köln", "Zürich", "Paris", "Malmö", "Dublin", "Genève"]
ENCODINGS = {"utf8": "utf-8", "cp037": "cp037"}


def layout_toml() -> str:
    parts = []
    for name, start, width, kind, _ in FIELDS:
        extra = "decimals = 2\n" if kind == "decimal" else ""
        parts.append(f'[[fields]]\nname = "{name}"\nstart = {start}\nwidth = {width}\n'
                     f'type = "{kind}"\n{extra}')
    return "\n".join(parts)


def generate(stem: Path, records: int) -> None:
    files = {key: open(f"{stem}.{key}.fwf.partial", "wb")  # noqa: SIM115
             for key in ENCODINGS}
    try:
        chunk: list[str] = []
        for number in range(1, records + 1):
            values = [f"A{number:09d}", NAMES[number % 6], CITIES[number % 5],
                      str((number * 37) % 10_000_000 - 5_000_000), str(number % 999),
                      f"{1990 + number % 30}{1 + number % 12:02d}{1 + number % 28:02d}"]
            chunk.append("".join(v.rjust(f[2]) if f[4] else v.ljust(f[2])
                                 for v, f in zip(values, FIELDS, strict=True)) + "\n")
            if len(chunk) == 10_000 or number == records:
                text = "".join(chunk)
                for key, encoding in ENCODINGS.items():
                    files[key].write(text.encode(encoding))
                chunk = []
    finally:
        for file in files.values():
            file.close()
    for key in ENCODINGS:
        os.replace(f"{stem}.{key}.fwf.partial", f"{stem}.{key}.fwf")


def cached(workdir: Path, records: int) -> tuple[dict[str, Path], Path]:
    stem = workdir / f"fixedwidth-{records}-v{GENERATOR_VERSION}"
    paths = {key: Path(f"{stem}.{key}.fwf") for key in ENCODINGS}
    layout = Path(f"{stem}.layout.toml")
    if not all(p.exists() for p in paths.values()):
        started = time.perf_counter()
        generate(stem, records)
        print(f"generated {stem}.* in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    layout.write_text(layout_toml(), encoding="utf-8")
    return paths, layout


# -- the reads; each runs in a fresh child process -----------------------------------------

def read_pandas(path: str, encoding: str, _: str) -> int:
    import pandas as pd
    colspecs = [(start - 1, start - 1 + width) for _, start, width, _, _ in FIELDS]
    frame = pd.read_fwf(path, colspecs=colspecs, names=[f[0] for f in FIELDS], header=None,
                        encoding=encoding)
    return len(frame)


def read_ldtransform(path: str, encoding: str, layout: str) -> int:
    import ldtransform
    frames = ldtransform.read(path, format="fixedwidth", layout=layout, encoding=encoding)
    return sum(batch.num_rows for batch in frames)


def child(key: str, path: str, encoding: str, layout: str) -> None:
    import importlib
    for module in ("ldtransform", "ldtransform_fixedwidth", "pandas", "pyarrow.compute"):
        importlib.import_module(module)  # imported before the baseline is taken
    reader = read_pandas if key == "anchor" else read_ldtransform
    print_measured(lambda: reader(path, encoding, layout))


def run(key: str, path: Path, encoding: str, layout: Path) -> dict | str:
    return child_result(__file__, key, str(path), encoding, str(layout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 records")
    parser.add_argument("--workdir", type=Path,
                        default=Path(tempfile.gettempdir()) / "ldtransform-bench")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    records = 100_000 if args.quick else args.records
    args.workdir.mkdir(parents=True, exist_ok=True)
    paths, layout = cached(args.workdir, records)
    loads = [load_averages()]
    runs: dict[tuple[str, str], list[dict | str]] = {}
    for _ in range(args.repeat):  # A B A B: the anchor before ldtransform, every round
        for key, encoding in ENCODINGS.items():
            for reader in ("anchor", "ldtransform"):
                runs.setdefault((reader, key), []).append(
                    run(reader, paths[key], encoding, layout))
        loads.append(load_averages())
    with recorded("bench_fixedwidth"):
        print(f"Reading {records:,} fixed-width records (6 fields, "
              f"{FIELDS[-1][1] + FIELDS[-1][2] - 1} "
              "characters a line)\n")
        print(f"Load average (1, 5, 15 min) before and after each round: {' / '.join(loads)}\n")
        print("| file | read | MB | median seconds | peak MiB added | ratio to anchor |")
        print("|---|---|---:|---:|---:|---:|")
        for key, encoding in ENCODINGS.items():
            anchor = median_result(runs[("anchor", key)])
            size = paths[key].stat().st_size / 1e6
            for reader, label in (("anchor", "pandas.read_fwf, same colspecs"),
                                  ("ldtransform", "ldtransform.read, layout")):
                median = median_result(runs[(reader, key)])
                if isinstance(median, str):
                    print(f"| {encoding} | {label} | {size:,.0f} | failed: {median} | | |")
                    continue
                ratio = (median["seconds"] / anchor["seconds"]
                         if isinstance(anchor, dict) else float("nan"))
                print(f"| {encoding} | {label} | {size:,.0f} | {median['seconds']:.2f} "
                      f"| {median['added'] / 2**20:,.0f} | {ratio:.2f}x |")
        print("\nTarget: ldtransform at most 1.0x the anchor's time on the same file.")


if __name__ == "__main__":
    main()
