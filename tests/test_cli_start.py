"""A command imports what it needs and nothing else (issue 12: the cold start of `archcalc cost`).

Each check runs the command line in a fresh interpreter, as the console script does
(``from archcalc.cli import main; main()``), and reads ``sys.modules`` afterwards.
The speed itself is measured by benchmarks/bench_cli_start.py, never here.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from archcalc.cli import COMMANDS, module_commands

ROOT = Path(__file__).resolve().parents[1]
# what only other commands need: PyTorch (verify, import), the analysis stack (sweep, formula, plot)
HEAVY = ("torch", "fvcore", "torchvision", "numpy", "pandas", "networkx", "sympy", "matplotlib", "rich")


def modules_after(*argv: str) -> tuple[int, list[str]]:
    """(exit code, sorted sys.modules) of `archcalc *argv` run in a fresh interpreter."""
    code = ("import json, sys\nfrom archcalc.cli import main\nsys.argv = ['archcalc', *sys.argv[1:]]\n"
            "try:\n    main()\nexcept SystemExit as exit:\n    code = exit.code\n"
            "sys.stderr.write(json.dumps([code, sorted(sys.modules)]))\n")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=ROOT)
    exit_code, modules = json.loads(done.stderr.strip().splitlines()[-1])
    return exit_code, modules


# the command line's own machinery, not a command
PLUMBING = {"boundary", "common", "options", "root", "fast", "fast_table"}


def command_modules(modules: list[str]) -> set[str]:
    return {m.rpartition(".")[2] for m in modules if m.startswith("archcalc.cli.")} - PLUMBING


@pytest.mark.parametrize("argv", [["cost", "specs/mnv2_1.4.yaml"],
                                  ["cost", "mnv2", "--width", "0.75", "--resolution=160", "--format", "json"]])
def test_cost_imports_only_its_command_module_and_no_framework(argv):
    exit_code, modules = modules_after(*argv)
    assert exit_code == 0
    assert command_modules(modules) == {"cost"}
    # read by archcalc.cli.fast: neither typer nor click (nor what only other commands need)
    assert [m for m in (*HEAVY, "typer", "click", "dataclasses", "inspect") if m in modules] == []


def test_a_cost_line_the_fast_reader_declines_still_runs_through_typer():
    exit_code, modules = modules_after("cost", "specs/mnv2_1.4.yaml", "--depth", "0")
    assert exit_code == 2 and "typer" in modules  # typer reads it and says what is wrong (tests/test_cli_fast.py)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_each_commands_help_imports_only_its_own_module(command):
    exit_code, modules = modules_after(command, "--help")
    assert exit_code == 0
    assert command_modules(modules) == {COMMANDS[command]}


def test_root_help_and_version_import_no_library_code():
    for argv in (["--help"], ["--version"]):
        exit_code, modules = modules_after(*argv)
        assert exit_code == 0
        # the help lists every command, so it imports the command modules, but none of them
        # may pull the compiler or the analysis in at import time
        assert not {"archcalc.compiler", "archcalc.model", "yaml"} & set(modules), argv


def test_command_table_names_exactly_what_each_module_registers():
    for module in sorted(set(COMMANDS.values())):
        registered = set(module_commands(module))
        assert registered == {name for name, owner in COMMANDS.items() if owner == module}, module


@pytest.mark.parametrize("argv,suggested", [(["cots", "specs/mnv2.yaml"], "'cost'"),
                                            (["plot", "frontr", "specs/mnv2.yaml"], "'frontier'")])
def test_a_mistyped_command_is_one_line_with_one_suggestion(argv, suggested, capsys):
    from archcalc.cli import app
    from archcalc.cli.boundary import run

    assert run(app, argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"archcalc: error: No such command '{argv[-2]}'.") and err.count("\n") == 1
    assert err.count("Did you mean") == 1 and suggested in err  # click suggests; typer must not repeat it
