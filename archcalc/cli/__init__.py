"""The ``archcalc`` command line: a thin typer layer over the library.

Each command lives in its own module with a ``register(app)`` function; add a command by
adding a module and one line to ``COMMAND_MODULES``.
"""
from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Cost neural architectures (MAdds, params, peak memory) from YAML specs; verify against PyTorch.",
)



@app.callback()
def _root() -> None:
    """archcalc: exact MAdds, parameters and peak memory from YAML block specs."""


COMMAND_MODULES = ("cost", "verify", "validate", "design", "memory", "reference", "zoo")

for _module in COMMAND_MODULES:
    importlib.import_module(f"archcalc.cli.{_module}").register(app)


def main() -> None:
    app()
