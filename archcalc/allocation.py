"""Allocation-heavy passes run with the cyclic garbage collector paused.

Reading a spec and compiling it allocate a few objects per YAML node and per op and free
almost nothing until the end, and make no reference cycles: the collector would only
rescan the growing heap again and again (a 10,000-row spec spent half its YAML read and
most of its compile there: the time grew faster than the spec).
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block (nested uses leave it to the outermost)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
