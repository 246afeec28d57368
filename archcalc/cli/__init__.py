"""The ``archcalc`` command line: a thin typer layer over the library.

Each command lives in its own module with a ``register(app)`` function; add a command by
adding a module and one line to ``COMMAND_MODULES``.
"""
from __future__ import annotations

import importlib

import typer

# rich_markup_mode=None: click's plain help, which wraps option names and choice lists at
# 80 columns instead of cutting them ("--inplace-activa…") the way rich's help panels do.
app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Cost neural architectures (MAdds, params, peak memory) from YAML specs; verify against PyTorch.\n\n"
         "SPEC is a YAML spec file or the name of a shipped spec (mnv2, mnv2_1.4, mnv1, shufflenet_v1, "
         "ssdlite_mnv2, deeplabv3_mnv2, ...). `archcalc COMMAND --help` lists a command's options.",
)


def _print_version(value: bool) -> None:
    if value:
        from archcalc import __version__

        typer.echo(f"archcalc {__version__}")
        raise typer.Exit(0)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """The root: --version, the help for a bare `archcalc`, spec warnings as one line each."""
    import warnings

    from archcalc.errors import SpecWarning

    default_show = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001 - warnings' signature
        if issubclass(category, SpecWarning):
            typer.echo(f"archcalc: warning: {message}", err=True)
        else:
            default_show(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    if ctx.invoked_subcommand is None:  # bare `archcalc`: the help, and success
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


COMMAND_MODULES = ("cost", "verify", "validate", "design", "memory", "reference", "zoo", "importer")

for _module in COMMAND_MODULES:
    importlib.import_module(f"archcalc.cli.{_module}").register(app)


def main() -> None:
    import sys

    from archcalc.cli.boundary import run

    sys.exit(run(app))
