"""``archcalc validate`` and ``archcalc report``: every published number, recomputed.

Thin layer over :mod:`archcalc.validate`; pandas is imported there, only when run.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from archcalc.cli.common import Format, echo, spec_errors, write_csv, write_json

TABLE_COLUMNS = ("id", "published", "unit", "computed", "rule", "status")


def _render_table(frame) -> None:
    from rich.console import Console
    from rich.table import Table

    from archcalc.validate import CONVENTION_MATCH, FAILING, MATCH, summary

    table = Table(title="archcalc validate: published numbers recomputed", show_lines=False)
    for column in TABLE_COLUMNS:
        table.add_column(column, no_wrap=column != "status", overflow="fold")
    style = {MATCH: "green", CONVENTION_MATCH: "cyan"}
    for _, row in frame.iterrows():
        table.add_row(*(str(row[c]) for c in TABLE_COLUMNS),
                      style="bold red" if row["status"] in FAILING else style.get(row["status"]))
    console = Console(width=max(140, Console().width))
    console.print(table)
    console.print("  ".join(f"{status}: {count}" for status, count in summary(frame).items()))
    console.print("Explanations and conventions: --format markdown or json.")


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
            _render_table(frame)
        else:
            if fmt is Format.json:
                text = write_json({"summary": summary(frame), "failures": len(failing),
                                   "rows": frame.to_dict(orient="records")})
            elif fmt is Format.csv:
                text = write_csv(frame.to_dict(orient="records"), COLUMNS)
            elif fmt is Format.markdown:
                text = to_markdown(frame)
            else:
                text = frame.to_string(columns=list(TABLE_COLUMNS), index=False) + "\n"
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
