"""Check every analytic number of a model against the materialized PyTorch network.

Each check is a row: ``check`` (params, madds, shape, memory, ...), ``name`` (the IR node
or ``total``), ``analytic``, ``measured`` and ``ok``. Expected values always come from
PyTorch or fvcore; a rule that drifts from the builder shows up as a failing row naming
its op.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Sequence

import pandas as pd
import torch
from torch import nn

from archcalc.analysis.convention import Convention
from archcalc.analysis.costs import params_total
from archcalc.model import Model
from archcalc.pytorch.checks import row
from archcalc.pytorch.materialize import INPUT, Network, example_input, materialize



def madd_handles() -> dict:
    """fvcore's own handles for conv / linear / matmul (one fused multiply-add counts 1);
    the MAdds check installs only these, so batch norm, pooling, upsampling are not counted."""
    from fvcore.nn import jit_handles as h

    return {"aten::_convolution": h.conv_flop_jit, "aten::linear": h.linear_flop_jit,
            "aten::addmm": h.addmm_flop_jit, "aten::matmul": h.matmul_flop_jit, "aten::mm": h.matmul_flop_jit,
            "aten::bmm": h.bmm_flop_jit, "aten::einsum": h.einsum_flop_jit}


@dataclass
class VerifyResult:
    """All check rows, plus fvcore's default count split by op (information, not a check)."""

    rows: list[dict]
    attribution: list[dict] = field(default_factory=list)
    memory_source: str | None = None  # which analysis the memory rows were checked against

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["check", "name", "op", "analytic", "measured", "ok"])

    def attribution_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.attribution)

    @property
    def ok(self) -> bool:
        return all(row["ok"] for row in self.rows)

    def failures(self) -> list[dict]:
        return [row for row in self.rows if not row["ok"]]


def op_nodes(model: Model) -> list[str]:
    return [name for name in model.order if name != INPUT]


# --------------------------------------------------------------------------- parameters
# Normalization layers: their affine params are what "params without BN" leaves out.
NORM_MODULES = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm)


def param_rows(model: Model, net: nn.Module) -> list[dict]:
    """Per node: weights + biases + normalization gamma/beta == sum of ``p.numel()`` of its
    module; in total with BN (affine), without normalization layers (BN, layer norm), and
    with BN statistics (running mean and var)."""
    rows, with_bn, without_bn, stats = [], 0, 0, 0
    for name in op_nodes(model):
        data = model.node(name)
        module = net.get_submodule(name)
        measured = sum(p.numel() for p in module.parameters())
        rows.append(row("params", name, data["op"], params_total(data["params"], Convention(bn_params="affine")), measured))
        without_bn += 0 if isinstance(module, NORM_MODULES) else measured
        with_bn += measured
        stats += sum(b.numel() for n, b in module.named_buffers() if n in ("running_mean", "running_var"))
    totals = model.totals(Convention(bn_params="all"))
    affine = model.totals(Convention(bn_params="affine"))
    rows.append(row("params", "total", "", affine["params"], with_bn))
    rows.append(row("params (no BN)", "total", "", affine["params_without_bn"], without_bn))
    rows.append(row("params (BN mean+var)", "total", "", totals["params"], with_bn + stats))
    return rows


# --------------------------------------------------------------------------- MAdds (fvcore)
def fvcore_counts(net: nn.Module, x: torch.Tensor):
    """fvcore's per-module counts from one trace: its default handles, with the conv /
    linear / matmul ones set to :func:`madd_handles` (total, by module, by module and
    operator, and the operator names the :func:`madd_handles` counts were filed under,
    recorded as they ran, so that the MAdds-only counts are that part of the split)."""
    from fvcore.nn import FlopCountAnalysis

    logging.getLogger("fvcore").setLevel(logging.ERROR)  # it warns about every op it skips
    analysis = FlopCountAnalysis(net, (x,))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
    madd_names: set[str] = set()

    def recording(kind, handle):
        def counted(inputs, outputs):
            result = handle(inputs, outputs)
            # fvcore files a plain number under the kind without its namespace
            madd_names.update(result.keys() if isinstance(result, dict) else [kind.split("::", 1)[-1]])
            return result
        return counted

    analysis.set_op_handle(**{kind: recording(kind, handle) for kind, handle in madd_handles().items()})
    total, by_module = analysis.total(), dict(analysis.by_module())
    return total, by_module, dict(analysis.by_module_and_operator()), madd_names


def madds_rows(model: Model, net: nn.Module, x: torch.Tensor) -> tuple[list[dict], list[dict]]:
    """Per node and in total: analytic MAdds == fvcore restricted to conv + linear. Then
    fvcore's default total, its excess over that split by node and fvcore operator. One
    fvcore trace gives both: the restricted counts are its conv/linear/matmul operators."""
    default_total, default_by_module, by_operator, kept = fvcore_counts(net, x)
    by_module = {name: sum(n for op, n in ops.items() if op in kept) for name, ops in by_operator.items()}
    total = by_module.get("", 0)
    rows = [row("madds", name, model.node(name)["op"], model.node(name)["cost"].madds, by_module.get(name, 0))
            for name in op_nodes(model)]
    rows.append(row("madds", "total", "", model.totals()["madds"], total))
    attribution = []
    for name in op_nodes(model):
        extra = default_by_module.get(name, 0) - by_module.get(name, 0)
        if extra:
            data = model.node(name)
            operators = {op: n for op, n in by_operator.get(name, {}).items() if n}
            attribution.append({"name": name, "op": data["op"], "fvcore_extra": extra,
                                "fvcore_operators": ", ".join(sorted(operators)), **{
                                    k: v for k, v in data["cost"].as_dict().items() if v and k != "madds"}})
    attributed = sum(entry["fvcore_extra"] for entry in attribution)
    # every count fvcore adds beyond conv + linear belongs to a named node (nothing left over)
    rows.append(row("fvcore default total", "total", "", total + attributed, default_total))
    return rows, attribution


# --------------------------------------------------------------------------- shapes
def shape_hooks(model: Model, net: Network, seen: dict) -> list:
    """Forward hooks recording every node's output shape (batch dropped) into ``seen``."""
    return [net.get_submodule(name).register_forward_hook(_shape_hook(seen, name)) for name in op_nodes(model)]


def shape_rows(model: Model, seen: dict) -> list[dict]:
    return [row("shape", name, model.node(name)["op"], tuple(model.node(name)["shape"]), seen.get(name))
            for name in op_nodes(model)]


def _shape_hook(seen: dict, name: str):
    def hook(module, inputs, output):
        seen[name] = tuple(output.shape[1:])
    return hook


# --------------------------------------------------------------------------- all
VERIFY_STAGES = ("parameters", "MAdds (fvcore)", "shapes and peak memory")


def verify(model: Model, *, schedule: Sequence[str] | None = None, device: str = "cpu",
           memory: bool = True, seed: int = 0, progress: Callable[[str], None] | None = None) -> VerifyResult:
    """Run every check on ``model``: parameters and MAdds (fvcore) on the network as
    trained (BN kept), shapes and peak memory on one forward pass of the network as
    deployed (BN folded, activations in place), in ``schedule`` (default: program order).

    ``progress(stage)`` is called as each of the ``VERIFY_STAGES`` starts."""
    from archcalc.pytorch.memtrack import measure_memory, memory_rows

    report = progress or (lambda stage: None)
    report(VERIFY_STAGES[0])
    x = example_input(model, device=device, seed=seed)
    plain = materialize(model, schedule, fold_bn=False, device=device, seed=seed)
    rows = param_rows(model, plain)
    report(VERIFY_STAGES[1])
    with torch.no_grad():
        madds, attribution = madds_rows(model, plain, x)
    rows += madds
    del plain
    report(VERIFY_STAGES[2])
    deployed = materialize(model, schedule, fold_bn=True, inplace=True, device=device, seed=seed)
    seen: dict[str, tuple] = {}
    handles = shape_hooks(model, deployed, seen)
    try:
        if memory:
            measured = measure_memory(deployed, x)
        else:
            with torch.inference_mode():
                deployed(x)
    finally:
        for handle in handles:
            handle.remove()
    rows += shape_rows(model, seen)
    source = None
    if memory:
        memory_checks, source = memory_rows(model, deployed.steps, measured)
        rows += memory_checks
    return VerifyResult(rows, attribution, source)


def resolve_device(device: str) -> str:
    """``auto`` is CUDA when present, else the CPU."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ValueError(f"device must be cpu, cuda or auto, got {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device cuda requested but torch.cuda.is_available() is False")
    return device
