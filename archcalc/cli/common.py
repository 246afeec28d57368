"""Shared CLI plumbing: error handling, closed sets of option values and the
table/csv/json/markdown writers. Imports no command-line framework (the typer declarations
are in archcalc.cli.options), so that a command run by archcalc.cli.fast loads neither.

Every command is a thin layer: parse options, call the library, print with these.
"""
from __future__ import annotations

import io
import os
import sys
from contextlib import contextmanager
from enum import Enum
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence


def choices(name: str, *values: str) -> type[Enum]:
    """A closed set of option values (typer shows and checks them); members are the values
    themselves, prefixed with ``v`` where a value is not a name (``Alignment.v16``)."""
    return Enum(name, {(v if v.isidentifier() else f"v{v}"): v for v in values}, type=str, module=__name__)


# The closed sets the commands' options take: ``from archcalc.cli.common import Format`` makes
# the Enum on first use (module __getattr__ below), since building one takes ~0.2 ms and
# `archcalc cost` needs two of these (a cold-start target, issue 12).
# The library owns all but Format (tests/test_cli_usability.py checks each list against it);
# they are spelled out here so that the command line's help never imports the analysis modules.
CHOICES: dict[str, tuple[str, ...]] = {
    "Format": ("table", "csv", "json", "markdown"),
    "BnParams": ("none", "affine", "all"),  # analysis.convention.BN_PARAM_MODES
    "Dtype": ("float32", "float16", "int8"),  # analysis.memory.DTYPE_BYTES
    "Order": ("program", "optimal", "greedy_free", "greedy_step", "depth_first"),  # analysis.memory.ORDERS
    "Device": ("cpu", "cuda", "auto"),  # pytorch.verify.resolve_device
    "CostAxis": ("madds", "params", "memory", "latency"),  # plots.X_AXES
    "Alignment": ("1", "16", "64", "512"),  # analysis.memory.ALIGNMENTS
}


def __getattr__(name: str) -> type[Enum]:  # PEP 562: the closed sets above, made when first imported
    if name not in CHOICES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    made = globals()[name] = choices(name, *CHOICES[name])
    return made


def spec_errors(fn: Callable) -> Callable:
    """Run a command inside the CLI's error boundary (archcalc.cli.boundary): any exception
    an input can cause is one line on stderr and exit code 2."""
    from archcalc.cli.boundary import errors_to_exit

    return errors_to_exit(fn)


def fmt_int(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


SI_PREFIXES = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k"))
BINARY_UNITS = ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"))


def fmt_si(value: float, digits: int = 4) -> str:
    """A count for a summary line, scaled to k, M, G or T with ``digits`` significant digits;
    tables and JSON keep exact integers, only summaries are scaled. Exact for any integer
    (no float conversion, which overflows past 1e308).

    >>> fmt_si(582_197_616), fmt_si(11_234), fmt_si(59_688_751_280_000), fmt_si(999), fmt_si(10**20)
    ('582.2M', '11.23k', '59.69T', '999', '100,000,000T')
    """
    for factor, prefix in SI_PREFIXES:
        if abs(value) >= factor:
            return f"{_scaled(value, factor, digits)}{prefix}"
    return _significant(value, digits) if isinstance(value, float) else str(value)


def _scaled(value: float, factor: int, digits: int) -> str:
    """``value / factor`` (at least 1 in size) with ``digits`` significant digits, zeros kept."""
    if isinstance(value, float):
        return _significant(value / factor, digits, keep_zeros=True)
    return _ratio_text(int(value), factor, digits)


def _ratio_text(value: int, factor: int, digits: int) -> str:
    """``value / factor`` for integers, ``|value| >= factor``, rounded to ``digits``
    significant digits (half to even, as decimal does) in exact integer arithmetic: no float
    (which overflows past 1e308) and no decimal module (which costs the cold start more than
    archcalc's own formatting; issue 12).

    >>> _ratio_text(582_197_616, 10**6, 4), _ratio_text(-1_2345, 10**3, 4), _ratio_text(999_950, 10**3, 4)
    ('582.2', '-12.34', '1,000.0')
    """
    sign, value = ("-" if value < 0 else ""), abs(value)
    exponent = len(str(value // factor)) - 1  # of the leading digit of the quotient (>= 0)
    decimals = max(0, digits - 1 - exponent)
    rounded, remainder = divmod(value * 10**decimals, factor)
    if 2 * remainder > factor or (2 * remainder == factor and rounded % 2):
        rounded += 1
    whole, fraction = divmod(rounded, 10**decimals)
    return f"{sign}{whole:,}" + (f".{fraction:0{decimals}d}" if decimals else "")


def fmt_bytes(value: float, digits: int = 4) -> str:
    """Bytes for a summary line in KiB, MiB, GiB or TiB.

    >>> fmt_bytes(1_404_928), fmt_bytes(1_320_000_000_000), fmt_bytes(512)
    ('1.340 MiB', '1.201 TiB', '512 B')
    """
    for factor, unit in BINARY_UNITS:
        if abs(value) >= factor:
            return f"{_scaled(value, factor, digits)} {unit}"
    return f"{value:,} B"


def _significant(value: float, digits: int, keep_zeros: bool = False) -> str:
    exponent = int(f"{abs(value):e}".split("e")[1]) if value else 0
    decimals = max(0, digits - 1 - exponent)
    text = f"{value:,.{decimals}f}"
    return text if keep_zeros or "." not in text else text.rstrip("0").rstrip(".")


def terminal_width() -> int | None:
    """The width output should fit: ``COLUMNS`` when set, the terminal's width when stdout is
    one, otherwise None (piped into a file or another program: nothing is cut)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        import shutil

        return shutil.get_terminal_size().columns
    return None


def fit_lines(text: str, width: int | None) -> str:
    """Text lines wrapped to ``width`` (continuations indented); unchanged when piped (None)."""
    if not width:
        return text
    import textwrap

    return "".join(textwrap.fill(line, width, subsequent_indent="  ") + "\n" if len(line) > width else line + "\n"
                   for line in text.splitlines())


def stderr_is_terminal() -> bool:
    """Progress goes to stderr only when a person is watching it."""
    return sys.stderr.isatty()


@contextmanager
def progress_bar(total: int, label: str, enabled: bool = True) -> Iterator[Optional[Callable[[int], None]]]:
    """A progress bar on stderr while the block runs, when stderr is a terminal (quiet when
    piped or redirected); yields its ``advance(n, stage=None)`` callback, or None when there
    is no bar."""
    if not (enabled and stderr_is_terminal()):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=rich_console(stderr=True, force_terminal=True), transient=True) as bar:
        task = bar.add_task(label, total=total)

        def advance(n: int = 1, stage: str | None = None) -> None:
            bar.update(task, advance=n, description=f"{label}: {stage}" if stage else label)
        yield advance


@contextmanager
def search_status(label: str, enabled: bool = True) -> Iterator[Optional[Callable[[int, int, int, int], None]]]:
    """A live line on stderr for a search with a bound: segments done, best peak, lower bound
    and gap, and the time so far; yields ``update(done, total, upper, lower)`` (None when quiet)."""
    if not (enabled and stderr_is_terminal()):
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=rich_console(stderr=True, force_terminal=True), transient=True) as bar:
        task = bar.add_task(label)

        def update(done: int, total: int, upper: int, lower: int) -> None:
            bar.update(task, description=f"{label}: segment {done}/{total}, peak {fmt_bytes(upper)}, "
                                         f"lower bound {fmt_bytes(lower)}, gap {fmt_bytes(upper - lower)}")
        yield update


def rich_console(width: int | None = None, *, stderr: bool = False, force_terminal: bool | None = None):
    """A rich Console as wide as the terminal, or, when piped, wide enough never to cut a column."""
    from rich.console import Console

    if stderr:
        return Console(stderr=True, force_terminal=force_terminal)
    return Console(width=width or terminal_width() or 10_000, soft_wrap=False, force_terminal=force_terminal)


def write_csv(rows: Sequence[dict], columns: Sequence[str], comments: Iterable[str] = ()) -> str:
    import csv  # here, not at the top: a table needs neither csv nor json (cold start, issue 12)

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
                     right: Sequence[bool], max_width: int | None = None, keep: int = 1,
                     footer_rule: bool = True) -> str:
    """A boxed, aligned text table (the look of rich's default table).

    ``archcalc cost`` prints its table with this rather than rich: rich takes longer to
    import and lay out a 40-row table than archcalc takes to compile the network, and the
    cold-start budget of the main command is a benchmark target (benchmarks/bench_cost.py).

    With ``max_width`` the rightmost columns (all but the first ``keep``) are left out, one at
    a time, until the table fits, and a last line names them; cells are never cut.
    """
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, footer, *rows)]
    shown = len(headers)
    while max_width and shown > keep and sum(widths[:shown]) + 3 * shown + 1 > max_width:
        shown -= 1
    if shown < len(headers):
        hidden = ", ".join(headers[shown:])
        cut = lambda cells: list(cells)[:shown]  # noqa: E731
        table = write_text_table(title, cut(headers), [cut(r) for r in rows], cut(footer), cut(right),
                                 footer_rule=footer_rule)
        return table + fit_lines(f"(not shown at {max_width} columns: {hidden}; widen the terminal or use "
                                 f"--format csv|json)", max_width)

    def line(cells: Sequence[str]) -> str:
        padded = (str(c).rjust(w) if r else str(c).ljust(w) for c, w, r in zip(cells, widths, right))
        return "│ " + " │ ".join(padded) + " │"

    def rule(left: str, middle: str, end: str) -> str:
        return left + middle.join("─" * (w + 2) for w in widths) + end

    width = len(rule("┌", "┬", "┐"))
    out = [title.center(width).rstrip()] if title else []
    out += [rule("┌", "┬", "┐"), line(headers), rule("├", "┼", "┤")]
    out += [line(row) for row in rows]
    out += [rule("├", "┼", "┤"), line(footer)] if footer_rule else []
    out += [rule("└", "┴", "┘")]
    return "\n".join(out) + "\n"


def write_json(payload: Any) -> str:
    import json

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
