"""Counting MobileNetV2 analytically vs with fvcore on the materialized model.

For each of the 22 published (width, resolution) checkpoints (slim README, shipped as
archcalc/reference/mnv2_checkpoints.csv) this times, in one run:

* analytic, end to end: ``archcalc.load(spec, width, resolution).totals()`` (YAML parse,
  block expansion, shapes, costs, roll-up);
* analytic, count only: ``model.totals()`` on the compiled model;
* fvcore: ``FlopCountAnalysis(net, x).total()`` on the already materialized network
  (jit trace + handle evaluation; materializing is not counted against fvcore).

Each figure is the median of ``--repeats`` runs. Both counts must agree (conv + linear
handles only, as in ``archcalc verify``), so the ratio compares equal answers.

    python benchmarks/bench_verify.py [--repeats 5] [--fvcore-repeats 1] [--threads 2]
"""
from __future__ import annotations

import argparse
import csv
import logging
import statistics
import time
from importlib import resources
from pathlib import Path

SPEC = Path(__file__).resolve().parents[1] / "specs" / "mnv2.yaml"


def median_time(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def published_pairs() -> list[tuple[float, int]]:
    text = resources.files("archcalc").joinpath("reference/mnv2_checkpoints.csv").read_text()
    return [(float(r["width"]), int(r["resolution"])) for r in csv.DictReader(text.splitlines())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--fvcore-repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    import torch
    from fvcore.nn import FlopCountAnalysis

    import archcalc
    from archcalc.pytorch import example_input
    from archcalc.pytorch.verify import madd_handles

    logging.getLogger("fvcore").setLevel(logging.ERROR)
    if args.threads:
        torch.set_num_threads(args.threads)
    archcalc.load(SPEC).totals()  # imports and caches warm, for both sides alike

    def fvcore_count(net, x) -> int:
        analysis = FlopCountAnalysis(net, (x,)).unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        analysis.clear_op_handles().set_op_handle(**madd_handles())
        with torch.no_grad():
            return analysis.total()

    print(f"{'width':>5} {'res':>4} {'MAdds':>12} {'load+count ms':>13} {'count ms':>9} {'fvcore ms':>10} "
          f"{'ratio e2e':>9} {'ratio count':>11}")
    ratios_e2e, ratios_count = [], []
    for width, resolution in published_pairs():
        t_e2e, totals = median_time(lambda: archcalc.load(SPEC, width=width, resolution=resolution).totals(),
                                    args.repeats)
        model = archcalc.load(SPEC, width=width, resolution=resolution)
        t_count, _ = median_time(model.totals, args.repeats)
        net, x = archcalc.materialize(model), example_input(model)
        t_fv, measured = median_time(lambda: fvcore_count(net, x), args.fvcore_repeats)
        if measured != totals["madds"]:
            raise SystemExit(f"counts disagree at {width}/{resolution}: {totals['madds']} vs fvcore {measured}")
        ratios_e2e.append(t_fv / t_e2e)
        ratios_count.append(t_fv / t_count)
        print(f"{width:>5g} {resolution:>4} {totals['madds']:>12,} {t_e2e * 1e3:>13.1f} {t_count * 1e3:>9.2f} "
              f"{t_fv * 1e3:>10.0f} {ratios_e2e[-1]:>8.0f}x {ratios_count[-1]:>10.0f}x")
    print(f"median ratio: end to end {statistics.median(ratios_e2e):.0f}x (min {min(ratios_e2e):.0f}x), "
          f"count only {statistics.median(ratios_count):.0f}x (min {min(ratios_count):.0f}x); target >= 200x")


if __name__ == "__main__":
    main()
