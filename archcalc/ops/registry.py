"""The single op registry: kind name -> :class:`~archcalc.ops.base.OpDef` instance."""
from __future__ import annotations

from archcalc.ops.base import OpDef, rules_changed

_REGISTRY: dict[str, OpDef] = {}


def register(cls: type[OpDef]) -> type[OpDef]:
    """Class decorator: register one op kind. Registering a kind twice is an error."""
    if cls.kind in _REGISTRY:
        raise ValueError(f"op kind {cls.kind!r} is registered twice")
    _REGISTRY[cls.kind] = cls()
    rules_changed()
    return cls


class UnknownOpError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def get_op(kind: str) -> OpDef:
    """The op definition for ``kind``; an unknown kind raises (never counts as zero)."""
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise UnknownOpError(f"unknown op {kind!r} (known ops: {', '.join(user_ops())})") from None


def get_user_op(kind: str) -> OpDef:
    """The op a spec names: as :func:`get_op`, but an internal op (the graph input) is unknown."""
    op = get_op(kind)
    if op.internal:
        raise UnknownOpError(f"unknown op {kind!r} (known ops: {', '.join(user_ops())})")
    return op


def user_ops() -> list[str]:
    """The op kinds a spec may write, sorted."""
    return sorted(kind for kind, op in _REGISTRY.items() if not op.internal)


def all_ops() -> dict[str, OpDef]:
    return dict(_REGISTRY)
