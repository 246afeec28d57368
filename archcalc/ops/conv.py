"""Convolutions and linear layers: the only ops that contribute headline MAdds."""
from __future__ import annotations

from typing import Sequence

from archcalc.ops.base import (Attr, Cost, OpDef, Params, Shape, ShapeError, numel, pair, pair_text,
                                require_rank)
from archcalc.ops.registry import register

_PADDING = Attr((int, str), default="same", pair=True,
                doc="zeros added on each side: an integer, [h, w], or 'same' = dilation * (kernel - 1) // 2 per axis (odd kernels)")


def _size_attr(default: int, doc: str) -> Attr:
    """A kernel, stride or dilation: one integer >= 1 for both axes, or [h, w]."""
    return Attr(int, default=default, min=1, pair=True, doc=doc)


def resolve_padding(kind: str, padding, kernel, dilation) -> tuple:
    """Symmetric padding per axis, ``(pad_h, pad_w)``. ``'same'`` is ``dilation * (kernel - 1) // 2``
    on each axis (odd kernels only); with it the output size is ceil(size / stride), as
    TensorFlow's SAME gives."""
    kernels, dilations = pair(kernel), pair(dilation)
    if padding == "same":
        if any(k % 2 == 0 for k in kernels):
            raise ShapeError(f"{kind}: padding 'same' needs an odd kernel, got kernel {pair_text(kernel)}; "
                             "give an integer padding")
        return tuple(d * (k - 1) // 2 for k, d in zip(kernels, dilations))
    pads = pair(padding)
    if all(isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in pads):
        return pads
    raise ShapeError(f"{kind}: padding must be 'same', an integer >= 0 or [h, w] of those, got {padding!r}")


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """The full convolution output formula (PyTorch ``Conv2d`` docs):
    ``floor((size + 2*padding - dilation*(kernel-1) - 1) / stride) + 1``."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def spatial_output(kind: str, attrs: dict, shape: Shape) -> tuple[int, int]:
    kernel, stride, dilation = attrs["kernel"], attrs["stride"], attrs["dilation"]
    padding = resolve_padding(kind, attrs["padding"], kernel, dilation)
    _, height, width = shape
    out = tuple(conv_output_size(*axis) for axis in zip((height, width), pair(kernel), pair(stride), padding,
                                                          pair(dilation)))
    if min(out) < 1:
        raise ShapeError(
            f"{kind}: spatial size falls below 1 ({height}x{width} input, kernel {pair_text(kernel)}, "
            f"stride {pair_text(stride)}, padding {pair_text(padding)}, dilation {pair_text(dilation)} "
            f"gives {out[0]}x{out[1]})"
        )
    return out  # type: ignore[return-value]


def kernel_area(attrs: dict) -> int:
    kh, kw = pair(attrs["kernel"])
    return kh * kw


def torch_conv_args(kind: str, attrs: dict) -> dict:
    """Keyword arguments of ``nn.Conv2d`` for the kernel geometry (pairs as PyTorch takes them)."""
    return dict(kernel_size=pair(attrs["kernel"]), stride=pair(attrs["stride"]), dilation=pair(attrs["dilation"]),
                padding=resolve_padding(kind, attrs["padding"], attrs["kernel"], attrs["dilation"]))


@register
class Conv2d(OpDef):
    """2-D convolution; kernel, stride, padding and dilation are one integer for both axes
    or [h, w] (Inception's 1x7 and 7x1).

    Shape: (out, H_out, W_out), per axis floor((size + 2 * padding - dilation * (k - 1) - 1) / stride) + 1.
    Params: k_h * k_w * (C_in / groups) * C_out weights (+ C_out bias).
    Cost: madds = H_out * W_out * k_h * k_w * (C_in / groups) * C_out; bias = numel(output) with a bias.
    """

    kind = "conv2d"
    attrs = {
        "out": Attr(int, min=1, channels=True, doc="output channels"),
        "kernel": _size_attr(1, "kernel size: k, or [k_h, k_w]"),
        "stride": _size_attr(1, "stride: s, or [s_h, s_w]"),
        "padding": _PADDING,
        "dilation": _size_attr(1, "spacing between kernel taps (atrous rate): d, or [d_h, d_w]"),
        "groups": Attr(int, default=1, min=1, doc="channel groups (each output sees C_in / groups inputs)"),
        "bias": Attr(bool, default=False, doc="add a learned bias per output channel"),
    }

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        require_rank(self.kind, shape, 3)
        groups = attrs["groups"]
        if shape[0] % groups:
            raise ShapeError(f"conv2d: groups={groups} does not divide the {shape[0]} input channels")
        if attrs["out"] % groups:
            raise ShapeError(f"conv2d: groups={groups} does not divide the {attrs['out']} output channels")
        return (attrs["out"], *spatial_output(self.kind, attrs, shape))

    def params(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Params:
        c_in, c_out = inputs[0][0], attrs["out"]
        return Params(weights=kernel_area(attrs) * (c_in // attrs["groups"]) * c_out, bias=c_out if attrs["bias"] else 0)

    def cost(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Cost:
        c_in = inputs[0][0]
        c_out, h_out, w_out = output
        return Cost(
            madds=h_out * w_out * kernel_area(attrs) * (c_in // attrs["groups"]) * c_out,
            bias=numel(output) if attrs["bias"] else 0,
        )

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from torch import nn

        return nn.Conv2d(inputs[0][0], attrs["out"], groups=attrs["groups"], bias=attrs["bias"],
                         **torch_conv_args(self.kind, attrs))


@register
class DepthwiseConv2d(OpDef):
    """Depthwise convolution: one k_h x k_w filter per input channel (groups = C_in),
    multiplier outputs each.

    Shape: (C_in * multiplier, H_out, W_out), the convolution's size rule on each axis.
    Params: k_h * k_w * C_out weights (+ C_out bias).
    Cost: madds = H_out * W_out * k_h * k_w * C_out; bias = numel(output) with a bias.
    """

    kind = "depthwise_conv2d"
    attrs = {
        "kernel": _size_attr(3, "kernel size: k, or [k_h, k_w]"),
        "stride": _size_attr(1, "stride: s, or [s_h, s_w]"),
        "padding": _PADDING,
        "dilation": _size_attr(1, "spacing between kernel taps (atrous rate): d, or [d_h, d_w]"),
        "multiplier": Attr(int, default=1, min=1, doc="output channels per input channel"),
        "bias": Attr(bool, default=False, doc="add a learned bias per output channel"),
    }

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        require_rank(self.kind, shape, 3)
        return (shape[0] * attrs["multiplier"], *spatial_output(self.kind, attrs, shape))

    def params(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Params:
        c_out = output[0]
        return Params(weights=kernel_area(attrs) * c_out, bias=c_out if attrs["bias"] else 0)

    def cost(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Cost:
        return Cost(madds=numel(output) * kernel_area(attrs), bias=numel(output) if attrs["bias"] else 0)

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from torch import nn

        c_in = inputs[0][0]
        return nn.Conv2d(c_in, c_in * attrs["multiplier"], groups=c_in, bias=attrs["bias"],
                         **torch_conv_args(self.kind, attrs))


@register
class Linear(OpDef):
    """Fully connected layer on a flat vector (PyTorch ``nn.Linear``).

    Shape: (N_in,) -> (out,); a feature map must be flattened first.
    Params: N_in * out weights, plus out biases when bias.
    Cost: madds = N_in * out; bias = out adds when bias.
    """

    kind = "linear"
    attrs = {
        "out": Attr(int, min=1, channels=True, doc="output features"),
        "bias": Attr(bool, default=True, doc="add a learned bias per output feature"),
    }

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        require_rank(self.kind, shape, 1)
        return (attrs["out"],)

    def params(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Params:
        return Params(weights=inputs[0][0] * attrs["out"], bias=attrs["out"] if attrs["bias"] else 0)

    def cost(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Cost:
        return Cost(madds=inputs[0][0] * attrs["out"], bias=attrs["out"] if attrs["bias"] else 0)

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from torch import nn

        return nn.Linear(inputs[0][0], attrs["out"], bias=attrs["bias"])
