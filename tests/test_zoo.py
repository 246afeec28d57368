"""The zoo (specs/zoo/): every spec equals torchvision, and computes torchvision's function.

Expected numbers come from torchvision only: ``archcalc/reference/zoo_torchvision.csv`` and its
shapes sidecar are written by ``scripts/make_zoo_reference.py`` (torch 2.13.0, torchvision
0.28.0), and ``test_reference_is_torchvision`` re-measures part of it here. The comparisons
with the CSV need no torch; the verify and function-equality tests need the ``verify`` and
``vision`` extras and skip, saying so, only when torchvision is not installed.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

import archcalc
from archcalc import zoo

ROOT = Path(__file__).resolve().parents[1]

ZOO = zoo.NETWORKS
# function-equality: torchvision's weights copied in, outputs compared (issue 9 item 4, plus more)
SAME_FUNCTION = ("mobilenet_v3_large", "efficientnet_b0", "shufflenet_v2_x1_0", "inception_v3", "squeezenet1_0",
                 "densenet121", "mobilenet_v3_small", "resnet50", "regnet_y_400mf", "googlenet", "efficientnet_v2_s",
                 "convnext_tiny")
VERIFY_RESOLUTION = 96  # verify's checks do not depend on the size; 96 px keeps Inception-v3 (>= 75 px) and CI fast


def torchvision_or_skip():
    pytest.importorskip("torch", reason="needs the verify extra: pip install -e '.[verify,vision]'")
    from archcalc.pytorch.tv import import_torchvision

    try:
        return import_torchvision()
    except ImportError:
        pytest.skip("torchvision is not installed (pip install -e '.[vision]')")


# --------------------------------------------------------------------------- coverage
def test_reference_covers_every_network_resolution_and_width():
    """Issue 9's list: 160/224/227/256 px and the native resolution; MobileNetV3 also at 4 widths."""
    assert zoo.networks() == list(ZOO) and len(ZOO) == 34
    assert zoo.NATIVE_RESOLUTION["inception_v3"] == 299 and zoo.NATIVE_RESOLUTION["efficientnet_v2_s"] == 384
    for network in ZOO:
        listed = {(row["resolution"], row["width"]) for row in zoo.points(network)}
        resolutions = {160, 224, 227, 256, zoo.NATIVE_RESOLUTION.get(network, 224)}
        widths = (0.5, 0.75, 1.0, 1.25) if network.startswith("mobilenet_v3") else (1.0,)
        assert listed == {(r, w) for r in resolutions for w in widths}, network


def test_every_zoo_spec_is_a_reference_network():
    assert sorted(path.stem for path in zoo.ZOO_DIR.glob("*.yaml")) == sorted(ZOO)


# --------------------------------------------------------------------------- equal to the reference
@pytest.mark.parametrize("network", ZOO)
def test_spec_equals_torchvision_at_every_listed_point(network):
    """params, params without norm layers, conv + linear MACs, output and every conv/linear/norm
    output shape, at 160/224/227/256 px and the native resolution (MobileNetV3: x4 widths)."""
    frame = zoo.compare_all([network])
    assert len(frame) == len(zoo.points(network)) >= 4
    failing = frame[~frame["ok"]]
    assert failing.empty, failing.drop(columns=["network"]).to_dict("records")


def test_compare_reports_a_difference():
    """The comparison can fail: resnet18's spec at resnet34's reference point differs in every count."""
    point = zoo.points("resnet34")[0]
    model = archcalc.load(zoo.spec_path("resnet18"), resolution=point["resolution"], classes=1000)
    assert model.totals()["params"] != point["params"]
    assert zoo.model_shapes(model) != zoo.reference_shapes("resnet34", point["resolution"], 1.0)


def test_zoo_table():
    table = zoo.zoo_table(["mobilenet_v3_small", "resnet18"])
    assert list(table.columns) == ["params", "madds_224", "points", "exact", "failing"]
    assert table.loc["mobilenet_v3_small", "points"] == 16
    # torchvision's documented figures: ResNet-18 11.69M params, 1.81 GFLOPS (MACs) at 224
    assert table.loc["resnet18", "params"] == 11_689_512
    assert table.loc["resnet18", "madds_224"] == 1_814_073_344
    assert table["exact"].all()


def test_reference_is_torchvision():
    """The committed CSV and shapes are what the script measures now (two cheap networks)."""
    torchvision_or_skip()
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import make_zoo_reference as script
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    for network, width, resolution in (("squeezenet1_1", 1.0, 160), ("mobilenet_v3_small", 0.75, 227)):
        model = script.build(network, width)
        params, without_norm = script.params(model)
        measured = script.measure(model, resolution)
        row = next(r for r in zoo.points(network) if r["resolution"] == resolution and r["width"] == width)
        assert (params, without_norm, measured["madds"], measured["output"], measured["shapes_sha256"]) == (
            row["params"], row["params_no_norm"], row["madds"], row["output"], row["shapes_sha256"])


# --------------------------------------------------------------------------- archcalc verify
@pytest.mark.parametrize("network", ZOO)
def test_verify_passes(network):
    """Every check of `archcalc verify` (params, fvcore MAdds, shapes, peak memory) per spec."""
    pytest.importorskip("fvcore", reason="needs the verify extra")
    from archcalc.pytorch.verify import verify

    model = archcalc.load(zoo.spec_path(network), resolution=VERIFY_RESOLUTION, classes=1000)
    result = verify(model)
    assert result.ok, result.failures()[:5]


# --------------------------------------------------------------------------- the same function
def _state(module) -> list:
    """Parameters and BN statistics, each module's children before its own tensors (ConvNeXt's
    block registers its layer scale before its layers; the spec applies it after them); the
    BN step counter carries no weights."""
    tensors = []
    for child_name, child in module.named_children():
        tensors += [(f"{child_name}.{name}", tensor) for name, tensor in _state(child)]
    own = [*module.named_parameters(recurse=False), *module.named_buffers(recurse=False)]
    return tensors + [(name, tensor) for name, tensor in own if name != "num_batches_tracked"]


KIND_ALIASES = {"layer_scale": "weight"}  # torchvision's ConvNeXt parameter -> the layer_scale op's weight


def copy_by_order(source, target) -> None:
    """Load ``source``'s tensors into ``target`` pairing them in order: both register the same
    layers in the same order, so every pair must agree in shape and in kind (weight, bias,
    running_mean, ...); anything else fails. Channels-last per-pixel ``nn.Linear`` weights
    (ConvNeXt) go into 1x1 convs and per-channel layer scales into (C, 1, 1) weights by reshape,
    which keeps every element in place."""
    pairs = list(zip(_state(source), _state(target), strict=True))
    loaded = {}
    for (name, tensor), (target_name, target_tensor) in pairs:
        assert KIND_ALIASES.get(kind := name.rsplit(".", 1)[-1], kind) == target_name.rsplit(".", 1)[-1], (
            name, target_name)
        assert tensor.numel() == target_tensor.numel(), (name, tuple(tensor.shape), target_name)
        if tensor.shape != target_tensor.shape:
            # a (out, in) linear weight read as (out, in, 1, 1), a (C, 1, 1) scale as (C,) ...
            squeeze = [d for d in tensor.shape if d != 1] == [d for d in target_tensor.shape if d != 1]
            assert squeeze, (name, tuple(tensor.shape), target_name, tuple(target_tensor.shape))
        loaded[target_name] = tensor.reshape(target_tensor.shape)
    missing = target.load_state_dict(loaded, strict=False)
    assert not missing.unexpected_keys
    assert all(key.endswith("num_batches_tracked") for key in missing.missing_keys)


@pytest.mark.parametrize("network", SAME_FUNCTION)
def test_materialized_spec_computes_torchvision_function(network):
    """torchvision's model with random weights and non-trivial BN statistics; the same tensors
    copied into the materialized spec; both in eval mode on the same random inputs."""
    torchvision = torchvision_or_skip()
    import torch

    generator = torch.Generator().manual_seed(0)
    kwargs = {"aux_logits": False, "init_weights": False} if network in ("googlenet", "inception_v3") else {}
    reference = getattr(torchvision.models, network)(weights=None, num_classes=1000, **kwargs).train(False)
    with torch.no_grad():
        for module in reference.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.running_mean.copy_(torch.randn(module.running_mean.shape, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(module.running_var.shape, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(module.weight.shape, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * 0.1)
            if hasattr(module, "layer_scale"):  # ConvNeXt: 1e-6 would hide the block's branch
                module.layer_scale.copy_(torch.rand(module.layer_scale.shape, generator=generator) + 0.5)
    resolution = 160
    ours = archcalc.materialize(archcalc.load(zoo.spec_path(network), resolution=resolution, classes=1000))
    copy_by_order(reference, ours)
    x = torch.randn(2, 3, resolution, resolution, generator=generator)
    with torch.no_grad():
        expected = reference(x)
        got = ours(x)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    assert expected.abs().max() > 1e-3  # a network that outputs ~0 would compare equal to anything


# --------------------------------------------------------------------------- the command
def test_zoo_command():
    import json

    from typer.testing import CliRunner

    from archcalc.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["zoo", "resnet18", "squeezenet1_1", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["network"], r["params"], r["exact"]) for r in rows] == [
        ("resnet18", 11_689_512, True), ("squeezenet1_1", 1_235_496, True)]  # torchvision's documented counts
    table = runner.invoke(app, ["zoo", "resnet18"])
    assert table.exit_code == 0 and "resnet18" in table.output and "1,814,073,344" in table.output
    unknown = runner.invoke(app, ["zoo", "resnet19"])
    assert unknown.exit_code == 2 and "no torchvision reference for 'resnet19'" in unknown.output
