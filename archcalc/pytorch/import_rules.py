"""The mapping rules of ``archcalc import``: each PyTorch module, function or tensor method
the importer knows, and the registry op(s) it becomes.

``MODULE_OPS``, ``FUNCTION_OPS`` (``FUNCTION_OPS_BY_NAME`` for torchvision helpers, matched
by name so this module never imports torchvision) and ``METHOD_OPS`` are the one place where
PyTorch meets the registry; ``CHANNELS_LAST_*`` say what may read an (N, H, W, C) view. A
rule returns the ops (:class:`Emit`), or ``ALIAS`` for the identity at inference, or raises
:class:`Unmapped` with the reason: nothing is approximated.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch
from torch import fx, nn
from torch.nn import functional as F

from archcalc.ops.base import pair
from archcalc.ops.conv import resolve_padding


def traced_shape(node: fx.Node) -> tuple | None:
    meta = node.meta.get("tensor_meta")
    if meta is None or not hasattr(meta, "shape"):
        return None
    shape = tuple(meta.shape)
    return shape[1:]  # the IR has no batch dimension


# --------------------------------------------------------------------------- mapping rules
@dataclass
class Emit:
    """One IR op produced by a traced node (``suffix`` names extra ops of one node)."""

    op: str
    attrs: dict
    inputs: list | None = None  # fx nodes (default: the node's tensor arguments)
    suffix: str = ""
    # the op's tensors taken from the model's own parameters: {name in the materialized
    # module: qualified name in the original} (a module's own state is added by the mapper)
    weights: dict = field(default_factory=dict)


class Unmapped(Exception):
    """Raised by a mapping rule: the node has no exact registry equivalent (and why)."""


ALIAS = "alias"  # a rule's answer for a node that is the identity at inference (no IR op)
CHANNELS_LAST, CHANNELS_FIRST = "to channels-last", "to channels-first"  # permutes: a layout, no op
SPLIT = "split"  # chunk/split: a tuple of parts, each an op where it is taken


def is_split(node: fx.Node) -> bool:
    return ((node.op == "call_method" and node.target in ("chunk", "split"))
            or (node.op == "call_function" and node.target in (torch.chunk, torch.split)))


def _pair(value: Any, what: str) -> int | tuple[int, int]:
    """A kernel/stride/padding as the spec writes it: ``3`` when square, else ``(h, w)``."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise Unmapped(f"{what} {tuple(value)} (two spatial axes expected)")
        h, w = (int(v) for v in value)
        return h if h == w else (h, w)
    return int(value)


def _padding(padding: Any, kernel: Any, dilation: Any, stride: Any) -> int | str | tuple[int, int]:
    """The spec's padding: ``same`` (the default) where that is what the module does."""
    odd = all(k % 2 == 1 for k in pair(kernel))
    if padding == "same":
        if pair(stride) != (1, 1) or not odd:
            raise Unmapped("padding='same' with an even kernel or a stride")
        return "same"
    if padding == "valid":
        padding = 0
    value = _pair(padding, "padding")
    if odd and pair(value) == resolve_padding("conv", "same", kernel, dilation):
        return "same"
    return value


def conv_rule(m: nn.Conv2d, shapes: list[tuple]) -> list[Emit]:
    if m.padding_mode != "zeros":
        raise Unmapped(f"padding_mode={m.padding_mode!r}")
    kernel, stride, dilation = _pair(m.kernel_size, "kernel"), _pair(m.stride, "stride"), _pair(m.dilation, "dilation")
    common = {"kernel": kernel, "stride": stride, "padding": _padding(m.padding, kernel, dilation, stride),
              "dilation": dilation, "bias": m.bias is not None}
    c_in = shapes[0][0]
    if m.groups == c_in and m.groups > 1 and m.out_channels % c_in == 0:
        return [Emit("depthwise_conv2d", {**common, "multiplier": m.out_channels // c_in})]
    return [Emit("conv2d", {"out": m.out_channels, **common, "groups": m.groups})]


def linear_rule(m: nn.Linear, shapes: list[tuple]) -> list[Emit]:
    return [Emit("linear", {"out": m.out_features, "bias": m.bias is not None})]


def batch_norm_rule(m: nn.modules.batchnorm._BatchNorm, shapes: list[tuple]) -> list[Emit]:
    if not m.affine or not m.track_running_stats:
        raise Unmapped("batch norm without affine parameters or running statistics")
    return [Emit("batch_norm", {"eps": float(m.eps)})]


def _pool(kind: str, kernel: Any, stride: Any, padding: Any, dilation: Any = 1, ceil_mode: bool = False,
          count_include_pad: bool = True, divisor_override: Any = None) -> list[Emit]:
    kernel = _pair(kernel, "kernel")
    stride = _pair(stride, "stride") if stride not in (None, (), []) else kernel
    if pair(_pair(dilation, "dilation")) != (1, 1):
        raise Unmapped("dilated pooling")
    if divisor_override is not None:
        raise Unmapped("divisor_override")
    attrs = {"kernel": kernel, "stride": 0 if pair(stride) == pair(kernel) else stride,
             "padding": _pair(padding, "padding"), "ceil_mode": bool(ceil_mode)}
    if kind == "avg_pool":
        attrs["count_include_pad"] = bool(count_include_pad)
    return [Emit(kind, attrs)]


def max_pool_rule(m: nn.MaxPool2d, shapes: list[tuple]) -> list[Emit]:
    if m.return_indices:
        raise Unmapped("return_indices")
    return _pool("max_pool", m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode)


def avg_pool_rule(m: nn.AvgPool2d, shapes: list[tuple]) -> list[Emit]:
    return _pool("avg_pool", m.kernel_size, m.stride, m.padding, 1, m.ceil_mode, m.count_include_pad,
                 m.divisor_override)


def _adaptive_avg(size: Any, shapes: list[tuple]) -> list[Emit]:
    size = (size, size) if not isinstance(size, (tuple, list)) else tuple(size)
    if size == (1, 1):
        return [Emit("global_avg_pool", {})]
    if None in size:
        raise Unmapped(f"adaptive average pooling to {size}")
    return [Emit("adaptive_avg_pool", {"size": _pair(size, "output size")})]


def _activation(kind: str) -> Callable:
    return lambda m, shapes: [Emit(kind, {})]


def hardtanh_rule(m: nn.Hardtanh, shapes: list[tuple]) -> list[Emit]:
    if (m.min_val, m.max_val) != (0.0, 6.0):
        raise Unmapped(f"hardtanh({m.min_val}, {m.max_val})")
    return [Emit("relu6", {})]


def gelu_rule(m: nn.GELU, shapes: list[tuple]) -> list[Emit]:
    return [Emit("gelu", {"approximate": m.approximate})]


def layer_norm_rule(m: nn.LayerNorm, shapes: list[tuple]) -> list[Emit]:
    """``nn.LayerNorm`` over the last dimension: the channels of a channels-last view (the
    mapper passes the shape in (C, H, W) order) or the entries of a vector."""
    return _layer_norm(tuple(m.normalized_shape), m.weight is not None, m.bias is not None, m.eps, shapes)


def _layer_norm(normalized: tuple, weight: bool, bias: bool, eps: float, shapes: list[tuple]) -> list[Emit]:
    if normalized != (shapes[0][0],):
        raise Unmapped(f"layer norm over {normalized} (the registry's layer_norm normalizes the channels)")
    if not (weight and bias):
        raise Unmapped("layer norm without a weight and a bias")
    return [Emit("layer_norm", {"eps": float(eps)})]


def flatten_rule(m: nn.Flatten, shapes: list[tuple]) -> list[Emit]:
    return _flatten(m.start_dim, m.end_dim, shapes)


def _flatten(start: int, end: int, shapes: list[tuple]) -> list[Emit]:
    rank = len(shapes[0]) + 1
    if start % rank != 1 or end % rank != rank - 1:
        raise Unmapped(f"flatten({start}, {end}) (only flatten(x, 1) keeps the batch)")
    return [Emit("flatten", {})] if rank > 2 else ALIAS  # type: ignore[return-value]


MODULE_OPS: dict[type, Callable] = {
    nn.Conv2d: conv_rule,
    nn.Linear: linear_rule,
    nn.BatchNorm2d: batch_norm_rule,
    nn.BatchNorm1d: batch_norm_rule,
    nn.ReLU: _activation("relu"),
    nn.ReLU6: _activation("relu6"),
    nn.Hardtanh: hardtanh_rule,
    nn.Hardswish: _activation("hardswish"),
    nn.Sigmoid: _activation("sigmoid"),
    nn.Hardsigmoid: _activation("hardsigmoid"),
    nn.SiLU: _activation("silu"),
    nn.GELU: gelu_rule,
    nn.LayerNorm: layer_norm_rule,
    nn.Identity: lambda m, shapes: ALIAS,
    nn.Dropout: lambda m, shapes: [Emit("dropout", {"rate": float(m.p)})],
    nn.MaxPool2d: max_pool_rule,
    nn.AvgPool2d: avg_pool_rule,
    nn.AdaptiveAvgPool2d: lambda m, shapes: _adaptive_avg(m.output_size, shapes),
    nn.Flatten: flatten_rule,
    nn.ChannelShuffle: lambda m, shapes: [Emit("channel_shuffle", {"groups": m.groups})],
}


def bind_args(args: tuple, kwargs: dict, names: Sequence[str], defaults: dict) -> dict:
    """Positional and keyword arguments of a call, by parameter name."""
    bound = dict(defaults)
    bound.update(zip(names, args))
    bound.update(kwargs)
    return bound


def _binary(kind: str) -> Callable:
    def rule(node: fx.Node, shapes: list[tuple]) -> list[Emit]:
        tensors = [a for a in (*node.args, *node.kwargs.values()) if isinstance(a, fx.Node)]
        if len(tensors) != 2 or len(node.args) + len(node.kwargs) != 2:
            raise Unmapped(f"{kind} with a constant operand")
        learned = [t for t in tensors if t.op == "get_attr"]
        if kind == "mul" and len(learned) == 1:
            return _layer_scale(node, learned[0], next(t for t in tensors if t is not learned[0]))
        if learned:
            raise Unmapped(f"{kind} with a stored tensor")
        if kind == "mul" and len(shapes[0]) == 3 and shapes[0][1:] == (1, 1) and shapes[1][1:] != (1, 1):
            tensors = tensors[::-1]  # the registry's mul takes (x, gate): gate * x is x * gate
        return [Emit(kind, {}, tensors)]
    return rule


def cat_rule(node: fx.Node, shapes: list[tuple]) -> list[Emit]:
    bound = bind_args(node.args, node.kwargs, ("tensors", "dim"), {"dim": 0})
    if len(bound["tensors"]) == 1:
        return ALIAS  # type: ignore[return-value]  (cat of one tensor is that tensor)
    if bound["dim"] % (len(shapes[0]) + 1) != 1:
        raise Unmapped(f"cat along dim {bound['dim']} (the registry's concat joins channels)")
    return [Emit("concat", {}, list(bound["tensors"]))]


def flatten_function_rule(node: fx.Node, shapes: list[tuple]) -> list[Emit]:
    bound = bind_args(node.args, node.kwargs, ("input", "start_dim", "end_dim"), {"start_dim": 0, "end_dim": -1})
    return _flatten(bound["start_dim"], bound["end_dim"], shapes)


def mean_rule(node: fx.Node, shapes: list[tuple]) -> list[Emit]:
    bound = bind_args(node.args, node.kwargs, ("input", "dim", "keepdim"), {"dim": None, "keepdim": False})
    dims = bound["dim"] if isinstance(bound["dim"], (tuple, list)) else [bound["dim"]]
    if len(shapes[0]) != 3 or sorted(d % 4 for d in dims if d is not None) != [2, 3]:
        raise Unmapped(f"mean over dims {bound['dim']} (only the spatial mean [2, 3] is global pooling)")
    pool = Emit("global_avg_pool", {})
    return [pool] if bound["keepdim"] else [pool, Emit("flatten", {}, suffix="flatten")]


def adaptive_avg_function_rule(node: fx.Node, shapes: list[tuple]) -> list[Emit]:
    return _adaptive_avg(bind_args(node.args, node.kwargs, ("input", "output_size"), {})["output_size"], shapes)


def max_pool_function_rule(node: fx.Node, shapes: list[tuple]) -> list[Emit]:
    b = bind_args(node.args, node.kwargs, ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode",
                                        "return_indices"),
              {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False, "return_indices": False})
    if b["return_indices"]:
        raise Unmapped("return_indices")
    return _pool("max_pool", b["kernel_size"], b["stride"], b["padding"], b["dilation"], b["ceil_mode"])


def avg_pool_function_rule(node: fx.Node, shapes: list[tuple]) -> list[Emit]:
    b = bind_args(node.args, node.kwargs, ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                                        "divisor_override"),
              {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True, "divisor_override": None})
    return _pool("avg_pool", b["kernel_size"], b["stride"], b["padding"], 1, b["ceil_mode"], b["count_include_pad"],
                 b["divisor_override"])


def dropout_function_rule(node: fx.Node, shapes: list[tuple]) -> Any:
    bound = bind_args(node.args, node.kwargs, ("input", "p", "training", "inplace"), {"p": 0.5, "training": True})
    if bound["training"] is not False:
        raise Unmapped("F.dropout whose training flag is not False (random at inference)")
    return ALIAS


def stochastic_depth_rule(node: fx.Node, shapes: list[tuple]) -> Any:
    bound = bind_args(node.args, node.kwargs, ("input", "p", "mode", "training"), {"training": True})
    if bound["training"] is not False and bound["p"] != 0:
        raise Unmapped("stochastic depth in training mode")
    return ALIAS  # the identity at inference


def hardtanh_function_rule(node: fx.Node, shapes: list[tuple]) -> list[Emit]:
    bound = bind_args(node.args, node.kwargs, ("input", "min_val", "max_val", "inplace"), {"min_val": -1.0, "max_val": 1.0})
    if (bound["min_val"], bound["max_val"]) != (0.0, 6.0):
        raise Unmapped(f"hardtanh({bound['min_val']}, {bound['max_val']})")
    return [Emit("relu6", {})]


def _layer_scale(node: fx.Node, learned: fx.Node, x: fx.Node) -> list[Emit]:
    """``gamma * x`` with a learned (C, 1, 1) gamma: the registry's layer_scale."""
    gamma, shape = learned.meta["tensor_meta"].shape, traced_shape(x)
    if tuple(gamma) not in ((shape[0], 1, 1), (shape[0],)[: len(shape)]) or not learned.meta.get("is_parameter"):
        raise Unmapped(f"multiplication by a stored tensor of shape {tuple(gamma)} (a layer scale is a (C, 1, 1) parameter)")
    return [Emit("layer_scale", {}, [x], weights={"weight": learned.target})]


def layer_norm_function_rule(node: fx.Node, shapes: list[tuple]) -> list[Emit]:
    b = bind_args(node.args, node.kwargs, ("input", "normalized_shape", "weight", "bias", "eps"),
              {"weight": None, "bias": None, "eps": 1e-5})
    stored = [b["weight"], b["bias"]]
    if not all(isinstance(t, fx.Node) and t.op == "get_attr" for t in stored):
        raise Unmapped("layer norm whose weight and bias are not the model's parameters")
    emitted = _layer_norm(tuple(b["normalized_shape"]), True, True, b["eps"], shapes)
    emitted[0].inputs = [b["input"]]
    emitted[0].weights = {"weight": stored[0].target, "bias": stored[1].target}
    return emitted


def permute_rule(node: fx.Node, shapes: list[tuple]) -> Any:
    """(N, C, H, W) <-> (N, H, W, C): no op, the mapper tracks the layout (ConvNeXt)."""
    dims = bind_args(node.args, node.kwargs, ("input", "dims"), {})["dims"]
    if len(node.args) > 2:  # x.permute(0, 2, 3, 1)
        dims = node.args[1:]
    dims = tuple(dims)
    if dims == (0, 2, 3, 1):
        return CHANNELS_LAST
    if dims == (0, 3, 1, 2):
        return CHANNELS_FIRST
    raise Unmapped(f"permute{dims} (only NCHW <-> NHWC is a layout change)")


def channel_shuffle_function_rule(node: fx.Node, shapes: list[tuple]) -> list[Emit]:
    return [Emit("channel_shuffle", {"groups": int(bind_args(node.args, node.kwargs, ("x", "groups"), {})["groups"])})]


def _activation_call(kind: str) -> Callable:
    return lambda node, shapes: [Emit(kind, {}, [node.args[0]])]


FUNCTION_OPS: dict[Any, Callable] = {
    operator.add: _binary("add"), operator.iadd: _binary("add"), torch.add: _binary("add"),
    operator.mul: _binary("mul"), operator.imul: _binary("mul"), torch.mul: _binary("mul"),
    torch.cat: cat_rule, torch.concat: cat_rule,
    torch.flatten: flatten_function_rule,
    torch.mean: mean_rule,
    F.adaptive_avg_pool2d: adaptive_avg_function_rule,
    F.max_pool2d: max_pool_function_rule,
    F.avg_pool2d: avg_pool_function_rule,
    F.dropout: dropout_function_rule,
    F.relu: _activation_call("relu"), torch.relu: _activation_call("relu"),
    F.relu6: _activation_call("relu6"), F.hardtanh: hardtanh_function_rule,
    torch.sigmoid: _activation_call("sigmoid"), F.sigmoid: _activation_call("sigmoid"),
    F.hardswish: _activation_call("hardswish"), F.hardsigmoid: _activation_call("hardsigmoid"),
    F.silu: _activation_call("silu"), F.gelu: lambda node, shapes: [Emit("gelu", {"approximate": node.kwargs.get(
        "approximate", "none")}, [node.args[0]])],
    F.layer_norm: layer_norm_function_rule,
    torch.permute: permute_rule,
}
# torchvision's helpers, matched by name so that this module never imports torchvision itself
FUNCTION_OPS_BY_NAME: dict[str, Callable] = {
    "torchvision.models.shufflenetv2.channel_shuffle": channel_shuffle_function_rule,
    "torchvision.ops.stochastic_depth.stochastic_depth": stochastic_depth_rule,
}
METHOD_OPS: dict[str, Callable] = {
    "add": _binary("add"), "add_": _binary("add"), "mul": _binary("mul"), "mul_": _binary("mul"),
    "flatten": lambda node, shapes: _flatten(*bind_args(node.args[1:], node.kwargs, ("start_dim", "end_dim"),
                                                     {"start_dim": 0, "end_dim": -1}).values(), shapes),
    "mean": mean_rule,
    "relu": _activation_call("relu"), "relu_": _activation_call("relu"), "sigmoid": _activation_call("sigmoid"),
    "contiguous": lambda node, shapes: ALIAS,
    "permute": permute_rule,
}
# What may read a channels-last view: rules that act on the last dimension (the channels)
# or element by element. A linear layer on it is a 1x1 convolution.
CHANNELS_LAST_MODULES: dict[type, Callable] = {
    nn.Linear: lambda m, shapes: [Emit("conv2d", {"out": m.out_features, "kernel": 1, "bias": m.bias is not None})],
    nn.LayerNorm: layer_norm_rule,
    nn.GELU: gelu_rule, nn.ReLU: _activation("relu"), nn.SiLU: _activation("silu"), nn.Hardswish: _activation("hardswish"),
    nn.Identity: lambda m, shapes: ALIAS,
    nn.Dropout: lambda m, shapes: [Emit("dropout", {"rate": float(m.p)})],
}
CHANNELS_LAST_FUNCTIONS = {F.layer_norm, torch.permute, F.gelu, F.relu}
CHANNELS_LAST_METHODS = {"permute", "contiguous"}


def known_ops() -> set[str]:
    from archcalc.ops import all_ops

    return set(all_ops())


def function_name(target: Any) -> str:
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or str(target)
    return f"{module}.{name}" if module else name


def _forward_is_inherited(module: nn.Module, base: type) -> bool:
    """A subclass that keeps its base's forward computes what the base computes."""
    return type(module).forward is base.forward


def module_rule(module: nn.Module) -> Callable | None:
    rule = MODULE_OPS.get(type(module))
    if rule is not None:
        return rule
    for base in type(module).__mro__[1:]:
        if base in MODULE_OPS and _forward_is_inherited(module, base):
            return MODULE_OPS[base]
    return None
