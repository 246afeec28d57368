"""The zoo: specs/zoo/<torchvision builder name>.yaml, each checked against torchvision.

The expected numbers are torchvision's, measured by ``scripts/make_zoo_reference.py`` into
``archcalc/reference/zoo_torchvision.csv`` (params, params without normalization layers,
conv + linear MACs from ``torch.utils.flop_counter``, the output shape) and
``zoo_torchvision_shapes.json`` (every conv / linear / normalization output shape, as a
multiset). Nothing here imports torch: the comparison reads the reference files and compiles
the spec.

>>> table = zoo_table(["resnet18"])
>>> bool(table.loc["resnet18", "exact"]), int(table.loc["resnet18", "madds_224"])  # torchvision: 1.81 GFLOPS
(True, 1814073344)
"""
from __future__ import annotations

import csv
import json
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from archcalc.model import Model

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
REFERENCE_CSV = REFERENCE_DIR / "zoo_torchvision.csv"
REFERENCE_SHAPES = REFERENCE_DIR / "zoo_torchvision_shapes.json"
ZOO_DIR = Path(__file__).resolve().parent.parent / "specs" / "zoo"

# IR op kind -> the kind of torch module the reference records its output shape under
# (a per-pixel linear layer is written as a 1x1 conv2d, so conv and linear form one kind).
SHAPE_KINDS = {"conv2d": "conv/linear", "depthwise_conv2d": "conv/linear", "linear": "conv/linear",
               "batch_norm": "norm", "layer_norm": "norm"}
_REFERENCE_KINDS = {"conv": "conv/linear", "linear": "conv/linear", "norm": "norm"}
CHECKS = ("params", "params_no_norm", "madds", "output", "shapes")

# The zoo (issue 9): torchvision builder names, 1000 classes, no auxiliary heads. The reference
# script builds exactly these, at COMMON_RESOLUTIONS and each network's native resolution.
NETWORKS = (
    "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
    "efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnet_b4",
    "efficientnet_v2_s", "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3",
    "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnext50_32x4d", "wide_resnet50_2",
    "regnet_x_400mf", "regnet_y_400mf", "densenet121", "googlenet", "inception_v3",
    "squeezenet1_0", "squeezenet1_1", "vgg16", "vgg16_bn", "alexnet", "convnext_tiny",
)
COMMON_RESOLUTIONS = (160, 224, 227, 256)
# The resolution each network was designed / trained at, where it is not 224: Inception-v3
# (Szegedy et al. 2016) 299; EfficientNet B1-B4 (Tan & Le 2019) 240/260/300/380;
# EfficientNetV2-S (Tan & Le 2021; torchvision's eval size) 384.
NATIVE_RESOLUTION = {"inception_v3": 299, "efficientnet_b1": 240, "efficientnet_b2": 260, "efficientnet_b3": 300,
                     "efficientnet_b4": 380, "efficientnet_v2_s": 384}
MOBILENET_V3_WIDTHS = (0.5, 0.75, 1.0, 1.25)  # torchvision's width_mult, the specs' --width


def listed_resolutions(network: str) -> list[int]:
    """160, 224, 227, 256 px and the network's native resolution."""
    return sorted({*COMMON_RESOLUTIONS, NATIVE_RESOLUTION.get(network, 224)})


def listed_widths(network: str) -> tuple[float, ...]:
    return MOBILENET_V3_WIDTHS if network.startswith("mobilenet_v3") else (1.0,)


@lru_cache(maxsize=1)
def reference_rows() -> tuple[dict, ...]:
    """The reference CSV as dicts (numbers as ints, width as float), in file order."""
    with REFERENCE_CSV.open() as handle:
        lines = [line for line in handle if not line.startswith("#")]
    rows = []
    for row in csv.DictReader(lines):
        for key in ("resolution", "params", "params_no_norm", "madds"):
            row[key] = int(row[key])
        row["width"] = float(row["width"])
        rows.append(row)
    return tuple(rows)


@lru_cache(maxsize=1)
def _reference_shapes() -> dict[str, list]:
    return json.loads(REFERENCE_SHAPES.read_text())


def reference_shapes(network: str, resolution: int, width: float) -> Counter:
    """torchvision's conv/linear/norm output shapes at one point, as a multiset."""
    listing = _reference_shapes()[f"{network}@{resolution}@{width}"]
    shapes: Counter = Counter()
    for key, count in listing:
        kind, shape = key.split(" ")
        shapes[f"{_REFERENCE_KINDS[kind]} {shape}"] += count
    return shapes


def networks() -> list[str]:
    """Every network in the reference, in its order."""
    return list(dict.fromkeys(row["network"] for row in reference_rows()))


def points(network: str) -> list[dict]:
    """The reference rows of one network (every listed resolution and width)."""
    return [row for row in reference_rows() if row["network"] == network]


def spec_path(network: str) -> Path:
    return ZOO_DIR / f"{network}.yaml"


def model_shapes(model: "Model") -> Counter:
    """The IR's conv/linear/norm output shapes as a multiset, keyed as the reference is."""
    shapes: Counter = Counter()
    for name in model.order:
        node = model.node(name)
        kind = SHAPE_KINDS.get(node["op"])
        if kind is not None:
            shapes[f"{kind} {'x'.join(map(str, node['shape']))}"] += 1
    return shapes


def output_shape(model: "Model") -> str:
    (output,) = model.outputs
    return "x".join(map(str, model.node(output)["shape"]))


def compare(network: str, resolution: int, width: float) -> dict:
    """archcalc's numbers for the zoo spec beside torchvision's at one point; ``ok`` per check."""
    import archcalc

    reference = next((row for row in points(network) if row["resolution"] == resolution and row["width"] == width),
                     None)
    if reference is None:
        raise KeyError(f"no torchvision reference for {network} at {resolution} px, width {width}")
    # ``width`` is torchvision's width_mult (MobileNetV3); a builder without one (mnasnet0_5 is
    # its own builder) is listed at 1.0 and runs at its spec's own width
    has_width_mult = len({row["width"] for row in points(network)}) > 1
    model = archcalc.load(spec_path(network), width=width if has_width_mult else None, resolution=resolution,
                          classes=1000)
    totals = model.totals()
    expected_shapes = reference_shapes(network, resolution, width)
    got_shapes = model_shapes(model)
    result = {"network": network, "resolution": resolution, "width": width,
              "params": totals["params"], "params_expected": reference["params"],
              "params_no_norm": totals["params_without_bn"], "params_no_norm_expected": reference["params_no_norm"],
              "madds": totals["madds"], "madds_expected": reference["madds"],
              "output": output_shape(model), "output_expected": reference["output"],
              "shapes_missing": sorted((expected_shapes - got_shapes).elements()),
              "shapes_extra": sorted((got_shapes - expected_shapes).elements())}
    for check in ("params", "params_no_norm", "madds", "output"):
        result[f"{check}_ok"] = result[check] == result[f"{check}_expected"]
    result["shapes_ok"] = not result["shapes_missing"] and not result["shapes_extra"]
    result["ok"] = all(result[f"{check}_ok"] for check in CHECKS)
    return result


def compare_all(names: Iterable[str] | None = None) -> "pd.DataFrame":
    """One row per network x resolution x width in the reference (see :func:`compare`)."""
    import pandas as pd

    names = list(names) if names is not None else networks()
    return pd.DataFrame([compare(name, row["resolution"], row["width"]) for name in names for row in points(name)])


def zoo_table(names: Iterable[str] | None = None) -> "pd.DataFrame":
    """network | params | MAdds at 224 | exact (equal to torchvision at every listed point).

    ``points`` counts the reference points, ``failing`` lists those that differ
    (``resolution@width: checks``); a spec that is missing or does not compile is not exact,
    with its error in ``failing``.
    """
    import pandas as pd

    from archcalc.errors import SpecError

    names = list(names) if names is not None else networks()
    unknown = [name for name in names if not points(name)]
    if unknown:
        raise ValueError(f"no torchvision reference for {unknown[0]!r} (zoo networks: {', '.join(networks())})")
    rows = []
    for name in names:
        entry = {"network": name, "params": None, "madds_224": None, "points": len(points(name)),
                 "exact": False, "failing": ""}
        if not spec_path(name).exists():
            entry["failing"] = f"no spec {spec_path(name).name}"
            rows.append(entry)
            continue
        try:
            results = [compare(name, row["resolution"], row["width"]) for row in points(name)]
        except SpecError as exc:
            entry["failing"] = str(exc)
            rows.append(entry)
            continue
        at_224 = next(r for r in results if r["resolution"] == 224 and r["width"] == 1.0)
        entry.update(params=at_224["params"], madds_224=at_224["madds"], exact=all(r["ok"] for r in results))
        entry["failing"] = "; ".join(
            f"{r['resolution']}@{r['width']}: {', '.join(c for c in CHECKS if not r[f'{c}_ok'])}"
            for r in results if not r["ok"])
        rows.append(entry)
    table = pd.DataFrame(rows).set_index("network")
    return table.astype({"params": "Int64", "madds_224": "Int64"})  # integers, with <NA> where no spec compiled
