"""Property-based verification: random valid specs, every check against PyTorch/fvcore.

hypothesis writes YAML text (stacks of convs, depthwise-separable and inverted-residual
blocks, explicit residuals, concat branches, pooling, shuffles, SE gates, linear or conv
heads, channel chunks and slices, ceil-mode and adaptive pools, non-square kernels, layer
norm and layer scale; random channels, kernels, strides, dilations, groups, expansions,
resolutions, widths, rounding rules), loads it with archcalc and asserts that verify() finds no
mismatch: params, MAdds (fvcore), shapes and peak memory per step.

Normal run: 200 examples. The long run (documented in docs/verification.md)::

    ARCHCALC_PROPERTY_EXAMPLES=10000 pytest tests/test_property_verify.py -q
"""
from __future__ import annotations

import os

import pytest

pytest.importorskip("torch")
pytest.importorskip("fvcore")
from hypothesis import HealthCheck, given, note, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import archcalc  # noqa: E402
from archcalc.pytorch.verify import verify  # noqa: E402

EXAMPLES = int(os.environ.get("ARCHCALC_PROPERTY_EXAMPLES", "200"))

ROUNDINGS = (
    "{channels: make_divisible, divisor: 4, min_depth: 4, expansion: make_divisible}",
    "{channels: truncate, min_depth: 2, expansion: round}",
    "{channels: nearest, expansion: round}",
)
ACTIVATIONS = ("relu", "relu6", "hardswish", "sigmoid", "identity", "hardsigmoid", "silu")
ELEMENTWISE = ("gelu", "layer_norm", "layer_scale")  # not usable as a block's activation


def _yaml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith("$"):
        return f'"{value}"'
    return str(value)


def _row(**fields) -> str:
    return "  - {" + ", ".join(f"{k}: {_yaml(v)}" for k, v in fields.items()) + "}"


@st.composite
def body_rows(draw, index: int, prev: str) -> tuple[list[str], str]:
    """One random piece of network reading ``prev``; returns its rows and its output name."""
    kind = draw(st.sampled_from(["bottleneck", "dw_separable", "grouped", "residual", "concat", "pool",
                                 "depthwise", "se", "act", "resnet", "upsample", "split", "ceil_pool",
                                 "adaptive", "non_square", "elementwise"]))
    c = draw(st.integers(2, 16))
    s = draw(st.sampled_from([1, 1, 2]))
    k = draw(st.sampled_from([1, 3, 5]))
    d = draw(st.sampled_from([1, 1, 2]))
    name = f"p{index}"
    if kind == "bottleneck":
        n = draw(st.integers(1, 2))
        if draw(st.booleans()):  # an absolute expanded width (read from the input: not width-scaled again)
            e = draw(st.sampled_from([1, 2, 3]))
            return [_row(name=name, **{"from": prev}, block="bottleneck", expanded=f"${{{e} * c_in}}", c=c, n=n,
                         s=s, k=k)], name
        t = draw(st.sampled_from([1, 2, 3.5, 6]))
        return [_row(name=name, **{"from": prev}, block="bottleneck", t=t, c=c, n=n, s=s, k=k, dilation=d)], name
    if kind == "split":  # ShuffleNetV2's unit: chunk, a branch on one half, concat, shuffle; or a slice
        index = draw(st.integers(0, 1))
        return [
            _row(name=f"{name}a", **{"from": prev}, op="conv2d", out=2 * c, kernel=1, scale="none"),
            _row(name=f"{name}l", op="chunk", chunks=2, index=index),
            _row(name=f"{name}r", **{"from": f"{name}a"}, op="chunk", chunks=2, index=1 - index),
            _row(name=f"{name}b", block="conv_bn_act", c=c, k=1, scale="none"),
            _row(name=f"{name}s", **{"from": f"{name}a"}, op="slice", start=draw(st.integers(0, c - 1)), stop="${c_in}"),
            _row(name=f"{name}c", op=draw(st.sampled_from(["relu", "silu", "identity"]))),
            _row(name=f"{name}j", op="concat", **{"from": f"[{name}l, {name}b]"}),
            _row(name=f"{name}x", op="channel_shuffle", groups=2),
            _row(name=name, op="concat", **{"from": f"[{name}x, {name}c]"}),
        ], name
    if kind == "ceil_pool":
        pool = draw(st.sampled_from(["max_pool", "avg_pool"]))
        extra = {"count_include_pad": draw(st.booleans())} if pool == "avg_pool" else {}
        kernel = draw(st.sampled_from([2, 3]))
        return [_row(name=name, **{"from": prev}, op=pool, kernel=kernel, stride=2,
                     padding=draw(st.integers(0, kernel // 2)), ceil_mode=True, **extra)], name
    if kind == "adaptive":
        size = draw(st.sampled_from([1, 2, 3, "[2, 3]"]))
        return [_row(name=name, **{"from": prev}, op="adaptive_avg_pool", size=size)], name
    if kind == "non_square":
        kh, kw = draw(st.sampled_from([(1, 3), (3, 1), (1, 5), (5, 3)]))
        return [
            _row(name=f"{name}a", **{"from": prev}, block="conv_bn_act", c=c, k=f"[{kh}, {kw}]",
                 s=draw(st.sampled_from([1, "[1, 2]", "[2, 1]"]))),
            _row(name=name, op="depthwise_conv2d", kernel=f"[{kw}, {kh}]", padding=f"[{kw // 2}, {kh // 2}]"),
        ], name
    if kind == "elementwise":
        op = draw(st.sampled_from(ELEMENTWISE))
        extra = {"approximate": draw(st.sampled_from(["none", "tanh"]))} if op == "gelu" else {}
        return [_row(name=name, **{"from": prev}, op=op, **extra)], name
    if kind == "dw_separable":
        return [_row(name=name, **{"from": prev}, block="dw_separable", c=c, s=s, k=k)], name
    if kind == "resnet":
        return [_row(name=name, **{"from": prev}, block="resnet_bottleneck", c=max(1, c // 2), s=s,
                     expansion=draw(st.sampled_from([1, 2, 4])))], name
    if kind == "grouped":  # a known channel count first, so the groups divide it
        g = draw(st.sampled_from([1, 2, 3, 4]))
        a, b = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        return [
            _row(name=f"{name}a", **{"from": prev}, op="conv2d", out=g * a, scale="none"),
            _row(name=f"{name}b", op="conv2d", out=g * b, kernel=k, stride=s, dilation=d, groups=g,
                 bias=draw(st.booleans()), scale="none"),
            _row(name=name, op="channel_shuffle", groups=g),
        ], name
    if kind == "residual":
        inputs = f"[{name}a, {name}b]" if draw(st.booleans()) else f"[{name}a, {name}b, {name}a]"
        return [
            _row(name=f"{name}a", **{"from": prev}, op="conv2d", out=c, kernel=k, stride=s, scale="none"),
            _row(name=f"{name}b", block="conv_bn_act", c=c, k=3, dilation=d, scale="none"),
            _row(name=name, op="add", **{"from": inputs}),
        ], name
    if kind == "concat":
        pool = draw(st.sampled_from(["max_pool", "avg_pool"]))
        return [
            _row(name=f"{name}a", **{"from": prev}, op="conv2d", out=c, kernel=k, stride=s),
            _row(name=f"{name}b", **{"from": prev}, op=pool, kernel=3, stride=s, padding=1),
            _row(name=name, op="concat", **{"from": f"[{name}a, {name}b]"}),
        ], name
    if kind == "pool":
        pool = draw(st.sampled_from(["max_pool", "avg_pool"]))
        return [_row(name=name, **{"from": prev}, op=pool, kernel=draw(st.sampled_from([2, 3])), stride=2, padding=1)], name
    if kind == "depthwise":
        return [_row(name=name, **{"from": prev}, op="depthwise_conv2d", kernel=k, stride=s, dilation=d,
                     multiplier=draw(st.integers(1, 3)), bias=draw(st.booleans()))], name
    if kind == "se":
        squeeze = {"squeeze": "${max(1, c_in // 4)}"} if draw(st.booleans()) else {"r": draw(st.sampled_from([2, 4]))}
        return [_row(name=name, **{"from": prev}, block="squeeze_excite", **squeeze,
                     inner=draw(st.sampled_from(["relu", "silu"])),
                     gate=draw(st.sampled_from(["sigmoid", "hardswish", "hardsigmoid"])))], name
    if kind == "upsample":
        # `scale` is also the row key for width scaling, so the resize is written by `size`
        return [_row(name=name, **{"from": prev}, op="upsample_bilinear", size=draw(st.integers(2, 12)),
                     align_corners=draw(st.booleans()))], name
    return [_row(name=name, **{"from": prev}, op=draw(st.sampled_from(ACTIVATIONS)))], name


@st.composite
def spec_texts(draw) -> str:
    resolution = draw(st.integers(4, 20))
    lines = [
        "name: random",
        f"input: {{channels: {draw(st.sampled_from([1, 3, 4]))}, resolution: {resolution}}}",
        f"width: {draw(st.sampled_from([0.5, 0.75, 1.0, 1.4]))}",
        f"classes: {draw(st.integers(1, 12))}",
        f"rounding: {draw(st.sampled_from(ROUNDINGS))}",
        f"defaults: {{kernel: 3, activation: {draw(st.sampled_from(ACTIVATIONS))}, "
        f"norm: {draw(st.sampled_from(['batch_norm', 'batch_norm', 'none']))}}}",
        "layers:",
        _row(name="stem", block="conv_bn_act", c=draw(st.integers(2, 12)), s=draw(st.sampled_from([1, 2])),
             k=draw(st.sampled_from([1, 3, 5]))),
    ]
    prev = "stem"
    for index in range(draw(st.integers(1, 4))):
        rows, prev = draw(body_rows(index, prev))
        lines += rows
    head = draw(st.sampled_from(["linear", "conv", "flat_bn", "none"]))
    if head == "linear":
        lines += [_row(name="pool", op="global_avg_pool"), _row(name="flat", op="flatten"),
                  _row(name="fc", op="linear", out="${classes}", bias=draw(st.booleans()), scale="none")]
    elif head == "conv":
        lines += [_row(name="pool", op="global_avg_pool"), _row(name="drop", op="dropout", rate=0.2),
                  _row(name="logits", op="conv2d", out="${classes}", kernel=1, bias=True, scale="none")]
    elif head == "flat_bn":
        lines += [_row(name="pool", op="avg_pool", kernel=2, stride=2, padding=1), _row(name="flat", op="flatten"),
                  _row(name="norm", op="batch_norm"), _row(name="fc", op="linear", out="${classes}", scale="none")]
    return "\n".join(lines) + "\n"


@settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=spec_texts())
def test_random_specs_verify(text, tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "random.yaml"
    path.write_text(text)
    note(text)
    model = archcalc.load(path)
    result = verify(model)
    assert result.ok, result.failures()[:5]
