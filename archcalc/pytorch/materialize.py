"""Build a real PyTorch network from the IR, op by op, through the op registry.

Each IR node becomes the module its op's ``build_torch`` returns, registered under the
node's own name (``stage3.block1.expand.conv`` is ``net.stage3.block1.expand.conv``), so
parameters, fvcore counts, hook shapes and memory all compare with the analysis by name.
The forward pass runs the nodes in a given schedule and drops every tensor right after
its last reader, which is what the memory analysis assumes.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from archcalc.model import Model
from archcalc.ops import get_op

INPUT = "input"


def check_schedule(model: Model, schedule: Sequence[str]) -> list[str]:
    """The schedule without the graph input; it must hold every op once, producers first."""
    steps = [name for name in schedule if name != INPUT]
    expected = {name for name in model.order if name != INPUT}
    if len(steps) != len(expected) or set(steps) != expected:
        raise ValueError("a schedule must list every op of the model exactly once")
    done = {INPUT}
    for name in steps:
        missing = [p for p in model.node(name)["inputs"] if p not in done]
        if missing:
            raise ValueError(f"schedule runs {name} before its input {missing[0]}")
        done.add(name)
    return steps


def last_readers(model: Model, steps: Sequence[str]) -> dict[str, int]:
    """For each tensor, the index of the step after which nobody reads it again."""
    last: dict[str, int] = {}
    for index, name in enumerate(steps):
        for producer in model.node(name)["inputs"]:
            last[producer] = index
    return last


def buffer_plan(model: Model, *, fold_bn: bool, inplace: bool) -> dict[str, str]:
    """Node -> how it reuses its input's buffer ("folded_bn", "inplace", "view"). Decided in one
    place, the memory planner (:func:`archcalc.analysis.memory.memory_graph`), so that the
    forward allocates exactly the buffers the analysis counts: a BN folds only into a conv it
    alone reads, and an element-wise op overwrites its input only when nothing else reads
    that buffer and it is neither the caller's input nor a network output."""
    from archcalc.analysis.memory import MemoryConfig, memory_graph

    graph = memory_graph(model, MemoryConfig(fold_bn=fold_bn, inplace_activations=inplace))
    return {graph.problem.names[v]: kind for v, kind in enumerate(graph.alias) if kind}


def foldable_bns(model: Model) -> dict[str, str]:
    """batch_norm node -> the conv it folds into."""
    plan = buffer_plan(model, fold_bn=True, inplace=False)
    return {name: model.node(name)["inputs"][0] for name, kind in plan.items() if kind == "folded_bn"}


def inplace_activations(model: Model, folded: set[str]) -> set[str]:
    """Element-wise nodes that may overwrite their input buffer (given the folded BNs);
    independent of the schedule, so any topological order is safe."""
    plan = buffer_plan(model, fold_bn=bool(folded), inplace=True)
    return {name for name, kind in plan.items() if kind == "inplace"}


class Network(nn.Module):
    """The materialized graph. ``forward(x)`` takes a batched input (N, C, H, W)."""

    def __init__(self, model: Model, schedule: Sequence[str] | None = None, *, fold_bn: bool = False,
                 inplace: bool = True, seed: int = 0):
        super().__init__()
        self.steps = check_schedule(model, schedule if schedule is not None else model.order)
        self.inputs = {name: list(model.node(name)["inputs"]) for name in self.steps}
        self.outputs = list(model.outputs)
        last = last_readers(model, self.steps)
        # tensors to drop after each step (outputs are never dropped)
        self.drops: list[list[str]] = [[] for _ in self.steps]
        for index, name in enumerate(self.steps):
            last.setdefault(name, index)  # a tensor nobody reads dies right after its step
        for tensor, index in last.items():
            if tensor not in self.outputs and tensor != INPUT:
                self.drops[index].append(tensor)
        for name in self.steps:
            data = model.node(name)
            attach(self, name, get_op(data["op"]).build_torch(data["attrs"], data["in_shapes"]))
        self.folded: dict[str, str] = {}
        self.fold_bn = fold_bn
        self.model_ref = model
        randomize_bn(self, model, seed)
        self.train(False)  # inference mode (what nn.Module.eval() does)
        if fold_bn:
            self.fold()
        self.inplace_nodes = inplace_activations(model, set(self.folded)) if inplace else set()
        for name in self.inplace_nodes:
            module = self.get_submodule(name)
            if hasattr(module, "inplace"):
                module.inplace = True
        # step hook: the memory tracker sets this to attribute allocations to steps
        self.on_step = None

    def fold(self) -> None:
        """Fold each foldable BN into its conv: ``w' = w * g / s``, ``b' = beta + (b - mean) * g / s``
        with ``s = sqrt(var + eps)``; the BN module becomes an identity (an alias)."""
        for bn_name, conv_name in foldable_bns(self.model_ref).items():
            bn, conv = self.get_submodule(bn_name), self.get_submodule(conv_name)
            attach(self, conv_name, fold_conv_bn(conv, bn), replace=True)
            attach(self, bn_name, nn.Identity(), replace=True)
            self.folded[bn_name] = conv_name

    def forward(self, x: torch.Tensor):
        env = {INPUT: x}
        del x  # the caller holds the input; this frame must not keep it alive longer
        for index, name in enumerate(self.steps):
            if self.on_step is not None:
                self.on_step(index, name)
            module = self.get_submodule(name)
            env[name] = module(*[env[p] for p in self.inputs[name]])
            for tensor in self.drops[index]:
                del env[tensor]
        if self.on_step is not None:
            self.on_step(len(self.steps), None)
        result = tuple(env[name] for name in self.outputs)
        env.clear()
        return result[0] if len(result) == 1 else result


def attach(root: nn.Module, name: str, module: nn.Module, replace: bool = False) -> None:
    """Register ``module`` at dotted ``name``, creating plain containers on the way."""
    parent = root
    parts = name.split(".")
    for part in parts[:-1]:
        child = parent._modules.get(part)
        if child is None:
            child = nn.Module()
            parent.add_module(part, child)
        elif type(child) is not nn.Module:
            raise ValueError(f"cannot materialize {name}: {part} is both an op and a scope")
        parent = child
    if parts[-1] in parent._modules and not replace:
        raise ValueError(f"cannot materialize {name}: the name is taken (an op and a scope share it)")
    parent.add_module(parts[-1], module)


@torch.no_grad()
def randomize_bn(net: nn.Module, model: Model, seed: int = 0) -> None:
    """Non-trivial BN statistics, so folding is actually exercised (fresh BN is the identity)."""
    generator = torch.Generator().manual_seed(seed)
    for name in model.order:
        if model.node(name)["op"] != "batch_norm":
            continue
        bn = net.get_submodule(name)
        shape = bn.running_mean.shape
        bn.running_mean.copy_(torch.randn(shape, generator=generator) * 0.1)
        bn.running_var.copy_(torch.rand(shape, generator=generator) + 0.5)
        bn.weight.copy_(torch.rand(shape, generator=generator) + 0.5)
        bn.bias.copy_(torch.randn(shape, generator=generator) * 0.1)


@torch.no_grad()
def fold_conv_bn(conv: nn.Conv2d, bn: nn.modules.batchnorm._BatchNorm) -> nn.Conv2d:
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                       padding=conv.padding, dilation=conv.dilation, groups=conv.groups, bias=True)
    folded.weight.copy_(conv.weight * scale.reshape(-1, 1, 1, 1))
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    folded.bias.copy_(bn.bias + (bias - bn.running_mean) * scale)
    return folded.to(conv.weight.device)


def materialize(model: Model, schedule: Sequence[str] | None = None, *, fold_bn: bool = False,
                inplace: bool = True, device: str | torch.device = "cpu", seed: int = 0) -> Network:
    """A ``torch.nn.Module`` for ``model``, in eval mode, on ``device``.

    ``schedule`` (default: program order) is the order the forward pass runs the ops in;
    ``fold_bn`` folds each batch norm into the conv before it, as deployed; ``inplace`` lets
    activations overwrite inputs nobody reads later. Weights are random (seeded).
    A network whose parameters and activations would go over ``limits.TORCH_BYTES`` is a
    one-line error before anything is allocated.
    """
    from archcalc.limits import check_torch_memory

    check_torch_memory(model)
    torch.manual_seed(seed)
    net = Network(model, schedule, fold_bn=fold_bn, inplace=inplace, seed=seed)
    return net.to(device).train(False)


def example_input(model: Model, batch: int = 1, device: str | torch.device = "cpu", seed: int = 0) -> torch.Tensor:
    shape = model.node(INPUT)["shape"]
    generator = torch.Generator().manual_seed(seed)
    return torch.randn((batch, *shape), generator=generator).to(device)
