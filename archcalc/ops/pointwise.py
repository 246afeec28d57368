"""Per-element ops: normalization, activations and layer scale (no MAdds in the headline
convention)."""
from __future__ import annotations

from typing import Sequence

from archcalc.ops.base import Attr, Cost, OpDef, Params, Shape, ShapeError, numel
from archcalc.ops.registry import register


@register
class BatchNorm(OpDef):
    """Batch norm over channels (dim 0). At inference it is ``x * scale + shift``:
    2 ops per element. Params: gamma and beta (2 per channel, trainable) plus running
    mean and variance (2 per channel, buffers)."""

    kind = "batch_norm"
    attrs = {"eps": Attr(float, default=1e-3, min=0.0, doc="added to the variance (slim's MobileNet value by default)")}
    elementwise_inplace = True

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        if len(shape) not in (1, 3):
            raise ShapeError(f"batch_norm expects a feature map or a vector, got shape {shape}")
        return shape

    def params(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Params:
        return Params(bn_affine=2 * output[0], bn_stats=2 * output[0])

    def cost(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Cost:
        return Cost(bn=2 * numel(output))

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from torch import nn

        norm = nn.BatchNorm2d if len(inputs[0]) == 3 else nn.BatchNorm1d
        return norm(inputs[0][0], eps=attrs["eps"])


class _Activation(OpDef):
    """An element-wise activation; ``ops_per_element`` is its documented cost."""

    ops_per_element: int = 1
    elementwise_inplace = True

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        return inputs[0]

    def cost(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Cost:
        return Cost(act=self.ops_per_element * numel(output))

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        # in place or not is the materializer's call (it depends on the schedule)
        from archcalc.pytorch.modules import Activation

        return Activation(self.kind)


@register
class ReLU(_Activation):
    """``max(x, 0)``: 1 op per element."""

    kind = "relu"
    ops_per_element = 1


@register
class ReLU6(_Activation):
    """``min(max(x, 0), 6)``: 2 ops per element."""

    kind = "relu6"
    ops_per_element = 2


@register
class HardSwish(_Activation):
    """``x * relu6(x + 3) / 6``: add, max, min, multiply, scale = 5 ops per element."""

    kind = "hardswish"
    ops_per_element = 5


@register
class HardSigmoid(_Activation):
    """``relu6(x + 3) / 6`` (MobileNetV3's gate): add, max, min, scale = 4 ops per element."""

    kind = "hardsigmoid"
    ops_per_element = 4


@register
class SiLU(_Activation):
    """``x * sigmoid(x)`` (swish; EfficientNet): the sigmoid's 4 ops and a multiply = 5 ops
    per element."""

    kind = "silu"
    ops_per_element = 5


@register
class GELU(_Activation):
    """``x * Phi(x)``, PyTorch's ``nn.GELU``. ``approximate: none`` (the erf form
    ``x * 0.5 * (1 + erf(x / sqrt(2)))``: divide, erf, add, 2 multiplies = 5 ops per element);
    ``tanh`` (``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``: cube (2 multiplies),
    multiply, add, multiply, tanh, add, 2 multiplies = 9 ops per element). PyTorch has no
    in-place GELU, so its output is always a new tensor."""

    kind = "gelu"
    attrs = {"approximate": Attr(str, default="none", choices=("none", "tanh"),
                                 doc="none = the exact erf form; tanh = the tanh approximation")}
    elementwise_inplace = False
    OPS_PER_ELEMENT = {"none": 5, "tanh": 9}

    def cost(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Cost:
        return Cost(act=self.OPS_PER_ELEMENT[attrs["approximate"]] * numel(output))

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from torch import nn

        return nn.GELU(approximate=attrs["approximate"])


@register
class Sigmoid(_Activation):
    """``1 / (1 + exp(-x))``: negate, exp, add, divide = 4 ops per element."""

    kind = "sigmoid"
    ops_per_element = 4


@register
class Identity(_Activation):
    """Passes its input through."""

    kind = "identity"
    ops_per_element = 0
    free_because = "identity does no arithmetic"
    aliases_input = True

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from torch import nn

        return nn.Identity()


@register
class LayerNorm(OpDef):
    """Layer norm over the channels at every position (ConvNeXt's ``LayerNorm2d``: PyTorch's
    ``layer_norm`` over C of the (H, W, C) permuted map; on a vector, over its N entries).
    Params: a weight and a bias per channel (2C, counted with the normalization layers'
    params, as batch norm's gamma and beta are). Cost, in the ``bn`` (normalization) term,
    8 ops per element: the mean (1 add), the variance (subtract, square, add), normalizing
    (subtract, multiply by the reciprocal standard deviation) and the affine multiply and
    add. It cannot be folded into a conv and it cannot run in place: PyTorch writes a new
    tensor."""

    kind = "layer_norm"
    attrs = {"eps": Attr(float, default=1e-6, min=0.0, doc="added to the variance (ConvNeXt's 1e-6 by default)")}
    OPS_PER_ELEMENT = 8

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        if len(shape) not in (1, 3):
            raise ShapeError(f"layer_norm expects a feature map or a vector, got shape {shape}")
        return shape

    def params(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Params:
        return Params(bn_affine=2 * output[0])

    def cost(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Cost:
        return Cost(bn=self.OPS_PER_ELEMENT * numel(output))

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from archcalc.pytorch.modules import ChannelLayerNorm

        return ChannelLayerNorm(inputs[0][0], eps=attrs["eps"])


@register
class LayerScale(OpDef):
    """A learned per-channel scale (ConvNeXt's layer scale): ``x * gamma`` with one
    parameter per channel (C params, counted as weights) and one multiply per element
    (the ``eltwise`` term). It may overwrite its input."""

    kind = "layer_scale"
    attrs = {"init": Attr(float, default=1e-6, doc="initial value of every gamma (ConvNeXt: 1e-6); "
                                                   "changes the materialized weights only")}
    elementwise_inplace = True

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        if len(shape) not in (1, 3):
            raise ShapeError(f"layer_scale expects a feature map or a vector, got shape {shape}")
        return shape

    def params(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Params:
        return Params(weights=output[0])

    def cost(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Cost:
        return Cost(eltwise=numel(output))

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from archcalc.pytorch.modules import LayerScale as Module

        return Module(inputs[0], attrs["init"])
