"""Pooling, resizing and shape-only ops, and the graph input."""
from __future__ import annotations

from typing import Sequence

from archcalc.ops.base import Attr, Cost, OpDef, Shape, ShapeError, numel, pair, pair_text, require_rank
from archcalc.ops.conv import resolve_padding
from archcalc.ops.registry import register


@register
class Input(OpDef):
    """The graph input (a feature map without the batch dimension), made from ``input:``.

    Shape: (channels, height, width).
    """

    kind = "input"
    internal = True
    attrs = {
        "channels": Attr(int, min=1, doc="input channels"),
        "height": Attr(int, min=1, doc="input height"),
        "width": Attr(int, min=1, doc="input width"),
    }
    min_inputs, max_inputs = 0, 0
    free_because = "the input is given"

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        return (attrs["channels"], attrs["height"], attrs["width"])


@register
class GlobalAvgPool(OpDef):
    """Mean over the whole spatial extent.

    Shape: (C, H, W) -> (C, 1, 1).
    Cost: pool = C * H * W adds.
    """

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
    """k_h x k_w pooling windows.

    Shape: (C, H_out, W_out), PyTorch's pooling size on each axis (:func:`pool_output_size`):
    floor((size + 2p - k) / s) + 1, or with ceil_mode rounded up, less one if the last window
    would start past the input and the left padding.
    Cost: pool = H_out * W_out * C * k_h * k_w (every window at its nominal size, also where it
    overlaps the padding or, with ceil_mode, runs past the input).
    """

    attrs = {
        "kernel": Attr(int, min=1, pair=True, doc="window size: k, or [k_h, k_w]"),
        "stride": Attr(int, default=0, min=0, pair=True, doc="stride: s or [s_h, s_w]; 0 means equal to the kernel"),
        "padding": Attr((int, str), default=0, pair=True,
                        doc="padding each side: an integer, [h, w], or 'same' (= (kernel-1)//2)"),
        "ceil_mode": Attr(bool, default=False,
                          doc="round the output size up (PyTorch's ceil_mode): a last, partial window is kept "
                              "when it starts inside the input or the left padding"),
    }

    def geometry(self, attrs: dict) -> tuple[tuple, tuple, tuple]:
        """(kernel, stride, padding) as (h, w) pairs, the stride defaulting to the kernel."""
        kernel = pair(attrs["kernel"])
        stride = tuple(s or k for s, k in zip(pair(attrs["stride"]), kernel))
        return kernel, stride, resolve_padding(self.kind, attrs["padding"], attrs["kernel"], 1)

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        require_rank(self.kind, shape, 3)
        kernel, stride, padding = self.geometry(attrs)
        if any(2 * p > k for p, k in zip(padding, kernel)):
            raise ShapeError(f"{self.kind}: padding {pair_text(padding)} is more than half the kernel "
                             f"{pair_text(kernel)}")
        out = tuple(pool_output_size(*axis, attrs["ceil_mode"]) for axis in zip(shape[1:], kernel, stride, padding))
        if min(out) < 1:
            raise ShapeError(f"{self.kind}: spatial size falls below 1 ({shape[1]}x{shape[2]} input, "
                             f"kernel {pair_text(kernel)})")
        return (shape[0], *out)

    def cost(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Cost:
        kh, kw = pair(attrs["kernel"])
        return Cost(pool=numel(output) * kh * kw)

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from torch import nn

        kernel, stride, padding = self.geometry(attrs)
        return self.torch_module(nn, attrs, kernel_size=kernel, stride=stride, padding=padding,
                                 ceil_mode=attrs["ceil_mode"])


def pool_output_size(size: int, kernel: int, stride: int, padding: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size (``pooling_output_shape`` in ATen's Pool.h):
    ``floor`` or, with ``ceil_mode``, ``ceil((size + 2p - (k - 1) - 1) / s) + 1``; in ceil
    mode the last window must start inside the input or the left padding, so one less
    when ``(out - 1) * s >= size + p``."""
    span = size + 2 * padding - (kernel - 1) - 1
    if not ceil_mode:
        return span // stride + 1
    out = (span + stride - 1) // stride + 1
    if (out - 1) * stride >= size + padding:
        out = out - 1
    return out


@register
class AvgPool(_WindowPool):
    """k_h x k_w average pooling, PyTorch's ``AvgPool2d``: with count_include_pad (the
    default) the divisor is the window clipped to the padded input, else the input elements
    in the window.

    Cost: pool = H_out * W_out * C * k_h * k_w adds.
    """

    kind = "avg_pool"
    attrs = {**_WindowPool.attrs,
             "count_include_pad": Attr(bool, default=True,
                                       doc="average over the padded window (PyTorch's default) or only the "
                                           "input elements in it")}

    @staticmethod
    def torch_module(nn, attrs: dict, **geometry):
        return nn.AvgPool2d(count_include_pad=attrs["count_include_pad"], **geometry)


@register
class MaxPool(_WindowPool):
    """k_h x k_w max pooling, PyTorch's ``MaxPool2d``.

    Cost: pool = H_out * W_out * C * k_h * k_w compares.
    """

    kind = "max_pool"

    @staticmethod
    def torch_module(nn, attrs: dict, **geometry):
        return nn.MaxPool2d(**geometry)


def adaptive_windows(size: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive pooling windows along one axis: window ``i`` covers
    ``[floor(i * size / out), ceil((i + 1) * size / out))``."""
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


@register
class AdaptiveAvgPool(OpDef):
    """Average pooling to an output size, PyTorch's ``AdaptiveAvgPool2d`` (VGG and AlexNet
    pool to 7x7 / 6x6 before their classifiers). (No adaptive max pool: PyTorch's kernel
    also writes an int64 index tensor, which the memory analysis does not model.)

    Shape: (C, h, w) for size [h, w] (or s x s).
    Cost: pool = C * (sum of the window heights) * (sum of the window widths), one add per
    window element; window i on an axis covers [floor(i * in / out), ceil((i + 1) * in / out)),
    so windows overlap when the size does not divide.
    """

    kind = "adaptive_avg_pool"
    attrs = {"size": Attr(int, min=1, pair=True, doc="output size: s (s x s), or [h, w]")}

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        require_rank(self.kind, shape, 3)
        return (shape[0], *pair(attrs["size"]))

    def cost(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Cost:
        channels, height, width = inputs[0]
        rows = sum(end - start for start, end in adaptive_windows(height, output[1]))
        columns = sum(end - start for start, end in adaptive_windows(width, output[2]))
        return Cost(pool=channels * rows * columns)

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from torch import nn

        return nn.AdaptiveAvgPool2d(pair(attrs["size"]))


@register
class UpsampleBilinear(OpDef):
    """Bilinear resize to a square ``size`` or by an integer ``factor`` (exactly one of them).

    Shape: (C, H, W) -> (C, size, size) or (C, H * factor, W * factor).
    Cost: resize = 4 taps per output element (fvcore's convention for upsample_bilinear2d).
    """

    kind = "upsample_bilinear"
    attrs = {
        "size": Attr(int, default=0, min=0, doc="output height and width; 0 = use factor"),
        # not "scale": that word is the layer-row key for width scaling
        "factor": Attr(int, default=0, min=0, doc="integer upsampling factor; 0 = use size"),
        "align_corners": Attr(bool, default=False, doc="PyTorch's align_corners (changes values, not the cost)"),
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
    """Flattens a feature map into a vector (a view).

    Shape: (C, H, W) -> (C * H * W,).
    """

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
    """Dropout, the identity at inference.

    Shape: unchanged.
    """

    kind = "dropout"
    attrs = {"rate": Attr(float, default=0.0, min=0.0, doc="drop probability in training (< 1)")}
    free_because = "dropout is the identity at inference"
    aliases_input = True

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        if attrs["rate"] >= 1:
            raise ShapeError(f"dropout rate must be < 1, got {attrs['rate']}")
        return inputs[0]

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):
        from torch import nn

        return nn.Dropout(attrs["rate"])  # the identity in eval mode
