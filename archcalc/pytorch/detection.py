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
        norm = x.pow(2).sum(dim=1, keepdim=True).sqrt() + self.eps
        return x / norm * self.weight.view(1, -1, 1, 1)


class Pad(nn.Module):
    """Zero padding per side; negative amounts crop (``F.pad`` accepts both)."""

    def __init__(self, left: int, right: int, top: int, bottom: int):
        super().__init__()
        self.pads = (left, right, top, bottom)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self.pads)
