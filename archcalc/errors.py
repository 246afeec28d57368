"""Errors that carry a place in a spec, so the CLI can print one line and exit 2."""
from __future__ import annotations

import reprlib
from typing import Any, NamedTuple

MESSAGE_CHARS = 600  # an error line never grows past this (a value is quoted by a bounded prefix)

_QUOTE = reprlib.Repr()
_QUOTE.maxstring = _QUOTE.maxother = 80
_QUOTE.maxlist = _QUOTE.maxdict = _QUOTE.maxtuple = _QUOTE.maxset = 6
_QUOTE.maxlevel = 3
_QUOTE.maxlong = 60


def quote(value: Any) -> str:
    """``repr(value)`` cut to a bounded prefix: the cost does not grow with the value, so
    an alias bomb or a 10 MB string in a spec cannot make its own error message huge.

    >>> quote("x" * 1000)[:12], len(quote("x" * 1000)) < 100
    ("'xxxxxxxxxxx", True)
    >>> quote([[1, 2]] * 100)
    '[[1, 2], [1, 2], [1, 2], [1, 2], [1, 2], [1, 2], ...]'
    """
    try:
        return _QUOTE.repr(value)
    except ValueError:  # an int past Python's 4,300-digit str() limit
        return f"<an integer of {value.bit_length():,} bits>" if isinstance(value, int) else "<unprintable value>"


def bounded(text: str, limit: int = MESSAGE_CHARS) -> str:
    """One line of at most ``limit`` characters."""
    line = " ".join(str(text).split("\n"))
    return line if len(line) <= limit else line[: limit - 16] + f"... [{len(line) - limit + 16:,} more]"


class Location(NamedTuple):
    """Where a value came from: a file, a 1-based line, and a dotted spec path."""

    file: str
    line: int | None
    path: str

    def __str__(self) -> str:
        line = f":{self.line}" if self.line else ""
        return f"{self.file}{line}: {self.path}" if self.path else f"{self.file}{line}"


class SpecError(ValueError):
    """A spec that cannot be compiled. ``str()`` is the one-line message the CLI prints.

    The message always names the file, the line, the spec path, the offending value
    and what was expected, e.g.::

        specs/bad.yaml:12: layers[3].t: expected an integer >= 1, got -1
    """

    def __init__(self, location: Location | None, message: str):
        self.location = location
        self.message = message
        text = f"{location}: {message}" if location else message
        super().__init__(bounded(text))


class SpecWarning(UserWarning):
    """A spec that compiles but probably does not say what its author meant (a default that
    no layer can see). The CLI prints it as one ``archcalc: warning:`` line on stderr."""
