"""Bring a PyTorch model into the IR: trace it, map every node onto the op registry, write a spec.

``import_model("torchvision:mobilenet_v2")`` traces the module with ``torch.fx`` at module
granularity (convolutions, norms, activations, pools and linears are leaves; ``add``, ``mul``,
``cat``, ``flatten``, ``mean`` ... are functions), records each node's shape by running the
traced graph once on a random input, maps every node onto a registry op and returns the
spec (YAML text and the compiled :class:`~archcalc.model.Model`). Nothing is guessed: a node
with no mapping, a module whose parameters its op does not account for, parameters no op
uses and a model fx cannot trace are all :class:`ModelImportError` s that name the module.

The mapping tables below (``MODULE_OPS``, ``FUNCTION_OPS``, ``METHOD_OPS``) are the one
place where a PyTorch module or function meets a registry op. An op the registry does not
(yet) have is reported as unmapped, never approximated.
"""
from __future__ import annotations

import importlib
import importlib.util
import operator
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import fx, nn

from archcalc.ops import get_op
from archcalc.pytorch.import_rules import (
    ALIAS, CHANNELS_FIRST, CHANNELS_LAST, CHANNELS_LAST_FUNCTIONS, CHANNELS_LAST_METHODS,
    CHANNELS_LAST_MODULES, Emit, FUNCTION_OPS, FUNCTION_OPS_BY_NAME, METHOD_OPS, SPLIT, Unmapped, bind_args,
    function_name, is_split, known_ops, module_rule, traced_shape,
)
from archcalc.recognize import ir_name
from archcalc.spec.writer import flow, scalar

INPUT = "input"
DEFAULT_INPUT = (3, 224, 224)


class ModelImportError(ValueError):
    """A model that cannot be imported exactly; ``str()`` is what the CLI prints (exit 2)."""


# --------------------------------------------------------------------------- targets
@dataclass
class Target:
    """What to import: the module, its display name and what is known of its input."""

    text: str
    module: nn.Module
    name: str
    input_shape: tuple[int, int, int] | None = None  # from the model's own metadata, if any


def parse_args(pairs: Sequence[str]) -> dict[str, Any]:
    """``["width_mult=0.75", "aux_logits=false"]`` -> keyword arguments (YAML scalars, read safely)."""
    import yaml

    kwargs = {}
    for text in pairs:
        key, sep, raw = text.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key.strip()):
            raise ModelImportError(f"--arg {text!r}: expected NAME=VALUE")
        kwargs[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
    return kwargs


def parse_input(text: str) -> tuple[int, int, int]:
    """``"3x224x224"`` (or ``"224"``, meaning 3x224x224) -> (3, 224, 224)."""
    parts = text.lower().split("x")
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) == 1:
        values = (3, values[0], values[0])
    if len(values) != 3 or min(values) < 1:
        raise ModelImportError(f"--input {text!r}: expected CxHxW such as 3x224x224")
    if values[1] != values[2]:
        raise ModelImportError(f"--input {text!r}: specs describe square inputs (height = width)")
    return values  # type: ignore[return-value]


def _torchvision_target(builder: str, kwargs: dict) -> Target:
    from archcalc.pytorch.tv import import_torchvision

    tv = import_torchvision()
    if builder not in tv.models.list_models(module=tv.models):
        raise ModelImportError(f"torchvision:{builder}: no such classification model in torchvision "
                               f"{tv.__version__} (see torchvision.models.list_models())")
    kwargs = {"weights": None, **kwargs}
    module = _build(f"torchvision:{builder}", lambda: tv.models.get_model(builder, **kwargs), kwargs)
    input_shape = None
    try:  # the published weights' preprocessing names the input size; no download needed
        crop = tv.models.get_model_weights(builder).DEFAULT.transforms.keywords["crop_size"]
        input_shape = (3, crop, crop)
    except (AttributeError, KeyError, ValueError, TypeError):
        pass
    return Target(f"torchvision:{builder}", module, builder, input_shape)


def _load_callable(target: str) -> Callable:
    location, sep, attribute = target.rpartition(":")
    if not sep or not location or not attribute:
        raise ModelImportError(f"{target}: expected torchvision:BUILDER, package.module:CALLABLE or path/file.py:CALLABLE")
    if location.endswith(".py"):
        path = Path(location)
        if not path.is_file():
            raise ModelImportError(f"{target}: no file {location}")
        name = "archcalc_import_" + re.sub(r"\W", "_", path.stem)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(location)
        except ImportError as exc:
            raise ModelImportError(f"{target}: cannot import {location}: {exc}") from None
    found = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise ModelImportError(f"{target}: {location} has no attribute {attribute!r}")
        found = getattr(found, part)
    if not callable(found):
        raise ModelImportError(f"{target}: {attribute} is not callable")
    return found


def _build(target: str, build: Callable[[], Any], kwargs: dict) -> Any:
    """Call the builder; arguments it does not take are a one-line error."""
    try:
        return build()
    except (TypeError, ValueError) as exc:
        shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) or "no arguments"
        raise ModelImportError(f"{target}: cannot build the model with {shown}: {exc}") from None


def resolve_target(target: str, kwargs: dict | None = None, classes: int | None = None) -> Target:
    """The ``nn.Module`` a TARGET names, built with ``kwargs`` (and ``num_classes=classes``)."""
    kwargs = dict(kwargs or {})
    if classes is not None:
        kwargs["num_classes"] = classes
    if target.startswith("torchvision:"):
        return _torchvision_target(target.split(":", 1)[1], kwargs)
    factory = _load_callable(target)
    module = _build(target, lambda: factory(**kwargs), kwargs)
    if not isinstance(module, nn.Module):
        raise ModelImportError(f"{target}: expected an nn.Module, got {type(module).__name__}")
    name = target.rpartition(":")[2].split(".")[-1]
    return Target(target, module, name)


# --------------------------------------------------------------------------- tracing
def _helper_functions() -> tuple[Callable, ...]:
    """Plain functions that fx should record as one call rather than trace through (their
    bodies are reshapes the registry has one op for)."""
    found = []
    try:
        from archcalc.pytorch.tv import import_torchvision

        found.append(import_torchvision().models.shufflenetv2.channel_shuffle)
    except ImportError:
        pass
    return tuple(found)


class _Tracer(fx.Tracer):
    """fx's tracer that remembers which module it is inside, to name where tracing fails."""

    def __init__(self) -> None:
        super().__init__(autowrap_functions=_helper_functions())
        self.inside: list[tuple[str, str]] = []

    def is_leaf_module(self, m: nn.Module, qualified_name: str) -> bool:
        # a module the mapping tables know (a subclass keeping its base's forward included)
        # is one op, whatever package defines it
        return module_rule(m) is not None or super().is_leaf_module(m, qualified_name)

    def call_module(self, m: nn.Module, forward: Callable, args: tuple, kwargs: dict) -> Any:
        self.inside.append((self.path_of_module(m) or "(root)", type(m).__name__))
        result = super().call_module(m, forward, args, kwargs)
        self.inside.pop()
        return result


def trace(module: nn.Module, name: str) -> fx.GraphModule:
    """``torch.fx`` graph of ``module`` in inference mode; failures name the module."""
    module.train(False)
    tracer = _Tracer()
    try:
        graph = tracer.trace(module)
    except Exception as exc:  # fx raises TraceError, but also TypeError/AttributeError on proxies
        where, kind = tracer.inside[-1] if tracer.inside else ("(root)", type(module).__name__)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        reason = ("data-dependent control flow" if "control flow" in first or "iterate" in first
                  else "an operation fx cannot trace")
        raise ModelImportError(f"{name}: torch.fx cannot trace the model ({reason}) in module {where} ({kind}): {first}") from None
    return fx.GraphModule(tracer.root, graph, name)


def propagate_shapes(graph_module: fx.GraphModule, input_shape: tuple[int, int, int]) -> None:
    """Run the traced graph once on a batch-1 input, storing every node's output shape."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.passes.shape_prop import ShapeProp

    # fake tensors: shapes without arithmetic (a large model at a large input costs nothing)
    mode = FakeTensorMode(allow_non_fake_inputs=True)
    with torch.no_grad():
        ShapeProp(graph_module, fake_mode=mode).propagate(torch.empty((1, *input_shape)))


# --------------------------------------------------------------------------- the traced graph -> op rows
@dataclass
class OpRow:
    """One IR op of the imported model, before it is written as a spec row."""

    name: str  # IR name (an identifier)
    op: str
    attrs: dict
    inputs: list[str]  # IR names, "input" for the graph input
    shape: tuple  # traced output shape (without batch)
    source: str  # module path ("features.1.conv.0.0") or the function's scope and name
    type: str  # module class or function name (for messages)
    weights: dict = field(default_factory=dict)  # materialized tensor name -> original's qualified name
    channels_last: bool = False  # PyTorch computed it on an (N, H, W, C) view of the (C, H, W) map


@dataclass
class Imported:
    """The result of :func:`import_model`: the spec and the compiled model, plus how to
    find each IR node's original module (for copying weights)."""

    target: str
    level: str
    spec_text: str
    model: Any  # archcalc.model.Model
    module: nn.Module
    rows: list[OpRow]  # the ops-level rows (one per op)
    sources: dict[str, OpRow]  # IR node name of `model` -> the op row it stands for
    input_shape: tuple[int, int, int]


def _scope_of(node: fx.Node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    return next(reversed(stack), "") if stack else ""


class _Mapper:
    """Walks the traced graph once, in order, turning each node into op rows (or an alias)."""

    def __init__(self, graph_module: fx.GraphModule, original: nn.Module, name: str):
        self.gm, self.name = graph_module, name
        # the original's modules and parameters: fx keeps only what the forward reaches
        self.modules = dict(original.named_modules())
        self.parameters = dict(original.named_parameters())
        self.buffers = dict(original.named_buffers())
        self.rows: list[OpRow] = []
        self.value: dict[fx.Node, str] = {}  # fx node -> IR name holding its tensor
        self.channels_last: set[fx.Node] = set()  # nodes whose tensor is an (N, H, W, C) view
        self.unmapped: list[str] = []
        self.problems: list[str] = []
        self.used_names: set[str] = {INPUT}
        self.shape_of: dict[str, tuple] = {}  # IR name -> (C, H, W) or (N,)
        self.outputs: list[fx.Node] = []
        self.splits: dict[fx.Node, tuple] = {}  # chunk/split nodes -> (source node, part -> Emit)

    def unique(self, base: str) -> str:
        name, count = base, 1
        while name in self.used_names:
            count += 1
            name = f"{base}_{count}"
        self.used_names.add(name)
        return name

    def ir_shape(self, node: fx.Node) -> tuple | None:
        """A node's IR shape: its traced shape without the batch, channels first."""
        if node in self.value:
            return self.shape_of[self.value[node]]
        return traced_shape(node)

    def rule_for(self, node: fx.Node, channels_last: bool) -> tuple[Callable, Any, str]:
        """(rule, first argument for it, type name) or raise Unmapped."""
        where = " on a channels-last (N, H, W, C) view" if channels_last else ""
        if is_split(node) and not channels_last:
            return self.split_rule, node, ("function " + function_name(node.target) if node.op == "call_function"
                                           else f"method Tensor.{node.target}")
        if node.op == "call_function" and node.target is operator.getitem and node.args[0] in self.splits:
            return self.part_rule, node, "function _operator.getitem"
        if node.op == "call_module":
            module = self.modules[node.target]
            rule = (CHANNELS_LAST_MODULES.get(type(module)) if channels_last else module_rule(module))
            if rule is None:
                raise Unmapped("no registry op" + where)
            return rule, module, type(module).__name__
        if node.op == "call_function":
            rule = FUNCTION_OPS.get(node.target) or FUNCTION_OPS_BY_NAME.get(function_name(node.target))
            if rule is None or (channels_last and node.target not in CHANNELS_LAST_FUNCTIONS):
                raise Unmapped("no registry op" + where)
            return rule, node, "function " + function_name(node.target)
        if node.op == "call_method":
            rule = METHOD_OPS.get(node.target)
            if rule is None or (channels_last and node.target not in CHANNELS_LAST_METHODS):
                raise Unmapped("no registry op" + where)
            return rule, node, f"method Tensor.{node.target}"
        raise Unmapped(f"a {node.op} node")

    def split_rule(self, node: fx.Node, shapes: list[tuple]) -> Any:
        """``x.chunk(n, dim=1)`` / ``x.split(size, dim=1)``: a tuple of channel ranges, each
        becoming a ``chunk`` or ``slice`` op where ``getitem`` takes it."""
        names = ("input", "chunks", "dim") if node.target in ("chunk", torch.chunk) else ("input", "split_size_or_sections", "dim")
        bound = bind_args(node.args, node.kwargs, names, {"dim": 0})
        channels = shapes[0][0]
        if len(shapes[0]) != 3 or bound["dim"] % 4 != 1:
            raise Unmapped(f"a split along dim {bound['dim']} (only channels, dim 1, are split into ops)")
        if "chunks" in bound:
            chunks = int(bound["chunks"])
            self.splits[node] = (node.args[0], lambda i: Emit("chunk", {"chunks": chunks, "index": i}))
            return SPLIT
        sizes = bound["split_size_or_sections"]
        sizes = [int(sizes)] * (-(-channels // int(sizes))) if isinstance(sizes, int) else [int(v) for v in sizes]
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        self.splits[node] = (node.args[0], lambda i: Emit("slice", {"start": starts[i],
                                                                    "stop": min(channels, starts[i] + sizes[i])}))
        return SPLIT

    def part_rule(self, node: fx.Node, shapes: list[tuple]) -> list[Emit]:
        source, make = self.splits[node.args[0]]
        emit = make(int(node.args[1]))
        emit.inputs = [source]
        return [emit]

    def describe(self, node: fx.Node) -> tuple[str, str]:
        if node.op == "call_module":
            return node.target, type(self.modules[node.target]).__name__
        scope = _scope_of(node) or "(root)"
        if node.op == "call_function":
            return f"{scope} [{node.name}]", "function " + function_name(node.target)
        if node.op == "call_method":
            return f"{scope} [{node.name}]", f"method Tensor.{node.target}"
        return f"{scope} [{node.name}]", node.op

    def run(self) -> None:
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                if self.value:
                    self.unmapped.append(f"  {node.name} (a second input: specs have one)")
                self.value[node] = INPUT
                self.shape_of[INPUT] = traced_shape(node)
            elif node.op == "output":
                self.outputs = _flat_nodes(node.args[0])
            elif node.op == "get_attr":  # a stored tensor: the rule of the node reading it decides
                node.meta["is_parameter"] = node.target in self.parameters
            else:
                self.map_node(node)
        for node in self.outputs:
            if node in self.channels_last:
                self.problems.append(f"  {self.value[node]}: the model returns a channels-last view")

    def map_node(self, node: fx.Node) -> None:
        path, kind = self.describe(node)
        tensors = [a for a in node.all_input_nodes if a.op != "get_attr"]
        if tensors and tensors[0] in self.splits:  # a part of a split: its source is the tensor
            tensors = [self.splits[tensors[0]][0]]
        if any(a not in self.value for a in tensors):
            return  # an input that was itself unmapped (already listed)
        channels_last = any(a in self.channels_last for a in tensors)
        try:
            rule, subject, kind = self.rule_for(node, channels_last)
            shapes = [self.ir_shape(a) for a in tensors]
            if any(s is None for s in shapes) or (traced_shape(node) is None and not is_split(node)):
                raise Unmapped("a value that is not a single tensor")
            emitted = rule(subject, shapes)
            if emitted == SPLIT:
                return
        except Unmapped as exc:
            self.unmapped.append(f"  {path} ({kind}): {exc}")
            return
        if emitted in (ALIAS, CHANNELS_LAST, CHANNELS_FIRST):
            self.alias(node, tensors[0], emitted, channels_last, path, kind)
            return
        missing = [e.op for e in emitted if e.op not in known_ops()]
        if missing:
            self.unmapped.append(f"  {path} ({kind}): needs op {missing[0]!r}, which the registry does not have")
            return
        base = ir_name(node.target if node.op == "call_module" else
                       (f"{_scope_of(node)}.{node.name}" if _scope_of(node) else node.name))
        traced = traced_shape(node)
        if channels_last and len(traced) == 3:
            traced = (traced[2], traced[0], traced[1])
        previous = None
        for index, emit in enumerate(emitted):
            inputs = emit.inputs if emit.inputs is not None else ([previous] if previous else tensors[:1])
            names = [self.value[i] if isinstance(i, fx.Node) else i for i in inputs]
            attrs = _full_attrs(emit.op, emit.attrs)
            try:  # the registry's shape rule must give what PyTorch computed
                shape = tuple(get_op(emit.op).shape(attrs, [self.shape_of[n] for n in names]))
            except Exception as exc:
                self.problems.append(f"  {path} ({kind}): op {emit.op} rejects its inputs: {exc}")
                return
            last = index == len(emitted) - 1
            if last and shape != traced:
                self.problems.append(f"  {path} ({kind}): PyTorch gives shape {traced}, op {emit.op} gives {shape}")
                return
            weights = dict(emit.weights)
            if last and node.op == "call_module":  # the module's own tensors
                weights.update({key: f"{node.target}.{key}" for key in self.modules[node.target].state_dict()})
            name = self.unique(base if not emit.suffix else f"{base}_{emit.suffix}")
            self.rows.append(OpRow(name, emit.op, attrs, names, shape,
                                   node.target if node.op == "call_module" else path, kind, weights, channels_last))
            self.shape_of[name] = shape
            self.check_params(self.rows[-1], [self.shape_of[n] for n in names])
            previous = name
        self.value[node] = previous
        if channels_last:
            self.channels_last.add(node)

    def alias(self, node: fx.Node, source: fx.Node, kind: str, channels_last: bool, path: str, what: str) -> None:
        """A node that is no op: the identity, or a permute that only changes the layout."""
        self.value[node] = self.value[source]
        if kind == ALIAS:
            if channels_last:
                self.channels_last.add(node)
            return
        if (kind == CHANNELS_LAST) == channels_last or len(self.shape_of[self.value[source]]) != 3:
            self.unmapped.append(f"  {path} ({what}): a permute that is not NCHW <-> NHWC of a feature map")
            del self.value[node]
            return
        if kind == CHANNELS_LAST:
            self.channels_last.add(node)

    def check_params(self, row: OpRow, shapes: list[tuple]) -> None:
        """The tensors an op takes from the model must be exactly what the op counts."""
        counted = get_op(row.op).params(row.attrs, shapes, row.shape)
        state = {**self.parameters, **self.buffers}
        trainable = sum(state[q].numel() for q in row.weights.values() if q in self.parameters)
        stats = sum(state[q].numel() for k, q in row.weights.items() if k.split(".")[-1] in ("running_mean", "running_var"))
        expected = counted.weights + counted.bias + counted.bn_affine
        if trainable != expected or stats != counted.bn_stats:
            names = ", ".join(f"{q} {tuple(state[q].shape)}" for q in row.weights.values() if q in self.parameters)
            self.problems.append(f"  {row.source} ({row.type}): has {trainable:,} parameters ({names or 'none'}) and "
                                 f"{stats:,} BN statistics; op {row.op} accounts for {expected:,} and {counted.bn_stats:,}")

    def check_unused_parameters(self) -> None:
        """Every parameter of the model must be used by exactly one op."""
        users: dict[str, list[str]] = {}
        for row in self.rows:
            for qualified in row.weights.values():
                if qualified in self.parameters:
                    users.setdefault(qualified, []).append(row.source)
        for qualified, rows in users.items():
            if len(rows) > 1:
                self.problems.append(f"  {qualified}: shared by {len(rows)} ops ({', '.join(sorted(set(rows)))}); "
                                     "the IR counts each op's own parameters")
        stray: dict[str, int] = {}
        for qualified, parameter in self.parameters.items():
            if qualified not in users:
                owner = qualified.rpartition(".")[0]
                stray[owner] = stray.get(owner, 0) + parameter.numel()
        for owner, count in stray.items():
            module = self.modules.get(owner)
            what = type(module).__name__ if module is not None else "?"
            self.problems.append(f"  {owner or '(root)'} ({what}): {count:,} parameters no imported op uses "
                                 "(a module the forward never calls, or a tensor read by an unmapped function)")


def _flat_nodes(value: Any) -> list[fx.Node]:
    found: list[fx.Node] = []
    fx.graph.map_arg(value, lambda n: found.append(n) or n)
    return found


def _full_attrs(kind: str, attrs: dict) -> dict:
    """``attrs`` with the op's defaults filled in (what the compiler would hand the rules)."""
    full = {key: schema.default for key, schema in get_op(kind).attrs.items() if not schema.required}
    full.update(attrs)
    return full


def map_graph(graph_module: fx.GraphModule, original: nn.Module, name: str) -> tuple[list[OpRow], list[str]]:
    """The op rows of a traced, shape-annotated graph of ``original`` and its outputs' names."""
    mapper = _Mapper(graph_module, original, name)
    mapper.run()
    if mapper.unmapped:
        raise ModelImportError(f"{name}: {len(mapper.unmapped)} node(s) have no exact registry op:\n"
                               + "\n".join(mapper.unmapped))
    mapper.check_unused_parameters()
    if mapper.problems:
        raise ModelImportError(f"{name}: {len(mapper.problems)} problem(s) stand between the model and an exact import:\n"
                               + "\n".join(mapper.problems))
    outputs = [mapper.value[n] for n in mapper.outputs]
    return mapper.rows, outputs


# --------------------------------------------------------------------------- writing the spec
def spec_header(target: Target | str, name: str, input_shape: tuple, classes: int | None, defaults: dict,
                rounding: dict, outputs: list[str] | None) -> list[str]:
    import torch as _torch

    text = target.text if isinstance(target, Target) else target
    versions = f"torch {_torch.__version__}"
    if "torchvision" in sys.modules:
        versions += f", torchvision {sys.modules['torchvision'].__version__}"
    lines = [
        f"# Imported from {text} by `archcalc import` ({versions}).",
        "# Channel counts are absolute (width 1); --width scales every one of them by the",
        "# spec's rounding rule, which is not necessarily the original builder's width rule.",
        f"name: {scalar(name)}",
        f"source: {scalar(text)}",
        f"input: {flow({'channels': input_shape[0], 'resolution': input_shape[1]})}",
        "width: 1.0",
    ]
    if classes is not None:
        lines.append(f"classes: {classes}")
    lines.append(f"rounding: {flow(rounding)}")
    if defaults:
        lines.append(f"defaults: {flow(defaults)}")
    if outputs:
        lines.append(f"outputs: [{', '.join(outputs)}]")
    lines.append("layers:")
    return lines


def _logits_row(rows: list[OpRow], outputs: list[str]) -> OpRow | None:
    """The classifier: the single output, a linear layer (or 1x1 conv) giving a flat vector."""
    if len(outputs) != 1:
        return None
    row = next(r for r in rows if r.name == outputs[0])
    if row.op == "linear":
        return row
    return None


# --------------------------------------------------------------------------- the library entry point
def import_model(target: str, *, input: str | Sequence[int] | None = None, classes: int | None = None,
                 kwargs: dict | None = None, level: str = "blocks", blocks_file: str | Path | None = None) -> Imported:
    """Import TARGET (``torchvision:mobilenet_v2``, ``package.module:callable`` or
    ``path/file.py:callable``) as a spec at ``level`` ``"ops"`` or ``"blocks"``.

    Raises :class:`ModelImportError` (one message naming every problem) when the model
    cannot be imported exactly.
    """
    if level not in ("ops", "blocks"):
        raise ModelImportError(f"--level must be ops or blocks, got {level!r}")
    resolved = resolve_target(target, kwargs, classes)
    if input is None:
        input_shape = resolved.input_shape or DEFAULT_INPUT
    elif isinstance(input, str):
        input_shape = parse_input(input)
    else:
        input_shape = parse_input("x".join(map(str, input)))
    graph_module = trace(resolved.module, resolved.text)
    try:
        propagate_shapes(graph_module, input_shape)
    except Exception as exc:  # a shape the model cannot take (too small an input, wrong channels)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelImportError(f"{resolved.text}: the model does not run on a {'x'.join(map(str, input_shape))} "
                               f"input: {first}") from None
    rows, outputs = map_graph(graph_module, resolved.module, resolved.text)
    logits = _logits_row(rows, outputs)
    n_classes = logits.attrs["out"] if logits is not None else None
    from archcalc.recognize import build_spec_text

    text, sources = build_spec_text(rows, outputs, input_shape, level=level, blocks_file=blocks_file,
                                    header=lambda defaults, rounding, outs: spec_header(
                                        resolved, resolved.name, input_shape, n_classes, defaults, rounding, outs),
                                    logits=logits.name if logits is not None else None)
    model = compile_text(text, resolved.text)
    check_against_rows(model, rows, sources, resolved.text)
    return Imported(resolved.text, level, text, model, resolved.module, rows, sources, input_shape)


def compile_text(text: str, display: str):
    """Load and compile spec text (an imported spec lives in memory until written)."""
    from archcalc.compiler import compile_spec
    from archcalc.spec.loader import Spec, _check_top_level, _validate
    from archcalc.spec.yamlio import parse_yaml

    data = parse_yaml(text, display, tag=True)
    _check_top_level(data, display)
    spec = Spec(path=display, data=data, files={key: display for key in data})
    _validate(spec)
    return compile_spec(spec)


def check_against_rows(model: Any, rows: list[OpRow], sources: dict[str, OpRow], display: str) -> None:
    """The compiled spec must be the traced graph, op for op: every traced op exactly once,
    with its kind, attributes, shape and inputs (a wrong mapping or a wrongly recognized
    block fails here, loudly, instead of costing something else)."""
    from archcalc.recognize import _normalized, _same_inputs

    def fail(message: str) -> None:
        raise ModelImportError(f"{display}: the imported spec is not the traced model: {message}")

    compiled = [name for name in model.order if name != INPUT]
    if sorted(compiled) != sorted(sources) or len({id(r) for r in sources.values()}) != len(rows):
        fail(f"{len(compiled)} ops compiled for {len(rows)} traced")
    for name in compiled:
        node, row = model.node(name), sources[name]
        inputs = [INPUT if i == INPUT else sources[i].name for i in node["inputs"]]
        if _normalized(node["op"], node["attrs"]) != _normalized(row.op, row.attrs):
            fail(f"{name} is {node['op']} {node['attrs']}, {row.source} is {row.op} {row.attrs}")
        if tuple(node["shape"]) != tuple(row.shape) or not _same_inputs(row.op, inputs, row.inputs):
            fail(f"{name} has shape {node['shape']} from {inputs}; {row.source} has {row.shape} from {row.inputs}")


@torch.no_grad()
def copy_weights(imported: Imported, net: nn.Module) -> None:
    """Load the original model's parameters and BN statistics into a materialized network
    (a linear layer read as a 1x1 convolution takes its weight reshaped)."""
    state = imported.module.state_dict()
    for name, row in imported.sources.items():
        if not row.weights:
            continue
        target = net.get_submodule(name).state_dict()
        for key, qualified in row.weights.items():
            if key in target:
                target[key].copy_(state[qualified].reshape(target[key].shape))


__all__ = ["Imported", "ModelImportError", "OpRow", "copy_weights", "import_model", "map_graph", "resolve_target",
           "trace"]
