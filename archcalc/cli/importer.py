"""``archcalc import`` and ``archcalc diff``: a PyTorch model as a spec, and two models compared.

torch (and torchvision, for ``torchvision:`` targets) are imported only when a command
needs them; without them the command says which extra to install (exit 2).
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable, List, Optional

import typer

from archcalc.cli.common import Format, echo, fmt_int, spec_errors, write_csv, write_json, write_markdown, write_text_table

DIFF_COLUMNS = ("index", "status", "a", "b", "op_a", "op_b", "shape_a", "shape_b", "params_a", "params_b",
                "madds_a", "madds_b", "differs")


def needs_torch(fn: Callable) -> Callable:
    """A missing torch/torchvision/fvcore is one line naming the extra to install (exit 2).
    (Import problems are ``ModelImportError``, a ValueError: ``spec_errors`` prints them.)"""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ModuleNotFoundError as exc:
            missing = (exc.name or "").split(".")[0]
            if missing not in ("torch", "torchvision", "fvcore"):
                raise
            extra = "vision" if missing == "torchvision" else "verify"
            typer.echo(f"archcalc: error: this command needs {missing}: pip install 'archcalc[{extra}]'", err=True)
            raise typer.Exit(2) from None

    return wrapper


def render_diff(result, fmt: Format) -> str:
    rows = result.differences
    if fmt is Format.json:
        return write_json({"a": result.a_name, "b": result.b_name, "equal": result.equal,
                           "first_divergence": result.first_divergence, "differences": rows,
                           "totals": result.total_rows(), "aligned": len(result.rows),
                           "view_ops_ignored": {"a": result.views_ignored[0], "b": result.views_ignored[1]}})
    if fmt is Format.csv:
        return write_csv(rows, DIFF_COLUMNS, [f"a: {result.a_name}", f"b: {result.b_name}"])
    if fmt is Format.markdown:
        return (write_markdown(rows, DIFF_COLUMNS) + "\n"
                + write_markdown(result.total_rows(), ("total", "a", "b", "delta")))
    same = len(result.rows) - len(rows)
    lines = [f"a: {result.a_name}", f"b: {result.b_name}",
             f"{len(result.rows)} aligned ops: {same} the same, {len(rows)} different "
             f"(view ops not compared: {result.views_ignored[0]} in a, {result.views_ignored[1]} in b)"]
    first = result.first_divergence
    lines.append("first divergence: " + (f"op {first['index']}: {first['a'] or '-'} vs {first['b'] or '-'} ({first['differs']})"
                                         if first else "none"))
    text = "\n".join(lines) + "\n"
    if rows:
        cells = [[str(r["index"]), r["status"], r["a"] or "-", r["b"] or "-", f"{r['op_a']} / {r['op_b']}",
                  f"{r['shape_a'] or '-'} / {r['shape_b'] or '-'}", f"{fmt_int(r['params_a'])} / {fmt_int(r['params_b'])}",
                  f"{fmt_int(r['madds_a'])} / {fmt_int(r['madds_b'])}", r["differs"]] for r in rows]
        text += write_text_table("differences (a / b)", ("#", "status", "a", "b", "op", "shape", "params", "MAdds",
                                                         "differs"), cells, ["", f"{len(rows)} different", *[""] * 7],
                                 [True, False, False, False, False, False, True, True, False])
    totals = [[r["total"], fmt_int(r["a"]), fmt_int(r["b"]), f"{r['delta']:+,}"] for r in result.total_rows()]
    text += write_text_table("totals", ("", "a", "b", "b - a"), totals, ["", "", "", "equal" if result.equal else "different"],
                             [False, True, True, True])
    return text


def register(app: typer.Typer) -> None:
    @app.command("import")
    @spec_errors
    @needs_torch
    def import_command(
        target: str = typer.Argument(..., help="torchvision:BUILDER, package.module:CALLABLE or path/file.py:CALLABLE"),
        output: Optional[Path] = typer.Option(None, "-o", "--output", help="write the spec here (default: print it)"),
        level: str = typer.Option("blocks", help="blocks (recognize the block library, fold rows with n) or ops"),
        blocks: Optional[Path] = typer.Option(None, "--blocks", help="YAML file of more block definitions to recognize"),
        input: Optional[str] = typer.Option(None, "--input", help="input CxHxW (default: the model's own, else 3x224x224)"),
        classes: Optional[int] = typer.Option(None, help="number of classes (passed as num_classes)"),
        arg: List[str] = typer.Option([], "--arg", help="builder keyword argument NAME=VALUE (repeatable)"),
    ) -> None:
        """Import a PyTorch model as a spec: trace it, map every node onto the op registry, recover blocks."""
        from archcalc.pytorch.importer import import_model, parse_args

        imported = import_model(target, input=input, classes=classes, kwargs=parse_args(arg), level=level,
                                blocks_file=blocks)
        if output is None:
            echo(imported.spec_text)
            return
        output.write_text(imported.spec_text, encoding="utf-8")
        totals = imported.model.totals()
        rows = sum(1 for line in imported.spec_text.splitlines() if line.startswith("  - "))
        typer.echo(f"wrote {output}: {rows} rows, {fmt_int(totals['madds'])} MAdds, {fmt_int(totals['params'])} params "
                   f"at {'x'.join(map(str, imported.input_shape))}", err=True)

    @app.command()
    @spec_errors
    @needs_torch
    def diff(
        a: str = typer.Argument(..., help="a spec file or an import TARGET"),
        b: str = typer.Argument(..., help="a spec file or an import TARGET"),
        input: Optional[str] = typer.Option(None, "--input", help="input CxHxW for import targets"),
        fmt: Format = typer.Option(Format.table, "--format", help="table, json, csv or markdown"),
    ) -> None:
        """Align two models (structure first, names second) and list per-op differences; exit 1 when they differ."""
        from archcalc.diff import diff_models, load_side

        result = diff_models(load_side(a, input=input), load_side(b, input=input), a_name=a, b_name=b)
        echo(render_diff(result, fmt))
        if not result.equal:
            raise typer.Exit(1)
