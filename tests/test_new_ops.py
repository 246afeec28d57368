"""The ops added for today's mobile networks (issue 9): each op's shape, params and cost
against an independent formula (arithmetic beside it) and, where torch is installed, the
materialized module against PyTorch's own functional form and `verify`."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

import archcalc
from archcalc.analysis.convention import Convention


def spec(tmp_path: Path, text: str, **overrides) -> archcalc.Model:
    path = tmp_path / "net.yaml"
    path.write_text(text)
    return archcalc.load(path, **overrides)


def verify_ok(model: archcalc.Model) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from archcalc.pytorch.verify import verify

    result = verify(model)
    assert result.ok, result.failures()[:5]


# ------------------------------------------------------------------ activations, norms, scale
ACTIVATIONS = """
input: {channels: 6, resolution: 5}
layers:
  - {name: hs, op: hardsigmoid}
  - {name: si, op: silu}
  - {name: ge, op: gelu}
  - {name: gt, op: gelu, approximate: tanh}
  - {name: ln, op: layer_norm}
  - {name: ls, op: layer_scale, init: 0.5}
  - {name: conv, op: conv2d, out: 4, kernel: 1}
"""


def test_activation_norm_and_scale_counts(tmp_path):
    model = spec(tmp_path, ACTIVATIONS)
    n = 6 * 5 * 5  # elements of every tensor before the conv
    cost = {name: model.node(name)["cost"] for name in ("hs", "si", "ge", "gt", "ln", "ls")}
    assert cost["hs"].act == 4 * n  # relu6(x + 3) / 6: add, max, min, scale
    assert cost["si"].act == 5 * n  # sigmoid (4) and a multiply
    assert cost["ge"].act == 5 * n  # x * 0.5 * (1 + erf(x / sqrt 2))
    assert cost["gt"].act == 9 * n  # tanh form: x^3 (2), *, +, *, tanh, +, *, *
    assert cost["ln"].bn == 8 * n and cost["ls"].eltwise == n
    assert model.node("ln")["params"].bn_affine == 2 * 6  # weight and bias per channel
    assert model.node("ls")["params"].weights == 6  # one gamma per channel
    totals = model.totals(Convention(bn_params="affine"))
    # conv 6*4 weights + layer scale 6 (+ layer norm 12 only with normalization params)
    assert totals["params_without_bn"] == 6 * 4 + 6 and totals["params"] == 6 * 4 + 6 + 12
    assert all(model.node(name)["cost"].madds == 0 for name in ("hs", "si", "ge", "gt", "ln", "ls"))


def test_activation_norm_and_scale_compute_pytorchs_functions(tmp_path):
    torch = pytest.importorskip("torch")
    from torch.nn import functional as F

    model = spec(tmp_path, ACTIVATIONS)
    net = archcalc.materialize(model, inplace=False)
    x = torch.randn(2, 6, 5, 5)
    with torch.no_grad():
        weight, bias = torch.randn(6), torch.randn(6)
        net.ln.weight.copy_(weight)
        net.ln.bias.copy_(bias)
        y = F.gelu(F.gelu(F.silu(F.hardsigmoid(x))), approximate="tanh")
        # torchvision's LayerNorm2d written out: normalize over C at every position
        mean = y.mean(1, keepdim=True)
        var = y.var(1, unbiased=False, keepdim=True)
        y = (y - mean) / torch.sqrt(var + 1e-6) * weight[:, None, None] + bias[:, None, None]
        y = net.conv(y * 0.5)
        assert torch.allclose(net(x), y, atol=1e-5)


def test_activation_norm_and_scale_verify(tmp_path):
    verify_ok(spec(tmp_path, ACTIVATIONS))
