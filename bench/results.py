"""Where a benchmark's printed tables are kept: ``bench/results/<name>.md``.

Each benchmark prints its tables and, through :func:`recorded`, writes the same text to its
results file, headed by the command that printed it and followed by the machine's load. The README
pastes those files between markers (``bench/readme_tables.py``), so every figure there comes
from a script.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

RESULTS = Path(__file__).with_name("results")


def load() -> str:
    """The 1, 5 and 15 minute load averages and the CPU count, as ``uptime`` shows them."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"


def peak_rss() -> int:
    """This process's own peak resident memory in bytes. Not ``ru_maxrss`` where Linux
    says better: it carries a parent's peak over into its children's."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def print_measured(read: Callable[[], int]) -> None:
    """In a benchmark's child, after its imports: run ``read`` (which returns the rows it
    read) and print its rows, seconds and peak memory (the process's, and what ``read``
    added) as the JSON line :func:`child_result` reads."""
    baseline = peak_rss()
    started = time.perf_counter()
    rows = read()
    seconds = time.perf_counter() - started
    peak = peak_rss()
    print(json.dumps({"rows": rows, "seconds": seconds, "peak": peak,
                      "added": peak - baseline}))


def load_averages() -> str:
    """The 1, 5 and 15 minute load averages, as three numbers."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def child_result(script: str, *args: str) -> dict | str:
    """Run ``script --child ARGS`` in a fresh interpreter: the JSON its last line prints,
    or (when it fails) the last line of its error output."""
    done = subprocess.run([sys.executable, script, "--child", *args], capture_output=True,
                          text=True)
    if done.returncode != 0:
        return (done.stderr.strip().splitlines() or ["no output"])[-1][:160]
    result: dict = json.loads(done.stdout.splitlines()[-1])
    return result


def median_result(results: list[dict | str]) -> dict | str:
    """The median seconds and added memory of the runs that succeeded (else the first
    failure's message)."""
    done = [r for r in results if isinstance(r, dict)]
    if not done:
        return results[0] if results else "not run"
    return {key: statistics.median(r[key] for r in done) for key in ("seconds", "added")}


class _Tee(io.TextIOBase):
    def __init__(self, *streams: io.TextIOBase) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


@contextlib.contextmanager
def recorded(name: str) -> Iterator[None]:
    """Print as usual, and keep what was printed in ``bench/results/<name>.md`` once the
    block completes (a failed run leaves the previous file)."""
    kept = io.StringIO()
    command = " ".join(["python", "bench/" + Path(sys.argv[0]).name, *sys.argv[1:]])
    kept.write(f"_Printed by `{command}`; {load()} at the start._\n\n")
    stdout = sys.stdout
    sys.stdout = _Tee(stdout, kept)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout = stdout
    RESULTS.mkdir(exist_ok=True)
    text = kept.getvalue().strip("\n") + f"\n\n_At the end: {load()}._\n"
    (RESULTS / f"{name}.md").write_text(text, encoding="utf-8")
