"""PyTorch modules for the ops of archcalc/ops/detection.py that torch has no module for."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class L2Norm(nn.Module):
    """SSD's Normalize: x / (||x||_2 over channels + eps) * scale[c] (scale learned, one per channel)."""

    def __init__(self, channels: int, eps: float = 1e-10, init: float = 20.0):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.full((channels,), init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Computed inside the output buffer so that the op allocates its output and nothing else
        # (archcalc's memory analysis, which `archcalc verify` checks byte for byte, gives it no
        # scratch): the per-position norm goes into channel 0, divides the other channels, then
        # channel 0 itself, and the scale multiplies in place.
        out = torch.empty_like(x)
        norm = out[:, :1]
        torch.linalg.vector_norm(x, dim=1, keepdim=True, out=norm)
        norm.add_(self.eps)
        torch.div(x[:, 1:], norm, out=out[:, 1:])
        torch.div(x[:, :1], norm, out=norm)
        return out.mul_(self.weight.view(1, -1, 1, 1))


class Pad(nn.Module):
    """Zero padding per side; negative amounts crop (``F.pad`` accepts both)."""

    def __init__(self, left: int, right: int, top: int, bottom: int):
        super().__init__()
        self.pads = (left, right, top, bottom)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self.pads)
