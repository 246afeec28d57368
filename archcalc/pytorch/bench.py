"""Measured forward latency of a materialized model (MAdds are not time)."""
from __future__ import annotations

import statistics
import time

import torch

from archcalc.model import Model
from archcalc.pytorch.materialize import example_input, materialize
from archcalc.pytorch.verify import resolve_device


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def bench(model: Model, *, device: str = "cpu", threads: int | None = None, repeats: int = 30,
          warmup: int = 5, fold_bn: bool = True, max_spread: float = 0.25) -> dict:
    """Median and spread of batch-1 inference latency, with MAdds and MAdds/s beside them.

    Warm-up runs come first (allocator, kernel selection, caches); each timed run is one
    forward pass in inference mode, synchronized on CUDA. ``spread`` is IQR / median;
    ``flagged`` says it exceeds ``max_spread`` (a noisy measurement: a busy machine, too
    few runs), so the median should not be read as the network's latency.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError("repeats must be >= 1 and warmup >= 0")
    if not max_spread > 0:
        raise ValueError(f"max_spread must be > 0, got {max_spread!r}")
    device = resolve_device(device)
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        net = materialize(model, fold_bn=fold_bn, device=device)
        x = example_input(model, device=device)
        times = []
        with torch.inference_mode():
            for _ in range(warmup):
                net(x)
            _sync(device)
            for _ in range(repeats):
                start = time.perf_counter()
                net(x)
                _sync(device)
                times.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(previous)
    madds = model.totals()["madds"]
    median = statistics.median(times)
    return {
        "model": model.name, "width": model.width, "resolution": model.resolution, "device": device,
        "threads": threads or previous, "batch": 1, "repeats": repeats, "warmup": warmup,
        "median_ms": median * 1e3, "min_ms": min(times) * 1e3, "max_ms": max(times) * 1e3,
        "iqr_ms": _iqr(times) * 1e3, "spread": _iqr(times) / median, "max_spread": max_spread,
        "flagged": _iqr(times) / median > max_spread, "madds": madds, "madds_per_s": madds / median,
    }


def _iqr(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    q = statistics.quantiles(values, n=4)
    return q[2] - q[0]
