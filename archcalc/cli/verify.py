"""``archcalc verify`` and ``archcalc bench``: check the analysis against PyTorch, time it.

Both import torch only when run, so ``archcalc cost`` never pays for it.
"""
from __future__ import annotations

from typing import Optional

import typer

from archcalc.cli.common import (
    ClassesOption, Format, ResolutionOption, SpecArgument, DepthOption, WidthOption, echo, fmt_int, spec_errors,
    write_csv, write_json,
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


def render_verify(result, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in COLUMNS:
        table.add_column(column, justify="right" if column in ("analytic", "measured") else "left", no_wrap=True)
    for row in result.rows:
        table.add_row(*(_cell(row[c]) for c in COLUMNS[:-1]), "ok" if row["ok"] else "MISMATCH",
                      style=None if row["ok"] else "bold red")
    console = Console(width=max(170, Console().width))  # wide enough for the ok column when piped
    console.print(table)
    if result.attribution:
        # summed by op kind: the whole gap between fvcore's default count and the MAdds
        extra = Table(title="fvcore default count beyond conv + linear (every count belongs to a named node)")
        for column in ("op", "fvcore operator", "nodes", "fvcore extra"):
            extra.add_column(column, no_wrap=True)
        groups: dict = {}
        for entry in result.attribution:
            key = (entry["op"], entry["fvcore_operators"])
            count, total = groups.get(key, (0, 0))
            groups[key] = (count + 1, total + entry["fvcore_extra"])
        for (op, operators), (count, total) in groups.items():
            extra.add_row(op, operators, str(count), fmt_int(total))
        console.print(extra)
    failures = result.failures()
    console.print(f"{len(result.rows)} checks, {len(failures)} mismatches"
                  + ("" if not failures else ": " + ", ".join(f"{r['check']} {r['name']}" for r in failures[:10])))


def register(app: typer.Typer) -> None:
    @app.command()
    @spec_errors
    def verify(
        spec: SpecArgument,
        width: WidthOption = None,
        resolution: ResolutionOption = None,
        depth_multiplier: DepthOption = None,
        classes: ClassesOption = None,
        device: str = typer.Option("auto", help="cpu, cuda, or auto (cuda when present)"),
        memory: bool = typer.Option(True, help="include the peak-memory check"),
        order: str = typer.Option("program", help="schedule the forward runs: program, optimal, greedy_free, "
                                                  "greedy_step or depth_first (archcalc.analysis.memory)"),
        fmt: Format = typer.Option(Format.table, "--format", help="table, json, csv or markdown"),
        max_memory: Optional[str] = MaxMemoryOption,
    ) -> None:
        """Check params, MAdds (fvcore), shapes and peak memory against PyTorch; exit 1 on any mismatch."""
        # the spec first: a bad spec is rejected before the seconds torch takes to import
        model = load_for_torch(spec, max_memory, width=width, resolution=resolution, classes=classes,
                               depth=depth_multiplier)
        from archcalc.pytorch.verify import resolve_device, verify as run_verify

        schedule = None
        if order != "program":
            from archcalc.analysis.memory import schedule as memory_schedule

            schedule = memory_schedule(model, order)
        result = run_verify(model, schedule=schedule, device=resolve_device(device), memory=memory)
        if fmt is Format.json:
            echo(write_json({"spec": str(spec), "name": model.name, "width": model.width,
                             "resolution": model.resolution, "ok": result.ok,
                             "memory_analysis": result.memory_source,
                             "checks": [{**r, "node": r["name"], "name": f"{r['check']} {r['name']}"} for r in result.rows],
                             "fvcore_default_attribution": result.attribution}))
        elif fmt in (Format.csv, Format.markdown):
            echo(write_csv(result.rows, COLUMNS))
        else:
            render_verify(result, f"{model.name}  width {model.width:g}  resolution {model.resolution}")
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
        device: str = typer.Option("cpu", help="cpu, cuda or auto (cuda when present)"),
        repeats: int = typer.Option(30, min=1, help="timed forward passes"),
        warmup: int = typer.Option(5, min=0, help="untimed forward passes first"),
        fmt: Format = typer.Option(Format.table, "--format", help="table or json"),
        max_memory: Optional[str] = MaxMemoryOption,
    ) -> None:
        """Forward latency (batch 1, inference mode): median and spread, next to MAdds and MAdds/s."""
        if fmt not in (Format.table, Format.json):
            raise ValueError(f"bench prints --format table or json, got {fmt.value}")

        model = load_for_torch(spec, max_memory, width=width, resolution=resolution, depth=depth_multiplier)
        from archcalc.pytorch.bench import bench as run_bench

        stats = run_bench(model, device=device, threads=threads, repeats=repeats, warmup=warmup)
        if fmt is Format.json:
            echo(write_json(stats))
            return
        echo(f"{stats['model']} width {stats['width']:g} resolution {stats['resolution']} on {stats['device']} "
             f"({stats['threads']} threads, batch 1, {stats['repeats']} runs after {stats['warmup']} warm-up)\n"
             f"latency median {stats['median_ms']:.3f} ms  IQR {stats['iqr_ms']:.3f} ms  "
             f"min {stats['min_ms']:.3f} ms  max {stats['max_ms']:.3f} ms\n"
             f"MAdds {stats['madds']:,}  ->  {stats['madds_per_s'] / 1e9:.2f} GMAdds/s\n")
