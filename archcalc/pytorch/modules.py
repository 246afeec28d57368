"""Small ``nn.Module`` pieces the op builders return where PyTorch has no module.

Every module takes its inputs positionally (``module(*inputs)``), as the materialized
network calls it with the IR node's ordered ``inputs``.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class Activation(nn.Module):
    """An element-wise activation that may run in place.

    ``inplace`` is set by the materializer, not the builder: whether overwriting the
    input is safe depends on the schedule (the input must have no later reader).
    """

    _FUNCTIONS = {
        "relu": (torch.relu, torch.relu_),
        "relu6": (lambda x: F.hardtanh(x, 0.0, 6.0), lambda x: F.hardtanh_(x, 0.0, 6.0)),
        "hardswish": (F.hardswish, lambda x: F.hardswish(x, inplace=True)),
        "sigmoid": (torch.sigmoid, torch.sigmoid_),
        "hardsigmoid": (F.hardsigmoid, lambda x: F.hardsigmoid(x, inplace=True)),
        "silu": (F.silu, lambda x: F.silu(x, inplace=True)),
    }

    def __init__(self, kind: str, inplace: bool = False):
        super().__init__()
        self.kind, self.inplace = kind, inplace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out_of_place, in_place = self._FUNCTIONS[self.kind]
        return in_place(x) if self.inplace else out_of_place(x)

    def extra_repr(self) -> str:
        return f"{self.kind}, inplace={self.inplace}"


class Add(nn.Module):
    """Sum of equally shaped inputs (a new tensor; inputs are never overwritten)."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        total = inputs[0] + inputs[1]
        for extra in inputs[2:]:
            total.add_(extra)  # in place on the fresh sum: one allocation however many inputs
        return total


class Mul(nn.Module):
    """``x * gate`` (the gate may be (C, 1, 1), broadcast over space)."""

    def forward(self, x: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
        return x * gate


class Concat(nn.Module):
    """Concatenation along channels (dim 1 with the batch)."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.cat(inputs, dim=1)


class ChannelLayerNorm(nn.LayerNorm):
    """Layer norm over the channels at every position: torchvision's ``LayerNorm2d``
    (permute to (N, H, W, C), ``layer_norm`` over C, permute back), then made contiguous:
    torchvision hands on the channels-last result, on which a later flatten would copy
    where the analysis counts a view; here the copy happens inside this op, as its declared
    scratch (:meth:`archcalc.ops.pointwise.LayerNorm.scratch`). On (N, C) it is a plain
    ``nn.LayerNorm``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            return super().forward(x)
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2).contiguous()


class LayerScale(nn.Module):
    """``x * weight`` with one learned factor per channel (ConvNeXt's layer scale); the
    weight has shape (C, 1, 1) on a feature map (torchvision's ``layer_scale``), (C,) on a
    vector. ``inplace`` is the materializer's call, as for activations."""

    def __init__(self, shape: tuple, init: float, inplace: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.full((shape[0], *(1,) * (len(shape) - 1)), float(init)))
        self.inplace = inplace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul_(self.weight) if self.inplace else x * self.weight


class ChannelSlice(nn.Module):
    """``x[:, start:stop]``: a view of the input's storage (nothing is copied)."""

    def __init__(self, start: int, stop: int):
        super().__init__()
        self.start, self.stop = int(start), int(stop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, self.start:self.stop]

    def extra_repr(self) -> str:
        return f"channels [{self.start}, {self.stop})"


class ChannelChunk(nn.Module):
    """``x.chunk(chunks, dim=1)[index]``, as torchvision's ShuffleNetV2 splits (a view)."""

    def __init__(self, chunks: int, index: int):
        super().__init__()
        self.chunks, self.index = int(chunks), int(index)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.chunk(self.chunks, dim=1)[self.index]

    def extra_repr(self) -> str:
        return f"chunks={self.chunks}, index={self.index}"
