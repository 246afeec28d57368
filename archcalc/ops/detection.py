"""Ops of the detectors and cell networks that the paper compares against (Tables 4 and 6):
leaky ReLU (darknet), space-to-depth (darknet's reorg), L2 normalization with a learned
per-channel scale (SSD's conv4_3_norm), and explicit zero padding / cropping (NASNet's
factorized reduction shifts its second path by one pixel)."""
from __future__ import annotations

from typing import Sequence

from archcalc.ops.base import Attr, Cost, OpDef, Params, Shape, ShapeError, numel, require_rank
from archcalc.ops.pointwise import _Activation
from archcalc.ops.registry import register


@register
class LeakyReLU(_Activation):
    """``max(x, slope * x)``: a multiply and a max, 2 ops per element.

    Shape: the input's shape.
    Cost: act = 2 ops per element.
    """

    kind = "leaky_relu"
    attrs = {"slope": Attr(float, default=0.1, min=0.0, doc="negative slope (darknet's leaky: 0.1)")}
    ops_per_element = 2

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from torch import nn

        # nn.LeakyReLU has `inplace`, which the materializer sets when the schedule allows it
        return nn.LeakyReLU(attrs["slope"])


@register
class SpaceToDepth(OpDef):
    """Moves each ``stride`` x ``stride`` patch into channels (darknet ``[reorg] stride``, TF
    ``space_to_depth`` block_size, PyTorch ``PixelUnshuffle``).

    Shape: (C * stride², H / stride, W / stride); H and W must be multiples of stride.
    Cost: none (a permutation of elements).

    darknet's reorg orders the moved channels differently from PixelUnshuffle; the order
    changes no count, shape or memory.
    """

    kind = "space_to_depth"
    attrs = {"stride": Attr(int, default=2, min=1, doc="side of the patch moved into channels")}
    free_because = "space-to-depth permutes elements, no arithmetic"

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        require_rank(self.kind, shape, 3)
        stride = attrs["stride"]
        c, h, w = shape
        if h % stride or w % stride:
            raise ShapeError(f"space_to_depth: stride {stride} does not divide the {h}x{w} map")
        return (c * stride * stride, h // stride, w // stride)

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from torch import nn

        return nn.PixelUnshuffle(attrs["stride"])


@register
class L2Norm(OpDef):
    """L2 normalization across channels at each position, times a learned per-channel scale
    (SSD's ``Normalize`` layer on conv4_3, ``across_spatial: false``, ``channel_shared: false``).

    Shape: the input's shape.
    Cost: eltwise = 4 ops per element (square, accumulate, divide, scale) + one square root per position.
    Params: C scale weights.
    """

    kind = "l2_norm"
    attrs = {"eps": Attr(float, default=1e-10, min=0.0, doc="added to the norm (Caffe's Normalize default)"),
             "init": Attr(float, default=20.0, doc="initial scale (SSD's scale_filler 20)")}

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        require_rank(self.kind, shape, 3)
        return shape

    def params(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Params:
        return Params(weights=output[0])

    def cost(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Cost:
        return Cost(eltwise=4 * numel(output) + output[1] * output[2])

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from archcalc.pytorch.detection import L2Norm

        return L2Norm(inputs[0][0], eps=attrs["eps"], init=attrs["init"])


@register
class Pad(OpDef):
    """Zero padding per side; a negative amount crops that side (TF's ``tf.pad`` followed by a
    slice, as NASNet's factorized reduction shifts its second path: top/left -1, bottom/right +1).

    Shape: (C, H + top + bottom, W + left + right).
    Cost: none (data movement).
    """

    kind = "pad"
    attrs = {side: Attr(int, default=0, doc=f"zeros added at the {side} (negative: rows/columns cropped)")
             for side in ("top", "bottom", "left", "right")}
    free_because = "padding and cropping move data, no arithmetic"

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        require_rank(self.kind, shape, 3)
        c, h, w = shape
        out = (h + attrs["top"] + attrs["bottom"], w + attrs["left"] + attrs["right"])
        if min(out) < 1:
            raise ShapeError(f"pad: the {h}x{w} map becomes {out[0]}x{out[1]}")
        return (c, *out)

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from archcalc.pytorch.detection import Pad

        return Pad(attrs["left"], attrs["right"], attrs["top"], attrs["bottom"])
