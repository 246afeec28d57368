"""Errors that carry a place in a spec, so the CLI can print one line and exit 2."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
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
        super().__init__(text.replace("\n", " "))
