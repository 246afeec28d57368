"""Ops that join, split or reorder tensors: add, mul, concat, channel slices, channel shuffle."""
from __future__ import annotations

from typing import Sequence

from archcalc.ops.base import Attr, Cost, OpDef, Shape, ShapeError, numel, require_same_shapes
from archcalc.ops.registry import register


@register
class Add(OpDef):
    """Element-wise sum of two or more equally shaped inputs (residual connections).

    Shape: the common shape of the inputs.
    Cost: eltwise = (number of inputs - 1) * numel(output) adds.
    """

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
    """Element-wise product of two inputs (squeeze-and-excitation's gating).

    Shape: the first input's shape; the second is equal to it or a (C, 1, 1) gate broadcast over space.
    Cost: eltwise = numel(output) multiplies.
    """

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
    """Concatenation of two or more inputs along channels (joins branches).

    Shape: (C_1 + C_2 + ..., H, W); the inputs must agree in every other dimension.
    """

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
    """ShuffleNet's channel shuffle: reshape to (groups, C / groups), transpose, flatten.

    Shape: unchanged; groups must divide C.
    """

    kind = "channel_shuffle"
    attrs = {"groups": Attr(int, min=1, doc="number of groups the channels are interleaved from")}
    free_because = "a shuffle is a permutation of channels, no arithmetic"

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        if shape[0] % attrs["groups"]:
            raise ShapeError(f"channel_shuffle: groups={attrs['groups']} does not divide the {shape[0]} channels")
        return shape

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from torch import nn

        return nn.ChannelShuffle(attrs["groups"])


@register
class Slice(OpDef):
    """The channel range ``[start, stop)`` of its input, PyTorch's ``x[:, start:stop]``.

    Shape: (stop - start, H, W) (or (stop - start,) on a vector); needs 0 <= start < stop <= C.
    Cost: none: the result is a view of the input, no copy (the input's buffer stays alive
    while the slice is read).
    """

    kind = "slice"
    attrs = {
        "start": Attr(int, default=0, min=0, doc="first channel taken (0-based)"),
        "stop": Attr(int, min=1, doc="one past the last channel taken, e.g. '${c_in}' or '${c_in / 2}'"),
    }
    free_because = "a channel slice is a view of its input"
    aliases_input = True

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        start, stop = attrs["start"], attrs["stop"]
        if not start < stop <= shape[0]:
            raise ShapeError(f"slice: channels [{start}, {stop}) are not a non-empty range of the {shape[0]} "
                             "input channels (need 0 <= start < stop <= channels)")
        return (stop - start, *shape[1:])

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from archcalc.pytorch.modules import ChannelSlice

        return ChannelSlice(attrs["start"], attrs["stop"])


def chunk_range(channels: int, chunks: int, index: int) -> tuple[int, int]:
    """Channels ``[start, stop)`` of ``x.chunk(chunks, dim=1)[index]``: PyTorch's chunks are
    ``ceil(C / chunks)`` channels each, the last one smaller (and fewer chunks than asked
    when C is small, e.g. 5 channels in 4 chunks gives 3 of sizes 2, 2, 1)."""
    size = -(-channels // chunks)
    start = index * size
    if start >= channels:
        count = -(-channels // size)
        raise ShapeError(f"chunk: {channels} channels in chunks of {size} (ceil({channels} / {chunks})) give "
                         f"{count} chunk(s), so there is no chunk {index}")
    return start, min(channels, start + size)


@register
class Chunk(OpDef):
    """One chunk of its input's channels, PyTorch's ``x.chunk(chunks, dim=1)[index]``
    (ShuffleNetV2's channel split is ``chunks: 2``, index 0 and 1).

    Shape: (size, H, W), chunks of ceil(C / chunks) channels, the last one what is left.
    Cost: none: a chunk is a view of the input, as ``torch.chunk`` returns views.
    """

    kind = "chunk"
    attrs = {
        "chunks": Attr(int, min=1, doc="how many chunks the channels are cut into"),
        "index": Attr(int, default=0, min=0, doc="which chunk (0-based)"),
    }
    free_because = "a chunk is a view of its input"
    aliases_input = True

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        start, stop = chunk_range(shape[0], attrs["chunks"], attrs["index"])
        return (stop - start, *shape[1:])

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from archcalc.pytorch.modules import ChannelChunk

        return ChannelChunk(attrs["chunks"], attrs["index"])
