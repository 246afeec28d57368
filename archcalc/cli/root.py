"""The typer application of ``archcalc``: the root group, its options and its help.

Loaded only for a command line that :mod:`archcalc.cli.fast` does not read (help, every
command but ``cost``, any problem with the line): see :func:`archcalc.cli.main`.
"""
from __future__ import annotations

import importlib
import warnings
from typing import Iterator, Mapping

with warnings.catch_warnings():
    # typer imports names that click deprecates: a DeprecationWarning per name where warnings
    # are shown (PYTHONWARNINGS=default, -X dev) and a traceback where they are errors
    # (PYTHONWARNINGS=error), in every command but the ones archcalc.cli.fast runs without typer
    warnings.simplefilter("ignore", DeprecationWarning)
    import click
    import typer
    import typer.core

from archcalc.cli import COMMANDS
from archcalc.cli.boundary import show_spec_warnings_as_lines


# The settings of the root app and of every command module's app (its groups, plot, take them too).
# rich_markup_mode=None: click's plain help, which wraps option names and choice lists at
# 80 columns instead of cutting them ("--inplace-activa…") the way rich's help panels do;
# suggest_commands=False: click suggests a close command name itself, typer's would repeat it.
TYPER_SETTINGS = dict(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                      suggest_commands=False)


def module_commands(module: str) -> dict[str, click.Command]:
    """The click commands that ``archcalc.cli.<module>`` registers, built as the root app would."""
    commands = typer.Typer(**TYPER_SETTINGS)
    importlib.import_module(f"archcalc.cli.{module}").register(commands)
    return dict(typer.main.get_group(commands).commands)


class LazyCommands(Mapping[str, click.Command]):
    """The root's commands by name: the names come from ``COMMANDS``; a command is built (its
    module imported) when it is first looked up. Iterating the names imports nothing, so
    typer's "Did you mean ...?" for a mistyped command stays cheap too."""

    def __init__(self, modules: Mapping[str, str]) -> None:
        self._modules = modules
        self._built: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._built:
            module = self._modules[name]  # KeyError: not a command (click says "No such command")
            self._built.update(module_commands(module))
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)


class LazyGroup(typer.core.TyperGroup):
    """The root group: typer's, with its commands resolved from ``COMMANDS`` on demand."""

    def __init__(self, **attrs) -> None:  # noqa: ANN003 - typer's TyperGroup keywords
        super().__init__(**attrs)
        self.commands = LazyCommands(COMMANDS)  # type: ignore[assignment]  (read-only: add to COMMANDS)

app = typer.Typer(
    cls=LazyGroup,
    **TYPER_SETTINGS,
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
    show_spec_warnings_as_lines()
    if ctx.invoked_subcommand is None:  # bare `archcalc`: the help, and success
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
