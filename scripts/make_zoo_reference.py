"""Write the zoo's reference numbers from torchvision (never from archcalc).

For every torchvision classification model the zoo covers (``specs/zoo/<name>.yaml``), at
160, 224, 227 and 256 px and the network's native resolution (and the MobileNetV3 models also
at width_mult 0.5, 0.75 and 1.25), this builds the model exactly as torchvision's builder does
(``weights=None``, 1000 classes, no auxiliary heads, eval mode) and measures on one input of
batch 1:

- ``params``: ``sum(p.numel() for p in model.parameters())``;
- ``params_no_norm``: the same without the parameters of normalization modules (every
  ``nn.BatchNorm*``, ``nn.LayerNorm`` -- torchvision's ``LayerNorm2d`` is one -- and
  ``nn.GroupNorm``); ConvNeXt's layer scale is not a normalization layer and stays in;
- ``madds``: ``torch.utils.flop_counter.FlopCounterMode``'s total, halved. It counts
  ``aten.convolution`` (2 x the multiply-adds, no bias) and the matrix products ``aten.addmm``,
  ``aten.mm``, ``aten.bmm`` (2 x m x n x k, no bias) -- that is, conv + linear multiply-adds.
  The script fails if FlopCounterMode counts any other operator;
- ``output``: the network's output shape;
- ``shapes``: every output shape of a convolution, linear or normalization module, as a
  multiset ("kind CxHxW" -> count, kind in conv / linear / norm); channels-last outputs (a
  ``nn.Linear`` or plain ``nn.LayerNorm`` on an NHWC tensor, as in ConvNeXt) are written
  channels-first. The CSV holds its SHA-256 (``shapes_sha256``) and the sidecar JSON the list.

Run (needs the ``vision`` extra; about a minute of CPU):

    .venv/bin/python scripts/make_zoo_reference.py

It rewrites ``archcalc/reference/zoo_torchvision.csv`` (versions in its header comment) and
``archcalc/reference/zoo_torchvision_shapes.json``.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
from collections import Counter
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from archcalc.pytorch.tv import import_torchvision
# the list of networks, resolutions and widths only (the numbers never come from archcalc)
from archcalc.zoo import NETWORKS, listed_resolutions, listed_widths

REFERENCE = Path(__file__).resolve().parent.parent / "archcalc" / "reference"
CSV_PATH = REFERENCE / "zoo_torchvision.csv"
SHAPES_PATH = REFERENCE / "zoo_torchvision_shapes.json"

COUNTED = {"convolution", "addmm", "mm", "bmm"}
NORMS = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm)
COLUMNS = ("network", "resolution", "width", "params", "params_no_norm", "madds", "output", "shapes_sha256")


def build(network: str, width: float) -> nn.Module:
    """torchvision's builder, 1000 classes, no pretrained weights, no auxiliary heads."""
    models = import_torchvision().models
    kwargs: dict = {"weights": None, "num_classes": 1000}
    if network in ("googlenet", "inception_v3"):
        kwargs.update(aux_logits=False, init_weights=False)
    if network.startswith("mobilenet_v3"):
        kwargs["width_mult"] = width
    return getattr(models, network)(**kwargs).train(False)


def params(model: nn.Module) -> tuple[int, int]:
    total = sum(p.numel() for p in model.parameters())
    norm = sum(p.numel() for m in model.modules() if isinstance(m, NORMS) for p in m.parameters(recurse=False))
    return total, total - norm


def shape_kind(module: nn.Module) -> str | None:
    if isinstance(module, nn.modules.conv._ConvNd):
        return "conv"
    if isinstance(module, nn.Linear):
        return "linear"
    if isinstance(module, NORMS):
        return "norm"
    return None


def channels_first(module: nn.Module, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A Linear or a plain LayerNorm applied to an NHWC tensor (ConvNeXt) acts on the last dim."""
    channels_last = isinstance(module, nn.Linear) or type(module) is nn.LayerNorm
    return (shape[-1], *shape[:-1]) if channels_last and len(shape) == 3 else shape


def measure(model: nn.Module, resolution: int) -> dict:
    shapes: Counter = Counter()
    handles = []
    for module in model.modules():
        kind = shape_kind(module)
        if kind is not None:
            def hook(mod, inputs, output, kind=kind):
                shape = channels_first(mod, tuple(output.shape[1:]))
                shapes[f"{kind} {'x'.join(map(str, shape))}"] += 1
            handles.append(module.register_forward_hook(hook))
    counter = FlopCounterMode(display=False)
    x = torch.randn(1, 3, resolution, resolution)
    try:
        with torch.no_grad(), counter:
            output = model(x)
    finally:
        for handle in handles:
            handle.remove()
    # keys are overload packets such as aten.convolution
    by_op = {str(op).split(".")[1]: n for op, n in counter.get_flop_counts()["Global"].items()}
    unexpected = {op: n for op, n in by_op.items() if n and op not in COUNTED}
    if unexpected:
        raise SystemExit(f"FlopCounterMode counted operators beyond conv + matmul: {unexpected}")
    flops = counter.get_total_flops()
    assert flops % 2 == 0, flops
    listing = sorted(shapes.items())
    digest = hashlib.sha256(json.dumps(listing).encode()).hexdigest()
    return {"madds": flops // 2, "output": "x".join(map(str, output.shape[1:])), "shapes_sha256": digest,
            "shapes": [[key, count] for key, count in listing]}


def rows(networks: list[str]):
    for network in networks:
        for width in listed_widths(network):
            model = build(network, width)
            total, without_norm = params(model)
            for resolution in listed_resolutions(network):
                measured = measure(model, resolution)
                yield {"network": network, "resolution": resolution, "width": width, "params": total,
                       "params_no_norm": without_norm, **measured}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("networks", nargs="*", default=list(NETWORKS), help="default: all of the zoo")
    args = parser.parse_args()
    torch.manual_seed(0)
    torchvision = import_torchvision()
    table, sidecar = [], {}
    for entry in rows(args.networks):
        sidecar[f"{entry['network']}@{entry['resolution']}@{entry['width']}"] = entry.pop("shapes")
        table.append(entry)
        print(",".join(str(entry[c]) for c in COLUMNS[:6]), flush=True)
    with CSV_PATH.open("w", newline="") as handle:
        handle.write(f"# torchvision reference for specs/zoo/: written by scripts/make_zoo_reference.py "
                     f"(never from archcalc). torch {torch.__version__}, torchvision {torchvision.__version__}.\n"
                     "# madds = FlopCounterMode total (aten.convolution, addmm, mm, bmm) / 2; params_no_norm "
                     "excludes BatchNorm/LayerNorm/GroupNorm parameters; batch 1; 1000 classes.\n")
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(table)
    SHAPES_PATH.write_text(json.dumps(sidecar, indent=0, sort_keys=True) + "\n")
    print(f"wrote {CSV_PATH} ({len(table)} rows) and {SHAPES_PATH}")


if __name__ == "__main__":
    main()
