"""``archcalc cost``: MAdds, parameters and the other terms, by stage, block and layer."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from archcalc.cli.common import (
    BnParams, Format, echo, fit_lines, fmt_int, fmt_si, spec_errors, terminal_width, write_csv, write_json, write_markdown,
    write_text_table,
)

if TYPE_CHECKING:  # the library is imported when the command runs, not for its --help
    from typing import Annotated

    import typer

    from archcalc.analysis.convention import Convention
    from archcalc.cli.options import ClassesOption, DepthOption, ResolutionOption, SpecArgument, WidthOption
    from archcalc.model import Model

TABLE_COLUMNS = ("name", "type", "output", "madds", "params", "params_without_bn", "flops")
TABLE_HEADERS = ("layer", "type", "output", "MAdds", "params", "params (no BN)", "FLOPs")


def block_labels(model: Model) -> dict[str, str]:
    """Human labels for scopes: ``bottleneck t=6 c=24 s=2`` per block, ``bottleneck x3`` per row."""
    labels: dict[str, str] = {}
    counts: dict[str, int] = {}
    for block in model.blocks:
        shown = {k: v for k, v in block.params.items()
                 if k in ("t", "c", "s", "r") or (k == "k" and v != 3) or (k == "dilation" and v != 1)}
        # a block whose activation is switched off is a linear layer (MobileNetV2's projection):
        # the label says so rather than reading like any other conv_bn_act
        linear = ["linear (act=identity)"] if block.params.get("act") == "identity" else []
        labels[block.name] = " ".join([block.type, *(f"{k}={v}" for k, v in shown.items()), *linear])
        stage, _, tail = block.name.rpartition(".")
        if block.nesting == 0 and stage and tail.startswith("block"):
            counts[stage] = counts.get(stage, 0) + 1
            labels[stage] = f"{block.type} x{counts[stage]}"
    return labels


def hierarchical_rows(model: Model, depth: int, convention: Convention) -> list[dict]:
    """Rows for every scope level down to ``depth``, parents before children."""
    from archcalc.analysis.costs import rollup

    labels = block_labels(model)
    layers = model.layers(convention)  # once: every level sums the same rows (Model.grouped would redo them)
    levels = [rollup(layers, level) for level in range(1, depth + 1)]
    by_name = {row["name"]: row for rows in levels for row in rows}
    ordered, seen = [], set()
    for row in levels[-1]:
        parts = row["name"].split(".")
        for level in range(1, len(parts) + 1):
            name = ".".join(parts[:level])
            if name in seen:
                continue
            seen.add(name)
            entry = dict(by_name[name])
            entry["level"] = level
            entry["type"] = labels.get(name, entry["op"])
            entry["output"] = "x".join(map(str, entry["output_shape"]))
            ordered.append(entry)
    return ordered


def cost_payload(model: Model, convention: Convention) -> dict:
    """The JSON document of ``archcalc cost --format json`` (integers stay exact)."""
    return {
        "spec": model.spec.path,
        "name": model.name,
        "width": model.width,
        "resolution": model.resolution,
        "classes": model.classes,
        "convention": convention.as_dict(),
        "totals": model.totals(convention),
        "layers": model.layers(convention),
    }


def render_table(model: Model, rows: list[dict], convention: Convention, max_width: int | None = None) -> str:
    """The table of ``archcalc cost``: one line per scope, children indented under parents."""
    from archcalc.analysis.costs import COLUMNS

    totals = model.totals(convention)
    title = model_title(model)
    cells = [
        [("  " * (row["level"] - 1) + row["name"].split(".")[-1]) if row["level"] > 1 else row["name"],
         row["type"], row["output"], *(fmt_int(row[c]) for c in TABLE_COLUMNS[3:])]
        for row in rows
    ]
    footer = ["total", "", "", *(fmt_int(totals[c]) for c in TABLE_COLUMNS[3:])]
    table = write_text_table(title, TABLE_HEADERS, cells, footer, [c in COLUMNS for c in TABLE_COLUMNS],
                             max_width=max_width)
    return table + fit_lines(f"convention: {convention.describe()}\n" + summary_line(totals), max_width)


def summary_line(totals: dict) -> str:
    """The totals for a reader: SI prefixes (k, M, G, T); the table and JSON keep exact integers."""
    return (f"MAdds {fmt_si(totals['madds'])}   params {fmt_si(totals['params'])} "
            f"(without BN {fmt_si(totals['params_without_bn'])})   FLOPs {fmt_si(totals['flops'])}\n")


def model_title(model: Model) -> str:
    """``name  width  resolution  classes``; classes only for a spec with a classifier."""
    classes = f"  classes {model.classes}" if model.spec.uses_classes and model.classes is not None else ""
    return f"{model.name}  width {model.width:g}  resolution {model.resolution}{classes}"


def convention_from_options(batch: int, bn_params: BnParams | str, flops_per_madd: int, flops_terms: Optional[str]) -> Convention:
    from archcalc.analysis.convention import Convention

    terms = tuple(t.strip() for t in flops_terms.split(",") if t.strip()) if flops_terms is not None else None
    kwargs = {"batch": batch, "bn_params": getattr(bn_params, "value", bn_params), "flops_per_madd": flops_per_madd}
    if terms is not None:
        kwargs["flops_terms"] = terms
    return Convention(**kwargs)


@spec_errors
def cost(
    spec: SpecArgument,
    width: WidthOption = None,
    resolution: ResolutionOption = None,
    depth_multiplier: DepthOption = None,
    classes: ClassesOption = None,
    depth: Annotated[int, typer.Option(min=1, help="table depth: 1 stages, 2 blocks, 3 block parts, 4+ ops")] = 2,
    fmt: Annotated[Format, typer.Option("--format", help="table, csv, json or markdown")] = Format.table,
    batch: Annotated[int, typer.Option(min=1, help="batch size (multiplies every op count)")] = 1,
    bn_params: Annotated[BnParams, typer.Option(help="BN params counted: none, affine (gamma, beta: 2/channel) or "
                                                     "all (+ running stats: 4/channel)")] = BnParams.affine,
    flops_per_madd: Annotated[int, typer.Option(min=1, max=2, help="FLOPs per multiply-add: 2 or 1")] = 2,
    flops_terms: Annotated[Optional[str], typer.Option(
        help="comma list of extra terms in FLOPs, from: bias, bn, act, eltwise, pool, resize "
             "(default: all; '' for none)")] = None,
) -> None:
    """MAdds, parameters and activation sizes by stage, block and layer."""
    import archcalc
    from archcalc.analysis.costs import COLUMNS

    convention = convention_from_options(batch, bn_params, flops_per_madd, flops_terms)
    model = archcalc.load(spec, width=width, resolution=resolution, classes=classes, depth=depth_multiplier)
    if fmt is Format.json:
        echo(write_json(cost_payload(model, convention)))
        return
    if fmt is Format.csv:
        header = [f"spec: {model.spec.path} {model_title(model)}",
                  f"convention: {convention.describe()}"]
        columns = ("name", "op", "output_shape", *COLUMNS)
        echo(write_csv(model.layers(convention), columns, header))
        return
    rows = hierarchical_rows(model, depth, convention)
    if fmt is Format.markdown:
        totals = {"name": "**total**", "type": "", "output": "", **model.totals(convention)}
        echo(write_markdown([*rows, totals], TABLE_COLUMNS, TABLE_HEADERS)
             + f"\nConvention: {convention.describe()}\n")
        return
    echo(render_table(model, rows, convention, max_width=terminal_width()))


def register(app: typer.Typer) -> None:
    """``cost`` loads without typer (archcalc.cli.fast runs it directly): its options are
    string annotations, given their typer meaning here."""
    from archcalc.cli.options import resolve_declarations

    resolve_declarations(globals())
    app.command()(cost)
