"""The spec language and the IR: extends, overrides, YAML-defined blocks, graphs that are not
chains (residuals, branches, taps, several outputs), shapes, and the closed op registry."""
from __future__ import annotations

from pathlib import Path

import pytest

import archcalc
from archcalc.ops import Cost, Params, all_ops, get_op, register
from archcalc.ops.base import OpDef
from archcalc.ops.conv import conv_output_size
from archcalc.spec.expr import ExpressionError, evaluate

ROOT = Path(__file__).resolve().parents[1]


def spec(tmp_path: Path, text: str) -> archcalc.Model:
    path = tmp_path / "net.yaml"
    path.write_text(text)
    return archcalc.load(path)


def test_mnv2_1_4_extends_and_changes_only_the_width():
    base, wide = archcalc.load(ROOT / "specs/mnv2.yaml"), archcalc.load(ROOT / "specs/mnv2_1.4.yaml")
    assert wide.width == 1.4 and base.width == 1.0
    same_width = archcalc.load(ROOT / "specs/mnv2.yaml", width=1.4)
    assert wide.order == same_width.order
    assert wide.totals() == same_width.totals()


def test_overrides_width_resolution_classes():
    model = archcalc.load(ROOT / "specs/mnv2.yaml", width=0.75, resolution=160, classes=1000)
    assert (model.width, model.resolution, model.classes) == (0.75, 160, 1000)
    assert model.node("input")["shape"] == (3, 160, 160)
    assert model.node("logits")["shape"] == (1000, 1, 1)


@pytest.mark.parametrize("size, kernel, stride, padding, dilation",
                         [(7, 3, 2, 1, 1), (15, 5, 3, 2, 1), (9, 3, 1, 2, 2), (13, 7, 2, 0, 1), (11, 3, 2, 3, 3)])
def test_conv_output_formula_on_odd_sizes(size, kernel, stride, padding, dilation):
    # counted independently: the positions where a dilated window fits in the padded input
    padded = size + 2 * padding
    span = dilation * (kernel - 1) + 1
    positions = len(range(0, padded - span + 1, stride))
    assert conv_output_size(size, kernel, stride, padding, dilation) == positions


def test_shapes_through_a_dilated_strided_conv(tmp_path):
    model = spec(tmp_path, """
input: {channels: 3, resolution: 17}
layers:
  - {name: a, op: conv2d, out: 8, kernel: 3, stride: 2, dilation: 2}    # same -> pad 2
  - {name: b, op: conv2d, out: 6, kernel: 5, stride: 3, padding: 1, groups: 2}
""")
    # a: (17 + 4 - 4 - 1)//2 + 1 = 9 ; b: (9 + 2 - 4 - 1)//3 + 1 = 3
    assert model.node("a")["shape"] == (8, 9, 9)
    assert model.node("b")["shape"] == (6, 3, 3)
    # b: 3*3 positions * 5*5 kernel * (8/2) inputs per group * 6 outputs = 5400 MAdds
    assert model.node("b")["cost"].madds == 3 * 3 * 5 * 5 * 4 * 6


SE_RESNET = """
input: {channels: 3, resolution: 32}
defaults: {kernel: 3, activation: relu, norm: batch_norm}
layers:
  - {name: stem, block: conv_bn_act, c: 64, s: 2}
  - {name: res, block: resnet_bottleneck, c: 16, s: 1}
  - {name: se, block: squeeze_excite, r: 4}
  - {name: head, op: global_avg_pool}
"""


def test_blocks_from_yaml_resnet_and_se(tmp_path):
    model = spec(tmp_path, SE_RESNET)
    # resnet_bottleneck: 64 -> 16 -> 16 -> 64 with identity shortcut (c_in == 64 == 16*4, s = 1)
    assert "res.shortcut.conv" not in model.order
    assert model.node("res.add")["inputs"] == ["stem.act", "res.expand.bn"]
    # squeeze_excite on 64 channels: squeeze to max(8, make_divisible(64/4, 8)) = 16, gate by mul
    assert model.node("se.reduce")["shape"] == (16, 1, 1)
    assert model.node("se.scale")["inputs"] == ["res.act", "se.gate"]
    assert model.node("se.scale")["shape"] == (64, 16, 16)
    # se params: reduce 64*16 + 16 bias, expand 16*64 + 64 bias = 2128
    se_params = sum(model.node(n)["params"].weights + model.node(n)["params"].bias for n in model.order if n.startswith("se."))
    assert se_params == 64 * 16 + 16 + 16 * 64 + 64


def test_user_defined_block_with_parallel_branches_and_concat(tmp_path):
    model = spec(tmp_path, """
input: {channels: 8, resolution: 16}
blocks:
  inception:
    params: {c: {type: channels}}
    body:
      - {name: b1, op: conv2d, out: "${c}", kernel: 1}
      - {name: b3, op: conv2d, from: input, out: "${c}", kernel: 3}
      - {name: pool, op: max_pool, from: input, kernel: 3, stride: 1, padding: 1}
      - {name: cat, op: concat, from: [b1, b3, pool]}
layers:
  - {name: mix, block: inception, c: 4}
""")
    assert model.node("mix.cat")["shape"] == (4 + 4 + 8, 16, 16)
    assert model.node("mix.cat")["inputs"] == ["mix.b1", "mix.b3", "mix.pool"]


def test_taps_and_several_outputs(tmp_path):
    model = spec(tmp_path, """
input: {channels: 3, resolution: 64}
defaults: {kernel: 3, activation: relu6, norm: batch_norm}
layers:
  - {name: stem, block: conv_bn_act, c: 16, s: 2}
  - {block: bottleneck, t: 6, c: 24, n: 2, s: 2}
  - {name: tap_head, op: conv2d, from: stage1.block1.expand, out: 12, kernel: 1}
  - {name: main_head, op: conv2d, from: stage1, out: 10, kernel: 1}
outputs: [tap_head, main_head]
""")
    # the tap reads the expansion output (after its activation) of the first block: 16*6 = 96 at 32x32
    assert model.node("tap_head")["inputs"] == ["stage1.block1.expand.act"]
    assert model.node("tap_head")["in_shapes"] == [(96, 32, 32)]
    assert model.outputs == ["tap_head", "main_head"]


def test_layers_may_reference_later_rows_without_a_cycle(tmp_path):
    model = spec(tmp_path, """
input: {channels: 3, resolution: 8}
layers:
  - {name: sum, op: add, from: [left, right]}
  - {name: left, op: conv2d, from: input, out: 4}
  - {name: right, op: conv2d, from: input, out: 4}
outputs: [sum]
""")
    assert model.order == ["input", "left", "right", "sum"]
    assert model.outputs == ["sum"]


def test_expressions_are_interpreted_not_evaluated():
    functions = {"max": max}
    assert evaluate("max(8, c_in * t // 2) if t > 1 else c_in", {"c_in": 16, "t": 6}, functions) == 48
    for hostile in ("__import__('os')", "().__class__", "[x for x in y]", "lambda: 1", "a[0]"):
        with pytest.raises(ExpressionError):
            evaluate(hostile, {"a": [1], "y": [1]}, functions)


def test_registry_is_closed_and_complete():
    with pytest.raises(KeyError, match="unknown op 'conv3d'"):
        get_op("conv3d")
    required = {"conv2d", "depthwise_conv2d", "batch_norm", "relu", "relu6", "hardswish", "sigmoid", "identity",
                "add", "concat", "channel_shuffle", "global_avg_pool", "avg_pool", "max_pool",
                "upsample_bilinear", "linear", "dropout", "flatten", "mul"}
    assert required <= set(all_ops())
    for kind, op in all_ops().items():
        assert op.__doc__ and op.kind == kind
        # an op that costs nothing says why (fvcore's explicit ignore list); checked on a small input
        shape = (4, 6, 6)
        attrs = {k: a.default for k, a in op.attrs.items() if not a.required}
        attrs.update({k: 2 for k, a in op.attrs.items() if a.required})
        if kind == "input":
            attrs.update(channels=4, height=6, width=6)
        inputs = [] if op.max_inputs == 0 else [shape] * op.min_inputs
        if kind == "linear":
            inputs = [(4,)]
        if kind == "upsample_bilinear":
            attrs["factor"] = 2
        out = op.shape(attrs, inputs)
        free = op.cost(attrs, inputs, out) == Cost() and op.params(attrs, inputs, out) == Params()
        assert free == (op.free_because is not None), kind


def test_cost_and_params_add_and_scale_term_by_term_never_as_tuples():
    # they are named tuples (no dataclasses on the start-up path): + and * must not be
    # tuple concatenation and repetition, and a Cost plus a Params is a mistake
    assert Cost(madds=2, bias=1) + Cost(madds=3, act=4) == Cost(madds=5, bias=1, act=4)
    assert 3 * Cost(madds=2, pool=1) == Cost(madds=2, pool=1) * 3 == Cost(madds=6, pool=3)
    assert Params(weights=5, bn_stats=1) + Params(weights=1, bias=2) == Params(weights=6, bias=2, bn_stats=1)
    assert Cost(madds=7).as_dict() == {"madds": 7, "bias": 0, "bn": 0, "act": 0, "eltwise": 0, "pool": 0, "resize": 0}
    with pytest.raises(TypeError, match="cannot add Params to Cost"):
        Cost() + Params()
    with pytest.raises(TypeError):
        Params() + (1, 2, 3, 4)
    with pytest.raises(TypeError, match="cannot add tuple to Cost"):
        (1, 2) + Cost()  # the tuple on the left: tuple.__add__ would concatenate
    with pytest.raises(TypeError, match="cannot add tuple to Params"):
        (1, 2) + Params()
    for scaled in (lambda: Params(weights=1) * 2, lambda: 2 * Params(weights=1)):
        with pytest.raises(TypeError, match="cannot multiply Params"):
            scaled()  # tuple repetition otherwise: an 8-tuple


def test_registering_a_kind_twice_is_an_error():
    with pytest.raises(ValueError, match="registered twice"):
        @register
        class AnotherConv(OpDef):
            kind = "conv2d"


def test_cost_table_dataframe_and_rollup():
    model = archcalc.load(ROOT / "specs/mnv2.yaml")
    frame = model.cost_table(depth=1)
    assert int(frame["madds"].sum()) == model.totals()["madds"]
    assert list(frame.index[:3]) == ["stem", "stage1", "stage2"]
    assert "conv+linear" in frame.attrs["convention"]


def test_include_reuses_a_backbone_through_a_named_row(tmp_path):
    head = tmp_path / "det.yaml"
    head.write_text(f"""
input: {{channels: 3, resolution: 320}}
rounding: {{channels: make_divisible}}
layers:
  - {{include: {ROOT / 'specs' / 'mnv2.yaml'}, until: head}}
  - {{name: extra, op: conv2d, out: 16, kernel: 1}}
""")
    model = archcalc.load(head)
    backbone = archcalc.load(ROOT / "specs/mnv2.yaml", resolution=320)
    stop = backbone.order.index("head.act") + 1
    assert model.order[:stop] == backbone.order[:stop]  # the same rows, names and shapes
    assert all(model.node(n)["shape"] == backbone.node(n)["shape"] for n in backbone.order[:stop])
    assert "pool" not in model.order and model.node("extra")["inputs"] == ["head.act"]


def test_include_errors_name_the_row(tmp_path):
    head = tmp_path / "det.yaml"
    head.write_text(f"input: {{channels: 3, resolution: 32}}\nlayers:\n  - {{include: {ROOT / 'specs' / 'mnv2.yaml'}, until: neck}}\n")
    with pytest.raises(archcalc.SpecError, match=r"det.yaml:3: layers\[0\].include: .*mnv2.yaml has no layer named 'neck'"):
        archcalc.load(head)


def test_optional_inputs_drop_removed_branches(tmp_path):
    text = """
input: {{channels: 4, resolution: 8}}
defaults: {{wide: {wide}}}
layers:
  - {{name: a, op: conv2d, out: 2}}
  - {{name: b, op: conv2d, from: input, out: 3, when: "${{wide}}"}}
  - {{name: cat, op: concat, from: [a, b?, input]}}
"""
    (tmp_path / "net.yaml").write_text(text.format(wide="true"))
    assert archcalc.load(tmp_path / "net.yaml").node("cat")["inputs"] == ["a", "b", "input"]
    (tmp_path / "net.yaml").write_text(text.format(wide="false"))
    narrow = archcalc.load(tmp_path / "net.yaml")
    # without `?` a removed row would stand for its input (here: input, read twice)
    assert narrow.node("cat")["inputs"] == ["a", "input"] and narrow.node("cat")["shape"] == (6, 8, 8)


@pytest.mark.parametrize("spec_name", ["mnv2.yaml", "shufflenet_v1.yaml", "deeplabv3_mnv2.yaml"])
def test_fast_totals_equal_the_sum_of_the_layer_rows(spec_name):
    from archcalc.analysis.costs import totals

    model = archcalc.load(ROOT / "specs" / spec_name)
    for convention in (archcalc.Convention(), archcalc.Convention(batch=3, bn_params="all", flops_terms=("bn",))):
        assert model.totals(convention) == totals(model.layers(convention))


def test_a_child_spec_replaces_a_block_definition_whole(tmp_path):
    (tmp_path / "parent.yaml").write_text("""
input: {channels: 4, resolution: 8}
blocks:
  unit:
    params: {c: {type: channels}}
    output: a
    body:
      - {name: a, op: conv2d, out: "${c}"}
layers:
  - {name: u, block: unit, c: 8}
""")
    (tmp_path / "child.yaml").write_text("""
extends: parent.yaml
blocks:
  unit:
    params: {c: {type: channels}}
    body:
      - {name: a, op: conv2d, out: "${c}"}
      - {name: b, op: relu}
""")
    # the parent's `output: a` must not leak into the child's definition of the block
    assert archcalc.load(tmp_path / "child.yaml").outputs == ["u.b"]


def test_round_in_expressions_rounds_halves_up(tmp_path):
    # Python's round(2.5) is 2 (to even); a spec's round(2.5) is 3, as the symbolic replay assumes
    model = spec(tmp_path, """
input: {channels: 4, resolution: 8}
layers:
  - {name: a, op: conv2d, out: "${round(2.5)}"}
  - {name: b, op: conv2d, out: "${round(3.5) + round(2.4)}"}
""")
    assert model.node("a")["shape"][0] == 3 and model.node("b")["shape"][0] == 4 + 2


def test_a_convention_is_checked_however_it_is_made():
    # a named tuple (no dataclasses on the start-up path): _replace and _make, which namedtuple
    # builds without __new__, must check the fields as Convention(...) does
    good = archcalc.Convention(batch=2)
    for make in (lambda: archcalc.Convention(batch=0), lambda: good._replace(batch=0),
                 lambda: archcalc.Convention._make((0, 2, (), "affine")), lambda: good._replace(flops_per_madd=3)):
        with pytest.raises(ValueError, match="batch|flops_per_madd"):
            make()
    import copy
    import pickle

    assert good._replace(bn_params="all") == archcalc.Convention(batch=2, bn_params="all")
    assert pickle.loads(pickle.dumps(good)) == good == copy.deepcopy(good)
