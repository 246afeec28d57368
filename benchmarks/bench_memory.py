"""Exact peak-memory order on RandWire WS(n, 4, 0.75) cells: archcalc against a SERENITY peer.

Issue 12, target 5: every cell up to n = 100 proved optimal in <= 60 s CPU, as a bare graph
and written as a spec; where no proof comes in that time, an order within 5% of a certified
lower bound. Each cell (``--sizes``, seeds ``0..--seeds-1``) is searched twice in this
process, one after the other, both limited to ``--cap`` CPU seconds (``time.process_time``):

* **archcalc**: ``exact_order`` as the CLI runs it (vectorized search, chain moves,
  min-cut, pair, order and node bounds).
* **SERENITY** (Ahn et al., MLSys 2020), approximated here: its dynamic programme over
  sets of scheduled nodes (one entry per set, smallest peak kept), its divide-and-conquer
  (archcalc's cut points, the same segments) and its adaptive soft budgeting (each
  segment's DP drops states whose peak exceeds a soft budget tau; tau starts at the
  midpoint of the largest local need and the best heuristic's peak; a solution lowers the
  upper end to its peak, "no solution" raises the lower end above tau, a run that exceeds
  its share of states (``segment_states``) lowers the soft budgets tried from then on; the
  segment is proved when the ends meet). Its DP is
  ``archcalc.analysis.schedule._dp`` without archcalc's lower bound.

A cell "as a spec" is the same graph written in archcalc's YAML (:func:`randwire_spec`):
one 1x1 conv per node, a multi-input ``add`` before every node with several inputs, an
``add`` of the sinks as the output; it is compiled and searched through
``archcalc.analysis.memory`` (fp32, input held), so it has more nodes than the bare graph.

    python benchmarks/bench_memory.py [--cap 60] [--seeds 2] [--first-seed 0] [--sizes 50,66,80,100] [--spec]

(seeds are ``--first-seed`` and the ``--seeds - 1`` after it, of networkx's
``watts_strogatz_graph``, e.g. ``--first-seed 2 --seeds 2`` for seeds 2 and 3; the last line counts the
cells proved, those within 5% of their certified bound, and the rest).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import archcalc
from archcalc.analysis.memory import MemoryConfig, analyze_memory, memory_graph
from archcalc.analysis.schedule import (
    HEURISTICS, _dp, _segments, dag_problem, exact_order, heuristic_order, peak_of, randwire_dag,
)

ROOT = Path(__file__).resolve().parents[1]


def cell(nodes: int, seed: int):
    graph = randwire_dag(nodes, 4, 0.75, seed=seed)
    return dag_problem(graph, {v: 1 for v in graph}, ["in", *range(nodes), "out"], outputs=["out"])


def randwire_spec(nodes: int, seed: int, channels: int = 8, resolution: int = 8) -> str:
    """The cell as an archcalc spec (YAML text)."""
    graph = randwire_dag(nodes, 4, 0.75, seed=seed)
    name = {"in": "input"} | {v: f"n{v}" for v in range(nodes)}
    lines = [f"name: randwire_ws{nodes}_s{seed}", "source: benchmark", f"input: {{channels: {channels}, "
             f"resolution: {resolution}}}", "layers:"]
    for v in range(nodes):
        inputs = [name[p] for p in sorted(graph.predecessors(v), key=str)]
        source = inputs[0]
        if len(inputs) > 1:
            lines.append(f"  - {{name: a{v}, op: add, from: [{', '.join(inputs)}]}}")
            source = f"a{v}"
        lines.append(f"  - {{name: n{v}, op: conv2d, out: {channels}, kernel: 1, from: {source}}}")
    sinks = [name[p] for p in graph.predecessors("out")]
    lines.append(f"  - {{name: out, op: add, from: [{', '.join(sinks)}]}}" if len(sinks) > 1
                 else f"  - {{name: out, op: identity, from: {sinks[0]}}}")
    return "\n".join(lines) + "\n"


def spec_problem(nodes: int, seed: int, directory: Path):
    path = directory / f"ws{nodes}_{seed}.yaml"
    path.write_text(randwire_spec(nodes, seed))
    return memory_graph(archcalc.load(path), MemoryConfig()).problem


def serenity(problem, cap: float, segment_states: int = 400_000):
    """(peak, proved) of the SERENITY-style search (see the module docstring)."""
    deadline = time.process_time() + cap
    order, start, proved = [], 0, True
    for nodes in _segments(problem, True):
        candidates = [nodes] + [heuristic_order(problem, h, nodes, start) for h in HEURISTICS]
        best = min(candidates, key=lambda o: peak_of(problem, o, start))
        upper = peak_of(problem, best, start)  # the hard budget: a known order's peak
        low = max(problem.local_need(v) for v in nodes)  # no order goes below
        ceiling, found_best = upper, best  # soft budgets tried stay below ``ceiling``
        while low < min(upper, ceiling) and time.process_time() < deadline:
            tau = (low + min(upper, ceiling) - 1) // 2  # the soft budget, in [low, top - 1]
            found, _, finished = _dp(problem, nodes, start, tau + 1, False, deadline, segment_states)
            if found is not None:
                found_best, upper = found, peak_of(problem, found, start)
            elif finished:
                low = tau + 1  # no solution within tau
            else:
                ceiling = tau  # too many states: only tighter soft budgets from now on
        proved = proved and low >= upper
        order += found_best
        for v in nodes:
            start |= 1 << v
    return peak_of(problem, order), proved


def timed(fn):
    """(value, CPU seconds of this process)."""
    start = time.process_time()
    value = fn()
    return value, time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cap", type=float, default=60.0, help="CPU seconds per search")
    parser.add_argument("--seeds", type=int, default=2, help="seeds FIRST..FIRST+SEEDS-1")
    parser.add_argument("--first-seed", type=int, default=0, help="the first seed (default 0)")
    parser.add_argument("--sizes", default="50,66,80,100")
    parser.add_argument("--spec", action="store_true", help="also each cell written as a spec")
    args = parser.parse_args()
    print("CPU seconds (time.process_time), both searches capped at --cap; gap = (peak - lower bound) / bound")
    print(f"{'cell':>22} {'nodes':>5} {'cpu s':>7} {'proved':>6} {'peak':>6} {'bound':>6} {'gap':>6} "
          f"{'SERENITY s':>10} {'proved':>6} {'peak':>6} {'ratio':>7}  target")
    tally = {"proved": 0, "within 5%": 0, "NOT met": 0}
    with tempfile.TemporaryDirectory() as tmp:
        kinds = [("graph", lambda n, s: cell(n, s))]
        if args.spec:
            kinds.append(("spec", lambda n, s: spec_problem(n, s, Path(tmp))))
        for nodes in map(int, args.sizes.split(",")):
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                for kind, make in kinds:
                    problem = make(nodes, seed)
                    ours, c_ours = timed(lambda: exact_order(problem, time_limit=args.cap))
                    (peer_peak, peer_proved), c_peer = timed(lambda: serenity(problem, args.cap))
                    gap = ours.gap / ours.lower_bound if ours.lower_bound else 0.0
                    met = (ours.optimal or gap <= 0.05) and c_ours <= args.cap * 1.05
                    tally["NOT met" if not met else "proved" if ours.optimal else "within 5%"] += 1
                    ratio = f"{c_peer / c_ours:.1f}x" + ("+" if not peer_proved else "")
                    print(f"WS({nodes},4,.75)#{seed} {kind:>5} {len(problem):5d} {c_ours:7.2f} {str(ours.optimal):>6} "
                          f"{ours.peak:6g} {ours.lower_bound:6g} {gap:6.1%} {c_peer:10.2f} {str(peer_proved):>6} "
                          f"{peer_peak:6g} {ratio:>7}  {'met' if met else 'NOT met'}", flush=True)
    print("cells: " + ", ".join(f"{count} {what}" for what, count in tally.items()))
    model = archcalc.load(ROOT / "specs" / "mnv2.yaml")
    result, seconds = timed(lambda: analyze_memory(model, "optimal", MemoryConfig()))
    print(f"MobileNetV2 1.0/224 optimal order: {seconds * 1000:.1f} ms CPU (with timeline and arena), "
          f"{result.search.segments} segments, proved {result.search.optimal}, peak {result.peak_bytes:,} B")


if __name__ == "__main__":
    main()
