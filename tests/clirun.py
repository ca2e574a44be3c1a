"""Run ``ldtransform`` in this process with click's CliRunner, answering as ``subprocess.run``
would, so a test reads the same whichever way the command ran (tests/test_cli_smoke.py runs
each command once as a real process)."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

from click.testing import CliRunner

from ldtransform.cli import main


def run_cli(*args: str | Path, cwd: Path | None = None, stdin: bytes | str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``ldtransform ARGS`` in-process; an exception the CLI did not turn into an exit code
    is raised here, where a real process would have printed a traceback."""
    with contextlib.chdir(cwd) if cwd is not None else contextlib.nullcontext():
        result = CliRunner().invoke(main, [str(a) for a in args], input=stdin,
                                    prog_name="ldtransform", env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(["ldtransform", *map(str, args)], result.exit_code,
                                       result.stdout, result.stderr)
