"""Import torchvision beside the CPU build of torch.

torchvision 0.28's PyPI wheel is a CUDA build whose ``_C`` extension cannot load beside the
CPU torch 2.13.0; its ``_meta_registrations.py`` then registers fake kernels for
``torchvision::nms`` and ``torchvision::qnms`` without checking that the extension loaded,
and ``import torchvision`` fails with "operator torchvision::nms does not exist". The
models need none of torchvision's custom ops, so on exactly that error we drop the
half-imported modules, declare only those two schemas (no kernel: any call fails loudly)
and import again.
"""
from __future__ import annotations

import importlib
import sys

_SCHEMAS = {
    "torchvision::nms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "torchvision::qnms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}


def import_torchvision():
    """``import torchvision``, working around the missing custom-op schemas (see above)."""
    try:
        import torchvision
    except RuntimeError as exc:
        if "torchvision::nms" not in str(exc) and "torchvision::qnms" not in str(exc):
            raise
        import torch

        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        for qualified, schema in _SCHEMAS.items():
            namespace, op = qualified.split("::")
            if not hasattr(getattr(torch.ops, namespace), op):
                torch.library.define(qualified, schema)
        torchvision = importlib.import_module("torchvision")
    return torchvision
