"""Randomized differential test of the expansion cache shared between compiles (``_SHARED``).

One process runs a random sequence of loads (shipped specs and generated ones, random width,
resolution, depth and classes overrides, random budgets in ``ARCHCALC_MAX_*``). Each step
loads the same (spec, overrides, budgets) twice: with the caches as the earlier steps left
them, and as a new process would (sharing off, ``_Compiler.share = False``, which neither
reads nor fills ``_SHARED``; the parsed expressions forgotten). Everything a caller sees must
be equal, type-exactly (1, 1.0 and True apart, -0.0 apart from 0.0): nodes in order with
their records, scopes, block instances, outputs, totals under several conventions, the
warnings, and the error type and message of a load that fails. On a fraction of the steps
the reference is also compared with a compile without the in-compile memo (``memoize =
False``: every block expanded from its definition).

What makes such a sequence find something: loads repeated with other budgets (a node budget
right at the size of an earlier load among them), generated "twins" of a spec that differ
in one default by a value equal to it but distinct (-0.0 for 0.0, 3.0 for 3), list
parameters, and every model's lists and dicts changed by the test once read (as their owner
may: a later load must not see that).

Written from a reviewer's script, which found (fixed in 64fb7eb, regression tests in
tests/test_compile_cache.py):
- the IR-node budget over-counted on a replay (names standing for tensors counted as nodes),
  so a load that fits was refused after an earlier load of the same blocks;
- -0.0 and 0.0 keyed alike (equal, same hash): a -0.0 setting met an expansion kept under 0.0;
- list parameters shared by reference between the models a replay handed out;
- expression length and nesting budgets not re-checked for expressions parsed by an earlier load.
The regression tests pin those examples; this test looks for the rest of the class. With each
of the four fixes reverted by hand, it failed (on 1 to 3 of its seeds each).
"""
from __future__ import annotations

import dataclasses
import json
import random
import warnings
from pathlib import Path

import pytest

from archcalc import compiler, limits
from archcalc.allocation import gc_paused
from archcalc.analysis.convention import Convention
from archcalc.compiler import _Compiler, forget_shared_expansions
from archcalc.spec import expr
from archcalc.spec.loader import load_spec

ROOT = Path(__file__).resolve().parents[1]
SEEDS = [0, 1, 2, 3]
STEPS = 200  # per seed
NOMEMO_SHARE = 0.25  # of the steps also compared against a compile without the in-compile memo
GENERATED_SPECS = 40  # per seed (a child extending one is sometimes added)
# of the steps that load an earlier step's spec and overrides again (under budgets drawn anew):
# drawn afresh from ~110 specs and many overrides, a load rarely meets what an earlier one kept
REPEAT_SHARE = 0.5
CONVENTIONS = [Convention(), Convention(bn_params="all"), Convention(batch=3, flops_per_madd=1)]
# the budgets a step may lower, with the values tried (low enough that many loads hit them)
BUDGETS = {"ARCHCALC_MAX_DIMENSION": ["50", "100", "1000", "4096"], "ARCHCALC_MAX_VALUE_ITEMS": ["3", "10"],
           "ARCHCALC_MAX_INT_BITS": ["6", "8", "12"], "ARCHCALC_MAX_NESTING": ["2", "3"],
           "ARCHCALC_MAX_EXPRESSION_CHARS": ["10", "20", "30"], "ARCHCALC_MAX_IR_NODES": ["20"]}


class _CountingCache(dict):
    """``_SHARED`` (or ``_SHARED_LAYERS``) that counts the expansions (layer rows) an earlier
    compile kept and a later one found."""

    hits = 0

    def get(self, key, default=None):
        found = super().get(key, default)
        if found is not None:
            self.hits += 1
        return found


@dataclasses.dataclass(frozen=True)
class Load:
    """One step: what a caller passes (spec, overrides) and the budgets in the environment."""

    path: Path
    overrides: tuple  # sorted (name, value) pairs, for load_spec
    env: tuple  # sorted (variable, value) pairs

    def reproducer(self) -> str:
        text = f"load_spec({str(self.path)!r}, **{dict(self.overrides)}) with env {dict(self.env)}"
        if not self.path.is_relative_to(ROOT):  # generated: its text (and its parent's) goes away with tmp_path
            for path in _chain_of(self.path):
                text += f"\n--- {path.name}\n{path.read_text()}"
        return text


def _chain_of(path: Path) -> list[Path]:
    """A generated spec's file and the one it extends (see _write_random_spec)."""
    parent = path.with_name(path.stem.removesuffix("_child") + ".yaml")
    return [parent, path] if parent != path else [path]


def _twin_of(path: Path) -> Path:
    """The generated twin of ``path`` (or back), else ``path`` itself (see _write_random_spec)."""
    stem = path.stem.removesuffix("_twin") if path.stem.endswith("_twin") else path.stem + "_twin"
    twin = path.with_name(stem + ".yaml")
    return twin if twin.exists() else path


# ------------------------------------------------------------------ observing a load

def _canonical(value):
    """``value`` as nested tuples that compare type-exactly (1 != 1.0 != True, -0.0 != 0.0)."""
    if value is None or isinstance(value, (bool, str)):
        return type(value).__name__, value
    if isinstance(value, int):
        return "int", value
    if isinstance(value, float):
        return "float", repr(value)
    if isinstance(value, (list, tuple)):  # the records (Cost, Params, Location, BlockInstance) are named tuples
        return type(value).__name__, tuple(_canonical(item) for item in value)
    if isinstance(value, dict):
        return "dict", tuple((_canonical(k), _canonical(v)) for k, v in value.items())
    return type(value).__name__, repr(value)


def _forget_parsed_expressions() -> None:
    """Empty the caches of parsed expressions, as in a new process: a parse checks the
    expression budgets once, and the reference loads must not inherit one made under another
    load's budgets (what the shared loads inherit is what is under test)."""
    expr.compiled_expression.cache_clear()
    compiler._BLOCK_PLANS.clear()  # (what a block reads is worked out from its parsed expressions)
    for cached in (expr._parse, expr._compiled, expr.names_used, expr._expression_text):
        cached.cache_clear()


def _observe(load: Load, mode: str) -> tuple[tuple, int | None]:
    """Everything a caller sees of ``load`` compiled with the caches as earlier loads left
    them ("shared"), or as a new process would ("fresh": no shared expansions, no parsed
    expressions; "nomemo": nor the in-compile memo either), made canonical; and the number of
    nodes (None when the load fails)."""
    saved = _Compiler.share, _Compiler.memoize
    _Compiler.share, _Compiler.memoize = mode == "shared", mode != "nomemo"
    if mode != "shared":
        _forget_parsed_expressions()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with gc_paused(), limits.held():  # as archcalc.load: the budgets read once per load
                    model = _Compiler(load_spec(load.path, **dict(load.overrides))).compile()
                seen = {"order": model.order, "nodes": model.nodes, "scopes": list(model.scopes.items()),
                        "blocks": model.blocks, "outputs": model.outputs,
                        "totals": [model.totals(convention) for convention in CONVENTIONS]}
                size = len(model.nodes)
                _scribble_on(model)  # (after reading it: what a later load sees must not change)
            except Exception as exc:  # noqa: BLE001 - the error a caller gets is compared too
                seen, size = {"error": type(exc).__name__, "message": str(exc)}, None
        seen["warnings"] = [(w.category.__name__, str(w.message)) for w in caught]
        return _canonical(seen), size
    finally:
        _Compiler.share, _Compiler.memoize = saved


def _scribble_on(model) -> None:
    """Change every list and dict of the model's records, as its owner may: a later load
    must not see that (a replay hands out copies of what it kept, never the kept ones)."""
    for record in [*model.nodes.values(), *(block.params for block in model.blocks)]:
        _scribble(record)


def _scribble(value) -> None:
    if isinstance(value, list):
        for item in value:
            _scribble(item)
        value.append("scribbled")
    elif isinstance(value, dict):
        for item in list(value.values()):
            _scribble(item)
        value["scribbled"] = True


def _first_difference(a, b, where: str = "") -> str:
    """Where two canonical observations first differ (dict items named by key), and the two
    values there, shortened."""
    if type(a) is not type(b) or not isinstance(a, tuple) or len(a) != len(b):
        return f"{where or 'top'}: {str(a)[:300]} != {str(b)[:300]}"
    if a[0] == b[0] == "dict":
        a_items, b_items = dict(a[1]), dict(b[1])
        if a_items.keys() != b_items.keys():  # one load compiled, the other failed
            return f"{where or 'top'}: {_gist(a_items)} != {_gist(b_items)}"
        for key, value in a_items.items():
            if value != b_items[key]:
                return _first_difference(value, b_items[key], f"{where}[{key[1]!r}]")
    for index, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return _first_difference(x, y, f"{where}[{index}]")
    return "equal"


def _gist(observation: dict) -> str:
    message = observation.get(("str", "message"))
    return f"error {message[1][:300]!r}" if message else "a compiled model"


# ------------------------------------------------------------------ generated specs

ACTIVATIONS = ["relu", "relu6", "hardswish", "leaky_relu", "identity", "silu", "sigmoid"]


def _maybe(r: random.Random, chance: float, into: dict, key: str, values: list) -> None:
    if r.random() < chance:
        into[key] = r.choice(values)


def _random_defaults(r: random.Random) -> dict:
    # 3 vs 3.0 vs an expression, 0.0 vs -0.0, an unread default: what the cache key must tell apart
    # (leaky_relu twice as often: its slope is the float default the blocks read)
    defaults = {"kernel": r.choice([3, 5, 3.0, "${1 + 2}"]), "activation": r.choice(ACTIVATIONS[:5] + ["leaky_relu"]),
                "norm": r.choice(["batch_norm", "batch_norm", "none"])}
    _maybe(r, 0.3, defaults, "batch_norm_eps", [0.001, 1.0e-5, 0.1])
    _maybe(r, 0.6, defaults, "leaky_relu_slope", [0.0, -0.0, 0.01])  # read by the leaky_relu inside blocks
    _maybe(r, 0.2, defaults, "unused", [1])
    _maybe(r, 0.2, defaults, "mult", [2, 3, "${width * 4}"])
    return defaults


def _random_rounding(r: random.Random) -> dict | None:
    if r.random() < 0.4:
        return None
    rounding = {"channels": r.choice(["nearest", "make_divisible", "truncate"])}
    _maybe(r, 0.5, rounding, "divisor", [4, 8, 16])
    _maybe(r, 0.5, rounding, "expansion", ["make_divisible", "round"])
    _maybe(r, 0.3, rounding, "min_depth", [1, 8, 16])
    return rounding


def _random_block_row(r: random.Random, kind: str) -> dict:
    if kind == "bottleneck":
        row = {"block": "bottleneck", "c": r.choice([8, 16, 24, 32, "${c_in}", "${2 * c_in}"]),
               "s": r.choice([1, 1, 2])}
        if r.random() < 0.8:
            row["t"] = r.choice([1, 6, 4, 2.5, 6.0])
        else:
            row["expanded"] = r.choice([16, 48, 72])
        _maybe(r, 0.3, row, "k", [3, 5])
        _maybe(r, 0.3, row, "dilation", [1, 2])
        _maybe(r, 0.2, row, "first_dilation", [1, 2, 4])
        _maybe(r, 0.3, row, "act", ACTIVATIONS[:5])
    elif kind == "squeeze_excite":
        row = {"block": "squeeze_excite"}
        _maybe(r, 0.4, row, "r", [2, 4, 8])
        _maybe(r, 0.4, row, "gate", ["sigmoid", "hardsigmoid"])
        _maybe(r, 0.4, row, "inner", ["relu", "silu"])
        _maybe(r, 0.4, row, "squeeze", [8, 16, "${c_in // 4}"])
    elif kind == "conv_bn_act":
        row = {"block": "conv_bn_act", "c": r.choice([8, 16, 32, 12])}
        # lists, written or made by an expression: each model must get its own
        _maybe(r, 0.4, row, "k", [1, 3, [3, 1], [1, 3], "${[3, 1]}"])
        _maybe(r, 0.3, row, "s", [1, 2, [2, 1]])
        _maybe(r, 0.4, row, "padding", [0, 1, "same", "${[1, 1]}"])
        _maybe(r, 0.2, row, "act", ACTIVATIONS)
        _maybe(r, 0.2, row, "norm", ["batch_norm", "none"])
        _maybe(r, 0.2, row, "dilation", [1, 2])
    elif kind == "dw_separable":
        row = {"block": "dw_separable", "c": r.choice([16, 32, 64]), "s": r.choice([1, 2])}
    elif kind == "dw_bn_act":
        row = {"block": "dw_bn_act"}
        _maybe(r, 0.5, row, "k", [3, 5])
    else:
        row = {"block": "resnet_bottleneck", "c": r.choice([4, 8, 16]), "s": r.choice([1, 2])}
        _maybe(r, 0.3, row, "expansion", [1, 2, 4])
    return row


def _random_row(r: random.Random, defaults: dict) -> dict:
    kind = r.choice(["bottleneck"] * 3 + ["conv_bn_act"] * 2 + ["squeeze_excite", "dw_separable",
                                                                 "resnet_bottleneck", "dw_bn_act", "op"])
    if kind == "op":
        row = {"op": r.choice(["relu", "batch_norm", "conv2d"])}
        if row["op"] == "conv2d":
            row.update(out=16, kernel=1)
        return row
    row = _random_block_row(r, kind)
    _maybe(r, 0.3, row, "n", [2, 3, "${ceil(2 * depth)}", "${max(1, round(3 * depth))}"])  # repeats: in-compile replays
    if "c" in row:
        _maybe(r, 0.2, row, "scale", ["none", "grow_only", "width"])
        if "mult" in defaults:
            _maybe(r, 0.3, row, "c", ["${8 * mult}"])
    _maybe(r, 0.05, row, "when", [True, False, "${width > 0.6}"])
    return row


# a spec's own block of a built-in name: its expansions must never meet the built-in one's
OWN_CONV_BN_ACT = (
    "blocks:\n  conv_bn_act:\n    params: {c: {type: channels}, k: {type: size, default: 1}, "
    "s: {type: size, default: 1, first_only: true}, groups: {default: 1}, dilation: {default: 1}, "
    "padding: {default: same}, act: {default: relu}, norm: {default: batch_norm}}\n"
    "    body:\n      - {name: conv, op: conv2d, out: '${c}', kernel: '${k}', stride: '${s}', "
    "dilation: '${dilation}'}\n")


def _twin_value(value):
    """A value equal to ``value`` (==, same hash) that a caller can still tell apart: what a
    key made of the values alone would confuse."""
    if value.__class__ is float and value == 0.0:
        return -value  # 0.0 <-> -0.0
    if value.__class__ is float and value.is_integer():
        return int(value)
    if value.__class__ is int:
        return float(value)
    return value


def _write_twin(r: random.Random, parent: Path, defaults: dict) -> Path | None:
    """``parent`` with one default changed to its twin value (one only: any other difference
    would set the two specs' expansions apart anyway), or None when none has a twin."""
    twinned = [key for key, value in defaults.items() if repr(_twin_value(value)) != repr(value)]
    zeros = [key for key in twinned if defaults[key] == 0.0]  # preferred: 0.0 and -0.0 even share a type
    if not twinned:
        return None
    key = r.choice(zeros or twinned)
    twin = parent.with_name(f"{parent.stem}_twin.yaml")
    text = parent.read_text().replace(f"defaults: {json.dumps(defaults)}",
                                      f"defaults: {json.dumps({**defaults, key: _twin_value(defaults[key])})}")
    twin.write_text(text.replace(f"name: {parent.stem}", f"name: {twin.stem}"))
    return twin


def _write_random_spec(r: random.Random, folder: Path, name: str) -> list[Path]:
    """A random network (JSON is YAML flow style), and sometimes a twin with equal but distinct
    defaults (-0.0 for 0.0, 3.0 for 3) or a child that extends it with other defaults and rounding."""
    defaults = _random_defaults(r)
    rows = [_random_row(r, defaults) for _ in range(r.randint(1, 6))]
    if r.random() < 0.1:  # a bad row: the error must be the same with and without the cache
        rows.insert(r.randint(0, len(rows)), {"block": "bottleneck", "t": 6, "c": r.choice([-1, 1e20])})
    rows += [{"op": "global_avg_pool"}, {"op": "flatten"}, {"op": "linear", "out": "${classes}", "scale": "none"}]
    lines = [f"name: {name}",
             f"input: {{channels: {r.choice([3, 8, 16])}, resolution: {r.choice([16, 17, 32])}}}",
             f"width: {r.choice([1.0, 1, 0.5, 0.75, 1.4])}", "classes: 10", f"defaults: {json.dumps(defaults)}"]
    rounding = _random_rounding(r)
    if rounding:
        lines.append(f"rounding: {json.dumps(rounding)}")
    if r.random() < 0.15:
        lines.append(OWN_CONV_BN_ACT)
    lines += ["layers:"] + [f"  - {json.dumps(row)}" for row in rows]
    parent = folder / f"{name}.yaml"
    parent.write_text("\n".join(lines) + "\n")
    if r.random() < 0.6 and (twin := _write_twin(r, parent, defaults)):
        return [parent, twin]
    if r.random() >= 0.3:
        return [parent]
    child = folder / f"{name}_child.yaml"
    text = f"name: {name}_child\nextends: {parent.name}\ndefaults: {json.dumps(_random_defaults(r))}\n"
    if r.random() < 0.5:
        text += f"rounding: {json.dumps(_random_rounding(r) or {'channels': 'nearest'})}\n"
    child.write_text(text)
    return [parent, child]


# ------------------------------------------------------------------ the random sequence

def _report(step: int, message: str, load: Load, earlier: list[Load]) -> str:
    """A divergence with its reproducer: the load, and the loads before it (whose kept
    expansions it met: rerunning the seed replays the whole sequence)."""
    before = "".join(f"\n    {s}: {e.path.name} {dict(e.overrides)} {dict(e.env)}"
                     for s, e in enumerate(earlier[:step]) if s >= step - 5)
    return f"step {step}, {message}\n  {load.reproducer()}\n  after the loads (last 5 of {step}):{before}"


def _loadable_shipped_specs() -> list[Path]:
    """Every shipped spec that loads on its own (fragments and bases needing overrides do not).
    All of them: the largest (nasnet_a_mobile, ~900 nodes) compiles in ~15 ms, so no subset is needed."""
    loadable = []
    for path in sorted((ROOT / "specs").rglob("*.yaml")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                load_spec(path)
        except Exception:  # noqa: BLE001 - not a whole network: left out of the pool
            continue
        loadable.append(path)
    return loadable


def _random_overrides(r: random.Random) -> dict:
    overrides = {}
    _maybe(r, 0.6, overrides, "width", [0.35, 0.5, 0.75, 1.0, 1, 1.3, 1.4, 2])
    _maybe(r, 0.5, overrides, "resolution", [32, 64, 96, 128, 160, 192, 224, 225])
    _maybe(r, 0.3, overrides, "depth", [0.5, 1.0, 1, 1.5, 2])
    _maybe(r, 0.2, overrides, "classes", [10, 1000, 1001])
    return overrides


def _random_load(r: random.Random, pools: tuple[list[Path], list[Path]], earlier: list[Load],
                 node_counts: dict) -> Load:
    if earlier and r.random() < REPEAT_SHARE:  # the same spec and settings again: the cache's whole point
        again = r.choice(earlier)
        path, overrides = again.path, again.overrides
        if r.random() < 0.5:  # or its twin, whose expansions must not be confused with its own
            path = _twin_of(path)
    else:
        # shipped or generated alike (only the generated ones have -0.0, lists, a spec's own blocks...)
        path, overrides = r.choice(r.choice(pools)), tuple(sorted(_random_overrides(r).items()))
    env = {}
    if r.random() < 0.25:
        variable = r.choice(list(BUDGETS))
        env[variable] = r.choice(BUDGETS[variable])
    # a node budget right at the size of an earlier load of the same thing: where a replay's
    # own count of its nodes must agree with a fresh compile's
    if (path, overrides) in node_counts and r.random() < 0.15:
        env["ARCHCALC_MAX_IR_NODES"] = str(node_counts[path, overrides] + r.choice([-1, 0, 1, -5]))
    return Load(path, overrides, tuple(sorted(env.items())))


def _set_budgets(monkeypatch, load: Load) -> None:
    for budget in limits.ALL:  # (a budget set outside the test would bias every step alike)
        monkeypatch.delenv(budget.variable, raising=False)
    for variable, value in load.env:
        monkeypatch.setenv(variable, value)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_shared_cache_changes_nothing_a_caller_sees(seed: int, tmp_path: Path, monkeypatch) -> None:
    r = random.Random(seed)
    generated = [path for index in range(GENERATED_SPECS) for path in _write_random_spec(r, tmp_path, f"gen{index}")]
    pools = _loadable_shipped_specs(), generated
    cache, layers = _CountingCache(), _CountingCache()
    monkeypatch.setattr(compiler, "_SHARED", cache)  # (restored after the test, like the budgets)
    monkeypatch.setattr(compiler, "_SHARED_LAYERS", layers)  # (whole layer rows kept: found before _SHARED)
    forget_shared_expansions()  # whatever earlier tests left: this sequence starts from nothing
    earlier: list[Load] = []
    node_counts: dict = {}  # (path, overrides) -> nodes of its last successful load
    divergences: dict[Load, tuple[int, str]] = {}  # the first step and difference of each load
    loaded = 0
    for step in range(STEPS):
        load = _random_load(r, pools, earlier, node_counts)
        earlier.append(load)
        _set_budgets(monkeypatch, load)
        (shared, size), (fresh, _) = _observe(load, "shared"), _observe(load, "fresh")
        if shared != fresh:
            divergences.setdefault(load, (step, f"shared cache vs none: {_first_difference(shared, fresh)}"))
        if r.random() < NOMEMO_SHARE:
            nomemo, _ = _observe(load, "nomemo")
            if nomemo != fresh:
                divergences.setdefault(load, (step, f"in-compile memo vs none: {_first_difference(fresh, nomemo)}"))
        if size is not None:
            loaded += 1
            node_counts[load.path, load.overrides] = size
    if divergences:
        pytest.fail(f"seed {seed}: {len(divergences)} loads diverge; the first ones:\n"
                    + "\n".join(_report(step, message, load, earlier)
                              for load, (step, message) in list(divergences.items())[:3]),
                    pytrace=False)
    # not vacuous: most loads compile, and later ones do replay what earlier ones kept
    replays = cache.hits + layers.hits
    assert loaded >= STEPS // 2, f"only {loaded} of {STEPS} loads compiled"
    assert replays >= STEPS // 4, f"only {replays} expansions or layer rows replayed from an earlier load"
