"""Detection and segmentation specs: key shapes, head/whole-network counts, and that every
repeated backbone is the classifier spec's backbone, layer by layer.

Expected values cite their source: the paper's Tables 5-7 (arXiv 1801.04381), the TF Object
Detection API (ssd_mobilenet_v2_feature_extractor.py, feature_map_generators.py) and
research/deeplab (model.py, common.py).
"""
from __future__ import annotations

from pathlib import Path

import pytest

import archcalc
from archcalc.analysis.convention import Convention
from archcalc.validate import mf_resolutions, part, space_to_batch_extra

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
NO_BN = Convention(bn_params="none")
TRAINABLE = Convention(bn_params="affine")


def load(name: str, **kwargs):
    return archcalc.load(SPECS / name, **kwargs)


def shape_of(model, name: str) -> tuple:
    return model.node(model.scopes[name])["shape"]


# ------------------------------------------------------------------------- SSD / SSDLite
SSD_MAPS = {  # spec -> the six feature maps' layer names (OD API from_layer, then 4 extras)
    "ssdlite_mnv2.yaml": ("stage6.block1.expand", "head", "extra1", "extra2", "extra3", "extra4"),
    "ssd_mnv2.yaml": ("stage6.block1.expand", "head", "extra1", "extra2", "extra3", "extra4"),
    "ssdlite_mnv1.yaml": ("conv2d_11", "conv2d_13", "extra1", "extra2", "extra3", "extra4"),
    "ssd_mnv1.yaml": ("conv2d_11", "conv2d_13", "extra1", "extra2", "extra3", "extra4"),
}


@pytest.mark.parametrize("spec", SSD_MAPS)
def test_ssd_six_feature_maps_at_320(spec):
    model = load(spec)
    sizes = [shape_of(model, name)[1:] for name in SSD_MAPS[spec]]
    assert sizes == [(20, 20), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1)]
    # layer_depth [-1, -1, 512, 256, 256, 128]: the extras' depths
    assert [shape_of(model, f"extra{i}")[0] for i in range(1, 5)] == [512, 256, 256, 128]


def test_ssd_mnv2_taps_layer_15_expansion_and_layer_19():
    model = load("ssdlite_mnv2.yaml")
    assert shape_of(model, "stage6.block1.expand") == (576, 20, 20)   # 96 * 6, output stride 16
    assert shape_of(model, "head") == (1280, 10, 10)                  # layer_19, output stride 32


@pytest.mark.parametrize("spec", ["ssdlite_mnv2.yaml", "ssd_mnv2.yaml"])
def test_ssd_predictor_outputs(spec):
    model = load(spec)  # 90 classes (ssdlite_mobilenet_v2_coco.config) + background
    for i in range(6):
        anchors = 3 if i == 0 else 6                     # reduce_boxes_in_lowest_layer
        assert shape_of(model, f"box{i}")[0] == anchors * 4
        assert shape_of(model, f"cls{i}")[0] == anchors * 91
    assert len(model.outputs) == 12


def test_ssdlite_is_separable_and_ssd_is_not():
    lite, full = load("ssdlite_mnv2.yaml"), load("ssd_mnv2.yaml")
    lite_ops = {r["op"] for r in lite.layers() if r["name"].startswith(("extra", "box", "cls"))}
    assert "depthwise_conv2d" in lite_ops
    assert all(r["op"] != "depthwise_conv2d" for r in full.layers() if r["name"].startswith(("extra", "box", "cls")))
    # a 3x3 regular conv in every SSD predictor
    assert full.node("box0.conv")["attrs"]["kernel"] == 3 and lite.node("box0.conv")["attrs"]["kernel"] == 1


def ssd_head_madds(lite: bool, classes: int) -> int:
    """SSD / SSDLite head multiply-adds on MobileNetV2 at 320, written out from the TF OD API
    layout (independently of the specs): maps 576@20x20 (layer_15 expansion) and 1280@10x10,
    extra maps of depth 512/256/256/128 (1x1 to half the depth, then 3x3 stride 2), and per map a
    3x3 box (anchors x 4) and class (anchors x (classes + 1)) predictor; SSDLite makes every 3x3
    a depthwise 3x3 followed by a 1x1."""
    maps = [(576, 20), (1280, 10)]
    extras = 0
    for depth in (512, 256, 256, 128):
        c_in, size = maps[-1]
        half, out = depth // 2, (size + 1) // 2                        # SAME, stride 2: ceil(size / 2)
        extras += size * size * c_in * half                              # 1x1 reduce
        extras += out * out * 9 * half + out * out * half * depth if lite else out * out * 9 * half * depth
        maps.append((depth, out))
    predictors = 0
    for index, (channels, size) in enumerate(maps):
        outputs = (3 if index == 0 else 6) * (4 + classes + 1)            # box + class convs of one map
        per_position = (9 * channels * 2 + channels * outputs) if lite else 9 * channels * outputs
        predictors += size * size * per_position
    return extras + predictors


def test_table5_heads_80_classes():
    """Table 5: SSD 14.8M / 1.25B, SSDLite 2.1M / 0.35B (computed: 14.78M / 1.259B, 2.11M / 0.178B)."""
    heads = ("extra", "box", "cls")
    ssd, lite = load("ssd_mnv2.yaml", classes=80), load("ssdlite_mnv2.yaml", classes=80)
    assert round(part(ssd, heads, "params", TRAINABLE) / 1e6, 1) == 14.8
    assert part(ssd, heads, "madds") == ssd_head_madds(lite=False, classes=80)
    assert round(part(ssd, heads, "madds") / 1e9, 2) == 1.26     # the paper prints 1.25 (truncated)
    assert round(part(lite, heads, "params", TRAINABLE) / 1e6, 1) == 2.1
    assert part(lite, heads, "madds") == ssd_head_madds(lite=True, classes=80)
    assert round(part(lite, heads, "madds") / 1e9, 2) == 0.18    # about half of the printed 0.35B (see validation)


def test_table6_whole_networks_80_classes():
    v2, v1 = load("ssdlite_mnv2.yaml", classes=80), load("ssdlite_mnv1.yaml", classes=80)
    assert round(v2.totals(TRAINABLE)["params"] / 1e6, 1) == 4.3 and round(v2.totals()["madds"] / 1e9, 1) == 0.8
    assert round(v1.totals(TRAINABLE)["params"] / 1e6, 1) == 5.1 and round(v1.totals()["madds"] / 1e9, 1) == 1.3


def backbone_rows(model, prefixes, convention=NO_BN):
    return [(r["name"], r["output_shape"], r["madds"], r["params"]) for r in model.layers(convention)
            if r["name"].split(".")[0] in prefixes]


MNV2_BACKBONE = ("stem", *(f"stage{i}" for i in range(1, 8)))
MNV1_BACKBONE = tuple(f"conv2d_{i}" for i in range(14))


def test_ssd_backbones_equal_the_classifier_specs():
    """The head specs repeat the backbone rows (extends replaces lists): pin them to the originals."""
    assert backbone_rows(load("ssdlite_mnv2.yaml"), (*MNV2_BACKBONE, "head")) == \
        backbone_rows(load("mnv2.yaml", resolution=320), (*MNV2_BACKBONE, "head"))
    assert backbone_rows(load("ssdlite_mnv1.yaml"), MNV1_BACKBONE) == \
        backbone_rows(load("mnv1.yaml", resolution=320), MNV1_BACKBONE)


def _at_output_stride(tmp_path, spec: str, output_stride: int, resolution: int):
    child = tmp_path / f"os{output_stride}_{spec}"
    child.write_text(f"extends: {SPECS / spec}\ndefaults: {{output_stride: {output_stride}}}\n")
    return archcalc.load(child, resolution=resolution)


def test_deeplab_backbones_at_output_stride_32_equal_the_classifier_specs(tmp_path):
    assert backbone_rows(_at_output_stride(tmp_path, "deeplabv3_mnv2.yaml", 32, 224), MNV2_BACKBONE) == \
        backbone_rows(load("mnv2.yaml"), MNV2_BACKBONE)
    assert backbone_rows(_at_output_stride(tmp_path, "deeplabv3_mnv1.yaml", 32, 224), MNV1_BACKBONE) == \
        backbone_rows(load("mnv1.yaml"), MNV1_BACKBONE)


# ------------------------------------------------------------------------- DeepLabv3
@pytest.mark.parametrize("spec,os_,feature", [
    ("deeplabv3_mnv2.yaml", 16, "stage7"), ("deeplabv3_mnv2_os8.yaml", 8, "stage7"),
    ("deeplabv3_mnv2_noaspp.yaml", 16, "stage7"), ("deeplabv3_mnv2_noaspp_os8.yaml", 8, "stage7"),
    ("deeplabv3_mnv1.yaml", 16, "conv2d_13"), ("deeplabv3_mnv1_os8.yaml", 8, "conv2d_13"),
    ("deeplabv3_resnet101.yaml", 16, "block4"), ("deeplabv3_resnet101_beta_os8.yaml", 8, "block4"),
])
def test_deeplab_output_size_follows_output_stride(spec, os_, feature):
    model = load(spec)
    side = {16: 33, 8: 65}[os_]                      # ceil(513 / OS)
    assert shape_of(model, feature)[1:] == (side, side)
    assert shape_of(model, "logits") == (21, side, side)
    assert shape_of(model, "image_pooling") == (256, side, side)
    assert shape_of(model, "resize") == (21, 513, 513)


def test_mnv2_star_reads_the_320_channel_map_not_1280():
    model = load("deeplabv3_mnv2.yaml")
    assert shape_of(model, "stage7") == (320, 33, 33)
    assert "head" not in model.scopes                # layer_19 is not built
    assert model.node("aspp0.conv")["in_shapes"][0][0] == 320


@pytest.mark.parametrize("spec,concat", [("deeplabv3_mnv2.yaml", 1280), ("deeplabv3_mnv2_noaspp.yaml", 512)])
def test_aspp_branches(spec, concat):
    model = load(spec)
    assert model.node("projection.conv")["in_shapes"][0][0] == concat
    if concat == 1280:  # rates 6/12/18 at OS 16 (research/deeplab common.py), doubled at OS 8
        assert [model.node(f"aspp{i}.conv")["attrs"]["dilation"] for i in (1, 2, 3)] == [6, 12, 18]
        os8 = load("deeplabv3_mnv2_os8.yaml")
        assert [os8.node(f"aspp{i}.conv")["attrs"]["dilation"] for i in (1, 2, 3)] == [12, 24, 36]
    else:
        assert "aspp1.conv" not in model.graph


def test_table7_params():
    """Table 7 params, TF trainable variables (weights, biases, BN gamma/beta)."""
    got = {spec: round(load(spec).totals(TRAINABLE)["params"] / 1e6, 2) for spec in (
        "deeplabv3_mnv1.yaml", "deeplabv3_mnv2.yaml", "deeplabv3_mnv2_noaspp.yaml", "deeplabv3_resnet101_beta.yaml")}
    assert got == {"deeplabv3_mnv1.yaml": 11.15, "deeplabv3_mnv2.yaml": 4.52, "deeplabv3_mnv2_noaspp.yaml": 2.11,
                   "deeplabv3_resnet101_beta.yaml": 58.16}


def test_resnet101_backbone_params_equal_torchvision():
    """slim's unit layout moves strides, not weights: the backbone (conv1..block4, BN gamma/beta)
    has torchvision resnet101's 44,549,160 parameters minus its fc (2048*1000 + 1000)."""
    model = load("deeplabv3_resnet101.yaml")
    prefixes = ("conv1", "pool1", "block1", "block1_last", "block2", "block2_last", "block3", "block3_last", "block4_1",
                "block4_2", "block4")
    assert sum(r["params"] for r in model.layers(TRAINABLE) if r["name"].split(".")[0] in prefixes) == \
        44_549_160 - 2_049_000


def test_mf_scales_and_space_to_batch():
    assert mf_resolutions() == [257, 385, 513, 641, 769, 897]   # int((513 - 1) * s + 1), research/deeplab model.py
    model = load("deeplabv3_mnv2.yaml")
    # aspp1..3 at 33x33 with rates 6/12/18: TF computes ceil(33/r)*r = 36 per side (+207 outputs each)
    aspp = 3 * 207 * 9 * 320 * 256
    # rate-2 depthwise convs at 33 -> 34 per side (+67 outputs): stage6.block2-3 and stage7 (960 channels
    # each). slim keeps rate 1 for stage6.block1, whose stride was removed (mobilenet.py: layer_rate = rate).
    backbone = 67 * 9 * (960 + 960 + 960)
    assert space_to_batch_extra(model) == aspp + backbone


def slim_rates(strides: list[int], output_stride: int) -> list[int]:
    """TF-slim mobilenet.py mobilenet_base's rate rule, re-implemented: once the output stride is
    reached, a unit keeps the current rate and multiplies it by its (removed) stride for the next."""
    current, rate, rates = 1, 1, []
    for stride in strides:
        if current == output_stride:
            rates.append(rate)
            rate *= stride
        else:
            rates.append(1)
            current *= stride
    return rates


@pytest.mark.parametrize("spec,output_stride", [("deeplabv3_mnv2.yaml", 16), ("deeplabv3_mnv2_os8.yaml", 8)])
def test_mnv2_dilation_follows_slims_rule(spec, output_stride):
    """Each depthwise conv's rate is slim's, unit by unit (MobileNetV2 Table 2: the stem, then 17 units)."""
    units = [(1, 1), (2, 2), (3, 2), (4, 2), (3, 1), (3, 2), (1, 1)]   # (n, s) per stage
    strides = [2] + [s if i == 0 else 1 for n, s in units for i in range(n)]
    model = load(spec)
    rates = [model.node(f"stage{stage}.block{i + 1}.dw.conv")["attrs"]["dilation"]
             for stage, (n, _) in enumerate(units, 1) for i in range(n)]
    assert rates == slim_rates(strides, output_stride)[1:]
