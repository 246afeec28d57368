"""Per-element ops: normalization, activations and layer scale (no MAdds in the headline
convention)."""
from __future__ import annotations

from typing import Sequence

from archcalc.ops.base import Attr, Cost, OpDef, Params, Shape, numel, require_map_or_vector
from archcalc.ops.registry import register


@register
class BatchNorm(OpDef):
    """Batch norm over channels, folded at inference to ``x * scale + shift``.

    Shape: unchanged; a (C, H, W) feature map or a (C,) vector.
    Params: gamma and beta (2 per channel, trainable) plus running mean and variance (2 per channel, buffers).
    Cost: bn = 2 ops (a multiply and an add) per element.
    """

    kind = "batch_norm"
    attrs = {"eps": Attr(float, default=1e-3, min=0.0, doc="added to the variance (1e-3 is slim's MobileNet value)")}
    elementwise_inplace = True

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        return require_map_or_vector(self.kind, inputs[0])

    def params(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Params:
        return Params(bn_affine=2 * output[0], bn_stats=2 * output[0])

    def cost(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Cost:
        return Cost(bn=2 * numel(output))

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from torch import nn

        norm = nn.BatchNorm2d if len(inputs[0]) == 3 else nn.BatchNorm1d
        return norm(inputs[0][0], eps=attrs["eps"])


class _Activation(OpDef):
    """An element-wise activation; ``ops_per_element`` is its documented cost.

    Shape: unchanged.
    """

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
    """``max(x, 0)``.

    Cost: act = 1 op per element.
    """

    kind = "relu"
    ops_per_element = 1


@register
class ReLU6(_Activation):
    """``min(max(x, 0), 6)``.

    Cost: act = 2 ops per element.
    """

    kind = "relu6"
    ops_per_element = 2


@register
class HardSwish(_Activation):
    """``x * relu6(x + 3) / 6`` (MobileNetV3).

    Cost: act = 5 ops per element (add, max, min, multiply, scale).
    """

    kind = "hardswish"
    ops_per_element = 5


@register
class HardSigmoid(_Activation):
    """``relu6(x + 3) / 6``, MobileNetV3's gate (PyTorch's ``hardsigmoid``).

    Shape: the input's shape.
    Cost: act = 4 ops per element (add, max, min, scale).
    """

    kind = "hardsigmoid"
    ops_per_element = 4


@register
class SiLU(_Activation):
    """``x * sigmoid(x)``, swish, EfficientNet's activation (PyTorch's ``silu``).

    Shape: the input's shape.
    Cost: act = 5 ops per element (the sigmoid's 4 and a multiply).
    """

    kind = "silu"
    ops_per_element = 5


@register
class GELU(_Activation):
    """``x * Phi(x)``, PyTorch's ``nn.GELU`` (ConvNeXt's activation); never in place (PyTorch
    has no in-place GELU).

    Shape: the input's shape.
    Cost: act = 5 ops per element with approximate none (``x * 0.5 * (1 + erf(x / sqrt 2))``:
    divide, erf, add, 2 multiplies); 9 with tanh (``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715
    x^3)))``: cube (2 multiplies), multiply, add, multiply, tanh, add, 2 multiplies).
    """

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
    """``1 / (1 + exp(-x))``.

    Cost: act = 4 ops per element (negate, exp, add, divide).
    """

    kind = "sigmoid"
    ops_per_element = 4


@register
class Identity(_Activation):
    """Passes its input through (a placeholder, e.g. an activation switched off)."""

    kind = "identity"
    ops_per_element = 0
    free_because = "identity does no arithmetic"
    aliases_input = True

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from torch import nn

        return nn.Identity()


@register
class LayerNorm(OpDef):
    """Layer norm over the channels at every position, ConvNeXt's ``LayerNorm2d`` (on a
    vector, over its N entries); not folded into a conv, never in place.

    Shape: the input's shape, (C, H, W) or (N,).
    Params: 2C, a weight and a bias per channel, counted with the normalization layers' params
    (as batch norm's gamma and beta: "params without BN" leaves them out).
    Cost: bn = 8 ops per element (the normalization term): the mean (1 add), the variance
    (subtract, square, add), normalizing (subtract, multiply by the reciprocal standard
    deviation), the affine multiply and add.
    Memory: PyTorch's ``layer_norm`` over the permuted map writes it channels-last; the
    module copies it to the (C, H, W) layout every other op (and a flatten view) expects, so
    a transient tensor of the output's size lives while the op runs (its scratch; none on
    a (C, 1, 1) map, whose two layouts coincide).
    """

    kind = "layer_norm"
    attrs = {"eps": Attr(float, default=1e-6, min=0.0, doc="added to the variance (ConvNeXt's 1e-6 by default)")}
    OPS_PER_ELEMENT = 8

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        return require_map_or_vector(self.kind, inputs[0])

    def params(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Params:
        return Params(bn_affine=2 * output[0])

    def cost(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Cost:
        return Cost(bn=self.OPS_PER_ELEMENT * numel(output))

    def scratch(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> int:
        # the channels-last result before the copy; on (C, 1, 1) or (1, H, W) that layout is
        # already contiguous, and PyTorch's contiguous() then copies nothing
        if len(output) == 3 and output[0] > 1 and output[1] * output[2] > 1:
            return numel(output)
        return 0

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from archcalc.pytorch.modules import ChannelLayerNorm

        return ChannelLayerNorm(inputs[0][0], eps=attrs["eps"])


@register
class LayerScale(OpDef):
    """A learned per-channel scale ``x * gamma``, ConvNeXt's layer scale; may overwrite its input.

    Shape: the input's shape.
    Params: C (one gamma per channel, counted as weights).
    Cost: eltwise = 1 multiply per element.
    """

    kind = "layer_scale"
    attrs = {"init": Attr(float, default=1e-6, doc="initial value of every gamma (ConvNeXt: 1e-6); "
                                                   "changes the materialized weights only")}
    elementwise_inplace = True

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        return require_map_or_vector(self.kind, inputs[0])

    def params(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Params:
        return Params(weights=output[0])

    def cost(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Cost:
        return Cost(eltwise=numel(output))

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from archcalc.pytorch.modules import LayerScale as Module

        return Module(inputs[0], attrs["init"])
