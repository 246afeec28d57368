"""The op registry's building blocks: attribute schemas, cost and parameter records.

Every op kind is one :class:`OpDef` subclass, registered once with :func:`register`. It
carries, in one place, its attribute schema, its shape rule, its parameter rule, its
cost rule and (for verification) its PyTorch builder, so the counter and the
materializer cannot drift apart. Asking for a kind that is not registered is an error.
"""
from __future__ import annotations

from operator import add
from typing import Any, ClassVar, NamedTuple, Sequence

Shape = tuple  # (C, H, W) for feature maps, (N,) for flat vectors; batch is never included

REQUIRED = object()


class Attr(NamedTuple):
    """Schema of one op attribute.

    ``channels=True`` marks an output-channel count, which the width multiplier scales
    when the op is written directly as a row of a network's ``layers``. ``pair=True``
    accepts ``[height, width]`` as well as one value for both (kernel, stride, padding,
    dilation, output size); the compiler hands the op a tuple then.
    """

    kind: type | tuple[type, ...]
    default: Any = REQUIRED
    min: float | None = None
    choices: tuple | None = None
    channels: bool = False
    pair: bool = False
    doc: str = ""
    max: float | None = None  # inclusive upper bound (a dropout rate), as PyTorch checks it

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def describe(self) -> str:
        names = {int: "an integer", float: "a number", bool: "true or false", str: "a string", list: "a list"}
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        text = " or ".join(names.get(k, k.__name__) for k in kinds)
        if self.min is not None:
            text += f" >= {self.min:g}"
        if self.max is not None:
            text += f" and <= {self.max:g}" if self.min is not None else f" <= {self.max:g}"
        if self.choices:
            text = "one of " + ", ".join(map(str, self.choices))
        if self.pair:
            text += ", or [height, width] of those"
        return text

    def check(self, value: Any) -> str | None:
        """None when ``value`` fits, else what was expected (for the error message)."""
        if self.pair and isinstance(value, (list, tuple)):
            if len(value) != 2 or any(self._check_one(v) for v in value):
                return self.describe()
            return None
        return self._check_one(value)

    def _check_one(self, value: Any) -> str | None:
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        if self.choices is not None:
            return None if value in self.choices else self.describe()
        ok = any(
            isinstance(value, k) and not (k in (int, float) and isinstance(value, bool))
            for k in kinds
        ) or (float in kinds and isinstance(value, int) and not isinstance(value, bool))
        if not ok:
            return self.describe()
        if self.min is not None and isinstance(value, (int, float)) and value < self.min:
            return self.describe()
        if self.max is not None and isinstance(value, (int, float)) and value > self.max:
            return self.describe()
        return None


class Cost(NamedTuple):
    """Arithmetic of one op (or a sum of ops), in separate, labelled terms.

    ``madds`` is the headline: multiply-adds of convolutions and linear layers only (one
    multiply-add counts 1). The other terms are single operations and enter FLOPs only as
    the :class:`~archcalc.analysis.convention.Convention` says. ``+`` and ``*`` work term by
    term (not as tuple concatenation and repetition).
    """

    madds: int = 0  # conv / linear multiply-adds
    bias: int = 0  # one add per output element of a layer with a bias
    bn: int = 0  # normalization: batch norm at inference is a multiply and an add per element
    act: int = 0  # activation functions, per-kind ops per element
    eltwise: int = 0  # residual adds and element-wise products
    pool: int = 0  # pooling: one add (avg) or compare (max) per window element
    resize: int = 0  # interpolation taps

    def __add__(self, other: "Cost") -> "Cost":  # type: ignore[override]
        return Cost(*map(add, self, _same_record(self, other)))

    __radd__ = __add__  # a plain tuple on the left is refused too, not concatenated

    def __mul__(self, factor: int) -> "Cost":  # type: ignore[override]
        return Cost(*(term * factor for term in self))

    __rmul__ = __mul__

    def as_dict(self) -> dict[str, int]:
        return self._asdict()


EXTRA_TERMS: tuple[str, ...] = ("bias", "bn", "act", "eltwise", "pool", "resize")


class Params(NamedTuple):
    """Parameter counts of one op, split by kind so each convention can pick its sum
    (``+`` term by term, as for :class:`Cost`; ``*`` is refused: a batch never multiplies
    parameters, and tuple repetition would be a silent mistake)."""

    weights: int = 0  # conv / linear weights
    bias: int = 0  # conv / linear biases
    bn_affine: int = 0  # normalization gamma and beta (batch norm, layer norm; trainable)
    bn_stats: int = 0  # batch norm running mean and variance (buffers)

    def __add__(self, other: "Params") -> "Params":  # type: ignore[override]
        return Params(*map(add, self, _same_record(self, other)))

    __radd__ = __add__

    def __mul__(self, other: Any) -> "Params":  # type: ignore[override]
        raise TypeError(f"cannot multiply Params by {type(other).__name__}")

    __rmul__ = __mul__

    def as_dict(self) -> dict[str, int]:
        return self._asdict()


def _same_record(record: tuple, other: Any) -> tuple:
    """``other`` when it is a record of the same kind: a Cost plus a Params (or a plain tuple)
    is a mistake, not a concatenation."""
    if type(other) is not type(record):
        raise TypeError(f"cannot add {type(other).__name__} to {type(record).__name__}")
    return other


class ShapeError(ValueError):
    """An op's inputs do not fit its attributes (the compiler adds the spec location)."""


def numel(shape: Shape) -> int:
    total = 1
    for dim in shape:
        total *= dim
    return total


_rule_changes = [0]  # changes to an op class or op made after it was defined (see rules_version)


def rules_version() -> int:
    """A number that changes whenever an op's rules may have: a class attribute of an op class
    set or deleted (a test patching ``Conv2d.cost``, a notebook redefining a rule), an
    attribute of an op set or deleted, an op registered. (What a compile kept is keyed on it,
    with the registry's ops: archcalc.compiler._op_rules.)"""
    return _rule_changes[0]


def rules_changed() -> None:
    _rule_changes[0] += 1


class _OpClass(type):
    """The class of every op class: a change to one counts (rules_version)."""

    def __setattr__(cls, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        rules_changed()

    def __delattr__(cls, name: str) -> None:
        super().__delattr__(name)
        rules_changed()


class OpDef(metaclass=_OpClass):
    """Base class of an op kind. Subclasses fill in the class attributes and rules.

    Each subclass documents itself for the language reference (docs/spec-language.md is
    generated from the registry; tests/test_docs.py fails on a gap): a class docstring with a
    one-line summary, a ``Shape:`` line, a ``Cost:`` line (or ``free_because``) and a
    ``Params:`` line when it has parameters; and ``doc=`` on every :class:`Attr`.
    """

    kind: ClassVar[str]
    attrs: ClassVar[dict[str, Attr]] = {}
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1
    # Why an op with no cost counts nothing (fvcore keeps such an explicit list too).
    free_because: ClassVar[str | None] = None
    # Ops that read one input and write a same-shaped output element by element may run in
    # place (activations); the memory planner reads this.
    elementwise_inplace: ClassVar[bool] = False
    # The output shares the input's storage (a view, or the identity at inference), so the
    # memory planner allocates nothing for it (flatten, dropout, identity).
    aliases_input: ClassVar[bool] = False
    # Ops the compiler adds itself (the graph input): never written in a spec, so the
    # language reference and the JSON Schema leave them out.
    internal: ClassVar[bool] = False

    def __setattr__(self, name: str, value: Any) -> None:  # (an op's own attribute is a rule too)
        super().__setattr__(name, value)
        rules_changed()

    def __delattr__(self, name: str) -> None:
        super().__delattr__(name)
        rules_changed()

    def shape(self, attrs: dict, inputs: Sequence[Shape]) -> Shape:
        raise NotImplementedError

    def params(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Params:
        return Params()

    def cost(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> Cost:
        return Cost()

    def scratch(self, attrs: dict, inputs: Sequence[Shape], output: Shape) -> int:
        """Elements of transient tensors the op's PyTorch module allocates and frees while it
        runs (beyond its output); the memory planner adds them to the op's step."""
        return 0

    def build_torch(self, attrs: dict, inputs: Sequence[Shape]):  # pragma: no cover - per op
        """Return a ``torch.nn.Module`` computing this op (torch imported lazily)."""
        raise NotImplementedError(f"op {self.kind!r} has no PyTorch builder")


def pair(value: Any) -> tuple:
    """``(height, width)`` of an attribute written as one value or as ``[h, w]``."""
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)


def pair_text(value: Any) -> str:
    """How a pair attribute reads in a message: ``3`` or ``1x7``."""
    h, w = pair(value)
    return str(h) if h == w else f"{h}x{w}"


def require_rank(kind: str, shape: Shape, rank: int) -> None:
    if len(shape) != rank:
        what = "a (channels, height, width) feature map" if rank == 3 else "a flat vector"
        hint = " (add a flatten op first)" if rank == 1 else ""
        raise ShapeError(f"{kind} expects {what}{hint}, got shape {shape}")


def require_map_or_vector(kind: str, shape: Shape) -> Shape:
    """Per-channel ops (normalization, layer scale) take (C, H, W) or (N,); returns the shape."""
    if len(shape) not in (1, 3):
        raise ShapeError(f"{kind} expects a feature map or a vector, got shape {shape}")
    return shape


def require_same_shapes(kind: str, inputs: Sequence[Shape]) -> None:
    if any(shape != inputs[0] for shape in inputs[1:]):
        raise ShapeError(f"{kind} needs inputs of equal shape, got " + " and ".join(map(str, inputs)))
