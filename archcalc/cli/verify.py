"""``archcalc verify`` and ``archcalc bench``: check the analysis against PyTorch, time it.

Both import torch only when run, so ``archcalc cost`` never pays for it.
"""
from __future__ import annotations

from typing import Optional

import typer

from archcalc.cli.common import (
    Device, Format, Order, echo, fit_lines, fmt_int, fmt_si, progress_bar, spec_errors, terminal_width, write_csv, write_json,
    write_markdown,
)
from archcalc.cli.options import (
    ClassesOption, DepthOption, MaxSpreadOption, RepeatsOption, ResolutionOption, SpecArgument, WarmupOption, WidthOption,
)

COLUMNS = ("check", "name", "op", "analytic", "measured", "ok")

MaxMemoryOption = typer.Option(
    None, "--max-memory", help="memory budget for PyTorch, e.g. 32G (default 4G, or ARCHCALC_MAX_TORCH_BYTES)")


def load_for_torch(spec, max_memory: Optional[str], **overrides):
    """Load and compile the spec, then check what PyTorch would allocate against the budget
    (``--max-memory`` raises it for this run), all before torch is imported."""
    import os

    import archcalc
    from archcalc import limits

    if max_memory is not None:
        os.environ[limits.TORCH_BYTES.variable] = str(limits.parse_size(max_memory, "--max-memory"))
    model = archcalc.load(spec, **overrides)
    limits.check_torch_memory(model)
    return model


def _cell(value) -> str:
    if isinstance(value, tuple):
        return "x".join(map(str, value))
    return fmt_int(value)


def check_summary(result) -> list[dict]:
    """Checks and mismatches per kind of check (params, madds, shape, memory, ...)."""
    kinds: dict[str, dict] = {}
    for r in result.rows:
        entry = kinds.setdefault(r["check"], {"check": r["check"], "checks": 0, "mismatches": 0})
        entry["checks"] += 1
        entry["mismatches"] += not r["ok"]
    return list(kinds.values())


def render_verify(result, title: str, rows: list[dict] | None) -> str:
    """The summary by kind of check, fvcore's default count explained, and ``rows`` (the
    mismatches by default, every row with --all-rows)."""
    from rich.table import Table

    from archcalc.cli.common import rich_console

    console = rich_console()
    with console.capture() as captured:
        summary = Table(title=title)
        for column in ("check", "checks", "mismatches"):
            summary.add_column(column, justify="left" if column == "check" else "right")
        for entry in check_summary(result):
            summary.add_row(entry["check"], fmt_int(entry["checks"]), fmt_int(entry["mismatches"]),
                            style="bold red" if entry["mismatches"] else None)
        console.print(summary)
        if result.attribution:
            # summed by op kind: the whole gap between fvcore's default count and the MAdds
            extra = Table(title="fvcore default count beyond conv + linear (every count belongs to a named node)")
            for column in ("op", "fvcore operator", "nodes", "fvcore extra"):
                extra.add_column(column, justify="right" if column in ("nodes", "fvcore extra") else "left")
            groups: dict = {}
            for entry in result.attribution:
                key = (entry["op"], entry["fvcore_operators"])
                count, total = groups.get(key, (0, 0))
                groups[key] = (count + 1, total + entry["fvcore_extra"])
            for (op, operators), (count, total) in groups.items():
                extra.add_row(op, operators, str(count), fmt_int(total))
            console.print(extra)
        if rows:
            table = Table(title="checks" if len(rows) == len(result.rows) else "mismatches")
            for column in COLUMNS:
                table.add_column(column, justify="right" if column in ("analytic", "measured") else "left",
                                 overflow="fold")
            for r in rows:
                table.add_row(*(_cell(r[c]) for c in COLUMNS[:-1]), "ok" if r["ok"] else "MISMATCH",
                              style=None if r["ok"] else "bold red")
            console.print(table)
        failures = result.failures()
        console.print(f"{len(result.rows)} checks, {len(failures)} mismatches"
                      + ("" if failures else " (every row: --all-rows or --format csv|json|markdown)"))
    return captured.get()


def register(app: typer.Typer) -> None:
    @app.command()
    @spec_errors
    def verify(
        spec: SpecArgument,
        width: WidthOption = None,
        resolution: ResolutionOption = None,
        depth_multiplier: DepthOption = None,
        classes: ClassesOption = None,
        device: Device = typer.Option(Device.auto, help="where to run PyTorch (auto: cuda when present)"),
        memory: bool = typer.Option(True, help="include the peak-memory check"),
        order: Order = typer.Option(Order.program, help="schedule of the forward runs "
                                                        "(as archcalc memory --order)"),
        failures_only: bool = typer.Option(False, "--failures-only", help="list only the mismatching rows "
                                                                          "(every format)"),
        all_rows: bool = typer.Option(False, "--all-rows", help="table: list every check, not only mismatches"),
        fmt: Format = typer.Option(Format.table, "--format", help="table (a summary), or every row as csv, json "
                                                                  "or markdown"),
        max_memory: Optional[str] = MaxMemoryOption,
    ) -> None:
        """Check params, MAdds (fvcore), shapes and peak memory against PyTorch; exit 1 on any mismatch."""
        # the spec first: a bad spec is rejected before the seconds torch takes to import
        model = load_for_torch(spec, max_memory, width=width, resolution=resolution, classes=classes,
                               depth=depth_multiplier)
        from archcalc.pytorch.verify import VERIFY_STAGES, resolve_device, verify as run_verify

        schedule = None
        if order is not Order.program:
            from archcalc.analysis.memory import schedule as memory_schedule

            schedule = memory_schedule(model, order.value)
        with progress_bar(len(VERIFY_STAGES), "verify", enabled=fmt is Format.table) as advance:
            stages = iter(range(len(VERIFY_STAGES)))
            step = (lambda stage: advance(0 if next(stages) == 0 else 1, stage)) if advance else None
            result = run_verify(model, schedule=schedule, device=resolve_device(device.value), memory=memory,
                                progress=step)
        rows = result.failures() if failures_only else result.rows
        if fmt is Format.json:
            echo(write_json({"spec": str(spec), "name": model.name, "width": model.width,
                             "resolution": model.resolution, "ok": result.ok,
                             "summary": check_summary(result), "memory_analysis": result.memory_source,
                             "checks": [{**r, "node": r["name"], "name": f"{r['check']} {r['name']}"} for r in rows],
                             "fvcore_default_attribution": result.attribution}))
        elif fmt is Format.csv:
            echo(write_csv(rows, COLUMNS))
        elif fmt is Format.markdown:
            echo(write_markdown(rows, COLUMNS, formatters={c: _cell for c in COLUMNS}))
        else:
            shown = result.rows if all_rows and not failures_only else result.failures()
            echo(render_verify(result, f"{model.name}  width {model.width:g}  resolution {model.resolution}", shown))
        if not result.ok:
            raise typer.Exit(1)

    @app.command()
    @spec_errors
    def bench(
        spec: SpecArgument,
        width: WidthOption = None,
        resolution: ResolutionOption = None,
        depth_multiplier: DepthOption = None,
        threads: Optional[int] = typer.Option(None, min=1, help="torch intra-op threads"),
        device: Device = typer.Option(Device.cpu, help="where to run (auto: cuda when present)"),
        repeats: int = RepeatsOption,
        warmup: int = WarmupOption,
        max_spread: float = MaxSpreadOption,
        fmt: Format = typer.Option(Format.table, "--format", help="table, csv, json or markdown"),
        max_memory: Optional[str] = MaxMemoryOption,
    ) -> None:
        """Forward latency (batch 1, inference mode): median and spread, next to MAdds and MAdds/s."""
        model = load_for_torch(spec, max_memory, width=width, resolution=resolution, depth=depth_multiplier)
        from archcalc.pytorch.bench import bench as run_bench

        stats = run_bench(model, device=device.value, threads=threads, repeats=repeats, warmup=warmup,
                          max_spread=max_spread)
        if fmt is Format.json:
            echo(write_json(stats))
        elif fmt is Format.csv:
            echo(write_csv([stats], list(stats)))
        elif fmt is Format.markdown:
            echo(write_markdown([stats], list(stats), formatters={k: _stat for k in stats}))
        else:
            echo(fit_lines(f"{stats['model']} width {stats['width']:g} resolution {stats['resolution']} on {stats['device']} "
                 f"({stats['threads']} threads, batch 1, {stats['repeats']} runs after {stats['warmup']} warm-up)\n"
                 f"latency median {stats['median_ms']:.3f} ms  IQR {stats['iqr_ms']:.3f} ms  "
                 f"min {stats['min_ms']:.3f} ms  max {stats['max_ms']:.3f} ms\n"
                 f"MAdds {stats['madds']:,}  ->  {fmt_si(stats['madds_per_s'])} MAdds/s\n", terminal_width()))
        if stats["flagged"]:
            typer.echo(f"archcalc: warning: the spread is large (IQR / median = {stats['spread']:.0%} > "
                       f"{max_spread:.0%}): the machine is busy or the runs too few; raise --repeats or rerun "
                       f"on a quiet machine", err=True)


def _stat(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else fmt_int(value)
