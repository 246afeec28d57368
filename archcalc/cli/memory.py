"""``archcalc memory``: peak activation memory, where it happens, the arena, a timeline plot."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from archcalc.cli.common import (
    Alignment, Dtype, Format, Order, echo, fit_lines, fmt_bytes, search_status, spec_errors, terminal_width, write_csv,
    write_json, write_markdown,
)
from archcalc.cli.options import DepthOption, ResolutionOption, SpecArgument, WidthOption

TIMELINE_COLUMNS = ("index", "node", "op", "shape", "bytes", "live_after", "out_bytes", "scratch_bytes", "buffer",
                    "alias", "freed")


def search_line(search) -> str:
    """How the optimal order was found: proved, or the best found with its lower bound and gap."""
    if search.optimal:
        return f" ({search.method}; optimal: proved, lower bound {search.lower_bound:,} B = the peak, gap 0 B)"
    return (f" ({search.method}; optimal: not proved, lower bound {search.lower_bound:,} B, "
            f"gap {search.gap:,} B = {search.gap / search.peak:.1%} of the peak)")


def render_table(result) -> str:
    """Plain-text report: the convention, the peak and its live tensors, per-resolution maxima."""
    lines = [
        f"{result.model}: peak {result.peak_bytes:,} B ({fmt_bytes(result.peak_bytes)}) at {result.peak_at}",
        f"order: {result.order_name}" + (search_line(result.search) if result.search else ""),
        f"arena: {result.arena_bytes:,} B (alignment {result.arena.alignment}), "
        f"arena / live peak = {result.arena_bytes / result.peak_bytes:.4f}",
        f"convention: {result.convention}",
        "",
        "live during the peak step:",
    ]
    for tensor, size in sorted(result.peak_step.live, key=lambda t: -t[1]):
        lines.append(f"  {size:>14,} B  {tensor}")
    lines += ["", f"{'resolution':>10}  {'max channels':>12}  {'peak bytes':>14}  at"]
    for row in result.per_resolution():
        lines.append(f"{row['resolution']:>10}  {row['max_channels']:>12}  {row['peak_bytes']:>14,}  {row['peak_at']}")
    return "\n".join(lines) + "\n"


def register(app: typer.Typer) -> None:
    @app.command()
    @spec_errors
    def memory(
        spec: SpecArgument,
        width: WidthOption = None,
        resolution: ResolutionOption = None,
        depth_multiplier: DepthOption = None,
        dtype: Dtype = typer.Option(Dtype.float32, help="element type of the activations"),
        order: Order = typer.Option(Order.program, help="schedule: the spec's program order, the optimal "
                                                        "(lowest-peak) order, or a heuristic"),
        split: Optional[int] = typer.Option(None, min=1, help="t-way split of every inverted-residual block "
                                                              "(Section 5.1)"),
        fold_bn: bool = typer.Option(True, "--fold-bn/--no-fold-bn", help="batch norm folded into its conv"),
        inplace_activations: bool = typer.Option(True, "--inplace-activations/--no-inplace-activations",
                                                 help="activations overwrite their input"),
        inplace_depthwise: bool = typer.Option(False, "--inplace-depthwise", help="depthwise conv overwrites its input"),
        hold_input: bool = typer.Option(True, "--hold-input/--free-input", help="caller keeps the input to the end"),
        batch: int = typer.Option(1, min=1, help="batch size"),
        alignment: Alignment = typer.Option(Alignment.v16, help="arena alignment in bytes"),
        time_limit: float = typer.Option(60.0, min=0.0, help="CPU seconds for --order optimal before it keeps the best order found"),
        fmt: Format = typer.Option(Format.table, "--format",
                                   help="table (the peak) or csv, json, markdown (the per-step timeline)"),
        plot: Optional[Path] = typer.Option(None, help="write the live-bytes timeline to this PNG"),
    ) -> None:
        """Peak activation memory of a schedule, where it happens, and an arena plan."""
        import archcalc
        from archcalc.analysis.memory import MemoryConfig, analyze_memory

        config = MemoryConfig(dtype=dtype.value, batch=batch, fold_bn=fold_bn, inplace_activations=inplace_activations,
                              inplace_depthwise=inplace_depthwise, hold_input=hold_input, split=split,
                              alignment=int(alignment.value))
        model = archcalc.load(spec, width=width, resolution=resolution, depth=depth_multiplier)
        with search_status("optimal order", enabled=order is Order.optimal) as update:
            result = analyze_memory(model, order.value, config, time_limit=time_limit, progress=update)
        if plot is not None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            from archcalc.io import check_output_path, save_figure

            check_output_path(plot)
            figure = result.figure()
            FigureCanvasAgg(figure)
            save_figure(figure, plot, dpi=120)
        rows = [{**s.as_dict(), "freed": " ".join(s.freed), "live": None} for s in result.steps]
        header = [f"{result.model}: peak {result.peak_bytes} B at {result.peak_at}; arena {result.arena_bytes} B; "
                  f"order {result.order_name}" + (search_line(result.search) if result.search else ""),
                  f"convention: {result.convention}"]
        if fmt is Format.json:
            echo(write_json(result.as_dict()))
        elif fmt is Format.csv:
            echo(write_csv(rows, TIMELINE_COLUMNS, header))
        elif fmt is Format.markdown:
            cells = {"shape": lambda v: "x".join(map(str, v)), "alias": lambda v: v or ""}
            echo(write_markdown(rows, TIMELINE_COLUMNS, formatters=cells) + "\n" + "\n".join(f"- {n}" for n in header) + "\n")
        else:
            echo(fit_lines(render_table(result), terminal_width()))
