"""Malformed specs: each gives one line naming the file, the line, the spec path, the value
and what was expected, and the CLI exits 2 without a traceback."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import archcalc
from archcalc.cli import app

GOOD = """\
name: tiny
input: {channels: 3, resolution: 32}
classes: 10
defaults: {kernel: 3, activation: relu6, norm: batch_norm}
layers:
  - {name: stem, block: conv_bn_act, c: 16, s: 2}
  - {block: bottleneck, t: 6, c: 24, n: 2, s: 2}
  - {name: pool, op: global_avg_pool}
  - {name: flat, op: flatten}
  - {name: fc, op: linear, out: "${classes}", scale: none}
"""

# (case id, spec text, expected line, text the location must contain, text the message must contain)
CASES = [
    ("unknown top-level key", GOOD + "colour: blue\n", 11, "colour", "unknown key 'colour'"),
    ("wrong type at top level", GOOD.replace("classes: 10", "classes: ten"), 3, "classes", "expected an integer >= 1, got 'ten'"),
    ("width out of range", GOOD + "width: -0.5\n", 11, "width", "expected a finite width multiplier > 0, got -0.5"),
    ("unknown input key", GOOD.replace("resolution: 32}", "resolution: 32, depth: 4}"), 2, "input.depth", "unknown key 'depth'"),
    ("resolution not an integer", GOOD.replace("resolution: 32", "resolution: 32.5"), 2, "input.resolution", "expected an integer >= 1, got 32.5"),
    ("unknown rounding rule", GOOD + "rounding: {channels: ceil}\n", 11, "rounding.channels", "expected one of nearest, make_divisible, truncate, exact, got 'ceil'"),
    ("unknown key in a layer row", GOOD.replace("c: 24, n: 2", "c: 24, q: 1, n: 2"), 7, "layers[1].q", "unknown parameter 'q' for block bottleneck"),
    ("block parameter of wrong type", GOOD.replace("t: 6,", "t: six,"), 7, "layers[1].t", "expected a number >= 1, got 'six'"),
    ("block parameter out of range", GOOD.replace("t: 6,", "t: 0,"), 7, "layers[1].t", "expected a number >= 1, got 0"),
    ("missing required block parameter", GOOD.replace("t: 6, ", ""), 7, "layers[1]", "needs parameter 't'"),
    ("repeat count not an integer", GOOD.replace("n: 2", "n: 2.5"), 7, "layers[1].n", "expected a repeat count (integer >= 1), got 2.5"),
    ("op attribute of wrong type", GOOD.replace('out: "${classes}"', "out: many"), 10, "layers[4].out", "linear.out: expected an integer >= 1, got 'many'"),
    ("negative channel count", GOOD.replace("c: 16, s: 2}", "c: -16, s: 2}"), 6, "layers[0].c", "conv_bn_act.c: expected a channel count (integer >= 1), got -16"),
    ("zero output channels on an op row", GOOD.replace('out: "${classes}", scale: none', "out: 0"), 10, "layers[4].out", "linear.out: expected an integer >= 1, got 0"),
    ("unknown op attribute", GOOD.replace("op: flatten}", "op: flatten, axis: 1}"), 9, "layers[3].axis", "unknown attribute 'axis' for op flatten"),
    ("unknown op", GOOD.replace("op: global_avg_pool", "op: global_pool"), 8, "layers[2]", "unknown op 'global_pool'"),
    ("unknown block", GOOD.replace("block: bottleneck", "block: botleneck"), 7, "layers[1]", "unknown block 'botleneck'"),
    ("groups do not divide channels", GOOD.replace("c: 16, s: 2}", "c: 16, s: 2, groups: 3}"), 6, "layers[0]", "groups=3 does not divide the 16 output channels"),
    ("spatial size below 1", GOOD.replace("resolution: 32", "resolution: 2").replace("c: 16, s: 2}", "c: 16, s: 2, padding: 0}"), 6, "layers[0]", "spatial size falls below 1 (2x2 input, kernel 3, stride 2, padding 0, dilation 1 gives 0x0)"),
    ("residual between unequal shapes", GOOD.replace("  - {name: pool", "  - {name: skip, op: add, from: [stem, stage1]}\n  - {name: pool"), 8, "layers[2]", "add needs inputs of equal shape"),
    ("cycle between layers", GOOD.replace("{name: pool, op: global_avg_pool}", "{name: pool, op: global_avg_pool, from: fc}"), 8, "layers[2].from", "the layers form a cycle"),
    ("reference to an unknown layer", GOOD.replace("op: flatten}", "op: flatten, from: poool}"), 9, "layers[3].from", "unknown layer 'poool'"),
    ("unknown name in an expression", GOOD.replace('"${classes}"', '"${clases}"'), 10, "layers[4].out", "unknown name 'clases'"),
    ("forbidden construct in an expression", GOOD.replace('"${classes}"', '"${().__class__}"'), 10, "layers[4].out", "Attribute is not allowed"),
    ("unknown function in an expression", GOOD.replace('"${classes}"', '"${__import__(\'os\')}"'), 10, "layers[4].out", "unknown function '__import__'"),
    ("malformed YAML", GOOD.replace("c: 16, s: 2}", "c: 16, s: 2"), 7, "", "invalid YAML"),
    ("duplicate key", GOOD.replace("classes: 10", "classes: 10\nclasses: 11"), 4, "", "duplicate key 'classes'"),
    ("duplicate layer name", GOOD.replace("{name: flat,", "{name: pool,"), 9, "layers[3].name", "layer name 'pool' is used twice"),
    ("bad scale mode", GOOD.replace("scale: none", "scale: half"), 10, "layers[4].scale", "expected one of width, grow_only, none, got 'half'"),
    ("linear on a feature map", GOOD.replace("  - {name: flat, op: flatten}\n", ""), 9, "layers[3]", "linear expects a flat vector (add a flatten op first)"),
    ("unknown output", GOOD + "outputs: [logits]\n", 11, "outputs[0]", "'logits' names no layer or tensor"),
    ("missing layers", "input: {channels: 3, resolution: 32}\n", None, "layers", "missing required key 'layers'"),
    ("infinite width", GOOD + "width: .inf\n", 11, "width", "expected a finite width multiplier > 0, got inf"),
    ("quoted false in when", GOOD.replace("{name: flat, op: flatten}", '{name: flat, op: flatten, when: "false"}'), 9, "layers[3].when", "when: expected true or false"),
    ("identity comparison in an expression", GOOD.replace('"${classes}"', '"${10 if classes is 10 else 5}"'), 10, "layers[4].out", "operator Is is not allowed"),
    ("type error in an expression", GOOD.replace('"${classes}"', '"${classes < \'a\'}"'), 10, "layers[4].out", "cannot compute"),
    ("runaway power in an expression", GOOD.replace('"${classes}"', '"${9 ** 9 ** 9}"'), 10, "layers[4].out", "bits) is over the limit of 4,096 bits"),
    ("work that reaches no output", GOOD + "outputs: [stem]\n", 7, "layers[1]", "stage1.block1.expand.conv reaches no output (outputs: stem.act)"),
    ("top level not a mapping", "- 1\n- 2\n", 1, "", "expected a mapping at the top of the spec"),
]


def write(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_base_spec_is_valid(tmp_path):
    archcalc.load(write(tmp_path, GOOD))  # the cases below break it one way each


def test_there_are_at_least_twenty_cases():
    assert len(CASES) >= 20


@pytest.mark.parametrize("case, text, line, place, message", CASES, ids=[c[0] for c in CASES])
def test_error_names_the_place(tmp_path, case, text, line, place, message):
    path = write(tmp_path, text)
    with pytest.raises(archcalc.SpecError) as info:
        archcalc.load(path)
    error = str(info.value)
    assert "\n" not in error
    expected_prefix = f"{path}:{line}" if line else f"{path}"
    assert error.startswith(expected_prefix + ":"), error
    assert place in error.split(": ", 2)[1] if place else True, error
    assert message in error, error


@pytest.mark.parametrize("case, text, line, place, message", CASES, ids=[c[0] for c in CASES])
def test_cli_exits_2_with_one_line(tmp_path, case, text, line, place, message):
    path = write(tmp_path, text)
    result = CliRunner().invoke(app, ["cost", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("archcalc: error: ") and message in lines[0]


def test_extends_loop(tmp_path):
    write(tmp_path, "extends: b.yaml\nname: a\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\nname: b\n", "b.yaml")
    with pytest.raises(archcalc.SpecError, match=r"extends/include loop: a.yaml -> b.yaml -> a.yaml"):
        archcalc.load(tmp_path / "a.yaml")


def test_extends_missing_parent(tmp_path):
    path = write(tmp_path, "extends: nowhere.yaml\n")
    with pytest.raises(archcalc.SpecError, match=r"bad.yaml:1: extends: no spec file 'nowhere.yaml'"):
        archcalc.load(path)


def test_block_definition_errors_name_the_definition(tmp_path):
    text = GOOD + "blocks:\n  mine:\n    params: {c: {type: channels}}\n    body:\n      - {name: a, op: conv2d, out: 8, colour: red}\n"
    text = text.replace("{name: pool, op: global_avg_pool}", "{name: extra, block: mine, c: 8}\n  - {name: pool, op: global_avg_pool}")
    with pytest.raises(archcalc.SpecError) as info:
        archcalc.load(write(tmp_path, text))
    error = str(info.value)
    # the row that instantiated it, then the block item (file:line) and the bad attribute
    assert "layers[2]" in error and "mine.body[0] at" in error and "unknown attribute 'colour' for op conv2d" in error


def test_block_that_contains_itself(tmp_path):
    text = GOOD + "blocks:\n  loop:\n    body:\n      - {name: again, block: loop}\n"
    text = text.replace("{name: pool, op: global_avg_pool}", "{name: x, block: loop}\n  - {name: pool, op: global_avg_pool}")
    with pytest.raises(archcalc.SpecError, match="block 'loop' contains itself"):
        archcalc.load(write(tmp_path, text))


def test_bad_overrides_name_the_command_line():
    with pytest.raises(archcalc.SpecError, match=r"command line: --width: expected a finite width multiplier > 0, got 0"):
        archcalc.load(Path(__file__).parents[1] / "specs/mnv2.yaml", width=0)


def test_missing_file_is_one_line():
    with pytest.raises(archcalc.SpecError, match="cannot read spec file"):
        archcalc.load("no/such/spec.yaml")


def test_real_process_exit_code_and_stderr(tmp_path):
    path = write(tmp_path, CASES[0][1])
    done = subprocess.run([sys.executable, "-m", "archcalc", "cost", str(path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "unknown key 'colour'" in done.stderr
