"""Shared CLI plumbing: error handling and the table/csv/json/markdown writers.

Every command is a thin layer: parse options, call the library, print with these.
"""
from __future__ import annotations

import csv
import io
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Callable, Iterable, Optional, Sequence

import typer

from archcalc.errors import SpecError


# The arguments every command shares, declared once.
SpecArgument = Annotated[Path, typer.Argument(help="YAML spec file")]
WidthOption = Annotated[Optional[float], typer.Option(help="width multiplier (overrides the spec)")]
ResolutionOption = Annotated[Optional[int], typer.Option(help="input resolution (overrides the spec)")]
ClassesOption = Annotated[Optional[int], typer.Option(help="number of classes (overrides the spec)")]
DepthOption = Annotated[Optional[float], typer.Option(
    "--depth-multiplier", help="depth multiplier, read as `depth` in the spec's expressions (overrides the spec)")]


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"


def spec_errors(fn: Callable) -> Callable:
    """Run a command inside the CLI's error boundary (archcalc.cli.boundary): any exception
    an input can cause is one line on stderr and exit code 2."""
    from archcalc.cli.boundary import errors_to_exit

    return errors_to_exit(fn)


def fmt_int(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def fmt_millions(value: int) -> str:
    return f"{millions(value, 2)}M"


def millions(value: int, digits: int) -> str:
    """``value / 1e6`` with ``digits`` decimals and separators, exact for any integer (a
    float conversion overflows past 1e308 and loses digits past 2^53).

    >>> millions(300_774_272, 2), millions(10**400, 1)[:8], millions(-1_500_000, 3)
    ('300.77', '10,000,0', '-1.500')
    """
    from decimal import ROUND_HALF_EVEN, Decimal, localcontext

    if isinstance(value, float):
        return f"{value / 1e6:,.{digits}f}"
    with localcontext() as context:
        context.prec = max(28, len(str(abs(int(value)))) + digits + 2)
        exact = (Decimal(int(value)) / Decimal(10**6)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN)
    return f"{exact:,.{digits}f}"


def write_csv(rows: Sequence[dict], columns: Sequence[str], comments: Iterable[str] = ()) -> str:
    out = io.StringIO()
    for line in comments:
        out.write(f"# {line}\n")
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("x".join(map(str, v)) if isinstance(v, (list, tuple)) else v) for k, v in row.items()})
    return out.getvalue()


def write_markdown(rows: Sequence[dict], columns: Sequence[str], headers: Sequence[str] | None = None,
                   formatters: dict[str, Callable[[Any], str]] | None = None) -> str:
    formatters = formatters or {}
    headers = headers or columns
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        cells = [formatters.get(c, fmt_int)(row.get(c, "")) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_text_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], footer: Sequence[str],
                     right: Sequence[bool]) -> str:
    """A boxed, aligned text table (the look of rich's default table).

    ``archcalc cost`` prints its table with this rather than rich: rich takes longer to
    import and lay out a 40-row table than archcalc takes to compile the network, and the
    cold-start budget of the main command is a benchmark target (benchmarks/bench_cost.py).
    """
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, footer, *rows)]

    def line(cells: Sequence[str]) -> str:
        padded = (str(c).rjust(w) if r else str(c).ljust(w) for c, w, r in zip(cells, widths, right))
        return "│ " + " │ ".join(padded) + " │"

    def rule(left: str, middle: str, end: str) -> str:
        return left + middle.join("─" * (w + 2) for w in widths) + end

    width = len(rule("┌", "┬", "┐"))
    out = [title.center(width).rstrip(), rule("┌", "┬", "┐"), line(headers), rule("├", "┼", "┤")]
    out += [line(row) for row in rows]
    out += [rule("├", "┼", "┤"), line(footer), rule("└", "┴", "┘")]
    return "\n".join(out) + "\n"


def write_json(payload: Any) -> str:
    return json.dumps(payload, indent=2, default=_json_default) + "\n"


def _json_default(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def echo(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
