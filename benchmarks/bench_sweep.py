"""Benchmark: a 100 x 100 (width x resolution) sweep vs fvcore counting one MobileNetV2.

The issue's target: computing all 10,000 variants exactly must take less time than fvcore
needs to count one materialized MobileNetV2 (1.0/224). Both sides are timed end to end
(the sweep includes loading the YAML and the traced compile; fvcore includes tracing the
materialized torch module), median of several runs. A sample of grid points is checked
against full compiles so the speed is not bought with wrong numbers.

    /tmp/venv/bin/python benchmarks/bench_sweep.py
"""
from __future__ import annotations

import random
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "mnv2.yaml"
WIDTHS = [round(0.30 + 0.012 * i, 6) for i in range(100)]  # 0.30 .. 1.488
RESOLUTIONS = list(range(96, 296, 2))  # 96 .. 294 (odd halvings included)
REPEATS = 5


def time_sweep() -> tuple[float, dict]:
    from archcalc.analysis.sweep import grid_totals

    times, grid = [], None
    for _ in range(REPEATS):
        start = time.perf_counter()
        grid = grid_totals(SPEC, WIDTHS, RESOLUTIONS, classes=1001)
        times.append(time.perf_counter() - start)
    return statistics.median(times), grid


def time_fvcore() -> tuple[float, float]:
    import torch
    from fvcore.nn import FlopCountAnalysis

    import archcalc
    from archcalc.pytorch.materialize import example_input, materialize

    model = archcalc.load(SPEC, classes=1001)
    net = materialize(model).eval()
    x = example_input(model)
    times, total = [], 0.0
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(REPEATS):
            start = time.perf_counter()
            counter = FlopCountAnalysis(net, x)
            counter.unsupported_ops_warnings(False)
            counter.uncalled_modules_warnings(False)
            total = counter.total()
            times.append(time.perf_counter() - start)
    return statistics.median(times), total


def check_sample(grid: dict, count: int = 25) -> int:
    import archcalc

    rng = random.Random(0)
    for _ in range(count):
        i, j = rng.randrange(len(WIDTHS)), rng.randrange(len(RESOLUTIONS))
        expected = archcalc.load(SPEC, width=WIDTHS[i], resolution=RESOLUTIONS[j], classes=1001).totals()
        for column in ("madds", "params", "params_without_bn", "flops"):
            if int(grid[column][i, j]) != expected[column]:
                sys.exit(f"MISMATCH at width {WIDTHS[i]}, resolution {RESOLUTIONS[j]}: {column}")
    return count


def main() -> None:
    import torch

    torch.set_num_threads(1)
    sweep_s, grid = time_sweep()
    fvcore_s, fvcore_total = time_fvcore()
    checked = check_sample(grid)
    points = len(WIDTHS) * len(RESOLUTIONS)
    print(f"sweep: {points:,} variants (widths {WIDTHS[0]}..{WIDTHS[-1]}, resolutions {RESOLUTIONS[0]}..{RESOLUTIONS[-1]}), "
          f"{grid['traces']} traced compile(s): median {sweep_s * 1e3:.1f} ms "
          f"({sweep_s / points * 1e6:.1f} us per variant)")
    print(f"fvcore: FlopCountAnalysis(...).total() on one materialized MobileNetV2 1.0/224: "
          f"median {fvcore_s * 1e3:.1f} ms (its count: {fvcore_total:,.0f})")
    print(f"exactness: {checked} random grid points equal full compiles (madds, params, params_without_bn, flops)")
    ratio = fvcore_s / sweep_s
    print(f"ratio: one fvcore count takes {ratio:.2f}x as long as the whole 10,000-point sweep "
          f"({'PASS' if ratio > 1 else 'FAIL'}: target > 1)")


if __name__ == "__main__":
    main()
