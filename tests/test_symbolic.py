"""Closed forms come from the same op rules as the numbers, and agree with them."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
import sympy

import archcalc
from archcalc.analysis.symbolic import (
    bottleneck_madds, formula, make_divisible_sym, table1_madds, trace, truncate_depth_sym,
)
from archcalc.width import make_divisible, truncate_depth

ROOT = Path(__file__).resolve().parent.parent
MNV2 = ROOT / "specs" / "mnv2.yaml"


@pytest.fixture(scope="module")
def mnv2_formula():
    return formula(MNV2, classes=1001)


def test_symbolic_rounding_rules_equal_the_named_functions():
    rng = random.Random(0)
    for _ in range(400):
        v = rng.uniform(0.5, 2000)
        exact = sympy.Rational(v)  # the float's exact value, as the numeric rule sees it
        assert int(make_divisible_sym(exact)) == make_divisible(v), v
        assert int(truncate_depth_sym(exact)) == truncate_depth(v), v


def test_symbolic_equals_numeric_on_random_points(mnv2_formula):
    rng = random.Random(11)
    points = [(1.0, 224), (0.35, 96)] + [(rng.uniform(0.2, 1.6), rng.randrange(32, 320)) for _ in range(40)]
    for width, resolution in points:
        expected = archcalc.load(MNV2, width=width, resolution=resolution, classes=1001).totals()
        got = mnv2_formula.evaluate(width, resolution)
        assert got == {"madds": expected["madds"], "params_without_bn": expected["params_without_bn"]}, (width, resolution)


def test_exact_system_is_closed_in_alpha_and_rho(mnv2_formula):
    f = mnv2_formula
    names = list(f.channels)
    assert f.madds.free_symbols <= {f.rho, *names} and f.rho in f.madds.free_symbols
    for i, (symbol, definition) in enumerate(f.channels.items()):
        # each channel is defined from α and earlier channels only, rounding explicit
        assert definition.free_symbols <= {f.alpha, *names[:i]}, symbol
        assert definition.has(sympy.floor)
    assert f.madds.has(sympy.floor)  # the conv output-size rule on ρ
    # slim's 1.0/224 with 1001 classes: 300,775,552 MAdds and 3,472,041 params
    # (CONVENTIONS.md; mnv2_checkpoints.csv rounds them to 300 and 3.47)
    assert f.evaluate(1.0, 224) == {"madds": 300_775_552, "params_without_bn": 3_472_041}


def test_smooth_form_is_a_polynomial_and_close_at_width_one(mnv2_formula):
    smooth = mnv2_formula.madds_smooth
    assert not smooth.has(sympy.floor)
    # at width 1 every MobileNetV2 channel count is a multiple of 8 already and 224 = 7 * 32,
    # so the smooth form is exact there
    assert smooth.subs({mnv2_formula.alpha: 1, mnv2_formula.rho: 224}) == 300_775_552


def test_table1_equals_every_stride1_expansion_block():
    # Table 1 of the paper: h*w*d'*t*(d' + k^2 + d''), for stride 1 with an expansion conv.
    checked = 0
    for width in (0.35, 0.5, 0.75, 1.0, 1.3, 1.4):  # the published widths
        model = archcalc.load(MNV2, width=width, resolution=224, classes=1001)
        for block in model.blocks:
            if block.type != "bottleneck" or block.nesting:
                continue
            d_in, h, w = block.input_shape
            d_out = block.output_shape[0]
            t, k, s = block.params["t"], block.params["k"], block.params["s"]
            numeric = sum(model.node(n)["cost"].madds for n in model.order if n.startswith(block.name + "."))
            assert numeric == bottleneck_madds(h, w, d_in, d_out, t, k, s), block.name  # stride-aware: always
            if s == 1 and t > 1:
                assert model.node(block.name + ".expand.conv")["shape"][0] == t * d_in  # Table 1's t*d'
                assert numeric == table1_madds(h, w, d_in, d_out, t, k), (width, block.name)
                checked += 1
            else:
                assert numeric != table1_madds(h, w, d_in, d_out, t, k), (width, block.name)
    assert checked == 6 * 12  # 12 stride-1, t = 6 blocks per MobileNetV2 (Table 2: n - 1 per stage + 3 + 1)


def test_formula_reports_table1_per_block(mnv2_formula):
    rows = {b["name"]: b for b in mnv2_formula.blocks}
    assert rows["stage2.block2"]["table1_holds"] and rows["stage2.block2"]["stride_aware_holds"]
    assert not rows["stage1.block1"]["table1_holds"]  # t = 1: no expansion conv
    assert not rows["stage2.block1"]["table1_holds"]  # stride 2
    assert all(b["stride_aware_holds"] for b in mnv2_formula.blocks if b["type"] == "bottleneck")


def test_tracing_changes_no_number():
    for width, resolution in ((1.0, 224), (0.35, 97)):
        traced = trace(MNV2, width=width, resolution=resolution).model
        plain = archcalc.load(MNV2, width=width, resolution=resolution)
        assert traced.totals() == plain.totals()
        assert traced.order == plain.order
