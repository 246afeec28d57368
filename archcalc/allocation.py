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
            promote_young()
            gc.enable()


def promote_young() -> None:
    """Move every object the collector tracks to its oldest generation, without a scan.

    What a paused pass made is what it returns (a model, a parsed spec): long-lived and
    acyclic. Left in the youngest generation, it would all be scanned by the first collection
    after the pause, for nothing (a fifth of the time of a 10,000-block compile). Freezing and
    unfreezing moves it (and whatever else was young) to the oldest generation instead: a
    cycle among those objects is still collected, by the next full collection.

    Not when the program has frozen objects of its own (``gc.freeze()`` before forking
    workers, so that their pages stay shared): unfreezing would release those too."""
    if gc.get_freeze_count():
        return
    gc.freeze()
    gc.unfreeze()
