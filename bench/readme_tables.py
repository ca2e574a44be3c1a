"""Paste the benchmarks' printed tables (``bench/results/<name>.md``) into the README.

    .venv/bin/python bench/readme_tables.py [--check]

The README marks each pasted block::

    <!-- bench/results/bench_read.md -->
    ...what bench/bench_read.py printed...
    <!-- end of bench/results/bench_read.md -->

Without options, every block whose results file exists is replaced by that file. With
``--check`` nothing is written: the exit status is 1 when a block differs from its file.
Blocks whose file does not exist yet are listed either way (their figures were pasted by
hand from an earlier run of the same script).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RESULTS = ROOT / "bench" / "results"
BLOCK = re.compile(r"(<!-- bench/results/(?P<name>[\w.-]+)\.md -->\n)(?P<body>.*?)"
                   r"(<!-- end of bench/results/(?P=name)\.md -->)", re.S)


def blocks(text: str) -> list[str]:
    """The names of the results files ``text`` pastes, in order."""
    return [match["name"] for match in BLOCK.finditer(text)]


def pasted(text: str, results: Path = RESULTS) -> str:
    """``text`` with every block replaced by its results file, when there is one."""
    def paste(match: re.Match[str]) -> str:
        file = results / f"{match['name']}.md"
        if not file.exists():
            return match[0]
        body = file.read_text(encoding="utf-8").strip("\n") + "\n"
        return match[1] + body + match[4]
    return BLOCK.sub(paste, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; fail if the README differs from the results")
    args = parser.parse_args()
    text = README.read_text(encoding="utf-8")
    names = blocks(text)
    missing = [name for name in names if not (RESULTS / f"{name}.md").exists()]
    unpasted = sorted(file.stem for file in RESULTS.glob("*.md") if file.stem not in names)
    if missing:
        print("not printed into bench/results yet (README keeps its earlier figures): "
              + ", ".join(missing))
    if unpasted:
        print("in bench/results but not pasted in the README: " + ", ".join(unpasted))
    new = pasted(text)
    if args.check:
        if new != text:
            print("README.md differs from bench/results: run bench/readme_tables.py")
            sys.exit(1)
        return
    if new != text:
        README.write_text(new, encoding="utf-8")
    print(f"README.md: {len(names) - len(missing)} of {len(names)} tables pasted from "
          "bench/results")


if __name__ == "__main__":
    main()
