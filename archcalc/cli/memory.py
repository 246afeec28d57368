"""``archcalc memory``: peak activation memory, where it happens, the arena, a timeline plot."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from archcalc.cli.common import (
    Format, ResolutionOption, SpecArgument, DepthOption, WidthOption, echo, spec_errors, write_csv, write_json,
)

TIMELINE_COLUMNS = ("index", "node", "op", "shape", "bytes", "live_after", "out_bytes", "scratch_bytes", "buffer",
                    "alias", "freed")


def render_table(result) -> str:
    """Plain-text report: the convention, the peak and its live tensors, per-resolution maxima."""
    lines = [
        f"{result.model}: peak {result.peak_bytes:,} B ({result.peak_bytes / 1024:,.1f} KiB) at {result.peak_at}",
        f"order: {result.order_name}" + (f" ({result.search.method}; optimal: {result.search.optimal}, "
                                         f"lower bound {result.search.lower_bound:,} B)" if result.search else ""),
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
        dtype: str = typer.Option("float32", help="element type: float32, float16 or int8"),
        order: str = typer.Option("program", help="program, optimal, greedy_free, greedy_step or depth_first"),
        split: Optional[int] = typer.Option(None, help="t-way split of every inverted-residual block (Section 5.1)"),
        fold_bn: bool = typer.Option(True, "--fold-bn/--no-fold-bn", help="batch norm folded into its conv"),
        inplace_activations: bool = typer.Option(True, "--inplace-activations/--no-inplace-activations"),
        inplace_depthwise: bool = typer.Option(False, "--inplace-depthwise", help="depthwise conv overwrites its input"),
        hold_input: bool = typer.Option(True, "--hold-input/--free-input", help="caller keeps the input to the end"),
        batch: int = typer.Option(1, help="batch size"),
        alignment: int = typer.Option(16, help="arena alignment in bytes: 16, 64 or 512"),
        time_limit: float = typer.Option(60.0, min=0.0, help="CPU seconds for --order optimal before it keeps the "
                                                             "best order found"),
        fmt: Format = typer.Option(Format.table, "--format", help="table, json or csv (the timeline)"),
        plot: Optional[Path] = typer.Option(None, help="write the live-bytes timeline to this PNG"),
    ) -> None:
        """Peak activation memory of a schedule, where it happens, and an arena plan."""
        import archcalc
        from archcalc.analysis.memory import MemoryConfig, analyze_memory

        config = MemoryConfig(dtype=dtype, batch=batch, fold_bn=fold_bn, inplace_activations=inplace_activations,
                              inplace_depthwise=inplace_depthwise, hold_input=hold_input, split=split,
                              alignment=alignment)
        model = archcalc.load(spec, width=width, resolution=resolution, depth=depth_multiplier)
        result = analyze_memory(model, order, config, time_limit=time_limit)
        if plot is not None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            figure = result.figure()
            FigureCanvasAgg(figure)
            figure.savefig(plot, dpi=120)
        if fmt is Format.json:
            echo(write_json(result.as_dict()))
        elif fmt is Format.csv:
            rows = [{**s.as_dict(), "freed": " ".join(s.freed), "live": None} for s in result.steps]
            header = [f"peak {result.peak_bytes} B at {result.peak_at}; arena {result.arena_bytes} B",
                      f"convention: {result.convention}"]
            echo(write_csv(rows, TIMELINE_COLUMNS, header))
        elif fmt is Format.table:
            echo(render_table(result))
        else:
            raise ValueError("archcalc memory writes --format table, json or csv")
