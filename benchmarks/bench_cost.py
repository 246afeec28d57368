"""Cold-start benchmark: `archcalc cost specs/mnv2_1.4.yaml` vs `python -c "import torch"`.

Both are run as fresh processes, interleaved, in the same run; the ratio of the medians
is printed. Target (issue "Core"): ratio <= 0.15, i.e. costing a network from its spec
takes under a sixth of the time it takes just to import PyTorch.

    python benchmarks/bench_cost.py [--repeats 7]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _child import archcalc_script

ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.15


def wall_time(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    # the installed console script, as a user runs it
    cost = [archcalc_script(), "cost", "specs/mnv2_1.4.yaml"]
    torch = [sys.executable, "-c", "import torch"]
    wall_time(cost), wall_time(torch)  # warm the page cache for both
    cost_times, torch_times = [], []
    for _ in range(args.repeats):
        cost_times.append(wall_time(cost))
        torch_times.append(wall_time(torch))
    cost_median, torch_median = statistics.median(cost_times), statistics.median(torch_times)
    ratio = cost_median / torch_median
    print(f"archcalc cost specs/mnv2_1.4.yaml : median {cost_median * 1000:7.1f} ms over {args.repeats} runs")
    print(f"python -c 'import torch'          : median {torch_median * 1000:7.1f} ms over {args.repeats} runs")
    print(f"ratio cost / import torch         : {ratio:.3f}  (target <= {TARGET}) {'OK' if ratio <= TARGET else 'ABOVE TARGET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
