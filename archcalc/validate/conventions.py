"""Counting conventions that are not switches of :class:`~archcalc.analysis.convention.Convention`:
slim V1's derived BN variable count, TF's space-to-batch atrous convolutions, DeepLab's
multi-scale + flip inference."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Iterable

from archcalc.validate.core import NO_BN, TRAINABLE, Context, total

if TYPE_CHECKING:  # pragma: no cover
    from archcalc.model import Model

# DeepLab's multi-scale test inputs (paper Appendix B, Figure 8 caption) and flip.
MF_SCALES = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)


def params_slim_v1(model: "Model") -> int:
    """Slim V1 checkpoints count 3 BN variables per channel (CONVENTIONS.md §1, derived)."""
    channels = (model.totals(TRAINABLE)["params"] - model.totals(NO_BN)["params"]) // 2
    return model.totals(NO_BN)["params"] + 3 * channels


def space_to_batch_extra(model: "Model") -> int:
    """Extra MAdds of TensorFlow's dilated convolutions.

    TF 1.x runs a conv with ``dilation_rate`` r > 1 through ``with_space_to_batch``
    (tensorflow/python/ops/nn_ops.py, ``_WithSpaceToBatch``): SAME becomes VALID with base
    paddings of (k-1)*r, and ``array_ops.required_space_to_batch_paddings`` pads further to a
    multiple of r, so a stride-1 conv computes ceil(H/r)*r x ceil(W/r)*r outputs on the
    ``space_to_batch_nd`` tensor before ``batch_to_space_nd`` crops them back to H x W. Profilers that count the
    Conv2D on the space-to-batch tensor therefore see more MAdds than the H x W output needs.
    """
    extra = 0
    for name in model.order:
        node = model.node(name)
        rate = node["attrs"].get("dilation", 1) if node["op"] in ("conv2d", "depthwise_conv2d") else 1
        if rate > 1:
            _, h, w = node["shape"]
            padded = math.ceil(h / rate) * rate * math.ceil(w / rate) * rate
            extra += (padded - h * w) * node["cost"].madds // (h * w)
    return extra


def mf_resolutions(base: int = 513, scales: Iterable[float] = MF_SCALES) -> list[int]:
    """DeepLab's scaled input sizes: ``scale_dimension`` = int((dim - 1) * scale + 1)
    (research/deeplab/model.py)."""
    return [int((base - 1) * scale + 1) for scale in scales]


def mf_madds(ctx: Context, spec: str, space_to_batch: bool = False, flip: bool = True) -> int:
    """Multi-scale (+ flip) inference cost: the network runs once per scale, twice with flip.
    An inference strategy, not a new network: the sum of the single-scale costs."""
    runs = 2 if flip else 1
    cost = 0
    for resolution in mf_resolutions():
        model = ctx.model(spec, resolution=resolution)
        cost += total(model, "madds") + (space_to_batch_extra(model) if space_to_batch else 0)
    return runs * cost


