"""A NumPy exact search for the minimum-peak order of a segment of a small plain problem.

Used by :func:`archcalc.analysis.schedule.exact_order` for segments of problems with at most
64 nodes and no aliasing (``buf[v] == v`` for every v); scratch and permanent buffers are
handled exactly as :class:`~archcalc.analysis.schedule.Problem` defines them. Each set of
scheduled nodes is one ``uint64`` bit mask (absolute node bits, the segment's start set
included), so a whole level of the search is a few arrays.

The search answers feasibility questions, "is there an order of the segment whose every
step holds at most ``B`` bytes?", for ``B = lower, lower + 1, ...`` (only values some step
can take are tried) up to ``bound - 1``. The first feasible ``B`` is the optimum, since every
smaller one was proved infeasible, and its order is returned. The feasibility check goes
level by level (level k: the sets of k segment nodes); a set is kept when some order reaches
it with every step within ``B`` and no lower bound on its completions exceeds ``B``.

Why each rule is exact (a completion of S is an order of the segment's remaining nodes):
* **One entry per set.** Whether S has a completion within ``B`` depends only on S (the
  live bytes after S depend only on S), so which way S was reached does not matter.
* **Step pruning.** A child whose step exceeds ``B`` lies on no order within ``B``.
* **Lower bounds.** A set is dropped when some node u still to run must hold more than
  ``B`` while it runs, whatever the order (the per-node bound of
  :func:`archcalc.analysis.schedule._node_bounds`: ``base_u + weight(V_u & S)``), or when
  live(S) plus the smallest own need (output + scratch) of a node still to run exceeds
  ``B`` (the next step holds everything live now plus its own output and scratch). Neither
  drops a set that has a completion within ``B``.
* **Forced move.** When a ready v of S has a step within ``B`` and does not increase the
  live bytes, only S + v is generated from S. If S has a completion within ``B``, moving v
  to its front gives one that starts with v: every state in between gains v, its live bytes
  change by size(v) minus what v frees there, which is at least what v frees at S (an input
  is freed once all its readers have run, and more have run later), so no live count and
  no later step rises, and v's own step is within ``B``.
So by induction over the levels, a set with a completion within ``B`` stays at every level
while the root has one, and every order read back from the last level keeps every step
within ``B`` (each of its steps was checked). Feasible means an order within ``B`` exists.
"""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np

MAX_NODES = 64


def applicable(problem, nodes: Sequence[int]) -> bool:
    """Plain (no aliasing) problems of at most 64 nodes."""
    n = len(problem)
    return 0 < n <= MAX_NODES and len(nodes) > 1 and all(problem.buf[v] == v for v in range(n))


def worthwhile(problem) -> bool:
    """All sizes equal and every scratch a multiple of it: every step and bound is then a
    multiple of one unit, so the bisection tries few budgets."""
    unit = problem.size[0] if len(problem) else 0
    return unit > 0 and all(s == unit for s in problem.size) and all(s % unit == 0 for s in problem.scratch)


def _popcount_weigher(size: Sequence[int]):
    """``uint64 array -> int64 array`` of the total size of the nodes in each mask."""
    if len(set(size)) <= 1:
        unit = int(size[0]) if size else 0
        return lambda masks: np.bitwise_count(masks).astype(np.int64) * unit
    tables = []
    for base in range(0, len(size), 8):
        chunk = size[base:base + 8]
        table = np.zeros(256, dtype=np.int64)
        for byte in range(1, 256):
            low = (byte & -byte).bit_length() - 1
            table[byte] = table[byte & (byte - 1)] + (chunk[low] if low < len(chunk) else 0)
        tables.append((np.uint64(base), table))

    def weigh(masks):
        total = np.zeros(masks.shape, dtype=np.int64)
        for shift, table in tables:
            total += table[((masks >> shift) & np.uint64(255)).astype(np.intp)]
        return total
    return weigh


class _Segment:
    """Per-node arrays of one segment, shared by every feasibility check."""

    def __init__(self, problem, nodes: list[int], start: int):
        from archcalc.analysis.schedule import _node_bounds

        self.problem = problem
        self.nodes = list(nodes)
        self.start = start
        self.start_live = problem.live(start)
        u64 = np.uint64
        self.bit = {v: u64(1 << v) for v in nodes}
        self.pred = {v: u64(problem.pred_mask[v]) for v in nodes}
        self.own = {v: problem.size[v] + problem.scratch[v] for v in nodes}
        self.min_own = min(self.own.values())
        # what v's step may free: (the nodes the buffer waits for, its size)
        self.frees = {}
        for v in nodes:
            items = []
            for c in problem.touched[v]:
                if c not in problem.permanent:
                    items.append((u64(problem.pending[c]), problem.size[c]))
            self.frees[v] = items
        weigh = _popcount_weigher(problem.size)
        self.weigh = weigh
        bounds = []
        for bit, base, var, _ in _node_bounds(problem, nodes):
            most = base + int(weigh(np.array([var], dtype=np.uint64))[0])
            bounds.append((most, u64(bit), base, u64(var)))
        bounds.sort(key=lambda item: -item[0])
        self.bounds = bounds

    def root_bound(self) -> int:
        """The lower bounds above, at the segment's start."""
        s = np.array([self.start], dtype=np.uint64)
        h = self.start_live + self.min_own
        for most, bit, base, var in self.bounds:
            h = max(h, base + int(self.weigh(var & s)[0]))
        return h

    def feasible(self, budget: int, deadline: float | None, max_states: int | None, counter: list[int]):
        """An order of the segment whose every step holds at most ``budget`` bytes, or
        ``None`` when there is none; ``False`` when the deadline or state limit struck."""
        self.next_budget = 1 << 62  # the smallest value > budget that pruned anything
        states = np.array([self.start], dtype=np.uint64)
        live = np.array([self.start_live], dtype=np.int64)
        history = []  # per level: (parent index, node) of each kept set
        last = len(self.nodes) - 1
        zero = np.uint64(0)
        for level in range(len(self.nodes)):
            counter[0] += len(states)
            if deadline is not None and time.perf_counter() > deadline:
                return False
            if max_states is not None and counter[0] > max_states:
                return False
            count = len(states)
            forced = np.full(count, -1, dtype=np.int64)
            chunks = []
            for v in self.nodes:
                bit, pred = self.bit[v], self.pred[v]
                # ready: not run, every input run; step within the budget
                ready = ((states & bit) == zero) & ((states & pred) == pred)
                within = live <= budget - self.own[v]
                over = ready & ~within
                if over.any():
                    self.next_budget = min(self.next_budget, int(live[over].min()) + self.own[v])
                idx = np.flatnonzero(ready & within)
                if not idx.size:
                    continue
                before = live[idx]
                new = states[idx] | bit
                after = before + self.problem.size[v]
                for waits, size in self.frees[v]:
                    after -= size * ((new & waits) == waits)
                free_now = idx[(after <= before) & (forced[idx] < 0)]
                forced[free_now] = v
                chunks.append((idx, v, new, after))
            if not chunks:
                return None
            idx = np.concatenate([c[0] for c in chunks])
            node = np.concatenate([np.full(len(c[0]), c[1], dtype=np.int64) for c in chunks])
            new = np.concatenate([c[2] for c in chunks])
            after = np.concatenate([c[3] for c in chunks])
            keep = (forced[idx] < 0) | (forced[idx] == node)
            if not keep.all():
                idx, node, new, after = idx[keep], node[keep], new[keep], after[keep]
            new, first = np.unique(new, return_index=True)
            idx, node, after = idx[first], node[first], after[first]
            if level < last:
                bad = after > budget - self.min_own
                if bad.any():
                    self.next_budget = min(self.next_budget, int(after[bad].min()) + self.min_own)
                for most, bit, base, var in self.bounds:
                    if most <= budget:
                        break  # sorted by ``most``: no later node can exceed the budget
                    need = base + self.weigh(var & new)
                    over = ((new & bit) == zero) & (need > budget)
                    if over.any():
                        self.next_budget = min(self.next_budget, int(need[over].min()))
                        bad |= over
                if bad.any():
                    good = ~bad
                    new, idx, node, after = new[good], idx[good], node[good], after[good]
                    if not len(new):
                        return None
            history.append((idx, node))
            states, live = new, after
        order = []
        at = 0
        for idx, node in reversed(history):
            order.append(int(node[at]))
            at = int(idx[at])
        return order[::-1]


def vectorized_search(problem, nodes: list[int], start: int, bound: int | None, lower: int,
                      deadline: float | None, max_states: int | None) -> tuple[list[int] | None, int, bool]:
    """Same contract as ``_best_first``: (an optimal order of ``nodes`` after ``start`` whose
    peak is below ``bound``, or ``None`` when no order beats ``bound``; sets expanded;
    finished). The optimum lies in [``low``, ``high``]: ``low`` starts at the larger of
    ``lower`` and the root's lower bound and rises past every infeasible budget, ``high``
    starts at ``bound - 1`` and falls to one below the peak of every order found; the budget
    tried is their midpoint (a bisection). When they meet, the last order found is optimal;
    if none was found, no order beats ``bound``."""
    from archcalc.analysis.schedule import peak_of

    seg = _Segment(problem, nodes, start)
    low = max(lower, seg.root_bound())  # no order has a peak below ``low``
    high = (bound if bound is not None else 1 << 62) - 1  # the largest peak still wanted
    counter = [0]
    best = None
    while low <= high:
        # bisection while an upper end is known, else one budget at a time upward
        budget = low if high >= 1 << 61 else (low + high) // 2
        found = seg.feasible(budget, deadline, max_states, counter)
        if found is False:
            return None, counter[0], False
        if found is not None:
            best, high = found, peak_of(problem, found, start) - 1
        else:
            # No order has a peak in (budget, next_budget): follow such an order from the
            # root (moving forced nodes to the front as above); its first set that this
            # check did not keep was dropped for a step or lower bound above ``budget``
            # yet within its peak, and ``next_budget`` is the smallest such value.
            low = seg.next_budget
    # now every peak below ``low`` is impossible and ``best`` (if any) has peak ``low``
    return best, counter[0], True
