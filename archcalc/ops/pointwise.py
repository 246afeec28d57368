"""Per-element ops: batch norm and activations (no MAdds in the headline convention)."""
from __future__ import annotations

from typing import Sequence

from archcalc.ops.base import Attr, Cost, OpDef, Params, Shape, ShapeError, numel
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
