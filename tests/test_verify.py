"""archcalc verify: every analytic number against PyTorch and fvcore, on the shipped specs.

Expected values come from PyTorch (``p.numel()``, hook shapes, a storage tracker) and
fvcore, never from constants here; the broken-rule tests prove the checks can fail.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

import archcalc  # noqa: E402
from archcalc.cli import app  # noqa: E402
from archcalc.ops import OpDef, all_ops  # noqa: E402
from archcalc.ops.conv import Conv2d, DepthwiseConv2d  # noqa: E402
from archcalc.pytorch.verify import verify  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SPECS = ["mnv2.yaml", "mnv2_1.4.yaml", "mnv1.yaml", "shufflenet_v1.yaml"]


def run_cli(*args: str):
    from typer.testing import CliRunner

    return CliRunner().invoke(app, list(args))


def test_every_op_has_a_torch_builder():
    missing = [kind for kind, op in all_ops().items()
               if kind != "input" and type(op).build_torch is OpDef.build_torch]
    assert missing == []


@pytest.mark.parametrize("spec", SPECS)
def test_verify_passes_on_shipped_spec(spec):
    """Must show 1: params, MAdds, shapes and peak memory all agree; exit code 0."""
    result = run_cli("verify", str(ROOT / "specs" / spec), "--format", "json")
    assert result.exit_code == 0, result.output[-2000:]
    payload = json.loads(result.output)
    assert payload["ok"] is True
    checks = {entry["check"] for entry in payload["checks"]}
    assert {"params", "params (no BN)", "params (BN mean+var)", "madds", "fvcore default total", "shape",
            "memory peak", "memory step peak", "memory live after"} <= checks
    for entry in payload["checks"]:
        assert set(entry) >= {"name", "analytic", "measured", "ok"}
        assert entry["ok"] is True, entry


def test_verify_table_and_bad_spec(tmp_path):
    ok = run_cli("verify", str(ROOT / "specs" / "mnv1.yaml"), "--resolution", "64")
    assert ok.exit_code == 0 and "0 mismatches" in ok.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ninput: {channels: 3, resolution: 32}\nlayers:\n  - {op: conv9d, out: 8}\n")
    result = run_cli("verify", str(bad))
    assert result.exit_code == 2


def test_module_names_are_ir_names():
    model = archcalc.load(ROOT / "specs" / "mnv2.yaml", resolution=64)
    net = archcalc.materialize(model)
    leaves = {name for name, module in net.named_modules() if not list(module.children()) and name}
    assert leaves == {name for name in model.order if name != "input"}
    assert isinstance(net.get_submodule("stage3.block1.expand.conv"), torch.nn.Conv2d)


def test_fvcore_counts_one_multiply_add_as_one():
    """fvcore's conv/linear/matmul handles count a fused multiply-add once: half of what
    PyTorch's own FlopCounterMode (2 FLOPs per multiply-add) reports."""
    from fvcore.nn import FlopCountAnalysis
    from torch.utils.flop_counter import FlopCounterMode

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1, groups=1)
            self.dw = torch.nn.Conv2d(8, 16, 5, padding=2, groups=8)
            self.fc = torch.nn.Linear(16 * 5 * 5, 7)

        def forward(self, x):
            y = self.fc(self.dw(self.conv(x)).flatten(1))
            return y @ torch.ones(7, 3)

    net, x = Net().eval(), torch.randn(1, 3, 9, 9)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(x)
    fv = FlopCountAnalysis(net, (x,)).unsupported_ops_warnings(False)
    assert fv.total() * 2 == counter.get_total_flops()


def test_bn_folding_keeps_the_function():
    model = archcalc.load(ROOT / "specs" / "shufflenet_v1.yaml", resolution=64)
    x = archcalc.pytorch.example_input(model)
    with torch.inference_mode():
        plain = archcalc.materialize(model, fold_bn=False)(x)
        folded_net = archcalc.materialize(model, fold_bn=True)
        folded = folded_net(x)
    assert folded_net.folded  # something was folded
    assert torch.allclose(plain, folded, rtol=1e-4, atol=1e-5)


def test_other_schedule_still_verifies():
    """A different topological order: the forward runs it, memory follows it step by step."""
    import networkx as nx

    model = archcalc.load(ROOT / "specs" / "shufflenet_v1.yaml", resolution=32)
    order = list(reversed(list(nx.lexicographical_topological_sort(model.graph.reverse()))))
    assert order != model.order
    result = verify(model, schedule=order)
    assert result.ok, result.failures()[:5]


# --------------------------------------------------------------------------- broken rules
def test_broken_madds_rule_is_reported_by_name(monkeypatch):
    """Must show 4: a conv MAdds rule off by one fails exactly the conv rows, named."""
    original = Conv2d.cost

    def off_by_one(self, attrs, inputs, output):
        cost = original(self, attrs, inputs, output)
        return type(cost)(**{**cost.as_dict(), "madds": cost.madds + 1})

    monkeypatch.setattr(Conv2d, "cost", off_by_one)
    model = archcalc.load(ROOT / "specs" / "mnv2.yaml", resolution=32)
    failures = verify(model, memory=False).failures()
    named = {row["name"] for row in failures if row["check"] == "madds"}
    assert "stage3.block1.expand.conv" in named and "total" in named
    assert all(model.node(n)["op"] == "conv2d" for n in named - {"total"})


def test_broken_params_rule_is_reported_by_name_and_exit_1(monkeypatch):
    original = DepthwiseConv2d.params

    def off_by_one(self, attrs, inputs, output):
        params = original(self, attrs, inputs, output)
        return type(params)(**{**params.as_dict(), "weights": params.weights - 1})

    monkeypatch.setattr(DepthwiseConv2d, "params", off_by_one)
    result = run_cli("verify", str(ROOT / "specs" / "mnv1.yaml"), "--resolution", "32", "--format", "json",
                     "--no-memory")
    assert result.exit_code == 1
    bad = [c for c in json.loads(result.output)["checks"] if not c["ok"]]
    assert "params conv2d_1.depthwise.conv" in {c["name"] for c in bad}
    assert all(c["op"] in ("depthwise_conv2d", "") for c in bad)


def test_broken_shape_rule_is_caught(monkeypatch):
    from archcalc.ops.spatial import GlobalAvgPool

    monkeypatch.setattr(GlobalAvgPool, "shape", lambda self, attrs, inputs: (inputs[0][0], 1, 2))
    model = archcalc.load(ROOT / "specs" / "mnv1.yaml", resolution=32)
    failures = verify(model, memory=False).failures()
    assert ("shape", "pool") in {(r["check"], r["name"]) for r in failures}


def test_memory_mismatch_is_caught():
    """Out-of-place activations in PyTorch vs the in-place analysis: the tracker notices."""
    from archcalc.pytorch.memtrack import measure_memory, reference_memory

    model = archcalc.load(ROOT / "specs" / "mnv2.yaml", resolution=64)
    x = archcalc.pytorch.example_input(model)
    measured = measure_memory(archcalc.materialize(model, fold_bn=True, inplace=False), x)
    assert measured.peak_bytes > reference_memory(model).peak_bytes
    same = measure_memory(archcalc.materialize(model, fold_bn=True, inplace=True), x)
    assert same.peak_bytes == reference_memory(model).peak_bytes


def test_cost_path_does_not_import_torch():
    code = ("import sys, archcalc, archcalc.cli; archcalc.load('specs/mnv2.yaml').totals(); "
            "assert 'torch' not in sys.modules and 'fvcore' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_bench_reports_latency_and_madds():
    result = run_cli("bench", str(ROOT / "specs" / "mnv1.yaml"), "--resolution", "32", "--repeats", "3",
                     "--warmup", "1", "--threads", "1", "--format", "json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)  # stderr may carry a warning about a noisy measurement
    assert stats["madds"] == archcalc.load(ROOT / "specs" / "mnv1.yaml", resolution=32).totals()["madds"]
    assert 0 < stats["min_ms"] <= stats["median_ms"] <= stats["max_ms"]
    assert stats["madds_per_s"] > 0


@pytest.mark.parametrize("order", ["greedy_free", "greedy_step"])
def test_verify_in_a_planned_order(order):
    """The forward runs the memory planner's order; tracker and analysis still agree per step."""
    from archcalc.analysis.memory import schedule

    model = archcalc.load(ROOT / "specs" / "shufflenet_v1.yaml", resolution=32)
    assert schedule(model, order) != model.order  # a genuinely different order
    result = run_cli("verify", str(ROOT / "specs" / "shufflenet_v1.yaml"), "--resolution", "32", "--order", order,
                     "--format", "json")
    assert result.exit_code == 0, result.output[-2000:]
