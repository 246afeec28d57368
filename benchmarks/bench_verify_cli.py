"""Whole ``archcalc verify specs/mnv2.yaml`` against its floor (issue 12, target 4: <= 2x).

The peer is what any verification has to pay: a process that runs
``python -c "import torch, fvcore.nn"`` plus one fvcore count of the same network
(``FlopCountAnalysis(net, x).total()`` on MobileNetV2 materialized by archcalc, timed in
this process after a warm-up, since the count is what a peer tool would do after its
imports). The two processes are run interleaved, ``--runs`` times each, and timed in CPU
seconds of the child (``os.wait4``, benchmarks/_child.py: user + system, all threads)
as well as wall seconds, because the machine is shared; the ratio is printed for the min
and the median of each.

    python benchmarks/bench_verify_cli.py [--runs 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from _child import CHILD_ENV, child_usage

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "mnv2.yaml"


def child_times(command: list[str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one child process run to completion."""
    cpu, wall, _ = child_usage(command, env={**CHILD_ENV, "COLUMNS": "200"})
    return cpu, wall


def fvcore_count_times(repeats: int) -> tuple[list[float], list[float]]:
    """CPU and wall seconds of one fvcore count of MobileNetV2 (after one warm-up count)."""
    import logging

    import torch
    from fvcore.nn import FlopCountAnalysis

    import archcalc
    from archcalc.pytorch import example_input

    logging.getLogger("fvcore").setLevel(logging.ERROR)
    model = archcalc.load(SPEC)
    net, x = archcalc.materialize(model), example_input(model)

    def count() -> int:
        analysis = FlopCountAnalysis(net, (x,)).unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        with torch.no_grad():
            return analysis.total()

    count()
    cpu, wall = [], []
    for _ in range(repeats):
        c, w = time.process_time(), time.perf_counter()
        count()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    verify = [sys.executable, "-m", "archcalc", "verify", str(SPEC)]
    imports = [sys.executable, "-c", "import torch, fvcore.nn"]
    child_times(imports)  # file cache warm for both
    runs = {"verify": [], "imports": []}
    for _ in range(args.runs):  # interleaved, so that both see the same load
        runs["verify"].append(child_times(verify))
        runs["imports"].append(child_times(imports))
    count_cpu, count_wall = fvcore_count_times(args.runs)
    print(f"{'':28} {'cpu min':>8} {'cpu med':>8} {'wall min':>8} {'wall med':>8}")
    for name, values in (("archcalc verify mnv2.yaml", runs["verify"]), ("python -c 'import torch, fvcore.nn'",
                                                                          runs["imports"])):
        cpu, wall = [v[0] for v in values], [v[1] for v in values]
        print(f"{name[:28]:28} {min(cpu):8.2f} {statistics.median(cpu):8.2f} {min(wall):8.2f} "
              f"{statistics.median(wall):8.2f}")
    print(f"{'one fvcore count (in process)':28} {min(count_cpu):8.2f} {statistics.median(count_cpu):8.2f} "
          f"{min(count_wall):8.2f} {statistics.median(count_wall):8.2f}")
    for label, pick in (("min", min), ("median", statistics.median)):
        for clock, i, count in (("cpu", 0, count_cpu), ("wall", 1, count_wall)):
            peer = pick([v[i] for v in runs["imports"]]) + pick(count)
            ratio = pick([v[i] for v in runs["verify"]]) / peer
            print(f"verify / (imports + one count), {label} {clock}: {ratio:.2f}x  (target <= 2x: "
                  f"{'met' if ratio <= 2 else 'NOT met'})")


if __name__ == "__main__":
    main()
