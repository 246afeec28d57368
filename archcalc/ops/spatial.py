"""Pooling, resizing and shape-only ops, and the graph input."""
from __future__ import annotations

from typing import Sequence

from archcalc.ops.base import Attr, Cost, OpDef, Shape, ShapeError, numel, require_rank
from archcalc.ops.conv import conv_output_size, resolve_padding
from archcalc.ops.registry import register


@register
class Input(OpDef):
    """The graph input (a feature map without the batch dimension)."""

    kind = "input"
    attrs = {"channels": Attr(int, min=1), "height": Attr(int, min=1), "width": Attr(int, min=1)}
    min_inputs, max_inputs = 0, 0
    free_because = "the input is given"

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        return (attrs["channels"], attrs["height"], attrs["width"])


@register
class GlobalAvgPool(OpDef):
    """Mean over space, keeping (C, 1, 1): ``C * H * W`` adds."""

    kind = "global_avg_pool"

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        require_rank(self.kind, shape, 3)
        return (shape[0], 1, 1)

    def cost(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Cost:
        return Cost(pool=numel(inputs[0]))

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from torch import nn

        return nn.AdaptiveAvgPool2d(1)


class _WindowPool(OpDef):
    """k x k pooling windows: ``H_out * W_out * C * k * k`` ops (adds or compares)."""

    attrs = {
        "kernel": Attr(int, min=1),
        "stride": Attr(int, default=0, min=0, doc="0 means equal to kernel"),
        "padding": Attr((int, str), default=0),
    }

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        require_rank(self.kind, shape, 3)
        kernel = attrs["kernel"]
        stride = attrs["stride"] or kernel
        padding = resolve_padding(self.kind, attrs["padding"], kernel, 1)
        if 2 * padding > kernel:
            raise ShapeError(f"{self.kind}: padding {padding} is more than half the kernel {kernel}")
        out = tuple(conv_output_size(s, kernel, stride, padding, 1) for s in shape[1:])
        if min(out) < 1:
            raise ShapeError(f"{self.kind}: spatial size falls below 1 ({shape[1]}x{shape[2]} input, kernel {kernel})")
        return (shape[0], *out)

    def cost(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Cost:
        return Cost(pool=numel(output) * attrs["kernel"] ** 2)

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from torch import nn

        kernel = attrs["kernel"]
        stride, padding = attrs["stride"] or kernel, resolve_padding(self.kind, attrs["padding"], kernel, 1)
        return self.torch_class(nn)(kernel, stride=stride, padding=padding)


@register
class AvgPool(_WindowPool):
    """k x k average pooling (zero padding counted in the mean, PyTorch's default):
    ``H_out * W_out * C * k * k`` adds."""

    kind = "avg_pool"

    @staticmethod
    def torch_class(nn):
        return nn.AvgPool2d


@register
class MaxPool(_WindowPool):
    """k x k max pooling: ``H_out * W_out * C * k * k`` compares."""

    kind = "max_pool"

    @staticmethod
    def torch_class(nn):
        return nn.MaxPool2d


@register
class UpsampleBilinear(OpDef):
    """Bilinear resize to ``size`` (square) or by an integer ``factor``: 4 taps per output
    element (fvcore's convention for ``upsample_bilinear2d``)."""

    kind = "upsample_bilinear"
    attrs = {
        "size": Attr(int, default=0, min=0, doc="output height and width; 0 = use factor"),
        # not "scale": that word is the layer-row key for width scaling
        "factor": Attr(int, default=0, min=0, doc="integer upsampling factor; 0 = use size"),
        "align_corners": Attr(bool, default=False),
    }

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        require_rank(self.kind, shape, 3)
        if bool(attrs["size"]) == bool(attrs["factor"]):
            raise ShapeError("upsample_bilinear needs exactly one of size or factor")
        if attrs["size"]:
            return (shape[0], attrs["size"], attrs["size"])
        return (shape[0], shape[1] * attrs["factor"], shape[2] * attrs["factor"])

    def cost(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Cost:
        return Cost(resize=4 * numel(output))

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from torch import nn

        if attrs["size"]:
            return nn.Upsample(size=attrs["size"], mode="bilinear", align_corners=attrs["align_corners"])
        return nn.Upsample(scale_factor=attrs["factor"], mode="bilinear", align_corners=attrs["align_corners"])


@register
class Flatten(OpDef):
    """(C, H, W) -> (C*H*W,)."""

    kind = "flatten"
    free_because = "flatten only changes the view"
    aliases_input = True

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        return (numel(inputs[0]),)

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from torch import nn

        return nn.Flatten()  # a view: no new storage


@register
class Dropout(OpDef):
    """Dropout, the identity at inference."""

    kind = "dropout"
    attrs = {"rate": Attr(float, default=0.0, min=0.0, max=1.0)}
    free_because = "dropout is the identity at inference"
    aliases_input = True

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        if attrs["rate"] >= 1:
            raise ShapeError(f"dropout rate must be < 1, got {attrs['rate']}")
        return inputs[0]

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from torch import nn

        return nn.Dropout(attrs["rate"])  # the identity in eval mode
