"""The op registry. Importing this package registers every built-in op kind."""
from archcalc.ops import conv, detection, merge, pointwise, spatial  # noqa: F401  (registration)
from archcalc.ops.base import EXTRA_TERMS, Attr, Cost, OpDef, Params, Shape, ShapeError, numel
from archcalc.ops.registry import UnknownOpError, all_ops, get_op, get_user_op, register, user_ops

__all__ = [
    "Attr", "Cost", "EXTRA_TERMS", "OpDef", "Params", "Shape", "ShapeError", "UnknownOpError",
    "all_ops", "get_op", "get_user_op", "numel", "register", "user_ops",
]
