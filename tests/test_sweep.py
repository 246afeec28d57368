"""The closed-form sweep is exact: every row equals a full compile (archcalc cost)."""
from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest

import archcalc
from archcalc import Convention
from archcalc.analysis.sweep import grid_totals, parse_values, sweep

ROOT = Path(__file__).resolve().parent.parent
MNV2 = ROOT / "specs" / "mnv2.yaml"
CHECKPOINTS = ROOT / "archcalc" / "reference" / "mnv2_checkpoints.csv"
COLUMNS = ("madds", "params", "params_without_bn", "flops")


def test_published_pairs_equal_archcalc_cost_row_for_row():
    published = pd.read_csv(CHECKPOINTS)  # the 22 slim checkpoints (source column in the file)
    widths = sorted(published["width"].unique())
    resolutions = sorted(published["resolution"].unique())
    frame = sweep(MNV2, widths, resolutions, classes=1001)
    table = frame.set_index(["width", "resolution"])
    for row in published.itertuples():
        expected = archcalc.load(MNV2, width=row.width, resolution=row.resolution, classes=1001).totals()
        got = table.loc[(row.width, row.resolution)]
        assert {c: int(got[c]) for c in COLUMNS} == {c: expected[c] for c in COLUMNS}, row.model
        # and the slim README's rounding conventions (floor of MAdds/1e6, params without BN)
        assert int(got["madds"]) // 10**6 == row.macs_millions
        assert round(int(got["params_without_bn"]) / 1e6, 2) == row.params_millions
        assert float(got["top1"]) == row.top1  # joined, never estimated


def test_unpublished_points_have_no_accuracy():
    frame = sweep(MNV2, [0.6, 1.0], [200, 224], classes=1001)
    known = frame.dropna(subset=["top1"])
    assert list(zip(known["width"], known["resolution"])) == [(1.0, 224)]


@pytest.mark.parametrize("bn_params", ["none", "affine", "all"])
def test_random_grid_equals_full_compiles(bn_params):
    rng = random.Random(5)
    widths = sorted({round(rng.uniform(0.2, 1.6), 3) for _ in range(12)})
    resolutions = sorted({rng.randrange(33, 300) for _ in range(8)})  # odd sizes exercise the floors
    convention = Convention(bn_params=bn_params)
    grid = grid_totals(MNV2, widths, resolutions, classes=1000, convention=convention)
    for _ in range(15):
        i, j = rng.randrange(len(widths)), rng.randrange(len(resolutions))
        expected = archcalc.load(MNV2, width=widths[i], resolution=resolutions[j], classes=1000).totals(convention)
        assert {c: int(grid[c][i, j]) for c in expected} == expected, (widths[i], resolutions[j])


BRANCHY = """
name: branchy
input: {channels: 3, resolution: 64}
width: 1.0
classes: 10
rounding: {channels: make_divisible, divisor: 8, min_depth: 8}
defaults: {kernel: 3, activation: relu, norm: batch_norm}
layers:
  - {name: stem, block: conv_bn_act, c: 16, s: 2}
  - {name: extra, block: conv_bn_act, c: 32, when: "${width >= 1}"}
  - {block: bottleneck, t: 6, c: 24, n: 2, s: 2}
  - {name: pool, op: global_avg_pool}
  - {name: flat, op: flatten}
  - {name: fc, op: linear, out: "${classes}", scale: none}
"""


def assert_grid_equals_compiles(grid, spec, widths, resolutions, **load_options):
    """Every grid cell equals a full compile at that point (MAdds, params with and without BN, FLOPs)."""
    for i, w in enumerate(widths):
        for j, r in enumerate(resolutions):
            expected = archcalc.load(spec, width=w, resolution=r, **load_options).totals()
            assert {c: int(grid[c][i, j]) for c in COLUMNS} == {c: expected[c] for c in COLUMNS}, (w, r)


def test_structure_change_is_retraced(tmp_path):
    # The extra conv exists only for width >= 1, and the bottleneck's residual depends on
    # c_in == c: the sweep must notice where the traced structure stops holding.
    spec = tmp_path / "branchy.yaml"
    spec.write_text(BRANCHY)
    widths, resolutions = [0.5, 0.75, 1.0, 1.4], [33, 64, 97]
    grid = grid_totals(spec, widths, resolutions)
    assert grid["traces"] == 2
    assert_grid_equals_compiles(grid, spec, widths, resolutions)


HALVE = """
name: halve
input: {channels: 3, resolution: 32}
width: 1.0
classes: 10
rounding: {channels: make_divisible, divisor: 8, min_depth: 8}
defaults: {kernel: 3, activation: relu, norm: batch_norm}
blocks:
  halve:
    params: {}
    body:
      - {name: conv, op: conv2d, out: "${c_in / 2}", kernel: 1}
layers:
  - {name: stem, block: conv_bn_act, c: 64, s: 2}
  - {name: h, block: halve}
  - {name: pool, op: global_avg_pool}
  - {name: flat, op: flatten}
  - {name: fc, op: linear, out: "${classes}", scale: none}
"""


def test_trace_survives_whole_float_to_int(tmp_path):
    # ${c_in / 2} is a float the compiler turns into an int; the sweep must still follow c_in
    spec = tmp_path / "halve.yaml"
    spec.write_text(HALVE)
    widths = [0.5, 1.0, 1.3, 2.0]
    assert_grid_equals_compiles(grid_totals(spec, widths, [32, 45]), spec, widths, [32, 45])


def test_mobilenet_v1_truncation_rule():
    spec = ROOT / "specs" / "mnv1.yaml"  # channels int(c * w), min 8: another rounding rule
    widths, resolutions = [0.25, 0.5, 0.75, 1.0], [128, 224]
    grid = grid_totals(spec, widths, resolutions, classes=1001)
    assert_grid_equals_compiles(grid, spec, widths, resolutions, classes=1001)


def test_tiny_resolutions_match_the_compiler():
    # 'same' padding keeps every map at least 1 x 1, so even resolution 1 compiles
    assert_grid_equals_compiles(grid_totals(MNV2, [1.0], [1, 2, 3, 31]), MNV2, [1.0], [1, 2, 3, 31])


def test_parse_values():
    assert parse_values("0.35,0.5,1.0") == [0.35, 0.5, 1.0]
    assert parse_values("0.3:0.5:0.1") == [0.3, 0.4, 0.5]
    assert parse_values("96:224:32", int) == [96, 128, 160, 192, 224]
    with pytest.raises(ValueError):
        parse_values("96:224", int)
    with pytest.raises(ValueError):
        parse_values("1.5", int)


def test_the_overflow_guards_bound_holds_at_int64s_extremes() -> None:
    """_absmax bounds |value| of an int64 array from its largest and smallest entries; at
    int64's minimum |x| = 2^63 has no int64, so it must be taken in floats (numpy's abs
    wraps it back to -2^63, and a max of abs values would then miss it)."""
    import numpy as np

    from archcalc.analysis.sweep import _absmax

    lowest = np.iinfo(np.int64).min
    assert _absmax(np.array([[lowest], [5]], dtype=np.int64)) == 2.0**63
    assert _absmax(np.array([[3, -7, 2]], dtype=np.int64)) == 7.0
    assert _absmax(np.array([], dtype=np.int64)) == 0.0
    assert _absmax(np.array([2**70, -(2**71)], dtype=object)) == float(2**71)
    assert _absmax(-12) == 12.0 and _absmax(np.int64(-4)) == 4.0


def test_a_products_remembered_bound_never_changes_whether_the_overflow_guard_refuses() -> None:
    """_int64_product first tries the bounds remembered for its factors (a product's is the
    product of its factors' bounds, perhaps far above its exact one). Whatever the chain of
    products, it must refuse exactly when the factors' exact |max| product reaches
    INT64_BOUND, as when every bound is taken from the arrays themselves; and give a * b."""
    import numpy as np

    from archcalc.analysis import sweep as sw

    rng = np.random.default_rng(7)
    for _ in range(300):
        value = rng.integers(-(2**20), 2**20, size=(4, 1), dtype=np.int64)
        for _ in range(6):
            factor = rng.integers(-(2**int(rng.integers(1, 30))), 2**int(rng.integers(1, 30)), size=(4, 1),
                                  dtype=np.int64) if rng.random() < 0.7 else int(rng.integers(-(2**25), 2**25))
            exact = float(np.max(np.abs(value.astype(object)))) * float(np.max(np.abs(np.asarray(factor, dtype=object))))
            if exact >= sw.INT64_BOUND:
                with pytest.raises(sw.Int64Overflow):
                    sw._int64_product(value, factor)
                break
            product = sw._int64_product(value, factor)
            assert (product.astype(object) == value.astype(object) * factor).all()
            value = product
    sw._BOUNDS.clear()
