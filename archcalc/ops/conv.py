"""Convolutions and linear layers: the only ops that contribute headline MAdds."""
from __future__ import annotations

from typing import Sequence

from archcalc.ops.base import Attr, Cost, OpDef, Params, Shape, ShapeError, numel, require_rank
from archcalc.ops.registry import register

_PADDING = Attr((int, str), default="same",
                doc="zeros added on each side: an integer, or 'same' = dilation * (kernel - 1) // 2 (odd kernels)")


def resolve_padding(kind: str, padding: int | str, kernel: int, dilation: int) -> int:
    """Symmetric padding. ``'same'`` is ``dilation * (kernel - 1) // 2`` (odd kernels only);
    with it the output size is ceil(size / stride), as TensorFlow's SAME gives."""
    if padding == "same":
        if kernel % 2 == 0:
            raise ShapeError(f"{kind}: padding 'same' needs an odd kernel, got kernel {kernel}; give an integer padding")
        return dilation * (kernel - 1) // 2
    if isinstance(padding, int) and not isinstance(padding, bool) and padding >= 0:
        return padding
    raise ShapeError(f"{kind}: padding must be 'same' or an integer >= 0, got {padding!r}")


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """The full convolution output formula (PyTorch ``Conv2d`` docs):
    ``floor((size + 2*padding - dilation*(kernel-1) - 1) / stride) + 1``."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def spatial_output(kind: str, attrs: dict, shape: Shape) -> tuple[int, int]:
    kernel, stride, dilation = attrs["kernel"], attrs["stride"], attrs["dilation"]
    padding = resolve_padding(kind, attrs["padding"], kernel, dilation)
    _, height, width = shape
    out = tuple(conv_output_size(s, kernel, stride, padding, dilation) for s in (height, width))
    if min(out) < 1:
        raise ShapeError(
            f"{kind}: spatial size falls below 1 ({height}x{width} input, kernel {kernel}, stride {stride}, "
            f"padding {padding}, dilation {dilation} gives {out[0]}x{out[1]})"
        )
    return out  # type: ignore[return-value]


@register
class Conv2d(OpDef):
    """2-D convolution (PyTorch ``nn.Conv2d``).

    Shape: (C_in, H, W) -> (out, H_out, W_out) with H_out = floor((H + 2*padding - dilation*(kernel - 1) - 1) / stride) + 1
    (W_out alike); with padding 'same' that is ceil(H / stride). groups must divide C_in and out.
    Params: kernel^2 * (C_in / groups) * out weights, plus out biases when bias.
    Cost: madds = H_out * W_out * kernel^2 * (C_in / groups) * out; bias = one add per output element when bias.
    """

    kind = "conv2d"
    attrs = {
        "out": Attr(int, min=1, channels=True, doc="output channels"),
        "kernel": Attr(int, default=1, min=1, doc="kernel height and width"),
        "stride": Attr(int, default=1, min=1, doc="step between windows"),
        "padding": _PADDING,
        "dilation": Attr(int, default=1, min=1, doc="spacing between kernel taps (atrous rate)"),
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
        k, c_in, c_out = attrs["kernel"], inputs[0][0], attrs["out"]
        return Params(weights=k * k * (c_in // attrs["groups"]) * c_out, bias=c_out if attrs["bias"] else 0)

    def cost(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Cost:
        k, c_in = attrs["kernel"], inputs[0][0]
        c_out, h_out, w_out = output
        return Cost(
            madds=h_out * w_out * k * k * (c_in // attrs["groups"]) * c_out,
            bias=numel(output) if attrs["bias"] else 0,
        )

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from torch import nn

        padding = resolve_padding(self.kind, attrs["padding"], attrs["kernel"], attrs["dilation"])
        return nn.Conv2d(inputs[0][0], attrs["out"], attrs["kernel"], stride=attrs["stride"], padding=padding,
                         dilation=attrs["dilation"], groups=attrs["groups"], bias=attrs["bias"])


@register
class DepthwiseConv2d(OpDef):
    """Depthwise convolution: one kernel x kernel filter per input channel (groups = C_in).

    Shape: (C, H, W) -> (C * multiplier, H_out, W_out), H_out and W_out as for conv2d.
    Params: kernel^2 * C * multiplier weights, plus C * multiplier biases when bias.
    Cost: madds = H_out * W_out * kernel^2 * C * multiplier; bias = one add per output element when bias.
    """

    kind = "depthwise_conv2d"
    attrs = {
        "kernel": Attr(int, default=3, min=1, doc="kernel height and width"),
        "stride": Attr(int, default=1, min=1, doc="step between windows"),
        "padding": _PADDING,
        "dilation": Attr(int, default=1, min=1, doc="spacing between kernel taps (atrous rate)"),
        "multiplier": Attr(int, default=1, min=1, doc="output channels per input channel"),
        "bias": Attr(bool, default=False, doc="add a learned bias per output channel"),
    }

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        require_rank(self.kind, shape, 3)
        return (shape[0] * attrs["multiplier"], *spatial_output(self.kind, attrs, shape))

    def params(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Params:
        c_out = output[0]
        return Params(weights=attrs["kernel"] ** 2 * c_out, bias=c_out if attrs["bias"] else 0)

    def cost(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Cost:
        return Cost(madds=numel(output) * attrs["kernel"] ** 2, bias=numel(output) if attrs["bias"] else 0)

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from torch import nn

        c_in = inputs[0][0]
        padding = resolve_padding(self.kind, attrs["padding"], attrs["kernel"], attrs["dilation"])
        return nn.Conv2d(c_in, c_in * attrs["multiplier"], attrs["kernel"], stride=attrs["stride"], padding=padding,
                         dilation=attrs["dilation"], groups=c_in, bias=attrs["bias"])


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
