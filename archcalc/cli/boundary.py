"""The CLI's one error boundary: whatever an input causes, one line on stderr and exit 2.

Every command body runs inside :func:`errors_to_exit` (applied by ``common.spec_errors``)
and the whole program inside :func:`run` (``archcalc.cli.main``), which also turns
click's usage errors (an unknown option, ``--batch 0``, a missing file) into the same
one-line form instead of click's boxed usage panel. No traceback ever reaches the user:
an exception type archcalc does not expect is still one line, marked as an internal error.

``archcalc: error: <message>``, exit 2; Ctrl-C: ``archcalc: interrupted``, exit 130; a closed
output pipe (``| head``): silent, exit 141 as if killed by SIGPIPE.

click is imported here only by :func:`run` (the typer path): a command that
:mod:`archcalc.cli.fast` runs never loads it, and none of click's exceptions can then occur.
"""
from __future__ import annotations

import functools
import sys
from typing import Any, Callable

from archcalc.errors import SpecError, bounded

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
# The reader of our output went away (`archcalc sweep ... | head`): like any Unix filter
# killed by SIGPIPE, stop quietly; a shell reports 128 + SIGPIPE(13).
EXIT_BROKEN_PIPE = 141


def stdout_reader_gone() -> bool:
    """Whether stdout is a pipe whose reading end is closed (poll reports an error on it).
    A BrokenPipeError from anything else (a subprocess, a FIFO given as -o) is a real error."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # no real file behind stdout (captured, closed)
        return False


def reader_gone() -> int:
    """Stop writing to a closed pipe: no message (the reader asked for no more), and stdout
    pointed at /dev/null so the interpreter's final flush does not raise again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_BROKEN_PIPE


# Modules of the optional extras -> the extra that installs them (pyproject.toml).
OPTIONAL_MODULES = {"torch": "verify", "fvcore": "verify"}


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """The message for an optional dependency that is not installed (None: not one of ours)."""
    module = (exc.name or "").partition(".")[0]
    extra = OPTIONAL_MODULES.get(module)
    if extra is None:
        return None
    click = sys.modules.get("click")
    context = click.get_current_context(silent=True) if click is not None else None
    command = (f"`{context.command_path}`" if context is not None else
               f"`archcalc {_direct_command}`" if _direct_command else "this command")
    return (f"{command} needs {module}, which the core install leaves out: "
            f"pip install 'archcalc[{extra}]' (in a clone: pip install -e '.[{extra}]')")


def error_message(exc: BaseException) -> str:
    """The one-line text for ``exc`` (without the ``archcalc: error:`` prefix)."""
    if isinstance(exc, ModuleNotFoundError) and missing_extra(exc):
        return bounded(missing_extra(exc))
    if isinstance(exc, SpecError):
        text = str(exc)
    elif from_click(exc, "ClickException"):
        text = exc.format_message()
    elif isinstance(exc, RecursionError):
        text = "input nested too deeply to process (see the limits in the README)"
    elif isinstance(exc, MemoryError):
        text = "out of memory: the input is too large (see the limits in the README)"
    elif isinstance(exc, OverflowError):
        text = f"a number is too large: {exc}"
    elif isinstance(exc, UnicodeError):
        text = f"not UTF-8 text: {exc}"
    elif isinstance(exc, OSError):
        name = exc.filename if exc.filename is not None else ""
        reason = exc.strerror or str(exc) or type(exc).__name__
        text = f"{name}: {reason}" if name and exc.strerror else reason
    elif isinstance(exc, ValueError):  # invalid option values, as the library reports them
        text = str(exc) or type(exc).__name__
    else:
        detail = str(exc)
        text = f"internal error ({type(exc).__name__}{': ' + detail if detail else ''}); please report it"
    return bounded(text)


def from_click(exc: BaseException, *names: str) -> bool:
    """Whether ``exc`` is one of click's exceptions ``names`` (false when click is not loaded)."""
    click = sys.modules.get("click")
    return click is not None and isinstance(exc, tuple(getattr(click.exceptions, name) for name in names))


def print_error(exc: BaseException) -> None:
    sys.stderr.write(f"archcalc: error: {error_message(exc)}\n")
    sys.stderr.flush()


def broken_pipe_exit(exc: BrokenPipeError) -> int:
    """Quiet exit 141 when stdout's own reader went away; any other broken pipe is an error."""
    if stdout_reader_gone():
        return reader_gone()
    print_error(exc)
    return EXIT_ERROR


def errors_to_exit(fn: Callable) -> Callable:
    """Decorator for a command: any exception becomes one line and exit 2 (Ctrl-C: 130)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SystemExit:
            raise  # a command's own exit code
        except KeyboardInterrupt:
            sys.stderr.write("archcalc: interrupted\n")
            raise SystemExit(EXIT_INTERRUPTED) from None
        except BrokenPipeError as exc:
            raise SystemExit(broken_pipe_exit(exc)) from None
        except BaseException as exc:  # noqa: BLE001 - the boundary: nothing escapes as a traceback
            if from_click(exc, "Exit", "Abort", "ClickException"):
                raise  # typer.Exit(1) for a failed check; usage errors, formatted by run()
            print_error(exc)
            raise SystemExit(EXIT_ERROR) from None

    return wrapper


def run(command: Callable[..., Any], args: list[str] | None = None) -> int:
    """Run the typer/click ``command`` with click's standalone handling off, so usage
    errors come back here and are printed as one line. Returns the exit code."""
    import click

    try:
        result = command(args=args, standalone_mode=False, prog_name="archcalc")
    except click.exceptions.NoArgsIsHelpError as exc:  # `archcalc` alone: the help, as before
        text = exc.ctx.get_help() if exc.ctx else ""  # typer's rich help prints itself and returns ""
        if text.strip():
            sys.stdout.write(text + "\n")
        return EXIT_ERROR
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        sys.stderr.write("archcalc: interrupted\n")
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        print_error(exc)
        return EXIT_ERROR
    except BaseException as exc:  # noqa: BLE001 - anything raised outside a command body
        return exit_status(exc)
    return result if isinstance(result, int) else 0


# The command run_direct is running (click's context names it on the typer path).
_direct_command: str | None = None


def run_direct(name: str, command: Callable[[], Any]) -> int:
    """Run the command ``name`` that archcalc.cli.fast read (no click), ending as :func:`run`
    ends. Returns the exit code."""
    global _direct_command
    _direct_command = name
    try:
        result = command()
    except BaseException as exc:  # noqa: BLE001 - as in run()
        return exit_status(exc)
    finally:
        _direct_command = None  # (a later command in the same process is not this one)
    return result if isinstance(result, int) else 0


def exit_status(exc: BaseException) -> int:
    """The exit code for ``exc`` reaching the top of the program, after saying what it needs to:
    a SystemExit's own code, 130 for Ctrl-C, 141 for a reader gone, else one line and 2."""
    if isinstance(exc, SystemExit):
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_ERROR)
    if isinstance(exc, KeyboardInterrupt):
        sys.stderr.write("archcalc: interrupted\n")
        return EXIT_INTERRUPTED
    if isinstance(exc, BrokenPipeError):
        return broken_pipe_exit(exc)
    print_error(exc)
    return EXIT_ERROR


def show_spec_warnings_as_lines() -> None:
    """Show each spec warning (:class:`archcalc.errors.SpecWarning`) as one line on stderr,
    ``archcalc: warning: ...``; other warnings as Python shows them."""
    import warnings

    from archcalc.errors import SpecWarning

    default_show = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001 - warnings' signature
        if issubclass(category, SpecWarning):
            sys.stderr.write(f"archcalc: warning: {message}\n")
            sys.stderr.flush()
        else:
            default_show(message, category, filename, lineno, file, line)

    warnings.showwarning = show
