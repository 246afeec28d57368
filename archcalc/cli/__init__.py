"""The ``archcalc`` command line: a thin typer layer over the library.

Each command lives in a module with a ``register(app)`` function; add a command by adding
its name and module to ``COMMANDS``. A command's module is imported only when that command
is run (or its help is shown): ``archcalc cost`` never imports what ``verify`` or ``sweep``
need, which keeps a cold start close to the interpreter's own. ``archcalc cost`` does not
even import typer or click when :mod:`archcalc.cli.fast` can read its command line.
"""
from __future__ import annotations

# command name -> the module of archcalc.cli that registers it, in the order `archcalc --help`
# lists them (typer lists groups after commands: plot, a group, comes last).
COMMANDS: dict[str, str] = {
    "cost": "cost", "verify": "verify", "bench": "verify", "validate": "validate", "report": "validate",
    "sweep": "design", "formula": "design", "memory": "memory", "schema": "reference", "docs": "reference",
    "zoo": "zoo", "import": "importer", "diff": "importer", "plot": "design",
}


def main() -> None:
    """The console script: a command line :mod:`archcalc.cli.fast` can read runs without
    typer or click (the cold start of ``archcalc cost``, issue 12); any other goes to the
    typer application (:mod:`archcalc.cli.root`), which reads, helps and refuses."""
    import sys

    from archcalc.allocation import gc_paused
    from archcalc.cli import boundary, fast

    # A command run this way is short and bounded by its spec (cost; its compile pauses the
    # collector anyway): most of what it allocates are modules, classes and functions that
    # live to the end, so the collector's passes over them find nothing and took ~2 ms of
    # a 50 ms cold `archcalc cost` (issue 12, target 2).
    with gc_paused():
        try:
            read = fast.command(sys.argv[1:])
        except BaseException as exc:  # noqa: BLE001 - the boundary's handling, as for a command
            sys.exit(boundary.exit_status(exc))
        if read is not None:
            boundary.show_spec_warnings_as_lines()
            sys.exit(boundary.run_direct(*read))
    from archcalc.cli.root import app

    sys.exit(boundary.run(app))


# The typer application and its parts, loaded on first use (main() may never need them).
_ROOT_NAMES = ("app", "TYPER_SETTINGS", "module_commands", "LazyCommands", "LazyGroup")


def __getattr__(name: str):  # noqa: ANN202 - PEP 562
    if name in _ROOT_NAMES:
        from archcalc.cli import root

        return getattr(root, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
