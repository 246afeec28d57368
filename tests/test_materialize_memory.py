"""The storage tracker itself: it sees allocations, frees through weak references, views."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from archcalc.pytorch.memtrack import StorageTracker  # noqa: E402


def test_tracker_sees_alloc_free_and_views():
    weight = torch.randn(4, 4)
    with torch.inference_mode(), StorageTracker([weight]) as tracker:
        a = torch.ones(10, 10)  # 400 bytes
        assert tracker.live == 400
        view = a.view(100)  # same storage: nothing new
        a.relu_()  # in place: nothing new
        t = weight.t()  # a view of a pre-existing storage: not an activation
        assert tracker.live == 400
        b = a + 1  # 400 more
        assert tracker.live == 800 and tracker.peak == 800
        del a
        assert tracker.live == 800  # the view still holds the storage
        del view
        assert tracker.live == 400  # freed through the weakref finalizer
        del b, t
        assert tracker.live == 0 and tracker.peak == 800


def test_tracker_attributes_peak_to_step():
    with torch.inference_mode(), StorageTracker() as tracker:
        tracker.begin_step("small")
        x = torch.zeros(8)
        tracker.begin_step("big")
        y = torch.zeros(64)
        del x, y
    assert tracker.peak == 32 + 256 and tracker.peak_at == "big"
