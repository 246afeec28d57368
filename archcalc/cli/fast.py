"""A command line read without click or typer, for the commands whose start-up is a target.

``archcalc cost specs/mnv2_1.4.yaml`` spends most of a cold start importing: typer and click
alone take longer than the interpreter's own start (issue 12, target 2). A command listed
in :data:`archcalc.cli.fast_table.TABLE` can run without them: its function lives in a
module that does not import typer, and its parameters — names, option strings, types,
bounds, choices — are recorded in that table, generated from the typer declarations
(``python -m archcalc.cli.fast --write``; tests/test_cli_fast.py fails when it is stale).

The rule that keeps both paths one command line: this reader accepts only what it can read
exactly as click would (``--name value``, ``--name=value``, flags, positional arguments, every
value converted and in range); anything else — ``--help``, an unknown or misspelt option, a
value out of range, a missing argument, ``--``, a shell asking for completions — makes it
decline, and typer runs the command line as before and reports the problem in its own words.
So the two paths never differ in what they print; tests/test_cli_fast.py runs many command
lines through both and compares.
"""
from __future__ import annotations

import importlib
import os
import sys
from typing import Any, Callable


# Set (by a shell's completion script), it asks click for completions of the line instead of
# running it: click's name for it is _{PROG_NAME}_COMPLETE, prog_name "archcalc" (boundary.run).
COMPLETION_VARIABLE = "_ARCHCALC_COMPLETE"


class Decline(Exception):
    """This command line is typer's to read (see the module docstring)."""


def read_value(kind: tuple, text: str) -> Any:
    """``text`` converted as click converts it for a parameter of ``kind``, or Decline."""
    name = kind[0]
    try:
        if name == "str":
            return text
        if name in ("int", "float"):
            value = int(text) if name == "int" else float(text)
            low, high, low_open, high_open = kind[1:]
            if (low is not None and (value < low or (low_open and value == low))) or \
                    (high is not None and (value > high or (high_open and value == high))):
                raise Decline
            return value
        if name == "choice":
            choices, module, enum = kind[1:]
            if text not in choices:
                raise Decline
            return getattr(importlib.import_module(module), enum)(text) if enum else text
        if name == "path":
            return read_path(text, **kind[1])
    except (ValueError, OverflowError):
        raise Decline from None
    raise Decline  # a type the table does not know


def read_path(text: str, exists: bool, file_okay: bool, dir_okay: bool, readable: bool, writable: bool) -> Any:
    """click.Path's checks on ``text`` (declining where click would refuse), then a Path."""
    from pathlib import Path

    if text == "-" or "\0" in text:
        raise Decline
    try:
        found = os.stat(text)
    except OSError:
        if exists:
            raise Decline from None
        return Path(text)
    import stat

    if (not file_okay and stat.S_ISREG(found.st_mode)) or (not dir_okay and stat.S_ISDIR(found.st_mode)) or \
            (readable and not os.access(text, os.R_OK)) or (writable and not os.access(text, os.W_OK)):
        raise Decline
    return Path(text)


def parse(entry: dict, argv: list[str]) -> dict[str, Any]:
    """The keyword arguments of the command's function for ``argv``, or Decline. Options not
    given are left out: the function's own defaults are the declared ones."""
    options: dict[str, tuple[str, Any]] = entry["options"]  # option string -> (name, kind or flag value)
    arguments: list[tuple[str, tuple]] = entry["arguments"]  # (name, kind), in order
    kwargs: dict[str, Any] = {}
    positional: list[str] = []
    tokens = iter(argv)
    for token in tokens:
        if not token.startswith("-"):
            positional.append(token)
            continue
        option, equals, text = token.partition("=")
        if option not in options or not option.startswith("--"):
            raise Decline  # --help, --, -x, an unknown option: typer's to read or refuse
        name, kind = options[option]
        if kind.__class__ is bool:  # a flag: --name / --no-name
            if equals:
                raise Decline
            kwargs[name] = kind
            continue
        if not equals:
            text = next(tokens, None)
            if text is None or text.startswith("-"):
                raise Decline  # a missing value, or one click reads differently from a reader's guess
        kwargs[name] = read_value(kind, text)
    if len(positional) != len(arguments):
        raise Decline
    for (name, kind), text in zip(arguments, positional):
        kwargs[name] = read_value(kind, text)
    return kwargs


def command(argv: list[str]) -> tuple[str, Callable[[], Any]] | None:
    """(its name, the command ready to run) for ``argv`` when this reader can read it; else None."""
    from archcalc.cli.fast_table import TABLE

    if not argv or argv[0] not in TABLE or os.environ.get(COMPLETION_VARIABLE):
        return None
    entry = TABLE[argv[0]]
    try:
        kwargs = parse(entry, argv[1:])
    except Decline:
        return None
    module, function = entry["function"]
    return argv[0], lambda: getattr(importlib.import_module(module), function)(**kwargs)


# ------------------------------------------------------------ the table, from typer

# Commands read here: name -> (module, function). The module must import no typer (its
# options in string annotations, resolved at registration: archcalc.cli.options).
FAST_COMMANDS = {"cost": ("archcalc.cli.cost", "cost")}
TABLE_FILE = "fast_table.py"


def value_kind(parameter: Any, annotation: Any) -> tuple:
    """The table's record of how click reads one value of ``parameter`` (see read_value);
    a parameter type this reader cannot match exactly is an error here, at generation."""
    import enum
    import pathlib

    import click

    kind = parameter.type
    if isinstance(kind, (click.IntRange, click.FloatRange)):
        if kind.clamp:
            raise TypeError(f"{parameter.name}: a clamped range")
        return ("int" if isinstance(kind, click.IntRange) else "float", kind.min, kind.max, kind.min_open,
                kind.max_open)
    if kind in (click.INT, click.FLOAT):
        return ("int" if kind is click.INT else "float", None, None, False, False)
    if kind is click.STRING:
        return ("str",)
    if isinstance(kind, click.Choice):
        if not kind.case_sensitive:
            raise TypeError(f"{parameter.name}: a case-insensitive choice")
        is_enum = isinstance(annotation, type) and issubclass(annotation, enum.Enum)
        return ("choice", tuple(kind.choices), annotation.__module__ if is_enum else None,
                annotation.__qualname__ if is_enum else None)
    if isinstance(kind, click.Path) and annotation is pathlib.Path:
        if kind.resolve_path or kind.allow_dash or kind.executable:
            raise TypeError(f"{parameter.name}: a path option this reader does not check")
        return ("path", {"exists": kind.exists, "file_okay": kind.file_okay, "dir_okay": kind.dir_okay,
                         "readable": kind.readable, "writable": kind.writable})
    raise TypeError(f"{parameter.name}: click type {kind!r} is not read by archcalc.cli.fast")


def table_from_declarations() -> dict:
    """The table for FAST_COMMANDS, read from the commands typer builds (imports typer)."""
    import inspect
    import typing

    import click

    from archcalc.cli import COMMANDS
    from archcalc.cli.root import module_commands

    table = {}
    for name, (module, function) in FAST_COMMANDS.items():
        command = module_commands(COMMANDS[name])[name]
        callback = getattr(importlib.import_module(module), function)
        hints = typing.get_type_hints(callback)
        defaults = {p.name: p.default for p in inspect.signature(callback).parameters.values()}
        options: dict[str, tuple] = {}
        arguments: list[tuple] = []
        for parameter in command.params:
            if parameter.envvar or parameter.callback or parameter.multiple or parameter.nargs != 1 or \
                    getattr(parameter, "prompt", None) or getattr(parameter, "count", False):
                raise TypeError(f"{name} {parameter.name}: click reads it in a way archcalc.cli.fast does not")
            annotation = hints[parameter.name]
            if typing.get_origin(annotation) is typing.Union:  # Optional[X]
                annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
            if isinstance(parameter, click.Argument):
                arguments.append((parameter.name, value_kind(parameter, annotation)))
            elif parameter.is_flag:
                if not parameter.is_bool_flag:
                    raise TypeError(f"{name} {parameter.name}: a flag with a value")
                options.update({opt: (parameter.name, True) for opt in parameter.opts})
                options.update({opt: (parameter.name, False) for opt in parameter.secondary_opts})
            else:
                options.update({opt: (parameter.name, value_kind(parameter, annotation)) for opt in parameter.opts})
            if isinstance(parameter, click.Option) and \
                    (parameter.required or defaults[parameter.name] != parameter.default):
                # parse() leaves an option not given out: the function's own default must be
                # click's (not so for `= typer.Option(30)`, a default_factory, a required option)
                raise TypeError(f"{name} {parameter.name}: the function's default is not the option's default")
        if any(not p.required for p in command.params if isinstance(p, click.Argument)):
            raise TypeError(f"{name}: an optional argument")
        table[name] = {"function": (module, function), "options": options, "arguments": arguments}
    return table


def table_source() -> str:
    """The text of archcalc/cli/fast_table.py for the declarations as they are now."""
    import pprint

    return ('"""Generated by `python -m archcalc.cli.fast --write` from the typer declarations of the\n'
            'commands in archcalc.cli.fast.FAST_COMMANDS; do not edit (tests/test_cli_fast.py checks it\n'
            'is current). Read by archcalc.cli.fast."""\n\n'
            f"TABLE = {pprint.pformat(table_from_declarations(), width=100, sort_dicts=True)}\n")


if __name__ == "__main__":
    from pathlib import Path

    target = Path(__file__).with_name(TABLE_FILE)
    if sys.argv[1:] == ["--write"]:
        target.write_text(table_source())
        print(f"wrote {target}")
    else:
        print(table_source(), end="")
