"""Orders of a DAG that keep peak memory low: heuristics and an exact search.

Everything here works on a :class:`Problem`, a small integer view of a graph built by
:mod:`archcalc.analysis.memory` (from a compiled model) or by :func:`dag_problem` (from any
networkx DAG with tensor sizes), so the search knows nothing about ops.

The memory model (the paper's M(G) for one order, Section 5.1): a node writes its output
into a buffer; several nodes may share one buffer (folded batch norm, in-place activations,
views), in which case only the first allocates. A buffer is live from the step of its first
writer until its last reader outside the buffer has run; buffers marked permanent (graph
outputs, a held input) are never freed. The bytes of a step are the live buffers before it,
plus what the step adds (its new buffer, or the growth of an in-place one), plus its scratch.
The live set after a set ``S`` of scheduled nodes depends only on ``S``, which is what makes
the dynamic programme over sets exact.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx  # imported where used: planning a compiled model needs none of it


@dataclass
class Problem:
    """Nodes ``0..n-1`` in program order (a topological order).

    ``preds[v]``: distinct producers v reads; ``size[v]``: bytes of v's output tensor;
    ``buf[v]``: index of the buffer v writes (``buf[v] == v`` when v allocates it);
    ``scratch[v]``: bytes needed only while v runs; ``permanent``: buffers never freed.
    """

    names: list[str]
    preds: list[list[int]]
    size: list[int]
    buf: list[int]
    scratch: list[int]
    permanent: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        n = len(self.names)
        self.index = {name: i for i, name in enumerate(self.names)}
        self.pred_mask = [sum(1 << p for p in ps) for ps in self.preds]
        self.succs: list[list[int]] = [[] for _ in range(n)]
        for v, ps in enumerate(self.preds):
            for p in ps:
                self.succs[p].append(v)
        # members of each buffer in program order, and the readers outside it
        self.members: dict[int, list[int]] = {}
        for v in range(n):
            self.members.setdefault(self.buf[v], []).append(v)
        self.readers: dict[int, int] = {}
        for b, members in self.members.items():
            inside = set(members)
            self.readers[b] = sum(1 << s for m in members for s in self.succs[m] if s not in inside)
        self.member_mask = {b: sum(1 << m for m in ms) for b, ms in self.members.items()}
        # a buffer stays live while a member is still to write it or a reader still to read it
        self.pending = {b: self.readers[b] | self.member_mask[b] for b in self.members}
        # the buffers a step may free: its inputs' and its own
        self.touched = [tuple(dict.fromkeys([*(self.buf[p] for p in ps), self.buf[v]])) for v, ps in enumerate(self.preds)]
        # each node with everything downstream of it (for the per-state lower bound)
        self.below = [0] * n
        for v in reversed(range(n)):
            mask = 1 << v
            for s in self.succs[v]:
                mask |= self.below[s]
            self.below[v] = mask


    def __len__(self) -> int:
        return len(self.names)

    # -- the set function: bytes live after S, and what one more step costs --------------
    def current(self, b: int, done: int) -> int:
        """Bytes held by buffer ``b`` once the nodes in ``done`` have run (its latest writer's tensor)."""
        members = self.members[b]
        if len(members) == 1:
            return self.size[b] if done >> b & 1 else 0
        for m in reversed(members):
            if done >> m & 1:
                return self.size[m]
        return 0

    def alive(self, b: int, done: int) -> bool:
        if not self.member_mask[b] & done:
            return False
        return b in self.permanent or bool(self.pending[b] & ~done)

    def live(self, done: int) -> int:
        return sum(self.current(b, done) for b in self.members if self.alive(b, done))

    def step(self, done: int, live: int, v: int) -> tuple[int, int, list[int]]:
        """Run ``v`` after ``done`` (whose live bytes are ``live``): (bytes while v runs,
        live bytes after, buffers freed by it)."""
        b = self.buf[v]
        size = self.size[v]
        if b == v:
            during = live + size + self.scratch[v]
            after = live + size
        else:
            before = self.current(b, done)
            # an in-place op whose output is larger grows its buffer while it runs
            during = live + max(0, size - before) + self.scratch[v]
            after = live - before + size
        new = done | 1 << v
        freed = []
        for c in self.touched[v]:
            if c not in self.permanent and not self.pending[c] & ~new:
                freed.append(c)
                after -= self.current(c, new)
        return during, after, freed

    def peak(self, order: Sequence[int], start: int = 0) -> int:
        """Peak bytes of running ``order`` (node indices) after the nodes in ``start``."""
        done, live, peak = start, self.live(start), 0
        for v in order:
            during, live, _ = self.step(done, live, v)
            done |= 1 << v
            peak = max(peak, during)
        return peak

    def node_bounds(self, nodes: Sequence[int]) -> list[tuple[int, int, int, int]]:
        """For a problem without aliasing, per node ``u`` of ``nodes``: (bit of u,
        ``base_u``, a mask ``V_u``, the fixed part's mask) such that, after any set S of
        scheduled nodes without u, u's step needs at least ``base_u + weight(V_u & S)``.

        Why: a tensor t (t != u) is live while u runs if t has run before u and one of t's
        readers runs at u or after it. Both hold, whatever the order, when t is an ancestor of
        u or already in S, and a reader of t is u or one of u's descendants (those all run at
        u or later). Permanent tensors are live from their producer on. So with
        M_u = {t != u : t permanent, or t has a reader in u's descendants-or-self}, the step of
        u holds at least size(u) + scratch(u) + weight(M_u & (S | ancestors(u))); the part in
        ancestors(u) is fixed (``base_u``), the rest is ``V_u = M_u & ~ancestors(u)``.
        """
        n = len(self)
        above = [0] * n  # strict ancestors
        for v in range(n):
            mask = 0
            for p in self.preds[v]:
                mask |= above[p] | 1 << p
            above[v] = mask
        perm = 0
        for t in self.permanent:
            perm |= 1 << t
        weigh = _weigher(self.size)
        out = []
        for u in nodes:
            down = self.below[u]
            m = perm
            # the readers of t in `down`: t is a predecessor of some node in `down`
            d = down
            while d:
                low = d & -d
                d ^= low
                m |= self.pred_mask[low.bit_length() - 1]
            m &= ~(1 << u)
            base = self.size[u] + self.scratch[u] + weigh(m & above[u])
            out.append((1 << u, base, m & ~above[u], m & above[u]))
        return out

    def local_need(self, v: int) -> int:
        """Bytes v needs whatever the order: its distinct input buffers, its output, its scratch."""
        held: dict[int, int] = {}
        for p in self.preds[v]:
            held[self.buf[p]] = max(held.get(self.buf[p], 0), self.size[p])
        held[self.buf[v]] = max(held.get(self.buf[v], 0), self.size[v])
        return sum(held.values()) + self.scratch[v]


def dag_problem(graph: nx.DiGraph, sizes: dict, order: Sequence | None = None, outputs: Sequence = ()) -> Problem:
    """A :class:`Problem` for a plain DAG: one new buffer per node (no aliasing)."""
    import networkx as nx

    order = list(order) if order is not None else list(nx.topological_sort(graph))
    index = {name: i for i, name in enumerate(order)}
    preds = [sorted(index[p] for p in graph.predecessors(name)) for name in order]
    return Problem(
        names=[str(n) for n in order], preds=preds, size=[int(sizes[n]) for n in order],
        buf=list(range(len(order))), scratch=[0] * len(order), permanent={index[o] for o in outputs},
    )


def peak_of(problem: Problem, order: Sequence[int], start: int = 0) -> int:
    """Peak bytes of running ``order`` (node indices) after the nodes in ``start``."""
    return problem.peak(order, start)


def check_order(problem: Problem, order: Sequence[int], start: int = 0, nodes: Sequence[int] | None = None) -> None:
    """ValueError unless ``order`` is a topological order of ``nodes`` (all nodes by default)."""
    expected = set(range(len(problem))) if nodes is None else set(nodes)
    if len(order) != len(expected) or set(order) != expected:
        raise ValueError("the order must list every node exactly once")
    done = start
    for v in order:
        if problem.pred_mask[v] & ~done:
            missing = [problem.names[p] for p in problem.preds[v] if not done >> p & 1]
            raise ValueError(f"{problem.names[v]} runs before its input {missing[0]}")
        done |= 1 << v


# ---------------------------------------------------------------------- heuristics
def _greedy(problem: Problem, nodes: Sequence[int], start: int, key: Callable) -> list[int]:
    """List scheduling: among ready nodes, run the one with the smallest ``key``."""
    done, live, order = start, problem.live(start), []
    todo = set(nodes)
    while todo:
        ready = [v for v in todo if not problem.pred_mask[v] & ~done]
        best = min(ready, key=lambda v: key(problem, done, live, v))
        _, live, _ = problem.step(done, live, best)
        done |= 1 << best
        order.append(best)
        todo.remove(best)
    return order


def _min_after(problem, done, live, v):
    during, after, _ = problem.step(done, live, v)
    return (after, during, v)  # free the most first (the classic "reduce live set" rule)


def _min_during(problem, done, live, v):
    during, after, _ = problem.step(done, live, v)
    return (during, after, v)  # keep this step small


def _depth_first(problem, done, live, v):
    return (-max(problem.preds[v], default=-1), v)  # consume the newest tensor first (DFS-like)


HEURISTICS: dict[str, Callable] = {
    "greedy_free": _min_after,
    "greedy_step": _min_during,
    "depth_first": _depth_first,
}


def heuristic_order(problem: Problem, name: str, nodes: Sequence[int] | None = None, start: int = 0) -> list[int]:
    if name not in HEURISTICS:
        raise ValueError(f"unknown order {name!r} (known: program, optimal, {', '.join(HEURISTICS)})")
    nodes = list(range(len(problem))) if nodes is None else list(nodes)
    return _greedy(problem, nodes, start, HEURISTICS[name])


# ---------------------------------------------------------------------- exact search
@dataclass
class SearchResult:
    order: list[int]
    peak: int
    optimal: bool  # proved (every segment searched to the end)
    lower_bound: int
    segments: int
    states: int  # states expanded, all segments together
    method: str

    @property
    def gap(self) -> int:
        return self.peak - self.lower_bound


def cut_points(problem: Problem) -> list[int]:
    """Positions ``i`` of the program order after which exactly one buffer is live, the
    one node ``i`` wrote (the held input aside), every later node depends on ``i``, and
    every buffer still live there was written by ``i`` or its ancestors. Every order can
    then be rearranged to run all nodes up to ``i`` first without raising its peak (the
    steps up to ``i`` hold no more than before; every later step already ran after ``i``
    and its ancestors, so it held the buffers live at the cut anyway), so the search
    splits there. (Without the last two conditions a permanent output nothing reads, or
    a held input that is not a source of everything, would be made live too early.)"""
    n = len(problem)
    last_need = {}  # buffer -> last position that writes or reads it
    for v in range(n):
        for c in {problem.buf[p] for p in problem.preds[v]} | {problem.buf[v]}:
            last_need[c] = v
    opened: dict[int, int] = {}  # live buffers (not permanent from position 0) -> their end
    cuts = []
    for i in range(n):
        b = problem.buf[i]
        end = float("inf") if b in problem.permanent else last_need[b]
        opened[b] = end
        for c in [c for c, e in opened.items() if e <= i]:
            del opened[c]
        crossing = {c for c in opened if not (c in problem.permanent and problem.members[c][0] == 0)}
        if i < n - 1 and crossing == {b} and problem.below[i] >> (i + 1) == (1 << (n - i - 1)) - 1 and all(
                problem.below[m] >> i & 1 for c in opened for m in problem.members[c] if m <= i):
            cuts.append(i)
    return cuts


def _segments(problem: Problem, decompose: bool) -> list[list[int]]:
    n = len(problem)
    bounds = [-1, *(cut_points(problem) if decompose else []), n - 1]
    return [list(range(a + 1, b + 1)) for a, b in zip(bounds, bounds[1:]) if b > a]


def _dp(problem: Problem, nodes: list[int], start: int, bound: int | None, use_lower: bool,
        deadline: float | None, max_states: int | None) -> tuple[list[int] | None, int, bool]:
    """Dynamic programme over sets of scheduled nodes (level by level, one entry per set,
    keeping the smallest peak). With ``bound``, states whose peak (or lower bound) reaches
    it are dropped, so ``None`` means no order beats ``bound``. Returns (order or None,
    states expanded, finished)."""
    need = sorted(((problem.local_need(v), v) for v in nodes), reverse=True)
    level = {start: (0, problem.live(start))}
    parents: list[dict[int, tuple[int, int]]] = []
    expanded = 0
    for _ in nodes:
        nxt: dict[int, tuple[int, int]] = {}
        back: dict[int, tuple[int, int]] = {}
        for done, (peak, live) in level.items():
            expanded += 1
            if deadline is not None and expanded % 256 == 0 and time.process_time() > deadline:
                return None, expanded, False
            if max_states is not None and expanded > max_states:
                return None, expanded, False
            for v in nodes:
                if done >> v & 1 or problem.pred_mask[v] & ~done:
                    continue
                during, after, _ = problem.step(done, live, v)
                new_peak = max(peak, during)
                new = done | 1 << v
                if use_lower:
                    # the largest local need of a node still to run bounds any completion
                    for value, u in need:
                        if not new >> u & 1:
                            new_peak_lb = max(new_peak, value)
                            break
                    else:
                        new_peak_lb = new_peak
                else:
                    new_peak_lb = new_peak
                if bound is not None and new_peak_lb >= bound:
                    continue
                seen = nxt.get(new)
                if seen is None or new_peak < seen[0]:
                    nxt[new] = (new_peak, after)
                    back[new] = (done, v)
        parents.append(back)
        level = nxt
        if not level:
            return None, expanded, True
    (final,) = level
    order = []
    state = final
    for back in reversed(parents):
        state, v = back[state]
        order.append(v)
    return order[::-1], expanded, True


def _weigher(size: Sequence[int]) -> Callable[[int], int]:
    """``mask -> total size of the nodes in it``: one popcount when all sizes agree, else
    byte-wise table look-ups."""
    if len(set(size)) <= 1:
        unit = size[0] if size else 0
        return lambda mask: mask.bit_count() * unit
    tables = []
    for base in range(0, len(size), 8):
        chunk = size[base:base + 8]
        table = [0] * 256
        for byte in range(1, 256):
            low = (byte & -byte).bit_length() - 1
            table[byte] = table[byte & (byte - 1)] + (chunk[low] if low < len(chunk) else 0)
        tables.append(table)

    def weigh(mask: int) -> int:
        total = 0
        for table in tables:
            if not mask:
                break
            total += table[mask & 255]
            mask >>= 8
        return total
    return weigh


def _best_first(problem: Problem, nodes: list[int], start: int, bound: int | None, lower: int,
                deadline: float | None, max_states: int | None) -> tuple[list[int] | None, int, bool]:
    """Bottleneck shortest path over sets of scheduled nodes (A*-style). A state S carries
    ``f(S)``: the smallest, over the ways found to reach S, of the largest of (a) the peak of
    the steps so far and (b) ``h`` of every state on the way, where ``h(T)`` is a lower
    bound on the peak of any completion of T (``lower``; for problems without aliasing also
    the per-node bound of :meth:`Problem.node_bounds` and "live bytes + the smallest next step").
    Since ``h`` of a state on an order never exceeds that order's peak from it, the largest
    ``h`` along an order is at most its peak, so the bottleneck cost of a complete order is
    exactly its peak; all edge costs are "max" costs, so Dijkstra's argument holds and the
    first complete set to leave the heap carries an optimal order. Only states with
    ``f < optimum`` (and some at it) are expanded; ``f`` grows monotonically along orders,
    and states whose ``f`` reaches ``bound`` are dropped (``None`` then means nothing beats
    it). Keeping one (smallest) ``f`` per set is exact: the cost of a completion is
    ``max(f(S), cost of the rest)``, and the rest depends only on S.

    Returns (order or None, states expanded, finished, a lower bound on the segment's
    optimum): the key of the last state popped, since every order's states carry keys at
    most its peak and the heap gives them out in increasing key.

    Reduction (forced move): a ready node v whose step stays within ``f(S)`` and which does
    not increase the live bytes is run at once, alone. Take any completion of S and move v
    to its front. Every state in between gains v: its live bytes change by size(v) minus
    what v frees there, and what v frees can only grow as more nodes have run (an input of
    v is freed once all its readers have run), so no live count and no later step rises;
    v's own step is within f(S) <= the cost of any completion through S; and the ``h`` of
    each new state is at most the peak of the rearranged rest, itself at most the original
    cost. So some optimal completion of S starts with v."""
    import heapq

    target = start
    for v in nodes:
        target |= 1 << v
    segment = target & ~start
    n = len(problem)
    plain = all(problem.buf[v] == v for v in range(n))
    succ_mask = [sum(1 << s for s in ss) for ss in problem.succs]
    if plain:
        bounds = problem.node_bounds(nodes)
        weigh = _weigher(problem.size)
        unit = len(set(problem.size)) <= 1 and not any(problem.scratch)
        unit_size = problem.size[0]
        first_step = [problem.size[v] + problem.scratch[v] for v in range(n)]
        # what v's step may free: (the nodes the tensor waits for, its size)
        frees = []
        for v in range(n):
            items = []
            for c in problem.touched[v]:
                if c not in problem.permanent:
                    items.append((problem.pending[c], problem.size[c]))
            frees.append(items)
        size, scratch = problem.size, problem.scratch
        # most promising first, so that the scan can stop once no node can beat the bound
        bounds.sort(key=lambda item: -(item[1] + weigh(item[2])))
        bounds = [(bit, base, var, base + weigh(var)) for bit, base, var, _ in bounds]
    else:
        bounds = []

    def estimate(new: int, after: int, ready: int, floor: int) -> int:
        """h(new), a lower bound on the peak of any completion of ``new``, or any value
        <= ``floor`` when h(new) <= ``floor``."""
        h = max(lower, floor)
        if not plain:
            return h
        if ready:  # the next step holds everything live now plus its own output
            if unit:
                x = after + size[0]
            else:
                x = None
                r = ready
                while r:
                    low = r & -r
                    r ^= low
                    s = first_step[low.bit_length() - 1]
                    if x is None or s < x:
                        x = s
                x += after
            if x > h:
                h = x
        for bit, base, var, most in bounds:
            if most <= h:
                break  # sorted by ``most``: no later node can raise h
            if not new & bit:
                x = base + ((var & new).bit_count() * unit_size if unit else weigh(var & new))
                if x > h:
                    h = x
        return h

    best = {start: lower}
    back: dict[int, tuple[int, int]] = {}
    # per state: [live bytes, ready nodes as a bit mask (updated from the successors of the
    # nodes just run), h (None until the state is first popped)]
    start_live = problem.live(start)
    start_ready = sum(1 << v for v in nodes if not problem.pred_mask[v] & ~start)
    info = {start: [start_live, start_ready, None]}
    best[start] = estimate(start, start_live, start_ready, lower)
    pred_mask = problem.pred_mask
    limit = bound if bound is not None else 1 << 62
    heap = [(best[start], 0, start)]
    closed = -1  # best[state] once it is expanded
    expanded = 0
    while heap:
        key, _, done = heapq.heappop(heap)
        if key != best[done]:
            continue  # stale (best[done] is the key of the state's latest push) or expanded
        state_info = info[done]
        live, ready, h = state_info
        if plain and h is None:
            # h, or any value <= key when h is no larger (the state is then expanded now)
            h = state_info[2] = estimate(done, live, ready, key)
            if h > key:  # not yet at its turn: back on the heap at its bound
                best[done] = h
                if h < limit:
                    heapq.heappush(heap, (h, -(done.bit_count()), done))
                continue
        best[done] = closed
        if done == target:
            order, state = [], done
            while state != start:
                state, v = back[state]
                order.append(v)
            return order[::-1], expanded, True, key
        expanded += 1
        if deadline is not None and expanded % 256 == 0 and time.process_time() > deadline:
            return None, expanded, False, key
        if max_states is not None and expanded > max_states:
            return None, expanded, False, key
        moves = []  # (node, its step, live bytes after it)
        pending = ready
        while pending:
            low = pending & -pending
            pending ^= low
            v = low.bit_length() - 1
            if plain:
                during = live + size[v] + scratch[v]
                after = live + size[v]
                new = done | low
                for waits, s in frees[v]:
                    if not waits & ~new:
                        after -= s
            else:
                during, after, _ = problem.step(done, live, v)
            if during <= key and after <= live:
                moves = [(v, during, after)]
                break
            moves.append((v, during, after))
        for v, during, after in moves:
            new_key = key if during <= key else during
            if new_key >= limit:
                continue
            new = done | 1 << v
            if new_key >= best.get(new, limit):
                continue  # no better than before, or already expanded
            new_info = info.get(new)
            if new_info is None:
                now_ready = ready & ~new
                candidates = succ_mask[v] & segment
                while candidates:
                    low = candidates & -candidates
                    candidates ^= low
                    if not pred_mask[low.bit_length() - 1] & ~new:
                        now_ready |= low
                info[new] = [after, now_ready, None]
                h = None
            else:
                h = new_info[2]  # worked out when the state is first popped
            if h is not None and h > new_key:
                new_key = h
                if new_key >= limit or new_key >= best.get(new, limit):
                    continue
            best[new] = new_key
            back[new] = (done, v)
            heapq.heappush(heap, (new_key, -(new.bit_count()), new))
    return None, expanded, True, limit


QUICK_STATES = 4000  # best-first states tried before the vectorized search takes over
VECTOR_STATES_PER_STATE = 32  # vectorized sets allowed per best-first state of ``max_states`` (8 B each kept)


def exact_order(problem: Problem, *, decompose: bool = True, prune: bool = True, time_limit: float | None = None,
                max_states: int | None = 2_000_000, vectorized: bool | None = None,
                reduce: bool = True, progress: Callable[[int, int, int, int], None] | None = None) -> SearchResult:
    """The order with the lowest peak, searched segment by segment between cut points.

    ``prune`` seeds each segment with the best heuristic's peak as the bound and drops
    states by a lower bound; without it this is the straightforward DP. A segment that
    runs out of ``time_limit`` or ``max_states`` keeps the best order found so far (at worst
    the best heuristic's), and the result is then not proved optimal: ``lower_bound`` is
    then a certified bound (the largest over segments of the value the segment's search
    proved no order goes below) and ``gap`` says how far the order may be from optimal.
    ``time_limit`` is CPU seconds of this process (``time.process_time``), so a busy
    machine does not shorten the search.

    ``vectorized`` (with ``prune``) picks the search of each segment; both are exact:
    * ``None`` (default): for plain problems (no aliasing) whose sizes are all equal (and
      scratch a multiple of it), :func:`_best_first` gets ``QUICK_STATES`` states and, if
      it does not finish in them, the segment is searched by
      :func:`archcalc.analysis.schedule_vectorized.vectorized_search` (NumPy, level by
      level, bisection on a budget, any number of nodes); everything else by
      :func:`_best_first`. (With mixed sizes the budgets take many values and the
      best-first search is faster.)
    * ``True``: the vectorized search for every plain segment.
    * ``False``: :func:`_best_first` only.

    ``progress(done, segments, upper, lower)``, when given, is called before each segment
    and at the end with the segments finished, their number, the best peak known so far
    (the best heuristic order of the whole graph until the search ends) and the certified
    lower bound so far (the largest single-step need, raised by each searched segment).
    The vectorized search counts every set of every budget it tries, each far cheaper than
    a best-first state, so its limit is ``max_states * VECTOR_STATES_PER_STATE``.
    ``reduce`` lets the vectorized search run single-consumer chains as one move
    (:func:`archcalc.analysis.schedule_vectorized.chain_moves`); ``False`` is for the tests.
    """
    # imported here so that NumPy loads only when a search runs (this module's one-way
    # dependency: schedule_vectorized never imports schedule)
    from archcalc.analysis import schedule_vectorized

    applicable, worthwhile = schedule_vectorized.applicable, schedule_vectorized.worthwhile
    deadline = None if time_limit is None else time.process_time() + time_limit
    order: list[int] = []
    start, proved, states, segments = 0, True, 0, _segments(problem, decompose)
    lower = max((problem.local_need(v) for v in range(len(problem))), default=0)
    if progress is not None:
        upper = min(peak_of(problem, o) for o in
                    [list(range(len(problem))), *(heuristic_order(problem, h) for h in HEURISTICS)])
    for done, nodes in enumerate(segments):
        if progress is not None:
            progress(done, len(segments), upper, lower)
        best = None
        if prune:
            candidates = [nodes] + [heuristic_order(problem, h, nodes, start) for h in HEURISTICS]
            best = min(candidates, key=lambda o: peak_of(problem, o, start))
            bound = peak_of(problem, best, start)
            seg_lower = max(problem.local_need(v) for v in nodes)
            if seg_lower >= bound:
                found, expanded, finished, low = [], 0, True, bound
            elif vectorized is False or not applicable(problem, nodes) or (
                    vectorized is None and not worthwhile(problem)):
                found, expanded, finished, low = _best_first(problem, nodes, start, bound, seg_lower, deadline,
                                                             max_states)
            else:
                found, expanded, finished, low = None, 0, False, seg_lower
                if vectorized is None:  # small searches finish sooner without NumPy's per-call cost
                    quick = QUICK_STATES if max_states is None else min(max_states, QUICK_STATES)
                    found, expanded, finished, low = _best_first(problem, nodes, start, bound, seg_lower, deadline,
                                                                 quick)
                if not finished and (deadline is None or time.process_time() <= deadline):
                    found, more, finished, low = schedule_vectorized.vectorized_search(
                        problem, nodes, start, bound, max(low, seg_lower), deadline,
                        None if max_states is None else max_states * VECTOR_STATES_PER_STATE, reduce)
                    expanded += more
            if finished:
                low = peak_of(problem, found, start) if found else bound
        else:
            found, expanded, finished = _dp(problem, nodes, start, None, False, deadline, max_states)
            low = peak_of(problem, found, start) if finished else max(problem.local_need(v) for v in nodes)
        states += expanded
        if found and (best is None or peak_of(problem, found, start) < peak_of(problem, best, start)):
            order += found
        elif best is not None:
            order += best
        else:  # the straightforward DP ran out: fall back to program order
            order += nodes
        proved = proved and finished
        lower = max(lower, low)
        for v in nodes:
            start |= 1 << v
    peak = peak_of(problem, order)
    if progress is not None:
        progress(len(segments), len(segments), peak, peak if proved else min(lower, peak))
    method = ("exact" if proved else "best order found (search limit reached)") + (
        ", cut-point decomposition" if decompose else "") + (", bound+lower-bound pruning" if prune else "")
    return SearchResult(order=order, peak=peak, optimal=proved, lower_bound=peak if proved else min(lower, peak),
                        segments=len(segments), states=states, method=method)


def randwire_dag(nodes: int, k: int = 4, p: float = 0.75, seed: int = 0) -> nx.DiGraph:
    """A RandWire cell (Xie et al. 2019): an undirected Watts-Strogatz WS(nodes, k, p) graph
    with every edge oriented from the lower node index to the higher, plus a cell input
    feeding the nodes without inputs and a cell output reading the nodes without outputs."""
    import networkx as nx

    ws = nx.watts_strogatz_graph(nodes, k, p, seed=seed)
    dag = nx.DiGraph()
    dag.add_nodes_from(range(nodes))
    dag.add_edges_from((min(a, b), max(a, b)) for a, b in ws.edges)
    sources = [v for v in range(nodes) if dag.in_degree(v) == 0]
    sinks = [v for v in range(nodes) if dag.out_degree(v) == 0]
    dag.add_edges_from(("in", v) for v in sources)
    dag.add_edges_from((v, "out") for v in sinks)
    return dag
