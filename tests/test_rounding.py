"""The channel-rounding rules and the published MobileNetV2 expectations.

Expected values: TF-slim's mobilenet_v2_test.py (quoted in ../shared/paper/CONVENTIONS.md §2)
and the derived per-width channel table of CONVENTIONS.md §2.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import archcalc
from archcalc.width import expand_make_divisible, expand_round, make_divisible, scale_grow_only, truncate_depth

SPECS = Path(__file__).resolve().parents[1] / "specs"
MNV2 = SPECS / "mnv2.yaml"


@pytest.mark.parametrize(
    "value, divisor, min_value, expected",
    [
        (32, 8, None, 32),  # already a multiple
        (0.35 * 32, 8, None, 16),  # int(11.2 + 4)//8*8 = 8 < 0.9*11.2 = 10.08 -> 8 + 8 = 16
        (0.5 * 24, 8, None, 16),  # int(12 + 4)//8*8 = 16 (halves round up)
        (0.75 * 24, 8, None, 24),  # 18 -> int(22)//8*8 = 16 < 0.9*18 = 16.2 -> 16 + 8 = 24
        (1.4 * 1280, 8, None, 1792),  # 1792 is a multiple of 8
        (1.4 * 64, 8, None, 88),  # 89.6 -> int(93.6)//8*8 = 88 >= 80.64
        (24, 16, 32, 32),  # min_value wins (slim testDivisibleBy)
        (0.01 * 32, 8, 8, 8),  # 0.32 -> min 8 (testFineGrained)
    ],
)
def test_make_divisible(value, divisor, min_value, expected):
    assert make_divisible(value, divisor, min_value) == expected


def test_make_divisible_never_goes_down_more_than_ten_percent():
    for tenths in range(1, 4000):
        value = tenths / 10
        result = make_divisible(value, 8)
        assert result % 8 == 0 and result >= 8
        assert result >= 0.9 * value


def test_truncate_depth_is_slim_v1_rule():
    assert truncate_depth(0.75 * 32) == 24  # int(24.0)
    assert truncate_depth(0.25 * 64) == 16
    assert truncate_depth(0.25 * 20) == 8  # int(5) < min_depth 8


def test_expansion_rules_agree_on_published_widths_and_differ_where_documented():
    assert expand_make_divisible(16, 1) == 16  # t = 1 keeps the input width (slim expand_input(1, divisible_by=1))
    assert expand_make_divisible(24, 6) == 144
    assert expand_make_divisible(8, 6) == 48
    assert expand_round(24, 6) == 144
    # They differ on a width no checkpoint uses: 13 * 6 = 78 -> 80 (slim) vs 78 (torchvision).
    assert (expand_make_divisible(13, 6), expand_round(13, 6)) == (80, 78)


def test_last_layer_scale_grows_but_never_shrinks():
    assert scale_grow_only(0.35) == 1.0 and scale_grow_only(1.4) == 1.4


def conv_depths(model: archcalc.Model) -> set[int]:
    """Output depths of regular (non-depthwise) convolutions, as slim's tests collect them."""
    return {model.node(n)["shape"][0] for n in model.order if model.node(n)["op"] == "conv2d"}


def overriding_spec(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "variant.yaml"
    path.write_text(f"extends: {MNV2}\n{body}")
    return path


def test_slim_divisible_by_16_min_depth_32(tmp_path):
    # slim testDivisibleBy: divisible_by=16, min_depth=32, width 1 ->
    # {32, 64, 96, 160, 192, 320, 384, 576, 960, 1280, 1001}
    spec = overriding_spec(tmp_path, "rounding: {divisor: 16, min_depth: 32}\n")
    assert conv_depths(archcalc.load(spec)) == {32, 64, 96, 160, 192, 320, 384, 576, 960, 1280, 1001}


def test_slim_divisible_by_with_arg_scope(tmp_path):
    # slim testDivisibleByWithArgScope: min_depth=32, depth_multiplier=0.1, default (non-finegrain)
    # mode, so the last layer shrinks: {32, 192, 128, 1001}
    spec = overriding_spec(tmp_path, "rounding: {min_depth: 32}\ndefaults: {last_layer: width}\nwidth: 0.1\n")
    model = archcalc.load(spec)
    assert conv_depths(model) == {32, 192, 128, 1001}
    # slim testMobilenetBase: base output [10, 7, 7, 128] (batch 10 not modelled)
    assert model.node("head.act")["shape"] == (128, 7, 7)


def test_slim_fine_grained():
    # slim testFineGrained: depth_multiplier=0.01, finegrain mode -> {8, 48, 1001, 1280}
    assert conv_depths(archcalc.load(MNV2, width=0.01)) == {8, 48, 1001, 1280}


@pytest.mark.parametrize("resolution, expected", [(224, 7), (192, 6), (160, 5), (128, 4), (96, 3)])
def test_slim_image_sizes(resolution, expected):
    # slim testImageSizes: layer_18 (last bottleneck) output is 7/6/5/4/3
    model = archcalc.load(MNV2, resolution=resolution)
    assert model.node(model.scopes["stage7"])["shape"][1:] == (expected, expected)


# CONVENTIONS.md §2, derived table: stem, the seven bottleneck stages, last layer (finegrain).
CHANNELS_BY_WIDTH = {
    0.35: (16, 8, 8, 16, 24, 32, 56, 112, 1280),
    0.5: (16, 8, 16, 16, 32, 48, 80, 160, 1280),
    0.75: (24, 16, 24, 24, 48, 72, 120, 240, 1280),
    1.0: (32, 16, 24, 32, 64, 96, 160, 320, 1280),
    1.3: (40, 24, 32, 40, 80, 128, 208, 416, 1664),
    1.4: (48, 24, 32, 48, 88, 136, 224, 448, 1792),
}


@pytest.mark.parametrize("width", sorted(CHANNELS_BY_WIDTH))
def test_channel_table_per_width(width):
    model = archcalc.load(MNV2, width=width)
    scopes = ["stem", *(f"stage{i}" for i in range(1, 8)), "head"]
    got = tuple(model.node(model.scopes[s])["shape"][0] for s in scopes)
    assert got == CHANNELS_BY_WIDTH[width]


def test_t1_block_has_no_expansion_and_residual_rule():
    model = archcalc.load(MNV2)
    names = set(model.order)
    assert "stage1.block1.expand.conv" not in names  # t = 1: no expansion conv
    assert "stage2.block1.expand.conv" in names
    # residual only when stride 1 and channels agree (Table 2: first block of each row changes
    # channels or stride, except none of the rows keep both) -> adds in blocks 2..n only
    adds = sorted(n for n in names if n.endswith(".add"))
    expected = [f"stage{s}.block{b}.add" for s, n in zip(range(1, 8), (1, 2, 3, 4, 3, 3, 1)) for b in range(2, n + 1)]
    assert adds == sorted(expected)
    assert len(adds) == 10  # 17 blocks - 7 first blocks
