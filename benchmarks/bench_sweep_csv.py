"""A million-point sweep to CSV, whole process (issue 12, target 3), against pandas.

    python benchmarks/bench_sweep_csv.py [--repeats 3]

archcalc: ``archcalc sweep specs/mnv2.yaml --widths 0.3:1.3:0.001 --resolutions 96:2094:2
--format csv`` (1,001 x 1,000 = 1,001,000 points) written to a file. Peer: a fresh
``python`` that imports pandas and writes a DataFrame of the same shape (1,001,000 rows, the
same 11 columns, integers of the same size) with ``to_csv``. Both run as child processes,
interleaved; each child's CPU time (user + system) and peak resident memory come from
``os.wait4`` (CPU time, because the machine is shared). Targets: archcalc <= 1.5x the
peer's time, <= 600 MiB peak. The archcalc CSV's row count and one row are checked.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIDTHS, RESOLUTIONS = "0.3:1.3:0.001", "96:2094:2"
POINTS = 1001 * 1000
PEER = f"""
import numpy as np, pandas as pd, sys
rng = np.random.default_rng(0)
n = {POINTS}
columns = ["width", "resolution", "madds", "params", "params_without_bn", "flops", "top1", "top5", "c9", "c10", "c11"]
frame = pd.DataFrame({{c: rng.integers(0, 10**9, n) for c in columns}})
frame.to_csv(sys.argv[1], index=False)
"""


def run_child(command: list[str], out: Path) -> tuple[float, float]:
    """(CPU seconds, peak RSS MiB) of one child process writing ``out``."""
    with open(out, "w") as stdout:
        process = subprocess.Popen(command, cwd=ROOT, stdout=stdout)
        _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(command)}")
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    script = Path(sys.executable).with_name("archcalc")
    ours = [str(script), "sweep", "specs/mnv2.yaml", "--widths", WIDTHS, "--resolutions", RESOLUTIONS, "--format", "csv"]
    times: dict[str, list[tuple[float, float]]] = {"archcalc": [], "pandas": []}
    with tempfile.TemporaryDirectory() as tmp:
        ours_csv, peer_csv = Path(tmp) / "sweep.csv", Path(tmp) / "peer.csv"
        for _ in range(args.repeats):
            times["archcalc"].append(run_child(ours, ours_csv))
            times["pandas"].append(run_child([sys.executable, "-c", PEER, str(peer_csv)], Path(os.devnull)))
        lines = [line for line in ours_csv.read_text().splitlines() if not line.startswith("#")]
        if len(lines) != POINTS + 1:
            sys.exit(f"expected {POINTS:,} rows, got {len(lines) - 1:,}")
        print(f"archcalc CSV: {len(lines) - 1:,} rows; first: {lines[1]}")
    print(f"{args.repeats} interleaved runs each, child CPU time (user + sys) and peak RSS")
    for name, values in times.items():
        cpu = [v[0] for v in values]
        print(f"  {name:8s}: min {min(cpu):6.2f} s  median {statistics.median(cpu):6.2f} s  "
              f"peak RSS {max(v[1] for v in values):6.0f} MiB")
    ratio = statistics.median(v[0] for v in times["archcalc"]) / statistics.median(v[0] for v in times["pandas"])
    peak = max(v[1] for v in times["archcalc"])
    print(f"ratio archcalc / pandas: {ratio:.2f} (target <= 1.5: {'OK' if ratio <= 1.5 else 'ABOVE'}); "
          f"peak {peak:.0f} MiB (target <= 600: {'OK' if peak <= 600 else 'ABOVE'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
