"""Closed forms of a network's cost in the width multiplier α and the resolution ρ.

The numbers are not re-derived here. The spec is compiled once by the ordinary compiler,
but with the width-scaled channel counts and the input resolution replaced by *traced*
integers (:class:`Traced`): ints that behave exactly like the numbers they stand for and
also remember how they were computed (a :class:`Recipe`). Every op shape, parameter and
cost rule of the registry then runs unchanged and its arithmetic is recorded, so each node's
MAdds is a small expression tree whose leaves are "channel c scaled by the width rule" and
"the input resolution". Every comparison or truth test on a traced value (a ``when:``
condition, a residual's ``c_in == c``, a shape check) is recorded as a :class:`Guard`: the
structure compiled holds exactly where the guards keep their recorded outcome.

The same recipes are then replayed three ways:

* with numbers (numpy vectors over the widths and over the resolutions) by
  :mod:`archcalc.analysis.sweep`, calling the very rounding functions the compiler calls;
* with sympy values (:func:`formula`), giving exact expressions with the rounding as
  explicit ``floor``/``Piecewise``;
* with sympy values and the rounding removed, giving the smooth polynomial approximation.

Nothing here imports sympy or numpy at module level (``archcalc cost`` never loads this).
"""
from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any, Callable

from archcalc.compiler import _Compiler
from archcalc.compiler import _integral as _plain_integral
from archcalc.model import Model
from archcalc.spec.loader import Spec, load_spec
from archcalc.width import channel_rule, expand_make_divisible, expansion_rule

# ---------------------------------------------------------------------------- recipes


class Recipe:
    """One step of a traced computation. ``kind`` is ``scaled`` (a width-scaled channel
    count: ``args = (value, mode)``), ``alpha`` (the width multiplier itself), ``res`` (the input resolution: ``args = (axis,)``),
    ``call`` (a spec function such as ``expand``: ``args = (name, *operands)``) or ``op``
    (a Python operator: ``args = (operator name, left, right)``). Operands are recipes or
    plain constants. Recipes are compared by identity, which is what the caches rely on."""

    __slots__ = ("kind", "args", "depends")

    def __init__(self, kind: str, args: tuple):
        self.kind = kind
        self.args = args
        deps: set[str] = set()
        if kind in ("scaled", "alpha"):
            deps.add("width")
        elif kind == "res":
            deps.add("resolution")
        for arg in args:
            if isinstance(arg, Recipe):
                deps |= arg.depends
        self.depends = frozenset(deps)

    def __repr__(self) -> str:  # for debugging and error messages
        return f"Recipe({self.kind}, {self.args!r})"


def recipe_of(value: Any) -> Any:
    return value.recipe if isinstance(value, (Traced, TracedFloat)) else value


def plain(value: Any) -> Any:
    if isinstance(value, Traced):
        return int(value)
    if isinstance(value, TracedFloat):
        return float(value)
    return value


@dataclass(frozen=True)
class Guard:
    """A decision the compile took on traced values: ``op(left, right)`` was ``outcome``
    (``op`` is ``bool`` for a truth test, with ``right`` unused)."""

    op: str
    left: Any
    right: Any
    outcome: bool


_GUARDS: list[tuple[list[Guard], set]] = []  # stack of active recorders (innermost last)


def _record(op: str, left: Any, right: Any, outcome: bool) -> bool:
    if _GUARDS and (isinstance(left, Recipe) or isinstance(right, Recipe)):
        guards, seen = _GUARDS[-1]
        key = (op, id(left) if isinstance(left, Recipe) else left, id(right) if isinstance(right, Recipe) else right)
        if key not in seen:  # the same check on the same value (schema, shape) is recorded once
            seen.add(key)
            guards.append(Guard(op, left, right, bool(outcome)))
    return outcome


def _wrap(value: Any, recipe: Recipe) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return Traced(value, recipe)
    if isinstance(value, float):
        return TracedFloat(value, recipe)
    return value


def _binary(name: str, reflected: bool = False) -> Callable[[Any, Any], Any]:
    fn = getattr(operator, name)

    def method(self: Any, other: Any) -> Any:
        if not isinstance(other, (int, float)):
            return NotImplemented
        left, right = (other, self) if reflected else (self, other)
        value = fn(plain(left), plain(right))
        return _wrap(value, Recipe("op", (name, recipe_of(left), recipe_of(right))))

    return method


def _compare(name: str) -> Callable[[Any, Any], Any]:
    fn = getattr(operator, name)

    def method(self: Any, other: Any) -> Any:
        if not isinstance(other, (int, float)):
            return NotImplemented
        return _record(name, recipe_of(self), recipe_of(other), fn(plain(self), plain(other)))

    return method


def _install(cls: type) -> type:
    for name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow"):
        setattr(cls, f"__{name}__", _binary(name))
        setattr(cls, f"__r{name}__", _binary(name, reflected=True))
    for name in ("eq", "ne", "lt", "le", "gt", "ge"):
        setattr(cls, f"__{name}__", _compare(name))
    cls.__neg__ = lambda self: _wrap(-plain(self), Recipe("op", ("mul", recipe_of(self), -1)))
    cls.__pos__ = lambda self: self
    cls.__bool__ = lambda self: _record("bool", recipe_of(self), None, plain(self) != 0)
    cls.__repr__ = lambda self: repr(plain(self))
    cls.__str__ = lambda self: str(plain(self))
    cls.__format__ = lambda self, spec: format(plain(self), spec)
    return cls


class _Remembers:
    """Mixin: a number built with a :class:`Recipe` it keeps (``int``/``float`` below)."""

    def __new__(cls, value: Any, recipe: Recipe):
        obj = super().__new__(cls, value)
        obj.recipe = recipe
        return obj


@_install
class Traced(_Remembers, int):
    """An int that remembers its :class:`Recipe`."""

    __hash__ = int.__hash__


@_install
class TracedFloat(_Remembers, float):
    """A float that remembers its :class:`Recipe` (e.g. ``c_in / r``)."""

    __hash__ = float.__hash__


# ---------------------------------------------------------------------------- tracing


class _TracingCompiler(_Compiler):
    """The ordinary compiler with traced channel counts and a traced input resolution."""

    memoize = False  # a traced 32 equals a plain 32 but carries a different recipe

    def __init__(self, spec: Spec):
        super().__init__(spec)
        self.originals = dict(self.functions)
        for name, fn in self.originals.items():
            self.functions[name] = self._traced_call(name, fn)
        self.resolution_h = Traced(spec.resolution, Recipe("res", ("h",)))
        self.resolution_w = Traced(spec.resolution, Recipe("res", ("w",)))
        self.globals["resolution"] = self.resolution_h
        # a spec may branch on the width itself (``when: ${width > 1}``): trace that too
        self.globals["width"] = TracedFloat(spec.width, Recipe("alpha", ()))

    @staticmethod
    def _traced_call(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            value = fn(*(plain(a) for a in args))
            if not any(isinstance(a, (Traced, TracedFloat)) for a in args):
                return value
            return _wrap(value, Recipe("call", (name, *(recipe_of(a) for a in args))))

        return call

    @staticmethod
    def integral(value: Any) -> Any:
        return _traced_integral(value)

    def scaled(self, value: Any, mode: str, where: Any) -> Any:
        result = super().scaled(plain(value), mode, where)
        if mode == "none" or isinstance(value, bool) or not isinstance(value, (int, float)):
            return result
        return _wrap(result, Recipe("scaled", (recipe_of(value), mode)))

    def structural_int(self, value: Any) -> int:
        if isinstance(value, (Traced, TracedFloat)):  # e.g. n: ${ceil(c_in / 32)}: a decision on the trace
            _record("eq", value.recipe, int(value), True)
        return int(value)

    def add_node(self, name: str, op: Any, attrs: dict, inputs: list[str], where: Any) -> str:
        if op.kind == "input":  # the resolution enters the graph here
            attrs = {**attrs, "height": self.resolution_h, "width": self.resolution_w}
        return super().add_node(name, op, attrs, inputs, where)


@dataclass
class Trace:
    """A compiled model whose numbers carry recipes, the guards it relied on, and the
    rounding rules needed to replay the recipes at another (width, resolution)."""

    model: Model
    guards: list[Guard]
    channel_rule: Callable[..., int]
    rule_kwargs: dict
    functions: dict[str, Callable[..., Any]]
    rounding: dict = field(default_factory=dict)


def trace(spec: Spec | str, *, width: float | None = None, resolution: int | None = None,
          classes: int | None = None) -> Trace:
    """Compile ``spec`` once with traced width and resolution (see the module docstring)."""
    if not isinstance(spec, Spec):
        spec = load_spec(spec, width=width, resolution=resolution, classes=classes)
    elif width is not None or resolution is not None or classes is not None:
        spec = with_point(spec, width=width, resolution=resolution, classes=classes)
    compiler = _TracingCompiler(spec)
    guards: list[Guard] = []
    _GUARDS.append((guards, set()))
    try:
        model = compiler.compile()
    finally:
        _GUARDS.pop()
    return Trace(model=model, guards=guards, channel_rule=compiler.channel_rule, rule_kwargs=compiler.rule_kwargs,
                 functions=compiler.originals, rounding=dict(spec.data.get("rounding", {})))


def _traced_integral(value: Any) -> Any:
    """The compiler turns a whole float into an int (``${c_in / 2}`` -> 32) with a plain
    ``int()``, which would drop the trace and make a sweep silently wrong at other widths.
    While tracing, that conversion keeps the recipe, and whether the value is whole is
    itself a recorded guard (``value % 1 == 0``)."""
    if isinstance(value, TracedFloat):
        if value % 1 == 0:
            return Traced(int(float(value)), Recipe("call", ("int", value.recipe)))
        return value
    return _plain_integral(value)


def with_point(spec: Spec, *, width: float | None = None, resolution: int | None = None,
               classes: int | None = None) -> Spec:
    """A copy of a loaded spec at another (width, resolution, classes), without re-reading YAML."""
    data = dict(spec.data)
    if width is not None:
        data["width"] = width
    if resolution is not None:
        data["input"] = {**data["input"], "resolution": resolution}
    if classes is not None:
        data["classes"] = classes
    return spec.with_data(data)


# ---------------------------------------------------------------------------- replay


class Replay:
    """Evaluates recipes for one backend; caches by recipe identity.

    ``leaf(recipe)`` gives the value of ``scaled``/``res`` leaves, ``call(name, args)`` the
    value of a spec function, ``op(name, left, right)`` an operator.
    """

    def __init__(self, leaf: Callable[[Recipe], Any], call: Callable[[str, list], Any],
                 op: Callable[[str, Any, Any], Any], constant: Callable[[Any], Any] = lambda v: v):
        self.leaf, self.call, self.op, self.constant = leaf, call, op, constant
        self.cache: dict[int, Any] = {}
        self.keep: list[Recipe] = []  # keeps ids valid while cached

    def __call__(self, value: Any) -> Any:
        value = recipe_of(value)
        if not isinstance(value, Recipe):
            return self.constant(value)
        key = id(value)
        if key in self.cache:
            return self.cache[key]
        if value.kind in ("scaled", "res", "alpha"):
            result = self.leaf(value)
        elif value.kind == "call":
            name, *args = value.args
            result = self.call(name, [self(a) for a in args])
        else:
            name, left, right = value.args
            result = self.op(name, self(left), self(right))
        self.cache[key] = result
        self.keep.append(value)
        return result


# ---------------------------------------------------------------------------- sympy


def make_divisible_sym(value: Any, divisor: int = 8, min_value: int | None = None) -> Any:
    """:func:`archcalc.width.make_divisible` as a sympy expression, for ``value > 0``:
    ``n = max(min_value, floor(value/divisor + 1/2) * divisor)``, plus one more ``divisor``
    where ``n < 0.9 * value`` (``int(v + d/2) // d * d`` equals ``floor(v/d + 1/2) * d`` for
    positive ``v`` and integer ``d``)."""
    import sympy

    if min_value is None:
        min_value = divisor
    nearest = sympy.Max(min_value, sympy.floor(value / divisor + sympy.Rational(1, 2)) * divisor)
    return sympy.Piecewise((nearest + divisor, nearest < sympy.Rational(9, 10) * value), (nearest, True))


def truncate_depth_sym(value: Any, min_depth: int = 8) -> Any:
    """:func:`archcalc.width.truncate_depth`: ``max(floor(value), min_depth)``."""
    import sympy

    return sympy.Max(sympy.floor(value), min_depth)


def _sym_rules(tr: Trace, smooth: bool) -> tuple[Callable[..., Any], dict[str, Callable[..., Any]]]:
    """Symbolic versions of the spec's rounding rules (or the identity when ``smooth``)."""
    import sympy

    rounding, kwargs = tr.rounding, tr.rule_kwargs  # the compiler's rule and parameters (width.channel_rule)
    rule = channel_rule(rounding)[0]
    if smooth:
        channel = lambda v: v  # noqa: E731
    elif rule == "make_divisible":
        channel = lambda v: make_divisible_sym(v, kwargs["divisor"], kwargs["min_value"])  # noqa: E731
    elif rule == "truncate":
        channel = lambda v: truncate_depth_sym(v, kwargs["min_depth"])  # noqa: E731
    elif rule == "nearest":  # width.nearest_channels: max(int(v + 0.5), min_depth)
        channel = lambda v: sympy.Max(sympy.floor(v + sympy.Rational(1, 2)), kwargs["min_depth"])  # noqa: E731
    else:
        channel = lambda v: v  # noqa: E731  ("exact": the scaled value is already whole)

    def expand(c: Any, t: Any) -> Any:
        if smooth or t == 1:
            return c * t
        if expansion_rule(rounding) is expand_make_divisible:
            return make_divisible_sym(c * t, 8)
        return sympy.floor(c * t + sympy.Rational(1, 2))  # torchvision's round (ties differ: see width.py)

    functions = {
        "make_divisible": (lambda v, d=8, m=None: v) if smooth else make_divisible_sym,
        "truncate_depth": (lambda v, m=8: v) if smooth else truncate_depth_sym,
        "expand": expand,
        "min": sympy.Min, "max": sympy.Max, "abs": sympy.Abs,
        "int": (lambda v: v) if smooth else sympy.floor,
        "round": (lambda v: v) if smooth else (lambda v: sympy.floor(v + sympy.Rational(1, 2))),
        "ceil": (lambda v: v) if smooth else sympy.ceiling,
        "floor": (lambda v: v) if smooth else sympy.floor,
    }
    return channel, functions


SCALE_SYM = {"width": lambda a: a, "grow_only": lambda a: _max1(a), "none": lambda a: 1}


def _max1(alpha: Any) -> Any:
    import sympy

    return sympy.Max(1, alpha)


def _sym_constant(value: Any) -> Any:
    import sympy

    if isinstance(value, float):
        return sympy.Rational(repr(value))  # the decimal the spec wrote (6.0 -> 6)
    if isinstance(value, (int, bool)):
        return sympy.Integer(value)
    return value


def symbols() -> tuple[Any, Any]:
    """The width multiplier α (positive real) and the input resolution ρ (positive integer)."""
    import sympy

    return sympy.Symbol("alpha", positive=True), sympy.Symbol("rho", positive=True, integer=True)


def sympy_replay(tr: Trace, *, smooth: bool = False, name_channels: bool = True) -> tuple[Replay, dict]:
    """Replay with sympy values. Returns the replay and ``{channel symbol: definition}``.

    With ``name_channels`` every rounded channel count becomes a positive-integer symbol
    ``c_i`` (its exact definition in α in the returned dict), which keeps the network
    expression readable; substitute the dict to get everything in α and ρ alone.
    """
    import sympy

    alpha, rho = symbols()
    channel, functions = _sym_rules(tr, smooth)
    definitions: dict = {}

    by_expr: dict = {}

    def named(expr: Any) -> Any:
        if not name_channels or smooth or expr.is_number:
            return expr
        if expr not in by_expr:  # equal definitions share one symbol
            symbol = sympy.Symbol(f"c_{len(definitions) + 1}", positive=True, integer=True)
            definitions[symbol] = expr
            by_expr[expr] = symbol
        return by_expr[expr]

    def leaf(recipe: Recipe) -> Any:
        if recipe.kind == "res":
            return rho
        if recipe.kind == "alpha":
            return alpha
        value, mode = recipe.args
        return named(channel(replay(value) * SCALE_SYM[mode](alpha)))

    def call(name: str, args: list) -> Any:
        result = functions[name](*args)
        depends_on_width = set().union(*(getattr(a, "free_symbols", set()) for a in args)) - {rho}
        return named(result) if depends_on_width else result  # e.g. an expansion's hidden width

    def op(name: str, left: Any, right: Any) -> Any:
        if smooth and name == "floordiv" and alpha in getattr(left, "free_symbols", ()):
            name = "truediv"  # C_in // groups on unrounded channels; spatial floors stay (see formula)
        return getattr(operator, name)(left, right)

    replay = Replay(leaf, call, op, constant=_sym_constant)
    return replay, definitions


# ---------------------------------------------------------------------------- formulas


def node_terms(tr: Trace) -> list[tuple[str, Any, Any]]:
    """``(node, madds value, params-without-BN value)`` for every op node, traced."""
    rows = []
    for name in tr.model.order:
        data = tr.model.nodes[name]
        if data["op"] == "input":
            continue
        rows.append((name, data["cost"].madds, data["params"].weights + data["params"].bias))
    return rows


def table1_madds(h: Any, w: Any, d_in: Any, d_out: Any, t: Any, k: Any) -> Any:
    """The paper's Table 1 / §3.3 cost of a bottleneck block: ``h·w·d′·t·(d′ + k² + d″)``
    (expansion ``h·w·d′·td′``, depthwise ``h·w·td′·k²``, projection ``h·w·td′·d″``).
    It assumes stride 1 and an expansion conv."""
    return h * w * d_in * t * (d_in + k * k + d_out)


def bottleneck_madds(h: Any, w: Any, d_in: Any, d_out: Any, t: Any, k: Any, s: int) -> Any:
    """Stride-aware generalization of :func:`table1_madds` with 'same' padding: the
    expansion runs at ``h x w``, the depthwise and projection at ``ceil(h/s) x ceil(w/s)``;
    with ``t = 1`` there is no expansion conv and the depthwise works on ``d′`` channels."""
    ho, wo = -(-h // s), -(-w // s)
    expand = h * w * d_in * (t * d_in) if t != 1 else 0
    return expand + ho * wo * (t * d_in) * (k * k + d_out)


@dataclass
class Formula:
    """Closed forms of one spec's cost (sympy expressions; α = width, ρ = resolution)."""

    alpha: Any
    rho: Any
    # The exact forms are a small system: MAdds and params in ρ and channel symbols c_i, and
    # each c_i's exact definition in α (and earlier c_j: a hidden width is the rounded
    # expansion of its input's). Substituting everything into one expression is possible
    # but sympy needs ~50 s to build the nested Piecewise products, and it is unreadable.
    madds: Any  # exact, in ρ and the channel symbols c_i
    params: Any  # exact params without BN, in the channel symbols
    channels: dict  # c_i -> exact expression in α and earlier c_j (floor / Max / Piecewise)
    madds_smooth: Any  # rounding removed; polynomial in α (Max(1, α) where a layer only grows) and ρ
    params_smooth: Any
    blocks: list[dict]  # per block: name, type, t, c, s, exact madds, Table 1 check
    structure_note: str

    def evaluate(self, width: float, resolution: int) -> dict[str, int]:
        """Exact integer values at one point (α taken as the exact binary value of the float)."""
        values = channel_values(self.channels, self.alpha, width)
        return {"madds": int(self.madds.subs(values).subs(self.rho, resolution)),
                "params_without_bn": int(self.params.subs(values))}


def channel_values(channels: dict, alpha: Any, width: float) -> dict:
    """Integer value of every channel symbol at ``width`` (definitions in order, each
    may use earlier symbols)."""
    import sympy

    values: dict = {alpha: sympy.Rational(width)}
    for symbol, definition in channels.items():
        value = definition.subs(values)  # exact: alpha is a Rational
        if not value.is_integer:  # the "exact" rule: the compiler refuses such a width too
            raise ValueError(f"width {width:g} gives {symbol} = {float(value):g} channels, not a whole number")
        values[symbol] = sympy.Integer(value)
    del values[alpha]
    return values


def formula(spec: Spec | str, *, classes: int | None = None, width: float | None = None,
            resolution: int | None = None) -> Formula:
    """Exact and smooth closed forms of MAdds and params (without BN) in α and ρ.

    The structure (which convs exist, where the residuals are) is that of the spec at
    ``width``/``resolution`` (the spec's own by default); the expressions hold wherever the
    recorded guards keep their outcome (for MobileNetV2: every α and every ρ >= 32).
    """
    import sympy

    tr = trace(spec, width=width, resolution=resolution, classes=classes)
    alpha, rho = symbols()
    replay, channels = sympy_replay(tr)
    smooth, _ = sympy_replay(tr, smooth=True)
    terms = node_terms(tr)
    madds = sympy.Add(*(replay(m) for _, m, _ in terms))
    params = sympy.Add(*(replay(p) for _, _, p in terms))
    # Smooth form: rounding removed; with ρ = 32q the spatial floors of a stride-32 network
    # resolve exactly, so substituting back q = ρ/32 leaves a polynomial in ρ.
    q = sympy.Symbol("q", positive=True, integer=True)
    madds_smooth = sympy.Add(*(smooth(m) for _, m, _ in terms))
    madds_smooth = sympy.expand(madds_smooth.subs(rho, 32 * q).subs(q, rho / 32))
    params_smooth = sympy.expand(sympy.Add(*(smooth(p) for _, _, p in terms)))
    blocks = block_formulas(tr, replay, channels)
    return Formula(alpha=alpha, rho=rho, madds=madds, params=params, channels=channels,
                   madds_smooth=madds_smooth, params_smooth=params_smooth, blocks=blocks,
                   structure_note=f"{len(tr.guards)} structural decisions recorded at width {tr.model.width:g}, "
                                  f"resolution {tr.model.resolution}")


def block_formulas(tr: Trace, replay: Replay, channels: dict) -> list[dict]:
    """Per top-level block: its exact MAdds from the IR in terms of the block's input size
    ``h x w`` and the channel symbols; for bottlenecks also the paper's Table 1 expression
    and the stride-aware one on the same symbols, and whether each equals the IR's count
    (compared at the traced width's channel values, for every ``h, w``)."""
    import sympy

    model = tr.model
    alpha, _ = symbols()
    h, w = sympy.symbols("h w", positive=True, integer=True)
    at = channel_values(channels, alpha, model.width)
    out = []
    for block in model.blocks:
        if block.nesting:
            continue
        local = _block_replay(replay, block.input_shape[1:], (h, w))
        nodes = [n for n in model.order if n.startswith(block.name + ".")]
        exact = sympy.Add(*(local(model.nodes[n]["cost"].madds) for n in nodes))
        row = {"name": block.name, "type": block.type, "exact": sympy.factor_terms(exact),
               "input": tuple(plain(v) for v in block.input_shape), **{k: plain(v) for k, v in block.params.items()
                                                                      if k in ("t", "c", "s", "k")}}
        if block.type == "bottleneck" and block.params.get("t") is not None:  # Table 1 is written in t
            d_in, d_out = replay(block.input_shape[0]), replay(block.output_shape[0])
            t, k, s = (plain(block.params[x]) for x in ("t", "k", "s"))
            row["table1"] = table1_madds(h, w, d_in, d_out, t, k)
            row["stride_aware"] = bottleneck_madds(h, w, d_in, d_out, t, k, s)
            gap = (row["table1"] - exact).subs(at)
            row["table1_holds"] = sympy.expand(gap) == 0
            probe = [(hh, hh) for hh in (7, 14, 28, 56, 112, 9, 15)]
            row["stride_aware_holds"] = all(
                sympy.expand((row["stride_aware"] - exact).subs(at).subs({h: a, w: b})) == 0 for a, b in probe)
        out.append(row)
    return out


def _block_replay(replay: Replay, spatial: tuple, names: tuple) -> Replay:
    """A copy of ``replay`` in which the block's input height and width are the symbols
    ``names`` (everything derived from the resolution is recomputed from them)."""
    local = Replay(replay.leaf, replay.call, replay.op, replay.constant)
    local.cache = {key: value for key, value, recipe in
                   ((id(r), replay.cache[id(r)], r) for r in replay.keep) if "resolution" not in recipe.depends}
    local.keep = list(replay.keep)
    for value, name in zip(spatial, names):
        if isinstance(value, (Traced, TracedFloat)):
            local.cache[id(value.recipe)] = name
            local.keep.append(value.recipe)
    return local


__all__ = [
    "Formula", "Guard", "Recipe", "Replay", "Trace", "Traced", "TracedFloat", "bottleneck_madds", "formula",
    "make_divisible_sym", "sympy_replay", "symbols", "table1_madds", "trace",
    "truncate_depth_sym", "with_point",
]
