"""What the whole-process benchmarks share: the installed console script, and one child
process's CPU time, wall time and peak memory (``os.wait4``: this child alone, not every
child so far). Imported by the ``bench_*.py`` scripts beside it (``python benchmarks/...``
puts this folder first on ``sys.path``)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]

# a user's environment: bytecode is cached (a warm-up run writes it)
CHILD_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def archcalc_script() -> str:
    """The console script installed beside this interpreter (what `pip install` puts on PATH)."""
    script = Path(sys.executable).with_name("archcalc")
    found = str(script) if script.exists() else shutil.which("archcalc")
    if found is None:
        raise SystemExit("no `archcalc` console script: pip install -e . first")
    return found


def child_usage(command: list[str], stdout: int | IO = subprocess.DEVNULL,
                env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """(CPU seconds (user + system), wall seconds, peak RSS MiB) of one fresh process running
    ``command`` in the repository root; its failure stops the benchmark with its stderr.
    stderr goes to a file, not a pipe, so a chatty child cannot block on a full pipe."""
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=CHILD_ENV if env is None else env, stdout=stdout,
                                   stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            stderr.seek(0)
            raise SystemExit(f"failed: {' '.join(command)}: {stderr.read().decode(errors='replace')[-2000:]}")
    return usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024
