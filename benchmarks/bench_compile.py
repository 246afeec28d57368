"""Compile speed (issue 12, target 1): YAML -> compiled IR -> totals, against the peers.

Three measurements, each printing its ratio or its per-node figure:

1. MobileNetV2 (specs/mnv2.yaml, 1.0/224): ``archcalc.load(spec).totals()`` (reading the
   YAML, compiling, summing) against counting the already materialized torch module with
   fvcore and, when installed, ptflops (aten backend) and torchinfo. Repeats are
   interleaved (archcalc, peer, archcalc, peer, ...) and each side's minimum and median CPU
   time (``time.process_time``: the machine is shared, wall time would count the others'
   work) is printed with the ratio of the medians. Target: <= 1 ms, >= 150x fvcore,
   >= 40x the fastest peer.
2. A chain of 10,000 bottleneck blocks (one row, ``n: 10000``): microseconds per op.
   Target: <= 5 us per op (identical blocks are a cache lookup, not a re-expansion).
3. Scaling in the number of nodes, one layer row per node, for a chain (each conv reads the
   previous one) and a wide graph (K convs read the input, one concat reads all K) at
   1k, 10k and 60k nodes: microseconds per node. Target: flat in K, and the two shapes
   within 1.5x of each other.

    python benchmarks/bench_compile.py [--repeats 15] [--quick]

The timings are CPU seconds of this process; the spec files are written to a temporary
folder and read from disk in every repeat (the YAML read is part of the time).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

# The chains and wide graphs here (up to 60k nodes) are far past the default IR-node budget
# (archcalc.limits.IR_NODES, 5,000): raise it for this process, as a user would.
os.environ.setdefault("ARCHCALC_MAX_IR_NODES", "1000000")
# the generated specs carry the usual defaults block whether or not their rows read it
warnings.filterwarnings("ignore", message=".*is read by no layer or block")

ROOT = Path(__file__).resolve().parent.parent
MNV2 = ROOT / "specs" / "mnv2.yaml"
HEADER = ("input: {channels: 16, resolution: 8}\nwidth: 1.0\nclasses: 10\n"
          "rounding: {channels: make_divisible, divisor: 8, min_depth: 8, expansion: make_divisible}\n"
          "defaults: {kernel: 3, activation: relu6, norm: batch_norm}\n")


def cpu_time(fn: Callable[[], object]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def interleaved(sides: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """CPU time of each side, the sides alternating within every repeat (so that a busy
    spell on the shared machine falls on both)."""
    for fn in sides.values():
        fn()  # warm: imports, caches
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(repeats):
        for name, fn in sides.items():
            times[name].append(cpu_time(fn))
    return times


def archcalc_count(path: Path) -> Callable[[], dict]:
    import archcalc

    return lambda: archcalc.load(path).totals()


def peers(model) -> dict[str, Callable[[], object]]:
    """Each installed peer counting the materialized module (not its construction)."""
    import torch

    from archcalc.pytorch.materialize import example_input, materialize

    net = materialize(model).eval()
    x = example_input(model)
    found: dict[str, Callable[[], object]] = {}

    def fvcore_count():
        from fvcore.nn import FlopCountAnalysis

        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            counter = FlopCountAnalysis(net, x)
            counter.unsupported_ops_warnings(False)
            counter.uncalled_modules_warnings(False)
            return counter.total()

    found["fvcore"] = fvcore_count
    try:
        # ptflops imports torchvision.ops: through archcalc's import, which loads 0.28's
        # CUDA wheel beside the CPU torch (see archcalc/pytorch/tv.py)
        from archcalc.pytorch.tv import import_torchvision

        import_torchvision()
        from ptflops import get_model_complexity_info

        def ptflops_count():
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return get_model_complexity_info(net, tuple(x.shape[1:]), backend="aten", as_strings=False,
                                                 print_per_layer_stat=False, verbose=False)

        found["ptflops (aten)"] = ptflops_count
    except ImportError:
        print("ptflops not installed: skipped (pip install 'archcalc[bench]')")
    try:
        from torchinfo import summary

        found["torchinfo"] = lambda: summary(net, input_data=x, verbose=0)
    except ImportError:
        print("torchinfo not installed: skipped (pip install 'archcalc[bench]')")
    return found


def bench_mnv2(repeats: int) -> None:
    import torch

    import archcalc

    torch.set_num_threads(1)
    model = archcalc.load(MNV2)
    sides = {"archcalc": archcalc_count(MNV2), **peers(model)}
    times = interleaved(sides, repeats)
    ours = statistics.median(times["archcalc"])
    print(f"\n1. MobileNetV2 1.0/224, YAML -> compiled -> totals, {repeats} interleaved repeats, CPU time")
    for name, values in times.items():
        median = statistics.median(values)
        ratio = "" if name == "archcalc" else f"   {median / ours:7.1f}x archcalc"
        print(f"   {name:16s} min {min(values) * 1e3:8.3f} ms  median {median * 1e3:8.3f} ms{ratio}")
    fastest_peer = min((statistics.median(v), n) for n, v in times.items() if n != "archcalc")
    fv = statistics.median(times["fvcore"]) / ours
    print(f"   target: archcalc <= 1 ms ({'OK' if ours <= 1e-3 else 'ABOVE'}), >= 150x fvcore ({fv:.0f}x: "
          f"{'OK' if fv >= 150 else 'BELOW'}), >= 40x the fastest peer ({fastest_peer[1]}: "
          f"{fastest_peer[0] / ours:.0f}x: {'OK' if fastest_peer[0] / ours >= 40 else 'BELOW'})")


def chain_of_blocks(blocks: int) -> str:
    return f"name: chain_{blocks}\n{HEADER}layers:\n  - {{block: bottleneck, t: 6, c: 16, n: {blocks}, s: 1}}\n"


def chain_of_rows(nodes: int) -> str:
    rows = "".join(f"  - {{name: c{i}, op: conv2d, out: 8, kernel: 1}}\n" for i in range(nodes))
    return f"name: chain\n{HEADER}layers:\n{rows}"


def wide(nodes: int) -> str:
    branches = nodes - 1
    rows = "".join(f"  - {{name: b{i}, op: conv2d, out: 8, kernel: 1, from: input}}\n" for i in range(branches))
    refs = ", ".join(f"b{i}" for i in range(branches))
    return f"name: wide\n{HEADER}layers:\n{rows}  - {{name: cat, op: concat, from: [{refs}]}}\n"


def ops_in(path: Path) -> int:
    import archcalc

    return len(archcalc.load(path).order) - 1  # the input is no op


def bench_chain(folder: Path, blocks: int, repeats: int) -> None:
    path = folder / "chain_blocks.yaml"
    path.write_text(chain_of_blocks(blocks))
    count = archcalc_count(path)
    ops = ops_in(path)
    times = interleaved({"chain": count}, repeats)["chain"]
    per_op = statistics.median(times) / ops * 1e6
    print(f"\n2. chain of {blocks:,} bottleneck blocks ({ops:,} ops), YAML -> totals: min {min(times) * 1e3:.0f} ms, "
          f"median {statistics.median(times) * 1e3:.0f} ms = {per_op:.2f} us per op "
          f"(target <= 5: {'OK' if per_op <= 5 else 'ABOVE'})")


def bench_scaling(folder: Path, sizes: list[int], repeats: int) -> None:
    print("\n3. us per node, one layer row per node (YAML read included), median CPU time")
    print(f"   {'nodes':>7s}  {'chain':>8s}  {'wide':>8s}  wide/chain")
    worst = 1.0
    per_node: dict[str, list[float]] = {"chain": [], "wide": []}
    for nodes in sizes:
        paths = {"chain": folder / f"chain_{nodes}.yaml", "wide": folder / f"wide_{nodes}.yaml"}
        paths["chain"].write_text(chain_of_rows(nodes))
        paths["wide"].write_text(wide(nodes))
        times = interleaved({name: archcalc_count(p) for name, p in paths.items()}, repeats)
        chain_us, wide_us = (statistics.median(times[n]) / nodes * 1e6 for n in ("chain", "wide"))
        per_node["chain"].append(chain_us)
        per_node["wide"].append(wide_us)
        ratio = max(chain_us, wide_us) / min(chain_us, wide_us)
        worst = max(worst, ratio)
        print(f"   {nodes:7,d}  {chain_us:8.1f}  {wide_us:8.1f}  {wide_us / chain_us:6.2f}")
    growth = {name: values[-1] / values[0] for name, values in per_node.items()}
    print(f"   growth of us/node from {sizes[0]:,} to {sizes[-1]:,} nodes: chain {growth['chain']:.2f}x, wide "
          f"{growth['wide']:.2f}x; worst wide/chain gap {worst:.2f}x (target: linear, gap <= 1.5x: "
          f"{'OK' if worst <= 1.5 and max(growth.values()) <= 1.5 else 'NO'})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, 1k and 10k nodes only")
    args = parser.parse_args()
    repeats = 3 if args.quick else args.repeats
    bench_mnv2(args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bench_chain(folder, 10_000, max(1, repeats // 5))
        bench_scaling(folder, [1_000, 10_000] if args.quick else [1_000, 10_000, 60_000], max(1, repeats // 5))
    return 0


if __name__ == "__main__":
    sys.exit(main())
