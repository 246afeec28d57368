"""A million-point sweep to CSV, whole process (issue 12, target 3), against pandas.

    python benchmarks/bench_sweep_csv.py [--repeats 3]

archcalc: ``archcalc sweep specs/mnv2.yaml --widths 0.3:1.3:0.001 --resolutions 96:2094:2
--format csv`` (1,001 x 1,000 = 1,001,000 points) written to a file. Peer: a fresh
``python`` that imports pandas, loads a DataFrame holding exactly the sweep's table (the
same 9 columns and 1,001,000 rows, with the same dtypes: read back from archcalc's CSV once
by a child of its own and pickled) and writes it with ``to_csv``. The two CSVs are checked to be
byte for byte equal (below the comment header), so both processes write the same text; the
peer only has to load its table where archcalc computes it. Both run as child processes,
interleaved; each child's CPU time (user + system) and peak resident memory come from
``os.wait4`` (CPU time, because the machine is shared). Targets: archcalc <= 1.5x the
peer's time, <= 600 MiB peak.
"""
from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
from pathlib import Path

from _child import archcalc_script, child_usage

ROOT = Path(__file__).resolve().parent.parent
WIDTHS, RESOLUTIONS = "0.3:1.3:0.001", "96:2094:2"
POINTS = 1001 * 1000
PEER = """
import sys
import pandas as pd
pd.read_pickle(sys.argv[1]).to_csv(sys.argv[2], index=False, lineterminator="\\n")
"""
# Run in a child of its own: this parent stays small, since a forked child's peak RSS
# counts the parent's pages until it execs.
TABLE = """
import sys
import pandas as pd
frame = pd.read_csv(sys.argv[1], comment="#", keep_default_na=False, na_values=[""], low_memory=False)
assert len(frame) == int(sys.argv[3]), len(frame)
frame.to_pickle(sys.argv[2])
"""


def csv_body(path: Path):
    """The lines of a CSV below its comment header."""
    with open(path) as lines:
        yield from (line for line in lines if not line.startswith("#"))


def run_child(command: list[str], out: Path) -> tuple[float, float]:
    """(CPU seconds, peak RSS MiB) of one child process writing ``out``."""
    with open(out, "w") as stdout:
        cpu, _, peak = child_usage(command, stdout=stdout)
    return cpu, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    ours = [archcalc_script(), "sweep", "specs/mnv2.yaml", "--widths", WIDTHS, "--resolutions", RESOLUTIONS, "--format", "csv"]
    times: dict[str, list[tuple[float, float]]] = {"archcalc": [], "pandas": []}
    with tempfile.TemporaryDirectory() as tmp:
        ours_csv, peer_csv, table = Path(tmp) / "sweep.csv", Path(tmp) / "peer.csv", Path(tmp) / "table.pkl"
        run_child(ours, ours_csv)  # warm the page cache, and the table the peer writes
        run_child([sys.executable, "-c", TABLE, str(ours_csv), str(table), str(POINTS)], Path(os.devnull))
        peer = [sys.executable, "-c", PEER, str(table), str(peer_csv)]
        for _ in range(args.repeats):
            times["archcalc"].append(run_child(ours, ours_csv))
            times["pandas"].append(run_child(peer, Path(os.devnull)))
        if any(x != y for x, y in itertools.zip_longest(csv_body(ours_csv), csv_body(peer_csv))):
            sys.exit("the peer's CSV differs from archcalc's: the two sides did not write the same text")
        first = next(itertools.islice(csv_body(ours_csv), 1, None))
        print(f"archcalc CSV: {POINTS:,} rows, equal byte for byte to the peer's; first: {first.strip()}")
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
