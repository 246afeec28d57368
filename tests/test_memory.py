"""Peak activation memory: published figures, brute force, arena, t-way split."""
from __future__ import annotations

import itertools
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archcalc
from archcalc.analysis.memory import (
    CONVENTIONS, MemoryConfig, analyze_memory, arena_overlaps, memory_graph, plan_arena, schedule, simulate,
    simulate_problem, split_blocks, split_madds,
)
from archcalc.analysis.schedule import (
    HEURISTICS, check_order, dag_problem, exact_order, heuristic_order, peak_of, randwire_dag,
)

SPECS = Path(__file__).resolve().parents[1] / "specs"


@pytest.fixture(scope="module")
def mnv2():
    return archcalc.load(SPECS / "mnv2.yaml")


# ---------------------------------------------------------------- published figures
def test_mcunet_figure(mnv2):
    """MCUNet (Lin et al. 2020, Table/Fig. on MobileNetV2 peak) publishes 1372 KiB for
    MobileNetV2 1.0/224 in int8 with in-place depthwise. It is the first expansion conv of
    the t=6 blocks at 112x112: its input (16 ch) plus its output (96 ch), one byte each:
    112*112*(16+96) = 1,404,928 B = 1372 KiB; the network input is the runtime's buffer,
    freed once the stem has read it."""
    result = analyze_memory(mnv2, "program", CONVENTIONS["mcunet"])
    assert result.peak_bytes == 112 * 112 * (16 + 96) == 1_404_928 == 1372 * 1024
    assert result.peak_at == "stage2.block1.expand.conv"
    assert sorted(b for _, b in result.peak_step.live) == [112 * 112 * 16, 112 * 112 * 96]


def test_pytorch_convention_peak(mnv2):
    """fp32, input held: the first stride-2 depthwise conv holds the input image, the 96-ch
    expanded tensor at 112x112 and its own 96-ch output at 56x56."""
    result = analyze_memory(mnv2, "program", CONVENTIONS["pytorch"])
    assert result.peak_bytes == 4 * (3 * 224 * 224 + 96 * 112 * 112 + 96 * 56 * 56) == 6_623_232
    assert result.peak_at == "stage2.block1.dw.conv"


def test_aliasing_is_explicit(mnv2):
    steps = {s.node: s for s in analyze_memory(mnv2, "program", MemoryConfig()).steps}
    assert steps["stage2.block1.expand.bn"].alias == "folded_bn"
    assert steps["stage2.block1.expand.act"].alias == "inplace"
    assert steps["stage2.block1.expand.act"].buffer == "stage2.block1.expand.conv"
    assert steps["stage2.block1.dw.conv"].alias is None
    unfolded = {s.node: s for s in analyze_memory(mnv2, "program", MemoryConfig(fold_bn=False)).steps}
    assert unfolded["stage2.block1.expand.bn"].alias is None
    # the residual input is read twice, so nothing may overwrite it
    assert unfolded["stage2.block2.add"].alias is None


def test_int8_is_a_quarter_of_float32(mnv2):
    fp32 = analyze_memory(mnv2, "program", MemoryConfig(dtype="float32")).peak_bytes
    assert analyze_memory(mnv2, "program", MemoryConfig(dtype="int8")).peak_bytes * 4 == fp32
    assert analyze_memory(mnv2, "program", MemoryConfig(batch=3)).peak_bytes == 3 * fp32


@pytest.mark.parametrize("bad", [{"dtype": "bf16"}, {"batch": 0}, {"split": 0}, {"alignment": 3}])
def test_bad_config(bad):
    with pytest.raises(ValueError):
        MemoryConfig(**bad)


def test_bad_order(mnv2):
    with pytest.raises(ValueError, match="unknown order"):
        schedule(mnv2, "fastest")
    order = list(mnv2.order)
    order[1], order[2] = order[2], order[1]
    with pytest.raises(ValueError, match="runs before its input"):
        simulate(mnv2, order, MemoryConfig())


# ---------------------------------------------------------------- brute force
@st.composite
def random_dags(draw, max_nodes=9):
    n = draw(st.integers(2, max_nodes))
    edges = [(a, b) for a in range(n) for b in range(a + 1, n) if draw(st.booleans())]
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges)
    # one source, as in a network (node 0 plays the input)
    graph.add_edges_from((0, v) for v in range(1, n) if graph.in_degree(v) == 0)
    sizes = {v: draw(st.integers(1, 50)) for v in range(n)}
    return graph, sizes


def direct_peak(graph: nx.DiGraph, sizes: dict, order: list, outputs: set) -> int:
    """Written apart from the library: allocate each output, free a tensor after its last
    reader (outputs never), the peak is the largest sum while an op runs."""
    position = {v: i for i, v in enumerate(order)}
    last_use = {v: max((position[s] for s in graph.successors(v)), default=position[v]) for v in graph}
    live, peak = set(), 0
    for i, v in enumerate(order):
        live.add(v)
        peak = max(peak, sum(sizes[u] for u in live))
        live -= {u for u in live if last_use[u] <= i and u not in outputs}
    return peak


@settings(max_examples=150, deadline=None)
@given(random_dags())
def test_optimal_is_min_over_all_orders(case):
    graph, sizes = case
    sinks = {v for v in graph if graph.out_degree(v) == 0}
    problem = dag_problem(graph, sizes, list(range(len(graph))), outputs=sinks)
    brute = min(direct_peak(graph, sizes, list(o), sinks) for o in nx.all_topological_sorts(graph))
    result = exact_order(problem)
    assert result.optimal
    assert result.peak == brute
    assert direct_peak(graph, sizes, [int(problem.names[i]) for i in result.order], sinks) == brute
    # the program order's peak equals the independent simulation
    assert peak_of(problem, range(len(graph))) == direct_peak(graph, sizes, list(range(len(graph))), sinks)


def scratch_problem_and_brute_force(data, graph, sizes):
    """A problem drawn from ``graph`` with random scratch, unit or given sizes and extra
    permanent outputs; the least peak over its first 20,000 topological orders; and whether
    those were all of them (then that least peak is the optimum)."""
    n = len(graph)
    if data.draw(st.booleans()):
        sizes = {v: 3 for v in graph}  # the unit-size fast path
    scratch = [data.draw(st.integers(0, 20)) if data.draw(st.booleans()) else 0 for _ in range(n)]
    outputs = {v for v in graph if graph.out_degree(v) == 0 or data.draw(st.integers(0, 5)) == 0}
    problem = dag_problem(graph, sizes, list(range(n)), outputs=outputs)
    problem.scratch = scratch
    orders = list(itertools.islice(nx.all_topological_sorts(graph), 20000))
    return problem, min(peak_of(problem, o) for o in orders), len(orders) < 20000


@settings(max_examples=150, deadline=None)
@given(random_dags(max_nodes=11), st.data())
def test_search_matches_brute_force_with_scratch_and_outputs(case, data):
    """The pruned best-first search (node bounds, forced moves, forced pairs) against all
    topological orders, on larger DAGs with scratch, unit or mixed sizes and several
    permanent outputs."""
    graph, sizes = case
    problem, brute, all_orders_seen = scratch_problem_and_brute_force(data, graph, sizes)
    result = exact_order(problem)
    assert result.optimal
    assert peak_of(problem, result.order) == result.peak
    if all_orders_seen:
        assert result.peak == brute
    else:
        assert result.peak <= brute


@pytest.mark.parametrize("nodes,seed", [(16, 0), (20, 1), (24, 2), (24, 3)])
def test_randwire_exact_equals_straightforward_dp(nodes, seed):
    graph = randwire_dag(nodes, 4, 0.75, seed=seed)
    problem = dag_problem(graph, {v: 1 + (hash(str(v)) % 3 if seed % 2 else 0) for v in graph},
                          ["in", *range(nodes), "out"], outputs=["out"])
    fast = exact_order(problem, time_limit=60)
    plain = exact_order(problem, decompose=False, prune=False, max_states=None)
    assert fast.optimal and plain.optimal
    assert fast.peak == plain.peak == peak_of(problem, plain.order)


@settings(max_examples=150, deadline=None)
@given(random_dags(max_nodes=11), st.data())
def test_vectorized_search_matches_brute_force(case, data):
    """The NumPy search (feasibility checks, bisection on the budget, forced moves, node
    bounds), forced on for every segment, against all topological orders and against the
    best-first search: unit or mixed sizes, scratch, several permanent outputs."""
    graph, sizes = case
    problem, brute, all_orders_seen = scratch_problem_and_brute_force(data, graph, sizes)
    decompose = data.draw(st.booleans())
    fast = exact_order(problem, vectorized=True, decompose=decompose)
    other = exact_order(problem, vectorized=False, decompose=decompose)
    assert_optimal_and_agreeing(problem, fast, other, brute, all_orders_seen)


def assert_optimal_and_agreeing(problem, result, other, brute, all_orders_seen):
    """Both searches proved, ``result``'s order valid with the peak it reports, equal to
    ``other``'s, and to the brute-force optimum (or at most the best of 20,000 orders)."""
    assert result.optimal and other.optimal
    check_order(problem, result.order)
    assert peak_of(problem, result.order) == result.peak == other.peak
    if all_orders_seen:
        assert result.peak == brute
    else:
        assert result.peak <= brute


@pytest.mark.parametrize("nodes,seed,mixed", [(20, 0, False), (24, 1, True), (28, 3, False), (32, 2, True),
                                              (36, 1, False), (40, 1, False)])
def test_randwire_vectorized_equals_best_first(nodes, seed, mixed):
    """RandWire cells: the vectorized search, the best-first search and the default (which
    hands over to the vectorized search) agree; small cells also against the DP."""
    import random

    rnd = random.Random(seed)
    graph = randwire_dag(nodes, 4, 0.75, seed=seed)
    sizes = {v: rnd.randint(1, 9) if mixed else 1 for v in graph}
    problem = dag_problem(graph, sizes, ["in", *range(nodes), "out"], outputs=["out"])
    if mixed:
        problem.scratch = [rnd.choice([0, 0, rnd.randint(1, 6)]) for _ in range(len(problem))]
    results = [exact_order(problem, time_limit=60, vectorized=v) for v in (True, False, None)]
    assert all(r.optimal for r in results)
    assert len({r.peak for r in results}) == 1
    for r in results:
        check_order(problem, r.order)
        assert peak_of(problem, r.order) == r.peak
    if nodes <= 24:
        plain = exact_order(problem, decompose=False, prune=False, max_states=None)
        assert plain.optimal and plain.peak == results[0].peak


def test_vectorized_search_is_used_only_where_it_applies(mnv2):
    """Aliasing (MobileNetV2): the best-first search, same result. Plain problems of any
    size (no 64-node limit): the vectorized search."""
    from archcalc.analysis.schedule_vectorized import applicable

    graph = randwire_dag(70, 4, 0.75, seed=0)
    big = dag_problem(graph, {v: 1 for v in graph}, ["in", *range(70), "out"], outputs=["out"])
    assert applicable(big, list(range(len(big))))
    problem = memory_graph(mnv2, MemoryConfig()).problem
    assert not applicable(problem, list(range(len(problem))))
    assert exact_order(problem, vectorized=True).peak == exact_order(problem, vectorized=False).peak


@pytest.mark.parametrize("nodes,seed,mixed", [(80, 0, False), (70, 2, True)])
def test_vectorized_search_past_64_nodes(nodes, seed, mixed):
    """Two words per set: thin RandWire cells (WS(n, 2, 0.2), nearly a ring, so that the
    best-first search finishes quickly too) of 82 and 72 nodes, with unit or mixed sizes,
    one segment each (decompose off), against the best-first search."""
    import random

    rnd = random.Random(seed)
    graph = randwire_dag(nodes, 2, 0.2, seed=seed)
    sizes = {v: rnd.randint(1, 9) if mixed else 1 for v in graph}
    problem = dag_problem(graph, sizes, ["in", *range(nodes), "out"], outputs=["out"])
    fast = exact_order(problem, vectorized=True, decompose=False)
    other = exact_order(problem, vectorized=False, decompose=False)
    assert fast.optimal and other.optimal
    check_order(problem, fast.order)
    assert peak_of(problem, fast.order) == fast.peak == other.peak


@settings(max_examples=100, deadline=None)
@given(random_dags(max_nodes=11), st.data())
def test_chain_moves_keep_the_optimum(case, data):
    """The chain reduction (single-consumer chains run back to back) against all
    topological orders and against the search without it; the graphs get extra chains so
    that the reduction has something to merge."""
    from archcalc.analysis.schedule_vectorized import chain_moves

    graph, sizes = case
    for v in list(graph)[: data.draw(st.integers(0, 4))]:  # hang a chain of 1-2 nodes on v
        tail = v
        for _ in range(data.draw(st.integers(1, 2))):
            new = len(graph)
            graph.add_edge(tail, new)
            sizes[new] = data.draw(st.integers(1, 50))
            tail = new
    problem, brute, all_orders_seen = scratch_problem_and_brute_force(data, graph, sizes)
    reduced = exact_order(problem, vectorized=True, decompose=False)
    plain = exact_order(problem, vectorized=True, decompose=False, reduce=False)
    assert_optimal_and_agreeing(problem, reduced, plain, brute, all_orders_seen)
    for move in chain_moves(problem, range(len(problem))):  # every chain is a path of the graph
        assert all(problem.preds[b] == [a] for a, b in zip(move, move[1:]))
    # the order bound over chain moves (orders that run each move back to back) stays at or
    # below the optimum over all orders
    from archcalc.analysis.schedule_vectorized import CutNetwork

    optimum = brute if all_orders_seen else plain.peak
    own = {u: problem.size[u] + problem.scratch[u] for u in range(len(problem))}
    moves = chain_moves(problem, range(len(problem)))
    assert CutNetwork(problem, range(len(problem)), 0).order_bound(moves, own) <= optimum


@settings(max_examples=100, deadline=None)
@given(random_dags(max_nodes=9), st.data())
def test_cut_bound_is_a_lower_bound(case, data):
    """The minimum-cut bound never exceeds the optimum (all topological orders, or the
    best-first search's proved optimum when there are more than 20,000 of them)."""
    from archcalc.analysis.schedule_vectorized import cut_bound

    graph, sizes = case
    problem, brute, all_orders_seen = scratch_problem_and_brute_force(data, graph, sizes)
    optimum = brute if all_orders_seen else exact_order(problem, vectorized=False).peak
    assert cut_bound(problem, list(range(len(problem))), 0) <= optimum


@settings(max_examples=150, deadline=None)
@given(random_dags(max_nodes=9), st.data())
def test_order_bound_is_a_lower_bound(case, data):
    """The order bound (the least, over the orders of a node set K, of the largest forced
    cut along it) never exceeds the optimum: every node as K, a random K, every chain move
    as K and a random set of them."""
    from archcalc.analysis.schedule_vectorized import CutNetwork, chain_moves

    graph, sizes = case
    problem, brute, all_orders_seen = scratch_problem_and_brute_force(data, graph, sizes)
    optimum = brute if all_orders_seen else exact_order(problem, vectorized=False).peak
    n = len(problem)
    network = CutNetwork(problem, range(n), 0)
    own = {u: problem.size[u] + problem.scratch[u] for u in range(n)}
    chosen = data.draw(st.lists(st.integers(0, n - 1), min_size=1, unique=True))
    assert network.order_bound([[u] for u in range(n)], own) <= optimum
    assert network.order_bound([[u] for u in chosen], own) <= optimum
    # every node of K on its own: the order bound is at least its cut bound
    assert network.order_bound([[u] for u in chosen], own) >= max(network.cut(u)[0] + own[u] for u in chosen)
    # K made of chain moves (bounding the orders that run each move back to back)
    moves = chain_moves(problem, range(n))
    picked = data.draw(st.lists(st.integers(0, len(moves) - 1), min_size=1, unique=True))
    assert network.order_bound(moves, own) <= optimum
    assert network.order_bound([moves[i] for i in picked], own) <= optimum


@pytest.mark.parametrize("seed", range(4))
def test_order_bound_on_randwire_segments(seed):
    """On RandWire cells the order bound of each segment (after its start, as the search
    uses it) stays at or below the segment's proved optimum, and it rises above the cut
    bound on some of them (the test has teeth)."""
    from archcalc.analysis.schedule import _segments
    from archcalc.analysis.schedule_vectorized import _Segment

    graph = randwire_dag(32, 4, 0.75, seed=seed)
    problem = dag_problem(graph, {v: 1 for v in graph}, ["in", *range(32), "out"], outputs=["out"])
    result = exact_order(problem, vectorized=True)
    assert result.optimal
    start, rose = 0, False
    for nodes in _segments(problem, True):
        if len(nodes) > 2:
            segment = _Segment(problem, nodes, start)
            optimum = peak_of(problem, [v for v in result.order if v in set(nodes)], start)
            bound = segment.order_bound(1 << 30, None)
            assert bound <= optimum
            rose = rose or bound > max(segment.cuts.values())
        for v in nodes:
            start |= 1 << v
    assert rose or seed != 0


def test_resumed_cut_equals_a_fresh_cut():
    """The order bound's cuts, resumed from c_u's flow, equal max flows computed from zero
    (random held and barred sets on a RandWire segment)."""
    import random

    from archcalc.analysis.schedule import _segments
    from archcalc.analysis.schedule_vectorized import CutNetwork

    graph = randwire_dag(60, 4, 0.75, seed=1)
    problem = dag_problem(graph, {v: 1 for v in graph}, ["in", *range(60), "out"], outputs=["out"])
    start, segments = 0, _segments(problem, True)
    nodes = max(segments, key=len)
    for segment in segments[:segments.index(nodes)]:
        start |= sum(1 << v for v in segment)
    network = CutNetwork(problem, nodes, start)
    rnd, rose = random.Random(0), 0
    for _ in range(200):
        u = rnd.choice(nodes)
        free = [x for x in nodes if not (network.above[u] >> x & 1 or problem.below[u] >> x & 1)]
        held = sum(1 << x for x in free if rnd.random() < 0.2)
        # barred: no ancestor of a held node (that set D would not exist)
        barred = sum(1 << x for x in free if not held >> x & 1 and rnd.random() < 0.2
                     and not any(held >> y & 1 and network.above[y] >> x & 1 for y in free))
        fresh = network.forced_cut(network.held | network.above[u] | held, problem.below[u] | network.after | barred)
        assert network.resumed_cut(u, held, barred) == fresh[0]
        rose += fresh[0] > network.cut(u)[0]
    assert rose > 20


def assert_pair_bounds_hold(problem, orders) -> int:
    """Every order's step of u holds at least own(u) + c_u (the cut bound) and, when x runs
    before u, own(u) + c_u(x) (the pair bound of ``CutNetwork``); returns how many pair
    bounds rose above the cut bound (so that a caller can check the test had teeth)."""
    from archcalc.analysis.schedule_vectorized import CutNetwork

    n = len(problem)
    network = CutNetwork(problem, range(n), 0)
    bounds = {}
    for u in range(n):
        candidates = [x for x in range(n) if not (network.above[u] >> x & 1 or problem.below[u] >> x & 1)]
        cut, rises = network.rises(u, candidates, sum(problem.size))
        bounds[u] = (cut + problem.size[u] + problem.scratch[u], rises)
    for order in orders:
        done, live, seen = 0, 0, []
        for u in order:
            during, live, _ = problem.step(done, live, u)
            base, rises = bounds[u]
            assert during >= base + max((rises.get(x, 0) for x in seen), default=0)
            done |= 1 << u
            seen.append(u)
    return sum(len(rises) for _, rises in bounds.values())


@settings(max_examples=100, deadline=None)
@given(random_dags(max_nodes=9), st.data())
def test_pair_bounds_hold_on_every_order(case, data):
    """The pair bounds that prune the vectorized search, against every topological order of
    random DAGs (unit or mixed sizes, scratch, several outputs)."""
    graph, sizes = case
    problem, _, _ = scratch_problem_and_brute_force(data, graph, sizes)
    assert_pair_bounds_hold(problem, itertools.islice(nx.all_topological_sorts(graph), 2000))


def test_pair_bounds_hold_on_randwire_orders():
    """The same on a RandWire cell, over 3,000 random topological orders, where many pair
    bounds rise above the cut bound."""
    import random

    graph = randwire_dag(24, 4, 0.75, seed=3)
    problem = dag_problem(graph, {v: 1 for v in graph}, ["in", *range(24), "out"], outputs=["out"])
    rnd = random.Random(0)
    orders = []
    for _ in range(3000):  # a random ready node at each step
        done, order = 0, []
        while len(order) < len(problem):
            v = rnd.choice([v for v in range(len(problem)) if not done >> v & 1 and not problem.pred_mask[v] & ~done])
            order.append(v)
            done |= 1 << v
        orders.append(order)
    assert assert_pair_bounds_hold(problem, orders) > 50


def test_stopped_search_reports_a_certified_gap():
    """A search stopped by its state limit keeps its best order and a lower bound that
    the full search confirms (the optimum lies between them)."""
    graph = randwire_dag(40, 4, 0.75, seed=1)
    problem = dag_problem(graph, {v: 1 for v in graph}, ["in", *range(40), "out"], outputs=["out"])
    full = exact_order(problem, vectorized=True)
    stopped = exact_order(problem, vectorized=True, max_states=50)
    assert full.optimal and not stopped.optimal
    assert stopped.lower_bound <= full.peak <= stopped.peak == peak_of(problem, stopped.order)


@settings(max_examples=60, deadline=None)
@given(random_dags(max_nodes=10), st.sampled_from([1, 16, 64, 512]), st.randoms(use_true_random=False))
def test_arena_never_overlaps(case, alignment, rnd):
    graph, sizes = case
    problem = dag_problem(graph, sizes, list(range(len(graph))))
    order = heuristic_order(problem, rnd.choice(sorted(HEURISTICS)))
    from archcalc.analysis.memory import MemoryGraph

    mg = MemoryGraph(problem=problem, ops=["op"] * len(graph), shapes=[(sizes[v],) for v in range(len(graph))],
                     alias=[None] * len(graph))
    steps = simulate_problem(mg, order)
    plan = plan_arena(steps, alignment)
    assert arena_overlaps(plan) == []
    assert plan.arena_bytes >= max(s.bytes for s in steps)
    assert all(a.offset % alignment == 0 and a.size % alignment == 0 for a in plan.allocations)


def test_arena_equals_live_peak_on_mnv2(mnv2):
    for config in (MemoryConfig(), CONVENTIONS["mcunet"], MemoryConfig(dtype="float16", split=4)):
        result = analyze_memory(mnv2, "program", config)
        assert arena_overlaps(result.arena) == []
        assert result.arena_bytes == result.peak_bytes, config.describe()


# ---------------------------------------------------------------- orders
def test_randwire_exact_never_worse():
    gains = []
    for seed in range(6):
        graph = randwire_dag(32, 4, 0.75, seed=seed)
        order = ["in", *range(32), "out"]
        problem = dag_problem(graph, {v: 1 for v in graph}, order, outputs=["out"])
        result = exact_order(problem, time_limit=60)
        assert result.optimal
        for name in HEURISTICS:
            assert result.peak <= peak_of(problem, heuristic_order(problem, name))
        gains.append(1 - result.peak / peak_of(problem, range(len(problem))))
    assert max(gains) > 0  # usually better than the program order


def test_mnv2_optimal_matches_program(mnv2):
    """MobileNetV2 is a chain of blocks: every block output is a cut point."""
    result = analyze_memory(mnv2, "optimal", MemoryConfig())
    assert result.search.optimal and result.search.segments > 17
    assert result.peak_bytes <= analyze_memory(mnv2, "program", MemoryConfig()).peak_bytes


# ---------------------------------------------------------------- t-way split
def test_split_lowers_peak_monotonically(mnv2):
    peaks = [analyze_memory(mnv2, "program", MemoryConfig(dtype="float16", split=t)).peak_bytes for t in range(1, 9)]
    assert all(a >= b for a, b in zip(peaks, peaks[1:])), peaks
    assert peaks[-1] < peaks[0]
    assert peaks[1] < analyze_memory(mnv2, "program", MemoryConfig(dtype="float16")).peak_bytes


@pytest.mark.parametrize("t", [1, 2, 3, 5, 7, 96])
def test_split_keeps_madds(mnv2, t):
    for block in split_blocks(mnv2):
        whole = sum(mnv2.graph.nodes[n]["cost"].madds for n in mnv2.graph if n.startswith(block.name + "."))
        assert split_madds(mnv2, block, t) == whole


def test_split_block_is_input_output_and_a_slice(mnv2):
    """Section 5.1: |input| + |output| + inner/t, for stage2.block1 (16@112 -> 24@56, 96 inner)."""
    config = MemoryConfig(dtype="float16", split=4, hold_input=False)
    steps = {s.node: s for s in analyze_memory(mnv2, "program", config).steps}
    step = steps["stage2.block1"]
    inner = 24 * 112 * 112 + 24 * 56 * 56  # ceil(96/4) = 24 channels, before and after the depthwise
    assert step.bytes == 2 * (16 * 112 * 112 + 24 * 56 * 56 + inner)


# ---------------------------------------------------------------- Table 3
def test_table3_cells_that_follow():
    """Published cells (paper Table 3, v4) that the named conventions reproduce; the rest
    are reported by ``table3`` (see docs/memory.md), not asserted."""
    from archcalc.analysis.memory import table3

    models = [archcalc.load(SPECS / "mnv1.yaml"), archcalc.load(SPECS / "mnv2.yaml")]
    fits = {(r["model"], r["resolution"]): r["fits"] for r in table3(models)}
    for res in ("112x112", "56x56", "28x28", "14x14", "1x1"):  # 64@112 x 2 B = 1,605,632 B ~ "1600"
        assert "tensor" in fits[("mobilenet_v1", res)]
    assert "tensor" in fits[("mobilenet_v2", "112x112")]  # 16@112 x 2 B = 401,408 ~ "400"
    for res in ("56x56", "28x28", "14x14"):  # 32@56, 64@28, 160@14: output channels at input resolution
        assert fits[("mobilenet_v2", res)] == "block-input"
    assert fits[("mobilenet_v1", "7x7")] == "none"  # 1024/199 is about two 7x7x1024 tensors
