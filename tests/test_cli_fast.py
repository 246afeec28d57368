"""The command line read without typer (archcalc.cli.fast) is the same command line.

Every command line below runs twice in this process: through ``archcalc.cli.main`` (the
console script: the fast reader when it can read the line, typer otherwise) and through
typer alone (``boundary.run(app, argv)``, the path every other CLI test takes). Exit code,
stdout and stderr must be identical. Hypothesis writes further command lines from the
option strings, values in and out of range, spec names and stray tokens.
"""
from __future__ import annotations

import os
import subprocess
import sys
import types
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archcalc.cli import COMMANDS, app, boundary, fast, fast_table, main

ROOT = Path(__file__).resolve().parents[1]


def via_main(argv: list[str], capsys, monkeypatch) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["archcalc", *argv])
    with warnings.catch_warnings(), pytest.raises(SystemExit) as exit:
        warnings.simplefilter("default")  # as in a new process: a spec warning not yet shown
        main()
    out, err = capsys.readouterr()
    return exit.value.code, out, err


def via_typer(argv: list[str], capsys) -> tuple[int, str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        code = boundary.run(app, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_table_is_generated_from_the_typer_declarations():
    # stale: run `python -m archcalc.cli.fast --write` and commit archcalc/cli/fast_table.py
    assert Path(fast_table.__file__).read_text() == fast.table_source()


def fake_fast_command(monkeypatch, parameters: str) -> None:
    """A command ``fake`` with ``parameters``, registered for archcalc.cli.fast's generator."""
    module = types.ModuleType("archcalc.cli.fake_command")
    exec(f"import typer\nfrom typing import Annotated\ndef fake(spec: str, {parameters}): pass\n"
         "def register(app): app.command()(fake)\n", module.__dict__)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(COMMANDS, "fake", "fake_command")
    monkeypatch.setattr(fast, "FAST_COMMANDS", {"fake": (module.__name__, "fake")})


def test_the_generator_takes_an_option_whose_default_is_the_functions(monkeypatch):
    fake_fast_command(monkeypatch, "repeats: Annotated[int, typer.Option(min=1)] = 30")
    options = fast.table_from_declarations()["fake"]["options"]
    assert options == {"--repeats": ("repeats", ("int", 1, None, False, False))}


@pytest.mark.parametrize("parameters", [
    "repeats: int = typer.Option(30, min=1)",  # the function's default is an OptionInfo, not 30
    "repeats: Annotated[int, typer.Option(default_factory=lambda: 30)]",  # no default in the signature
    "repeats: Annotated[int, typer.Option()]",  # a required option: click refuses the line without it
])
def test_the_generator_refuses_an_option_the_reader_would_leave_wrong(parameters, monkeypatch):
    # parse() leaves an option that is not given out, so the function's own default applies
    fake_fast_command(monkeypatch, parameters)
    with pytest.raises(TypeError, match="default"):
        fast.table_from_declarations()


READ_BY_FAST = [
    ["cost", "specs/mnv2.yaml"],
    ["cost", "mnv2_1.4"],
    ["cost", "specs/mnv2.yaml", "--width", "0.75", "--resolution", "160"],
    ["cost", "--width=0.5", "specs/mnv2.yaml", "--depth", "1", "--format", "csv"],
    ["cost", "specs/mnv1.yaml", "--format", "json", "--batch", "4", "--bn-params", "all"],
    ["cost", "specs/mnv2.yaml", "--format", "markdown", "--flops-per-madd", "1", "--flops-terms", ""],
    ["cost", "specs/mnv2.yaml", "--flops-terms", "bias,bn", "--depth", "4", "--classes", "10"],
    ["cost", "specs/efficientnet_b0.yaml", "--depth-multiplier", "1.2"],
    ["cost", "specs/mnv2.yaml", "--width", "1_0"],  # Python's (and click's) int/float syntax
    ["cost", "specs/mnv2.yaml", "--width", "0.75", "--width", "1.0"],  # the last one wins, as in click
    ["cost", "no/such/spec.yaml"],  # read fine; the library refuses it, in one line
    ["cost", "specs/mnv2.yaml", "--flops-terms", "bogus"],  # read fine; the convention refuses it
    ["cost", "specs/mnv2.yaml", "--width=-1"],  # a value after "=" may start with "-"; the library refuses it
    ["cost", "specs"],  # a directory is a path click accepts; loading it is the error
]
DECLINED = [
    ["cost"], ["cost", "--help"], ["cost", "specs/mnv2.yaml", "--help"], ["cost", "a.yaml", "b.yaml"],
    ["cost", "specs/mnv2.yaml", "--depth", "0"], ["cost", "specs/mnv2.yaml", "--batch", "x"],
    ["cost", "specs/mnv2.yaml", "--flops-per-madd", "3"], ["cost", "specs/mnv2.yaml", "--format", "TABLE"],
    ["cost", "specs/mnv2.yaml", "--widht", "1"], ["cost", "specs/mnv2.yaml", "--width"],
    ["cost", "specs/mnv2.yaml", "--width", "-1"], ["cost", "--", "specs/mnv2.yaml"], ["cost", "-"],
    ["cost", "specs/mnv2.yaml", "-w", "1"], ["--version"], ["cots", "specs/mnv2.yaml"], [],
    ["cost", "specs/mnv2.yaml", "--depth", "2.0"],
]


@pytest.mark.parametrize("argv", READ_BY_FAST, ids=" ".join)
def test_a_line_the_fast_reader_takes_prints_what_typer_prints(argv, capsys, monkeypatch):
    assert fast.command(argv) is not None
    assert via_main(argv, capsys, monkeypatch) == via_typer(argv, capsys)


@pytest.mark.parametrize("argv", DECLINED, ids=lambda argv: " ".join(argv) or "(nothing)")
def test_a_line_it_cannot_read_exactly_goes_to_typer(argv, capsys, monkeypatch):
    assert fast.command(argv) is None
    assert via_main(argv, capsys, monkeypatch) == via_typer(argv, capsys)


OPTIONS = fast_table.TABLE["cost"]["options"]
SPECS = ["specs/mnv2.yaml", "mnv2", "specs/shufflenet_v1.yaml", "specs", "missing.yaml", "specs/mnv1.yaml"]
STRAY = ["--help", "--", "-", "-x", "--no-such-option", "extra.yaml", ""]


def values_for(kind: tuple) -> list[str]:
    """Values in and out of what an option of ``kind`` takes (ranges, choices, syntax)."""
    if kind[0] == "choice":
        return [*kind[1], kind[1][0].upper(), "x"]
    if kind[0] in ("int", "float"):
        return ["0", "1", "2", "3", "-1", "1_0", " 2", "x", "", "1.5", "1e0", "nan", "160"]
    return ["", "bias", "bias,act", "bn, pool", "bogus", "--help"]


option_and_value = st.sampled_from(sorted(OPTIONS)).flatmap(lambda option: st.tuples(
    st.just(option), st.sampled_from(values_for(OPTIONS[option][1])), st.booleans()))
# mostly lines a person would write (one spec, options with values of their own kind, now and
# then written --option=value), some with a stray token: both readers' paths get exercised
command_line = st.builds(
    lambda spec, options, stray: [spec, *(token for option, value, joined in options
                                          for token in ([f"{option}={value}"] if joined else [option, value]))] + stray,
    st.sampled_from(SPECS), st.lists(option_and_value, max_size=4), st.lists(st.sampled_from(STRAY), max_size=1))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tokens=st.one_of(command_line, st.permutations(["specs/mnv2.yaml", "--depth", "3", "--width", "0.5"])))
def test_any_command_line_prints_the_same_both_ways(tokens, capsys, monkeypatch):
    argv = ["cost", *tokens]
    assert via_main(argv, capsys, monkeypatch) == via_typer(argv, capsys)


@pytest.mark.parametrize("instruction", ["complete_bash", "bash_complete", "source_zsh"])
def test_a_shell_asking_for_completions_gets_what_typer_gives(instruction, capsys, monkeypatch):
    # click answers a completion request (its _ARCHCALC_COMPLETE variable) instead of running the line
    monkeypatch.setenv(fast.COMPLETION_VARIABLE, instruction)
    monkeypatch.setenv("_TYPER_COMPLETE_ARGS", "archcalc cost specs/mnv2.yaml --wi")
    argv = ["cost", "specs/mnv2.yaml"]
    assert fast.command(argv) is None
    assert via_main(argv, capsys, monkeypatch) == via_typer(argv, capsys)


def test_a_command_run_directly_ends_as_under_typer(capsys):
    # the same boundary as boundary.run: one line and exit 2, 130 for Ctrl-C, the command's own exit code
    def needs_torch():
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    def interrupted():
        raise KeyboardInterrupt

    assert boundary.run_direct("cost", needs_torch) == 2
    assert capsys.readouterr().err.startswith("archcalc: error: `archcalc cost` needs torch, which the core install")
    assert boundary.run_direct("cost", interrupted) == 130
    assert capsys.readouterr().err == "archcalc: interrupted\n"
    assert boundary.run_direct("cost", lambda: sys.exit(3)) == 3
    # outside run_direct (and any click context) no command is named
    assert boundary.missing_extra(ModuleNotFoundError("No module named 'torch'", name="torch")).startswith(
        "this command needs torch")


@pytest.mark.parametrize("warnings_option", ["default", "error"])
@pytest.mark.parametrize("argv", [["cost", "specs/mnv2.yaml", "--format", "csv"],
                                  ["cost", "specs/mnv2.yaml", "--depth", "0"]], ids=["read", "declined"])
def test_shown_or_erroring_warnings_change_neither_path(argv, warnings_option):
    # PYTHONWARNINGS=error made typer's import (names click deprecates) a traceback on the typer
    # path only, and =default printed those warnings there only; fresh interpreters, as the
    # warnings come with the first import of typer
    def run(code: str) -> tuple[int, str, str]:
        env = {**os.environ, "PYTHONWARNINGS": warnings_option}
        done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=ROOT, env=env)
        return done.returncode, done.stdout, done.stderr

    console_script = run("import sys; from archcalc.cli import main; sys.argv[0] = 'archcalc'; main()")
    assert console_script[0] == (0 if "csv" in argv else 2) and "Traceback" not in console_script[2]
    assert console_script == run("import sys; from archcalc.cli import app; from archcalc.cli.boundary import run; "
                                 "sys.exit(run(app, sys.argv[1:]))")
