"""Width x resolution sweeps: exact totals for a whole grid without recompiling per point.

The spec is compiled once with traced width and resolution (:mod:`archcalc.analysis.symbolic`);
each node's cost, parameters and output size is then a recorded expression of "channel
counts from the width rule" and "the input resolution". Channel counts depend only on the
width and spatial sizes only on the resolution, so the expressions are replayed once over
the whole grid: the rounding rules run per width (the compiler's own functions), the op
rules' arithmetic runs as integer numpy arithmetic broadcast over (width, resolution).
Where a structural decision recorded during the compile (a ``when:``, a residual's
``c_in == c``, a shape check) would go the other way, the spec is traced again at such a
point, so every row is what ``archcalc cost`` prints for that (width, resolution).

Peak memory (``memory=True``) and latency (``latency=True``) are not closed-form: they
compile the point and run the memory planner / the PyTorch benchmark per row.
"""
from __future__ import annotations

import operator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence, TextIO

from archcalc.analysis.convention import Convention
from archcalc.analysis.costs import COLUMNS, row_values
from archcalc.errors import Location, SpecError
from archcalc.ops import Cost, Params, numel
from archcalc.spec.loader import Spec, load_spec

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

ACCURACY_CSV = Path(__file__).resolve().parent.parent / "reference" / "accuracy.csv"
TOTAL_COLUMNS = ("madds", "params", "params_without_bn", "flops")


# ---------------------------------------------------------------------------- grids


def parse_values(text: str, kind: type = float) -> list:
    """``"0.35,0.5,1.0"`` (a list) or ``"0.3:1.5:0.05"`` (start:stop:step, stop included
    when it lies on the grid). Values are rounded to 10 decimals so that ``0.35`` from a
    range is the same float as ``0.35`` typed in a list. Every value must be finite and
    positive; the count is checked against ``limits.GRID_VALUES`` before a range is built,
    and whole numbers (resolutions) against ``limits.DIMENSION``.

    >>> parse_values("96:224:64", int), parse_values("0.35, 1.4")
    ([96, 160, 224], [0.35, 1.4])
    """
    from archcalc import limits
    from archcalc.errors import quote

    text = text.strip()
    if not text:
        raise ValueError("expected a list (0.35,0.5) or a range (0.3:1.5:0.05), got nothing")
    shown = quote(text)
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise ValueError(f"expected a range start:stop:step, got {shown}")
        start, stop, step = (_finite_number(p, shown) for p in parts)
        if step <= 0 or stop < start:
            raise ValueError(f"range {shown}: need step > 0 and stop >= start")
        count = int(round((stop - start) / step, 9)) + 1
        _grid_budget(limits, count, shown)
        values = [round(start + i * step, 10) for i in range(count)]
    else:
        items = text.split(",")
        _grid_budget(limits, len(items), shown)
        values = [_finite_number(item, shown) for item in items]
    if kind is int:
        if any(v != int(v) for v in values):
            raise ValueError(f"expected whole numbers, got {shown}")
        values = [int(v) for v in values]
        for value in values:
            try:
                limits.check(limits.DIMENSION, value, "resolution")
            except limits.LimitExceeded as exc:
                raise ValueError(f"{shown}: {exc}") from None
    if any(v <= 0 for v in values):
        raise ValueError(f"expected positive values, got {shown}")
    return values


def _finite_number(item: str, shown: str) -> float:
    import math

    try:
        value = float(item)
    except ValueError:
        raise ValueError(f"expected numbers separated by commas, got {shown}") from None
    if not math.isfinite(value):
        raise ValueError(f"expected finite numbers, got {shown}")
    return value


def _grid_budget(limits, count: int, shown: str) -> None:
    try:
        limits.check(limits.GRID_VALUES, count, "values on one axis")
    except limits.LimitExceeded as exc:
        raise ValueError(f"{shown}: {exc}") from None


# ---------------------------------------------------------------------------- the fast core


class Int64Overflow(ArithmeticError):
    """A value of the int64 replay could leave the int64 range (numpy would wrap silently)."""


INT64_BOUND = 2.0**62  # margin below 2^63 for the float estimate of the bound


def _is_int64(value: Any) -> bool:
    """An int64 array or scalar: arithmetic on it wraps silently past 2^63."""
    kind = value.__class__
    if kind is int or kind is float:  # (most factors are plain numbers: no import, no isinstance)
        return False
    import numpy as np

    return (isinstance(value, np.ndarray) and value.dtype == np.int64) or isinstance(value, np.integer)


# |array| bounds known during one replay: id -> (the array, the bound, whether it is exact).
# The array is held, so that its id names no other array meanwhile; the replay never changes
# an array in place. A product's bound is the product of its factors' bounds (an upper
# bound, at no cost); _int64_product takes exact bounds only when that one is too large.
_BOUNDS: dict[int, tuple[Any, float, bool]] = {}


def _absmax(value: Any) -> float:
    """An upper bound of ``|value|`` over the grid, as a float: exact, the largest ``|entry|``.
    (Asked for every product of a sweep's replay: an array's is two reductions, without
    the float copy and ``abs`` array of ``max(abs(value))``, negated as a float so that
    int64's minimum cannot wrap, and remembered for the replay.)"""
    kind = value.__class__
    if kind is int or kind is float:
        return float(abs(value))
    import numpy as np

    if kind is np.ndarray:
        known = _BOUNDS.get(id(value))
        if known is not None and known[2] and known[0] is value:
            return known[1]
        if value.size == 0:
            bound = 0.0
        elif value.dtype == object:
            bound = float(max(abs(v) for v in value.ravel().tolist()))
        else:
            bound = max(float(np.maximum.reduce(value, axis=None)), -float(np.minimum.reduce(value, axis=None)))
        _remember_bound(value, bound, True)
        return bound
    if isinstance(value, (int, float, np.number)):
        return float(abs(value))
    return 0.0


def _upper(value: Any) -> float:
    """A bound of ``|value|``: a product's remembered one if known (perhaps above the exact one), else exact."""
    known = _BOUNDS.get(id(value))
    if known is not None and known[0] is value:
        return known[1]
    return _absmax(value)


def _int64_product(a: Any, b: Any) -> Any:
    """``a * b``, refusing (Int64Overflow) a product computed in int64 that could wrap, by the
    exact bounds of its factors (their remembered upper bounds first: when those are small
    enough, so are the exact ones). Products of Python ints, floats or object arrays are
    exact (or float) and unchecked."""
    if not (_is_int64(a) or _is_int64(b)):
        return a * b
    bound = _upper(a) * _upper(b)
    if bound >= INT64_BOUND:
        bound = _absmax(a) * _absmax(b)
        if bound >= INT64_BOUND:
            raise Int64Overflow
    product = a * b
    if product.__class__ is not int and product.__class__ is not float and id(product) not in _BOUNDS:
        _remember_bound(product, bound, False)
    return product


def _remember_bound(value: Any, bound: float, exact: bool) -> None:
    if len(_BOUNDS) >= 65536:  # (numeric_replay used on its own: nothing clears it after a replay)
        _BOUNDS.clear()
    _BOUNDS[id(value)] = value, bound, exact


class Separable:
    """A grid value kept as a sum of products ``Σ a_k · b_k``, each ``a_k`` a function of
    the width only (a ``(W, 1)`` array or a number) and each ``b_k`` of the resolution only
    (``(1, R)`` or a number): a conv's MAdds is (per-position cost, from the channels) x
    (output area, from the resolution). Sums and products stay in this form, so a whole
    network costs a few hundred operations on length-100 vectors and one small matrix
    product, not a (W, R) array per op. Anything else (``//`` on a mixed value, a
    comparison) is computed densely, which is always correct, only slower."""

    __slots__ = ("terms",)

    def __init__(self, terms: list):
        self.terms = terms

    @staticmethod
    def lift(value: Any) -> "Separable":
        return value if isinstance(value, Separable) else Separable([(value, 1)])

    def collapse(self) -> Any:
        """The value as one array (or number), broadcastable to the grid."""
        total: Any = 0
        bound, in_int64 = 0.0, False
        for a, b in self.terms:
            in_int64 = in_int64 or _is_int64(a) or _is_int64(b)
            if in_int64:  # the running sum is int64 too: bound it as well as each product
                bound += _absmax(a) * _absmax(b)
                if bound >= INT64_BOUND:
                    raise Int64Overflow
            total = total + a * b
        return total

    def __add__(self, other: Any) -> "Separable":
        if isinstance(other, (int, float)) and other == 0:
            return self
        return Separable(self.terms + Separable.lift(other).terms)

    __radd__ = __add__

    def __sub__(self, other: Any) -> "Separable":
        return self + (-1) * Separable.lift(other)

    def __rsub__(self, other: Any) -> "Separable":
        return Separable.lift(other) + (-1) * self

    def __mul__(self, other: Any) -> "Separable":
        if not isinstance(other, Separable):
            return Separable([(_int64_product(a, other), b) for a, b in self.terms])
        if len(self.terms) * len(other.terms) > 8:
            return Separable([(_int64_product(self.collapse(), other.collapse()), 1)])
        return Separable([(_int64_product(a1, a2), _int64_product(b1, b2))
                          for a1, b1 in self.terms for a2, b2 in other.terms])

    __rmul__ = __mul__

    def __neg__(self) -> "Separable":
        return self * -1

    def _dense(name: str, reflected: bool = False):  # noqa: N805  (builds methods)
        fn = getattr(operator, name)

        def method(self: Any, other: Any) -> Any:
            left, right = _plain_grid(self), _plain_grid(other)
            if name == "pow":
                base, exponent = (right, left) if reflected else (left, right)
                if (_is_int64(base) or _is_int64(exponent)) and (
                        _absmax(exponent) > 64 or _absmax(base) ** _absmax(exponent) >= INT64_BOUND):
                    raise Int64Overflow
            result = fn(right, left) if reflected else fn(left, right)
            return result if name in _COMPARISONS else _grid(result)

        return method

    for _name in ("truediv", "floordiv", "mod", "pow"):
        locals()[f"__{_name}__"] = _dense(_name)
        locals()[f"__r{_name}__"] = _dense(_name, reflected=True)
    for _name in ("eq", "ne", "lt", "le", "gt", "ge"):
        locals()[f"__{_name}__"] = _dense(_name)
    __hash__ = None  # type: ignore[assignment]
    del _name, _dense


_COMPARISONS = {"eq", "ne", "lt", "le", "gt", "ge"}


def _plain_grid(value: Any) -> Any:
    return value.collapse() if isinstance(value, Separable) else value


def _grid(array: Any) -> Any:
    """Wrap an array by what it depends on: (W, 1) -> a width factor, (1, R) -> a resolution
    factor, a number -> itself, anything else -> a dense term."""
    shape = getattr(array, "shape", ())
    if len(shape) == 2 and shape[0] == 1:
        return Separable([(1, array)])
    return Separable([(array, 1)]) if shape else array


def numeric_replay(tr: Any, widths: Any, resolutions: Any, dtype: Any = None) -> Any:
    """Replay a trace's recipes with numbers: widths as a ``(W, 1)`` and resolutions as a
    ``(1, R)`` array. Channel leaves and spec functions run per width through the
    compiler's own rounding functions (the compiler's float arithmetic exactly); the op
    rules' arithmetic runs on :class:`Separable` values, in ``dtype``: int64 (default) or
    object (Python ints: exact at any magnitude, what :func:`grid_totals` uses)."""
    import numpy as np

    from archcalc.analysis.symbolic import Replay
    from archcalc.width import SCALE_MODES

    dtype = np.int64 if dtype is None else dtype
    widths = np.asarray(widths, dtype=float).reshape(-1, 1)
    resolutions = np.asarray(resolutions, dtype=np.int64).astype(dtype).reshape(1, -1)

    def leaf(recipe: Any) -> Any:
        if recipe.kind == "res":
            return Separable([(1, resolutions)])
        if recipe.kind == "alpha":
            return Separable([(widths, 1)])
        value, mode = recipe.args
        factor = SCALE_MODES[mode]

        def scale(w: float, v: Any) -> int:
            return tr.channel_rule(v * factor(w), **tr.rule_kwargs)

        return _grid(_elementwise(scale, [widths, _plain_grid(replay(value))], dtype))

    def call(name: str, args: list) -> Any:
        return _grid(_elementwise(tr.functions[name], [_plain_grid(a) for a in args], dtype))

    def op(name: str, left: Any, right: Any) -> Any:
        if not isinstance(left, Separable) and not isinstance(right, Separable):
            return getattr(operator, name)(left, right)
        return getattr(operator, name)(left, right) if isinstance(left, Separable) else \
            getattr(operator, name)(Separable.lift(left), right)

    replay = Replay(leaf, call, op)
    return replay


def _elementwise(fn: Callable[..., Any], args: list, int_dtype: Any = None) -> Any:
    """A scalar Python function over broadcast numpy arguments, element by element (the
    rounding rules use ``int()`` and ``if``, so they do not vectorize). Integer results
    are stored as ``int_dtype`` (int64, or object for the exact replay)."""
    import numpy as np

    arrays = np.broadcast_arrays(*[np.asarray(a) for a in args])
    columns = [a.ravel().tolist() for a in arrays]  # Python ints/floats, as the compiler sees them
    values = [fn(*point) for point in zip(*columns)]
    kinds = {type(v) for v in values}
    int_dtype = np.int64 if int_dtype is None else int_dtype
    dtype = int_dtype if kinds <= {int} else float if kinds <= {int, float} and int_dtype is not object else object
    if dtype is np.int64 and any(not -(2**63) <= v < 2**63 for v in values):
        raise Int64Overflow
    out = np.array(values, dtype=dtype).reshape(arrays[0].shape)
    return out if out.shape else out.item()


def guards_hold(tr: Any, replay: Any) -> Any:
    """Boolean array (broadcastable to the grid): where every structural decision recorded
    while tracing keeps its outcome, i.e. where the traced structure is the compiled one."""
    import numpy as np

    ok: Any = np.True_
    for guard in tr.guards:
        left = _plain_grid(replay(guard.left))
        if guard.op == "bool":
            value = np.asarray(left) != 0
        else:
            value = getattr(operator, guard.op)(left, _plain_grid(replay(guard.right)))
        ok = np.logical_and(ok, np.asarray(value) == guard.outcome)
    return ok


def grid_sum(values: list, shape: tuple[int, int], dtype: Any = None) -> Any:
    """Sum of :class:`Separable` values on the grid, in ``dtype`` (int64 by default): width
    factors that share a resolution factor are added first, then one (W x K) @ (K x R) product.

    In int64 every sum is bounded before it is taken (numpy wraps silently past 2^63): a sum
    of width factors or of dense terms that could leave int64 raises :class:`Int64Overflow`
    (the caller replays in Python ints), and a matrix product that could is computed exactly
    by :func:`_exact_matmul`; the result is then an object array of Python ints."""
    import numpy as np

    dtype = np.int64 if dtype is None else dtype
    checked = dtype is np.int64
    by_factor: dict[Any, list] = {}  # resolution factor (bytes, or the number) -> [factor, Σ width parts, bound]
    dense = np.zeros(shape, dtype=dtype)
    dense_bound = 0.0  # of |dense|, in int64
    for value in values:
        terms = value.terms if isinstance(value, Separable) else [(value, 1)]
        for a, b in terms:
            if np.ndim(a) == 2 and np.shape(a)[1] != 1:  # a dense term
                if checked:
                    dense_bound += _absmax(a) * _absmax(b)
                    if dense_bound >= INT64_BOUND:
                        raise Int64Overflow
                dense += np.asarray(a * b, dtype=dtype)
                continue
            key = b.tobytes() if isinstance(b, np.ndarray) else b
            entry = by_factor.get(key)
            bound = _absmax(a) if checked else 0.0
            if entry is None:
                by_factor[key] = [b, a, bound]
            else:
                entry[2] += bound
                if entry[2] >= INT64_BOUND:
                    raise Int64Overflow
                entry[1] = entry[1] + a
    if not by_factor:
        return dense
    left = np.empty((shape[0], len(by_factor)), dtype=dtype)
    right = np.empty((len(by_factor), shape[1]), dtype=dtype)
    for k, (b, a, _) in enumerate(by_factor.values()):
        left[:, k] = np.asarray(a, dtype=dtype).reshape(-1) if np.ndim(a) else a
        right[k, :] = np.asarray(b, dtype=dtype).reshape(-1) if np.ndim(b) else b
    if checked:  # every entry of the product is at most this sum (plus the dense part)
        bound = sum(entry[2] * _absmax(right[k, :]) for k, entry in enumerate(by_factor.values()))
        if bound + dense_bound >= INT64_BOUND:
            return dense.astype(object) + _exact_matmul(left, right)
    dense += left @ right
    return dense


def _exact_matmul(left: Any, right: Any) -> Any:
    """``left @ right`` for int64 matrices whose int64 product could wrap, exactly, as an
    object array of Python ints. A product of object arrays would cost W·K·R Python
    multiply-adds (about a minute for a million points); instead both sides are split into
    signed base-2^s digits so small that every digit product, summed over K and over the
    digit pairs of one weight, stays in int64. The int64 products are summed by weight and
    each weight is scaled in Python ints once: a few W·R object operations in all."""
    import numpy as np

    inner = left.shape[1]
    bits_left, bits_right = _signed_bits(left), _signed_bits(right)
    for step in range(31, 0, -1):  # |digit| < 2^step, so |digit product| < 4^step
        pairs = min(-(-bits_left // step), -(-bits_right // step))  # digit pairs of one weight, at most
        if pairs * inner * 4**step < 2**62:
            break
    else:
        raise Int64Overflow  # K past 2^60 columns: not a grid this machine holds
    by_weight: dict[int, Any] = {}
    for i, left_digit in enumerate(_digits(left, bits_left, step)):
        for j, right_digit in enumerate(_digits(right, bits_right, step)):
            part = left_digit @ right_digit
            by_weight[i + j] = part if i + j not in by_weight else by_weight[i + j] + part
    total = np.zeros((left.shape[0], right.shape[1]), dtype=object)
    for weight, part in by_weight.items():
        total += part.astype(object) * (1 << (step * weight))
    return total


def _signed_bits(values: Any) -> int:
    """Bits that hold every value of an int64 array with its sign: ``|v| < 2^(bits - 1)``."""
    if values.size == 0:
        return 1
    return max(int(values.max()), -int(values.min())).bit_length() + 1


def _digits(values: Any, bits: int, step: int) -> list:
    """``values`` (``|v| < 2^(bits - 1)``) as int64 arrays ``d_t`` with ``values = Σ d_t · 2^(step·t)``:
    the low digits in ``[0, 2^step)``, the top one signed (an arithmetic shift), ``|d_t| < 2^step``."""
    count = -(-bits // step)
    mask = (1 << step) - 1
    return [(values >> (step * t)) & mask for t in range(count - 1)] + [values >> (step * (count - 1))]


def _trace_totals(tr: Any, replay: Any, convention: Convention, shape: tuple[int, int],
                  dtype: Any = None, columns: Sequence[str] = COLUMNS) -> dict[str, Any]:
    """Sum of every node's :func:`row_values` in ``columns``, each replayed over the grid."""
    parts: dict[str, list] = {column: [] for column in columns}
    for name in tr.model.order:
        data = tr.model.nodes[name]
        if data["op"] == "input":
            continue
        cost = Cost(**{k: replay(v) for k, v in data["cost"].as_dict().items()})
        params = Params(**{k: replay(v) for k, v in data["params"].as_dict().items()})
        values = row_values(cost, params, replay(numel(data["shape"])), convention)
        for column in columns:
            parts[column].append(values[column])
    return {column: grid_sum(parts[column], shape, dtype) for column in columns}


def _replay_trace(tr: Any, w: Any, r: Any, todo: Any, convention: Convention, shape: tuple[int, int],
                  dtype: Any, columns: Sequence[str]) -> tuple[Any, dict[str, Any]]:
    """(where this trace's structure holds, its totals there), replayed in ``dtype``."""
    import numpy as np

    replay = numeric_replay(tr, w[:, None], r[None, :], dtype)
    try:
        here = todo & np.broadcast_to(guards_hold(tr, replay), shape)
        return here, _trace_totals(tr, replay, convention, shape, dtype, columns)
    finally:
        _BOUNDS.clear()  # (the arrays it holds go with the replay)


def _store(out: dict[str, Any], totals: dict[str, Any], here: Any) -> None:
    """Copy one trace's totals into ``out`` where its structure holds. A trace that holds on
    the whole grid (the common case) hands over its arrays as they are; a column is held as
    Python ints (object) only once some trace needed them there."""
    import numpy as np

    everywhere = bool(here.all())
    for column, values in totals.items():
        if column not in out and everywhere:
            out[column] = values
            continue
        if column not in out:
            out[column] = np.zeros(values.shape, dtype=values.dtype)
        elif out[column].dtype != values.dtype:  # int64 meets Python ints: hold both as Python ints
            out[column] = out[column].astype(object, copy=False)
            values = values.astype(object, copy=False)
        out[column][here] = values[here]


def _narrowed(values: Any) -> Any:
    """An object column as int64 when every value fits (a trace replayed in Python ints
    may still have produced only small values where its structure holds)."""
    import numpy as np

    if values.dtype == object and values.size and \
            -(2**63) <= min(values.flat) and max(values.flat) < 2**63:
        return values.astype(np.int64)
    return values


def grid_totals(spec: Spec | str | Path, widths: Sequence[float], resolutions: Sequence[int], *,
                classes: int | None = None, convention: Convention | None = None,
                progress: Callable[[int], None] | None = None,
                columns: Sequence[str] = COLUMNS) -> dict[str, Any]:
    """Totals (``columns``, by default every column of :func:`archcalc.analysis.costs.totals`)
    on the grid ``widths x resolutions``, as arrays of shape ``(len(widths), len(resolutions))``
    (int64, or object arrays of Python ints where a value leaves the int64 range: every value
    is exact), plus ``traces``: how many traced compiles were needed (1 when the structure is
    the same everywhere)."""
    import numpy as np

    from archcalc.analysis.symbolic import trace

    convention = convention or Convention()
    if not isinstance(spec, Spec):
        spec = load_spec(spec, classes=classes)
    elif classes is not None:
        from archcalc.analysis.symbolic import with_point

        spec = with_point(spec, classes=classes)
    w = np.asarray(widths, dtype=float)
    r = np.asarray(resolutions, dtype=np.int64)
    shape = (len(w), len(r))
    unknown = set(columns) - set(COLUMNS)
    if unknown:
        raise ValueError(f"unknown total column(s) {', '.join(sorted(unknown))}; known: {', '.join(COLUMNS)}")
    out: dict[str, Any] = {}
    todo = np.ones(shape, dtype=bool)
    traces = 0
    while todo.any():
        i, j = np.argwhere(todo)[0]
        tr = trace(spec, width=float(w[i]), resolution=int(r[j]))  # a bad point raises SpecError here
        traces += 1
        with np.errstate(all="ignore"):  # points outside this structure may divide by zero; masked out
            # int64 is fast; every int64 product and sum is bounded first, and where a value
            # could leave int64 (numpy wraps silently) the trace is replayed in Python ints
            try:
                try:
                    here, totals = _replay_trace(tr, w, r, todo, convention, shape, np.int64, columns)
                except Int64Overflow:
                    here, totals = _replay_trace(tr, w, r, todo, convention, shape, object, columns)
            except SpecError:
                raise
            except ValueError as exc:  # a width the spec's rounding rule cannot build: cost refuses it too
                raise SpecError(Location(spec.path, None, "width"), f"in the sweep grid: {exc}") from None
            if not here[i, j]:
                raise RuntimeError(f"internal: the trace at width {w[i]:g}, resolution {r[j]} "
                                   "does not reproduce its own structure")
        _store(out, totals, here)
        del totals
        todo &= ~here
        if progress:
            progress(int(here.sum()))
    for column in columns:  # int64 where every value fits (the common case), else Python ints
        out[column] = _narrowed(out[column])
    out["traces"] = traces
    return out


# ---------------------------------------------------------------------------- accuracy


def load_accuracy(path: str | Path | None = None) -> "pd.DataFrame":
    """Published accuracy (the package's ``reference/accuracy.csv`` or a user's CSV with
    at least ``network, top1`` and, for cost-swept families, ``width, resolution``)."""
    import pandas as pd

    frame = pd.read_csv(path or ACCURACY_CSV, comment="#")
    missing = {"network", "top1"} - set(frame.columns)
    if missing:
        raise ValueError(f"accuracy CSV {path}: missing column(s) {', '.join(sorted(missing))}")
    return frame


def join_accuracy(frame: "pd.DataFrame", network: str, accuracy: "pd.DataFrame") -> "pd.DataFrame":
    """Add ``top1``, ``top5`` and ``accuracy_source`` where ``accuracy`` has a row for
    ``network`` at the same (width, resolution); other rows stay empty (never filled in)."""
    import pandas as pd

    known = accuracy[accuracy["network"] == network]
    if "kind" in known.columns:  # a paper's rounded table row never overrides a checkpoint's
        known = known[known["kind"] != "paper_table4"]
    if not {"width", "resolution"} <= set(known.columns) or known.empty:
        return frame.assign(top1=pd.NA, top5=pd.NA, accuracy_source=pd.NA)
    known = known.dropna(subset=["width", "resolution"]).copy()
    known["_w"] = known["width"].astype(float).round(6)
    known["_r"] = known["resolution"].astype(int)
    known = known.drop_duplicates(subset=["_w", "_r"], keep="first")
    cols = ["_w", "_r", "top1"] + (["top5"] if "top5" in known.columns else []) + \
           (["source"] if "source" in known.columns else [])
    left = frame.assign(_w=frame["width"].astype(float).round(6), _r=frame["resolution"].astype(int))
    merged = left.merge(known[cols], on=["_w", "_r"], how="left").drop(columns=["_w", "_r"])
    if "top5" not in merged:
        merged["top5"] = pd.NA
    merged = merged.rename(columns={"source": "accuracy_source"})
    if "accuracy_source" not in merged:
        merged["accuracy_source"] = pd.NA
    merged.attrs = dict(frame.attrs)
    return merged


# ---------------------------------------------------------------------------- the table


def sweep(spec: Spec | str | Path, widths: Sequence[float], resolutions: Sequence[int], *,
          classes: int | None = None, convention: Convention | None = None,
          accuracy: "str | Path | pd.DataFrame | None | bool" = True,
          memory: bool = False, dtype: str = "float32", latency: bool = False,
          latency_repeats: int = 10, latency_warmup: int = 2, latency_max_spread: float = 0.25,
          progress: Callable[[int], None] | None = None) -> "pd.DataFrame":
    """One row per (width, resolution): MAdds, params, params without BN, FLOPs (under
    ``convention``, the numbers ``archcalc cost`` prints), and where published, top-1/top-5
    accuracy. ``memory`` adds ``peak_bytes`` (program order, ``dtype``), ``latency`` a
    measured ``latency_ms`` (CPU, batch 1: the median of ``latency_repeats`` runs after
    ``latency_warmup``), its spread ``latency_iqr_ms`` and ``latency_flagged``, true when
    IQR / median exceeds ``latency_max_spread`` (a busy machine: the median is not to be
    trusted); both compile every point and are slower. ``df.attrs`` carries the conventions."""
    import pandas as pd

    convention = convention or Convention()
    if not isinstance(spec, Spec):
        spec = load_spec(spec, classes=classes)
        classes = None
    grid = grid_totals(spec, widths, resolutions, classes=classes, convention=convention,
                       progress=None if (memory or latency) else progress, columns=TOTAL_COLUMNS)
    frame = grid_frame(widths, resolutions, grid)
    attrs = {"spec": spec.path, "network": spec.name, "classes": classes if classes is not None else spec.classes,
             "convention": convention.describe(), "traces": grid["traces"]}
    if memory or latency:
        extra = point_measures(spec, frame, classes=classes, memory=memory, dtype=dtype, latency=latency,
                               progress=progress, repeats=latency_repeats, warmup=latency_warmup,
                               max_spread=latency_max_spread)
        frame = pd.concat([frame, extra], axis=1)
        for key in ("memory", "latency"):
            if key in extra.attrs:
                attrs[key] = extra.attrs[key]
    if accuracy is not False and accuracy is not None:
        table = accuracy if isinstance(accuracy, pd.DataFrame) else load_accuracy(
            None if accuracy is True else accuracy)
        frame = join_accuracy(frame, spec.name, table)
    frame.attrs = attrs
    return frame


def grid_frame(widths: Sequence[float], resolutions: Sequence[int], grid: dict[str, Any]) -> "pd.DataFrame":
    """The grid as a table, one row per (width, resolution), widths outer: built column by
    column from the grid's arrays (a million points make no per-row objects). The totals
    keep the grid's dtype: int64, or Python ints where a value does not fit (exact)."""
    import numpy as np
    import pandas as pd

    columns = {"width": np.repeat(np.asarray(widths, dtype=float), len(resolutions)),
               "resolution": np.tile(np.asarray(resolutions, dtype=np.int64), len(widths))}
    for column in TOTAL_COLUMNS:
        columns[column] = np.asarray(grid[column]).reshape(-1)
    return pd.DataFrame(columns)


def write_csv(frame: "pd.DataFrame", columns: Sequence[str], notes: Sequence[str], out: TextIO, *,
              chunk_rows: int = 100_000) -> None:
    """``frame[columns]`` as CSV on ``out``, after the notes as ``# `` lines: pandas writes
    the columns ``chunk_rows`` rows at a time (no per-row dicts), each chunk one
    ``out.write`` (an unbuffered stdout, ``PYTHONUNBUFFERED=1``, would otherwise make one
    system call per row). Missing values are empty cells, as in the other tables. The text
    is byte for byte ``frame.to_csv``'s; a column with few distinct values is formatted once
    per value (:func:`_formatted_once`)."""
    import pandas as pd

    for line in notes:
        out.write(f"# {line}\n")
    table = pd.DataFrame({column: _formatted_once(frame[column]) for column in columns}, copy=False)
    for start in range(0, max(len(table), 1), chunk_rows):  # an empty frame still writes its header
        out.write(table.iloc[start:start + chunk_rows].to_csv(index=False, header=start == 0, lineterminator="\n"))


FEW_DISTINCT = 10  # a column with at most 1/FEW_DISTINCT as many distinct values as rows


def _formatted_once(column: "pd.Series") -> Any:
    """``column``, or where it has few distinct values (the grid's width and resolution
    axes, the mostly empty accuracy columns) a categorical of each distinct value's CSV
    text: pandas then formats a million-row axis from a thousand strings instead of a
    million numbers. The text is what pandas writes for the value (numbers through numpy's
    ``astype(str)``, as ``to_csv`` formats them); missing values stay missing (empty cells)."""
    import numpy as np
    import pandas as pd

    values = column.to_numpy()
    if values.dtype.kind == "f":  # group by the bits: 0.0 and -0.0 are equal but print differently
        codes, uniques = pd.factorize(values.view(np.int64))
        codes[np.isnan(values)] = -1
        uniques = np.asarray(uniques).view(values.dtype)
    else:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        uniques = np.asarray(uniques)
    if len(uniques) * FEW_DISTINCT > len(values):
        return column
    labels = uniques.astype(str) if uniques.dtype.kind in "fiub" else uniques
    return pd.Categorical.from_codes(codes, pd.Index(labels, dtype=object))


def point_measures(spec: Spec, frame: "pd.DataFrame", *, classes: int | None, memory: bool, dtype: str,
                   latency: bool, progress: Callable[[int], None] | None = None, repeats: int = 10,
                   warmup: int = 2, max_spread: float = 0.25) -> "pd.DataFrame":
    """Peak memory / latency per row: these need the compiled graph of each point."""
    import pandas as pd

    from archcalc.analysis.symbolic import with_point
    from archcalc.compiler import compile_spec

    config = None
    if memory:
        from archcalc.analysis.memory import MemoryConfig, analyze_memory

        config = MemoryConfig(dtype=dtype)
    if latency:
        from archcalc.pytorch.bench import bench
    if not max_spread > 0:
        raise ValueError(f"the latency spread limit must be > 0, got {max_spread!r}")
    values: dict[str, list] = {"peak_bytes": [], "latency_ms": [], "latency_iqr_ms": [], "latency_flagged": []}
    for width, resolution in zip(frame["width"], frame["resolution"]):
        model = compile_spec(with_point(spec, width=float(width), resolution=int(resolution), classes=classes))
        if memory:
            values["peak_bytes"].append(analyze_memory(model, "program", config).peak_bytes)
        if latency:
            from archcalc import limits

            limits.check_torch_memory(model)  # refused before torch allocates, as verify and bench do
            stats = bench(model, repeats=repeats, warmup=warmup, max_spread=max_spread)
            values["latency_ms"].append(stats["median_ms"])
            values["latency_iqr_ms"].append(stats["iqr_ms"])
            values["latency_flagged"].append(stats["flagged"])
        if progress:
            progress(1)
    extra = pd.DataFrame({k: v for k, v in values.items() if v}, index=frame.index)
    if config is not None:
        extra.attrs["memory"] = config.describe()
    if latency:
        extra.attrs["latency"] = (f"median of {repeats} runs after {warmup} warm-up (CPU, batch 1); flagged when "
                                  f"IQR / median > {max_spread:g}")
    return extra


__all__ = ["ACCURACY_CSV", "TOTAL_COLUMNS", "Separable", "grid_frame", "grid_sum", "grid_totals", "guards_hold", "numeric_replay", "join_accuracy", "load_accuracy", "parse_values",
           "point_measures", "sweep", "write_csv"]
