"""Cold-start benchmark: the installed `archcalc cost specs/mnv2_1.4.yaml` vs `python -c pass`.

Every command runs as a fresh process, as a user runs it; the commands are interleaved
(one run of each per round, in a shuffled order) so that a busy machine slows them alike.
For each command the minimum and the median over the rounds are printed, both in CPU time
(user + system of the child, from ``os.wait4``) and in wall time, and the ratio of each to
``python -c pass`` of the same interpreter. Target (issue 12, target 2): the cold
``archcalc cost`` takes at most 3x ``python -c pass``; the check is made on CPU time
(the machine is shared, and CPU time is what a busy neighbour disturbs least), min and median.
`archcalc --help` is measured beside it (typer reads that line). With ``--floors`` the run adds
what the imports alone cost, without any work: the compile path (PyYAML and archcalc.compiler)
with no command-line framework, with click, and with typer, so a figure can be read against
what the design allows. (``archcalc cost`` with a line archcalc.cli.fast can read imports
neither typer nor click: see that module.)

The children run without PYTHONDONTWRITEBYTECODE (set in some shells and CI images): a user's
install has its .pyc files, and without them every run would recompile archcalc from source.

    python benchmarks/bench_cli_start.py [--rounds 40] [--floors]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
from pathlib import Path

from _child import archcalc_script, child_usage

ROOT = Path(__file__).resolve().parents[1]
TARGET = 3.0


def run_once(command: list[str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one fresh process running ``command``."""
    cpu, wall, _ = child_usage(command)
    return cpu, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="interleaved runs of each command")
    parser.add_argument("--floors", action="store_true", help="also time the imports alone (see above)")
    args = parser.parse_args()
    script = archcalc_script()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "archcalc cost specs/mnv2_1.4.yaml": [script, "cost", "specs/mnv2_1.4.yaml"],
        "archcalc --help": [script, "--help"],
    }
    if args.floors:
        for framework in ("", "click, ", "typer, "):
            imports = f"import {framework}archcalc.compiler"
            commands[f"floor: {imports}"] = [sys.executable, "-c", imports]
    for command in commands.values():  # warm the page cache and the .pyc files
        run_once(command)
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    wall: dict[str, list[float]] = {name: [] for name in commands}
    order = list(commands)
    for _ in range(args.rounds):
        random.shuffle(order)
        for name in order:
            cpu_s, wall_s = run_once(commands[name])
            cpu[name].append(cpu_s)
            wall[name].append(wall_s)

    peer = "python -c pass"
    print(f"{args.rounds} interleaved rounds; ms (ratio to `{peer}`)")
    print(f"{'command':44s} {'CPU min':>15s} {'CPU median':>15s} {'wall min':>15s} {'wall median':>15s}")
    for name in commands:
        cells = []
        for times in (cpu, wall):
            for statistic in (min, statistics.median):
                value, base = statistic(times[name]), statistic(times[peer])
                cells.append(f"{value * 1000:6.1f} ({value / base:4.2f}x)")
        print(f"{name:44s} {cells[0]:>15s} {cells[1]:>15s} {cells[2]:>15s} {cells[3]:>15s}")
    cost = "archcalc cost specs/mnv2_1.4.yaml"
    ratios = {label: statistic(cpu[cost]) / statistic(cpu[peer])
              for label, statistic in (("min", min), ("median", statistics.median))}
    met = all(ratio <= TARGET for ratio in ratios.values())
    print(f"target: CPU time of `{cost}` <= {TARGET:g}x `{peer}` (min and median): "
          f"min {ratios['min']:.2f}x, median {ratios['median']:.2f}x -> {'met' if met else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
