"""Compile a loaded spec into the graph IR (a networkx DAG of primitive ops).

Passes, each adding to what the previous one produced:

1. order the layer rows (``from`` references may point anywhere; a cycle is an error);
2. expand each row: evaluate its parameters, apply the width rule to channel counts,
   instantiate blocks recursively down to primitive ops;
3. derive every op's output shape from the registry's shape rule as it is added;
4. annotate each node with its cost and parameter records (registry again).

Every error is a :class:`~archcalc.errors.SpecError` naming the spec file, line and path.

Speed (benchmarks/bench_compile.py): what a block definition says is worked out once per
definition (its plan: parameters, body items, the names it reads), not once per copy; a block
expanded again with equal parameters and input shapes is replayed from a record of its first
expansion (renamed, one dict copy per op), and a layer row's built-in block is kept for later
compiles in the process, keyed on everything else it depends on (settings, defaults, rounding,
budgets, the op rules), as are the parameters such a row evaluates to (keyed also on what the
row writes and its input shapes), and each layer row as a whole (written values, input shapes
and that context: ``_SHARED_LAYERS``), so that a later load of a network makes each row from
its record; totals are summed as nodes are added. A layer row's block
that is replayed is not even renamed until the model's nodes are read (``_Compiler.defer``):
counting a network (``archcalc.load(spec).totals()``) makes the ops of its first copies only,
and the Model makes the rest, exactly where an eager compile puts them, on first read. The
symbolic tracer and the recognizer turn the caching off (``memoize = False``).
"""
from __future__ import annotations

import graphlib
import heapq
import itertools
import math
import warnings
from functools import lru_cache, partial
from typing import Any, Callable, Mapping, NamedTuple

from archcalc import limits
from archcalc.allocation import gc_paused
from archcalc.analysis.costs import tally_row
from archcalc.blocks import ITEM_KEYS, ROW_KEYS, BlockDef, ParamDef, builtin_blocks, parse_block_defs
from archcalc.errors import Location, SpecError, SpecWarning, quote
from archcalc.model import BlockInstance, Model
from archcalc.ops import Attr, OpDef, ShapeError, UnknownOpError, all_ops, get_op, get_user_op
from archcalc.ops.base import rules_version
from archcalc.spec.expr import (ExpressionError, compiled_expression, expression_source, names_in, names_used,
                                 parse_generation, parsed_under_budgets)
from archcalc.spec.loader import IDENTIFIER, Spec
from archcalc.spec.yamlio import line_of
from archcalc.width import SCALE_MODES, channel_rule, expansion_rule, make_divisible, truncate_depth

INPUT = "input"
# Names an expression reads to know its input tensor's size (blocks and layer rows alike).
INPUT_SIZE_NAMES = frozenset({"c_in", "h_in", "w_in"})


class _Expansion(NamedTuple):
    """A cached block expansion: the scope writes in order (``(name, None, (node record, input names))``
    for an op, ``(name, target, None)`` for a name standing for a tensor), the block
    instances, and the column sum of its nodes' tally rows (None for no ops). Names are
    suffixes of the instance's scope, or ints: the index of one of the block's inputs."""

    events: list
    instances: list
    total: tuple | None
    used: frozenset  # the block types expanded (for the unread-defaults warning of a compile replaying it)
    size: int  # the ops it adds (its events also hold the names standing for tensors, which add no node)
    # for a replay put off until the model's nodes are read (see _Compiler.defer):
    output: str | int  # what the block's scope names (the last scope write): its output
    output_shape: tuple | None  # that op's shape (None when the output is one of the block's inputs)
    closed: bool  # every op it adds is read, through the block, by its output
    reads: tuple  # the inputs (their index) its ops read


# Expansions of built-in blocks, kept for the later compiles of this process: a pure function
# of the key (shared_key), like a cache of parsed expressions. Bounded: the oldest half goes.
_SHARED: dict[tuple, _Expansion] = {}
_SHARED_LIMIT = 4096
# A built-in block row's parameters, kept the same way: (context, block, scale, written values,
# input shapes) -> {(a later repeat, the repeat's input shape): (parameters, expansion key)}.
_SHARED_ROWS: dict[tuple, dict] = {}
# the budgets a block expansion checks (the node budget is checked again by every replay)
_EXPANSION_BUDGETS = (limits.DIMENSION, limits.VALUE_ITEMS, limits.INT_BITS, limits.NESTING, limits.EXPRESSION_CHARS)


# What the kept expansions also depend on, one number each: (settings, rounding, functions, budgets, op rules) -> number.
_CONTEXTS: dict[tuple, int] = {}
_CONTEXT_NUMBERS = itertools.count()


def _share(kept: dict, key: tuple, value: Any) -> Any:
    """Keep ``value`` under ``key`` in ``kept`` (_SHARED or _SHARED_ROWS) for later compiles;
    the oldest half goes when it is full."""
    if len(kept) >= _SHARED_LIMIT:
        for stale in list(kept)[:_SHARED_LIMIT // 2]:
            del kept[stale]
    kept[key] = value
    return value


def _context_number(context: tuple) -> int:
    """A number for ``context``, the same for equal ones (hashed once per compile, not per lookup)."""
    number = _CONTEXTS.get(context)
    if number is None:
        if len(_CONTEXTS) >= 256:
            forget_shared_expansions()
        number = _CONTEXTS[context] = next(_CONTEXT_NUMBERS)
    return number


def _op_rules() -> tuple:
    """The op rules an expansion ran, as a key: the registry's ops, and a number that changes
    with any change to an op class or op (archcalc.ops.base.rules_version: a test patching
    Conv2d.cost, a notebook redefining a rule). A changed rule must not meet a kept expansion."""
    return rules_version(), tuple(all_ops().items())


def forget_shared_expansions() -> None:
    """Empty the expansions kept between compiles, so that the next compile expands every
    block from its definition (benchmarks/bench_compile.py measures such a first load)."""
    _SHARED.clear()
    _SHARED_ROWS.clear()
    _SHARED_LAYERS.clear()
    _CONTEXTS.clear()


class _RowPlan(NamedTuple):
    """A built-in block row as an earlier compile made it, kept in its row memo (under
    ``(_ROW_PLAN, repeat count)``): its repeats as runs of ``[expansion key, expansion, how
    many repeats in a row]`` (a chain of 10,000 repeats is two runs: the first, and the rest
    at its output shape), their op count and the block types they expand."""

    steps: list
    size: int
    used: frozenset


_ROW_PLAN = object()  # (a key no (later repeat, input shape) memo key can equal)

# Layer rows as earlier compiles made them: layer_key -> (what the row made, the names its
# expressions read), what it made being (_REMOVED,), (_OP, kind, attrs, shape, cost, params,
# tally row) or (_BLOCK, block, repeat count, _RowPlan). A pure function of the key, like
# _SHARED; bounded the same way.
_SHARED_LAYERS: dict[tuple, tuple] = {}
_REMOVED, _OP, _BLOCK = "removed", "op", "block"
# A row reading more tensors than this is a join (a concat of K branches): keying it costs
# as much as compiling it, and a join is seldom written twice alike; it is not kept.
_JOIN = 16


class _NotRelative(Exception):
    """A name made while expanding a block lies outside the block's scope."""


class _UsedTwice(Exception):
    """A replay would make an op under a name already taken (the name is its argument)."""


_PLAIN = frozenset({int, float, str, bool, type(None)})
_WHOLE_PARAM_TYPES = frozenset({"int", "channels", "size"})  # block parameter types that take whole numbers


def _frozen(value: Any) -> Any:
    """``value`` as a hashable key that also tells 1, 1.0 and True apart, or None when it
    holds anything but plain literals (a traced number, say)."""
    kind = value.__class__
    if kind in _PLAIN:
        if kind is float and value == 0.0:  # -0.0 == 0.0 (and hashes alike), yet is kept as written
            return kind, value, math.copysign(1.0, value)
        return kind, value
    if kind is tuple or kind is list:
        items = [_frozen(item) for item in value]
        return None if None in items else (kind, tuple(items))
    return None


def _shape_key(shape: Any) -> Any:
    """A shape as a key: itself when it holds ints only (as every shape of a compile does: no
    _frozen pair is a tuple of ints, so the two never meet), else :func:`_frozen`."""
    if shape.__class__ is tuple and all(dim.__class__ is int for dim in shape):
        return shape
    return _frozen(shape)


def _holds_list(params: dict) -> bool:
    return any(value.__class__ is list for value in params.values())


def _params_copy(params: dict) -> dict:
    """A block instance's parameters, with any list in them copied (a replay hands out its own)."""
    copied = dict(params)
    for key, value in copied.items():
        if value.__class__ is list:
            import copy  # rare (a list-valued parameter): not worth importing for every compile

            copied[key] = copy.deepcopy(value)
    return copied


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def expression_functions(rounding: Mapping[str, Any]) -> dict[str, Callable[..., Any]]:
    """The functions a spec expression may call (``expand`` follows the spec's rounding).
    docs/spec-language.md documents each; tests/test_docs.py checks that it does."""
    return {
        "make_divisible": make_divisible,
        "truncate_depth": truncate_depth,
        "expand": expansion_rule(rounding),
        # round() in a spec rounds halves up (as channel arithmetic expects, and as the
        # symbolic replay does), not to even as Python's round does
        "min": min, "max": max, "int": int, "round": _round_half_up, "abs": abs,
        "ceil": math.ceil, "floor": math.floor,
    }


class _Compiler:
    # Values are plain numbers: a block expanded again with equal parameters and input shapes
    # gives the same ops, so its expansion is cached and replayed under the new name, and the
    # totals are summed as nodes are added. The symbolic tracer (whose numbers carry recipes
    # that equal plain numbers compare equal to) turns this off.
    memoize = True
    # With memoize: an expansion of a built-in block is also kept for later compiles in this
    # process (_SHARED), keyed on everything it depends on besides its parameters and input
    # shapes (see shared_key). False here (or memoize False) keeps every compile to itself.
    share = True

    def __init__(self, spec: Spec):
        self.spec = spec
        data = spec.data
        rounding = data.get("rounding", {})
        self.channel_rule_name, self.channel_rule, self.rule_kwargs = channel_rule(rounding)
        self.functions = expression_functions(rounding)
        self.width = spec.width
        self.globals: dict[str, Any] = {"width": self.width, "resolution": spec.resolution, "classes": spec.classes,
                                        "depth": spec.depth}
        # error context: the layer row being compiled and the block trail inside it
        self.row_where: Location | None = None
        self.used_blocks: set[str] = set()
        self.trail: list[tuple[str, int, Location]] = []  # (block, body index, item location)
        # defaults may be expressions of the settings and of the defaults written before them
        for key, raw in data.get("defaults", {}).items():
            self.globals[key] = self.value(raw, self.globals, partial(spec.where, "defaults", key, f"defaults.{key}"))
        self.blocks: dict[str, BlockDef] = dict(builtin_blocks())
        if "blocks" in data:
            self.blocks.update(parse_block_defs(data["blocks"], spec.files.get("blocks", spec.path)))
        # Nodes in creation order (which is a topological order). Model.graph turns them into
        # the networkx DiGraph on first use: importing networkx costs ~0.2 s, most of the
        # cold-start budget of `archcalc cost`, which needs only these dicts.
        self.nodes: dict[str, dict] = {}
        self.order: list[str] = []
        self.scopes: dict[str, str] = {}  # every name a `from` may use -> node producing it
        self.removed: set[str] = set()  # layer rows removed by `when`
        self.instances: list[BlockInstance] = []
        # Every write to `scopes` made while expanding blocks, in order ((name, None) for a
        # node): a cached expansion replays this log under another instance's name.
        self.scope_log: list[tuple[str, str | None]] = []
        # One row per node (cost fields, param fields, output numel), or one per replayed
        # block (its nodes' sum): Model.totals() is the column sum, taken once at the end.
        self.tally: list[tuple] = []
        # Replays of a layer row's block put off until the model's nodes are read (see defer):
        # (where they lie in order, instances and scope_log; the expansion; scope; inputs; origin)
        self.deferred: list[tuple] = []
        self.deferred_outputs: dict[str, tuple] = {}  # their output ops -> shape (what later rows read)
        self.deferred_size = 0  # the ops they will add
        self.layer_names: set[str] = set()  # every name the layer rows' expressions read (compile_row)
        self.expansions: dict[tuple, Any] = {}  # key -> _Expansion, or where it lies in the logs, or False
        self.names_set: tuple[list, frozenset] | None = None
        self.param_checks: dict[int, tuple[ParamDef, dict]] = {}  # see param_fits
        self.shared_context: int | bool | None = None  # see shared_key; None: not worked out yet
        self.built_in: dict[str, bool] = {}  # see built_in_throughout
        self.row_locations: dict[tuple, Location] = {}  # see row_location

    # ------------------------------------------------------------------ errors
    def fail(self, message: str, where: Location | Callable[[], Location] | None = None, node: str | None = None):
        # Inside a block the error is placed at the layer row that instantiated it (the user's
        # spec); the trail then names the block item, with its own file and line. ``where`` may
        # be a function giving the Location: most values never fail, so their place in the
        # spec is worked out only when one does (everywhere a Location is taken).
        where = self.row_where if (self.trail or where is None) else where() if callable(where) else where
        context = ""
        if node or self.trail:
            context = (node or "") + (f" ({self.trail_text()})" if self.trail else "")
            context = context.strip() + ": "
        raise SpecError(where, context + message)

    def trail_text(self) -> str:
        """The blocks being expanded, formatted only when an error needs them."""
        return " > ".join(f"{name}.body[{index}] at {where.file}:{where.line}" for name, index, where in self.trail)

    def row_key_where(self, row: dict, index: int, key: str) -> Location:
        base = self.row_where
        return Location(base.file, line_of(row, key), f"{base.path}.{key}")

    # ------------------------------------------------------------------ values
    # A whole float becomes an int (``${c_in / 2}`` -> 32). A method, so that the symbolic
    # tracer (analysis/symbolic.py) can keep its recipe through the conversion.
    integral = staticmethod(_integral)

    def value(self, raw: Any, env: Mapping[str, Any], where: Location | None = None,
              explain: Callable[[str, ExpressionError], str] | None = None, node: str | None = None) -> Any:
        """``raw`` itself, or the value of the expression it holds; ``explain(source, error)``
        may word a failed expression for its context."""
        if raw.__class__ is not str:  # the common case: a number written as is
            return raw
        try:
            compute = compiled_expression(raw)
            return raw if compute is None else self.integral(compute(env, self.functions))
        except ExpressionError as exc:
            source = expression_source(raw)
            self.fail(explain(source, exc) if explain else f"in expression {quote(raw)}: {exc}", where, node)

    @staticmethod
    def input_size(shape: tuple) -> dict[str, Any]:
        """``c_in``, ``h_in``, ``w_in``: the channels and size of a block's or a row's input."""
        return {"c_in": shape[0], "h_in": shape[1] if len(shape) == 3 else 1,
                "w_in": shape[2] if len(shape) == 3 else 1}

    def structural_int(self, value: Any) -> int:
        """A number that decides the graph's shape (a repeat count), as a plain int. (The
        symbolic tracer records it as a decision, so a sweep retraces where it changes.)"""
        return int(value)

    def condition(self, raw: Any, env: Mapping[str, Any], where: Location, node: str) -> bool:
        """A `when:` value must be a boolean (a quoted "false" is a non-empty string, not false)."""
        value = self.value(raw, env, where)
        if not isinstance(value, bool):
            self.fail(f"when: expected true or false (or an expression giving one), got {value!r}", where, node)
        return value

    def scaled(self, value: Any, mode: str, where: Location) -> Any:
        """Apply the width multiplier and the spec's channel-rounding rule."""
        if mode == "none" or isinstance(value, bool) or not isinstance(value, (int, float)):
            return value
        factor = SCALE_MODES[mode](self.width)
        try:
            scaled = self.channel_rule(value * factor, **self.rule_kwargs)
        except (ValueError, OverflowError) as exc:
            self.fail(f"cannot scale the channel count {quote(value)} by the width: {exc}", where)
        self.within(limits.DIMENSION, scaled, "channel count after the width rule", where, None)
        return scaled

    # ------------------------------------------------------------------ graph
    def add_node(self, name: str, op: OpDef, attrs: dict, inputs: list[str], where: Location) -> str:
        if name in self.nodes:
            self.fail(f"name {name!r} is used twice", where)
        if self.node_count() >= limits.IR_NODES.value:
            self.within(limits.IR_NODES, self.node_count() + 1, "IR nodes", where, name)
        count = len(inputs)
        if count < op.min_inputs or (op.max_inputs is not None and count > op.max_inputs):
            wanted = op.min_inputs if op.max_inputs == op.min_inputs else f"{op.min_inputs} or more"
            self.fail(f"{op.kind} takes {wanted} input(s), got {count} ({', '.join(inputs) or 'none'})", where, name)
        in_shapes = [self.shape(i) for i in inputs]
        try:
            shape = op.shape(attrs, in_shapes)
        except ShapeError as exc:
            self.fail(str(exc), where, name)
        except (TypeError, OverflowError, ValueError, ZeroDivisionError) as exc:  # a value no shape rule expects
            self.fail(f"{op.kind}: cannot derive the output shape ({type(exc).__name__}: {exc})", where, name)
        largest = limits.DIMENSION.value
        for dim in shape:
            try:
                over = dim > largest
            except TypeError:  # not a number: the shape rules report those
                over = False
            if over:
                self.within(limits.DIMENSION, dim, f"output dimension of {op.kind}", where, name)
        shape = tuple(shape)
        cost, params = op.cost(attrs, in_shapes, shape), op.params(attrs, in_shapes, shape)
        self.nodes[name] = dict(
            op=op.kind, attrs=attrs, inputs=list(inputs), in_shapes=in_shapes, shape=shape,
            origin=self.row_where or where, cost=cost, params=params,
        )
        self.order.append(name)
        self.scopes[name] = name
        self.scope_log.append((name, None))
        if self.memoize and op.kind != INPUT:
            self.tally.append(tally_row(cost, params, shape))
        return name

    def node_count(self) -> int:
        """The ops made so far, those of put-off replays included."""
        return len(self.nodes) + self.deferred_size

    def shape(self, name: str) -> tuple:
        """The output shape of op ``name``, made or put off (see defer)."""
        data = self.nodes.get(name)
        if data is not None:
            return data["shape"]
        shape = self.deferred_outputs.get(name)
        return shape if shape is not None else self.deferred_lookup(name)[1]

    def within(self, budget: limits.Budget, amount: Any, what: str, where: Location | None, node: str | None) -> None:
        try:
            limits.check(budget, amount, what)
        except limits.LimitExceeded as exc:
            self.fail(str(exc), where, node)
        except TypeError:  # not a number: the shape rules report those
            pass

    def op_attrs(self, op: OpDef, raw: Mapping[str, Any], env: Mapping[str, Any], scale_mode: str | None,
                 where_of: Callable[[str], Location], node: str) -> dict:
        for key in raw:
            if key not in op.attrs:
                expected = ", ".join(op.attrs) or "none"
                self.fail(f"unknown attribute {key!r} for op {op.kind} (expected: {expected})", where_of(key), node)
        attrs = {}
        for key, schema, wants_int, seen in _attr_plan(op):
            if key in raw:
                value = raw[key]
                if value.__class__ is str:  # (where_of makes a Location: only for what may fail)
                    value = self.value(value, env, partial(where_of, key))
                if schema.channels and scale_mode is not None and not _reads_input_size(raw[key]):
                    self.check_before_scaling(op.kind, key, schema.check(value), value, partial(where_of, key), node)
                    value = self.scaled(value, scale_mode, partial(where_of, key))
            elif schema.required:
                self.fail(f"op {op.kind} needs attribute {key!r} ({schema.describe()})", where_of(key), node)
            else:  # a spec-wide default `<kind>_<attr>` (e.g. batch_norm_eps) overrides the op's own
                value = self.globals.get(f"{op.kind}_{key}", schema.default)
            if schema.pair and isinstance(value, (list, tuple)):  # [h, w]
                value = [self.integral(v) if wants_int else v for v in value]
            elif wants_int:
                value = self.integral(value)
            kind = value.__class__
            if kind is not int and kind is not str and kind is not bool and not _finite(value):
                self.fail(f"{op.kind}.{key}: expected a finite number, got {quote(value)}", where_of(key), node)
            problem = _remembered(schema.check, seen, kind, value) if kind in _PLAIN else schema.check(value)
            if problem:
                self.fail(f"{op.kind}.{key}: expected {problem}, got {value!r}{_yaml_number_hint(value)}", where_of(key),
                          node)
            attrs[key] = tuple(value) if isinstance(value, list) else value
        return attrs

    def check_before_scaling(self, owner: str, key: str, problem: str | None, value: Any, where: Location,
                             node: str) -> None:
        """A channel count is checked as written: rounding must not turn -1 into 1."""
        if problem:
            self.fail(f"{owner}.{key}: expected {problem}, got {quote(value)}", where, node)
        self.within(limits.DIMENSION, value, f"{owner}.{key}", where, node)

    def block_params(self, block: BlockDef, raw: Mapping[str, Any], env: Mapping[str, Any], scale_mode: str | None,
                     where_of: Callable[[str], Location], node: str, repeat: int, in_shape: tuple) -> dict:
        for key in raw:
            if key not in block.params:
                expected = ", ".join(block.params) or "none"
                self.fail(f"unknown parameter {key!r} for block {block.name} (expected: {expected})", where_of(key), node)
        values: dict[str, Any] = {}
        # what a default may read: the settings, the input's size and the parameters before it
        defaults_env: dict[str, Any] | None = None
        for key, param, unless, required, whole, default_is_expression in _block_plan(block).params:
            if unless is not None and key in raw and unless in raw:
                self.fail(f"block {block.name}: give {key} or {unless}, not both", where_of(key), node)
            if required and unless is not None and key not in raw and unless in raw:
                values[key] = None  # left out in favour of the other parameter; expressions may test `t == None`
                if defaults_env is not None:
                    defaults_env[key] = None
                continue
            if key in raw and not (param.first_only and repeat > 0):
                value = raw[key]
                if value.__class__ is str:  # (where_of makes a Location: only for what may fail)
                    value = self.value(value, env, partial(where_of, key))
                if param.type == "channels" and scale_mode is not None and not _reads_input_size(raw[key]):
                    problem = None if param.check(value) else param.expected()
                    self.check_before_scaling(block.name, key, problem, value, partial(where_of, key), node)
                    value = self.scaled(value, scale_mode, partial(where_of, key))
            elif not required:
                if defaults_env is None:
                    defaults_env = {**self.globals, **self.input_size(in_shape), **values}
                value = param.default
                if default_is_expression:
                    value = self.param_default(block, key, value, defaults_env, partial(where_of, key), node)
            else:
                instead = f" or {unless!r}" if unless else ""
                self.fail(f"block {block.name} needs parameter {key!r} ({param.expected()}){instead}", where_of(key), node)
            if whole:
                value = list(map(self.integral, value)) if isinstance(value, (list, tuple)) else self.integral(value)
            kind = value.__class__
            if kind is not int and kind is not str and kind is not bool and not _finite(value):
                self.fail(f"{block.name}.{key}: expected a finite number, got {quote(value)}", where_of(key), node)
            if not (self.param_fits(param, kind, value) if kind in _PLAIN else param.check(value)):
                self.fail(f"{block.name}.{key}: expected {param.expected()}, got {value!r}{_yaml_number_hint(value)}",
                          where_of(key), node)
            values[key] = value = tuple(value) if param.type == "size" and isinstance(value, list) else value
            if defaults_env is not None:
                defaults_env[key] = value
        return values

    def param_fits(self, param: ParamDef, kind: type, value: Any) -> bool:
        """``param.check(value)`` for a plain scalar, remembered by this compiler (the same
        strides and kernel sizes are checked for every block copy; the entry holds the
        ParamDef, so that its id cannot name another one)."""
        entry = self.param_checks.get(id(param))
        if entry is None:
            entry = self.param_checks[id(param)] = param, {}
        return _remembered(param.check, entry[1], kind, value)

    def param_default(self, block: BlockDef, key: str, default: Any, env: Mapping[str, Any], where: Location,
                      node: str) -> Any:
        """A block parameter's default; one that reads a setting the spec does not define
        says which block default reads which name, and what to write instead."""

        def explain(source: str, exc: ExpressionError) -> str:
            try:
                missing = sorted(names_used(source) - set(env))
            except ExpressionError:  # (over a budget, say: exc says so)
                missing = []
            if not missing:
                return f"block {block.name}'s default for {key}, {default!r}: {exc}"
            name = missing[0]
            return (f"block {block.name}'s default for {key} is {default!r}, which reads {name!r}, and the spec "
                    f"has no defaults.{name}: set it under `defaults:` (e.g. `defaults: {{{name}: ...}}`) "
                    f"or give {key} where {block.name} is used")

        return self.value(default, env, where, explain, node)

    def op_for(self, raw_kind: Any, env: Mapping[str, Any], where: Location, node: str) -> OpDef:
        kind = self.value(raw_kind, env, where)
        try:
            return get_user_op(kind)
        except UnknownOpError as exc:
            self.fail(str(exc), where, node)
        except TypeError:
            self.fail(f"expected an op name, got {kind!r}", where, node)

    def block_for(self, name: Any, where: Location, node: str) -> BlockDef:
        if not isinstance(name, str) or name not in self.blocks:
            self.fail(f"unknown block {quote(name)} (known blocks: {', '.join(sorted(self.blocks))})", where, node)
        self.used_blocks.add(name)
        return self.blocks[name]

    # ------------------------------------------------------------------ blocks
    def expand_block(self, block: BlockDef, params: dict, scope: str, input_nodes: list[str], nesting: int,
                     key: tuple | None = None) -> str:
        """Instantiate ``block`` as ``scope``; returns its output node. A block already
        expanded with equal parameters and input shapes is replayed from the cache (a
        lookup and one dict per op, not a re-evaluation of every expression). ``key``: the
        :meth:`expansion_key`, when the caller already has it."""
        if key is None and self.memoize:
            key = self.expansion_key(block, params, input_nodes, nesting)
        cached = self.expansions.get(key) if key is not None else None
        shared = None
        if cached is None and key is not None and nesting == 0:  # a layer row's block: its nested ones come with it
            shared = self.shared_key(block, key)
            if shared is not None:
                cached = _SHARED.get(shared)
                if cached is not None:  # expanded by an earlier compile
                    self.expansions[key] = cached
                    self.used_blocks.update(cached.used)
        if cached.__class__ is tuple:  # seen once: record it now (most blocks of a network are never repeated)
            cached = self.remember(key, cached)
        if cached and self.node_count() + cached.size <= limits.IR_NODES.value:
            if nesting == 0:  # a layer row's block: its ops are made when the model's nodes are read
                return self.defer(cached, scope, input_nodes)
            return self.replay(cached, scope, input_nodes)
        # (a kept expansion over the node budget is expanded afresh: add_node then fails at the
        # very node, with the very message, a compile without any cache fails at)
        marks = len(self.scope_log), len(self.instances), len(self.tally)
        output = self.expand_fresh(block, dict(params), scope, input_nodes, nesting)  # (its instance keeps a copy)
        if key is not None and cached is None:
            # the logs are append-only: where this expansion lies in them is enough to record it later
            found = self.expansions[key] = (scope, list(input_nodes), marks, (len(self.scope_log), len(self.instances),
                                                                               len(self.tally)))
            if shared is not None:  # record it now, for the compiles to come
                self.remember(key, found, shared)
        return output

    def remember(self, key: tuple, found: tuple, shared: tuple | None = None) -> "_Expansion | bool":
        """Record the expansion logged at ``found`` under ``key`` (and, with ``shared``, for
        later compiles); False when it cannot be replayed by renaming (an op named outside the
        block's scope)."""
        try:
            expansion = self.record(*found)
        except _NotRelative:
            expansion = False
        else:
            if shared is not None:
                _share(_SHARED, shared, expansion)
        self.expansions[key] = expansion
        return expansion

    def shared_key(self, block: BlockDef, key: tuple) -> tuple | None:
        """``key`` with what else the expansion depends on across compiles (the settings and
        defaults, the rounding rules and expression functions, the budgets an expansion checks,
        the op rules: see sharing_context), or None when it is not
        shared: sharing is on (:attr:`share`), and the block and every block it may use are the
        built-in definitions (a spec's own blocks are read anew per load, and may replace a
        built-in one)."""
        context = self.context()
        if context is None or not self.built_in_throughout(block.name):
            return None
        return context, key

    def context(self) -> int | None:
        """The sharing_context of this compile, worked out once (None: nothing is shared)."""
        if not self.share:
            return None
        if self.shared_context is None:
            context = self.sharing_context()
            self.shared_context = False if context is None else context  # (0 is a context number)
        return None if self.shared_context is False else self.shared_context

    def sharing_context(self) -> int | None:
        """A number standing for the settings, rounding, expression functions, budgets and op
        rules of this compile (None: something in them is not a plain value; then nothing is
        shared)."""
        settings = tuple((name, _frozen(value)) for name, value in self.globals.items())
        rounding = tuple((name, _frozen(value)) for name, value in self.spec.data.get("rounding", {}).items())
        if any(frozen is None for _, frozen in (*settings, *rounding)):
            return None
        try:
            budgets = tuple(budget.value for budget in _EXPANSION_BUDGETS)
        except ValueError:  # a malformed ARCHCALC_MAX_*: reported where that budget is checked
            return None
        try:
            return _context_number((settings, rounding, tuple(self.functions.items()), budgets, _op_rules()))
        except TypeError:  # an op with an unhashable attribute of its own: not shared
            return None

    def built_in_throughout(self, name: str) -> bool:
        """Whether block ``name`` and every block its body may use are the built-in definitions."""
        known = self.built_in.get(name)
        if known is None:
            builtin, stack, seen, known = builtin_blocks(), [name], set(), True
            while stack and known:
                current = stack.pop()
                if current in seen:
                    continue
                seen.add(current)
                block = self.blocks.get(current)
                known = block is not None and builtin.get(current) is block
                stack.extend(item["block"] for item in getattr(block, "body", ()) if "block" in item)
            self.built_in[name] = known
        return known

    def expansion_key(self, block: BlockDef, params: dict, input_nodes: list[str], nesting: int) -> tuple | None:
        """What an expansion depends on (the globals are fixed for one compile), or None when
        a value is not a plain literal (then it is not cached)."""
        key = [block.name, nesting]
        for name, value in params.items():
            key += name, _frozen(value)
        for node in input_nodes:
            key.append(_shape_key(self.shape(node)))
        return None if None in key else tuple(key)

    def record(self, scope: str, input_nodes: list[str], marks: tuple[int, int, int],
               ends: tuple[int, int, int]) -> "_Expansion":
        """The expansion made between ``marks`` and ``ends`` in the logs, with names relative
        to ``scope`` (a str suffix) and the block's inputs as their index (an int)."""
        (log_mark, instance_mark, tally_mark), (log_end, instance_end, tally_end) = marks, ends
        where = {node: index for index, node in enumerate(input_nodes)}

        def ref(name: str) -> str | int:
            if name in where:
                return where[name]
            if not name.startswith(scope):
                raise _NotRelative(name)
            return name[len(scope):]

        events = []
        for name, target in self.scope_log[log_mark:log_end]:
            if target is None:  # the node's record, less what a replay fills in (its inputs, its origin);
                data = self.nodes[name]  # copied: the model handed out may be changed by its owner
                attrs, in_shapes = data["attrs"].copy(), data["in_shapes"].copy()
                events.append((ref(name), None, ({**data, "attrs": attrs, "inputs": None, "in_shapes": in_shapes,
                                                  "origin": None}, attrs, in_shapes, [ref(i) for i in data["inputs"]])))
            else:
                events.append((ref(name), ref(target), None))
        # (a list parameter, made by an expression, is copied: the model handed out may be changed by its owner;
        # a replay copies each instance's parameters with the function kept here)
        instances = [(ref(i.name), i.type, _params_copy(i.params), _params_copy if _holds_list(i.params) else dict.copy,
                      ref(i.input), ref(i.output), i.input_shape, i.output_shape, i.nesting)
                     for i in self.instances[instance_mark:instance_end]]
        if any(instance[0].__class__ is not str for instance in instances):  # (a replay writes scope + name)
            raise _NotRelative(scope)
        rows = self.tally[tally_mark:tally_end]
        total = tuple(map(sum, zip(*rows))) if rows else None
        output = events[-1][1]  # (expand_fresh writes the block's own scope last)
        shapes = {ref: node[0]["shape"] for ref, target, node in events if target is None}
        closed, reads = _reach_within(events, output)
        return _Expansion(events, instances, total, frozenset(instance[1] for instance in instances), len(shapes),
                          output, shapes.get(output), closed, reads)

    def replay_row(self, plan: "_RowPlan", name: str, repeats: int | None, sources: list[str]) -> str:
        """A layer row whose every repeat an earlier compile expanded or replayed, as
        row_params_memo keeps it: each repeat replayed (put off) under its own name, chained as
        the loop of compile_row chains them, with no parameter or key worked out again."""
        current, others = sources[0], sources[1:]
        expansions, defer = self.expansions, self.defer
        repeat = 0
        for key, known, count in plan.steps:
            expansions[key] = known
            for repeat in range(repeat + 1, repeat + count + 1):
                current = defer(known, f"{name}.block{repeat}" if repeats is not None else name, [current, *others])
        self.used_blocks.update(plan.used)
        return current

    def replay_known(self, known: "_Expansion", key: tuple, scope: str, input_nodes: list[str]) -> str:
        """A layer row's block whose expansion its row memo kept (row_params_memo): what
        expand_block does with one found in _SHARED, without looking it up again."""
        self.expansions[key] = known
        self.used_blocks.update(known.used)
        return self.defer(known, scope, input_nodes)

    def replay(self, cached: "_Expansion", scope: str, input_nodes: list[str]) -> str:
        # (the node budget: expand_block replays only what fits under it)
        if cached.total is not None:
            self.tally.append(cached.total)
        try:
            return _replay_into(cached, scope, input_nodes, self.row_where, self.nodes, self.order, self.scopes,
                                self.scope_log, self.instances)
        except _UsedTwice as exc:
            self.fail(f"name {exc.args[0]!r} is used twice", self.row_where)

    def defer(self, cached: "_Expansion", scope: str, input_nodes: list[str]) -> str:
        """Replay ``cached`` later: its ops, names and block instances are made when the
        model's nodes are first read (_materialized), where a replay made now would have put
        them. What compiling the rows after it needs is known now: the total (tallied), the
        output op and its shape, the op count (budgets); a later row naming an op or scope
        inside it finds it through deferred_lookup. A count of the network (``archcalc.load(spec).totals()``)
        then makes no op of a repeated block: the repeat is the lookup of its record."""
        if cached.total is not None:
            self.tally.append(cached.total)
        output = cached.output
        if output.__class__ is str:
            output = scope + output
            self.deferred_outputs[output] = cached.output_shape
        else:
            output = input_nodes[output]
        self.deferred.append((len(self.order), len(self.instances), len(self.scope_log), cached, scope,
                              list(input_nodes), self.row_where))
        self.deferred_size += cached.size
        return output

    def deferred_lookup(self, name: str) -> tuple[str, tuple]:
        """(the op ``name`` stands for, its shape) when ``name`` lies inside a put-off replay
        (a later row reading ``stage3.block1.expand``); KeyError when it names nothing."""
        for _, _, _, cached, scope, input_nodes, _ in reversed(self.deferred):
            if name == scope or name.startswith(scope + "."):
                found = _scope_refs(cached).get(name[len(scope):])
                if found is not None:
                    target, shape = found
                    if target.__class__ is int:
                        return input_nodes[target], self.shape(input_nodes[target])
                    return scope + target, shape
        raise KeyError(name)

    def resolve(self, name: str) -> str | None:
        """The op a ``from`` name stands for (made or put off), or None."""
        found = self.scopes.get(name)
        if found is None and self.deferred:
            try:
                found = self.deferred_lookup(name)[0]
            except KeyError:
                pass
        return found

    def materialize(self) -> None:
        """Make every put-off replay now, in program order (before an error lists names)."""
        if self.deferred:
            self.nodes, self.order, self.scopes, self.instances, self.scope_log = _materialized(
                self.nodes, self.order, self.instances, self.scope_log, self.deferred)
            self.deferred, self.deferred_outputs, self.deferred_size = [], {}, 0

    def expand_fresh(self, block: BlockDef, params: dict, scope: str, input_nodes: list[str], nesting: int) -> str:
        if any(entry[0] == block.name for entry in self.trail):
            self.fail(f"block {block.name!r} contains itself ({self.trail_text()} > {block.name})")
        plan = _block_plan(block)
        nodes, scopes, trail = self.nodes, self.scopes, self.trail
        input_node = input_nodes[0]
        in_shape = self.shape(input_node)
        env: dict[str, Any] = {**self.globals, **params}
        for size_names, node in zip(plan.input_size_names, input_nodes):  # c_in for the main input, c_prev for `prev`
            env.update(zip(size_names, self.input_size(self.shape(node)).values()))
        for name, raw in block.let:
            env[name] = self.value(raw, env, block.location)
        local = dict(zip(block.inputs, input_nodes))
        removed: set[str] = set()
        previous = input_node
        for item, name, where, trail_entry, raw, here in plan.items:
            trail.append(trail_entry)
            full = f"{scope}.{name}"
            sources = ([previous] if "from" not in item
                       else self.local_inputs(item, local, removed, previous, block, full, env, where))
            if "when" in item and not self.condition(item["when"], env, where, full):
                removed.add(name)
                if sources:  # a removed item stands for its (first) input
                    local[name] = sources[0]
                    if full not in scopes:
                        scopes[full] = sources[0]
                        self.scope_log.append((full, sources[0]))
            else:
                if "op" in item:
                    op = self.op_for(item["op"], env, where, full)
                    attrs = self.op_attrs(op, raw, env, None, here, full)
                    output = self.add_node(full, op, attrs, sources, where)
                else:
                    sub = self.block_for(item["block"], where, full)
                    self.check_block_inputs(sub, sources, where, full)
                    sub_params = self.block_params(sub, raw, env, None, here, full, 0, self.shape(sources[0]))
                    output = self.expand_block(sub, sub_params, full, sources, nesting + 1)
                local[name] = output
                previous = output
            trail.pop()
        output = local[block.output] if block.output else previous
        scopes[scope] = output
        self.scope_log.append((scope, output))  # last: a replay returns the last scope it writes
        self.instances.append(BlockInstance(
            name=scope, type=block.name, params=params, input=input_node, output=output,
            input_shape=in_shape, output_shape=self.shape(output), nesting=nesting,
        ))
        return output

    def local_inputs(self, item: dict, local: dict, removed: set[str], previous: str, block: BlockDef,
                     node: str, env: Mapping[str, Any], where: Location) -> list[str]:
        raw = item.get("from")
        if raw is None:
            return [previous]
        refs = self.value(raw, env, where)  # a name, a list of names, or an expression giving one
        via = _via(raw)
        refs = [refs] if isinstance(refs, str) else refs
        if not isinstance(refs, list) or not refs or not all(isinstance(r, str) for r in refs):
            self.fail(f"from: expected an item name or a list of them, got {refs!r}{via}", node=node)
        names = [_strip_optional(r) for r in refs]
        missing = [r for r in names if r not in local]
        if missing:
            self.fail(
                f"reads {missing[0]!r}{via}, which is not an earlier item of block {block.name} "
                f"(available: {', '.join(local)})", node=node,
            )
        return [local[name] for ref, name in zip(refs, names) if not (ref.endswith("?") and name in removed)]

    # ------------------------------------------------------------------ rows
    def row_location(self, rows: list, index: int, suffix: str = "") -> Location:
        """Where layer row ``index`` was written: its own file when it came in by ``include``."""
        key = id(rows), index, suffix  # asked for each row three times (rows: the spec's, alive throughout)
        found = self.row_locations.get(key)
        if found is None:
            found = self.row_locations[key] = self.locate_row(rows, index, suffix)
        return found

    def locate_row(self, rows: list, index: int, suffix: str) -> Location:
        row = rows[index]
        file = getattr(row, "file", None) or self.spec.files.get("layers", self.spec.path)
        line = getattr(row, "line", None) or line_of(rows, index)
        return Location(file, line, f"layers[{index}]{suffix}")

    def row_names(self, rows: list) -> list[str]:
        names, auto = [], 0
        first_index: dict[str, int] = {}  # a dict, not `in names`: a wide spec has thousands of rows
        for index, row in enumerate(rows):
            self.row_where = self.row_location(rows, index)
            if not isinstance(row, dict):
                self.fail(f"expected a mapping with op or block, got {row!r}")
            if "name" in row:
                name = row["name"]
                if not isinstance(name, str) or not IDENTIFIER.match(name) or name == INPUT:
                    self.fail(f"expected a layer name (letters, digits, _; not 'input'), got {name!r}",
                              self.row_key_where(row, index, "name"))
            else:
                auto += 1
                name = f"stage{auto}"
            if name in first_index:
                self.fail(f"layer name {name!r} is used twice (first at layers[{first_index[name]}])",
                          self.row_key_where(row, index, "name"))
            first_index[name] = index
            names.append(name)
        return names

    def known_names(self, names: list[str]) -> frozenset[str]:
        """``names`` as a set, made once per list (a concat of K rows checks K references)."""
        if self.names_set is None or self.names_set[0] is not names:
            self.names_set = names, frozenset(names)
        return self.names_set[1]

    def row_refs(self, row: dict, index: int, names: list[str]) -> list[str]:
        raw = row.get("from")
        if raw is None:
            return [names[index - 1] if index else INPUT]
        where = partial(self.row_key_where, row, index, "from")  # (a Location only for an error)
        refs = self.value(raw, self.globals, where)  # a name, a list of names, or an expression giving one
        refs = [refs] if isinstance(refs, str) else refs
        if not isinstance(refs, list) or not refs or not all(isinstance(r, str) for r in refs):
            self.fail(f"expected a layer name or a list of layer names, got {refs!r}{_via(raw)}", where)
        known = self.known_names(names)
        for ref in refs:
            head = _strip_optional(ref).split(".")[0]
            if ref != INPUT and head not in known:
                self.fail(f"unknown layer {ref!r}{_via(raw)} (layers: input, {', '.join(names)})", where)
        return refs

    def row_order(self, rows: list, names: list[str]) -> list[int]:
        """Rows in dependency order, spec order where free; a cycle is an error."""
        index_of = {name: i for i, name in enumerate(names)}
        needs: dict[int, set[int]] = {index: set() for index in range(len(rows))}
        for index, row in enumerate(rows):
            if "from" not in row:  # (the row before it, as row_refs says)
                if index:
                    needs[index].add(index - 1)
                continue
            plain = _plain_row_refs(row["from"], index_of)
            if plain is not None:
                needs[index].update(plain)
                continue
            self.row_where = self.row_location(rows, index)
            needs[index] = {index_of[_strip_optional(ref).split(".")[0]] for ref in self.row_refs(row, index, names)
                            if ref != INPUT}
        if all(dep < index for index, deps in needs.items() for dep in deps):
            return list(range(len(rows)))  # every row reads earlier ones only: spec order, and no cycle
        try:
            graphlib.TopologicalSorter(needs).prepare()
        except graphlib.CycleError as exc:
            cycle = exc.args[1][::-1]  # graphlib lists it against the edges
            path = " -> ".join(names[i] for i in cycle)
            first = cycle[0]
            self.row_where = self.row_location(rows, first, ".from")
            self.fail(f"the layers form a cycle ({path}); a network must be acyclic")
        return _stable_topological_order(needs)

    def compile_row(self, index: int, row: dict, name: str, names: list[str]) -> None:
        """Compile one layer row. A row whose every written value, input shapes and compile
        context equal those of a row an earlier compile made is a lookup (layer_key,
        _SHARED_LAYERS): its op made again from the kept record, or its block's kept plan
        replayed; what depends on this load alone (the names, the inputs, the place in the
        spec, the node budget) is worked out anew."""
        self.row_where = self.row_location(self.spec.data["layers"], index)
        sources = self.plain_sources(row, index, names)
        key = self.layer_key(row, sources) if sources is not None else None
        if key is not None:
            known = _SHARED_LAYERS.get(key)
            if known is not None and self.apply_layer(known[0], name, sources):
                if known[1]:
                    self.layer_names |= known[1]
                return
        outcome = self.compile_row_fresh(index, row, name, names, sources)
        # the names its expressions read (a plain `from` reads none), for unseen_defaults
        read = names_in([value for item, value in row.items() if item != "from" or sources is None])
        self.layer_names |= read
        if key is not None and outcome is not None:
            _share(_SHARED_LAYERS, key, (outcome, frozenset(read)))

    def plain_sources(self, row: dict, index: int, names: list[str]) -> list[str] | None:
        """The row's inputs when its ``from`` is left out or names made layers and tensors
        plainly (no expression, no optional ``?``); else None (compile_row_fresh works them out,
        with its errors)."""
        raw = row.get("from")
        if raw is None:
            found = self.scopes.get(names[index - 1] if index else INPUT)
            return None if found is None else [found]
        refs = [raw] if raw.__class__ is str else raw if isinstance(raw, list) else None
        if not refs:
            return None
        sources = []
        for ref in refs:
            if ref.__class__ is not str or ref.endswith("?") or "${" in ref:
                return None
            found = self.scopes.get(ref)
            if found is None:
                return None
            sources.append(found)
        return sources

    def layer_key(self, row: dict, sources: list[str]) -> tuple | None:
        """What compiling ``row`` depends on, less its name and the names of its inputs (the
        row itself, written; its inputs' shapes; the settings, rules, budgets and op rules of
        the compile), or None when that is not a plain key or not shared (a block that is not
        built-in throughout)."""
        if not (self.memoize and self.share) or len(sources) > _JOIN:
            return None
        block = row.get("block")
        if block is not None and (block.__class__ is not str or block not in self.blocks
                                  or not self.built_in_throughout(block)):
            return None
        written = []
        for key, value in row.items():
            if key != "name" and key != "from":
                kind = value.__class__
                if kind is int or kind is str or kind is bool:  # (the kind keeps 1, 1.0 and True apart)
                    written += key, kind, value
                else:
                    frozen = _frozen(value)
                    if frozen is None:
                        return None
                    written += key, None, frozen
        shapes = (_shape_key(self.shape(sources[0])),) if len(sources) == 1 else \
            tuple(_shape_key(self.shape(source)) for source in sources)
        context = self.shared_context if self.shared_context else self.context()  # (worked out once)
        return None if context is None or None in shapes else (context, tuple(written), shapes)

    def apply_layer(self, known: tuple, name: str, sources: list[str]) -> bool:
        """Make the row ``known`` (from _SHARED_LAYERS) describes, under ``name`` reading
        ``sources``; False when the node budget would refuse it (then the row is compiled
        afresh and fails where a fresh compile fails)."""
        kind = known[0]
        if kind is _REMOVED:
            self.removed.add(name)
            if sources:
                self.scopes[name] = sources[0]
                self.scope_log.append((name, sources[0]))
            return True
        if kind is _OP:
            _, op_kind, attrs, shape, cost, params, tally = known
            if self.node_count() >= limits.IR_NODES.value or name in self.nodes:
                return False
            in_shapes = [self.shape(source) for source in sources]
            self.nodes[name] = dict(op=op_kind, attrs=attrs.copy(), inputs=list(sources), in_shapes=in_shapes,
                                    shape=shape, origin=self.row_where, cost=cost, params=params)
            self.order.append(name)
            self.scopes[name] = name
            self.scope_log.append((name, None))
            self.tally.append(tally)
            return True
        _, block, repeats, plan = known  # a block row
        if self.node_count() + max(plan.size, repeats or 0) > limits.IR_NODES.value:
            return False
        self.used_blocks.add(block)
        self.scopes[name] = current = self.replay_row(plan, name, repeats, sources)
        self.scope_log.append((name, current))
        return True

    def compile_row_fresh(self, index: int, row: dict, name: str, names: list[str],
                          plain: list[str] | None = None) -> tuple | None:
        """Compile one layer row from what it writes; returns what apply_layer needs to make
        it again (None when it cannot be kept: see row_params_memo). ``plain``: its inputs, when
        plain_sources found them (then its refs are known good and are not read again)."""
        where_of = lambda key: self.row_key_where(row, index, key)  # noqa: E731
        if ("op" in row) == ("block" in row):
            self.fail("each layer row needs exactly one of op or block")
        scale = row.get("scale", "width")
        if scale.__class__ is not str or scale not in SCALE_MODES:  # (a mode's name is its own value)
            scale = self.value(scale, self.globals, partial(where_of, "scale"))
        if not isinstance(scale, str) or scale not in SCALE_MODES:
            self.fail(f"expected one of {', '.join(SCALE_MODES)}, got {scale!r}", where_of("scale"))
        refs = self.row_refs(row, index, names) if plain is None else ()
        sources = [] if plain is None else plain
        for ref in refs:
            target = _strip_optional(ref)
            if ref.endswith("?") and target in self.removed:
                continue  # an optional input whose row was removed by `when`
            found = self.resolve(target)
            if found is None:
                self.materialize()  # (the message lists the names made so far)
                self.fail(f"{target!r} names no tensor (known under {target.split('.')[0]}: "
                          f"{', '.join(k for k in self.scopes if k.startswith(target.split('.')[0]))})", where_of("from"))
            sources.append(found)
        # a row's expressions may read its (first) input's size as c_in, h_in, w_in
        env = {**self.globals, **self.input_size(self.shape(sources[0]))} if sources else self.globals
        if "when" in row and not self.condition(row["when"], env, partial(where_of, "when"), name):
            self.removed.add(name)
            if sources:  # a removed row stands for its (first) input
                self.scopes[name] = sources[0]
                self.scope_log.append((name, sources[0]))
            return (_REMOVED,)
        raw = {k: v for k, v in row.items() if k not in ROW_KEYS}
        if "op" in row:
            if "n" in row:
                self.fail("n (repeat count) applies to block rows only", where_of("n"))
            op = self.op_for(row["op"], env, partial(where_of, "op"), name)
            attrs = self.op_attrs(op, raw, env, scale, where_of, name)
            self.add_node(name, op, attrs, sources, self.row_where)
            if not self.memoize:
                return None
            node = self.nodes[name]  # (its attributes copied: the model handed out may be changed by its owner)
            return _OP, op.kind, dict(attrs), node["shape"], node["cost"], node["params"], self.tally[-1]
        block = self.block_for(row["block"], partial(where_of, "block"), name)
        self.check_block_inputs(block, sources, partial(where_of, "from"))
        repeats = self.repeat_count(row, env, partial(where_of, "n"))
        if repeats is not None and self.node_count() + repeats > limits.IR_NODES.value:
            # every repeat adds at least one node: refuse before expanding
            self.within(limits.IR_NODES, self.node_count() + repeats, "IR nodes (the repeat count n)", where_of("n"), name)
        current = sources[0]
        # the parameters depend on the repeat only through first_only and the input shape
        params_seen, kept = self.row_params_memo(block, raw, scale, sources)
        plan = params_seen.get((_ROW_PLAN, repeats)) if kept else None
        if plan is not None and self.node_count() + plan.size <= limits.IR_NODES.value:
            self.scopes[name] = current = self.replay_row(plan, name, repeats, sources)
            self.scope_log.append((name, current))
            return _BLOCK, block.name, repeats, plan
        steps: list[list] = []  # runs of [key, expansion, repeats], for the row's plan
        for repeat in range(repeats or 1):  # repeats chain the main input; other inputs stay as written
            instance = f"{name}.block{repeat + 1}" if repeats is not None else name
            in_shape = self.shape(current)
            seen_key = (repeat > 0, _shape_key(in_shape)) if self.memoize else None
            inputs = [current, *sources[1:]]
            seen = params_seen.get(seen_key) if seen_key is not None else None
            if seen is None:
                params = self.block_params(block, raw, env, scale, where_of, instance, repeat, in_shape)
                # (the other inputs are the same for every repeat: the key is the same too)
                seen = [params, self.expansion_key(block, params, inputs, 0) if self.memoize else None, None]
                if seen_key is not None and seen_key[1] is not None and not (kept and _holds_list(params)):
                    params_seen[seen_key] = seen
            params, key, known = seen
            if known is not None and self.node_count() + known.size <= limits.IR_NODES.value:
                current = self.replay_known(known, key, instance, inputs)
            else:
                current = self.expand_block(block, params, instance, inputs, 0, key)
                if kept and key is not None:  # the row's memo is kept for later compiles: keep its expansion with it
                    found = self.expansions.get(key)
                    if found.__class__ is _Expansion:
                        seen[2] = found
            if steps and steps[-1][0] == key and steps[-1][1] is seen[2]:
                steps[-1][2] += 1
            else:
                steps.append([key, seen[2], 1])
        plan = None
        if kept and all(known is not None for _, known, _ in steps):  # the whole row, for the later compiles
            plan = params_seen[_ROW_PLAN, repeats] = _RowPlan(
                steps, sum(known.size * count for _, known, count in steps),
                frozenset().union(*(known.used for _, known, _ in steps)))
        self.scopes[name] = current
        self.scope_log.append((name, current))  # (every write to scopes is logged: see _materialized)
        return None if plan is None else (_BLOCK, block.name, repeats, plan)

    def row_params_memo(self, block: BlockDef, raw: dict, scale: str, sources: list[str]) -> tuple[dict, bool]:
        """Where a block row keeps its parameters per (later repeat, input shape), and whether
        that is kept for later compiles. A built-in block's row is (_SHARED_ROWS, keyed like the
        expansions of shared_key on the settings, rules and budgets, plus what the row itself
        writes and the shapes of its inputs: everything block_params and expansion_key read);
        any other row keeps its own. (A list-valued parameter is not kept across compiles: the
        model handed out may be changed by its owner.)"""
        if self.memoize:
            written = tuple((key, _frozen(value)) for key, value in raw.items())
            shapes = tuple(_shape_key(self.shape(source)) for source in sources)
            if all(frozen is not None for _, frozen in written) and None not in shapes:
                shared = self.shared_key(block, (block.name, scale, written, shapes))
                if shared is not None:
                    found = _SHARED_ROWS.get(shared)
                    return (_share(_SHARED_ROWS, shared, {}) if found is None else found), True
        return {}, False

    def repeat_count(self, row: dict, env: Mapping[str, Any], where: Location) -> int | None:
        """``n``: an integer >= 1 or an expression giving one (``"${ceil(3 * depth)}"``)."""
        raw = row.get("n", None)
        if raw is None:
            return None
        value = self.integral(self.value(raw, env, where))
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.fail(f"expected a repeat count (integer >= 1), got {quote(value)}{_via(raw)}", where)
        return self.structural_int(value)

    def check_block_inputs(self, block: BlockDef, sources: list[str], where: Location, node: str | None = None) -> None:
        if len(sources) != len(block.inputs):
            names = ", ".join(block.inputs)
            self.fail(f"block {block.name} takes {len(block.inputs)} input{'s' if len(block.inputs) > 1 else ''} "
                      f"({names}), got {len(sources)}", where, node)

    def check_reachable(self, outputs: list[str]) -> None:
        """Work whose result reaches no output would still be counted and held in memory:
        that is a spec error, not a silent extra (list the tensor under `outputs` if wanted)."""
        if self.deferred and _all_reached(self.nodes, outputs, self.order, self.deferred):
            return
        self.materialize()  # (the message names the first op, in program order, that nothing reads)
        used = _reachable_from(self.nodes, outputs, self.order)
        for name in self.order:
            if name not in used and name != INPUT:
                self.row_where, self.trail = self.nodes[name]["origin"], []
                self.fail(f"{name} reaches no output (outputs: {', '.join(outputs)}); remove it, or list it under "
                          "`outputs` to keep it")

    def compile(self) -> Model:
        # a dict per op, nothing freed, no cycles: see archcalc.allocation
        with gc_paused(), limits.held():  # the budgets, read once for the whole compile
            parsed_under_budgets()
            return self.compile_graph()

    def compile_graph(self) -> Model:
        spec, data = self.spec, self.spec.data
        channels, resolution = data["input"]["channels"], data["input"]["resolution"]
        self.add_node(INPUT, get_op("input"), {"channels": channels, "height": resolution, "width": resolution}, [],
                      spec.where("input"))
        rows = data["layers"]
        if not rows:
            raise SpecError(spec.where("layers"), "expected at least one layer row")
        names = self.row_names(rows)
        for index in self.row_order(rows, names):
            self.compile_row(index, rows[index], names[index], names)
        for message in unseen_defaults(spec, [self.blocks[b] for b in sorted(self.used_blocks)], self.layer_names):
            warnings.warn(message, SpecWarning, stacklevel=2)
        outputs = []
        for index, ref in enumerate(data.get("outputs") or [names[-1]]):
            found = self.resolve(ref)
            if found is None:
                raise SpecError(spec.where("outputs", index, f"outputs[{index}]"), f"{ref!r} names no layer or tensor")
            outputs.append(found)
        self.check_reachable(outputs)
        sums = tuple(map(sum, zip(*self.tally))) if self.memoize and self.tally else None
        if self.deferred:  # made when the model's nodes are first read
            return Model(spec=spec, nodes=None, order=None, outputs=outputs, blocks=None, scopes=None, sums=sums,
                         build=partial(_built, self.nodes, self.order, self.instances, self.scope_log, self.deferred))
        return Model(spec=spec, nodes=self.nodes, order=self.order, outputs=outputs, blocks=self.instances,
                     scopes=self.scopes, sums=sums)


def _yaml_number_hint(value: Any) -> str:
    """YAML 1.1 reads ``1e-5`` (no dot) as text; say so where a number was expected."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return ""
        return f" (YAML reads {value} as text; write it with a dot, e.g. 1.0e-5)"
    return ""


def _via(raw: Any) -> str:
    """`` (from '${...}')`` after a bad value that an expression gave, else nothing."""
    return f" (from {raw!r})" if expression_source(raw) is not None else ""


def _reads_input_size(raw: Any) -> bool:
    """A channel count computed from ``c_in`` (``"${6 * c_in}"``) is already at the
    network's width: the width multiplier is not applied to it a second time."""
    source = expression_source(raw)
    return source is not None and bool(names_used(source) & INPUT_SIZE_NAMES)


def _round_half_up(value: float) -> int:
    return math.floor(value + 0.5)


def _reachable_from(nodes: dict[str, dict], outputs: list[str], order: list[str]) -> set[str]:
    """The nodes some output reads, in one sweep against program order (a topological
    order: every consumer comes after its producers)."""
    seen = set(outputs)
    for name in reversed(order):
        if name in seen:
            seen.update(nodes[name]["inputs"])
    return seen


def _replay_into(cached: _Expansion, scope: str, input_nodes: list[str], origin: Location | None, nodes: dict,
                 order: list, scopes: dict, log: list, instances: list) -> str:
    """Write ``cached`` renamed to ``scope`` (its inputs ``input_nodes``) into the IR: one loop,
    everything it reads prepared by _Compiler.record (a long chain replays tens of thousands
    of ops). Returns the block's output."""
    output = None
    for ref, target, node in cached.events:
        name = scope + ref if ref.__class__ is str else input_nodes[ref]
        if node is None:  # a name standing for a tensor
            output = scopes[name] = scope + target if target.__class__ is str else input_nodes[target]
            log.append((name, output))
            continue
        if name in nodes:
            raise _UsedTwice(name)
        template, attrs, in_shapes, inputs = node
        data = template.copy()  # (copying a dict is cheaper than building one)
        data["attrs"], data["in_shapes"] = attrs.copy(), in_shapes.copy()
        data["inputs"] = [scope + i if i.__class__ is str else input_nodes[i] for i in inputs]
        data["origin"] = origin
        nodes[name] = data
        order.append(name)
        scopes[name] = name
        log.append((name, None))
    instances.extend(  # (positional: a keyword call costs twice as much, 40,000 times for a long chain)
        BlockInstance(scope + ref, kind, copy(params), input_nodes[input] if input.__class__ is int else scope + input,
                      input_nodes[out] if out.__class__ is int else scope + out, input_shape, output_shape, nesting)
        for ref, kind, params, copy, input, out, input_shape, output_shape, nesting in cached.instances)
    return output


def _materialized(nodes: dict, order: list, instances: list, log: list, deferred: list) -> tuple:
    """The IR with every put-off replay (_Compiler.defer) made where it was put off: (nodes,
    order, scopes, instances, scope log), each as an eager compile would have left it (the
    nodes in program order; the scopes in the order the log wrote them, each name's last
    write winning, as writing them one by one does)."""
    new_order, new_instances, new_log = [], [], []
    nodes = dict(nodes)  # (its own: a Model read by two threads at once may make its IR twice)
    at_order = at_instance = at_log = 0
    for order_mark, instance_mark, log_mark, cached, scope, input_nodes, origin in deferred:
        new_order += order[at_order:order_mark]
        new_instances += instances[at_instance:instance_mark]
        new_log += log[at_log:log_mark]
        at_order, at_instance, at_log = order_mark, instance_mark, log_mark
        try:
            _replay_into(cached, scope, input_nodes, origin, nodes, new_order, {}, new_log, new_instances)
        except _UsedTwice as exc:  # (cannot happen: a layer row's scope is its own, see _Compiler.defer)
            raise SpecError(origin, f"name {exc.args[0]!r} is used twice") from None
    new_order += order[at_order:]
    new_instances += instances[at_instance:]
    new_log += log[at_log:]
    scopes = {name: name if target is None else target for name, target in new_log}
    return {name: nodes[name] for name in new_order}, new_order, scopes, new_instances, new_log


def _built(*args) -> tuple:
    """(nodes, order, scopes, instances) of _materialized: what a Model builds on first read
    (a dict per op, nothing freed, no cycles, as in a compile: no cyclic GC meanwhile)."""
    with gc_paused():
        return _materialized(*args)[:4]


def _scope_refs(cached: _Expansion) -> dict:
    """Each name a recorded expansion writes (relative to its scope) -> (the op it stands for,
    relative, or an input's index; that op's shape, None for an input)."""
    refs = {}
    for ref, target, node in cached.events:
        if target is None:
            refs[ref] = ref, node[0]["shape"]
        else:
            refs[ref] = target, (refs[target][1] if target.__class__ is str else None)
    return refs


def _reach_within(events: list, output: str | int) -> tuple[bool, tuple]:
    """Whether every op of a recorded expansion is read by its ``output`` (through the
    expansion), and which of the block's inputs (their index) those ops read."""
    seen = {output}
    for ref, target, node in reversed(events):
        if target is None and ref in seen:
            seen.update(node[3])
    ops = [ref for ref, target, _ in events if target is None]
    return all(ref in seen for ref in ops), tuple(sorted(ref for ref in seen if ref.__class__ is int))


def _all_reached(nodes: dict[str, dict], outputs: list[str], order: list[str], deferred: list[tuple]) -> bool:
    """Whether some output reads every op, put-off replays (_Compiler.defer) included, without
    making those: one sweep against program order as in _reachable_from, a put-off replay
    taken whole where its output is read and every op of it reaches that output (its record
    says so, and which of its inputs they read). False also when that cannot be told so
    (then the caller makes them and looks node by node)."""
    seen = set(outputs)
    pending = len(deferred) - 1
    for index in range(len(order) - 1, -2, -1):
        while pending >= 0 and deferred[pending][0] > index:  # (put off after order[index])
            _, _, _, cached, scope, input_nodes, _ = deferred[pending]
            output = scope + cached.output if cached.output.__class__ is str else input_nodes[cached.output]
            if output not in seen or not cached.closed:
                return False
            for read in cached.reads:
                seen.add(input_nodes[read])
            pending -= 1
        if index < 0:
            break
        name = order[index]
        if name not in seen and name != INPUT:
            return False
        seen.update(nodes[name]["inputs"])
    return True


def _plain_row_refs(raw: Any, index_of: dict[str, int]) -> list[int] | None:
    """The rows a ``from`` of plain row names (or ``input``) reads, or None for anything else
    (an expression, a name inside a row, an optional ``?``, an unknown name: row_refs reads
    those, and words their errors)."""
    refs = [raw] if raw.__class__ is str else raw if raw.__class__ is list or isinstance(raw, list) else None
    if not refs:
        return None
    found = []
    for ref in refs:
        if ref.__class__ is not str:
            return None
        index = index_of.get(ref)
        if index is not None:
            found.append(index)
        elif ref != INPUT:
            return None
    return found


def _strip_optional(ref: str) -> str:
    """``"aspp1?"`` in a ``from`` list reads aspp1 if it exists and is dropped from the list
    when aspp1 was removed by ``when`` (without ``?`` a removed name stands for its input)."""
    return ref[:-1] if ref.endswith("?") else ref


def _stable_topological_order(needs: dict[int, set[int]]) -> list[int]:
    """Kahn's algorithm taking the lowest ready index first: spec order wherever the
    dependencies allow it (``needs`` must be acyclic)."""
    waiting = {node: len(deps) for node, deps in needs.items()}
    users: dict[int, list[int]] = {node: [] for node in needs}
    for node, deps in needs.items():
        for dep in deps:
            users[dep].append(node)
    ready = [node for node, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for user in users[node]:
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, user)
    return order


def _finite(value: Any) -> bool:
    """NaN and infinity are never a valid attribute (PyTorch refuses them, or worse, uses them)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_finite(item) for item in value)
    return True


class _BlockPlan(NamedTuple):
    """What a block definition says that does not change from one copy to the next,
    worked out once per definition rather than once per copy."""

    # (name, definition, unless, required, takes a whole number, default is an expression)
    params: tuple[tuple[str, ParamDef, str | None, bool, bool, bool], ...]
    # per input, the names its size is read by: (c_in, h_in, w_in), (c_prev, h_prev, w_prev)
    input_size_names: tuple[tuple[str, str, str], ...]
    # per body item: (item, name, location, error-trail entry, op attributes or block parameters, where_of)
    items: tuple[tuple[dict, str, Location, tuple, dict, Callable[[str], Location]], ...]
    # the names the block reads from outside (the spec's settings and defaults), and those it
    # reads only through a parameter or let of its own name (for unseen_defaults)
    reads: frozenset[str]
    shadowed: frozenset[str]


def _outside_names(block: BlockDef) -> tuple[frozenset[str], frozenset[str]]:
    """(names ``block`` reads from outside, names it would read but has a parameter or let of)."""
    read: set[str] = set()
    # a parameter's default sees the defaults and only the parameters before it
    # (``norm: {default: "${norm}"}`` reads the spec's default)
    earlier: set[str] = set()
    for param in block.params.values():
        if not param.required:
            read |= names_in(param.default) - earlier
        earlier.add(param.name)
    # the body and the lets see every parameter first
    own = set(block.params) | {name for name, _ in block.let} | {"c_in", "h_in", "w_in"}
    used = names_in([list(block.body), [raw for _, raw in block.let]])
    return frozenset(read | (used - own)), frozenset(used & own)


def _block_plan(block: BlockDef) -> _BlockPlan:
    generation = parse_generation()  # (the names a block reads skip expressions over a budget)
    found = _BLOCK_PLANS.get(id(block))
    if found is not None and found[0] is block and found[2] == generation:
        return found[1]
    params = tuple((key, param, param.unless, param.required, param.type in _WHOLE_PARAM_TYPES,
                    param.default.__class__ is str and expression_source(param.default) is not None)
                   for key, param in block.params.items())
    sizes = tuple(tuple(f"{axis}_{'in' if name == INPUT else name}" for axis in "chw") for name in block.inputs)
    items = []
    for index, item in enumerate(block.body):
        where = block.item_locations[index]
        raw = {k: v for k, v in item.items() if k not in ITEM_KEYS}
        items.append((item, item["name"], where, (block.name, index, where), raw, lambda key, w=where: w))
    plan = _BlockPlan(params, sizes, tuple(items), *_outside_names(block))
    if len(_BLOCK_PLANS) >= 1024:  # spec-defined blocks are made anew per load: keep the newest
        for stale in list(_BLOCK_PLANS)[:512]:
            del _BLOCK_PLANS[stale]
    _BLOCK_PLANS[id(block)] = block, plan, generation
    return plan


# id(block) -> (block, plan, parse generation); holding the block keeps its id taken
_BLOCK_PLANS: dict[int, tuple[BlockDef, _BlockPlan, int]] = {}


@lru_cache(maxsize=None)
def _attr_plan(op: OpDef) -> tuple[tuple[str, Attr, bool, dict], ...]:
    """An op's attributes in schema order, each with whether it wants a whole number and
    the check results seen so far (:func:`_remembered`): worked out once per op kind
    (registered once, so kept for the process), not once per node."""
    return tuple((key, schema, _wants_int(schema), {}) for key, schema in op.attrs.items())


def _remembered(check: Callable[[Any], Any], seen: dict, kind: type, value: Any) -> Any:
    """``check(value)`` for a plain scalar (an op attribute's or a block parameter's check),
    remembered in ``seen``: a network checks the same few strides and kernel sizes hundreds of
    times. (``kind`` keeps 1, 1.0 and True apart; ``seen`` is emptied when large, as a spec
    can write any number.)"""
    key = kind, value
    if key in seen:
        return seen[key]
    if len(seen) >= 4096:
        seen.clear()
    result = seen[key] = check(value)
    return result


def _wants_int(schema: Attr) -> bool:
    kinds = schema.kind if isinstance(schema.kind, tuple) else (schema.kind,)
    return int in kinds


def unseen_defaults(spec: Spec, blocks: list[BlockDef], layer_names: set[str] | None = None) -> list[str]:
    """One message per ``defaults`` entry of the spec's own file that nothing reads: no layer row, no other default
    and no used block refers to it, or every block that does has a parameter (or ``let``)
    of the same name, which hides the default (``defaults: {t: 4}`` beside bottleneck rows
    that each set ``t``); and one when a depth multiplier other than 1 is set but nothing
    reads ``depth`` (no ``n`` is written as an expression of it), so it changes nothing."""
    defaults = spec.data.get("defaults", {})
    if not defaults and spec.depth == 1:
        return []
    # (layer_names: what the compile found the rows read, row by row, instead of a second walk)
    read = (names_in(list(spec.data["layers"])) if layer_names is None else set(layer_names)) \
        | names_in(list(defaults.values()))
    plans = [(block.name, _block_plan(block)) for block in blocks]
    for _, plan in plans:
        read |= plan.reads
    messages = []
    if spec.depth != 1 and "depth" not in read:
        messages.append(f"{spec.path}: depth multiplier {spec.depth:g} is read by no layer, default or block (no "
                        f"repeat count n is written as an expression of depth), so it changes nothing")
    for key in defaults:
        if key in read or key not in spec.own_defaults or _names_an_op_attr(key):
            continue  # read; or inherited (the parent's business); or an op attribute's default
        where = spec.where("defaults", key, f"defaults.{key}")
        hidden = {name for name, plan in plans if key in plan.shadowed}
        if hidden:
            messages.append(f"{where}: the default {key!r} is shadowed everywhere: every block that reads "
                            f"{key!r} ({', '.join(sorted(hidden))}) takes its own parameter of that name, "
                            f"so this default changes nothing (set it on the rows)")
        else:
            messages.append(f"{where}: the default {key!r} is read by no layer or block, so it changes nothing")
    return messages


def _names_an_op_attr(key: str) -> bool:
    """``<op kind>_<attribute>`` (``batch_norm_eps``): a spec-wide default for an op attribute
    left unwritten, which the compiler reads by that name rather than through an expression."""
    for cut in (i for i, ch in enumerate(key) if ch == "_"):
        try:
            op = get_op(key[:cut])
        except (UnknownOpError, KeyError, TypeError):
            continue
        if key[cut + 1:] in getattr(op, "attrs", {}):
            return True
    return False


def compile_spec(spec: Spec) -> Model:
    return _Compiler(spec).compile()

