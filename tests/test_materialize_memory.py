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


@pytest.mark.parametrize("fold_bn", [True, False])
@pytest.mark.parametrize("inplace", [True, False])
@pytest.mark.parametrize("spec", ["mnv2.yaml", "shufflenet_v1.yaml"])
def test_tracker_matches_analysis_in_every_convention(spec, fold_bn, inplace):
    """Measured (tracker) == archcalc.analysis.memory == the independent reference, per
    step, with BN folded or kept and activations in place or not."""
    from pathlib import Path

    import archcalc
    from archcalc.analysis.memory import MemoryConfig, simulate
    from archcalc.pytorch import example_input, materialize
    from archcalc.pytorch.memtrack import measure_memory, reference_memory, trace_from_result

    model = archcalc.load(Path(__file__).resolve().parents[1] / "specs" / spec, resolution=32)
    config = MemoryConfig(fold_bn=fold_bn, inplace_activations=inplace)
    analytic = trace_from_result(simulate(model, model.order, config))
    measured = measure_memory(materialize(model, fold_bn=fold_bn, inplace=inplace), example_input(model))
    reference = reference_memory(model, fold_bn=fold_bn, inplace=inplace)
    assert measured.steps == analytic.steps == reference.steps
    assert measured.peak_bytes == analytic.peak_bytes == reference.peak_bytes
