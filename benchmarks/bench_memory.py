"""Exact peak-memory order search: RandWire cells and MobileNetV2 (a benchmark, not a test).

Targets from issue 3: the exact search on a 50-node RandWire cell in <= 2 s and on a 66-node
cell in <= 60 s on one core; MobileNetV2 (a chain of blocks) in milliseconds. The
straightforward DP (sets of scheduled nodes, level by level, no bound, no cut points) runs
in the same process, capped, for the ratio; so does the best-first search alone
(``vectorized=False``, the search before the NumPy one), for the CPU-time column ``BF cpu``.

    python benchmarks/bench_memory.py [--cap SECONDS] [--seeds N]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import archcalc
from archcalc.analysis.memory import MemoryConfig, analyze_memory
from archcalc.analysis.schedule import dag_problem, exact_order, peak_of, randwire_dag

ROOT = Path(__file__).resolve().parents[1]


def cell(nodes: int, seed: int):
    graph = randwire_dag(nodes, 4, 0.75, seed=seed)
    return dag_problem(graph, {v: 1 for v in graph}, ["in", *range(nodes), "out"], outputs=["out"])


def timed(fn):
    """(value, wall seconds); the CPU seconds of the last call are kept in ``timed.cpu``
    (on a busy machine the wall time includes waiting for a core)."""
    start, cpu = time.perf_counter(), time.process_time()
    value = fn()
    timed.cpu = time.process_time() - cpu
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cap", type=float, default=120.0, help="seconds per search (exact and straightforward)")
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    print(f"{'cell':>14} {'exact s':>8} {'cpu s':>7} {'proved':>6} {'peak':>4} {'states':>8} {'program':>7} "
          f"{'DP s':>7} {'cpu s':>7} {'DP done':>7} {'ratio':>7} {'BF cpu':>7} {'BF/exact':>8}")
    for nodes, target in ((50, 2.0), (66, 60.0)):
        for seed in range(args.seeds):
            problem = cell(nodes, seed)
            fast, t_fast = timed(lambda: exact_order(problem, time_limit=args.cap))
            c_fast = timed.cpu
            plain, t_plain = timed(lambda: exact_order(problem, decompose=False, prune=False, time_limit=args.cap,
                                                       max_states=None))
            c_plain = timed.cpu
            alone, _ = timed(lambda: exact_order(problem, time_limit=args.cap, vectorized=False))
            c_alone = timed.cpu
            assert not (alone.optimal and fast.optimal) or alone.peak == fast.peak
            ratio = f"{t_plain / t_fast:.1f}x" + ("+" if not plain.optimal else "")
            print(f"WS({nodes},4,.75)#{seed} {t_fast:8.2f} {c_fast:7.2f} {str(fast.optimal):>6} {fast.peak:4d} "
                  f"{fast.states:8d} {peak_of(problem, range(len(problem))):7d} {t_plain:7.2f} {c_plain:7.2f} "
                  f"{str(plain.optimal):>7} {ratio:>7} {c_alone:7.2f} {c_alone / c_fast:7.1f}x"
                  f"   target <= {target:g} s: {'met' if fast.optimal and t_fast <= target else 'NOT met'}", flush=True)
    model = archcalc.load(ROOT / "specs" / "mnv2.yaml")
    result, seconds = timed(lambda: analyze_memory(model, "optimal", MemoryConfig()))
    print(f"MobileNetV2 1.0/224 optimal order: {seconds * 1000:.1f} ms (with timeline and arena), "
          f"{result.search.segments} segments, proved {result.search.optimal}, peak {result.peak_bytes:,} B")


if __name__ == "__main__":
    main()
