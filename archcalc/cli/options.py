"""The typer declarations the commands share: arguments and options, declared once.

Kept apart from :mod:`archcalc.cli.common` (the writers and formats, which import no
command-line framework) so that a command that runs without typer (:mod:`archcalc.cli.fast`)
never loads it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

SpecArgument = Annotated[Path, typer.Argument(
    help="YAML spec file, or the name of a shipped spec (mnv2, mnv2_1.4, mnv1, ...)", metavar="SPEC")]
WidthOption = Annotated[Optional[float], typer.Option(help="width multiplier (overrides the spec)")]
ResolutionOption = Annotated[Optional[int], typer.Option(help="input resolution (overrides the spec)")]
ClassesOption = Annotated[Optional[int], typer.Option(help="number of classes (overrides the spec)")]
DepthOption = Annotated[Optional[float], typer.Option(
    "--depth-multiplier", help="depth multiplier, read as `depth` in the spec's expressions (overrides the spec)")]


# Latency options, shared by bench, sweep --latency and plot frontier --x latency.
RepeatsOption = typer.Option(30, min=1, help="timed forward passes (the median is reported)")
WarmupOption = typer.Option(5, min=0, help="untimed forward passes first")
MaxSpreadOption = typer.Option(0.25, min=0.0, help="flag a measurement whose IQR / median is above this (> 0)")


def resolve_declarations(namespace: dict[str, Any]) -> None:
    """Give a command module the names its typer annotations use.

    A command that must load without typer (one of archcalc.cli.fast's) declares its options
    in string annotations (``from __future__ import annotations``) naming ``typer``,
    ``Annotated``, ``Path``, ``Optional`` and the shared declarations above, without importing
    them; typer reads those annotations when the command is registered, after this call."""
    namespace.update(typer=typer, Annotated=Annotated, Path=Path, Optional=Optional, SpecArgument=SpecArgument,
                     WidthOption=WidthOption, ResolutionOption=ResolutionOption, ClassesOption=ClassesOption,
                     DepthOption=DepthOption)
