"""The networks the paper compares MobileNetV2 against (Tables 4 and 6, and MobileNetV1's
ablations), each checked against its reference: a formula written out here from the reference
implementation's source, or counts published by a reference implementation (cited beside them)."""
from __future__ import annotations

import pytest
from test_heads import NO_BN, SPECS, TRAINABLE, load, shape_of   # the spec-test helpers (tests/ is on sys.path)

import archcalc
from archcalc.errors import SpecError


# ------------------------------------------------------------------------- NASNet-A Mobile
class Tally:
    """MAdds and TF trainable variables (weights + BN gamma/beta) of a network counted by hand."""

    def __init__(self):
        self.madds = self.params = 0

    def conv(self, side: int, c_in: int, c_out: int, k: int = 1) -> int:
        self.madds += side * side * k * k * c_in * c_out
        self.params += k * k * c_in * c_out
        return c_out

    def depthwise(self, side: int, c: int, k: int) -> None:
        self.madds += side * side * k * k * c
        self.params += k * k * c

    def bn(self, c: int) -> None:
        self.params += 2 * c


def nasnet_mobile_by_hand(classes: int = 1001) -> Tally:
    """TF-slim nasnet.py / nasnet_utils.py, mobile_imagenet_config, written out with plain arithmetic
    (no archcalc): stem conv, two stem reduction cells, 12 normal cells with reductions before cells
    4 and 8, the final FC."""
    t = Tally()

    def separable_stack(side_in: int, c_in: int, c: int, k: int, stride: int) -> None:
        side = -(-side_in // stride)                     # SAME: ceil(size / stride)
        t.depthwise(side, c_in, k), t.conv(side, c_in, c), t.bn(c)
        t.depthwise(side, c, k), t.conv(side, c, c), t.bn(c)

    def adjust_prev(prev: tuple, side: int, c: int) -> tuple:
        (p_side, p_c) = prev
        if p_side != side:                                 # factorized_reduction, stride 2
            t.conv(side, p_c, c // 2), t.conv(side, p_c, c // 2), t.bn(c)
        elif p_c != c:                                     # prev_1x1
            t.conv(side, p_c, c), t.bn(c)
        return (side, c)

    def cell(net: tuple, prev: tuple, c: int, reduction: bool, adjust: bool = True) -> tuple:
        side, c_in = net
        h1 = adjust_prev(prev, side, c) if adjust else prev
        t.conv(side, c_in, c), t.bn(c)                     # h0: relu, 1x1, bn
        if not reduction:
            for src, k in ((c, 5), (h1[1], 3), (h1[1], 5), (h1[1], 3), (c, 3)):   # comb 0 L/R, 1 L/R, 4 L
                separable_stack(side, src, c, k, 1)
            return (side, 6 * c)
        for src, k in ((c, 5), (h1[1], 7), (h1[1], 7), (h1[1], 5)):   # comb 0 L/R, comb 1 R, comb 2 R
            separable_stack(side, src, c, k, 2)
        out = -(-side // 2)
        separable_stack(out, c, c, 3, 1)                   # comb 4 left, on comb 0
        return (out, 4 * c)

    conv0 = (111, t.conv(111, 3, 32, 3))                    # 3x3/2 VALID: (224 - 3) // 2 + 1
    t.bn(32)
    stem0 = cell(conv0, conv0, 11, reduction=True, adjust=False)
    outputs = [conv0, stem0, cell(stem0, conv0, 22, reduction=True)]
    filters = 44
    for number in range(12):
        if number in (4, 8):
            filters *= 2
            outputs.append(cell(outputs[-1], outputs[-2], filters, reduction=True))
        outputs.append(cell(outputs[-1], outputs[-2], filters, reduction=False))
    final = outputs[-1][1]
    t.madds += final * classes
    t.params += final * classes + classes
    return t


def test_nasnet_a_mobile_equals_slims_recipe_by_hand():
    model = load("nasnet_a_mobile.yaml")
    expected = nasnet_mobile_by_hand()
    assert model.totals(TRAINABLE)["madds"] == expected.madds
    assert model.totals(TRAINABLE)["params"] == expected.params
    assert shape_of(model, "cell_11") == (1056, 7, 7)        # 6 x 176 at 224 / 32
    assert shape_of(model, "cell_stem_0") == (44, 56, 56) and shape_of(model, "reduction_cell_0") == (352, 14, 14)


def test_nasnet_paper_numbers():
    """Table 4 (and slim's README): 564M MAdds, 5.3M params."""
    model = load("nasnet_a_mobile.yaml")
    assert round(model.totals()["madds"] / 1e6) == 564
    assert round(model.totals(TRAINABLE)["params"] / 1e5) == 53


# ------------------------------------------------------------------------- SSD on VGG-16
def test_ssd300_equals_torchvision_ssd300_vgg16():
    """torchvision's ssd300_vgg16 (models/detection/ssd.py) follows the original SSD300 with 91 COCO
    labels; its SSD300_VGG16_Weights.COCO_V1 meta gives num_params 35,641,826 and _ops 34.858
    (GFLOPS counting one multiply-add as one op)."""
    model = load("ssd300_vgg16.yaml", classes=90)
    assert model.totals(NO_BN)["params"] == 35_641_826
    assert round(model.totals()["madds"] / 1e6) == 34_858
    maps = [shape_of(model, n)[1] for n in ("conv4_3", "fc7", "conv6_2", "conv7_2", "conv8_2", "conv9_2")]
    assert maps == [38, 19, 10, 5, 3, 1]                    # Caffe's ceil-mode pool3: 75 -> 38


# torchvision 0.28 ssd300_vgg16(num_classes=91): every Conv2d's weight shape (out, in, k), read from the
# built model (backbone.features, backbone.extra, head.classification_head / regression_head).
TORCHVISION_SSD300_CONVS = [
    (64, 3, 3), (64, 64, 3), (128, 64, 3), (128, 128, 3), (256, 128, 3), (256, 256, 3), (256, 256, 3),
    (512, 256, 3), (512, 512, 3), (512, 512, 3), (512, 512, 3), (512, 512, 3), (512, 512, 3),
    (1024, 512, 3), (1024, 1024, 1), (256, 1024, 1), (512, 256, 3), (128, 512, 1), (256, 128, 3),
    (128, 256, 1), (256, 128, 3), (128, 256, 1), (256, 128, 3),
    (364, 512, 3), (546, 1024, 3), (546, 512, 3), (546, 256, 3), (364, 256, 3), (364, 256, 3),
    (16, 512, 3), (24, 1024, 3), (24, 512, 3), (24, 256, 3), (16, 256, 3), (16, 256, 3),
]


def test_ssd300_layers_equal_torchvisions():
    model = load("ssd300_vgg16.yaml", classes=90)
    convs = [(model.node(n)["shape"][0], model.node(n)["in_shapes"][0][0], model.node(n)["attrs"]["kernel"])
             for n in model.order if model.node(n)["op"] == "conv2d"]
    kernels = [k if isinstance(k, int) else k[0] for *_, k in convs]
    assert sorted((o, i, k) for (o, i, _), k in zip(convs, kernels)) == sorted(TORCHVISION_SSD300_CONVS)


def test_ssd512_maps_and_priors():
    """ssd_pascal_512.py: seven maps 64 .. 1, priors 4, 6, 6, 6, 6, 4, 4."""
    model = load("ssd512_vgg16.yaml")
    maps = [shape_of(model, n)[1] for n in ("conv4_3", "fc7", "conv6_2", "conv7_2", "conv8_2", "conv9_2", "conv10_2")]
    assert maps == [64, 32, 16, 8, 4, 2, 1]
    priors = [model.node(f"head{i}.loc")["shape"][0] // 4 for i in range(7)]
    assert priors == [4, 6, 6, 6, 6, 4, 4]
    assert [model.node(f"head{i}.conf")["shape"][0] for i in range(7)] == [p * 81 for p in priors]


# ------------------------------------------------------------------------- YOLOv2
def yolov2_madds_by_hand(side: int, outputs: int = 425) -> int:
    """darknet yolov2.cfg layer by layer: (filters, size) per conv, 'M' a 2x2/2 max pool."""
    plan = [(32, 3), "M", (64, 3), "M", (128, 3), (64, 1), (128, 3), "M", (256, 3), (128, 1), (256, 3), "M",
            (512, 3), (256, 1), (512, 3), (256, 1), (512, 3), "M", (1024, 3), (512, 1), (1024, 3), (512, 1),
            (1024, 3), (1024, 3), (1024, 3)]
    madds, c, s = 0, 3, side
    for layer in plan:
        if layer == "M":
            s //= 2
            continue
        filters, k = layer
        madds += s * s * k * k * c * filters
        c = filters
    passthrough = (s * 2) ** 2 * 512 * 64                   # route -9 (26x26x512 at 416) -> 1x1 64
    joined = 64 * 4 + 1024                                  # reorg stride 2 + the 1024 map
    return madds + passthrough + s * s * (9 * joined * 1024 + 1024 * outputs)


@pytest.mark.parametrize("side", [416, 608])
def test_yolov2_equals_the_cfg_by_hand(side):
    model = load("yolov2.yaml", resolution=side)
    assert model.totals()["madds"] == yolov2_madds_by_hand(side)
    assert shape_of(model, "route") == (1280, side // 32, side // 32)
    assert shape_of(model, "detect") == (425, side // 32, side // 32)   # 5 x (80 + 5)


# ------------------------------------------------------------------------- MobileNetV1 ablations
def test_mobilenet_v1_ablations_by_hand():
    """Full-conv: every separable layer a full 3x3 conv; shallow: Conv2d_7..11 removed (V1 Table 1 rows)."""
    body = [(2, 32, 64, 112), (1, 64, 128, 56), (2, 128, 128, 56), (1, 128, 256, 28), (2, 256, 256, 28),
            (1, 256, 512, 14)] + [(1, 512, 512, 14)] * 5 + [(2, 512, 1024, 7), (1, 1024, 1024, 7)]
    # (stride marker unused, c_in, c_out, output side) per depthwise separable layer of Table 1
    first = 112 * 112 * 27 * 32
    fc = 1024 * 1001
    full = first + sum(side * side * 9 * c_in * c_out for _, c_in, c_out, side in body) + fc
    shallow_layers = body[:6] + body[11:]
    shallow = first + sum(side * side * (9 * c_in + c_in * c_out) for _, c_in, c_out, side in shallow_layers) + fc
    assert load("mnv1_fullconv.yaml").totals()["madds"] == full
    assert load("mnv1_shallow.yaml").totals()["madds"] == shallow


# ------------------------------------------------------------------------- multi-input blocks
def test_a_block_with_two_inputs_needs_two(tmp_path):
    spec = tmp_path / "bad.yaml"
    text = (SPECS / "nasnet_a_mobile.yaml").read_text().replace(
        "block: nasnet_a_normal, from: [cell_stem_1, cell_stem_0]", "block: nasnet_a_normal, from: cell_stem_1")
    spec.write_text(text)
    with pytest.raises(SpecError, match=r"takes 2 inputs \(input, prev\), got 1"):
        archcalc.load(spec)


# ------------------------------------------------------------------------- against PyTorch
@pytest.mark.parametrize("spec,resolution", [
    ("nasnet_a_mobile.yaml", 32), ("yolov2.yaml", 64), ("ssd300_vgg16.yaml", 300), ("ssd512_vgg16.yaml", 512),
    ("mnv1_fullconv.yaml", 64), ("mnv1_shallow.yaml", 64),
])
def test_verify_passes(spec, resolution):
    """`archcalc verify`: params, MAdds (fvcore), shapes and memory against the materialized network;
    this exercises the new ops' builders (leaky_relu, space_to_depth, l2_norm, pad) and two-input blocks."""
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from archcalc.pytorch.verify import verify

    result = verify(load(spec, resolution=resolution))
    assert result.ok, result.failures()[:5]


def test_l2_norm_module_computes_ssds_normalize():
    """x / (||x||_2 over channels + eps) * scale, scale initialised to 20 (SSD's Normalize layer)."""
    torch = pytest.importorskip("torch")
    from archcalc.pytorch.detection import L2Norm

    x = torch.randn(2, 8, 5, 5)
    expected = x / (x.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10) * 20
    assert torch.allclose(L2Norm(8)(x), expected, atol=1e-5)
