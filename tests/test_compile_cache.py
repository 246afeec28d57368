"""The compiler's expansion cache and running totals change no number and no name.

Every shipped spec is compiled twice: as usual (identical block expansions replayed from
the cache, totals summed as nodes are added) and with ``memoize`` off (every block expanded
from scratch, totals summed over the nodes afterwards). Everything a caller can see must be
equal: nodes and their records in order, scopes, block instances and the totals under
several conventions.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from archcalc.analysis.convention import Convention
from archcalc.analysis.costs import model_totals
from archcalc.compiler import _Compiler, compile_spec
from archcalc.spec.loader import load_spec

SPECS = sorted((Path(__file__).resolve().parents[1] / "specs").rglob("*.yaml"))
CONVENTIONS = [Convention(), Convention(bn_params="all"), Convention(batch=3)]


class _Uncached(_Compiler):
    memoize = False


def _compilable(path: Path):
    try:
        return compile_spec(load_spec(path))
    except Exception:  # fragments (included files, bases needing overrides) are not whole networks
        return None


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_cached_compile_equals_a_fresh_one(path: Path) -> None:
    cached = _compilable(path)
    if cached is None:
        pytest.skip("not a whole network on its own")
    fresh = _Uncached(load_spec(path)).compile()
    assert fresh.sums is None and cached.sums is not None
    assert cached.order == fresh.order
    assert list(cached.scopes.items()) == list(fresh.scopes.items())
    assert cached.blocks == fresh.blocks
    assert cached.outputs == fresh.outputs
    for name in fresh.order:
        assert cached.nodes[name] == fresh.nodes[name], name
    for convention in CONVENTIONS:
        # the compiler's running sum against the walk over every node (and the fresh model's)
        assert cached.totals(convention) == model_totals(cached.nodes, cached.order, convention) \
            == fresh.totals(convention)


def test_a_repeated_block_is_replayed_under_its_own_names(tmp_path: Path) -> None:
    spec = tmp_path / "chain.yaml"
    spec.write_text("name: chain\ninput: {channels: 16, resolution: 8}\nwidth: 1.0\nclasses: 10\n"
                    "defaults: {kernel: 3, activation: relu6, norm: batch_norm}\n"
                    "layers:\n  - {block: bottleneck, t: 6, c: 16, n: 4, s: 1}\n")
    model = compile_spec(load_spec(spec))
    fresh = _Uncached(load_spec(spec)).compile()
    assert [b.name for b in model.blocks] == [b.name for b in fresh.blocks]
    assert len({b.name for b in model.blocks}) == len(model.blocks)  # every instance named apart
    last = model.nodes[model.order[-1]]
    assert model.order[-1].startswith("stage1.block4.") and last["inputs"] == fresh.nodes[model.order[-1]]["inputs"]
    assert model.totals() == fresh.totals()
