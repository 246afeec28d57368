"""``archcalc sweep``, ``archcalc formula``, ``archcalc plot frontier|contour``: the design space.

Thin on purpose: options are parsed here and everything else is a library call
(:func:`archcalc.analysis.sweep.sweep`, :func:`archcalc.analysis.symbolic.formula`,
:mod:`archcalc.plots`). pandas, numpy, sympy and matplotlib are imported inside the
commands, so ``archcalc cost`` never pays for them.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from archcalc.cli.common import (
    BnParams, CostAxis, Dtype, Format, echo, fit_lines, fmt_int, progress_bar, spec_errors, terminal_width, write_json,
    write_markdown, write_text_table,
)
from archcalc.cli.options import ClassesOption, DepthOption, MaxSpreadOption, SpecArgument

PROGRESS_MIN_POINTS = 400  # a closed-form sweep of fewer points is instant
TABLE_ROWS = 200  # rows a terminal table of a sweep shows; the other formats print every row


def run_sweep(spec: Path, widths: str, resolutions: str, classes: Optional[int], bn_params: str,
              memory: bool, dtype: str, latency: bool, accuracy: Optional[Path], quiet: bool = False,
              repeats: int = 10, warmup: int = 2, max_spread: float = 0.25, depth: Optional[float] = None):
    from archcalc.analysis.convention import Convention
    from archcalc.analysis.sweep import parse_values, sweep
    from archcalc.spec.loader import load_spec

    if depth is not None:  # the depth multiplier fixes the structure; the sweep varies width and resolution
        spec = load_spec(spec, depth=depth)

    ws, rs = parse_values(widths, float), parse_values(resolutions, int)
    total = len(ws) * len(rs)
    with progress_bar(total, "sweep", not quiet and (memory or latency or total >= PROGRESS_MIN_POINTS)) as advance:
        return sweep(spec, ws, rs, classes=classes, convention=Convention(bn_params=bn_params),
                     accuracy=accuracy if accuracy else True, memory=memory, dtype=dtype, latency=latency,
                     latency_repeats=repeats, latency_warmup=warmup, latency_max_spread=max_spread,
                     progress=advance)


WIDTHS_HELP = "widths: a list 0.35,0.5,1.0 or a range start:stop:step (0.3:1.5:0.05)"
RES_HELP = "resolutions: a list 96,128,224 or a range 96:224:32"


def register(app: typer.Typer) -> None:
    @app.command("sweep")
    @spec_errors
    def sweep_command(
        spec: SpecArgument,
        widths: str = typer.Option("0.35,0.5,0.75,1.0,1.4", help=WIDTHS_HELP),
        resolutions: str = typer.Option("96,128,160,192,224", help=RES_HELP),
        classes: ClassesOption = None,
        depth_multiplier: DepthOption = None,
        bn_params: BnParams = typer.Option(BnParams.affine, help="BN params counted in 'params'"),
        memory: bool = typer.Option(False, "--memory", help="add peak activation memory (compiles every point)"),
        dtype: Dtype = typer.Option(Dtype.float32, help="activation dtype for --memory"),
        latency: bool = typer.Option(False, "--latency", help="add measured CPU latency (PyTorch, every point)"),
        repeats: int = typer.Option(10, min=1, help="--latency: timed runs per point (the median is reported)"),
        warmup: int = typer.Option(2, min=0, help="--latency: untimed runs per point first"),
        max_spread: float = MaxSpreadOption,
        accuracy: Optional[Path] = typer.Option(None, help="accuracy CSV to join (default: the packaged one)"),
        fmt: Format = typer.Option(Format.table, "--format", help="table, csv, json or markdown"),
    ) -> None:
        """MAdds, params (and memory, latency, published accuracy) for every (width, resolution)."""
        frame = run_sweep(spec, widths, resolutions, classes, bn_params.value, memory, dtype.value, latency, accuracy,
                          quiet=fmt is not Format.table, repeats=repeats, warmup=warmup, max_spread=max_spread,
                          depth=depth_multiplier)
        columns = [c for c in ("width", "resolution", "madds", "params", "params_without_bn", "flops", "peak_bytes",
                               "latency_ms", "latency_iqr_ms", "latency_flagged", "top1", "top5") if c in frame.columns]
        notes = [f"spec: {frame.attrs['spec']} ({frame.attrs['network']}), classes {frame.attrs['classes']}",
                 f"convention: {frame.attrs['convention']}"]
        for key in ("memory", "latency"):
            if key in frame.attrs:
                notes.append(f"{key}: {frame.attrs[key]}")
        if latency and frame["latency_flagged"].any():
            flagged = frame[frame["latency_flagged"]]
            notes.append(f"LATENCY FLAGGED at {len(flagged)} point(s) (spread too large, medians not to be trusted): "
                         + ", ".join(f"{w:g}/{r}" for w, r in zip(flagged["width"], flagged["resolution"])))
        notes.append("top1/top5: published accuracy where known (empty = not published, never estimated)")
        if fmt in (Format.csv, Format.json, Format.markdown):  # streamed: a million rows, no table of dicts
            from archcalc.analysis.sweep import write_csv as write_sweep_csv  # columnar

            write, with_source = {Format.csv: (write_sweep_csv, True), Format.json: (write_sweep_json, True),
                                  Format.markdown: (write_sweep_markdown, False)}[fmt]
            write(frame, columns + ["accuracy_source"] * with_source, notes, sys.stdout)
            sys.stdout.flush()
            return
        if len(frame) > TABLE_ROWS:  # a terminal shows a screenful, and says where the rest is
            notes.append(f"showing the first {TABLE_ROWS:,} of {len(frame):,} rows: --format csv (or json, markdown) "
                         "prints them all")
            frame = frame.head(TABLE_ROWS)
        records = row_records(frame, columns)
        # the columns a reader needs first stay leftmost: a narrow terminal drops from the right
        shown = sorted(columns, key=lambda c: c in ("params_without_bn", "flops"))
        cells = [[_cell(r.get(c)) for c in shown] for r in records]
        echo(write_text_table("", shown, cells, [""] * len(shown), [True] * len(shown),
                              max_width=terminal_width(), keep=2, footer_rule=False)
             + fit_lines("\n".join(notes) + "\n", terminal_width()))

    @app.command("formula")
    @spec_errors
    def formula_command(
        spec: SpecArgument,
        classes: ClassesOption = None,
        latex: bool = typer.Option(False, "--latex", help="print LaTeX instead of plain text"),
        blocks: bool = typer.Option(True, help="also print the per-block expressions and the Table 1 check"),
    ) -> None:
        """MAdds and params as closed forms in the width α and the resolution ρ (sympy)."""
        echo(formula_text(spec, classes, latex, blocks))

    plot = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Design-space figures (PNG and SVG).")
    app.add_typer(plot, name="plot")

    @plot.command("frontier")
    @spec_errors
    def frontier_command(
        spec: SpecArgument,
        widths: str = typer.Option("0.35,0.5,0.75,1.0,1.3,1.4", help=WIDTHS_HELP),
        resolutions: str = typer.Option("96,128,160,192,224", help=RES_HELP),
        classes: ClassesOption = None,
        accuracy: Optional[Path] = typer.Option(None, help="accuracy CSV (default: the packaged one)"),
        x: CostAxis = typer.Option(CostAxis.madds, "--x", help="cost axis"),
        fit: bool = typer.Option(False, "--fit", help="draw a fitted accuracy for unpublished points (a prediction)"),
        repeats: int = typer.Option(10, min=1, help="--x latency: timed runs per point (the median is plotted)"),
        warmup: int = typer.Option(2, min=0, help="--x latency: untimed runs per point first"),
        max_spread: float = MaxSpreadOption,
        output: Path = typer.Option(Path("figure5.png"), "-o", "--output",
                                    help="PNG path (default: ./figure5.png); an SVG is written beside it"),
    ) -> None:
        """Accuracy vs cost, a line per width and per resolution, the Pareto frontier, Table 4 references."""
        from archcalc.analysis.sweep import parse_values
        from archcalc.plots import save, spec_frontier

        ws, rs = parse_values(widths, float), parse_values(resolutions, int)
        latency = {"latency_repeats": repeats, "latency_warmup": warmup, "latency_max_spread": max_spread}
        with progress_bar(len(ws) * len(rs), "plot", x in (CostAxis.memory, CostAxis.latency)) as advance:
            figure = spec_frontier(spec, widths=ws, resolutions=rs, classes=classes, x=x.value, accuracy=accuracy,
                                   fit=fit, progress=advance, **latency)
        for path in save(figure, str(output)):
            echo(f"wrote {Path(path).resolve()}\n")

    @plot.command("contour")
    @spec_errors
    def contour_command(
        spec: SpecArgument,
        widths: str = typer.Option("0.3:1.5:0.025", help=WIDTHS_HELP),
        resolutions: str = typer.Option("96:256:8", help=RES_HELP),
        classes: ClassesOption = None,
        memory: bool = typer.Option(True, help="also draw iso-peak-memory curves (compiled on a coarser grid)"),
        memory_widths: str = typer.Option("0.35,0.5,0.75,1.0,1.25,1.5", help="grid for the memory curves"),
        memory_resolutions: str = typer.Option("96,128,160,192,224,256", help="grid for the memory curves"),
        output: Path = typer.Option(Path("contour.png"), "-o", "--output",
                                    help="PNG path (default: ./contour.png); an SVG is written beside it"),
    ) -> None:
        """Iso-MAdds (and iso-memory) curves over (width, resolution), published checkpoints marked."""
        from archcalc.analysis.sweep import parse_values
        from archcalc.plots import save, spec_contour

        mws, mrs = parse_values(memory_widths, float), parse_values(memory_resolutions, int)
        with progress_bar(len(mws) * len(mrs), "plot", memory) as advance:
            figure = spec_contour(spec, widths=parse_values(widths, float), resolutions=parse_values(resolutions, int),
                                  classes=classes, memory=memory, memory_widths=mws,
                                  memory_resolutions=mrs, progress=advance)
        for path in save(figure, str(output)):
            echo(f"wrote {Path(path).resolve()}\n")


def formula_text(spec: Path, classes: Optional[int], latex: bool, blocks: bool) -> str:
    import sympy

    from archcalc.analysis.symbolic import formula

    f = formula(spec, classes=classes)
    show = sympy.latex if latex else sympy.sstr
    lines = [f"# {spec}: closed forms in alpha (width multiplier) and rho (input resolution)",
             f"# structure: {f.structure_note}; MAdds = conv+linear multiply-adds; params without BN", "",
             "## channel counts (exact rounding rule of the spec, in alpha)"]
    lines += [f"{show(c)} = {show(d)}" for c, d in f.channels.items()]
    lines += ["", "## MAdds (exact; floor = the conv output-size rule)", show(f.madds), "",
              "## params without BN (exact)", show(f.params), "",
              "## smooth approximation (channel rounding removed; exact in rho when rho is a multiple of 32)",
              f"MAdds ~ {show(f.madds_smooth)}", f"params ~ {show(f.params_smooth)}"]
    from archcalc.spec.loader import load_spec

    name = load_spec(spec).name
    error = smooth_error(f, name)
    if not error:
        lines.append(f"(no published (width, resolution) grid for {name}: the smooth forms' error is not stated)")
    else:
        lines.append(f"max relative error of the smooth MAdds over the published {error['grid']} grid: {error['madds']:.2%} "
                     f"(at width {error['madds_at'][0]:g}, resolution {error['madds_at'][1]}); "
                     f"params: {error['params']:.2%} (at width {error['params_at'][0]:g})")
    if blocks:
        lines += ["", "## per block: exact MAdds from the IR for a block input of h x w (c_i as above)",
                  "## Table 1 (stride 1, expansion conv): h*w*d'*t*(d' + k^2 + d'')",
                  "## stride-aware: h*w*d'*(t*d') [if t > 1] + ceil(h/s)*ceil(w/s)*(t*d')*(k^2 + d'')"]
        for b in f.blocks:
            params = " ".join(f"{k}={b[k]}" for k in ("t", "c", "s") if k in b)
            lines.append(f"{b['name']} ({b['type']} {params}, input {'x'.join(map(str, b['input']))}): "
                         f"{show(b['exact'])}")
            if "table1_holds" in b:
                why = "" if b["table1_holds"] else (" (t = 1: no expansion conv)" if b.get("t") == 1 else
                                                    f" (stride {b.get('s')}: depthwise and projection at h/s x w/s)")
                lines.append(f"    Table 1 {'holds' if b['table1_holds'] else 'differs'}{why}; "
                             f"stride-aware form {'holds' if b['stride_aware_holds'] else 'differs'}")
    return "\n".join(lines) + "\n"


def smooth_error(f, network: str) -> dict:
    """Max relative error of the smooth forms against the exact ones over the published
    (width, resolution) checkpoints of ``network``; empty when it has none (no other
    network's grid stands in for it)."""
    import sympy

    from archcalc.analysis.sweep import load_accuracy

    table = load_accuracy()
    points = table[table.get("kind", "checkpoint") == "checkpoint"].dropna(subset=["width", "resolution"])
    points = points[points["network"] == network]
    worst = {"madds": 0.0, "params": 0.0, "madds_at": None, "params_at": None}
    for w, r in {(float(a), int(b)) for a, b in zip(points["width"], points["resolution"])}:
        exact = f.evaluate(w, r)
        at = {f.alpha: sympy.Rational(w), f.rho: r}
        for key, smooth, true in (("madds", f.madds_smooth, exact["madds"]),
                                  ("params", f.params_smooth, exact["params_without_bn"])):
            err = abs(float(smooth.subs(at)) - true) / true
            if err >= worst[key]:
                worst[key], worst[f"{key}_at"] = err, (w, r)
    worst["grid"] = network
    return worst if worst["madds_at"] else {}


STREAM_ROWS = 20_000  # rows the json and markdown writers format at a time


def row_records(frame, columns: list[str]) -> list[dict]:
    """``frame[columns]`` as row dicts, missing values None."""
    return [{k: (None if _missing(v) else v) for k, v in row.items()} for row in frame[columns].to_dict("records")]


def row_chunks(frame, size: int = STREAM_ROWS):
    """``frame`` ``size`` rows at a time: a million-row sweep is never formatted all at once."""
    for start in range(0, len(frame), size):
        yield frame.iloc[start:start + size]


def column_texts(column, text_of) -> list[str]:
    """``text_of(value)`` for every value of a frame column (a missing one as None), in order,
    without a dict per row (issue 12: a million rows). A column of numbers without missing
    values is mapped straight; any other (the accuracy source, top1 with gaps) is formatted
    once per distinct value."""
    values = column.tolist()  # Python ints, floats, strs (numpy scalars unboxed)
    if column.dtype.kind in "iufb" and not column.hasnans:
        return list(map(text_of, values))
    distinct: dict = {}
    texts = []
    for value in values:
        # keyed by class too: 1, 1.0 and True are one dict key, and their texts differ
        # (as do 0.0 and -0.0: floats are never remembered)
        key = (value.__class__, value)
        text = distinct.get(key) if value.__class__ is not float else None
        if text is None:
            text = text_of(None if _missing(value) else value)
            if value.__class__ is not float and len(distinct) < 4096:
                distinct[key] = text
        texts.append(text)
    return texts


def json_text(value) -> str:
    """``json.dumps(value)``, quicker for the ints and finite floats a sweep is made of
    (json writes those as their repr)."""
    kind = value.__class__
    if kind is int or (kind is float and value - value == 0):
        return repr(value)
    return json.dumps(value)


def write_sweep_json(frame, columns: list[str], notes: list[str], out, size: int = STREAM_ROWS) -> None:
    """``write_json({"notes": notes, "rows": [...]})``, the same text, written ``size`` rows at
    a time and a column at a time: each value's text is ``json.dumps`` of it (``null`` for a
    missing one), set in the row layout ``write_json`` writes (two levels in)."""
    head = write_json({"notes": notes, "rows": []})
    empty = "[]\n}\n"  # how the head ends: the rows' list, the payload's brace
    out.write(head[:-len(empty)])
    # one row, as json.dumps(indent=2) lays it out inside the payload's "rows" list
    row = "    {\n" + ",\n".join(f"      {json.dumps(c)}: %s" for c in columns) + "\n    }"
    rows = 0
    for chunk in row_chunks(frame, size):
        texts = [column_texts(chunk[c], json_text) for c in columns]
        out.write(("[\n" if not rows else ",\n") + ",\n".join(row % values for values in zip(*texts)))
        rows += len(chunk)
    out.write("\n  ]\n}\n" if rows else empty)


def write_sweep_markdown(frame, columns: list[str], notes: list[str], out, size: int = STREAM_ROWS) -> None:
    """``write_markdown`` of every row (cells by :func:`_cell`), then the notes as a list,
    ``size`` rows and a column at a time."""
    out.write(write_markdown([], columns, formatters={c: _cell for c in columns}))  # the header alone
    row = "| " + " | ".join("%s" for _ in columns) + " |\n"
    for chunk in row_chunks(frame, size):
        texts = [column_texts(chunk[c], _cell) for c in columns]
        out.write("".join(row % values for values in zip(*texts)))
    out.write("\n" + "\n".join(f"- {n}" for n in notes) + "\n")


def _missing(value) -> bool:
    try:
        return value is None or bool(value != value)  # NaN; pd.NA compares as NA, whose truth raises
    except TypeError:
        return str(value) == "<NA>"


def _cell(value) -> str:
    """Integers with separators, floats short, missing values empty (never 'None')."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "FLAGGED" if value else ""
    if isinstance(value, float):
        return f"{value:.2f}" if value >= 100 else f"{value:g}"
    return fmt_int(value)
