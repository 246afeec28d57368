"""Ops that join or reorder tensors: add, mul, concat, channel shuffle."""
from __future__ import annotations

from typing import Sequence

from archcalc.ops.base import Attr, Cost, OpDef, Shape, ShapeError, numel, require_same_shapes
from archcalc.ops.registry import register


@register
class Add(OpDef):
    """Element-wise sum of equally shaped inputs (residual connections):
    ``(n_inputs - 1) * numel`` adds."""

    kind = "add"
    min_inputs, max_inputs = 2, None

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        require_same_shapes(self.kind, inputs)
        return inputs[0]

    def cost(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Cost:
        return Cost(eltwise=(len(inputs) - 1) * numel(output))

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from archcalc.pytorch.modules import Add

        return Add()


@register
class Mul(OpDef):
    """Element-wise product of two inputs; the second may be a (C, 1, 1) gate that is
    broadcast over space (squeeze-and-excitation). ``numel(output)`` multiplies."""

    kind = "mul"
    min_inputs, max_inputs = 2, 2

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        x, gate = inputs
        if gate == x or (len(x) == 3 and gate == (x[0], 1, 1)):
            return x
        raise ShapeError(f"mul needs equal shapes or a (C, 1, 1) gate, got {x} and {gate}")

    def cost(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Cost:
        return Cost(eltwise=numel(output))

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from archcalc.pytorch.modules import Mul

        return Mul()


@register
class Concat(OpDef):
    """Concatenation along channels; inputs must agree in every other dimension."""

    kind = "concat"
    min_inputs, max_inputs = 2, None
    free_because = "concatenation moves data but does no arithmetic"

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        rest = {shape[1:] for shape in inputs}
        if len(rest) != 1:
            raise ShapeError("concat needs inputs of equal spatial size, got " + " and ".join(map(str, inputs)))
        return (sum(shape[0] for shape in inputs), *inputs[0][1:])

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from archcalc.pytorch.modules import Concat

        return Concat()


@register
class ChannelShuffle(OpDef):
    """ShuffleNet's channel shuffle: reshape (g, C/g) -> transpose -> flatten."""

    kind = "channel_shuffle"
    attrs = {"groups": Attr(int, min=1)}
    free_because = "a shuffle is a permutation of channels, no arithmetic"

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        if len(shape) != 3:  # as torch.nn.ChannelShuffle: a flat vector has no channel axis to shuffle
            raise ShapeError(f"channel_shuffle needs a C x H x W feature map, got a flat vector of {shape[0]}")
        if shape[0] % attrs["groups"]:
            raise ShapeError(f"channel_shuffle: groups={attrs['groups']} does not divide the {shape[0]} channels")
        return shape

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from torch import nn

        return nn.ChannelShuffle(attrs["groups"])
