"""A NumPy exact search for the minimum-peak order of a segment of a plain problem.

Used by :func:`archcalc.analysis.schedule.exact_order` for segments of problems without
aliasing (``buf[v] == v`` for every v), of any size; scratch and permanent buffers are
handled exactly as :class:`~archcalc.analysis.schedule.Problem` defines them. Each set of
scheduled nodes is a bit mask over the segment's own nodes only (the nodes before the
segment have all run, those after it have not), stored as ``W = ceil(m / 64)`` ``uint64``
words for a segment of ``m`` nodes, so a whole level of the search is a ``(W, count)``
array and a few vectors. This module knows :class:`Problem` only through its attributes
and methods and imports nothing from :mod:`archcalc.analysis.schedule` (which imports it).

The search answers feasibility questions, "is there an order of the segment whose every
step holds at most ``B`` bytes?", for budgets between a lower bound and ``bound - 1`` (only
values some step can take are tried). The first feasible ``B`` is the optimum, since every
smaller one was proved infeasible, and its order is returned. The feasibility check goes
level by level (level k: the sets made of k moves); a set is kept when some order reaches
it with every step within ``B`` and no lower bound on its completions exceeds ``B``.

**Moves.** A move is one node or a chain of nodes that some optimal order runs back to
back (the reduction of :func:`chain_moves`); every set of the search is a union of whole
moves, so the level of a set is fixed by the set.

Why each rule is exact (a completion of S is an order of the segment's remaining nodes):
* **One entry per set.** Whether S has a completion within ``B`` depends only on S (the
  live bytes after S depend only on S), so which way S was reached does not matter.
* **Step pruning.** A child whose step (any step of its move) exceeds ``B`` lies on no
  order within ``B``.
* **Lower bounds.** A set is dropped when some node u still to run must hold more than
  ``B`` while it runs, whatever the order (the per-node bound of
  :meth:`Problem.node_bounds`: ``base_u + weight(V_u & S)``), or when live(S) plus the
  smallest own need (output + scratch) of a node still to run exceeds ``B`` (the next step
  holds everything live now plus its own output and scratch), or when S holds a node x
  but not a node u such that u's minimum cut with x forced to run first exceeds ``B``
  (the *pair bounds* of :class:`CutNetwork`: S runs entirely before u). None of them drops
  a set that has a completion within ``B``. (The *order bound* of
  :meth:`CutNetwork.order_bound` only raises the first budget tried.)
* **Forced move.** When a ready move of S keeps every step within ``B`` and does not
  increase the live bytes, only S + move is generated from S. If S has a completion within
  ``B``, moving the move to its front gives one that starts with it: every state in
  between gains the move, its live bytes change by the move's output minus what it frees
  there, which is at least what it frees at S (an input is freed once all its readers have
  run, and more have run later), so no live count and no later step rises, and the move's
  own steps are within ``B``.
So by induction over the levels, a set with a completion within ``B`` stays at every level
while the root has one, and every order read back from the last level keeps every step
within ``B`` (each of its steps was checked). Feasible means an order within ``B`` exists.
"""
from __future__ import annotations

import math
import time
from typing import Sequence

import numpy as np

PAIR_SLACK = 8  # pair bounds are worked out for nodes whose cut is within 8 units of the budget
# sets kept per level by the beam passes that look for good orders: the narrow one first,
# the wide one once the narrow one finds nothing more (on WS(100, 4, .75) seed 2 the narrow
# beam stops at 41, the wide one reaches 37)
BEAMS = (5_000, 30_000)
# the sizes of the node sets K tried by the order bound (CutNetwork.order_bound), and the
# cuts one size may take (each a small max flow, about a millisecond at 100 nodes): on
# WS(100, 4, .75) seed 1 K = 8 already lifts the bound from 31 to 37 in 62 cuts; seed 3
# needs K = 24 and about 15,000 cuts for 37 (K = 20: 35)
ORDER_BOUND_SIZES = (8, 12, 16, 20, 24, 32, 40, 48)
ORDER_BOUND_CUTS = 30_000
ORDER_BOUND_SHARE = 0.3  # of the CPU time left when the order bound starts
# sets an exact check may take before the order bound is worked out: the checks of the 50-
# and 66-node cells are smaller and settle them at once (WS(50) seed 1: 0.5 s, where the
# order bound would spend 10 s failing to reach the optimum)
QUICK_SETS = 1_000_000
_U64 = np.uint64
_ZERO = np.uint64(0)


def applicable(problem, nodes: Sequence[int]) -> bool:
    """Plain problems (no aliasing), any number of nodes."""
    return len(problem) > 0 and len(nodes) > 1 and all(problem.buf[v] == v for v in range(len(problem)))


def worthwhile(problem) -> bool:
    """All sizes equal and every scratch a multiple of it: every step and bound is then a
    multiple of one unit, so the bisection tries few budgets."""
    unit = problem.size[0] if len(problem) else 0
    return unit > 0 and all(s == unit for s in problem.size) and all(s % unit == 0 for s in problem.scratch)


def chain_moves(problem, nodes: Sequence[int]) -> list[list[int]]:
    """The segment's nodes grouped into moves: chains ``a, v`` that some optimal order runs
    back to back, every other node alone. ``v`` joins ``a``'s move when, in a plain problem,

    * ``a`` is ``v``'s only input, ``v`` is ``a``'s only reader and ``a`` is not permanent,
    * ``size[v] <= size[a]``, and
    * ``v``'s own need (output + scratch) is at most that of every other node of the segment.

    Why an optimal order stays optimal when ``v`` is moved to right after ``a``: let X be the
    nodes between them and x the first of X. Every state after ``a`` and inside X gains ``v``
    and loses ``a`` (``v`` frees it: its only reader, not permanent), so its live bytes
    change by ``size[v] - size[a] <= 0``, and so does every step of X (``v`` reads nothing
    else, and nothing in X reads ``v``, which ran after X). ``v``'s own step is now
    live(after ``a``) + own(v) <= live(after ``a``) + own(x), which was x's step. After X
    the set is the same as before. Chains of more than two nodes follow by applying the
    rule pair by pair (moving ``v`` keeps every earlier pair adjacent).
    ``tests/test_memory.py`` checks the reduced search against all topological orders.
    """
    nodes = list(nodes)
    if len(nodes) < 3:
        return [[v] for v in nodes]
    inside = set(nodes)
    own = {v: problem.size[v] + problem.scratch[v] for v in nodes}
    joins = {}  # v -> a
    for v in nodes:
        preds = problem.preds[v]
        if len(preds) != 1:
            continue
        a = preds[0]
        if a not in inside or problem.succs[a] != [v] or a in problem.permanent or problem.size[v] > problem.size[a]:
            continue
        if all(own[v] <= own[x] for x in nodes if x != a and x != v):
            joins[v] = a
    moves, move_of = [], {}
    for v in nodes:  # program order: a chain's head comes before its members
        a = joins.get(v)
        if a is not None:
            move_of[v] = move_of[a]
            moves[move_of[v]].append(v)
        else:
            move_of[v] = len(moves)
            moves.append([v])
    return moves


def cut_bound(problem, nodes: Sequence[int], start: int) -> int:
    """A lower bound on the peak of any order of the segment ``nodes`` after ``start``, by
    minimum cuts: when a node u runs, the set D of nodes already run contains ``start`` and
    u's ancestors, and none of u, its descendants or the nodes after the segment; u's step
    holds size(u) + scratch(u) + live(D), where live(D) is the total size of the tensors of D
    that are permanent or have a reader outside D. The least live(D) over all such D is a
    minimum cut in the network of :class:`CutNetwork`. The bound is the largest over u.
    Plain problems only (``buf[v] == v``)."""
    network = CutNetwork(problem, nodes, start)
    return max(network.cut(u)[0] + problem.size[u] + problem.scratch[u] for u in nodes)


class CutNetwork:
    """The minimum-cut network of :func:`cut_bound` for one segment, and the *pair bounds*.

    Nodes: ``x_t`` (t in D) and ``z_t`` per tensor t, a source and a sink:

    * source -> x_t (unbounded) for t in ``start`` or an ancestor of u; x_t -> sink
      (unbounded) for u, its descendants and the nodes after the segment;
    * x_s -> x_t (unbounded) for every edge t -> s (a reader in D puts its input in D);
    * x_t -> sink (size t) for a permanent t; x_t -> z_t (size t) and z_t -> x_s
      (unbounded) for each reader s of another t: cutting x_t -> z_t is forced exactly when
      t is in D and one of its readers is not.

    So a finite cut is a set D closed under inputs, and its value is live(D).

    **Pair bounds** (:meth:`rises`). A set S of scheduled nodes without u is run entirely
    before u, so when u runs, D also contains S, and u's step holds at least
    own(u) + c_u(x) for every x in S, where c_u(x) is the minimum cut with x forced into D
    (one more unbounded arc source -> x_x). c_u(x) - c_u is the maximum flow from x_x to the
    sink in the residual network of a maximum flow for c_u (the source has no augmenting
    path left, and none opens: a path from x_x never meets a node the source reaches, or the
    source would reach the sink), and it is 0 for every x that cannot reach the sink there.
    Hence a set S without u that holds an x with own(u) + c_u(x) > B has no completion whose
    steps all stay within B.

    The max flow is a small Edmonds-Karp here, not ``networkx.maximum_flow``, because each
    pair bound resumes the flow of c_u from its residual network (networkx restarts every
    flow from zero), thousands of times per segment.
    """

    def __init__(self, problem, nodes: Sequence[int], start: int):
        n = len(problem)
        self.problem, self.n = problem, n
        self.source, self.sink = 2 * n, 2 * n + 1
        self.unbounded = sum(problem.size) + 1
        arcs = []  # (tail, head, capacity)
        for t in range(n):
            if t in problem.permanent:
                arcs.append((t, self.sink, problem.size[t]))
            elif problem.succs[t] and problem.size[t]:
                arcs.append((t, n + t, problem.size[t]))
                arcs.extend((n + t, s, self.unbounded) for s in problem.succs[t])
            arcs.extend((s, t, self.unbounded) for s in problem.succs[t])
        self.arcs = arcs
        self.above = [0] * n  # strict ancestors
        for v in range(n):
            for p in problem.preds[v]:
                self.above[v] |= self.above[p] | 1 << p
        self.held = start
        self.after = ((1 << n) - 1) & ~sum(1 << v for v in nodes) & ~start
        self._flows: dict[int, tuple] = {}  # u -> c_u's flow, for resumed_cut

    def cut(self, u: int) -> tuple[int, tuple[list, list, list]]:
        """(c_u, the residual network of a maximum flow for it: out-arcs per node, arc heads,
        residual capacities; arc ``a ^ 1`` is the reverse of arc ``a``)."""
        return self.forced_cut(self.held | self.above[u], self.problem.below[u] | self.after)

    def forced_cut(self, held: int, barred: int) -> tuple[int, tuple[list, list, list]]:
        """The least live(D) over the sets D closed under inputs that hold every node of
        ``held`` and none of ``barred`` (closed under readers), with its residual network."""
        arcs = list(self.arcs)
        for t in range(self.n):
            if held >> t & 1:
                arcs.append((self.source, t, self.unbounded))
            elif barred >> t & 1:
                arcs.append((t, self.sink, self.unbounded))
        residual = self._residual(arcs)
        return self._augment(residual, self.source, self.unbounded), residual

    def _residual(self, arcs) -> tuple[list, list, list]:
        """The residual network of a zero flow on ``arcs`` ((tail, head, capacity) each):
        out-arcs per node, arc heads, capacities; arc ``a ^ 1`` is the reverse of arc ``a``."""
        out = [[] for _ in range(2 * self.n + 2)]
        head, capacity = [], []
        for tail, end, cap in arcs:
            out[tail].append(len(head))
            head.append(end)
            capacity.append(cap)
            out[end].append(len(head))
            head.append(tail)
            capacity.append(0)
        return out, head, capacity

    def resumed_cut(self, u: int, held: int, barred: int) -> int:
        """``forced_cut(start | ancestors(u) | held, descendants(u) | after | barred)``'s
        value, resumed from c_u's maximum flow: that network is c_u's with more source and
        sink arcs, so c_u's flow is still a flow in it, and augmenting it until no path is
        left gives a maximum flow (usually a few paths, against some 30 from zero)."""
        value, out, head, capacity, into, out_of = self._flow_of(u)
        capacity = list(capacity)
        for arcs, nodes in ((into, held), (out_of, barred & ~held)):
            while nodes:
                low = nodes & -nodes
                nodes ^= low
                capacity[arcs[low.bit_length() - 1]] = self.unbounded
        return value + self._augment((out, head, capacity), self.source, self.unbounded)

    def _flow_of(self, u: int):
        """c_u's maximum flow in a network with an arc from the source into every node and
        from every node to the sink, closed (capacity 0) except where c_u has them:
        (c_u, out-arcs, heads, residual capacities, each node's source arc, its sink arc)."""
        cached = self._flows.get(u)
        if cached is None:
            held, barred = self.held | self.above[u], self.problem.below[u] | self.after
            arcs = list(self.arcs)
            into, out_of = [], []
            for t in range(self.n):
                into.append(2 * len(arcs))
                arcs.append((self.source, t, self.unbounded if held >> t & 1 else 0))
                out_of.append(2 * len(arcs))
                arcs.append((t, self.sink, self.unbounded if barred >> t & 1 and not held >> t & 1 else 0))
            out, head, capacity = self._residual(arcs)
            value = self._augment((out, head, capacity), self.source, self.unbounded)
            cached = self._flows[u] = (value, out, head, capacity, into, out_of)
        return cached

    def _augment(self, residual, origin: int, limit: int) -> int:
        """Push up to ``limit`` from ``origin`` to the sink along shortest residual paths
        (changes the capacities in place); returns what was pushed."""
        out, head, capacity = residual
        sink, total = self.sink, 0
        while total < limit:
            parent = {origin: -1}
            queue = [origin]
            for x in queue:
                for a in out[x]:
                    if capacity[a] > 0 and head[a] not in parent:
                        parent[head[a]] = a
                        queue.append(head[a])
                if sink in parent:
                    break
            if sink not in parent:
                return total
            path, y = [], sink
            while parent[y] >= 0:
                path.append(parent[y])
                y = head[parent[y] ^ 1]
            push = min(limit - total, *(capacity[a] for a in path))
            for a in path:
                capacity[a] -= push
                capacity[a ^ 1] += push
            total += push
        return total

    def rises(self, u: int, candidates: Sequence[int], limit: int) -> tuple[int, dict[int, int]]:
        """(c_u, {x: c_u(x) - c_u capped at ``limit``} for the candidates that raise the cut)."""
        value, residual = self.cut(u)
        out, head, capacity = residual
        into = [[] for _ in out]  # residual arcs reversed: who can reach whom
        for x, arcs in enumerate(out):
            for a in arcs:
                if capacity[a] > 0:
                    into[head[a]].append(x)
        reach, queue = {self.sink}, [self.sink]
        for y in queue:
            for x in into[y]:
                if x not in reach:
                    reach.add(x)
                    queue.append(x)
        rises = {}
        for x in candidates:
            if x in reach:  # the others leave the cut as it is
                rise = self._augment((out, head, list(capacity)), x, limit)
                if rise:
                    rises[x] = rise
        return value, rises


    def order_bound(self, chosen: Sequence[Sequence[int]], own: dict[int, int], deadline: float | None = None,
                    max_cuts: int | None = None) -> int:
        """A lower bound on the peak of the orders of the segment that run each move of
        :func:`chain_moves` back to back (some optimal order does), from the order in which
        they run the moves ``chosen`` (a set K of moves; ``own[u]``: u's output + scratch).

        In such an order, when a node u of a move m of K runs, the set D of nodes run before
        it holds ``start``, u's ancestors and the moves of K run before m (a set X closed
        under the dependencies inside K), and none of u's descendants, the nodes after the
        segment or the other moves of K still to run. So u's step holds at least own(u) +
        the least live(D) over such D: :meth:`forced_cut` with X held and the rest of K
        barred; cost(X, m) is the largest of these over m's nodes. The order's peak is then
        at least the largest cost along the path its K-moves take through the sets X, and
        this returns the least such largest cost over all paths (a bottleneck shortest path,
        Dijkstra's way: costs only grow along a path). Each cost(X, m) is at least
        own(u) + c_u for u in m, so the bound is at least the cut bound over K, and it is
        higher where no order of K lets every move meet its nodes' smallest cuts. Stopped by
        ``deadline`` (CPU) or ``max_cuts``, it returns the last value it settled, which every
        path's largest cost still reaches. (A move of one node is any node: with every
        node alone, this bounds every order.)"""
        import heapq

        chosen = [list(move) for move in chosen]
        nodes_of = [sum(1 << u for u in move) for move in chosen]
        inside_above = [sum(1 << j for j, other in enumerate(nodes_of) if self.above[move[0]] & other)
                        for move in chosen]
        full = (1 << len(chosen)) - 1
        best, heap, cuts = {0: 0}, [(0, 0)], 0
        while heap:
            value, run = heapq.heappop(heap)
            if value != best[run]:
                continue  # a stale entry: the set was reached more cheaply since
            if run == full:
                return value
            if (max_cuts is not None and cuts >= max_cuts) or (
                    deadline is not None and time.process_time() > deadline):
                return value
            held = sum(nodes for j, nodes in enumerate(nodes_of) if run >> j & 1)
            for i, move in enumerate(chosen):
                if run >> i & 1 or inside_above[i] & ~run:
                    continue  # run already, or a move of K it reads has not run
                barred = sum(nodes for j, nodes in enumerate(nodes_of) if not run >> j & 1 and j != i)
                cost = value
                for u in move:
                    cuts += 1
                    cost = max(cost, self.resumed_cut(u, held, barred) + own[u])
                reached = run | 1 << i
                if cost < best.get(reached, cost + 1):
                    best[reached] = cost
                    heapq.heappush(heap, (cost, reached))
        return 0  # not reached: the full set is always reachable


class _Words:
    """Bit masks over a segment's nodes as ``W`` uint64 words (bit j: the segment's j-th node)."""

    def __init__(self, nodes: Sequence[int]):
        self.local = {v: j for j, v in enumerate(nodes)}
        self.count = max(1, -(-len(nodes) // 64))

    def of(self, mask: int) -> np.ndarray:
        """Absolute node mask -> its segment part as a ``(W,)`` array."""
        words = [0] * self.count
        for v, j in self.local.items():
            if mask >> v & 1:
                words[j >> 6] |= 1 << (j & 63)
        return np.array(words, dtype=_U64)


def _table_weigher(sizes: Sequence[int], words: int):
    """``(W, N) uint64 -> (N,) int64``: the total size of the nodes in each mask."""
    if len(set(sizes)) <= 1:
        unit = int(sizes[0]) if sizes else 0

        def count(masks):  # word by word: a sum over axis 0 of a (W, N) array is strided and slow
            total = np.bitwise_count(masks[0]).astype(np.int64)
            for w in range(1, masks.shape[0]):
                total += np.bitwise_count(masks[w])
            return total * unit if unit != 1 else total
        return count
    tables = []
    for w in range(words):
        for base in range(0, 64, 8):
            chunk = sizes[w * 64 + base:w * 64 + base + 8]
            if not chunk:
                continue
            table = np.zeros(256, dtype=np.int64)
            for byte in range(1, 256):
                low = (byte & -byte).bit_length() - 1
                table[byte] = table[byte & (byte - 1)] + (chunk[low] if low < len(chunk) else 0)
            tables.append((w, _U64(base), table))

    def weigh(masks):
        total = np.zeros(masks.shape[1], dtype=np.int64)
        for w, shift, table in tables:
            total += table[((masks[w] >> shift) & _U64(255)).astype(np.intp)]
        return total
    return weigh


def _unique_rows(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct columns of a ``(W, N)`` array, index of the first occurrence of each)."""
    if states.shape[0] == 1:
        values, first = np.unique(states[0], return_index=True)
        return values[None, :], first
    order = np.lexsort(states[::-1])
    ordered = states[:, order]
    fresh = np.ones(ordered.shape[1], dtype=bool)
    fresh[1:] = (ordered[:, 1:] != ordered[:, :-1]).any(axis=0)
    # lexsort is stable, so the first of each run is the first occurrence
    return ordered[:, fresh], order[fresh]


class _Segment:
    """Per-move arrays of one segment, shared by every feasibility check."""

    def __init__(self, problem, nodes: list[int], start: int, reduce: bool = True):
        self.problem = problem
        self.nodes = list(nodes)
        self.moves = chain_moves(problem, nodes) if reduce else [[v] for v in nodes]
        self.start_live = problem.live(start)
        words = self.words = _Words(nodes)
        segment = sum(1 << v for v in nodes)
        self.W = words.count
        own = [problem.size[v] + problem.scratch[v] for v in nodes]
        self.min_own = min(own)

        def nonzero(array):  # (word, value) pairs of the words that are set
            return [(w, array[w]) for w in range(self.W) if array[w]]

        self.move_data = []
        for move in self.moves:
            head = move[0]
            need = nonzero(words.of(problem.pred_mask[head] & segment))
            bits = words.of(sum(1 << v for v in move))
            steps = []
            done_before = 0
            for v in move:
                done_before |= 1 << v
                frees = []
                for c in problem.touched[v]:
                    if c in problem.permanent:
                        continue
                    waits = problem.pending[c] & ~start
                    if waits & ~segment:
                        continue  # a reader after the segment: not freed inside it
                    frees.append((nonzero(words.of(waits)), problem.size[c]))
                steps.append((problem.size[v], problem.size[v] + problem.scratch[v], words.of(done_before & segment),
                              frees))
            self.move_data.append((bits, need, steps))
        # ready moves are tracked per set as a mask of their heads; a move wakes the moves
        # whose head reads one of its nodes
        move_of = {v: i for i, move in enumerate(self.moves) for v in move}
        self.heads = []
        for move in self.moves:
            bit = words.of(1 << move[0])
            w = int(np.flatnonzero(bit)[0])
            self.heads.append((w, bit[w]))
        self.wakes = []
        for i, move in enumerate(self.moves):
            targets = sorted({move_of[s] for v in move for s in problem.succs[v] if s in move_of} - {i})
            self.wakes.append([(self.heads[j], self.move_data[j][1]) for j in targets])
        self.root_ready = np.zeros(self.W, dtype=_U64)
        for i, (bits, need, steps) in enumerate(self.move_data):
            if not need:
                w, word = self.heads[i]
                self.root_ready[w] |= word
        sizes = [problem.size[v] for v in nodes]
        weigh = _table_weigher(sizes, self.W)
        self.weigh = weigh
        start_weigh_cache = {}
        bounds = []
        for bit, base, var, _ in problem.node_bounds(nodes):
            fixed = var & start
            if fixed not in start_weigh_cache:
                start_weigh_cache[fixed] = sum(problem.size[t] for t in range(len(problem)) if fixed >> t & 1)
            base += start_weigh_cache[fixed]
            local_var = words.of(var & segment)
            most = base + int(weigh(local_var[:, None])[0])
            u = bit.bit_length() - 1
            bit_words = words.of(1 << u)
            w = int(np.flatnonzero(bit_words)[0])
            bounds.append((most, (w, bit_words[w]), base, local_var))
        bounds.sort(key=lambda item: -item[0])
        self.bounds = bounds
        # pair bounds (see CutNetwork): every step and live count is a multiple of ``unit``
        self.unit = math.gcd(*problem.size, *problem.scratch) or 1
        self.network = CutNetwork(problem, nodes, start)
        self.cuts = {u: self.network.cut(u)[0] + problem.size[u] + problem.scratch[u] for u in nodes}
        self._rises: dict[int, tuple[int, dict[int, int]]] = {}  # u -> (limit, capped rises)
        self._pair_masks: dict[int, list] = {}

    def pair_masks(self, budget: int, deadline: float | None = None) -> list:
        """Per node u whose pair bounds exceed ``budget``: (u's word and bit, the (word,
        mask) pairs of the nodes x with own(u) + c_u(x) > ``budget``). A set without u that
        holds such an x has no completion within ``budget`` (:class:`CutNetwork`)."""
        if budget in self._pair_masks:
            return self._pair_masks[budget]
        masks = []
        for u, base in self.cuts.items():
            if deadline is not None and time.process_time() > deadline:
                return masks  # fewer pair bounds only prune less, and the caller stops; not kept
            slack = budget - base  # the cut would have to rise by more than this
            if slack < 0 or slack >= PAIR_SLACK * self.unit:
                continue  # u alone exceeds the budget (the root bound says so), or too loose to matter
            limit, rises = self._rises.get(u, (0, {}))
            if limit <= slack:
                above, below = self.network.above[u], self.problem.below[u]
                candidates = [x for x in self.nodes if not (above >> x & 1 or below >> x & 1)]
                limit = slack + 1
                rises = self.network.rises(u, candidates, limit)[1]
                self._rises[u] = (limit, rises)
            over = sum(1 << x for x, rise in rises.items() if rise > slack)
            if over:
                bit, over_words = self.words.of(1 << u), self.words.of(over)
                w = int(np.flatnonzero(bit)[0])
                masks.append(((w, bit[w]), [(i, over_words[i]) for i in range(self.W) if over_words[i]]))
        self._pair_masks[budget] = masks
        return masks

    def order_bound(self, target: int, deadline: float | None) -> int:
        """:meth:`CutNetwork.order_bound` over the ``k`` moves whose nodes have the largest
        cut bounds (a multi-input add and the conv after it, one move, count once), for k in
        ``ORDER_BOUND_SIZES`` in turn, until the bound reaches ``target`` (nothing
        higher is needed), the deadline strikes or a size needs more than
        ``ORDER_BOUND_CUTS`` cuts. Returns the largest bound found (0 if none)."""
        own = {u: self.problem.size[u] + self.problem.scratch[u] for u in self.nodes}
        ranked = sorted(self.moves, key=lambda move: -max(self.cuts[u] for u in move))
        bound = 0
        for k in ORDER_BOUND_SIZES:
            if bound >= target or (deadline is not None and time.process_time() > deadline):
                break
            chosen = ranked[:k]
            bound = max(bound, self.network.order_bound(chosen, own, deadline, ORDER_BOUND_CUTS))
            if len(chosen) < k:
                break  # every move was in K already
        return bound

    def root_bound(self) -> int:
        """The lower bounds above, at the segment's start, and :func:`cut_bound`."""
        return max([self.start_live + self.min_own, *(base for _, _, base, _ in self.bounds), *self.cuts.values()])

    def feasible(self, budget: int, deadline: float | None, max_states: int | None, counter: list[int],
                 beam: int | None = None):
        """An order of the segment whose every step holds at most ``budget`` bytes, or
        ``None`` when there is none; ``False`` when the deadline or state limit struck.
        With ``beam``, only the ``beam`` sets with the fewest live bytes stay at each level:
        a heuristic (an order found is within ``budget``; ``None`` then proves nothing)."""
        self.next_budget = 1 << 62  # the smallest value > budget that pruned anything
        W = self.W
        states = np.zeros((W, 1), dtype=_U64)
        ready_heads = self.root_ready[:, None].copy()  # per set: the heads of its ready moves
        live = np.array([self.start_live], dtype=np.int64)
        history = []  # per level: (parent index, move) of each kept set
        last = len(self.moves) - 1
        for level in range(len(self.moves)):
            counter[0] += states.shape[1]
            level_start = time.process_time()
            if deadline is not None and level_start > deadline:
                return False
            if max_states is not None and counter[0] > max_states:
                return False
            count = states.shape[1]
            forced = np.full(count, -1, dtype=np.int64)
            chunks = []
            for index, (bits, need, steps) in enumerate(self.move_data):
                if deadline is not None and time.process_time() > deadline:
                    return False  # checked per move too: one level of a large search takes seconds
                head_word, head_bit = self.heads[index]
                idx = np.flatnonzero(ready_heads[head_word] & head_bit)  # ready: not run, every input run
                if not idx.size:
                    continue
                base = states[:, idx]
                before = live[idx]
                now = before
                for size, own, done_bits, frees in steps:
                    within = now <= budget - own
                    if not within.all():
                        over = ~within
                        self.next_budget = min(self.next_budget, int(now[over].min()) + own)
                        idx, base, before, now = idx[within], base[:, within], before[within], now[within]
                        if not idx.size:
                            break
                    now = now + size
                    for waits, freed in frees:
                        done = None
                        for w, word in waits:
                            word_done = ((base[w] | done_bits[w]) & word) == word
                            done = word_done if done is None else done & word_done
                        now = now - freed * done
                if not idx.size:
                    continue
                new = base | bits[:, None]
                heads = ready_heads[:, idx]
                heads[head_word] &= ~head_bit
                for (w, word), needs in self.wakes[index]:
                    woken = None
                    for nw, nword in needs:
                        term = (new[nw] & nword) == nword
                        woken = term if woken is None else woken & term
                    heads[w] |= np.where(woken, word, _ZERO)
                free_now = idx[(now <= before) & (forced[idx] < 0)]
                forced[free_now] = index
                chunks.append((idx, index, new, now, heads))
            if not chunks:
                return None
            for at, (idx, index, new, now, heads) in enumerate(chunks):
                keep = (forced[idx] < 0) | (forced[idx] == index)  # a forced move is its set's only child
                if not keep.all():
                    chunks[at] = (idx[keep], index, new[:, keep], now[keep], heads[:, keep])
                if deadline is not None and time.process_time() > deadline:
                    return False
            now = time.process_time()
            if deadline is not None and now + 2 * (now - level_start) > deadline:
                # merging, sorting and bounding the children takes up to twice as long as
                # making them did (a 100-node cell: 2 s to make, 3 s to concatenate, 1.5 s
                # to sort): a merge that cannot end in time is not begun (CPU limit kept)
                return False
            idx = np.concatenate([c[0] for c in chunks])
            move = np.concatenate([np.full(len(c[0]), c[1], dtype=np.int64) for c in chunks])
            new = np.concatenate([c[2] for c in chunks], axis=1)
            after = np.concatenate([c[3] for c in chunks])
            heads = np.concatenate([c[4] for c in chunks], axis=1)
            del chunks
            if deadline is not None and time.process_time() > deadline:
                return False
            new, first = _unique_rows(new)
            idx, move, after, heads = idx[first], move[first], after[first], heads[:, first]
            if deadline is not None and time.process_time() > deadline:
                return False
            if level < last:
                bad = after > budget - self.min_own
                if bad.any():
                    self.next_budget = min(self.next_budget, int(after[bad].min()) + self.min_own)
                for most, bit, base, var in self.bounds:
                    if most <= budget:
                        break  # sorted by ``most``: no later node can exceed the budget
                    if deadline is not None and time.process_time() > deadline:
                        return False
                    need = base + self.weigh(var[:, None] & new)
                    w, word = bit
                    over = ((new[w] & word) == _ZERO) & (need > budget)
                    if over.any():
                        self.next_budget = min(self.next_budget, int(need[over].min()))
                        bad |= over
                for (w, word), masks in self.pair_masks(budget, deadline):
                    holds = None
                    for i, mask in masks:
                        term = (new[i] & mask) != _ZERO
                        holds = term if holds is None else holds | term
                    over = ((new[w] & word) == _ZERO) & holds
                    if over.any():  # bounds are multiples of ``unit``: the next one above the budget
                        self.next_budget = min(self.next_budget, (budget // self.unit + 1) * self.unit)
                        bad |= over
                if bad.any():
                    good = ~bad
                    new, idx, move, after, heads = new[:, good], idx[good], move[good], after[good], heads[:, good]
                    if not new.shape[1]:
                        return None
            if beam is not None and new.shape[1] > beam:
                self.truncated = True
                kept = np.argpartition(after, beam)[:beam]
                new, idx, move, after, heads = new[:, kept], idx[kept], move[kept], after[kept], heads[:, kept]
            history.append((idx.astype(np.int32), move.astype(np.int32)))  # 8 bytes per set kept
            states, live, ready_heads = new, after, heads
        order = []
        at = 0
        for idx, move in reversed(history):
            order.extend(reversed(self.moves[int(move[at])]))
            at = int(idx[at])
        return order[::-1]


def vectorized_search(problem, nodes: list[int], start: int, bound: int | None, lower: int,
                      deadline: float | None, max_states: int | None,
                      reduce: bool = True) -> tuple[list[int] | None, int, bool, int]:
    """Same contract as ``_best_first``: (an optimal order of ``nodes`` after ``start`` whose
    peak is below ``bound``, or ``None`` when no order beats ``bound``, or when stopped
    early the best order found; sets expanded; finished; ``low``, a value no order of the
    segment goes below, certified even when the search stopped early). ``deadline`` is in
    ``time.process_time()`` seconds (CPU time). ``reduce=False`` searches node by node (no
    chain moves), for the tests.

    The optimum lies in [``low``, ``high``]. ``low`` starts at the largest of ``lower``, the
    root's node bounds and :func:`cut_bound`; ``high`` at ``bound - 1``.
    1. Beam passes (:meth:`_Segment.feasible` with ``beam``, each width of ``BEAMS`` in
       turn) ask for an order within ``high``; each order found lowers ``high`` to one below
       its peak. A pass that never had to cut a level searched every set, so its "none" is
       a proof too. Once the narrow width finds nothing more, the order bound
       (:meth:`_Segment.order_bound`, ``ORDER_BOUND_SHARE`` of the CPU time left) raises
       ``low``; when it reaches ``high + 1`` the best order is proved optimal.
    2. Exact checks then go up from ``low``: an infeasible budget raises ``low`` to the
       smallest value that pruned anything (no order has a peak strictly between: follow
       such an order from the root, moving forced moves to the front as above; its first
       set that the check did not keep was dropped for a step or bound above the budget
       yet within its peak). The first feasible budget is the optimum. The lower bounds
       are tight on RandWire cells (within 2 of the optimum), so few budgets are tried.
    """
    seg = _Segment(problem, nodes, start, reduce)
    # no order has a peak below ``low``
    low = max(lower, seg.root_bound())
    high = (bound if bound is not None else 1 << 62) - 1  # the largest peak still wanted
    counter = [0]
    best = None
    beams = list(BEAMS)
    ordered = False  # whether the quick checks and the order bound have run (once, after the narrow beam)

    def out_of_time() -> bool:
        return (deadline is not None and time.process_time() > deadline) or (
            max_states is not None and counter[0] > max_states)

    def check(budget: int, cap: int | None):
        """One exact check at ``budget``, stopped past ``cap`` sets (as by the limits)."""
        limit = None if max_states is None else max(0, max_states - counter[0])
        if cap is not None:
            limit = cap if limit is None else min(limit, cap)
        used = [0]
        found = seg.feasible(budget, deadline, limit, used)
        counter[0] += used[0]
        return found

    def quick_then_order_bound():
        """Exact checks up from ``low`` while each takes at most ``QUICK_SETS`` sets (they
        settle the segment when the checks are small), then the order bound. Returns an
        optimal order, or ``None`` to go on."""
        nonlocal low
        while low <= high:
            found = check(low, QUICK_SETS)
            if found is False:
                break  # too large for a quick check, or out of time (the caller sees which)
            if found is not None:
                return found
            low = seg.next_budget
        if low <= high and not out_of_time():
            share = None if deadline is None else time.process_time() + ORDER_BOUND_SHARE * max(
                0.0, deadline - time.process_time())
            low = max(low, seg.order_bound(high + 1, share))
        return None

    while low <= high < 1 << 61 and beams:
        seg.truncated = False
        found = seg.feasible(high, deadline, max_states, counter, beam=beams[0])
        if found is False:
            return best, counter[0], False, low
        if found is None:
            if not seg.truncated:  # exact: no order within ``high``
                return best, counter[0], True, high + 1
            beams.pop(0)  # a wider beam, or on to the exact checks
            if not ordered:
                ordered, found = True, quick_then_order_bound()
                if found is not None:  # within ``low``, and nothing is below ``low``
                    return found, counter[0], True, low
                if out_of_time():
                    return best, counter[0], False, low
            continue
        best, high = found, problem.peak(found, start) - 1
    if not ordered and low <= high < 1 << 61:
        found = quick_then_order_bound()
        if found is not None:
            return found, counter[0], True, low
    while low <= high:
        found = seg.feasible(low, deadline, max_states, counter)
        if found is False:
            return best, counter[0], False, low
        if found is not None:  # within ``low``, and nothing is below ``low``
            return found, counter[0], True, low
        low = seg.next_budget
    # every peak up to ``high`` is impossible: ``best`` (if any) has peak ``high + 1``
    return best, counter[0], True, low
