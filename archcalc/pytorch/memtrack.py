"""Measure live activation memory of a forward pass at the storage level.

:class:`StorageTracker` is a ``TorchDispatchMode``: it sees the outputs of every aten op the
forward pass calls. An output whose storage it has not seen before is a new allocation
(``storage.nbytes()`` bytes); a ``weakref.finalize`` on that storage reports the free the
moment its last tensor dies. Views, in-place ops and aliases (flatten, a folded batch norm,
an in-place activation) reuse a known storage and allocate nothing. Storages that existed
before the pass (weights, buffers, the caller's input) are never counted as allocations.

What it does not see: memory a kernel uses internally and releases before returning
(convolution workspaces, im2col buffers, temporaries inside a composite op), allocator
rounding and caching (CUDA's caching allocator rounds blocks up) and the weights
themselves. Those are outside the dataflow model that the analysis computes, so the
comparison is exact for what both describe: the bytes of the tensors of the graph.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from archcalc.model import Model
from archcalc.ops import get_op, numel
from archcalc.pytorch.checks import row
from archcalc.pytorch.materialize import INPUT, Network, foldable_bns, inplace_activations, \
    last_readers

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}


def _key(storage: torch.UntypedStorage) -> int:
    return storage._cdata  # the StorageImpl's address: identical for every view of it


class StorageTracker(TorchDispatchMode):
    """Running total of live bytes in storages allocated under this mode, with per-step
    attribution (``begin_step``) and the peak."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        """Leave ``__torch_dispatch__`` unwrapped. By default torch wraps a mode's handler in
        ``torch._disable_dynamo``, whose first call imports ``torch._dynamo`` (about 1.3 s of
        CPU, 800 modules) only to keep ``torch.compile`` from tracing into the handler; this
        tracker never runs under ``torch.compile``. (The hook and this use of it are shown in
        ``TorchDispatchMode._should_skip_dynamo``'s docstring.)"""
        return False

    def __init__(self, preexisting: Iterable[torch.Tensor] = ()):
        super().__init__()
        self.ignored = {_key(t.untyped_storage()) for t in preexisting}
        self.sizes: dict[int, int] = {}
        self.live = 0
        self.peak = 0
        self.peak_at: str | None = None
        self.step: str | None = None
        self.step_peak = 0

    def hold(self, tensor: torch.Tensor) -> None:
        """Count a tensor the caller holds for the whole pass (the input)."""
        key = _key(tensor.untyped_storage())
        self.ignored.add(key)
        self.live += tensor.untyped_storage().nbytes()
        self._bump()

    def begin_step(self, name: str | None) -> None:
        self.step, self.step_peak = name, self.live

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for tensor in tree_flatten(out)[0]:
            if isinstance(tensor, torch.Tensor):
                self._seen(tensor.untyped_storage())
        return out

    def _seen(self, storage: torch.UntypedStorage) -> None:
        key = _key(storage)
        if key in self.sizes or key in self.ignored or storage.nbytes() == 0:
            return
        self.sizes[key] = storage.nbytes()
        self.live += storage.nbytes()
        self._bump()
        weakref.finalize(storage, self._free, key)

    def _free(self, key: int) -> None:
        self.live -= self.sizes.pop(key)

    def _bump(self) -> None:
        self.step_peak = max(self.step_peak, self.live)
        if self.live > self.peak:
            self.peak, self.peak_at = self.live, self.step


@dataclass
class MemoryTrace:
    """Peak and per-step timeline: for each step, the peak while it ran and the live bytes
    after it (its dead inputs dropped)."""

    peak_bytes: int
    peak_at: str | None
    steps: list[dict] = field(default_factory=list)


def measure_memory(net: Network, x: torch.Tensor) -> MemoryTrace:
    """Run ``net`` on ``x`` under the tracker (inference mode); ``x`` counts as held."""
    preexisting = [*net.parameters(), *net.buffers()]
    tracker = StorageTracker(preexisting)
    steps: list[dict] = []
    names = net.steps

    def on_step(index: int, name: str | None) -> None:
        if index > 0:  # close the previous step: its peak, and what is live after its drops
            steps.append({"step": index - 1, "name": names[index - 1], "peak": tracker.step_peak,
                          "live_after": tracker.live})
        tracker.begin_step(name)

    net.on_step = on_step
    try:
        with torch.inference_mode(), tracker:
            tracker.begin_step(INPUT)  # a peak reached by holding the input alone is the input's, as in the analysis
            tracker.hold(x)
            tracker.begin_step(None)
            out = net(x)
            del out
    finally:
        net.on_step = None
    return MemoryTrace(tracker.peak, tracker.peak_at, steps)


# --------------------------------------------------------------------------- reference
def reference_memory(model: Model, schedule: Sequence[str] | None = None, *, fold_bn: bool = True,
                     inplace: bool = True, batch: int = 1, dtype: str = "float32") -> MemoryTrace:
    """An independent simulation of the same conventions, from the IR alone: each op
    allocates its output unless it aliases its input (folded BN, in-place activation,
    flatten, dropout); a buffer dies after the last reader of any of its aliases; the
    input is held by the caller; outputs stay live. A buffer's bytes are those of the
    tensor that allocated it (a slice is a view of its whole storage)."""
    steps = [n for n in (schedule or model.order) if n != INPUT]
    folded = set(foldable_bns(model)) if fold_bn else set()
    in_place = inplace_activations(model, folded) if inplace else set()
    root: dict[str, str] = {INPUT: INPUT}
    for name in steps:
        data = model.node(name)
        aliases = name in folded or name in in_place or get_op(data["op"]).aliases_input
        root[name] = root[data["inputs"][0]] if aliases else name
    last = last_readers(model, steps)
    position = {name: i for i, name in enumerate(steps)}
    death: dict[str, float] = {}
    for name, buffer in root.items():
        if buffer == INPUT or name in model.outputs:
            death[buffer] = float("inf")
        else:
            end = last.get(name, position.get(name, -1))
            death[buffer] = max(death.get(buffer, -1), end)
    size = lambda name: numel(model.node(name)["shape"]) * batch * DTYPE_BYTES[dtype]  # noqa: E731
    live = {INPUT: size(INPUT)}
    peak, peak_at, timeline = sum(live.values()), INPUT, []
    for index, name in enumerate(steps):
        if root[name] == name:
            live[name] = size(name)  # an alias adds nothing: its storage is its root's
        during = sum(live.values())
        if during > peak:
            peak, peak_at = during, name
        for buffer in [b for b in live if death[b] == index]:
            del live[buffer]
        timeline.append({"step": index, "name": name, "peak": during, "live_after": sum(live.values())})
    return MemoryTrace(peak, peak_at, timeline)


# --------------------------------------------------------------------------- checks
def analytic_memory(model: Model, steps: Sequence[str], batch: int = 1) -> tuple[MemoryTrace, str]:
    """The analysis to check: ``archcalc.analysis.memory`` when present, else the reference."""
    try:
        from archcalc.analysis import memory
    except ImportError:
        return reference_memory(model, steps, batch=batch), "reference simulation (archcalc.analysis.memory absent)"
    config = memory.MemoryConfig(batch=batch)
    result = memory.simulate(model, [INPUT, *steps], config)
    return trace_from_result(result), "archcalc.analysis.memory"


def trace_from_result(result) -> MemoryTrace:
    """Adapt ``archcalc.analysis.memory.MemoryResult`` (its ``Step.bytes`` is what is live
    while the op runs) to a :class:`MemoryTrace`, the graph input's own step left out."""
    steps = [{"step": i, "name": s.node, "peak": s.bytes, "live_after": s.live_after}
             for i, s in enumerate(s for s in result.steps if s.node != INPUT)]
    return MemoryTrace(result.peak_bytes, result.peak_at, steps)


def memory_rows(model: Model, steps: Sequence[str], measured: MemoryTrace) -> tuple[list[dict], str]:
    """Peak bytes (float32, BN folded, in-place activations, input held) and every step's
    peak and live-after bytes: the analysis vs the storage tracker's ``measured``."""
    analytic, source = analytic_memory(model, steps)
    rows = [row("memory peak", "total", "", analytic.peak_bytes, measured.peak_bytes),
            row("memory peak at", "total", "", analytic.peak_at, measured.peak_at)]
    by_name = {s["name"]: s for s in measured.steps}
    for step in analytic.steps:
        got = by_name.get(step["name"], {})
        op = model.node(step["name"])["op"] if step["name"] in model.graph else ""
        rows.append(row("memory step peak", step["name"], op, step["peak"], got.get("peak")))
        rows.append(row("memory live after", step["name"], op, step["live_after"], got.get("live_after")))
    return rows, source
