"""``archcalc schema`` and ``archcalc docs``: the spec language's JSON Schema and reference.

Thin layer over :mod:`archcalc.spec.schema` and :mod:`archcalc.spec.reference`, which
generate both from the op registry and the built-in blocks.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from archcalc.cli.common import spec_errors


def schema_text() -> str:
    from archcalc.spec.schema import spec_schema

    return json.dumps(spec_schema(), indent=2) + "\n"


def register(app: typer.Typer) -> None:
    @app.command()
    @spec_errors
    def schema(
        output: Optional[Path] = typer.Option(None, "-o", "--output", help="write to FILE instead of stdout"),
    ) -> None:
        """Print the JSON Schema of the spec format (for editors: see docs/spec-language.md)."""
        text = schema_text()
        if output is None:
            typer.echo(text, nl=False)
        else:
            output.write_text(text, encoding="utf-8")

    @app.command()
    @spec_errors
    def docs(
        path: Optional[Path] = typer.Argument(None, help="markdown file whose generated regions to rewrite "
                                                          "(docs/spec-language.md); without it, print them"),
        check: bool = typer.Option(False, "--check", help="change nothing; exit 1 when PATH is stale or has a gap"),
    ) -> None:
        """Regenerate the op and block reference of docs/spec-language.md from the registry."""
        from archcalc.spec import reference

        if path is None:
            typer.echo("\n\n".join(generate() for generate in reference.GENERATORS.values()))
            return
        text = path.read_text(encoding="utf-8")
        if check:
            problems = [f"generated region {name!r} is stale (run: archcalc docs {path})"
                        for name in reference.stale_regions(text)]
            problems += reference.undocumented() + reference.missing_sections(text)
            for problem in problems:
                typer.echo(f"{path}: {problem}", err=True)
            raise typer.Exit(1 if problems else 0)
        path.write_text(reference.render_regions(text), encoding="utf-8")
        for problem in reference.undocumented() + reference.missing_sections(text):
            typer.echo(f"{path}: warning: {problem}", err=True)
