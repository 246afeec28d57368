"""Recompute every published number archcalc knows about and say which ones agree.

The published values are data (``archcalc/reference/published_tables.csv`` for the paper's
Tables 1-7 and its text; ``mnv2_checkpoints.csv`` and ``mnv1_checkpoints.csv`` for the TF-slim
checkpoint tables and the MobileNetV1 paper), each with its source. Every computed value comes
from a spec in ``specs/`` compiled by archcalc. Each row is compared by a named rule:

* ``exact`` - equal (shapes, counts, formulas);
* ``printed rounding`` - the computed value rounded (half up) to the printed digits;
* ``truncation`` - the computed value truncated to the printed digits (slim's MobileNetV2
  table truncates MACs; CONVENTIONS.md §1);
* ``±1 last digit`` - within one unit of the last printed digit;
* ``within 1M`` - |computed - published| < 1 million (slim's V1 table rounds, V2 truncates).

and gets a status:

* ``match`` - the row's first rule holds under its first counting convention;
* ``match under a stated convention`` - another stated rule or convention holds (the row says
  which: truncation, TF's space-to-batch atrous convolution, ...);
* ``differs`` - no rule holds, and the row explains what the architecture has and what would
  have to differ;
* ``paper inconsistency`` - the paper disagrees with itself (19 vs 17 bottlenecks, Table 3's
  two versions, the stride-1 cost formula);
* ``not computed`` - archcalc has no spec for that network (the row says so);

Every row also states what was *expected*. A row expected to match that does not, or a row
expected to differ that now matches (its explanation is stale), is a failure:
:func:`failures` lists them and ``archcalc validate`` exits 1.

Library first: :func:`validate` returns a pandas DataFrame; :func:`report` writes files.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import archcalc
from archcalc.analysis.convention import Convention
from archcalc.io import atomic_write, save_figure
from archcalc.spec.loader import shipped_specs_dir

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from archcalc.model import Model

REFERENCE = Path(__file__).resolve().parent / "reference"
DEFAULT_SPECS = shipped_specs_dir()

MATCH = "match"
CONVENTION_MATCH = "match under a stated convention"
DIFFERS = "differs"
INCONSISTENT = "paper inconsistency"
NOT_COMPUTED = "not computed"
REGRESSION = "REGRESSION: expected to match"
STALE = "UNEXPECTED MATCH: explanation is stale"
FAILING = (REGRESSION, STALE)

NO_BN = Convention(bn_params="none")
# TF trainable variables: weights, biases, BN gamma and beta (moving statistics are not trainable)
TRAINABLE = Convention(bn_params="affine")

UNITS = {"": 1, "M": 1e6, "B": 1e9}
COLUMNS = ("id", "table", "row", "quantity", "published", "unit", "computed", "rule", "convention",
           "status", "expected", "explanation", "spec", "settings", "source")

# DeepLab's multi-scale test inputs (paper Appendix B, Figure 8 caption) and flip.
MF_SCALES = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)


# ---------------------------------------------------------------------------- comparison rules
def printed_decimals(printed: str) -> int:
    """Digits after the decimal point as printed: ``"1.25"`` -> 2, ``"300"`` -> 0."""
    return len(printed.split(".")[1]) if "." in printed else 0


def _quantize(value: float, printed: str, rounding: str) -> Decimal:
    step = Decimal(1).scaleb(-printed_decimals(printed))
    return Decimal(repr(value)).quantize(step, rounding=rounding)


def rule_printed_rounding(value: float, printed: str) -> bool:
    return _quantize(value, printed, ROUND_HALF_UP) == Decimal(printed)


def rule_truncation(value: float, printed: str) -> bool:
    return _quantize(value, printed, ROUND_FLOOR) == Decimal(printed)


def rule_last_digit(value: float, printed: str) -> bool:
    step = 10.0 ** -printed_decimals(printed)
    return abs(value - float(printed)) <= step * (1 + 1e-9)


def rule_within_one(value: float, printed: str) -> bool:
    return abs(value - float(printed)) < 1.0


def rule_exact(value, printed) -> bool:
    return str(value) == str(printed)


RULES: dict[str, Callable] = {
    "exact": rule_exact,
    "printed rounding": rule_printed_rounding,
    "truncation": rule_truncation,
    "±1 last digit": rule_last_digit,
    "within 1M": rule_within_one,
    "Table 3 cell": lambda value, printed: rule_table3_cell(value, printed),
}
PAPER_RULES = ("printed rounding", "truncation", "±1 last digit")


# ---------------------------------------------------------------------------- one check
@dataclass
class Check:
    """One published number, how archcalc recomputes it, and what to expect.

    ``candidates`` are (convention, value) pairs, the first being the row's own convention;
    values are in the published unit (``unit``). ``rules`` are tried in order for each
    candidate. ``explain`` is the explanation for a row expected to differ (or an inconsistency).
    """

    id: str
    table: str
    row: str
    quantity: str
    published: str
    unit: str
    source: str
    spec: str = ""
    settings: str = ""
    candidates: list = field(default_factory=list)
    rules: Sequence[str] = PAPER_RULES
    expected: str = MATCH
    explain: str = ""


def evaluate(check: Check) -> dict:
    """Apply the rules to the candidates; return one result row (a plain dict)."""
    row = {k: getattr(check, k) for k in ("id", "table", "row", "quantity", "published", "unit", "spec",
                                          "settings", "source", "expected")}
    row["explanation"] = check.explain
    if check.expected == NOT_COMPUTED:
        row.update(computed="", rule="", convention="", status=check.expected)
        return row
    hit = None
    for position, (convention, value) in enumerate(check.candidates):
        for rank, rule in enumerate(check.rules):
            if RULES[rule](value, check.published):
                hit = (position == 0 and rank == 0, convention, rule, value)
                break
        if hit:
            break
    primary_convention, primary_value = check.candidates[0]
    if hit is None:
        row.update(computed=_show(primary_value), rule=" / ".join(check.rules), convention=primary_convention)
        if check.expected == MATCH:
            row["status"] = REGRESSION
            row["explanation"] = (check.explain + " " if check.explain else "") + "Computed values: " + "; ".join(
                f"{c}: {_show(v)}" for c, v in check.candidates)
        else:
            row["status"] = check.expected
        return row
    first, convention, rule, value = hit
    row.update(computed=_show(value), rule=rule, convention=convention)
    if check.expected == MATCH:
        row["status"] = MATCH if first else CONVENTION_MATCH
        if not first:
            tried = "; ".join(f"{c}: {_show(v)}" for c, v in check.candidates)
            note = f"Not by {check.rules[0]} under '{primary_convention}' ({_show(primary_value)}); holds by {rule} under '{convention}'. Values: {tried}."
            row["explanation"] = (check.explain + " " if check.explain else "") + note
    else:
        row["status"] = STALE
    return row


def _show(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:.2f}"
    return str(value)


# ---------------------------------------------------------------------------- computing
class Context:
    """Compiled models, cached by (spec, width, resolution, classes)."""

    def __init__(self, specs: Path):
        self.specs = Path(specs)
        self._load = lru_cache(maxsize=None)(self._compile)

    def _compile(self, spec: str, width, resolution, classes) -> "Model":
        return archcalc.load(self.specs / spec, width=width, resolution=resolution, classes=classes)

    def model(self, spec: str, width: float | None = None, resolution: int | None = None,
              classes: int | None = None) -> "Model":
        return self._load(spec, width, resolution, classes)


def total(model: "Model", key: str, convention: Convention = NO_BN) -> int:
    return model.totals(convention)[key]


def part(model: "Model", prefixes: tuple[str, ...], key: str, convention: Convention = NO_BN) -> int:
    """Sum of ``key`` over the layer rows whose top-level name starts with one of ``prefixes``."""
    return sum(r[key] for r in model.layers(convention) if r["name"].split(".")[0].startswith(prefixes))


def params_slim_v1(model: "Model") -> int:
    """Slim V1 checkpoints count 3 BN variables per channel (CONVENTIONS.md §1, derived)."""
    channels = (model.totals(TRAINABLE)["params"] - model.totals(NO_BN)["params"]) // 2
    return model.totals(NO_BN)["params"] + 3 * channels


def space_to_batch_extra(model: "Model") -> int:
    """Extra MAdds of TensorFlow's dilated convolutions.

    TF 1.x runs a conv with ``dilation_rate`` r > 1 through ``with_space_to_batch``
    (tensorflow/python/ops/nn_ops.py, ``_WithSpaceToBatch``): SAME becomes VALID with base
    paddings of (k-1)*r, and ``array_ops.required_space_to_batch_paddings`` pads further to a
    multiple of r, so a stride-1 conv computes ceil(H/r)*r x ceil(W/r)*r outputs on the
    ``space_to_batch_nd`` tensor before ``batch_to_space_nd`` crops them back to H x W. Profilers that count the
    Conv2D on the space-to-batch tensor therefore see more MAdds than the H x W output needs.
    """
    extra = 0
    for name in model.order:
        node = model.node(name)
        rate = node["attrs"].get("dilation", 1) if node["op"] in ("conv2d", "depthwise_conv2d") else 1
        if rate > 1:
            _, h, w = node["shape"]
            padded = math.ceil(h / rate) * rate * math.ceil(w / rate) * rate
            extra += (padded - h * w) * node["cost"].madds // (h * w)
    return extra


def mf_resolutions(base: int = 513, scales: Iterable[float] = MF_SCALES) -> list[int]:
    """DeepLab's scaled input sizes: ``scale_dimension`` = int((dim - 1) * scale + 1)
    (research/deeplab/model.py)."""
    return [int((base - 1) * scale + 1) for scale in scales]


def mf_madds(ctx: Context, spec: str, space_to_batch: bool = False, flip: bool = True) -> int:
    """Multi-scale (+ flip) inference cost: the network runs once per scale, twice with flip.
    An inference strategy, not a new network: the sum of the single-scale costs."""
    runs = 2 if flip else 1
    cost = 0
    for resolution in mf_resolutions():
        model = ctx.model(spec, resolution=resolution)
        cost += total(model, "madds") + (space_to_batch_extra(model) if space_to_batch else 0)
    return runs * cost


def shape_text(shape: Sequence[int]) -> str:
    """IR (C, H, W) as the paper prints it: H x W x C."""
    c, h, w = shape if len(shape) == 3 else (shape[0], 1, 1)
    return f"{h}x{w}x{c}"


# ---------------------------------------------------------------------------- the tables
def read_reference(name: str) -> list[dict]:
    with open(REFERENCE / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def paper_rows() -> dict[str, dict]:
    return {row["id"]: row for row in read_reference("published_tables.csv")}


def _check(paper: dict, id: str, **kwargs) -> Check:
    row = paper[id]
    return Check(id=id, table=row["table"], row=row["row"], quantity=row["quantity"], published=row["printed"],
                 unit=row["unit"], source=row["source"], **kwargs)


def _in(value: int, unit: str) -> float:
    return value / UNITS[unit]


def table1_checks(ctx: Context, paper: dict) -> list[Check]:
    """The §3.3 bottleneck cost h·w·d′·t(d′+k²+d″) evaluated on a block of the IR (the published
    value) against the block's IR MAdds, for a stride-1 and a stride-2 block."""
    model = ctx.model("mnv2.yaml", classes=1001)
    layers = model.layers(NO_BN)
    checks = []
    for id, name, expected in (("t1.formula.s1", "stage2.block2", MATCH), ("t1.formula.s2", "stage2.block1", INCONSISTENT)):
        block = next(b for b in model.blocks if b.name == name)
        d_in, h, w = block.input_shape
        t, d_out, k, stride = block.params["t"], block.params["c"], block.params["k"], block.params["s"]
        formula = h * w * d_in * t * (d_in + k * k + d_out)
        actual = sum(r["madds"] for r in layers if r["name"].startswith(name + "."))
        explain = f"Formula: {h}·{w}·{d_in}·{t}·({d_in}+{k * k}+{d_out}) = {formula:,}."
        if expected == INCONSISTENT:
            explain += (f" It counts all three convolutions at the input resolution {h}x{w}; with stride {stride} the "
                        f"depthwise and projection run at {block.output_shape[1]}x{block.output_shape[2]} (Table 1's "
                        f"h/s), so the block costs {actual:,}. The formula assumes stride 1; the paper gives no "
                        "stride-aware form.")
        check = _check(paper, id, spec="mnv2.yaml", settings=f"{name}, t={t}, k={k}, s={stride}",
                       candidates=[(f"IR MAdds of {name}", str(actual))], rules=("exact",), expected=expected,
                       explain=explain)
        check.published = str(formula)  # the formula evaluated on this block's h, w, d′, d″
        checks.append(check)
    return checks


def table2_checks(ctx: Context, paper: dict) -> list[Check]:
    """Table 2's per-row input shapes against the IR, and the bottleneck count."""
    model = ctx.model("mnv2.yaml", classes=1001)
    first = {b.name.split(".")[0]: b for b in reversed(model.blocks) if b.nesting == 0}
    inputs = {
        "t2.r1": model.node("input")["shape"],
        **{f"t2.r{i + 2}": first[f"stage{i + 1}"].input_shape for i in range(7)},
        "t2.r9": first["head"].input_shape,
        "t2.r10": model.node("pool")["in_shapes"][0],
        "t2.r11": model.node("logits")["in_shapes"][0],
    }
    checks = [_check(paper, id, spec="mnv2.yaml", settings="width 1.0, resolution 224",
                     candidates=[("IR input tensor of the row's first layer", shape_text(shape))], rules=("exact",))
              for id, shape in inputs.items()]
    bottlenecks = sum(1 for b in model.blocks if b.type == "bottleneck" and b.nesting == 0)
    checks.append(_check(paper, "t2.n_sum", spec="mnv2.yaml", candidates=[("bottleneck blocks in the IR", str(bottlenecks))],
                         rules=("exact",)))
    checks.append(_check(
        paper, "t2.text19", spec="mnv2.yaml", candidates=[("bottleneck blocks in the IR", str(bottlenecks))],
        rules=("exact",), expected=INCONSISTENT,
        explain=(f"Table 2's n column (1+2+3+4+3+3+1) and the network both have {bottlenecks} bottleneck blocks. "
                 f"19 would need two more blocks; it equals {bottlenecks} + the first conv + the 1x1 1280 conv, "
                 "which are not bottlenecks. The text disagrees with the paper's own table.")))
    return checks


def _kb(shape: Sequence[int], tensors: int = 1) -> float:
    """fp16 bytes of ``tensors`` tensors of ``shape``, in kB of 1000 bytes (Table 3's unit)."""
    return tensors * math.prod(shape) * 2 / 1000


TABLE3_NETWORKS = ("mobilenet_v1", "mobilenet_v2", "shufflenet")  # the printed column order


def rule_table3_cell(value: str, printed: str) -> bool:
    """A Table 3 cell "channels/kB" fits when the channels are equal and the kB are within 1
    or 1% (the printed cells carry 2-3 significant digits: 1600 for 1,605,632 B)."""
    try:
        if "/" not in printed:  # the max row: "1600K", kB only
            kb, pub_kb, channels, pub_channels = int(value.rstrip("K")), int(printed.rstrip("K")), 0, 0
        else:
            channels, kb = (int(x) for x in value.split("/"))
            pub_channels, pub_kb = (int(x) for x in printed.rstrip("K").split("/"))
    except ValueError:
        return False
    return channels == pub_channels and abs(kb - pub_kb) <= max(1, pub_kb / 100)


def table3_models(ctx: Context) -> dict[str, list[tuple[str, "Model"]]]:
    """Per printed column, the models whose cells are tried: MobileNetV1 and V2 at 224, and
    ShuffleNet 2x as the caption says (g = 3) and with g = 2, whose stage widths
    (2 x 200/400/800) are the channels the column prints."""
    from archcalc.compiler import compile_spec
    from archcalc.spec.loader import load_spec

    shufflenets = []
    for groups in (3, 2):
        spec = load_spec(ctx.specs / "shufflenet_v1.yaml", width=2.0)
        spec.data["defaults"]["groups"] = groups
        shufflenets.append((f"ShuffleNet 2x g={groups}", compile_spec(spec)))
    return {"mobilenet_v1": [("", ctx.model("mnv1.yaml"))], "mobilenet_v2": [("", ctx.model("mnv2.yaml"))],
            "shufflenet": shufflenets}


# Expected status per (row, column) from the computed cells, with the reason when a cell
# cannot follow from the architecture; any other cell is expected to match.
TABLE3_DIFFERENCES = {
    ("7", "mobilenet_v1"): "1024/199 is about two 7x7x1024 tensors (input + output of a layer, 2 x 100.4 kB); "
                           "no single tensor is 199 kB.",
    ("7", "mobilenet_v2"): "The paper puts the 1280-channel layer in the 1x1 row; in Table 2 it runs at 7x7 "
                           "(1280 x 7 x 7 x 2 B = 125 kB), so the largest 7x7 tensor is 1280 channels, not 320; "
                           "320 x 7 x 7 x 2 B = 31.36 kB is printed as 32.",
    ("112", "shufflenet"): "ShuffleNet 2x has a 48-channel first layer at 112x112 (g = 2 or 3), fused away under "
                           "the caption's first-layer trick; no 32-channel tensor exists at 112x112.",
    ("28", "shufflenet"): "Printed '400/600K': 400 channels fit g = 2 (2 x 200), but 400 x 28 x 28 x 2 B = 627 kB "
                          "and 'K' is the max row's unit; the cell looks garbled in both versions.",
    ("56", "shufflenet"): "48/300 is the 48-channel tensor entering stage 2 after the max pool (48 x 56 x 56 x 2 B = "
                          "301 kB). The paper leaves out the first unit's inner bottleneck tensor at 56x56 (100 "
                          "channels with g = 2, 627 kB; 120 with g = 3, 752 kB), which any schedule must hold.",
    ("max", "shufflenet"): "600K repeats the garbled 28x28 cell; the largest tensor of ShuffleNet 2x is 627 kB (g = 2) "
                           "or 752 kB (g = 3), both at 56x56 and 28x28.",
}
TABLE3_SHUFFLENET_NOTE = ("The caption says ShuffleNet (2x, g = 3), whose stages have 480/960/1920 channels; the "
                          "printed 400/800/1600 are ShuffleNet 2x with g = 2 (ShuffleNet Table 1: 200/400/800 at 1x).")


def table3_cell_checks(ctx: Context, paper: dict) -> list[Check]:
    """One check per printed cell (row x network), candidates from archcalc.analysis.memory's
    named Table 3 conventions; ShuffleNet is tried at the caption's g = 3 and at g = 2."""
    from archcalc.analysis.memory import TABLE3_CONVENTIONS, table3_cells

    models = table3_models(ctx)
    cells = {net: [(label, name, table3_cells(model, name)) for label, model in entries for name in TABLE3_CONVENTIONS]
             for net, entries in models.items()}
    checks = []
    for res in ("112", "56", "28", "14", "7", "1", "max"):
        row = paper[f"t3.v4.{res}"]
        printed = [cell.strip() for cell in row["printed"].split("|")]
        for net, cell in zip(TABLE3_NETWORKS, printed):
            candidates = []
            for label, convention, computed in cells[net]:
                if res == "max":
                    kb = max(kb for _, kb in computed.values())
                    value = f"{kb}K"
                else:
                    channels, kb = computed.get(int(res), (0, 0))
                    value = f"{channels}/{kb}"
                # convention names are defined in archcalc.analysis.memory.TABLE3_CONVENTIONS (docs/memory.md)
                candidates.append((f"{label + ', ' if label else ''}Table 3 '{convention}' convention", value))
            difference = TABLE3_DIFFERENCES.get((res, net))
            explain = difference or ""
            if net == "shufflenet":
                explain = (explain + " " if explain else "") + TABLE3_SHUFFLENET_NOTE
            checks.append(Check(
                id=f"t3.v4.{res}.{net}", table=row["table"], row=f"{row['row']} {net}", quantity=row["quantity"],
                published=cell, unit="", source=row["source"], spec="mnv1.yaml, mnv2.yaml, shufflenet_v1.yaml",
                settings="fp16 activations, kB = 1000 B", candidates=candidates, rules=("Table 3 cell",),
                expected=DIFFERS if difference else MATCH, explain=explain))
    return checks


def table3_checks(ctx: Context, paper: dict) -> list[Check]:
    """Table 3 (memory). The memory analysis computes the cells; the paper's own inconsistencies
    (two versions, cells that are not one tensor) are reported here with the arithmetic."""
    v2 = ctx.model("mnv2.yaml", classes=1001)
    v1 = ctx.model("mnv1.yaml", classes=1001)
    v2_7 = v2.node(v2.scopes["stage7"])["shape"]          # 320 x 7 x 7, the largest 7x7 bottleneck tensor
    v1_7 = v1.node(v1.scopes["conv2d_13"])["shape"]       # 1024 x 7 x 7
    checks = table3_cell_checks(ctx, paper)
    checks.append(_check(
        paper, "t3.v4.7", spec="mnv1.yaml, mnv2.yaml", expected=INCONSISTENT,
        candidates=[("single tensor, fp16, kB = 1000 B", f"{v1_7[0]}/{_kb(v1_7):.1f} | {v2_7[0]}/{_kb(v2_7):.2f}")],
        rules=("exact",),
        explain=(f"Not one tensor per cell: MobileNetV1's 7x7x{v1_7[0]} tensor is {_kb(v1_7):.1f} kB, the printed 199 "
                 f"is about two of them ({_kb(v1_7, 2):.1f} kB, input plus output); MobileNetV2's 7x7x{v2_7[0]} is "
                 f"{_kb(v2_7):.2f} kB, which rounds to 31, not the printed 32. The ShuffleNet cell is left to the "
                 "memory analysis.")))
    checks.append(_check(
        paper, "t3.v4.28", spec="shufflenet_v1.yaml", expected=INCONSISTENT, candidates=[("as printed", "-")],
        rules=("exact",),
        explain=("The ShuffleNet cell is printed '400/600K' in both versions: a max-row value ('K') inside a "
                 "per-resolution row; no single tensor is both 400 channels and 600 kB at 28x28 "
                 "(400 x 28 x 28 x 2 B = 627 kB). Each cell is also checked on its own against the memory analysis "
                 "(t3.v4.28.*).")))
    checks.append(_check(
        paper, "t3.v1.112", spec="mnv1.yaml, mnv2.yaml", expected=INCONSISTENT, candidates=[("as printed", "-")],
        rules=("exact",),
        explain=("The earlier version prints '1/O(1)' at 112x112 for all three networks (the first-layer trick of "
                 "§5.1 taken to one channel); v4 prints 64/1600, 16/400, 32/800. The two versions of the paper disagree.")))
    checks.append(_check(
        paper, "t3.v1.max", spec="mnv1.yaml, mnv2.yaml", expected=INCONSISTENT, candidates=[("as printed", "-")],
        rules=("exact",),
        explain=("Earlier version: max 800K/200K/600K (the 56x56 rows); v4: 1600K/400K/600K (its 112x112 rows). "
                 "The max row follows whichever 112x112 row the version prints.")))
    return checks


def table4_checks(ctx: Context, paper: dict) -> list[Check]:
    """Table 4 under slim's convention (no BN, 1001 classes), which the MobileNetV2 rows follow."""
    checks = []
    v1 = ctx.model("mnv1.yaml", classes=1001)
    v1_madds = total(v1, "madds")
    bn_ops = total(v1, "bn")
    gap = 575e6 - v1_madds
    nearest = min((r for r in v1.layers() if r["madds"]), key=lambda r: abs(r["madds"] - gap))
    checks.append(_check(paper, "t4.mnv1.params", spec="mnv1.yaml", settings="1.0/224, 1001 classes",
                         candidates=[("weights + biases, no BN", _in(total(v1, "params"), "M"))]))
    checks.append(_check(
        paper, "t4.mnv1.madds", spec="mnv1.yaml", settings="1.0/224, 1001 classes",
        candidates=[("conv + FC multiply-adds", _in(v1_madds, "M"))], expected=DIFFERS,
        explain=(f"MobileNetV1 1.0/224 has {v1_madds / 1e6:.2f}M MAdds (conv + 1001-way FC); the V1 paper and slim print 569, "
                 f"which matches. 575M needs {gap / 1e6:.1f}M more; the nearest single layer is {nearest['name']} "
                 f"({nearest['madds'] / 1e6:.2f}M), the FC is {v1.node('logits')['cost'].madds / 1e6:.2f}M, and counting "
                 f"BN ({bn_ops / 1e6:.1f}M) overshoots, so 575 is not a count of this architecture under any stated "
                 "convention.")))
    for key, width, name in (("shuffle15", 1.5, "1.5"), ("shuffle2", 2.0, "x2")):
        model = ctx.model("shufflenet_v1.yaml", width=width)
        settings = f"g=3, {name}, 224, 1000 classes"
        checks.append(_check(paper, f"t4.{key}.params", spec="shufflenet_v1.yaml", settings=settings,
                             candidates=[("weights + biases, no BN", _in(total(model, "params"), "M"))]))
        checks.append(_check(paper, f"t4.{key}.madds", spec="shufflenet_v1.yaml", settings=settings,
                             candidates=[("conv + FC multiply-adds", _in(total(model, "madds"), "M"))]))
    for quantity in ("params", "madds"):
        checks.append(_check(paper, f"t4.nasnet.{quantity}", expected=NOT_COMPUTED,
                             explain="No NASNet-A spec in archcalc (a cell-based search space, outside this paper)."))
    v2 = ctx.model("mnv2.yaml", classes=1001)
    for quantity, label in (("params", "weights + biases, no BN (slim)"), ("madds", "conv + FC multiply-adds")):
        checks.append(_check(paper, f"t4.mnv2.{quantity}", spec="mnv2.yaml", settings="1.0/224, 1001 classes",
                             candidates=[(label, _in(total(v2, quantity), "M"))]))
    checks.extend(mnv2_14_checks(ctx, paper))
    return checks


def mnv2_14_checks(ctx: Context, paper: dict) -> list[Check]:
    """MobileNetV2 (1.4): what the network has, and what would have to differ for 585M / 6.9M."""
    model = ctx.model("mnv2_1.4.yaml", classes=1001)
    params, madds = total(model, "params"), total(model, "madds")
    params_all_bn = total(model, "params", Convention(bn_params="all"))
    head = model.node("head.conv")
    last, (c_in, h, w) = head["shape"][0], head["in_shapes"][0]
    classes = model.classes
    per_channel_params = c_in + classes            # the 1x1 conv weight column + the logits weight row
    per_channel_madds = h * w * c_in + classes
    need_params = 6.9e6 - params
    extra_channels = need_params / per_channel_params
    extra_madds = extra_channels * per_channel_madds
    channels = "/".join(str(model.node(model.scopes[f"stage{i}"])["shape"][0]) for i in range(1, 8))
    settings = "width 1.4, 224, 1001 classes"
    params_explain = (
        f"The 1.4 network (slim rounding: first conv 48, stages {channels}, last conv {last}) has {params:,} params "
        f"without BN ({params / 1e6:.2f}M; slim prints 6.06; all four BN variables give {params_all_bn / 1e6:.2f}M). "
        f"6.9M needs {need_params / 1e6:.2f}M more: e.g. a last conv of ~{last + extra_channels:.0f} channels instead of "
        f"{last} ({per_channel_params:,} params per channel), which would also add {extra_madds / 1e6:.1f}M MAdds "
        f"({(madds + extra_madds) / 1e6:.0f}M, not 585M). No single change reaches both 6.9M and 585M.")
    madds_explain = (
        f"The 1.4 network has {madds / 1e6:.2f}M MAdds (slim prints 582). 585M needs {585 - madds / 1e6:.1f}M more, "
        f"e.g. ~{(585e6 - madds) / per_channel_madds:.0f} more last-layer channels ({per_channel_madds:,} MAdds each), "
        f"which would add only {(585e6 - madds) / per_channel_madds * per_channel_params / 1e6:.2f}M params (not the "
        f"{need_params / 1e6:.2f}M that 6.9M needs).")
    return [
        _check(paper, "t4.mnv2_14.params", spec="mnv2_1.4.yaml", settings=settings,
               candidates=[("weights + biases, no BN (slim)", _in(params, "M")),
                           ("weights + biases + 4 BN variables/channel", _in(params_all_bn, "M"))],
               expected=DIFFERS, explain=params_explain),
        _check(paper, "t4.mnv2_14.madds", spec="mnv2_1.4.yaml", settings=settings,
               candidates=[("conv + FC multiply-adds", _in(madds, "M"))], expected=DIFFERS, explain=madds_explain),
    ]


def text_checks(ctx: Context, paper: dict) -> list[Check]:
    """The trade-off paragraph's ranges over the paper's grid (widths 0.35-1.4, resolutions 96-224)."""
    smallest = ctx.model("mnv2.yaml", width=0.35, resolution=96, classes=1001)
    largest = ctx.model("mnv2_1.4.yaml", classes=1001)
    return [
        _check(paper, "text.range.madds_min", spec="mnv2.yaml", settings="0.35/96, 1001 classes",
               candidates=[("conv + FC multiply-adds, millions", _in(total(smallest, "madds"), "M"))],
               expected=INCONSISTENT,
               explain=(f"'from 7 multiply adds' has no unit. The smallest network of the grid (0.35/96) has "
                        f"{total(smallest, 'madds') / 1e6:.2f}M MAdds (slim lists 11); no network of the grid has 7M.")),
        _check(paper, "text.range.params_min", spec="mnv2.yaml", settings="width 0.35, 1001 classes",
               candidates=[("weights + biases, no BN (slim)", _in(total(smallest, "params"), "M"))]),
        _check(paper, "text.range.params_max", spec="mnv2_1.4.yaml", settings="width 1.4, 1001 classes",
               candidates=[("weights + biases, no BN (slim)", _in(total(largest, "params"), "M"))], expected=DIFFERS,
               explain="Same number as Table 4's MobileNetV2 (1.4) params: see t4.mnv2_14.params."),
    ]


SSD_HEAD = ("extra", "box", "cls")


def table5_checks(ctx: Context, paper: dict) -> list[Check]:
    """Heads only (extra feature layers + box/class predictors), MobileNetV2 backbone, 80 classes."""
    checks = []
    lite = ctx.model("ssdlite_mnv2.yaml", classes=80)
    lite90 = ctx.model("ssdlite_mnv2.yaml", classes=90)
    head_madds = part(lite, SSD_HEAD, "madds")
    extras = part(lite, ("extra",), "madds")
    backbone = total(lite, "madds") - head_madds
    rows = [r["name"] for r in lite.layers()]
    after15 = sum(r["madds"] for r in lite.layers()[rows.index("stage6.block1.dw.conv"):]
                  if not r["name"].startswith(SSD_HEAD))
    lite_explain = (
        f"The SSDLite head (4 separable extra layers: {extras / 1e9:.3f}B; 12 separable predictors: "
        f"{(head_madds - extras) / 1e9:.3f}B) costs {head_madds / 1e9:.3f}B at 320x320 with 81 outputs per anchor. "
        f"0.35B is about twice that. It also contradicts Table 6: backbone to layer_19 ({backbone / 1e9:.3f}B) + "
        f"0.35B = {(backbone + 0.35e9) / 1e9:.2f}B, not 0.8B, while + {head_madds / 1e9:.3f}B = "
        f"{(backbone + head_madds) / 1e9:.3f}B matches Table 6. (0.35B is reached by, e.g., the 90-class head "
        f"({part(lite90, SSD_HEAD, 'madds') / 1e9:.3f}B) plus the backbone layers after layer_15's expansion "
        f"({after15 / 1e9:.3f}B) = {(part(lite90, SSD_HEAD, 'madds') + after15) / 1e9:.3f}B; nothing in the paper says so.)")
    for key, spec in (("ssd", "ssd_mnv2.yaml"), ("ssdlite", "ssdlite_mnv2.yaml")):
        model = ctx.model(spec, classes=80)
        settings = "320x320, 80 classes (+1 background), head = extra layers + predictors"
        checks.append(_check(paper, f"t5.{key}.params", spec=spec, settings=settings,
                             candidates=[("TF trainable variables (weights, biases, BN γ/β)",
                                          _in(part(model, SSD_HEAD, "params", TRAINABLE), "M"))]))
        checks.append(_check(paper, f"t5.{key}.madds", spec=spec, settings=settings,
                             candidates=[("conv multiply-adds", _in(part(model, SSD_HEAD, "madds"), "B"))],
                             expected=DIFFERS if key == "ssdlite" else MATCH,
                             explain=lite_explain if key == "ssdlite" else ""))
    return checks


def table6_checks(ctx: Context, paper: dict) -> list[Check]:
    checks = []
    for key in ("ssd300", "ssd512", "yolov2"):
        for quantity in ("params", "madds"):
            checks.append(_check(paper, f"t6.{key}.{quantity}", expected=NOT_COMPUTED,
                                 explain="Cited from other papers (VGG-16 SSD, Darknet-19 YOLOv2); archcalc has no spec for them."))
    for key, spec in (("v1ssdlite", "ssdlite_mnv1.yaml"), ("v2ssdlite", "ssdlite_mnv2.yaml")):
        model = ctx.model(spec, classes=80)
        settings = "320x320, 80 classes (+1 background), whole network"
        checks.append(_check(paper, f"t6.{key}.params", spec=spec, settings=settings,
                             candidates=[("TF trainable variables (weights, biases, BN γ/β)",
                                          _in(total(model, "params", TRAINABLE), "M"))]))
        checks.append(_check(paper, f"t6.{key}.madds", spec=spec, settings=settings,
                             candidates=[("conv multiply-adds", _in(total(model, "madds"), "B"))]))
    return checks


S2B = "TF space-to-batch atrous conv (outputs rounded up to a multiple of the rate)"
PLAIN = "conv multiply-adds"


def table7_checks(ctx: Context, paper: dict) -> list[Check]:
    """Mobile DeepLabv3, 513x513, 21 classes. MF = 2 x sum over the six scales."""
    rows = (
        ("v1_os16", "deeplabv3_mnv1.yaml", False, DIFFERS),
        ("v1_os8_mf", "deeplabv3_mnv1_os8.yaml", True, DIFFERS),
        ("v2_os16", "deeplabv3_mnv2.yaml", False, MATCH),
        ("v2_os8_mf", "deeplabv3_mnv2_os8.yaml", True, MATCH),
        ("v2_noaspp", "deeplabv3_mnv2_noaspp.yaml", False, MATCH),
        ("v2_noaspp_os8_mf", "deeplabv3_mnv2_noaspp_os8.yaml", True, MATCH),
        ("r101_os16", "deeplabv3_resnet101_beta.yaml", False, DIFFERS),
        ("r101_os8_mf", "deeplabv3_resnet101_beta_os8.yaml", True, DIFFERS),
    )
    checks = []
    for key, spec, mf, expected in rows:
        model = ctx.model(spec)
        settings = (f"513x513, 21 classes, OS {model.spec.data['defaults']['output_stride']}, "
                    f"ASPP {'on' if model.spec.data['defaults']['aspp'] else 'off'}"
                    + (f", MF: 2 x sum over inputs {mf_resolutions()}" if mf else ""))
        params = total(model, "params", TRAINABLE)
        params_explain = ""
        candidates = [("TF trainable variables (weights, biases, BN γ/β)", _in(params, "M"))]
        if key.startswith("r101"):
            plain = ctx.model(spec.replace("_beta", ""))
            params_explain = (f"With research/deeplab's resnet_v1_101_beta root (three 3x3 convs). The plain 7x7 root "
                              f"(deeplabv3_resnet101.yaml) gives {total(plain, 'params', TRAINABLE) / 1e6:.3f}M.")
        checks.append(_check(paper, f"t7.{key}.params", spec=spec, settings=settings, candidates=candidates,
                             explain=params_explain))
        if mf:
            plain_madds, s2b_madds = mf_madds(ctx, spec), mf_madds(ctx, spec, space_to_batch=True)
        else:
            plain_madds = total(model, "madds")
            s2b_madds = plain_madds + space_to_batch_extra(model)
        candidates = [(PLAIN, _in(plain_madds, "B")), (S2B, _in(s2b_madds, "B"))]
        checks.append(_check(paper, f"t7.{key}.madds", spec=spec, settings=settings, candidates=candidates,
                             expected=expected, explain=table7_explain(ctx, key, spec, plain_madds, s2b_madds)))
    return checks


def table7_explain(ctx: Context, key: str, spec: str, plain: int, s2b: int) -> str:
    """Why a Table 7 MAdds row differs: where the printed value lies relative to the two counts."""
    printed = {"v1_os16": 14.25e9, "v1_os8_mf": 941.9e9, "r101_os16": 81.0e9, "r101_os8_mf": 4870.6e9}
    if key not in printed:
        return ""
    target = printed[key]
    if target < s2b:
        where = "between the two counts, so neither convention reproduces it"
    else:
        where = f"{(target - s2b) / 1e9:.2f}B ({target / s2b - 1:.1%}) above even the space-to-batch count"
    text = (f"Plain conv MAdds: {plain / 1e9:.2f}B; with TF's space-to-batch atrous convs (the convention under which "
            f"the MNet V2* ASPP rows match): {s2b / 1e9:.2f}B. The printed {target / 1e9:g}B is {where}.")
    if key.startswith("v1"):
        text += (" The parameter count matches (11.15M: slim's V1 body to Conv2d_13_pointwise, 1024 channels, and the "
                 "MNet V2* head), so the network has the right size; the two V1 rows do not follow one counting rule "
                 "(OS 16 lies above the space-to-batch count, OS 8 + MF below it), and archcalc cannot name the "
                 "difference.")
    else:
        base = ctx.model(spec.replace("_beta", ""))
        text += (f" The beta root (three 3x3 convs) is the one whose params match 58.16M; the plain 7x7 root "
                 f"(deeplabv3_resnet101.yaml) gives {total(base, 'params', TRAINABLE) / 1e6:.2f}M and "
                 f"{total(base, 'madds') / 1e9:.2f}B single-scale MAdds at this OS, further away. archcalc cannot name "
                 "an architecture difference that closes the rest.")
    return text


def checkpoint_checks(ctx: Context) -> list[Check]:
    """The 22 slim MobileNetV2 checkpoints and the MobileNetV1 tables (slim and V1 paper)."""
    checks = []
    for row in read_reference("mnv2_checkpoints.csv"):
        model = ctx.model("mnv2.yaml", width=float(row["width"]), resolution=int(row["resolution"]), classes=1001)
        settings = f"width {row['width']}, {row['resolution']}, 1001 classes"
        base = dict(table="slim MobileNetV2 checkpoints", row=row["model"], source=row["source"], spec="mnv2.yaml",
                    settings=settings)
        checks.append(Check(id=f"slim.v2.{row['model']}.macs", quantity="madds", published=row["macs_millions"],
                            unit="M", candidates=[("conv + 1001-way logits MACs", _in(total(model, "madds"), "M"))],
                            rules=("truncation",), **base))
        checks.append(Check(id=f"slim.v2.{row['model']}.params", quantity="params", published=row["params_millions"],
                            unit="M", candidates=[("weights + biases, no BN", _in(total(model, "params"), "M"))],
                            rules=("printed rounding",), **base))
    for row in read_reference("mnv1_checkpoints.csv"):
        name = row["model"]
        width, resolution = float(row["width"]), int(row["resolution"])
        dogs = name.startswith("paper_StanfordDogs")
        classes = 120 if dogs else 1001  # Stanford Dogs has 120 classes (V1 paper, fine-grained recognition)
        base = dict(table="MobileNetV1 (slim / V1 paper)", row=name, source=row["source"], spec="mnv1.yaml",
                    settings=f"width {row['width']}, {resolution}, {classes} classes")
        if name.startswith("paper_") and not name.startswith(("paper_0", "paper_1")) and not dogs:
            for quantity in ("madds", "params"):
                checks.append(Check(id=f"v1.{name}.{quantity}", quantity=quantity,
                                    published=row["macs_millions" if quantity == "madds" else "params_millions"],
                                    unit="M", expected=NOT_COMPUTED, **{**base, "spec": ""},
                                    explain="A V1-paper ablation (full convolutions or the shallow variant); "
                                            "archcalc has no spec for it."))
            continue
        model = ctx.model("mnv1.yaml", width=width, resolution=resolution, classes=classes)
        madds = _in(total(model, "madds"), "M")
        slim = not name.startswith("paper_")
        madds_check = Check(id=f"v1.{name}.madds", quantity="madds", published=row["macs_millions"], unit="M",
                            candidates=[(f"conv + {classes}-way FC MACs", madds)] + (
                                [("the ImageNet network's count (1001-way FC), which the dogs rows repeat",
                                  _in(total(ctx.model("mnv1.yaml", width=width, resolution=resolution, classes=1001),
                                            "madds"), "M"))] if dogs else []),
                            rules=("within 1M",) if slim else PAPER_RULES, **base)
        if slim and width == 0.75:
            madds_check.expected = DIFFERS
            madds_check.explain = (f"Known anomaly (CONVENTIONS.md §3.8): all slim 0.75 rows are ~2.6% below the count "
                                   f"({madds:.1f}M here, {float(row['macs_millions']) / madds - 1:+.1%}); the V1 paper's "
                                   "0.75/224 value (325) matches the count, so the slim 0.75 figures are unexplained.")
        elif slim and name.startswith("MobileNet_v1_0.25_192"):
            madds_check.expected = DIFFERS
            madds_check.explain = (f"Known anomaly: slim lists 34 but the count is {madds:.1f}M; the row trend "
                                   "(41, 34, 21, 14) points to a typo for 30.")
        checks.append(madds_check)
        if slim:
            params = [("conv + FC + 3 BN variables/channel (slim V1, derived)", _in(params_slim_v1(model), "M"))]
        else:
            params = [("weights + biases, no BN", _in(total(model, "params"), "M"))]
        checks.append(Check(id=f"v1.{name}.params", quantity="params", published=row["params_millions"], unit="M",
                            candidates=params, rules=("printed rounding",), **base))
    return checks


# ---------------------------------------------------------------------------- entry points
def checks(specs: str | Path | None = None) -> list[Check]:
    """Every check, in report order."""
    ctx = Context(Path(specs) if specs else DEFAULT_SPECS)
    paper = paper_rows()
    result = [
        *table1_checks(ctx, paper), *table2_checks(ctx, paper), *table3_checks(ctx, paper),
        *table4_checks(ctx, paper), *text_checks(ctx, paper), *table5_checks(ctx, paper),
        *table6_checks(ctx, paper), *table7_checks(ctx, paper), *checkpoint_checks(ctx),
    ]
    # a published row is covered by a check of its id, or by per-cell checks "<id>.<column>"
    covered = {c.id for c in result} | {c.id.rsplit(".", 1)[0] for c in result}
    missing = sorted(set(paper) - covered)
    if missing:  # every published row must be accounted for
        raise ValueError(f"published_tables.csv rows without a check: {', '.join(missing)}")
    return result


def validate(specs: str | Path | None = None) -> "pd.DataFrame":
    """Recompute every published number; one row per number (see the module docstring)."""
    import pandas as pd

    return pd.DataFrame([evaluate(c) for c in checks(specs)], columns=list(COLUMNS))


def failures(frame: "pd.DataFrame") -> "pd.DataFrame":
    """Rows that make ``archcalc validate`` exit 1."""
    return frame[frame["status"].isin(FAILING)]


def summary(frame: "pd.DataFrame") -> dict[str, int]:
    return {str(k): int(v) for k, v in frame["status"].value_counts().items()}


def _cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ").strip()


def to_markdown(frame: "pd.DataFrame") -> str:
    """The validation table as Markdown, grouped by table, with the status counts first."""
    lines = ["| status | rows |", "|---|---|"]
    lines += [f"| {status} | {count} |" for status, count in summary(frame).items()]
    # the rows that are not plain matches, in one place, before the full tables
    notable = frame[~frame["status"].isin((MATCH, NOT_COMPUTED))]
    lines += ["", "## Everything that is not a plain match", "",
              "| id | published | computed | rule | convention | status |", "|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(_cell(v) for v in (r.id, f"{r.published} {r.unit}", r.computed, r.rule, r.convention,
                                                   r.status)) + " |" for r in notable.itertuples()]
    columns = ("row", "quantity", "published", "unit", "computed", "rule", "convention", "status", "explanation")
    for table, group in frame.groupby("table", sort=False):
        sources = sorted(set(group["source"]))
        lines += ["", f"## {table}", "", "Source: " + "; ".join(sources[:2]) + (" (and others)" if len(sources) > 2 else ""),
                  "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        for _, row in group.iterrows():
            cells = [_cell(row[c]) for c in columns]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- reports/
@dataclass
class ReportResult:
    """What :func:`report` wrote, and what it could not (with the reason)."""

    written: list[Path]
    skipped: list[str]
    failures: int


def _optional(module: str, *names: str):
    """The named functions of an analysis module that may not have landed yet (else None)."""
    import importlib

    try:
        loaded = importlib.import_module(module)
    except ImportError:
        return None
    found = [getattr(loaded, n, None) for n in names]
    return None if any(f is None for f in found) else found


def memory_timelines(out: Path, specs: Path) -> tuple[list[Path], list[str]]:
    """Memory timelines (archcalc.analysis.memory) for the MobileNetV2 and V1 classifiers."""
    functions = _optional("archcalc.analysis.memory", "analyze_memory", "timeline_figure")
    if functions is None:
        return [], ["memory timelines: archcalc.analysis.memory.analyze_memory/timeline_figure not available"]
    analyze, figure = functions
    written = []
    for spec in ("mnv2.yaml", "mnv1.yaml"):
        model = archcalc.load(specs / spec)
        path = out / f"memory_timeline_{Path(spec).stem}.png"
        save_figure(figure(analyze(model)), path, dpi=110)
        written.append(path)
    return written, []


def design_space_figures(out: Path, specs: Path) -> tuple[list[Path], list[str]]:
    """The design-space figures, made by the same library calls as ``archcalc plot``:
    Figure 5 (accuracy vs MAdds, with the labelled fitted prediction), the same against
    params and peak memory, and the iso-MAdds / iso-memory contour."""
    functions = _optional("archcalc.plots", "spec_frontier", "spec_contour", "save")
    if functions is None:
        return [], ["design-space figures: archcalc.plots not available"]
    spec_frontier, spec_contour, save = functions
    mnv2 = specs / "mnv2.yaml"
    figures = {
        "figure5.png": lambda: spec_frontier(mnv2, classes=1001, fit=True),
        "frontier_params.png": lambda: spec_frontier(mnv2, classes=1001, x="params"),
        "frontier_memory.png": lambda: spec_frontier(mnv2, classes=1001, x="memory"),
        "contour.png": lambda: spec_contour(mnv2, classes=1001),
    }
    written = []
    for name, make in figures.items():
        written += [Path(p) for p in save(make(), str(out / name))]
    return written, []


def report(out_dir: str | Path = "reports", specs: str | Path | None = None) -> ReportResult:
    """Regenerate ``reports/``: validation.md, the memory timelines and the design-space figures
    (those whose analysis has landed), and an index.md linking them. Returns what was written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    specs = Path(specs) if specs else DEFAULT_SPECS
    frame = validate(specs)
    failing = failures(frame)
    validation = out / "validation.md"
    atomic_write(
        validation,
        "# archcalc validation against the published tables\n\n"
        "Generated by `archcalc report` (library: `archcalc.validate.validate()`); do not edit by hand.\n"
        "Rules, conventions and statuses are defined in `archcalc/validate.py` and docs/validation.md.\n"
        f"Rows failing (expected to match but do not, or stale explanations): **{len(failing)}**.\n\n"
        + to_markdown(frame))
    written, skipped = [validation], []
    for produce in (lambda: memory_timelines(out, specs), lambda: design_space_figures(out, specs)):
        files, missing = produce()
        written += files
        skipped += missing
    index = out / "index.md"
    lines = ["# archcalc reports", "", "Regenerate with `archcalc report`.", ""]
    lines += [f"- [{p.name}]({p.name})" for p in written]
    # files other tools put in reports/ (e.g. `archcalc plot`), linked too so the index is complete
    others = sorted(p for p in out.iterdir() if p.is_file() and p not in written and p != index)
    if others:
        lines += ["", "Also in this folder (written by other commands, not regenerated here):", ""]
        lines += [f"- [{p.name}]({p.name})" for p in others]
    lines += ["", "Not generated:" if skipped else ""] + [f"- {s}" for s in skipped]
    atomic_write(index, "\n".join(lines).rstrip() + "\n")
    return ReportResult(written=[*written, index], skipped=skipped, failures=len(failing))
