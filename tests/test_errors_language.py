"""Errors of the spec-language features added for today's mobile networks (issue 9): each
new attribute, setting and expression place gives one line naming the file, the line, the
spec path and what to write instead, and the CLI exits 2 (the style of test_errors.py)."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

import archcalc
from archcalc.cli import app
from test_errors import GOOD, write
from test_errors import test_cli_exits_2_with_one_line as exits_2_with_one_line  # the same checks, other cases
from test_errors import test_error_names_the_place as names_the_place

ROW = "{name: flat, op: flatten}"  # line 9 of GOOD; each case puts its own row there


def row(text: str) -> str:
    return GOOD.replace(ROW, text)



# (case id, spec text, expected line, text the location must contain, text the message must contain)
CASES = [
    ("kernel pair of three", row("{name: flat, op: conv2d, out: 8, kernel: [1, 7, 3]}"), 9, "layers[3].kernel",
     "conv2d.kernel: expected an integer >= 1, or [height, width] of those, got [1, 7, 3]"),
    ("kernel pair with a zero", row("{name: flat, op: max_pool, kernel: [0, 3]}"), 9, "layers[3].kernel",
     "max_pool.kernel: expected an integer >= 1, or [height, width] of those, got [0, 3]"),
    ("same padding with an even side", row("{name: flat, op: conv2d, out: 8, kernel: [1, 2]}"), 9, "layers[3]",
     "padding 'same' needs an odd kernel, got kernel 1x2"),
    ("pool padding over half a side", row("{name: flat, op: max_pool, kernel: [3, 2], padding: [1, 2]}"), 9, "layers[3]",
     "padding 1x2 is more than half the kernel 3x2"),
    ("ceil_mode not a boolean", row("{name: flat, op: max_pool, kernel: 3, ceil_mode: 1}"), 9, "layers[3].ceil_mode",
     "max_pool.ceil_mode: expected true or false, got 1"),
    ("count_include_pad not a boolean", row("{name: flat, op: avg_pool, kernel: 3, count_include_pad: 0}"), 9,
     "layers[3].count_include_pad", "avg_pool.count_include_pad: expected true or false, got 0"),
    ("chunk into zero", row("{name: flat, op: chunk, chunks: 0}"), 9, "layers[3].chunks",
     "chunk.chunks: expected an integer >= 1, got 0"),
    ("slice start negative", row("{name: flat, op: slice, start: -1, stop: 4}"), 9, "layers[3].start",
     "slice.start: expected an integer >= 0, got -1"),
    ("count_include_pad on a max pool", row("{name: flat, op: max_pool, kernel: 3, count_include_pad: false}"), 9,
     "layers[3].count_include_pad", "unknown attribute 'count_include_pad' for op max_pool"),
    ("adaptive pool to size zero", row("{name: flat, op: adaptive_avg_pool, size: 0}"), 9, "layers[3].size",
     "adaptive_avg_pool.size: expected an integer >= 1, or [height, width] of those, got 0"),
    ("slice past the channels", row("{name: flat, op: slice, stop: 99}"), 9, "layers[3]",
     "slice: channels [0, 99) are not a non-empty range of the 24 input channels"),
    ("empty slice", row("{name: flat, op: slice, start: 5, stop: 5}"), 9, "layers[3]",
     "slice: channels [5, 5) are not a non-empty range"),
    ("slice without stop", row("{name: flat, op: slice, start: 2}"), 9, "layers[3]",
     "op slice needs attribute 'stop' (an integer >= 1)"),
    ("chunk index out of range", row("{name: flat, op: chunk, chunks: 2, index: 2}"), 9, "layers[3]",
     "chunk: 24 channels in chunks of 12 (ceil(24 / 2)) give 2 chunk(s), so there is no chunk 2"),
    ("gelu approximation unknown", row("{name: flat, op: gelu, approximate: fast}"), 9, "layers[3].approximate",
     "gelu.approximate: expected one of none, tanh, got 'fast'"),
    ("layer norm eps negative", row("{name: flat, op: layer_norm, eps: -1}"), 9, "layers[3].eps",
     "layer_norm.eps: expected a number >= 0, got -1"),
    ("layer scale init not a number", row("{name: flat, op: layer_scale, init: tiny}"), 9, "layers[3].init",
     "layer_scale.init: expected a number, got 'tiny'"),
    ("depth multiplier not positive", GOOD + "depth: 0\n", 11, "depth", "expected a finite depth multiplier > 0, got 0"),
    ("depth multiplier not a number", GOOD + "depth: deep\n", 11, "depth", "expected a number > 0"),
    ("n expression not whole", GOOD.replace("n: 2", 'n: "${2.5 * depth}"'), 7, "layers[1].n",
     "expected a repeat count (integer >= 1), got 2.5 (from '${2.5 * depth}')"),
    ("n expression with an unknown name", GOOD.replace("n: 2", 'n: "${ceil(2 * depht)}"'), 7, "layers[1].n",
     "unknown name 'depht'"),
    ("from expression naming no layer", row("{name: flat, op: flatten, from: \"${'poool'}\"}"), 9, "layers[3].from",
     "unknown layer 'poool' (from \"${'poool'}\")"),
    ("from expression not a name", row('{name: flat, op: flatten, from: "${3}"}'), 9, "layers[3].from",
     "expected a layer name or a list of layer names, got 3 (from '${3}')"),
    ("block default reads a missing setting", GOOD.replace("kernel: 3, ", ""), 6, "layers[0].k",
     "block conv_bn_act's default for k is '${kernel}', which reads 'kernel', and the spec has no defaults.kernel: "
     "set it under `defaults:` (e.g. `defaults: {kernel: ...}`) or give k where conv_bn_act is used"),
    ("bottleneck with t and expanded", GOOD.replace("t: 6,", "t: 6, expanded: 96,"), 7, "layers[1].t",
     "block bottleneck: give t or expanded, not both"),
    ("bottleneck with neither t nor expanded", GOOD.replace("t: 6, ", ""), 7, "layers[1]",
     "block bottleneck needs parameter 't' (a number >= 1) or 'expanded'"),
    ("size block parameter of one value in a list", GOOD.replace("c: 16, s: 2}", "c: 16, s: 2, k: [3]}"), 6,
     "layers[0].k", "conv_bn_act.k: expected an integer >= 1, or [height, width] of those, got [3]"),
    ("squeeze width zero", row("{name: flat, block: squeeze_excite, squeeze: 0}"), 9, "layers[3].squeeze",
     "squeeze_excite.squeeze: expected a channel count (integer >= 1), got 0"),
    ("the graph input is not an op", row("{name: flat, op: input}"), 9, "layers[3]", "unknown op 'input'"),
    ("exponent without a dot is text in YAML", row("{name: flat, op: layer_norm, eps: 1e-5}"), 9, "layers[3].eps",
     "layer_norm.eps: expected a number >= 0, got '1e-5' (YAML reads 1e-5 as text; write it with a dot, e.g. 1.0e-5)"),
    ("block parameter exponent without a dot", GOOD.replace("t: 6,", "t: 6e0,"), 7, "layers[1].t",
     "bottleneck.t: expected a number >= 1, got '6e0' (YAML reads 6e0 as text"),
]


@pytest.mark.parametrize("case, text, line, place, message", CASES, ids=[c[0] for c in CASES])
def test_error_names_the_place(tmp_path, case, text, line, place, message):
    names_the_place(tmp_path, case, text, line, place, message)


@pytest.mark.parametrize("case, text, line, place, message", CASES, ids=[c[0] for c in CASES])
def test_cli_exits_2_with_one_line(tmp_path, case, text, line, place, message):
    exits_2_with_one_line(tmp_path, case, text, line, place, message)


def test_unknown_op_lists_only_ops_a_spec_may_write(tmp_path):
    with pytest.raises(archcalc.SpecError) as info:
        archcalc.load(write(tmp_path, row("{name: flat, op: flaten}")))
    listed = str(info.value).split("known ops: ")[1].rstrip(")").split(", ")
    assert "flatten" in listed and "slice" in listed and "input" not in listed


def test_bad_depth_multiplier_names_the_option(tmp_path):
    result = CliRunner().invoke(app, ["cost", str(write(tmp_path, GOOD)), "--depth-multiplier", "-1"])
    assert result.exit_code == 2
    assert "command line: --depth-multiplier: expected a finite depth multiplier > 0, got -1.0" in result.output


def test_unless_must_name_a_parameter(tmp_path):
    text = GOOD + "blocks:\n  mine:\n    params: {a: {type: int, unless: b}}\n    body:\n      - {name: x, op: relu}\n"
    with pytest.raises(archcalc.SpecError, match="unless names 'b', which is not a parameter of block 'mine'"):
        archcalc.load(write(tmp_path, text))
