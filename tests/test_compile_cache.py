"""The compiler's expansion cache and running totals change no number and no name.

Nor does the cache of built-in block expansions shared between compiles: a second load,
replaying what the first expanded, must see everything a first load sees (numbers, names,
warnings, every budget), and must not see a spec's own block of a built-in name.

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
from archcalc import compiler
from archcalc.compiler import _Compiler, compile_spec, forget_shared_expansions
from archcalc.errors import SpecError, SpecWarning
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


def _assert_same_model(model, fresh) -> None:
    assert model.order == fresh.order
    assert list(model.scopes.items()) == list(fresh.scopes.items())
    assert model.blocks == fresh.blocks
    for name in fresh.order:
        assert model.nodes[name] == fresh.nodes[name], name
    for convention in CONVENTIONS:
        assert model.totals(convention) == fresh.totals(convention)


MNV2 = Path(__file__).resolve().parents[1] / "specs" / "mnv2.yaml"


def test_a_second_load_replays_the_first_ones_expansions_and_equals_a_fresh_compile() -> None:
    forget_shared_expansions()
    first = compile_spec(load_spec(MNV2))
    assert compiler._SHARED, "the built-in blocks of mnv2 were kept for later compiles"
    second = compile_spec(load_spec(MNV2))
    fresh = _Uncached(load_spec(MNV2)).compile()
    _assert_same_model(first, fresh)
    _assert_same_model(second, fresh)
    # what a caller does to one model's records reaches neither the cache nor later models
    for data in second.nodes.values():
        data["attrs"]["changed"] = True
        data["in_shapes"].append(None)
    for block in second.blocks:
        block.params["changed"] = True
    _assert_same_model(compile_spec(load_spec(MNV2)), fresh)


def _chain(tmp_path: Path, blocks: str, defaults: str = "{kernel: 3, activation: relu6, norm: batch_norm}") -> Path:
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: chain\ninput: {channels: 16, resolution: 8}\nwidth: 1.0\n"
                    f"defaults: {defaults}\n{blocks}"
                    "layers:\n  - {block: bottleneck, t: 6, c: 16, n: 3, s: 1}\n  - {block: bottleneck, t: 6, c: 24, s: 2}\n")
    return spec


@pytest.mark.parametrize("budget, value", [("ARCHCALC_MAX_DIMENSION", "50"), ("ARCHCALC_MAX_IR_NODES", "20")])
def test_every_budget_holds_for_a_replay_from_an_earlier_compile(tmp_path: Path, monkeypatch, budget: str,
                                                                   value: str) -> None:
    # 6 * 16 = 96 expanded channels: over a dimension budget of 50; 4 blocks of 8-9 ops: over 20 nodes
    spec = _chain(tmp_path, "")
    forget_shared_expansions()
    compile_spec(load_spec(spec))  # expanded under the default budgets, and kept
    monkeypatch.setenv(budget, value)
    with pytest.raises(SpecError, match=budget):
        compile_spec(load_spec(spec))


def test_a_spec_that_replaces_a_built_in_block_gets_its_own(tmp_path: Path) -> None:
    forget_shared_expansions()
    compile_spec(load_spec(_chain(tmp_path, "")))  # the built-in conv_bn_act inside bottleneck, kept
    own = _chain(tmp_path, "blocks:\n  conv_bn_act:\n    params: {c: {type: channels}, k: {default: 1}, "
                           "s: {default: 1}, act: {default: relu}}\n"
                           "    body:\n      - {name: conv, op: conv2d, out: '${c}', kernel: '${k}', stride: '${s}'}\n")
    model = compile_spec(load_spec(own))
    fresh = _Uncached(load_spec(own)).compile()
    _assert_same_model(model, fresh)
    assert any(name.endswith(".project.conv") for name in model.order)
    assert not any(name.endswith((".expand.bn", ".project.bn")) for name in model.order)  # its conv_bn_act has none


def test_a_replay_from_an_earlier_compile_reads_the_defaults_its_blocks_read(tmp_path: Path) -> None:
    # `norm` is read only by conv_bn_act and dw_bn_act, inside bottleneck: a second load that
    # replays bottleneck must still count it as read (and warn about `unused` as the first did)
    _assert_only_unused_warned_twice(_chain(tmp_path, "", "{kernel: 3, activation: relu6, norm: batch_norm, unused: 1}"))


def _assert_only_unused_warned_twice(spec: Path) -> None:
    """A first load and a later one (replaying what the first kept) each warn once: about the
    default ``unused``, and no other."""
    forget_shared_expansions()
    for _ in range(2):
        with pytest.warns(SpecWarning) as caught:
            compile_spec(load_spec(spec))
        messages = [str(w.message) for w in caught]
        assert len(messages) == 1 and "'unused' is read by no layer or block" in messages[0], messages


def test_a_changed_op_rule_is_not_met_by_an_expansion_kept_under_the_old_one(monkeypatch) -> None:
    from archcalc.ops.conv import Conv2d

    forget_shared_expansions()
    before = compile_spec(load_spec(MNV2))  # expansions kept under the registry's rules
    original = Conv2d.cost

    def off_by_one(self, attrs, inputs, output):
        cost = original(self, attrs, inputs, output)
        return type(cost)(**{**cost.as_dict(), "madds": cost.madds + 1})

    monkeypatch.setattr(Conv2d, "cost", off_by_one)
    after = compile_spec(load_spec(MNV2))
    _assert_same_model(after, _Uncached(load_spec(MNV2)).compile())
    convs = sum(1 for name in after.order if after.nodes[name]["op"] == "conv2d")
    assert after.totals()["madds"] == before.totals()["madds"] + convs


def test_the_first_compile_of_a_process_keeps_its_expansions() -> None:
    # in a fresh process the first settings get context number 0, which must count as one
    import subprocess
    import sys

    code = ("import archcalc; from archcalc import compiler; archcalc.load(%r); "
            "assert compiler._SHARED, 'nothing kept'" % str(MNV2))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def _one_row(tmp_path: Path, row: str, defaults: str = "{kernel: 3, activation: relu6, norm: batch_norm}",
             name: str = "one.yaml") -> Path:
    spec = tmp_path / name
    spec.write_text(f"name: one\ninput: {{channels: 16, resolution: 8}}\ndefaults: {defaults}\nlayers:\n  - {row}\n")
    return spec


def _outcome(compile_it):
    try:
        return len(compile_it().nodes)
    except SpecError as exc:
        return str(exc)


class _NoMemo(_Compiler):
    memoize = False


@pytest.mark.parametrize("row", ["{block: bottleneck, t: 6, c: 16}", "{block: bottleneck, t: 6, c: 16, n: 3}",
                                 "{block: resnet_bottleneck, c: 4}", "{name: one, op: conv2d, out: 8, kernel: 3}"])
def test_a_replay_counts_only_the_ops_it_adds_against_the_node_budget(tmp_path: Path, monkeypatch, row: str) -> None:
    # a kept expansion also holds names standing for tensors (a block's own scope, an item
    # removed by `when`): they add no node, and must not make a replay refuse what fits
    spec = _one_row(tmp_path, row)
    forget_shared_expansions()
    nodes = len(compile_spec(load_spec(spec)).nodes)
    for limit in (limit for limit in (nodes, nodes - 1, nodes - 4) if limit >= 1):
        monkeypatch.setenv("ARCHCALC_MAX_IR_NODES", str(limit))
        truth = _outcome(lambda: _NoMemo(load_spec(spec)).compile())  # every block expanded afresh
        assert _outcome(lambda: compile_spec(load_spec(spec))) == truth, limit  # replayed from the first load
        forget_shared_expansions()
        assert _outcome(lambda: compile_spec(load_spec(spec))) == truth, limit  # replays within one compile only
    assert truth != nodes


def test_a_negative_zero_setting_is_not_met_by_an_expansion_kept_under_zero(tmp_path: Path) -> None:
    forget_shared_expansions()
    row = "{block: conv_bn_act, c: 16}"
    compile_spec(load_spec(_one_row(tmp_path, row, "{kernel: 3, activation: leaky_relu, norm: batch_norm, "
                                                   "leaky_relu_slope: 0.0}", "zero.yaml")))
    model = compile_spec(load_spec(_one_row(tmp_path, row, "{kernel: 3, activation: leaky_relu, norm: batch_norm, "
                                                          "leaky_relu_slope: -0.0}", "negative.yaml")))
    assert repr(model.nodes["stage1.act"]["attrs"]["slope"]) == "-0.0"


def test_a_list_parameter_changed_in_one_model_reaches_no_later_one(tmp_path: Path) -> None:
    spec = _one_row(tmp_path, "{block: conv_bn_act, c: 16, padding: '${[1, 1]}', n: 2}")
    forget_shared_expansions()
    first = compile_spec(load_spec(spec))
    second = compile_spec(load_spec(spec))
    for model in (first, second):
        for block in model.blocks:
            block.params["padding"].append(99)
    assert [b.params["padding"] for b in compile_spec(load_spec(spec)).blocks] == [[1, 1], [1, 1]]


@pytest.mark.parametrize("budget, value", [("ARCHCALC_MAX_EXPRESSION_CHARS", "10")])
def test_an_expression_budget_lowered_after_a_load_still_holds(tmp_path: Path, monkeypatch, budget: str,
                                                                value: str) -> None:
    # the parsed expressions are kept too (spec.expr): kept under the budgets they were checked against
    spec = _chain(tmp_path, "")
    compile_spec(load_spec(spec))
    monkeypatch.setenv(budget, value)
    with pytest.raises(SpecError, match=budget):
        compile_spec(load_spec(spec))


def test_what_a_paused_pass_made_is_not_left_for_a_young_collection_to_rescan() -> None:
    # archcalc.allocation: a load's objects move to the oldest generation when the pause ends
    # (no scan); cyclic garbage among them is still found by a full collection
    import gc
    import weakref

    from archcalc.allocation import gc_paused

    class Node:
        pass

    with gc_paused():
        made = [[i] for i in range(20_000)]
        cycle = Node()
        cycle.me = cycle
    assert gc.isenabled()
    assert gc.get_count()[0] < 20_000  # (the young generation's count, reset by the move)
    oldest = {id(obj) for obj in gc.get_objects(generation=2)}
    assert all(id(item) in oldest for item in made[::1000])
    alive = weakref.ref(cycle)
    del cycle
    gc.collect()
    assert alive() is None


def test_a_paused_pass_leaves_the_programs_own_frozen_objects_frozen() -> None:
    # a server that froze its objects before forking workers keeps them frozen through a load
    import gc

    from archcalc.allocation import gc_paused

    kept = [[i] for i in range(1_000)]
    gc.freeze()
    try:
        assert gc.get_freeze_count() >= len(kept)
        with gc_paused():
            made = [[i] for i in range(1_000)]
        assert gc.isenabled() and made
        # still frozen: in none of the collector's generations (the frozen count itself may
        # drop as other frozen objects are freed meanwhile, so it is no exact measure)
        tracked = {id(obj) for generation in range(3) for obj in gc.get_objects(generation=generation)}
        assert not any(id(item) in tracked for item in kept)
    finally:
        gc.unfreeze()


def test_a_built_in_block_rows_parameters_are_worked_out_once_per_process_and_per_setting(monkeypatch) -> None:
    calls = []
    original = _Compiler.block_params

    def counted(self, block, *args, **kwargs):
        calls.append(block.name)
        return original(self, block, *args, **kwargs)

    monkeypatch.setattr(_Compiler, "block_params", counted)
    forget_shared_expansions()
    compile_spec(load_spec(MNV2))
    first = len(calls)
    assert first > 0
    second = compile_spec(load_spec(MNV2))
    assert len(calls) == first, "a later load of the same rows under the same settings works none out again"
    _assert_same_model(second, _Uncached(load_spec(MNV2)).compile())
    before = len(calls)
    narrow = compile_spec(load_spec(MNV2, width=0.75))  # another width: another context, worked out afresh
    assert len(calls) > before
    _assert_same_model(narrow, _Uncached(load_spec(MNV2, width=0.75)).compile())


def test_the_yaml_readers_kept_scalars_stay_bounded_within_one_file() -> None:
    # one file may hold far more distinct scalars than the reader keeps between reads
    from archcalc.spec import yamlio

    text = "[" + ", ".join(f"s{i}" for i in range(3 * yamlio._SCALARS_LIMIT)) + "]"
    assert yamlio.parse_yaml(text) == [f"s{i}" for i in range(3 * yamlio._SCALARS_LIMIT)]
    assert len(yamlio._SCALARS) <= yamlio._SCALARS_LIMIT


def test_the_yaml_reader_keeps_no_long_scalar_between_reads() -> None:
    # what it keeps is bounded in size too: a long text read once (a description) is not kept
    from archcalc.spec import yamlio

    long = "d" * (yamlio._SCALAR_CHARS + 1)
    short = "s" * yamlio._SCALAR_CHARS
    assert yamlio.parse_yaml(f"description: {long}\nname: {short}\n") == {"description": long, "name": short}
    kept = {text for text, _ in yamlio._SCALARS}
    assert short in kept and long not in kept
    assert all(len(text) <= yamlio._SCALAR_CHARS for text in kept)


# ---------------------------------------------------------------------------- put-off replays
# A layer row's block replayed from a record (a repeat, or a block kept from an earlier compile)
# makes its ops only when the model's nodes are first read (compiler._Compiler.defer). Whatever
# reads them must see what an eager compile makes: the same records, in the same order, the
# same names, the same errors.


def _assert_same_ir(model, fresh) -> None:
    _assert_same_model(model, fresh)
    assert list(model.nodes) == model.order  # the nodes dict in program order, as an eager compile leaves it
    assert model.outputs == fresh.outputs


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_a_load_replaying_an_earlier_ones_blocks_equals_a_fresh_compile(path: Path) -> None:
    forget_shared_expansions()
    first = _compilable(path)
    if first is None:
        pytest.skip("not a whole network on its own")
    second = compile_spec(load_spec(path))  # every built-in block row replayed from the first load
    fresh = _Uncached(load_spec(path)).compile()
    _assert_same_ir(first, fresh)
    _assert_same_ir(second, fresh)


def test_counting_a_network_makes_no_op_of_a_repeated_block_until_its_nodes_are_read() -> None:
    import copy
    import pickle

    compile_spec(load_spec(MNV2))
    model = compile_spec(load_spec(MNV2))
    fresh = _Uncached(load_spec(MNV2)).compile()
    assert "nodes" not in vars(model)  # put off: nothing but the totals and the outputs made yet
    assert model.totals() == fresh.totals()  # (the compiler's running sum)
    assert "nodes" not in vars(model)
    assert pickle.loads(pickle.dumps(model)).order == fresh.order  # a pickle holds the IR itself
    assert copy.copy(model).nodes is model.nodes
    _assert_same_ir(model, fresh)


def _repeat_then(tmp_path: Path, rows: str, outputs: str = "", blocks: str = "") -> Path:
    spec = tmp_path / "read_inside.yaml"
    spec.write_text("name: inside\ninput: {channels: 16, resolution: 8}\n"
                    f"defaults: {{kernel: 3, activation: relu6, norm: batch_norm}}\n{blocks}{outputs}"
                    "layers:\n  - {block: bottleneck, t: 6, c: 16, n: 3, s: 1}\n" + rows)
    return spec


def _same_outcome(spec: Path) -> str | int:
    """The outcome (node count, or the error) of a load replaying the built-in blocks kept
    by an earlier one, of a load replaying only its own repeats, and of an uncached compile:
    all three must agree."""
    truth = _outcome(lambda: _Uncached(load_spec(spec)).compile())
    forget_shared_expansions()
    assert _outcome(lambda: compile_spec(load_spec(spec))) == truth  # repeats replayed within the compile
    assert _outcome(lambda: compile_spec(load_spec(spec))) == truth  # and from the earlier load
    return truth


@pytest.mark.parametrize("inside", ["stage1.block2.expand", "stage1.block2.expand.conv", "stage1.block2",
                                    "stage1.block3.dw.act"])
def test_a_later_row_reads_a_name_inside_a_put_off_repeat(tmp_path: Path, inside: str) -> None:
    # every op still reaches an output (stage1 through block3, and the side conv): it compiles
    read = _repeat_then(tmp_path, f"  - {{name: side, op: conv2d, out: 8, kernel: 1, from: {inside}}}\n",
                        "outputs: [stage1, side]\n")
    forget_shared_expansions()
    compile_spec(load_spec(read))
    model = compile_spec(load_spec(read))
    fresh = _Uncached(load_spec(read)).compile()
    _assert_same_ir(model, fresh)
    assert model.nodes["side.conv" if "side.conv" in model.nodes else "side"]["inputs"] == \
        fresh.nodes["side.conv" if "side.conv" in fresh.nodes else "side"]["inputs"]


@pytest.mark.parametrize("outputs", ["outputs: [side]\n", ""])
def test_what_a_put_off_repeat_leaves_unread_is_the_same_error(tmp_path: Path, outputs: str) -> None:
    # the side conv reads inside block2: block3 (and block2's projection) reach no output when
    # only `side` is one; with the default output (side, the last row) likewise
    spec = _repeat_then(tmp_path, "  - {name: side, op: conv2d, out: 8, kernel: 1, from: stage1.block2.expand}\n",
                        outputs)
    outcome = _same_outcome(spec)
    assert isinstance(outcome, str) and "reaches no output" in outcome and "stage1.block2." in outcome, outcome


def test_an_unread_op_inside_a_repeated_block_is_the_same_error(tmp_path: Path) -> None:
    # the block's `dead` conv is read by nothing: the first copy (made) names it; a replay of a
    # later copy must not hide it, nor name another
    blocks = ("blocks:\n  leaky:\n    params: {c: {type: channels}}\n    body:\n"
              "      - {name: dead, op: conv2d, out: '${c}', kernel: 1}\n"
              "      - {name: live, op: conv2d, out: '${c}', kernel: 1, from: input}\n")
    spec = tmp_path / "leaky.yaml"
    spec.write_text("name: leaky\ninput: {channels: 16, resolution: 8}\n" + blocks +
                    "layers:\n  - {block: leaky, c: 16, n: 3}\n")
    outcome = _same_outcome(spec)
    assert isinstance(outcome, str) and "stage1.block1.dead reaches no output" in outcome, outcome


def test_a_name_inside_a_put_off_repeat_that_names_nothing_lists_the_names_made(tmp_path: Path) -> None:
    spec = _repeat_then(tmp_path, "  - {name: side, op: conv2d, out: 8, kernel: 1, from: stage1.block2.nothing}\n",
                        "outputs: [stage1, side]\n")
    outcome = _same_outcome(spec)
    assert isinstance(outcome, str) and "names no tensor" in outcome and "stage1.block2.expand" in outcome, outcome


def test_an_unread_row_beside_put_off_repeats_is_the_same_error(tmp_path: Path) -> None:
    # every repeat of stage1 is read (by `last`); the `dead` row, made as it is, is not
    spec = _repeat_then(tmp_path, "  - {name: dead, op: conv2d, out: 8, kernel: 1}\n"
                                  "  - {name: last, op: conv2d, out: 8, kernel: 1, from: stage1}\n")
    outcome = _same_outcome(spec)
    assert isinstance(outcome, str) and outcome.split(": ", 2)[-1].startswith("dead reaches no output"), outcome


@pytest.mark.parametrize("counts", [(2, 3), (3, 2), (3, None), (None, 3)])
def test_a_row_kept_at_one_repeat_count_replays_no_other_count(tmp_path: Path, counts: tuple) -> None:
    # the row memo is keyed on what the row writes less `n`: its kept plan (every repeat's
    # expansion) must be told apart by the repeat count, and by whether there is one at all
    forget_shared_expansions()
    for count in counts:
        n = "" if count is None else f", n: {count}"
        spec = _one_row(tmp_path, f"{{block: bottleneck, t: 6, c: 16{n}}}", name=f"n{count}.yaml")
        for _ in range(2):  # a first load (the plan made) and a later one (the plan replayed)
            _assert_same_ir(compile_spec(load_spec(spec)), _Uncached(load_spec(spec)).compile())


# ---------------------------------------------------------------------------- kept layer rows
# A layer row equal (as written, at equal input shapes, under an equal compile context) to one
# an earlier compile made is made again from the record kept of it (compiler._SHARED_LAYERS):
# only its name, inputs and place in the spec are this load's.


def test_a_kept_row_takes_this_loads_names_inputs_and_places(tmp_path: Path) -> None:
    rows = ("  - {block: conv_bn_act, c: 16, s: 2}\n  - {block: bottleneck, t: 6, c: 24, n: 2, s: 2}\n"
            "  - {op: conv2d, out: 8, kernel: 1}\n  - {name: skipped, op: relu, when: false}\n  - {op: global_avg_pool}\n")
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first.write_text("name: first\ninput: {channels: 3, resolution: 32}\n"
                     "defaults: {kernel: 3, activation: relu6, norm: batch_norm}\nlayers:\n" + rows)
    # the same rows under other names, a line lower, the conv reading the stem by name
    second.write_text("name: second\n# a comment\ninput: {channels: 3, resolution: 32}\n"
                      "defaults: {kernel: 3, activation: relu6, norm: batch_norm}\nlayers:\n"
                      + rows.replace("{block: conv_bn_act", "{name: stem, block: conv_bn_act")
                            .replace("{op: conv2d", "{name: mix, op: conv2d"))
    forget_shared_expansions()
    compile_spec(load_spec(first))
    assert compiler._SHARED_LAYERS, "the rows were kept"
    model = compile_spec(load_spec(second))
    _assert_same_ir(model, _Uncached(load_spec(second)).compile())
    assert model.nodes["mix"]["origin"].line == 8 and model.nodes["mix"]["origin"].file == str(second)


def test_a_kept_row_is_not_met_at_another_width_or_input_shape(tmp_path: Path) -> None:
    spec = _one_row(tmp_path, "{name: one, op: conv2d, out: 8, kernel: 3}")
    forget_shared_expansions()
    for width, resolution in ((1.0, None), (0.5, None), (1.0, 16), (0.5, 16), (1.0, None)):
        model = compile_spec(load_spec(spec, width=width, resolution=resolution))
        _assert_same_ir(model, _Uncached(load_spec(spec, width=width, resolution=resolution)).compile())


@pytest.mark.parametrize("where", ["base class", "op itself"])
def test_a_rule_changed_on_a_base_class_or_on_the_op_itself_is_not_met_by_a_kept_row(monkeypatch, where: str) -> None:
    # the kept expansions and layer rows are keyed on archcalc.ops.base.rules_version: a change
    # to any op class in an op's MRO, or to the registered op object, must count
    import types

    from archcalc.ops import get_op
    from archcalc.ops.pointwise import _Activation

    forget_shared_expansions()
    before = compile_spec(load_spec(MNV2))  # every row kept under the registry's rules
    relu6 = get_op("relu6")
    original = type(relu6).cost

    def plus_one(self, attrs, inputs, output):
        cost = original(self, attrs, inputs, output)
        return type(cost)(**{**cost.as_dict(), "madds": cost.madds + 1})

    if where == "base class":
        monkeypatch.setattr(_Activation, "cost", plus_one)
    else:
        monkeypatch.setattr(relu6, "cost", types.MethodType(plus_one, relu6))
    after = compile_spec(load_spec(MNV2))
    _assert_same_model(after, _Uncached(load_spec(MNV2)).compile())
    activations = sum(1 for name in after.order if after.nodes[name]["op"] == "relu6")
    assert activations and after.totals()["madds"] == before.totals()["madds"] + activations


def test_a_kept_row_still_counts_the_defaults_its_expressions_read(tmp_path: Path) -> None:
    # `k` is read only by the conv row's expression: a later load making that row from its
    # record (no expression evaluated) must still count `k` as read, and warn about `unused`
    _assert_only_unused_warned_twice(_one_row(tmp_path, "{name: one, op: conv2d, out: 8, kernel: '${k}'}",
                                              "{k: 3, unused: 1}"))


def test_a_models_put_off_ir_may_be_made_twice_alike() -> None:
    # two threads reading model.nodes at once may both make it: making it must not change
    # what it is made from (the second would find its own ops taken), and either result is the IR
    compile_spec(load_spec(MNV2))
    model = compile_spec(load_spec(MNV2))
    build = vars(model)["_build"]
    first, second = build(), build()
    assert first == second and first[0] is not second[0]
    fresh = _Uncached(load_spec(MNV2)).compile()
    assert list(first[0].items()) == list(fresh.nodes.items()) and first[1] == fresh.order


def test_a_long_rows_kept_plan_is_its_runs_not_its_repeats(tmp_path: Path) -> None:
    # what a row keeps for later loads grows with the kinds of repeat it has, not with n: the
    # first repeat (its stride) and the rest (one input shape) are two runs
    spec = _one_row(tmp_path, "{block: bottleneck, t: 6, c: 24, n: 40, s: 2}")
    forget_shared_expansions()
    compile_spec(load_spec(spec))
    plans = [plan for memo in compiler._SHARED_ROWS.values() for key, plan in memo.items()
             if isinstance(key, tuple) and key[0] is compiler._ROW_PLAN]
    assert len(plans) == 1 and [count for _, _, count in plans[0].steps] == [1, 39]
    _assert_same_ir(compile_spec(load_spec(spec)), _Uncached(load_spec(spec)).compile())
