"""The MobileNetV2 paper's Tables 1-7 and the numbers in its text
(``archcalc/reference/published_tables.csv``, arXiv 1801.04381)."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple, Sequence

from archcalc.analysis.convention import Convention
from archcalc.validate.conventions import mf_madds, mf_resolutions, space_to_batch_extra
from archcalc.validate.core import (DIFFERS, INCONSISTENT, MATCH, NO_BN, RULES, TRAINABLE, Check,
                                    Context, _check, _in, paper_rows, part, shape_text, total)

if TYPE_CHECKING:  # pragma: no cover
    from archcalc.model import Model


class FormulaValue(NamedTuple):
    """A printed formula evaluated on one block's shapes, beside the IR's count of that block."""

    evaluated: int
    counted: int

    def __str__(self) -> str:
        return f"formula {self.evaluated:,} / IR {self.counted:,}"


def bottleneck_formula(model: "Model", name: str) -> tuple[FormulaValue, str]:
    """§3.3's h·w·d′·t(d′+k²+d″) on block ``name`` of the IR, and the arithmetic as text."""
    block = next(b for b in model.blocks if b.name == name)
    d_in, h, w = block.input_shape
    t, d_out, k = block.params["t"], block.params["c"], block.params["k"]
    formula = h * w * d_in * t * (d_in + k * k + d_out)
    counted = sum(r["madds"] for r in model.layers(NO_BN) if r["name"].startswith(name + "."))
    return FormulaValue(formula, counted), f"{h}·{w}·{d_in}·{t}·({d_in}+{k * k}+{d_out}) = {formula:,}"


def table1_checks(ctx: Context, paper: dict) -> list[Check]:
    """The §3.3 bottleneck cost h·w·d′·t(d′+k²+d″). The published value is the printed formula
    (the source prints no number); archcalc evaluates it on one block of the IR and compares it
    with that block's IR MAdds."""
    model = ctx.model("mnv2.yaml", classes=1001)
    checks = []
    t1_value, t1_text = bottleneck_formula(model, "stage1.block1")   # t = 1: no expansion conv is built
    for id, name, expected in (("t1.formula.s1", "stage2.block2", MATCH), ("t1.formula.s2", "stage2.block1", INCONSISTENT)):
        block = next(b for b in model.blocks if b.name == name)
        value, text = bottleneck_formula(model, name)
        t, k, stride = block.params["t"], block.params["k"], block.params["s"]
        explain = f"Formula on {name}: {text}; the IR's three convolutions: {value.counted:,}."
        if expected == INCONSISTENT:
            explain += (f" It counts all three convolutions at the input resolution; with stride {stride} the "
                        f"depthwise and projection run at {block.output_shape[1]}x{block.output_shape[2]} (Table 1's "
                        "h/s). The formula assumes stride 1; the paper gives no stride-aware form.")
        else:
            explain += (" At stride 1 the formula is, term by term, the sum of the expansion (h·w·d′·td′), depthwise "
                        "(h·w·td′·k²) and projection (h·w·td′·d″) convolutions, so this row checks that the IR "
                        "builds those three layers (an identity, not a measurement). It holds for stride 1 and "
                        f"t > 1 only: on the t = 1 block stage1.block1 it gives {t1_text}, while the IR, which builds "
                        f"no expansion conv, has {t1_value.counted:,} ({t1_value.evaluated / t1_value.counted:.2f}x).")
        checks.append(_check(paper, id, spec="mnv2.yaml", settings=f"{name}, t={t}, k={k}, s={stride}",
                             candidates=[("§3.3 formula evaluated on the block vs the block's IR MAdds", value)],
                             rules=("formula",), expected=expected, explain=explain))
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
    ("max", "shufflenet"): "600K repeats the garbled 28x28 cell; the largest tensor of ShuffleNet 2x is 627 kB (g = 2) "
                           "or 752 kB (g = 3), both at 56x56 and 28x28.",
}
# Cells no single reading of the table produces: the paper disagrees with itself.
TABLE3_INCONSISTENT = {
    cell: ("MobileNetV2's 56/28/14 cells (32/200, 64/100, 160/62) fit only a reading fitted cell by cell (each block "
           "charged at its input resolution with its output channels): that reading gives 24/602 at 112x112, where the "
           "paper prints the real 16/400, and 1280/125 at 7x7, where it prints 320/32; no 32-channel tensor exists at "
           "56x56 (the real ones there have 24 channels, 24/150) nor 64 at 28x28 or 160 at 14x14 as a single "
           "largest tensor. No single reading fits the column.")
    for cell in (("56", "mobilenet_v2"), ("28", "mobilenet_v2"), ("14", "mobilenet_v2"))
}
TABLE3_CAPTION = ("the caption's rule: non-bottleneck tensors only (between blocks; a block's inner tensors are "
                  "split per §5.1 and never whole; the first layer fused into the next)")
TABLE3_CAPTION_NOTE = {
    ("56", "shufflenet"): "48/300 is the 48-channel tensor entering stage 2 after the max pool (48 x 56 x 56 x 2 B = "
                          "301 kB). The first unit's inner tensor at 56x56 (1x1 group conv -> shuffle -> depthwise "
                          "-> group 1x1) is a bottleneck tensor, which the caption leaves out and the §5.1 split "
                          "never holds whole, so under the caption's rule this cell fits.",
}
TABLE3_SHUFFLENET_NOTE = ("The caption says ShuffleNet (2x, g = 3), whose stages have 480/960/1920 channels; the "
                          "printed 400/800/1600 are ShuffleNet 2x with g = 2 (ShuffleNet Table 1: 200/400/800 at 1x).")


def table3_cell_checks(ctx: Context, paper: dict) -> list[Check]:
    """One check per printed cell (row x network), candidates from archcalc.analysis.memory's
    named Table 3 conventions; ShuffleNet is tried at the caption's g = 3 and at g = 2."""
    from archcalc.analysis.memory import table3_cells

    models = table3_models(ctx)
    # the single-tensor reading, then the caption's; the memory analysis's 'block-input' reading is left
    # out: it was fitted cell by cell (TABLE3_INCONSISTENT)
    cells = {net: [(label, f"Table 3 'tensor' convention", table3_cells(model, "tensor")) for label, model in entries]
             + [(label, TABLE3_CAPTION, caption_cells(model)) for label, model in entries]
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
                # the 'tensor' convention is defined in archcalc.analysis.memory.TABLE3_CONVENTIONS (docs/memory.md)
                candidates.append((f"{label + ', ' if label else ''}{convention}", value))
            difference = TABLE3_DIFFERENCES.get((res, net))
            inconsistent = TABLE3_INCONSISTENT.get((res, net))
            explain = " ".join(filter(None, (difference, inconsistent, TABLE3_CAPTION_NOTE.get((res, net)))))
            if net == "shufflenet":
                explain = (explain + " " if explain else "") + TABLE3_SHUFFLENET_NOTE
            checks.append(Check(
                id=f"t3.v4.{res}.{net}", table=row["table"], row=f"{row['row']} {net}", quantity=row["quantity"],
                published=cell, unit="", source=row["source"], spec="mnv1.yaml, mnv2.yaml, shufflenet_v1.yaml",
                settings="fp16 activations, kB = 1000 B", candidates=candidates, rules=("Table 3 cell",),
                expected=DIFFERS if difference else INCONSISTENT if inconsistent else MATCH, explain=explain))
    return checks


def caption_cells(model: "Model") -> dict[int, tuple[int, int]]:
    """resolution -> (max channels, kB) over the tensors BETWEEN top-level blocks (every block's
    input but the first block's, and the last block's output): Table 3's caption counts no
    bottleneck (block-inner) tensor, and the first layer is fused into the next."""
    blocks = [b for b in model.blocks if b.nesting == 0]
    shapes = [b.input_shape for b in blocks[1:]] + [blocks[-1].output_shape]
    cells: dict[int, int] = {}
    for shape in shapes:
        res = shape[1] if len(shape) == 3 else 1
        cells[res] = max(cells.get(res, 0), shape[0])
    return {res: (c, c * res * res * 2 // 1000) for res, c in cells.items()}


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
                 f"({nearest['madds'] / 1e6:.2f}M), the FC is {v1.node('logits')['cost'].madds / 1e6:.2f}M. Batch norm at "
                 f"inference is one multiply-add per activation ({bn_ops / 2e6:.2f}M: {(v1_madds + bn_ops / 2) / 1e6:.1f}M "
                 f"in all) or a multiply and an add ({bn_ops / 1e6:.2f}M: {(v1_madds + bn_ops) / 1e6:.1f}M); neither "
                 "gives 575, so 575 is not a count of this architecture under any stated convention.")))
    for key, width, name in (("shuffle15", 1.5, "1.5"), ("shuffle2", 2.0, "x2")):
        model = ctx.model("shufflenet_v1.yaml", width=width)
        settings = f"g=3, {name}, 224, 1000 classes"
        checks.append(_check(paper, f"t4.{key}.params", spec="shufflenet_v1.yaml", settings=settings,
                             candidates=[("weights + biases, no BN", _in(total(model, "params"), "M"))]))
        checks.append(_check(paper, f"t4.{key}.madds", spec="shufflenet_v1.yaml", settings=settings,
                             candidates=[("conv + FC multiply-adds", _in(total(model, "madds"), "M"))]))
    nasnet = ctx.model("nasnet_a_mobile.yaml")
    settings = "mobile config: 12 cells, 44 filters, 224, 1001 classes, no auxiliary head"
    checks.append(_check(paper, "t4.nasnet.params", spec="nasnet_a_mobile.yaml", settings=settings,
                         candidates=[("TF trainable variables (weights, biases, BN γ/β)",
                                      _in(total(nasnet, "params", TRAINABLE), "M"))]))
    checks.append(_check(paper, "t4.nasnet.madds", spec="nasnet_a_mobile.yaml", settings=settings,
                         candidates=[("conv + FC multiply-adds", _in(total(nasnet, "madds"), "M"))]))
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
    lite_explain = ssdlite_head_explain(ctx, lite, lite90, head_madds, extras, backbone)
    for key, spec in (("ssd", "ssd_mnv2.yaml"), ("ssdlite", "ssdlite_mnv2.yaml")):
        model = ctx.model(spec, classes=80)
        settings = "320x320, 80 classes (+1 background), head = extra layers + predictors"
        checks.append(_check(paper, f"t5.{key}.params", spec=spec, settings=settings,
                             candidates=[("TF trainable variables (weights, biases, BN γ/β)",
                                          _in(part(model, SSD_HEAD, "params", TRAINABLE), "M"))]))
        checks.append(_check(paper, f"t5.{key}.madds", spec=spec, settings=settings,
                             candidates=[("conv multiply-adds", _in(part(model, SSD_HEAD, "madds"), "B"))],
                             expected=INCONSISTENT if key == "ssdlite" else MATCH,
                             explain=lite_explain if key == "ssdlite" else ""))
    return checks


def ssdlite_head_explain(ctx: Context, lite: "Model", lite90: "Model", head_madds: int, extras: int,
                         backbone: int) -> str:
    """Why Table 5's SSDLite 0.35B and Table 6's 0.8B cannot both hold, with each reading tried."""
    head_params = part(lite, SSD_HEAD, "params", TRAINABLE)
    rows = [r["name"] for r in lite.layers(TRAINABLE)]
    after15 = [r for r in lite.layers(TRAINABLE)[rows.index("stage6.block1.dw.conv"):]
               if not r["name"].startswith(SSD_HEAD)]
    head90_madds, head90_params = part(lite90, SSD_HEAD, "madds"), part(lite90, SSD_HEAD, "params", TRAINABLE)
    reconstruction = head90_madds + sum(r["madds"] for r in after15)
    reconstruction_params = head90_params + sum(r["params"] for r in after15)
    at300 = ctx.model("ssdlite_mnv2.yaml", classes=80, resolution=300)
    return (
        f"The SSDLite head (4 separable extra layers: {extras / 1e9:.4f}B; 12 separable predictors: "
        f"{(head_madds - extras) / 1e9:.4f}B) costs {head_madds / 1e9:.4f}B and {head_params / 1e6:.3f}M params at "
        f"320x320 with 81 outputs per anchor; the params match Table 5's 2.1M. Tables 5 and 6 disagree with each "
        f"other: the backbone to layer_19 is {backbone / 1e9:.4f}B, and {backbone / 1e9:.4f} + {head_madds / 1e9:.4f} = "
        f"{(backbone + head_madds) / 1e9:.3f}B is Table 6's 0.8B, while {backbone / 1e9:.4f} + 0.35 = "
        f"{(backbone + 0.35e9) / 1e9:.3f}B is not. Readings tried for 0.35B: the config's 90 classes "
        f"({head90_madds / 1e9:.4f}B); a 300x300 input ({part(at300, SSD_HEAD, 'madds') / 1e9:.4f}B); the 90-class "
        f"head plus the backbone after layer_15's expansion ({reconstruction / 1e9:.3f}B, but "
        f"{reconstruction_params / 1e6:.2f}M params, contradicting the 2.1M of the same row). The only single "
        f"convention found that gives both printed numbers is FLOPs = 2 x MAdds: 2 x {head_madds / 1e9:.4f} = "
        f"{2 * head_madds / 1e9:.4f}B, printed truncated as 0.35, params unchanged; Table 5's other rows and "
        "Table 6 count MAdds, so the table mixes conventions.")


def table6_checks(ctx: Context, paper: dict) -> list[Check]:
    checks = [*ssd_vgg_checks(ctx, paper), *yolov2_checks(ctx, paper)]
    for key, spec in (("v1ssdlite", "ssdlite_mnv1.yaml"), ("v2ssdlite", "ssdlite_mnv2.yaml")):
        model = ctx.model(spec, classes=80)
        settings = "320x320, 80 classes (+1 background), whole network"
        checks.append(_check(paper, f"t6.{key}.params", spec=spec, settings=settings,
                             candidates=[("TF trainable variables (weights, biases, BN γ/β)",
                                          _in(total(model, "params", TRAINABLE), "M"))]))
        checks.append(_check(paper, f"t6.{key}.madds", spec=spec, settings=settings,
                             candidates=[("conv multiply-adds", _in(total(model, "madds"), "B"))]))
    return checks


def yolov2_checks(ctx: Context, paper: dict) -> list[Check]:
    """YOLOv2 (darknet yolov2.cfg): params under the COCO cfg and the VOC cfg (125 outputs); MAdds at
    the cfg's 608 and the paper's 416 and 544 inputs."""
    sizes = (416, 544, 608)
    coco = {r: ctx.model("yolov2.yaml", resolution=r) for r in sizes}
    voc = {r: ctx.model("yolov2.yaml", resolution=r, classes=20) for r in sizes}
    learned = "weights + biases + BN γ/β"
    params = [(f"{learned}, COCO cfg (425 outputs)", _in(total(coco[416], "params", TRAINABLE), "M")),
              (f"{learned}, VOC cfg (5 x (20 + 5) = 125 outputs)", _in(total(voc[416], "params", TRAINABLE), "M"))]
    madds = [(f"conv multiply-adds, COCO, {r}x{r}", _in(total(coco[r], "madds"), "B")) for r in sizes]
    madds += [(f"conv multiply-adds, VOC, {r}x{r}", _in(total(voc[r], "madds"), "B")) for r in (416, 544)]
    need = (17.5e9 / total(coco[416], "madds")) ** 0.5 * 416
    explain = (f"Darknet's YOLOv2 costs {total(coco[416], 'madds') / 1e9:.2f}B at 416x416, "
               f"{total(coco[544], 'madds') / 1e9:.2f}B at 544 and {total(coco[608], 'madds') / 1e9:.2f}B at the cfg's 608 "
               f"(COCO; VOC's 125-output detection conv saves {(total(coco[416], 'madds') - total(voc[416], 'madds')) / 1e6:.0f}M "
               f"at 416). MAdds grow with the input area, so 17.5B would need a {need:.0f}x{need:.0f} input, which darknet "
               "cannot take (the input must be a multiple of 32: five 2x2 pools and the reorg). Counting FLOPs = 2 x MAdds "
               f"gives {2 * total(coco[416], 'madds') / 1e9:.1f}B at 416, not 17.5 either; archcalc cannot name the count.")
    settings = "darknet yolov2.cfg (Darknet-19 + passthrough, 5 anchors), inputs 416 / 544 / 608"
    return [
        _check(paper, "t6.yolov2.params", spec="yolov2.yaml", settings=settings, candidates=params,
               explain="The params fit the VOC configuration (yolov2-voc.cfg, 20 classes); the COCO cfg has "
                       f"{total(coco[416], 'params', TRAINABLE) / 1e6:.2f}M."),
        _check(paper, "t6.yolov2.madds", spec="yolov2.yaml", settings=settings, candidates=madds, expected=DIFFERS,
               explain=explain),
    ]


def ssd_vgg_checks(ctx: Context, paper: dict) -> list[Check]:
    """SSD300 / SSD512 on VGG-16 as the original Caffe SSD builds them; COCO (81 outputs per
    prior) first, PASCAL VOC (21) second."""
    models = {key: (ctx.model(f"{key}_vgg16.yaml"), ctx.model(f"{key}_vgg16.yaml", classes=20))
              for key in ("ssd300", "ssd512")}
    learned = "weights + biases + conv4_3_norm scales"
    params = {key: [total(m, "params") for m in pair] for key, pair in models.items()}
    madds = {key: [total(m, "madds") for m in pair] for key, pair in models.items()}
    extra = params["ssd512"][0] - params["ssd300"][0]
    common = (f"SSD300 / SSD512 (COCO) compute to {madds['ssd300'][0] / 1e9:.2f}B / {params['ssd300'][0] / 1e6:.2f}M and "
              f"{madds['ssd512'][0] / 1e9:.2f}B / {params['ssd512'][0] / 1e6:.2f}M (VOC: {madds['ssd300'][1] / 1e9:.2f}B / "
              f"{params['ssd300'][1] / 1e6:.2f}M and {madds['ssd512'][1] / 1e9:.2f}B / {params['ssd512'][1] / 1e6:.2f}M). "
              f"Table 6 prints the same 36.1M for both, though SSD512 has {extra / 1e6:.2f}M more (conv10 and a seventh "
              f"head), so at most one of the two params cells can be a count.")
    explain = {
        "ssd300.params": common + f" 36.1M is {36.1e6 / params['ssd300'][0] - 1:+.1%} from SSD300's count and within "
                                  f"0.1M of SSD512's count, as if repeated from that row.",
        "ssd300.madds": common + f" The printed 35.2B is {35.2e9 / madds['ssd300'][0] - 1:+.1%} from the count; neither "
                                 "class count (COCO, VOC) reaches it, and archcalc cannot name the difference.",
        "ssd512.params": common,
        "ssd512.madds": common + f" The printed 99.5B is {99.5e9 / madds['ssd512'][0] - 1:+.1%} from the count; "
                                 "archcalc cannot name the difference.",
    }
    expected = {"ssd300.params": DIFFERS, "ssd300.madds": DIFFERS, "ssd512.params": MATCH, "ssd512.madds": DIFFERS}
    checks = []
    for key, (coco, _) in models.items():
        side = coco.node("input")["shape"][1]
        settings = f"{side}x{side}, VGG-16 reduced + dilated fc6, COCO 80 classes (+1 background); VOC 20 (+1) second"
        for quantity, values, unit, label in (("params", params[key], "M", learned),
                                              ("madds", madds[key], "B", "conv multiply-adds")):
            candidates = [(f"{label}, COCO", _in(values[0], unit)), (f"{label}, VOC", _in(values[1], unit))]
            checks.append(_check(paper, f"t6.{key}.{quantity}", spec=f"{key}_vgg16.yaml", settings=settings,
                                 candidates=candidates, expected=expected[f"{key}.{quantity}"],
                                 explain=explain[f"{key}.{quantity}"]))
    return checks


S2B = "TF space-to-batch atrous conv (outputs rounded up to a multiple of the rate)"
PLAIN = "conv multiply-adds"
MULTI_GRID = "block4 multi-grid (1, 2, 4), " + S2B
# ResNet-101 rows: DeepLabv3's multi-grid variant of the same network (same params and plain MAdds)
MULTI_GRID_SPECS = {"deeplabv3_resnet101_beta.yaml": "deeplabv3_resnet101_beta_mg124.yaml",
                    "deeplabv3_resnet101_beta_os8.yaml": "deeplabv3_resnet101_beta_mg124_os8.yaml"}


def deeplab_madds(ctx: Context, spec: str, mf: bool) -> tuple[int, int]:
    """(plain, space-to-batch) MAdds of one Table 7 row: single-scale, or multi-scale + flip."""
    if mf:
        return mf_madds(ctx, spec), mf_madds(ctx, spec, space_to_batch=True)
    model = ctx.model(spec)
    plain = total(model, "madds")
    return plain, plain + space_to_batch_extra(model)


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
        plain_madds, s2b_madds = deeplab_madds(ctx, spec, mf)
        candidates = [(PLAIN, _in(plain_madds, "B")), (S2B, _in(s2b_madds, "B"))]
        grid = MULTI_GRID_SPECS.get(spec)
        if grid:
            candidates.append((MULTI_GRID, _in(deeplab_madds(ctx, grid, mf)[1], "B")))
        checks.append(_check(paper, f"t7.{key}.madds", spec=spec + (f", {grid}" if grid else ""), settings=settings,
                             candidates=candidates, expected=expected,
                             explain=table7_explain(ctx, key, spec, plain_madds, s2b_madds, candidates)))
    return checks


def table7_explain(ctx: Context, key: str, spec: str, plain: int, s2b: int, candidates: list) -> str:
    """What a Table 7 MAdds row's printed value says about the counting convention."""
    printed = float(paper_rows()[f"t7.{key}.madds"]["printed"]) * 1e9
    if key in ("v2_noaspp", "v2_noaspp_os8_mf"):
        return (f"Plain conv MAdds {plain / 1e9:.2f}B ({plain / printed - 1:+.2%}), TF space-to-batch {s2b / 1e9:.2f}B "
                f"({s2b / printed - 1:+.2%}): without ASPP the only dilated convs are the backbone's few rate-2/4 "
                "depthwise layers, so the two conventions differ by less than the printed precision and this row "
                "cannot tell them apart; it is no evidence for either.")
    if key.startswith("v2"):
        return (f"Plain conv MAdds {plain / 1e9:.2f}B; with TF's space-to-batch atrous convs (rates as slim assigns "
                f"them: the unit whose stride is removed keeps the previous rate) {s2b / 1e9:.3f}B. The ASPP rows "
                "tell the conventions apart (rates 6/12/18 pad 33 to 36 per side).")
    if plain <= printed < s2b:
        where = "between the two counts, so neither convention reproduces it"
    else:
        where = f"{(printed - s2b) / 1e9:.2f}B ({printed / s2b - 1:.1%}) above even the space-to-batch count"
    text = (f"Plain conv MAdds: {plain / 1e9:.2f}B; with TF's space-to-batch atrous convs (the convention under which "
            f"the MNet V2* ASPP rows match): {s2b / 1e9:.2f}B. The printed {printed / 1e9:g}B is {where}.")
    if key.startswith("v1"):
        text += (" The parameter count matches (11.15M: slim's V1 body to Conv2d_13_pointwise, 1024 channels, and the "
                 "MNet V2* head), so the network has the right size; the two V1 rows do not follow one counting rule "
                 "(OS 16 lies above the space-to-batch count, OS 8 + MF below it), and archcalc cannot name the "
                 "difference.")
    else:
        base = ctx.model(spec.replace("_beta", ""))
        grid = candidates[-1][1] * 1e9
        text += (f" DeepLabv3's block4 multi-grid (1, 2, 4) (research/deeplab resnet_v1_beta `multi_grid`), which "
                 f"changes no plain MAdds, raises the space-to-batch count to {grid / 1e9:.3f}B, "
                 f"{abs(printed / grid - 1):.2%} from the printed value: the nearest reading found, still outside "
                 f"the printed digits. The beta root (three 3x3 convs) is the one whose params match 58.16M; the "
                 f"plain 7x7 root (deeplabv3_resnet101.yaml) gives {total(base, 'params', TRAINABLE) / 1e6:.2f}M and "
                 f"{total(base, 'madds') / 1e9:.2f}B single-scale MAdds at this OS, further away.")
    return text


RULES["Table 3 cell"] = rule_table3_cell


def checks(ctx: Context, paper: dict) -> list[Check]:
    """Every paper row, in report order."""
    return [
        *table1_checks(ctx, paper), *table2_checks(ctx, paper), *table3_checks(ctx, paper),
        *table4_checks(ctx, paper), *text_checks(ctx, paper), *table5_checks(ctx, paper),
        *table6_checks(ctx, paper), *table7_checks(ctx, paper),
    ]
