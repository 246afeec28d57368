"""``archcalc validate`` and ``archcalc report``: every published number, recomputed.

Thin layer over :mod:`archcalc.validate`; pandas is imported there, only when run.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from archcalc.cli.common import Format, echo, spec_errors, write_csv, write_json

TABLE_COLUMNS = ("status", "id", "published", "unit", "computed", "rule")


# Narrowest a column gets: the status keeps its longest word ("inconsistency"), the others wrap.
MIN_WIDTHS = {"status": 13, "unit": 4}
MIN_WIDTH = 8


def column_widths(frame, width: int | None) -> list[int]:
    """Each column's width: its longest cell, then, while the table is wider than ``width``,
    the widest shrinkable column one character narrower (a column is never squeezed below
    its floor, so the verdict is always readable; long ids and rules wrap)."""
    sizes = [max([len(column), *(len(str(v)) for v in frame[column])]) for column in TABLE_COLUMNS]
    floors = [MIN_WIDTHS.get(column, MIN_WIDTH) for column in TABLE_COLUMNS]
    while width and sum(sizes) + 3 * len(sizes) + 1 > width:
        shrinkable = [i for i, (size, floor) in enumerate(zip(sizes, floors)) if size > floor]
        if not shrinkable:
            break
        sizes[max(shrinkable, key=lambda i: (sizes[i], i))] -= 1
    return sizes


def render_table(frame, width: int | None = None) -> str:
    """The verdict table, readable at any width: the status comes first and never shrinks
    below its longest word, the long columns (id, rule) wrap instead of vanishing."""
    from rich.table import Table

    from archcalc.cli.common import rich_console, terminal_width
    from archcalc.validate import CONVENTION_MATCH, DERIVED_MATCH, FAILING, MATCH, NEAR_MISS, summary

    table = Table(title="archcalc validate: published numbers recomputed", show_lines=False)
    for column, size in zip(TABLE_COLUMNS, column_widths(frame, width or terminal_width())):
        table.add_column(column, overflow="fold", width=size)
    style = {MATCH: "green", CONVENTION_MATCH: "cyan", DERIVED_MATCH: "cyan", NEAR_MISS: "yellow"}
    for _, row in frame.iterrows():
        table.add_row(*(str(row[c]) for c in TABLE_COLUMNS),
                      style="bold red" if row["status"] in FAILING else style.get(row["status"]))
    console = rich_console(width)
    with console.capture() as captured:
        console.print(table)
        console.print("  ".join(f"{status}: {count}" for status, count in summary(frame).items()))
        console.print("Explanations and conventions: --format markdown or json.")
    return captured.get()


def register(app: typer.Typer) -> None:
    @app.command()
    @spec_errors
    def validate(
        fmt: Format = typer.Option(Format.table, "--format", help="table, csv, json or markdown"),
        output: Optional[Path] = typer.Option(None, "-o", "--output", help="write to FILE instead of stdout"),
        specs: Optional[Path] = typer.Option(None, help="specs directory (default: the repository's specs/)"),
    ) -> None:
        """Recompute every published number (paper Tables 1-7, slim checkpoints); exit 1 on a regression."""
        from archcalc.io import atomic_write, check_output_path
        from archcalc.validate import COLUMNS, failures, summary, to_markdown, validate as run

        if output is not None:
            check_output_path(output)  # before the minutes of work, not after

        frame = run(specs)
        failing = failures(frame)
        if fmt is Format.table and output is None:
            echo(render_table(frame))
        else:
            if fmt is Format.json:
                text = write_json({"summary": summary(frame), "failures": len(failing),
                                   "rows": frame.to_dict(orient="records")})
            elif fmt is Format.csv:
                text = write_csv(frame.to_dict(orient="records"), COLUMNS)
            elif fmt is Format.markdown:
                text = to_markdown(frame)
            else:
                text = render_table(frame, width=10_000)
            if output is None:
                echo(text)
            else:
                atomic_write(output, text)
        if len(failing):
            typer.echo(f"archcalc: {len(failing)} row(s) fail: " + ", ".join(failing["id"]), err=True)
            raise typer.Exit(1)

    @app.command()
    @spec_errors
    def report(
        out: Path = typer.Option(Path("reports"), "--out", help="output directory"),
        specs: Optional[Path] = typer.Option(None, help="specs directory (default: the repository's specs/)"),
    ) -> None:
        """Regenerate reports/: validation.md, memory timelines, design-space figures, index.md."""
        from archcalc.validate import report as run

        result = run(out, specs)
        for path in result.written:
            echo(f"wrote {path}\n")
        for line in result.skipped:
            echo(f"skipped: {line}\n")
        if result.failures:
            typer.echo(f"archcalc: {result.failures} validation row(s) fail", err=True)
            raise typer.Exit(1)
