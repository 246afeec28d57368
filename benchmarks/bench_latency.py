"""MAdds are not time: measured batch-1 latency of the 22 published MobileNetV2 variants.

For each (width, resolution) checkpoint of the slim table (archcalc/reference/
mnv2_checkpoints.csv) this materializes the network (BN folded), times ``--repeats``
forward passes after a warm-up with :func:`archcalc.pytorch.bench.bench`, and prints MAdds,
median latency, spread and MAdds/s, then how well MAdds rank the measured latencies
(Spearman's rank correlation) and the spread of MAdds/s across variants.

    python benchmarks/bench_latency.py [--device cpu|cuda|auto] [--repeats 50] [--csv FILE]
"""
from __future__ import annotations

import argparse
import csv
import statistics
from importlib import resources


def published_pairs() -> list[tuple[float, int]]:
    text = resources.files("archcalc").joinpath("reference/mnv2_checkpoints.csv").read_text()
    return [(float(r["width"]), int(r["resolution"])) for r in csv.DictReader(text.splitlines())]


def ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    result = [0.0] * len(values)
    for rank, index in enumerate(order):
        result[index] = float(rank)
    return result


def spearman(a: list[float], b: list[float]) -> float:
    ra, rb = ranks(a), ranks(b)
    mean_a, mean_b = statistics.fmean(ra), statistics.fmean(rb)
    cov = sum((x - mean_a) * (y - mean_b) for x, y in zip(ra, rb))
    return cov / (sum((x - mean_a) ** 2 for x in ra) * sum((y - mean_b) ** 2 for y in rb)) ** 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--csv", default=None, help="also write the rows to this CSV file")
    args = parser.parse_args()

    from pathlib import Path

    import archcalc
    from archcalc.pytorch.bench import bench

    spec = Path(__file__).resolve().parents[1] / "specs" / "mnv2.yaml"
    rows = []
    print(f"{'width':>5} {'res':>4} {'MAdds':>12} {'median ms':>10} {'IQR ms':>8} {'GMAdds/s':>9}")
    for width, resolution in published_pairs():
        stats = bench(archcalc.load(spec, width=width, resolution=resolution, classes=1001), device=args.device,
                      repeats=args.repeats, warmup=10)
        rows.append(stats)
        print(f"{width:>5g} {resolution:>4} {stats['madds']:>12,} {stats['median_ms']:>10.3f} {stats['iqr_ms']:>8.3f} "
              f"{stats['madds_per_s'] / 1e9:>9.2f}", flush=True)
    rho = spearman([r["madds"] for r in rows], [r["median_ms"] for r in rows])
    rates = [r["madds_per_s"] / 1e9 for r in rows]
    print(f"device {rows[0]['device']}: Spearman rank correlation of MAdds with latency {rho:.3f}; "
          f"GMAdds/s from {min(rates):.2f} to {max(rates):.2f} (x{max(rates) / min(rates):.1f})")
    if args.csv:
        with open(args.csv, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
