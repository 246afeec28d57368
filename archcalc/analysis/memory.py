"""Peak activation memory of a compiled model: timeline, orders, arena, t-way split.

The model (the paper's Section 5.1, M(G) for one order):

* A schedule is a topological order of the IR. Each op writes one tensor. A tensor is
  allocated when its producer runs and freed after its last consumer; the bytes of a step
  are everything live while the op runs (its inputs, its output, all tensors still needed
  later) plus its declared scratch. The peak is the maximum over steps.
* Some ops write no new buffer, and the timeline says so in ``alias``:
  ``folded_bn`` (batch norm folded into the conv before it, ``fold_bn``), ``inplace``
  (an activation overwriting its input, ``inplace_activations``), ``inplace_depthwise``
  (the MCUNet/TinyEngine trick), ``view`` (flatten, dropout, identity: the op's
  ``aliases_input``). An op may overwrite its input only if it is the only reader of that
  buffer, the buffer is not a graph output, and it is not the caller's input tensor.
* ``hold_input``: the caller keeps the input tensor until the end (a PyTorch ``forward(x)``
  does); when off it is freed after its last reader, as a firmware runtime does.
* ``split=t``: every inverted-residual block with an expansion is one operation that
  computes its expanded tensor in ``t`` channel slices (Section 5.1): it needs
  |input| + |output| + one slice of the inner tensors, ceil(n / t) channels.

Nothing here imports pandas or matplotlib at module level; the DataFrame and the Figure are
built on request.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Sequence

from archcalc.analysis.schedule import HEURISTICS, Problem, SearchResult, check_order, exact_order, heuristic_order
from archcalc.ops import get_op, numel

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

    from archcalc.model import Model

DTYPE_BYTES = {"float32": 4, "float16": 2, "int8": 1}
ORDERS = ("program", "optimal", *HEURISTICS)
ALIGNMENTS = (1, 16, 64, 512)
FOLDABLE_INTO = ("conv2d", "depthwise_conv2d")


@dataclass(frozen=True)
class MemoryConfig:
    """Every switch behind a peak; :meth:`describe` prints them with each result."""

    dtype: str = "float32"
    batch: int = 1
    fold_bn: bool = True
    inplace_activations: bool = True
    inplace_depthwise: bool = False
    hold_input: bool = True
    split: int | None = None
    alignment: int = 16  # arena offsets and sizes are multiples of this

    def __post_init__(self) -> None:
        if self.dtype not in DTYPE_BYTES:
            raise ValueError(f"unknown dtype {self.dtype!r} (known: {', '.join(DTYPE_BYTES)})")
        if isinstance(self.batch, bool) or not isinstance(self.batch, int) or self.batch < 1:
            raise ValueError(f"batch must be an integer >= 1, got {self.batch!r}")
        if self.split is not None and (isinstance(self.split, bool) or not isinstance(self.split, int) or self.split < 1):
            raise ValueError(f"split must be an integer >= 1, got {self.split!r}")
        if self.alignment not in ALIGNMENTS:
            raise ValueError(f"alignment must be one of {', '.join(map(str, ALIGNMENTS))}, got {self.alignment!r}")

    @property
    def element_bytes(self) -> int:
        return DTYPE_BYTES[self.dtype]

    def describe(self) -> str:
        return "; ".join([
            f"{self.dtype} ({self.element_bytes} B/element), batch {self.batch}",
            "BN folded into conv" if self.fold_bn else "BN kept as its own tensor",
            f"activations {'in place' if self.inplace_activations else 'out of place'}",
            f"depthwise {'in place' if self.inplace_depthwise else 'out of place'}",
            f"input {'held by the caller' if self.hold_input else 'freed after its last reader'}",
            f"t-way split {self.split}" if self.split else "no block split",
        ])

    def as_dict(self) -> dict:
        return {**asdict(self), "text": self.describe()}


# Named conventions: the settings behind a published figure.
CONVENTIONS: dict[str, MemoryConfig] = {
    # PyTorch eager inference: fp32, conv+BN fused, relu6_ in place, caller holds x.
    "pytorch": MemoryConfig(),
    # MCUNet (Lin et al. 2020) / TinyEngine: int8, BN folded, in-place depthwise, the
    # input buffer is the runtime's and is reused once read.
    "mcunet": MemoryConfig(dtype="int8", inplace_depthwise=True, hold_input=False),
}


# ---------------------------------------------------------------------- the problem
@dataclass
class MemoryGraph:
    """The IR as the planner sees it: maybe fused blocks, plus aliasing per node."""

    problem: Problem
    ops: list[str]
    shapes: list[tuple]
    alias: list[str | None]
    fused: dict[str, list[str]] = field(default_factory=dict)  # fused block -> IR nodes inside


def split_blocks(model: "Model") -> list:
    """Blocks the t-way split applies to: the inverted residuals (with or without expansion)."""
    return [b for b in model.blocks if b.type == "bottleneck" and f"{b.name}.dw.conv" in model.graph]


def split_scratch(model: "Model", block, t: int, config: MemoryConfig) -> int:
    """Bytes of one slice of a block's inner tensors, ceil(n/t) of its n inner channels: the
    expanded slice at the input resolution (when the block expands) plus, unless depthwise
    runs in place on it, the slice after the depthwise conv."""
    graph = model.graph
    n, ho, wo = graph.nodes[f"{block.name}.dw.conv"]["shape"]
    m = math.ceil(n / t)
    expands = f"{block.name}.expand.conv" in graph
    _, h, w = block.input_shape
    per = (m * h * w if expands else 0) + (0 if config.inplace_depthwise and expands else m * ho * wo)
    return per * config.element_bytes * config.batch


def split_madds(model: "Model", block, t: int) -> int:
    """MAdds of a block computed as t slices, each slice costed by the registry's own rules
    (expansion to the slice's channels, depthwise on them, projection from them)."""
    graph = model.graph
    total = 0
    hidden = graph.nodes[f"{block.name}.dw.conv"]["shape"][0]
    slices = [hidden // t + (1 if i < hidden % t else 0) for i in range(t)]
    for name, data in graph.nodes(data=True):
        if not name.startswith(block.name + "."):
            continue
        op = get_op(data["op"])
        if name in (f"{block.name}.expand.conv", f"{block.name}.dw.conv", f"{block.name}.project.conv"):
            for m in filter(None, slices):
                attrs, ins, out = dict(data["attrs"]), [tuple(s) for s in data["in_shapes"]], tuple(data["shape"])
                if name.endswith("expand.conv"):
                    attrs["out"], out = m, (m, *out[1:])
                elif name.endswith("dw.conv"):
                    ins, out = [(m, *ins[0][1:])], (m, *out[1:])
                else:
                    ins = [(m, *ins[0][1:])]
                total += op.cost(attrs, ins, out).madds
        else:
            total += data["cost"].madds
    return total


def _fusion(model: "Model", config: MemoryConfig) -> tuple[dict[str, object], dict[str, str]]:
    """(IR node -> its fused block, when in one; block output -> block name)."""
    if not config.split:
        return {}, {}
    inside, renamed = {}, {}
    for block in split_blocks(model):
        for name in model.graph.nodes:
            if name.startswith(block.name + "."):
                inside[name] = block
        renamed[block.output] = block.name
    return inside, renamed


def memory_graph(model: "Model", config: MemoryConfig) -> MemoryGraph:
    """Build the planner's :class:`Problem` from the IR under ``config``."""
    graph, element = model.graph, config.element_bytes * config.batch
    inside, renamed = _fusion(model, config)
    names, ops, shapes, inputs, scratch, fused = [], [], [], [], [], {}
    for name in model.order:
        block = inside.get(name)
        if block is not None:
            if block.name in fused:
                fused[block.name].append(name)
                continue
            fused[block.name] = [name]
            names.append(block.name)
            ops.append(f"bottleneck/split{config.split}")
            shapes.append(tuple(block.output_shape))
            inputs.append([renamed.get(block.input, block.input)])
            scratch.append(split_scratch(model, block, config.split, config))
            continue
        data = graph.nodes[name]
        names.append(name)
        ops.append(data["op"])
        shapes.append(tuple(data["shape"]))
        inputs.append(list(dict.fromkeys(renamed.get(i, i) for i in data["inputs"])))
        scratch.append(get_op(data["op"]).scratch(data["attrs"], data["in_shapes"], data["shape"]) * element)
    index = {n: i for i, n in enumerate(names)}
    preds = [[index[i] for i in ins] for ins in inputs]
    readers: list[set[int]] = [set() for _ in names]
    for v, ps in enumerate(preds):
        for p in ps:
            readers[p].add(v)
    outputs = {index[renamed.get(o, o)] for o in model.outputs}
    buf, alias = list(range(len(names))), [None] * len(names)
    members: dict[int, list[int]] = {}

    def may_overwrite(p: int, v: int) -> bool:
        b = buf[p]
        if ops[b] == "input" or any(m in outputs for m in members[b]):
            return False
        return all(r == v or r in members[b] for m in members[b] for r in readers[m])

    for v, op_kind in enumerate(ops):
        kind = None
        if preds[v] and names[v] not in fused:
            opdef, p = get_op(op_kind), preds[v][0]
            if opdef.aliases_input:
                kind = "view"
            elif op_kind == "batch_norm":
                if config.fold_bn and ops[p] in FOLDABLE_INTO and readers[p] == {v} and p not in outputs:
                    kind = "folded_bn"
            elif opdef.elementwise_inplace and config.inplace_activations and may_overwrite(p, v):
                kind = "inplace"
            elif op_kind == "depthwise_conv2d" and config.inplace_depthwise and may_overwrite(p, v):
                kind = "inplace_depthwise"
            if kind:
                buf[v] = buf[p]
        alias[v] = kind
        members.setdefault(buf[v], []).append(v)
    permanent = {buf[o] for o in outputs}
    if config.hold_input:
        permanent |= {buf[i] for i, k in enumerate(ops) if k == "input"}
    problem = Problem(names=names, preds=preds, size=buffer_sizes(shapes, preds, alias, element), buf=buf,
                      scratch=scratch, permanent=permanent)
    return MemoryGraph(problem=problem, ops=ops, shapes=shapes, alias=alias, fused=fused)


def buffer_sizes(shapes: list[tuple], preds: list[list[int]], alias: list[str | None], element: int) -> list[int]:
    """Bytes each node's buffer holds once it has run. A view (a channel slice, a flatten)
    holds the whole storage it looks into, however few elements it shows, and an
    activation in place on such a view keeps that storage too: PyTorch frees a storage only
    when its last view dies. Every other node holds its own tensor."""
    sizes = []
    for v, shape in enumerate(shapes):
        size = numel(shape) * element
        if alias[v] in ("view", "inplace"):
            size = max(size, sizes[preds[v][0]])
        sizes.append(size)
    return sizes


# ---------------------------------------------------------------------- results
@dataclass(frozen=True)
class Step:
    index: int
    node: str
    op: str
    shape: tuple
    bytes: int  # live while the op runs, scratch included
    live_after: int
    out_bytes: int
    scratch_bytes: int
    buffer: str  # the buffer the op writes, named after the op that allocated it
    alias: str | None  # why no new buffer: folded_bn, inplace, inplace_depthwise, view
    live: tuple  # (tensor, bytes) for every buffer live during the step, by its latest writer
    freed: tuple  # tensors freed right after the step

    def as_dict(self) -> dict:
        data = asdict(self)
        data["shape"] = list(self.shape)
        data["live"] = [{"tensor": t, "bytes": b} for t, b in self.live]
        data["freed"] = list(self.freed)
        return data


@dataclass(frozen=True)
class Allocation:
    buffer: str
    offset: int
    size: int
    first: int  # first step it is live
    last: int  # last step it is live


@dataclass(frozen=True)
class ArenaPlan:
    alignment: int
    allocations: tuple
    arena_bytes: int

    def as_dict(self) -> dict:
        return {"alignment": self.alignment, "arena_bytes": self.arena_bytes,
                "allocations": [asdict(a) for a in self.allocations]}


@dataclass
class MemoryResult:
    model: str
    config: MemoryConfig
    order_name: str
    order: list[str]
    steps: list[Step]
    arena: ArenaPlan | None = None
    search: SearchResult | None = None
    fused: dict = field(default_factory=dict)

    @property
    def peak_step(self) -> Step:
        return max(self.steps, key=lambda s: (s.bytes, -s.index))

    @property
    def peak_bytes(self) -> int:
        return self.peak_step.bytes

    @property
    def peak_at(self) -> str:
        return self.peak_step.node

    @property
    def arena_bytes(self) -> int | None:
        return self.arena.arena_bytes if self.arena else None

    @property
    def convention(self) -> str:
        return self.config.describe()

    def per_resolution(self) -> list[dict]:
        """Largest step and widest tensor at each output resolution (H x W; 1x1 for vectors)."""
        rows: dict[str, dict] = {}
        for step in self.steps:
            res = f"{step.shape[1]}x{step.shape[2]}" if len(step.shape) == 3 else "1x1"
            row = rows.setdefault(res, {"resolution": res, "peak_bytes": -1, "peak_at": "", "max_channels": 0})
            if step.bytes > row["peak_bytes"]:
                row["peak_bytes"], row["peak_at"] = step.bytes, step.node
            row["max_channels"] = max(row["max_channels"], step.shape[0])
        return list(rows.values())

    def timeline_frame(self) -> "pd.DataFrame":
        import pandas as pd

        frame = pd.DataFrame([{
            "step": s.index, "node": s.node, "op": s.op, "shape": "x".join(map(str, s.shape)), "bytes": s.bytes,
            "live_after": s.live_after, "out_bytes": s.out_bytes, "scratch_bytes": s.scratch_bytes,
            "buffer": s.buffer, "alias": s.alias, "live": ", ".join(t for t, _ in s.live), "freed": ", ".join(s.freed),
        } for s in self.steps]).set_index("step")
        frame.attrs["convention"] = self.convention
        return frame

    def figure(self) -> "Figure":
        return timeline_figure(self)

    def as_dict(self) -> dict:
        search = None
        if self.search is not None:
            s = self.search
            search = {"optimal": s.optimal, "lower_bound": s.lower_bound, "gap": s.gap, "segments": s.segments,
                      "states": s.states, "method": s.method}
        return {
            "model": self.model, "peak_bytes": self.peak_bytes, "peak_at": self.peak_at,
            "peak_live": [{"tensor": t, "bytes": b} for t, b in self.peak_step.live],
            "arena_bytes": self.arena_bytes, "order_name": self.order_name, "order": self.order,
            "convention": self.config.as_dict(), "search": search, "per_resolution": self.per_resolution(),
            "fused_blocks": self.fused, "timeline": [s.as_dict() for s in self.steps],
        }


# ---------------------------------------------------------------------- simulate
def _names_to_indices(mg: MemoryGraph, order: Sequence[str]) -> list[int]:
    index = mg.problem.index
    unknown = [n for n in order if n not in index]
    if unknown:
        hint = " (with split, blocks are scheduled as one node named after the block)" if mg.fused else ""
        raise ValueError(f"unknown node {unknown[0]!r} in the order{hint}")
    return [index[n] for n in order]


def simulate_problem(mg: MemoryGraph, order: Sequence[int]) -> list[Step]:
    """Run ``order`` through the alloc/free model and record each step."""
    p = mg.problem
    check_order(p, order)
    # A tensor is named after the op that last wrote it, except that a folded batch norm
    # writes nothing of its own: its buffer keeps the conv's name (the timeline never shows a
    # ".bn" tensor live under "BN folded into conv").
    label = list(p.names)
    for v in range(len(label)):
        if mg.alias[v] == "folded_bn":
            label[v] = label[p.preds[v][0]]
    done, live, steps = 0, 0, []
    # The buffers alive before each step, kept incrementally: only the step's own buffer and
    # the buffers it frees can change state, so a step costs its live set, not the whole
    # graph (a 10,000-node network was quadratic here). Listed in buffer order, as before.
    position = {c: k for k, c in enumerate(p.members)}
    alive: set[int] = set()
    for i, v in enumerate(order):
        b = p.buf[v]
        during, after, freed = p.step(done, live, v)
        tensors = []
        for c in sorted(alive | {b}, key=position.__getitem__):
            if c == b:
                held = max(p.current(c, done) if c != v else 0, p.size[v])
                tensors.append((label[v], held))
            else:
                latest = next(m for m in reversed(p.members[c]) if done >> m & 1)
                tensors.append((label[latest], p.size[latest]))
        if p.scratch[v]:
            tensors.append((f"{p.names[v]}:scratch", p.scratch[v]))
        done |= 1 << v
        for c in (b, *freed):
            if p.alive(c, done):
                alive.add(c)
            else:
                alive.discard(c)
        freed_names = tuple(label[next(m for m in reversed(p.members[c]) if done >> m & 1)] for c in freed)
        steps.append(Step(index=i, node=p.names[v], op=mg.ops[v], shape=mg.shapes[v], bytes=during, live_after=after,
                          out_bytes=p.size[v], scratch_bytes=p.scratch[v], buffer=p.names[b], alias=mg.alias[v],
                          live=tuple(tensors), freed=freed_names))
        live = after
    return steps


def simulate(model: "Model", order: Sequence[str], config: MemoryConfig = MemoryConfig()) -> MemoryResult:
    """The timeline of running ``order`` (node names) under ``config``."""
    mg = memory_graph(model, config)
    steps = simulate_problem(mg, _names_to_indices(mg, order))
    return MemoryResult(model=model.name, config=config, order_name="given", order=list(order), steps=steps,
                        fused=mg.fused)


def _order_indices(mg: MemoryGraph, order: str, time_limit: float | None,
                   progress=None) -> tuple[list[int], SearchResult | None]:
    p = mg.problem
    if order == "program":
        return list(range(len(p))), None
    if order == "optimal":
        result = exact_order(p, time_limit=time_limit, progress=progress)
        return result.order, result
    return heuristic_order(p, order), None


def schedule(model: "Model", order: str = "program", config: MemoryConfig = MemoryConfig(),
             time_limit: float | None = 60.0) -> list[str]:
    """Node names in the order ``order`` names: program, optimal, or a heuristic."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r} (known: {', '.join(ORDERS)})")
    mg = memory_graph(model, config)
    indices, _ = _order_indices(mg, order, time_limit)
    return [mg.problem.names[i] for i in indices]


def analyze_memory(model: "Model", order: str | Sequence[str] = "program", config: MemoryConfig = MemoryConfig(),
                   time_limit: float | None = 60.0, progress=None) -> MemoryResult:
    """Peak, timeline and arena plan of ``model`` for an order (a name or a list of nodes).

    ``progress`` is handed to the optimal search (:func:`archcalc.analysis.schedule.exact_order`)."""
    mg = memory_graph(model, config)
    search = None
    if isinstance(order, str):
        if order not in ORDERS:
            raise ValueError(f"unknown order {order!r} (known: {', '.join(ORDERS)})")
        indices, search = _order_indices(mg, order, time_limit, progress)
        name = order
    else:
        indices, name = _names_to_indices(mg, order), "given"
    steps = simulate_problem(mg, indices)
    return MemoryResult(model=model.name, config=config, order_name=name,
                        order=[mg.problem.names[i] for i in indices], steps=steps,
                        arena=plan_arena(steps, config.alignment), search=search, fused=mg.fused)


# ---------------------------------------------------------------------- arena
def _align(value: int, alignment: int) -> int:
    return -(-value // alignment) * alignment


def buffer_lifetimes(steps: Sequence[Step]) -> dict[str, tuple[int, int, int]]:
    """buffer -> (first step, last step, largest bytes it holds), read off the timeline."""
    buffer_of = {s.node: s.buffer for s in steps}
    spans: dict[str, list[int]] = {}
    for step in steps:
        for tensor, size in step.live:
            span = spans.setdefault(buffer_of.get(tensor, tensor), [step.index, step.index, size])
            span[1], span[2] = step.index, max(span[2], size)
    return {k: tuple(v) for k, v in spans.items()}


def plan_arena(steps: Sequence[Step], alignment: int = 16) -> ArenaPlan:
    """Offsets for every buffer: largest first, each into the smallest gap that fits among
    the buffers whose lifetimes overlap it (greedy by size, best fit)."""
    spans = buffer_lifetimes(steps)
    placed: list[Allocation] = []
    for name, (first, last, size) in sorted(spans.items(), key=lambda kv: (-kv[1][2], kv[1][0], kv[0])):
        size = _align(size, alignment)
        busy = sorted((a.offset, a.offset + a.size) for a in placed if a.first <= last and first <= a.last)
        best, cursor = None, 0
        for lo, hi in busy:
            gap = lo - cursor
            if gap >= size and (best is None or gap < best[1]):
                best = (cursor, gap)
            cursor = max(cursor, hi)
        offset = best[0] if best else cursor
        placed.append(Allocation(buffer=name, offset=offset, size=size, first=first, last=last))
    arena = max((a.offset + a.size for a in placed), default=0)
    plan = ArenaPlan(alignment=alignment, allocations=tuple(placed), arena_bytes=arena)
    overlaps = arena_overlaps(plan)
    if overlaps:  # a planner bug, never a user error
        raise RuntimeError(f"arena plan overlaps live buffers: {overlaps[0]}")
    return plan


def arena_overlaps(plan: ArenaPlan) -> list[tuple[str, str]]:
    """Pairs of buffers alive at the same step whose byte ranges intersect (should be none)."""
    bad = []
    allocs = plan.allocations
    for i, a in enumerate(allocs):
        for b in allocs[i + 1:]:
            if a.first <= b.last and b.first <= a.last and a.offset < b.offset + b.size and b.offset < a.offset + a.size:
                bad.append((a.buffer, b.buffer))
    return bad


# ---------------------------------------------------------------------- plot
def timeline_figure(result: MemoryResult) -> "Figure":
    """Live bytes per step with the peak marked (a Figure; no pyplot state)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), layout="constrained")
    ax = fig.add_subplot()
    xs = [s.index for s in result.steps]
    ys = [s.bytes / 1024 for s in result.steps]
    ax.step(xs, ys, where="mid", color="tab:blue", label="live during op")
    ax.fill_between(xs, ys, step="mid", alpha=0.2, color="tab:blue")
    peak = result.peak_step
    ax.plot([peak.index], [peak.bytes / 1024], "o", color="tab:red")
    ax.annotate(f"peak {peak.bytes:,} B\n{peak.node}", (peak.index, peak.bytes / 1024), textcoords="offset points",
                xytext=(10, -10), fontsize=8, color="tab:red", va="top", parse_math=False)
    if result.arena_bytes:
        ax.axhline(result.arena_bytes / 1024, color="gray", ls="--", lw=0.8, label="arena")
    ax.set_xlabel(f"step ({result.order_name} order)")
    ax.set_ylabel("KiB")
    # names come from the spec: "$...$" in one is text, not matplotlib mathtext
    ax.set_title(f"{result.model}: {result.convention}", fontsize=8, parse_math=False)
    ax.legend(loc="upper right", fontsize=8)
    return fig


# ---------------------------------------------------------------------- the paper's Table 3
# MobileNetV2 paper (arXiv 1801.04381) Table 3, "max number of channels / memory (in Kb)",
# 16-bit activations, read from the one copy of the published tables
# (archcalc/reference/published_tables.csv, rows t3.*: the v4 cells and both max rows).
TABLE3_NETWORKS = ("mobilenet_v1", "mobilenet_v2", "shufflenet_v1_g3")  # the printed column order


@lru_cache(maxsize=1)
def published_table3() -> tuple[dict[str, dict[int, tuple[int, int]]], dict[str, dict[str, int]]]:
    """(network -> resolution -> (channels, kB), version -> network -> max kB) as printed."""
    import csv
    from importlib import resources

    text = resources.files("archcalc").joinpath("reference/published_tables.csv").read_text(encoding="utf-8")
    rows = {row["id"]: row["printed"] for row in csv.DictReader(text.splitlines())}
    cells: dict[str, dict[int, tuple[int, int]]] = {net: {} for net in TABLE3_NETWORKS}
    for res in (112, 56, 28, 14, 7, 1):
        for net, cell in zip(TABLE3_NETWORKS, rows[f"t3.v4.{res}"].split("|")):
            channels, kb = cell.strip().rstrip("K").split("/")  # "400/600K" is printed so
            cells[net][res] = (int(channels), int(kb))
    max_kb = {version: {net: int(cell.strip().rstrip("K")) for net, cell in zip(TABLE3_NETWORKS, rows[row].split("|"))}
              for version, row in (("v4", "t3.v4.max"), ("earlier", "t3.v1.max"))}
    return cells, max_kb


TABLE3_CONVENTIONS = {
    "tensor": "largest tensor materialized at each resolution (block view: inverted-residual inner tensors "
              "never materialized; first layer fused into the next for MobileNetV2 and ShuffleNet), "
              "channels x H x W x 2 B, KB = 1000 B, floored",
    "block-input": "each block or layer charged at its INPUT resolution with its OUTPUT channels "
                   "(a reading that fits MobileNetV2's 56..14 rows), channels x H_in x W_in x 2 B",
}


def table3_cells(model: "Model", convention: str = "tensor") -> dict[int, tuple[int, int]]:
    """resolution -> (max channels, KB) for one model under a named Table 3 convention."""
    if convention not in TABLE3_CONVENTIONS:
        raise ValueError(f"unknown Table 3 convention {convention!r} (known: {', '.join(TABLE3_CONVENTIONS)})")
    config = MemoryConfig(dtype="float16", split=10**6 if split_blocks(model) else None)
    mg = memory_graph(model, config)
    p = mg.problem
    first = next(v for v in range(len(p)) if mg.ops[v] != "input")
    fused_first = model.name in ("mobilenet_v2", "shufflenet_v1_g3")  # the caption's first-layer trick
    cells: dict[int, int] = {}
    for v in range(len(p)):
        if mg.alias[v] is not None or mg.ops[v] == "input" or (fused_first and v == p.buf[first]):
            continue
        channels = mg.shapes[v][0]
        if convention == "tensor":
            res = mg.shapes[v][1] if len(mg.shapes[v]) == 3 else 1
        else:
            source = mg.shapes[p.preds[v][0]]
            res = source[1] if len(source) == 3 else 1
        cells[res] = max(cells.get(res, 0), channels)
    return {res: (c, c * res * res * 2 // 1000) for res, c in cells.items()}


def table3(models: Sequence["Model"]) -> list[dict]:
    """Table 3 cell by cell: published (v4) beside both named conventions, and which fit
    (channels equal and KB within 1 of the printed value)."""
    rows = []
    table, max_kb = published_table3()
    for model in models:
        published = table.get(model.name, {})
        computed = {name: table3_cells(model, name) for name in TABLE3_CONVENTIONS}
        for res, (pub_c, pub_kb) in published.items():
            row = {"model": model.name, "resolution": f"{res}x{res}", "published": f"{pub_c}/{pub_kb}"}
            fits = []
            for name, cells in computed.items():
                c, kb = cells.get(res, (0, 0))
                row[name] = f"{c}/{kb}"
                if c == pub_c and table3_kb_fits(kb, pub_kb):
                    fits.append(name)
            row["fits"] = ", ".join(fits) or "none"
            rows.append(row)
        for version, rows_used in (("v4", published), ("earlier", [r for r in published if r != 112])):
            row = {"model": model.name, "resolution": f"max ({version})",
                   "published": f"{max_kb[version].get(model.name, '?')}K"}
            fits = []
            for name, cells in computed.items():
                kb = max((cells.get(r, (0, 0))[1] for r in rows_used), default=0)
                row[name] = f"{kb}K"
                if table3_kb_fits(kb, max_kb[version].get(model.name, -10)):
                    fits.append(name)
            row["fits"] = ", ".join(fits) or "none"
            rows.append(row)
    return rows


def table3_kb_fits(computed: int, printed: int) -> bool:
    """The printed cells carry two or three significant digits (1600 for 1,605,632 B), so a
    cell fits within 1 KB or 1%, whichever is larger."""
    return abs(computed - printed) <= max(1, printed / 100)
