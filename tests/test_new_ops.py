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


# ------------------------------------------------------------------ non-square geometry
def test_non_square_kernels_strides_padding_dilation(tmp_path):
    model = spec(tmp_path, """
input: {channels: 4, resolution: 17}
layers:
  - {name: a, op: conv2d, out: 8, kernel: [1, 7]}                      # same: pad [0, 3]
  - {name: b, op: conv2d, out: 6, kernel: [7, 1], stride: [2, 1], padding: [3, 0]}
  - {name: c, op: depthwise_conv2d, kernel: [3, 5], dilation: [2, 1]}   # same: pad [2, 2]
  - {name: d, block: conv_bn_act, c: 4, k: [1, 3], s: [1, 2], act: relu, norm: batch_norm}
  - {name: e, op: max_pool, kernel: [3, 2], stride: [1, 2]}
""")
    # a: 17x17, 1*7*4*8 weights; b: H (17+6-6-1)//2+1 = 9, W 17; c: H (9+4-4-1)+1 = 9, W (17+4-4-1)+1 = 17
    assert model.node("a")["shape"] == (8, 17, 17) and model.node("a")["params"].weights == 1 * 7 * 4 * 8
    assert model.node("a")["cost"].madds == 17 * 17 * 1 * 7 * 4 * 8
    assert model.node("b")["shape"] == (6, 9, 17) and model.node("b")["cost"].madds == 9 * 17 * 7 * 1 * 8 * 6
    assert model.node("c")["shape"] == (6, 9, 17) and model.node("c")["params"].weights == 3 * 5 * 6
    # d: 1x3 kernel, pad [0, 1], stride [1, 2]: H 9, W (17+2-2-1)//2+1 = 9
    assert model.node("d.conv")["shape"] == (4, 9, 9) and model.node("d.conv")["cost"].madds == 9 * 9 * 3 * 6 * 4
    # e: H (9-3)//1+1 = 7, W (9-2)//2+1 = 4; 3*2 compares per output
    assert model.node("e")["shape"] == (4, 7, 4) and model.node("e")["cost"].pool == 4 * 7 * 4 * 6
    verify_ok(model)


# ------------------------------------------------------------------ ceil_mode
@pytest.mark.parametrize("size", [13, 14, 27, 54, 55, 111, 112, 113])
@pytest.mark.parametrize("k, s, p", [(3, 2, 0), (3, 2, 1), (2, 2, 0), (3, 1, 1), (5, 3, 2), (7, 4, 3)])
def test_ceil_mode_matches_pytorch(size, k, s, p):
    torch = pytest.importorskip("torch")
    from archcalc.ops.spatial import pool_output_size

    x = torch.zeros(1, 1, size, size)
    for ceil in (False, True):
        expected = torch.nn.MaxPool2d(k, s, p, ceil_mode=ceil)(x).shape[-1]
        assert pool_output_size(size, k, s, p, ceil) == expected, (size, k, s, p, ceil)


def test_ceil_mode_last_window_must_start_inside():
    from archcalc.ops.spatial import pool_output_size

    # size 5, kernel 2, stride 2, no padding: ceil((5 - 2) / 2) + 1 = 3 windows starting at 0, 2, 4
    assert pool_output_size(5, 2, 2, 0, True) == 3
    # size 4, kernel 3, stride 3, padding 1: ceil((4 + 2 - 3) / 3) + 1 = 2; the second window
    # starts at -1 + 3 = 2 < 4 + 1, so it stays
    assert pool_output_size(4, 3, 3, 1, True) == 2
    # size 4, kernel 2, stride 3, padding 1: ceil((4 + 2 - 2) / 3) + 1 = 3, but the third window
    # would start at -1 + 6 = 5 >= 4 + 1 (inside the right padding only): dropped
    assert pool_output_size(4, 2, 3, 1, True) == 2


SQUEEZE_POOLS = """
input: {channels: 3, resolution: 227}
layers:
  - {name: conv, op: conv2d, out: 8, kernel: 7, stride: 2, padding: 0}
  - {name: pool, op: max_pool, kernel: 3, stride: 2, ceil_mode: true}
  - {name: avg, op: avg_pool, kernel: 3, stride: 2, padding: 1, ceil_mode: true, count_include_pad: false}
  - {name: fc, op: conv2d, out: 4, kernel: 1}
"""


def test_ceil_mode_pools_in_a_network(tmp_path):
    model = spec(tmp_path, SQUEEZE_POOLS)
    # conv: (227 - 7)//2 + 1 = 111; pool: ceil((111 - 3)/2) + 1 = 55 (floor mode would give 55 too)
    assert model.node("pool")["shape"] == (8, 55, 55)
    # avg: ceil((55 + 2 - 3)/2) + 1 = 28; the 28th window starts at -1 + 54 = 53 < 56: kept
    assert model.node("avg")["shape"] == (8, 28, 28)
    assert model.node("avg")["cost"].pool == 8 * 28 * 28 * 9
    at_230 = spec(tmp_path, SQUEEZE_POOLS, resolution=230)
    # conv: (230 - 7)//2 + 1 = 112; ceil((112 - 3)/2) + 1 = 56 where floor mode gives 55
    assert at_230.node("pool")["shape"] == (8, 56, 56)
    verify_ok(model)
    verify_ok(at_230)


def test_avg_pool_count_include_pad_is_pytorchs(tmp_path):
    torch = pytest.importorskip("torch")
    model = spec(tmp_path, """
input: {channels: 2, resolution: 6}
layers:
  - {name: inc, op: avg_pool, kernel: 3, stride: 2, padding: 1, ceil_mode: true}
  - {name: exc, op: avg_pool, kernel: 3, stride: 2, padding: 1, ceil_mode: true, count_include_pad: false, from: input}
  - {name: out, op: concat, from: [inc, exc]}
""")
    net = archcalc.materialize(model)
    x = torch.rand(1, 2, 6, 6)
    ones = torch.ones(1, 2, 6, 6)
    with torch.no_grad():
        y = net(x)
        corner = x[0, 0, :2, :2].sum()
        assert torch.isclose(y[0, 0, 0, 0], corner / 9)  # padding counted: 3x3 divisor
        assert torch.isclose(y[0, 2, 0, 0], corner / 4)  # padding not counted: 4 input elements
    # ceil((6 + 2 - 3) / 2) + 1 = 4; the 4th window starts at -1 + 6 = 5 < 6 + 1 (inside): kept
    assert model.node("inc")["shape"] == (2, 4, 4) == tuple(net.inc(ones).shape[1:])


# ------------------------------------------------------------------ adaptive pools
def windows_total(size: int, out: int) -> int:
    """Sum of PyTorch's adaptive window lengths, written with math.floor/ceil on fractions."""
    return sum(math.ceil((i + 1) * size / out) - math.floor(i * size / out) for i in range(out))


@pytest.mark.parametrize("resolution", [160, 224, 227, 256])
def test_adaptive_avg_pool_shape_and_cost(tmp_path, resolution):
    model = spec(tmp_path, """
input: {channels: 3, resolution: 224}
layers:
  - {name: conv, op: conv2d, out: 8, kernel: 3, stride: 32, padding: 1}
  - {name: pool, op: adaptive_avg_pool, size: 7}
  - {name: flat, op: flatten}
  - {name: fc, op: linear, out: 10}
""", resolution=resolution)
    h = (resolution + 2 - 3) // 32 + 1  # 7 at 224, 5 at 160, 8 at 227 and 256
    assert model.node("pool")["shape"] == (8, 7, 7)
    assert model.node("pool")["cost"].pool == 8 * windows_total(h, 7) ** 2
    assert model.node("fc")["params"].weights == 8 * 7 * 7 * 10  # VGG's classifier input stays 7x7xC


def test_adaptive_pool_non_square(tmp_path):
    model = spec(tmp_path, """
input: {channels: 3, resolution: 10}
layers:
  - {name: avg, op: adaptive_avg_pool, size: [3, 4]}
  - {name: sq, op: adaptive_avg_pool, size: 4, from: input}
  - {name: a, op: conv2d, out: 2, kernel: 1, from: avg}
  - {name: b, op: conv2d, out: 2, kernel: 1, from: sq}
outputs: [a, b]
""")
    # rows of 10 into 3: [0,4) [3,7) [6,10) = 12; columns into 4: [0,3) [2,5) [5,8) [7,10) = 12
    assert windows_total(10, 3) == 12 and windows_total(10, 4) == 12
    assert model.node("avg")["shape"] == (3, 3, 4) and model.node("avg")["cost"].pool == 3 * 12 * 12
    assert model.node("sq")["shape"] == (3, 4, 4) and model.node("sq")["cost"].pool == 3 * 12 * 12
    verify_ok(model)


# ------------------------------------------------------------------ the closed-form sweep
SWEEPABLE = """
input: {channels: 3, resolution: 64}
classes: 10
rounding: {channels: make_divisible, divisor: 8, min_depth: 8}
layers:
  - {name: stem, op: conv2d, out: 16, kernel: [3, 5], stride: 2, padding: [1, 2]}
  - {name: pool, op: max_pool, kernel: 3, stride: 2, ceil_mode: true}
  - {name: act, op: hardsigmoid}
  - {name: avg, op: avg_pool, kernel: [2, 3], stride: 2, padding: [1, 1], ceil_mode: true, count_include_pad: false}
  - {name: ln, op: layer_norm}
  - {name: ls, op: layer_scale}
  - {name: gelu, op: gelu}
  - {name: ad, op: adaptive_avg_pool, size: [3, 2]}
  - {name: flat, op: flatten}
  - {name: fc, op: linear, out: "${classes}", scale: none}
"""


def test_sweep_equals_full_compiles_with_the_new_ops(tmp_path):
    """ceil_mode's last-window rule and the adaptive windows are recorded decisions and
    arithmetic on the traced resolution: the grid equals a compile at every point."""
    from archcalc.analysis.sweep import grid_totals

    path = tmp_path / "net.yaml"
    path.write_text(SWEEPABLE)
    widths, resolutions = [0.5, 1.0, 1.3], [33, 40, 57, 64, 97, 224, 227]
    grid = grid_totals(path, widths, resolutions)
    for i, w in enumerate(widths):
        for j, r in enumerate(resolutions):
            expected = archcalc.load(path, width=w, resolution=r).totals()
            assert {c: int(grid[c][i, j]) for c in ("madds", "params", "params_without_bn", "flops")} == \
                {c: expected[c] for c in ("madds", "params", "params_without_bn", "flops")}, (w, r)


# ------------------------------------------------------------------ channel slices
SHUFFLE_V2 = """
input: {channels: 3, resolution: 9}
defaults: {kernel: 3, activation: relu, norm: batch_norm}
blocks:
  shuffle_unit:   # torchvision's stride-1 InvertedResidual: x.chunk(2, dim=1), branch2 on x2, cat, shuffle
    params: {}
    body:
      - {name: left, op: chunk, chunks: 2, index: 0}
      - {name: right, op: chunk, chunks: 2, index: 1, from: input}
      - {name: pw1, block: conv_bn_act, c: "${c_in / 2}", k: 1}
      - {name: dw, block: dw_bn_act, act: identity}
      - {name: pw2, block: conv_bn_act, c: "${c_in / 2}", k: 1}
      - {name: cat, op: concat, from: [left, pw2]}
      - {name: shuffle, op: channel_shuffle, groups: 2}
layers:
  - {name: stem, op: conv2d, out: 8, kernel: 1}
  - {name: u1, block: shuffle_unit}
  - {name: u2, block: shuffle_unit}
  - {name: part, op: slice, start: 2, stop: 7}
  - {name: head, op: conv2d, out: 4, kernel: 1}
"""


def test_chunk_and_slice_shapes_and_counts(tmp_path):
    model = spec(tmp_path, SHUFFLE_V2)
    assert model.node("u1.left")["shape"] == model.node("u1.right")["shape"] == (4, 9, 9)
    assert model.node("part")["shape"] == (5, 9, 9)  # channels 2..6
    # the unit's convs see 4 of the 8 channels: 1x1 4->4 (16), 3x3 depthwise on 4 (36), 1x1 4->4 (16)
    assert sum(model.node(f"u1.{n}.conv")["params"].weights for n in ("pw1", "dw", "pw2")) == 16 + 36 + 16
    assert model.node("u1.left")["cost"] == model.node("part")["cost"] == archcalc.ops.Cost()


def test_chunk_sizes_follow_torch_chunk():
    torch = pytest.importorskip("torch")
    from archcalc.ops.merge import chunk_range

    for channels in range(1, 13):
        for chunks in range(1, 6):
            pieces = torch.zeros(1, channels).chunk(chunks, dim=1)
            starts = [0, *torch.tensor([p.shape[1] for p in pieces]).cumsum(0).tolist()]
            for index, piece in enumerate(pieces):
                assert chunk_range(channels, chunks, index) == (starts[index], starts[index] + piece.shape[1])
            with pytest.raises(archcalc.ops.ShapeError, match=f"no chunk {len(pieces)}"):
                chunk_range(channels, chunks, len(pieces))


def test_shufflenet_v2_unit_computes_torchvisions_function(tmp_path):
    """The materialized unit is torchvision's InvertedResidual (stride 1) written out:
    x1, x2 = x.chunk(2, dim=1); cat(x1, branch2(x2)); channel_shuffle(., 2)."""
    torch = pytest.importorskip("torch")
    model = spec(tmp_path, SHUFFLE_V2)
    net = archcalc.materialize(model)
    x = torch.randn(2, 3, 9, 9)

    def shuffle(t, groups):  # torchvision.models.shufflenetv2.channel_shuffle
        b, c, h, w = t.shape
        return t.view(b, groups, c // groups, h, w).transpose(1, 2).contiguous().view(b, c, h, w)

    def unit(u, t):
        x1, x2 = t.chunk(2, dim=1)
        branch = torch.relu(u.pw1.bn(u.pw1.conv(x2)))
        branch = u.dw.bn(u.dw.conv(branch))
        branch = torch.relu(u.pw2.bn(u.pw2.conv(branch)))
        return shuffle(torch.cat((x1, branch), dim=1), 2)

    with torch.no_grad():
        y = unit(net.u2, unit(net.u1, net.stem(x)))
        expected = net.head(y[:, 2:7])
        assert torch.allclose(net(x), expected, atol=1e-5)


def test_channel_slices_verify_memory_byte_exact(tmp_path):
    """A chunk is a view: the buffer it looks into stays alive until the concat has read
    the last view of it; the storage tracker sees exactly that (verify's memory rows)."""
    verify_ok(spec(tmp_path, SHUFFLE_V2))
    verify_ok(spec(tmp_path, """
input: {channels: 4, resolution: 6}
layers:
  - {name: a, op: conv2d, out: 12, kernel: 1}
  - {name: s, op: slice, start: 0, stop: 4}
  - {name: r, op: relu}
  - {name: t, op: slice, start: 4, stop: 12, from: a}
  - {name: b, op: conv2d, out: 4, kernel: 1}
  - {name: j, op: add, from: [r, b]}
"""))
    # the only reader of a slice's buffer overwrites it in place: the whole 12-channel storage stays held
    model = spec(tmp_path, """
input: {channels: 4, resolution: 6}
layers:
  - {name: a, op: conv2d, out: 12, kernel: 1}
  - {name: s, op: slice, start: 3, stop: 5}
  - {name: r, op: relu}
  - {name: b, op: conv2d, out: 4, kernel: 1}
""")
    from archcalc.analysis.memory import analyze_memory

    steps = {step.node: step for step in analyze_memory(model).steps}
    assert steps["r"].alias == "inplace"
    # while b runs: the input (4*36), a's storage (12*36, held by the view r) and b (4*36), float32
    assert steps["b"].bytes == (4 + 12 + 4) * 36 * 4
    verify_ok(model)


# ------------------------------------------------------------------ expressions in n, from; c_in in rows
EFFICIENT = """
input: {channels: 3, resolution: 32}
depth: 1.0
defaults: {kernel: 3, activation: silu, norm: batch_norm, stem_from: stem}
rounding: {channels: make_divisible, divisor: 8}
layers:
  - {name: stem, block: conv_bn_act, c: 16, s: 2}
  - {name: s1, block: conv_bn_act, c: 24, n: "${ceil(2 * depth)}"}
  - {name: s2, block: conv_bn_act, c: 40, n: "${ceil(3 * depth)}", from: "${'s1' if depth > 0 else 'stem'}"}
  - {name: head, op: conv2d, out: "${4 * c_in}", kernel: 1}
"""


@pytest.mark.parametrize("depth, blocks", [(1.0, (2, 3)), (1.1, (3, 4)), (1.4, (3, 5)), (0.5, (1, 2))])
def test_n_is_an_expression_of_the_depth_multiplier(tmp_path, depth, blocks):
    model = spec(tmp_path, EFFICIENT, depth=depth)
    # ceil(2 * d) and ceil(3 * d) blocks: d = 1.1 -> 3 and 4; d = 1.4 -> 3 and 5; d = 0.5 -> 1 and 2
    for row, count in zip(("s1", "s2"), blocks):
        instances = {b.name for b in model.blocks if b.name.startswith(row + ".")}
        assert instances == {f"{row}.block{i + 1}" for i in range(count)}


def test_depth_is_a_spec_setting_and_a_cli_option(tmp_path):
    from typer.testing import CliRunner

    from archcalc.cli import app

    path = tmp_path / "net.yaml"
    path.write_text(EFFICIENT.replace("depth: 1.0", "depth: 1.4"))
    assert len([b for b in archcalc.load(path).blocks if b.name.startswith("s2.")]) == 5  # ceil(4.2)
    assert len([b for b in archcalc.load(path, depth=1.0).blocks if b.name.startswith("s2.")]) == 3
    at_1 = CliRunner().invoke(app, ["cost", str(path), "--depth-multiplier", "1.0", "--format", "json"])
    at_14 = CliRunner().invoke(app, ["cost", str(path), "--format", "json"])
    assert at_1.exit_code == 0 and at_14.exit_code == 0, at_1.output
    import json

    madds = [json.loads(r.output)["totals"]["madds"] for r in (at_1, at_14)]
    # d = 1.4: one more 3x3 24->24 conv (ceil(2.8) = 3) and two more 40->40 (ceil(4.2) = 5), at 16x16
    assert madds[1] - madds[0] == 16 * 16 * 9 * 24 * 24 + 2 * 16 * 16 * 9 * 40 * 40


def test_rows_read_their_input_size_and_width_is_applied_once(tmp_path):
    # the head is 4 x its input's channels, already at the network's width: at width 0.5 the
    # last stage has make_divisible(40 * 0.5) = 24 channels, so the head has 96 (not 4*24*0.5)
    for width, c in ((1.0, 40), (0.5, 24), (1.3, 56)):
        model = spec(tmp_path, EFFICIENT, width=width)
        assert model.node("head")["shape"][0] == 4 * c


def test_sweep_retraces_where_an_expression_count_changes(tmp_path):
    """n read from the traced channels (n: ceil(c_in / 16)) changes with the width: the
    count is a recorded decision, so every grid point equals its own compile."""
    from archcalc.analysis.sweep import grid_totals

    path = tmp_path / "net.yaml"
    path.write_text("""
input: {channels: 3, resolution: 32}
defaults: {kernel: 3, activation: relu, norm: batch_norm}
rounding: {channels: make_divisible, divisor: 8}
layers:
  - {name: stem, block: conv_bn_act, c: 16, s: 2}
  - {name: body, block: conv_bn_act, c: 16, n: "${ceil(c_in / 16)}"}
""")
    widths, resolutions = [0.5, 1.0, 1.5, 2.0, 3.0], [32, 48]
    grid = grid_totals(path, widths, resolutions)
    assert grid["traces"] > 1
    for i, w in enumerate(widths):
        for j, r in enumerate(resolutions):
            assert int(grid["madds"][i, j]) == archcalc.load(path, width=w, resolution=r).totals()["madds"]


# ------------------------------------------------------------------ block parameters for absolute widths
MBV3 = """
input: {channels: 3, resolution: 16}
defaults: {kernel: 3, activation: hardswish, norm: batch_norm}
rounding: {channels: make_divisible, divisor: 8}
blocks:
  mbv3:   # torchvision's MobileNetV3 InvertedResidual with SE
    params:
      exp: {type: channels}
      c: {type: channels}
      s: {type: int, default: 1, first_only: true}
    body:
      - {name: expand, block: conv_bn_act, c: "${exp}", k: 1, when: "${exp != c_in}"}
      - {name: dw, block: dw_bn_act, s: "${s}"}
      - {name: se, block: squeeze_excite, squeeze: "${make_divisible(exp // 4, 8)}", gate: hardsigmoid}
      - {name: project, block: conv_bn_act, c: "${c}", k: 1, act: identity}
      - {name: add, op: add, from: [input, project], when: "${s == 1 and c_in == c}"}
  mbconv:   # torchvision's EfficientNet MBConv: SE squeeze from the block's input channels
    params:
      t: {type: number}
      c: {type: channels}
    let:
      hidden: "${expand(c_in, t)}"
    body:
      - {name: expand, block: conv_bn_act, c: "${hidden}", k: 1, act: silu}
      - {name: dw, block: dw_bn_act, act: silu}
      - {name: se, block: squeeze_excite, squeeze: "${max(1, c_in // 4)}", inner: silu}
      - {name: project, block: conv_bn_act, c: "${c}", k: 1, act: identity}
layers:
  - {name: stem, block: conv_bn_act, c: 16, s: 2}
  - {name: b1, block: mbv3, exp: 72, c: 24}
  - {name: b2, block: bottleneck, expanded: 88, c: 24}
  - {name: b3, block: bottleneck, expanded: 24, c: 24}
  - {name: b4, block: mbconv, t: 6, c: 40}
  - {name: head, block: conv_bn_act, c: "${6 * c_in}", k: 1}
"""


def test_squeeze_excite_and_bottleneck_take_absolute_widths(tmp_path):
    model = spec(tmp_path, MBV3)
    # MobileNetV3: squeeze = make_divisible(72 // 4, 8) = 24, relu inside, hardsigmoid gate
    assert model.node("b1.se.reduce")["shape"][0] == 24 and model.node("b1.se.act")["op"] == "relu"
    assert model.node("b1.se.gate")["op"] == "hardsigmoid"
    # absolute expanded width 88 from 24 channels; 24 == c_in: no expansion conv (torchvision builds none)
    assert model.node("b2.expand.conv")["shape"][0] == 88
    assert "b3.expand.conv" not in model.nodes and model.node("b3.dw.conv")["shape"][0] == 24
    # EfficientNet: squeeze = max(1, 24 // 4) = 6 on the 144-wide expanded tensor, silu inside
    assert model.node("b4.se.reduce")["shape"][0] == 6 and model.node("b4.se.act")["op"] == "silu"
    assert model.node("b4.se.expand")["shape"][0] == 144
    assert model.node("head.conv")["shape"][0] == 6 * 40
    verify_ok(model)


def test_sweep_command_takes_the_depth_multiplier(tmp_path):
    import json

    from typer.testing import CliRunner

    from archcalc.cli import app

    path = tmp_path / "net.yaml"
    path.write_text(EFFICIENT)
    result = CliRunner().invoke(app, ["sweep", str(path), "--widths", "0.5,1.0", "--resolutions", "32,48",
                                      "--depth-multiplier", "1.4", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)  # stderr warns that defaults.stem_from is read by nothing
    rows = rows["rows"] if isinstance(rows, dict) else rows
    for entry in rows:
        expected = archcalc.load(path, width=entry["width"], resolution=entry["resolution"], depth=1.4).totals()
        assert entry["madds"] == expected["madds"]


def test_layer_norm_and_layer_scale_on_vectors(tmp_path):
    """ConvNeXt's classifier: LayerNorm2d on the pooled (C, 1, 1) map, flatten, linear; and
    the same ops on a flat vector (PyTorch's plain LayerNorm, a (C,) scale)."""
    model = spec(tmp_path, """
input: {channels: 3, resolution: 8}
layers:
  - {name: conv, op: conv2d, out: 6, kernel: 3, stride: 2, padding: 1}
  - {name: pool, op: global_avg_pool}
  - {name: norm, op: layer_norm}
  - {name: flat, op: flatten}
  - {name: vnorm, op: layer_norm, eps: 1.0e-5}
  - {name: vscale, op: layer_scale}
  - {name: fc, op: linear, out: 4}
""")
    assert model.node("vnorm")["params"].bn_affine == 12 and model.node("vscale")["params"].weights == 6
    verify_ok(model)
