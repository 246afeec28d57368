"""archcalc import: torchvision models round-trip exactly through the IR (issue 11).

Expected values come from PyTorch itself: parameter counts from ``module.parameters()``,
conv + linear multiply-adds from ``torch.utils.flop_counter.FlopCounterMode`` (FLOPs / 2),
every op's output shape from forward hooks on the original modules, and outputs from the
original model run on the same input. Round trips run at a modest resolution (CI time).
"""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
try:  # torchvision goes through the project's import (its CUDA wheel beside the CPU torch)
    from archcalc.pytorch.tv import import_torchvision

    import_torchvision()
except ImportError:
    pytest.skip("torchvision is not installed (the vision extra)", allow_module_level=True)

from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from archcalc.analysis.convention import Convention  # noqa: E402
from archcalc.pytorch.importer import copy_weights, import_model  # noqa: E402
from archcalc.pytorch.materialize import materialize  # noqa: E402

# The torchvision zoo of the spec-language issue (issue 9).
ZOO = [
    "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
    "efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "efficientnet_v2_s",
    "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3",
    "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnext50_32x4d", "wide_resnet50_2",
    "regnet_x_400mf", "regnet_y_400mf", "densenet121", "googlenet", "inception_v3",
    "squeezenet1_0", "squeezenet1_1", "vgg16", "vgg16_bn", "alexnet", "convnext_tiny",
]
# Builder arguments: the Inception-style models build auxiliary classifiers the inference
# forward never runs; their parameters would be unaccounted (an import error, tested below).
BUILDER_ARGS = {"googlenet": {"aux_logits": False, "init_weights": False},
                "inception_v3": {"aux_logits": False, "init_weights": False}}
RESOLUTION = {"inception_v3": 128, "alexnet": 128, "squeezenet1_0": 96, "squeezenet1_1": 96}
NORMS = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm)


def _import(name: str, level: str = "blocks", resolution: int | None = None):
    size = resolution or RESOLUTION.get(name, 64)
    return import_model(f"torchvision:{name}", input=f"3x{size}x{size}", level=level, kwargs=BUILDER_ARGS.get(name))


def _hook_shapes(module: nn.Module, x) -> dict[str, list[tuple]]:
    """Output shape (without batch) of every call of every leaf module, from forward hooks."""
    seen: dict[str, list[tuple]] = {}
    handles = [m.register_forward_hook(lambda m, i, o, n=n: seen.setdefault(n, []).append(tuple(o.shape[1:])))
               for n, m in module.named_modules() if not list(m.children())]
    try:
        with torch.no_grad():
            module(x)
    finally:
        for handle in handles:
            handle.remove()
    return seen


@pytest.mark.parametrize("name", ZOO)
def test_zoo_round_trip(name):
    """The imported spec (blocks level, the default): params, params without norm layers,
    conv+linear MACs and every module's output shape equal PyTorch's."""
    imported = _import(name)
    module, model = imported.module, imported.model
    totals = model.totals(Convention(bn_params="affine"))
    assert totals["params"] == sum(p.numel() for p in module.parameters())
    norm_params = sum(p.numel() for m in module.modules() if isinstance(m, NORMS) for p in m.parameters(recurse=False))
    assert totals["params_without_bn"] == sum(p.numel() for p in module.parameters()) - norm_params
    x = torch.zeros(1, *imported.input_shape)
    with FlopCounterMode(display=False) as counter:
        hooked = _hook_shapes(module, x)  # one forward: shapes from hooks, MACs from the counter
    assert totals["madds"] == counter.get_total_flops() // 2  # FlopCounterMode: 2 FLOPs per conv/mm MAC
    checked = 0
    for ir_name, row in imported.sources.items():
        if row.source not in hooked:
            continue  # a function's op (add, cat, ...): its shape is checked against the trace at import
        shape = tuple(model.node(ir_name)["shape"])
        if row.channels_last:  # PyTorch held this map as (H, W, C)
            shape = (shape[1], shape[2], shape[0])
        assert shape in hooked[row.source], (ir_name, row.source)
        checked += 1
    # every op that stands for a module call was checked (functions were checked at import)
    assert checked == len([r for r in imported.rows if not r.type.startswith(("function", "method"))])


@torch.no_grad()
def _randomize(module: nn.Module, seed: int = 0) -> None:
    """Non-trivial norm statistics and affine parameters (fresh ones are the identity)."""
    generator = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=generator) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=generator) + 0.5)
        if isinstance(m, NORMS):
            m.weight.copy_(torch.rand(m.weight.shape, generator=generator) + 0.5)
            m.bias.copy_(torch.randn(m.bias.shape, generator=generator) * 0.1)


OUTPUT_MODELS = ["mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0", "shufflenet_v2_x1_0", "resnet50"]


@pytest.mark.parametrize("name", OUTPUT_MODELS)
def test_outputs_equal_with_weights_copied(name):
    """The imported spec (blocks level, the default), materialized again with the original's
    weights and BN statistics copied in, computes the original's outputs."""
    imported = _import(name, level="blocks")
    _randomize(imported.module)
    net = materialize(imported.model, inplace=False)
    copy_weights(imported, net)
    x = torch.randn(2, *imported.input_shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = imported.module(x), net(x)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
