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
