"""Import torchvision beside the CPU build of torch.

torchvision is the reference implementation for the zoo specs (``specs/zoo/``). Its 0.28.0
release is the one paired with torch 2.13.0, but the PyPI wheel is a CUDA build: its compiled
extension (``torchvision/_C.so``) cannot load beside the CPU torch used here. torchvision then
still runs ``torchvision/_meta_registrations.py``, which registers fake (meta) kernels for its
custom operators ``torchvision::nms`` and ``torchvision::qnms`` without checking that the
extension loaded, and the import fails with
``RuntimeError: operator torchvision::nms does not exist``.

The classification models need none of torchvision's custom operators (those are detection
ops: nms, roi_align, deform_conv2d, ...). So :func:`import_torchvision` tries a plain import
first, and only on exactly that error drops the half-imported ``torchvision*`` modules,
declares the two schemas the meta registrations need -- with no kernel, so any call to them
still fails loudly -- and imports again. No error is swallowed: any other failure propagates,
and a second failure propagates too.
"""
from __future__ import annotations

import sys
from types import ModuleType

# The operators _meta_registrations.py registers fake kernels for, with torchvision's schemas
# (torchvision/csrc/ops/nms.cpp and quantized/cpu/qnms_kernel.cpp).
_MISSING_OPERATOR_SCHEMAS = {
    "torchvision::nms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "torchvision::qnms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_MISSING_OPERATOR_ERROR = "operator torchvision::nms does not exist"


def import_torchvision() -> ModuleType:
    """``torchvision``, imported even when its compiled extension cannot load (see module doc).

    Raises ``ImportError`` when torchvision is not installed, and any other import error as is.
    """
    try:
        import torchvision
        return torchvision
    except RuntimeError as error:
        if _MISSING_OPERATOR_ERROR not in str(error):
            raise
    import torch

    for name in [name for name in sys.modules if name == "torchvision" or name.startswith("torchvision.")]:
        del sys.modules[name]
    for qualified, schema in _MISSING_OPERATOR_SCHEMAS.items():
        if not _defined(torch, qualified):
            torch.library.define(qualified, schema)
    import torchvision
    return torchvision


def _defined(torch, qualified: str) -> bool:
    """Whether the operator schema exists already (declared by an earlier call)."""
    namespace, name = qualified.split("::")
    try:
        getattr(getattr(torch.ops, namespace), name)
    except (AttributeError, RuntimeError):
        return False
    return True
