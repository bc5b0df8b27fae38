r"""Lagrangian bound and Lagrangian branch-and-bound for the p-median (Beasley-style).

Relaxing the assignment rows :math:`\sum_j x_{ij} = 1` with multipliers :math:`\lambda_i` gives

.. math:: L(\lambda) = \sum_i \lambda_i + \min_{|S| = p} \sum_{j \in S} C_j, \qquad
          C_j = \sum_i \min(0,\; w_i d_{ij} - \lambda_i),

a valid lower bound for every :math:`\lambda` (the subproblem has the integrality property, so its
maximum equals the LP bound). Subgradient ascent (Polyak step towards the incumbent) improves it.

With the incumbent value ``UB`` the same numbers give *reduction tests*: a site outside the chosen
set whose forced opening raises the bound to the cutoff (:math:`L + C_j - C_{[p]} \ge` cutoff) is
closed; a chosen site whose forced closing does (:math:`L - C_j + C_{[p+1]} \ge` cutoff) is opened.
The branch-and-bound explores nodes best-bound first; a node fixes some sites open and others
closed, re-optimises :math:`\lambda` from its parent's multipliers, applies the tests and, if
still open, branches on the marginal chosen free site (the largest :math:`C_j` in the chosen
set): forced in, forced out. With one or two sites left to choose, the node is enumerated exactly. Every Lagrangian
subproblem's chosen set is also a feasible plan, evaluated as a primal heuristic.

This is strong when each open site serves many demands (small p relative to the candidates), where
the LP gap is spread over few sites; for large p the restricted MIP of :mod:`.median` is faster.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field

import numpy as np

from netplan.siting.heuristics import interchange

INF = math.inf
BIG = 1e18   # stands for an inf cost inside the Lagrangian (never below a multiplier)


@dataclass
class LagrangianState:
    """Incumbent and bookkeeping shared by the root bound and the branch-and-bound."""

    cost: np.ndarray            # (n, m) cost, inf = not allowed
    weights: np.ndarray         # (n,)
    p: int
    ub: float                   # incumbent Σ w·d
    best_open: np.ndarray       # incumbent's open sites
    integral: bool              # every finite w·d is an integer: bounds may be rounded up
    mip_gap: float = 1e-7
    k_nearest: int = 0          # > 0: sparse Lagrangian over each demand's k nearest sites
    wc: np.ndarray = field(init=False, repr=False)
    iterations: int = 0
    nodes: int = 0

    def __post_init__(self) -> None:
        wc = self.weights[:, None] * np.where(np.isfinite(self.cost), self.cost, BIG)
        m = wc.shape[1]
        self.sparse = 0 < self.k_nearest < m
        if self.sparse:
            # each demand's k smallest w·d (columns ``sidx``), and the next one: capping λ_i
            # there keeps every other pair out of min(0, w·d − λ), so only these pairs are
            # summed. Any λ gives a valid bound; the cap only limits how strong it can get.
            k = self.k_nearest
            part = np.argpartition(wc, k, axis=1)
            self.cap = np.take_along_axis(wc, part[:, k:k + 1], axis=1)[:, 0]
            self.sidx = part[:, :k]
            self.sval = np.take_along_axis(wc, self.sidx, axis=1)
            self.wc = np.empty((0, 0))
        else:
            self.wc = wc

    def second_smallest(self) -> np.ndarray:
        """Per demand, the second-smallest w·d (the smallest where only one is finite)."""
        vals = self.sval if self.sparse else self.wc
        two = np.partition(vals, min(1, vals.shape[1] - 1), axis=1)[:, :2]
        lam = np.where(two[:, -1] >= BIG, two[:, 0], two[:, -1])
        return np.minimum(lam, self.cap) if self.sparse else lam

    def cutoff(self) -> float:
        """A node whose bound reaches this value cannot hold a plan better than the incumbent
        (by 1 for integral data, by ``mip_gap`` relative otherwise)."""
        if not math.isfinite(self.ub):
            return INF
        tol = 1e-9 * abs(self.ub) + 1e-6
        if self.integral:
            return self.ub - 1.0 + tol
        return self.ub - max(self.mip_gap * abs(self.ub), 1e-9)

    def target(self) -> float:
        """Polyak step target: the incumbent, or a finite stand-in while there is none."""
        if math.isfinite(self.ub):
            return self.ub
        return float(np.sum(self.weights * np.where(np.isfinite(self.cost), self.cost, 0.0).max(axis=1))) + 1.0

    def evaluate(self, cols: np.ndarray) -> None:
        """Objective of opening ``cols``; becomes the incumbent when better."""
        v = float(self.weights @ self.cost[:, cols].min(axis=1))
        if v < self.ub and (not math.isfinite(self.ub) or v < self.ub - 1e-9 * max(1.0, abs(self.ub))):
            self.ub, self.best_open = v, np.sort(np.asarray(cols, dtype=int))


def subgradient(st: LagrangianState, fixed_open: np.ndarray, free: np.ndarray, lam: np.ndarray, *,
                iters: int, theta: float, stall_max: int = 8, deadline: float = INF
                ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Subgradient ascent of :math:`L(\\lambda)` with ``fixed_open`` forced open and only ``free``
    sites selectable.

    Returns the best bound, its multipliers, its :math:`C_j` over ``[fixed_open, free]`` (in that
    order) and the chosen local columns. Each iteration's chosen set is offered to the incumbent.
    """
    cols = np.concatenate([fixed_open, free]).astype(int)
    m = st.cost.shape[1]
    w_sub = st.sval if st.sparse else st.wc[:, cols]
    k, q = len(fixed_open), st.p - len(fixed_open)
    best, best_lam, best_c, best_pick = -INF, lam, np.zeros(len(cols)), np.arange(min(st.p, len(cols)))
    stall = 0
    for _ in range(iters):
        st.iterations += 1
        red = np.minimum(w_sub - lam[:, None], 0.0)
        if st.sparse:
            cj = np.bincount(st.sidx.ravel(), weights=red.ravel(), minlength=m)[cols]
        else:
            cj = red.sum(axis=0)
        if 0 < q < len(free):
            pick = np.concatenate([np.arange(k), k + np.argpartition(cj[k:], q - 1)[:q]])
        else:
            pick = np.arange(k + (q if q > 0 else 0))
        val = float(lam.sum() + cj[pick].sum())
        if val > best + 1e-12 * max(1.0, abs(best) if math.isfinite(best) else 1.0):
            best, best_lam, best_c, best_pick, stall = val, lam.copy(), cj, pick, 0
        else:
            stall += 1
            if stall >= stall_max:
                theta, stall = theta / 2, 0
        st.evaluate(cols[pick])
        if best >= st.cutoff() or theta < 1e-3 or time.perf_counter() > deadline:
            break
        if st.sparse:
            chosen = np.zeros(m, dtype=bool)
            chosen[cols[pick]] = True
            g = 1.0 - ((red < 0) & chosen[st.sidx]).sum(axis=1)
        else:
            g = 1.0 - (red[:, pick] < 0).sum(axis=1)
        norm = float(g @ g)
        if norm == 0:   # the relaxed solution is a plan: the bound is exact at this node
            break
        lam = lam + theta * (st.target() - val) / norm * g
        if st.sparse:
            lam = np.minimum(lam, st.cap)
    return best, best_lam, best_c, best_pick


def root_bound(st: LagrangianState, *, iters: int = 3000, deadline: float = INF
               ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Root Lagrangian bound from multipliers at each demand's second-nearest weighted cost;
    the best relaxed plan is then improved by interchange. Returns (bound, λ, C_j, picked)."""
    lam = st.second_smallest()
    m = st.cost.shape[1]
    out = subgradient(st, np.array([], dtype=int), np.arange(m), lam, iters=iters, theta=2.0,
                      stall_max=12, deadline=deadline)
    if time.perf_counter() < deadline:
        st.evaluate(interchange(st.cost, out[3], st.weights))
    return out


def reduce_sites(st: LagrangianState, bound: float, cj: np.ndarray, q: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Reduction tests over the free sites (``cj`` of the free sites only, ``q`` still to open).

    Returns boolean masks (close, open) over the free sites.
    """
    order = np.argsort(cj, kind="stable")
    cut = st.cutoff()
    close = np.zeros(len(cj), dtype=bool)
    opened = np.zeros(len(cj), dtype=bool)
    if q <= 0 or q >= len(cj):
        return close, opened
    last_in, first_out = cj[order[q - 1]], cj[order[q]]
    close = bound + cj - last_in >= cut
    close[order[:q]] = False
    opened[order[:q]] = bound - cj[order[:q]] + first_out >= cut
    return close, opened


def enumerate_last(st: LagrangianState, fixed: np.ndarray, free: np.ndarray, q: int) -> float:
    """Exact value of the best plan ``fixed`` + ``q`` (1 or 2) of ``free``, by enumeration;
    offers it to the incumbent and returns it."""
    base = st.cost[:, fixed].min(axis=1) if len(fixed) else np.full(st.cost.shape[0], INF)
    sub = np.minimum(st.cost[:, free], base[:, None])
    if q == 1:
        vals = st.weights @ sub
        j = int(np.argmin(vals))
        st.evaluate(np.append(fixed, free[j]))
        return float(vals[j])
    best, arg = INF, None
    for a in range(len(free) - 1):   # q == 2: one row of pairs (a, b > a) at a time
        vals = st.weights @ np.minimum(sub[:, a + 1:], sub[:, a:a + 1])
        if len(vals) and vals.min() < best:
            best, arg = float(vals.min()), (free[a], free[a + 1 + int(np.argmin(vals))])
    if arg is not None:
        st.evaluate(np.concatenate([fixed, arg]))
    return best


@dataclass
class BranchResult:
    """Outcome of :func:`branch_and_bound`: proven lower bound and whether the tree was closed."""

    bound: float
    complete: bool
    nodes: int


def branch_and_bound(st: LagrangianState, root_lam: np.ndarray, root_lb: float, *,
                     closed: np.ndarray | None = None, deadline: float = INF,
                     node_iters: int = 20) -> BranchResult:
    """Best-bound-first Lagrangian branch-and-bound from the root multipliers.

    ``closed`` masks sites already closed by the root reduction tests. The incumbent in ``st`` is
    improved in place. The returned bound is valid for the whole problem: the least bound over
    open nodes and over subtrees closed below the cutoff (the incumbent when the tree closes).
    """
    m = st.cost.shape[1]
    free0 = np.flatnonzero(~closed) if closed is not None else np.arange(m)
    heap: list = [(root_lb, 0, np.array([], dtype=int), free0, root_lam, 2.0, 3 * node_iters)]
    counter = 1
    closed_min = INF   # least bound of subtrees fathomed below the cutoff (non-integral data)

    def fathom(value: float) -> None:
        nonlocal closed_min
        closed_min = min(closed_min, value)

    while heap:
        node_lb, _, fixed, free, lam, theta, iters = heapq.heappop(heap)
        cut = st.cutoff()
        if node_lb >= cut:
            fathom(node_lb)
            continue
        if time.perf_counter() > deadline:
            heapq.heappush(heap, (node_lb, -1, fixed, free, lam, theta, iters))
            lb = min(min(h[0] for h in heap), closed_min, st.ub)
            return BranchResult(max(lb, root_lb), False, st.nodes)
        st.nodes += 1
        q = st.p - len(fixed)
        if not np.isfinite(st.cost[:, np.concatenate([fixed, free])]).any(axis=1).all():
            continue   # some demand reaches no site left in this subtree: infeasible
        if q == 0 or q >= len(free):
            cols = fixed if q == 0 else np.concatenate([fixed, free])
            if len(cols) == st.p:
                st.evaluate(cols)
                fathom(float(st.weights @ st.cost[:, cols].min(axis=1)))
            continue
        if q <= 2 and len(free) ** q * len(st.weights) <= 4_000_000:
            fathom(enumerate_last(st, fixed, free, q))
            continue
        val, lam, cj, _ = subgradient(st, fixed, free, lam, iters=iters, theta=theta,
                                      deadline=deadline)
        val = max(val, node_lb)
        cut = st.cutoff()
        if val >= cut:
            fathom(val)
            continue
        k = len(fixed)
        close, opened = reduce_sites(st, val, cj[k:], q)
        if close.any() or opened.any():
            fathom(cut)
            new_fixed = np.concatenate([fixed, free[opened]])
            new_free = free[~close & ~opened]
            if len(new_fixed) <= st.p <= len(new_fixed) + len(new_free):
                heapq.heappush(heap, (val, counter, new_fixed, new_free, lam, 1.0, node_iters))
                counter += 1
            continue
        # branch on the marginal chosen site (the q-th smallest C_j): in / out
        j_loc = int(np.argsort(cj[k:], kind="stable")[q - 1])
        rest = np.delete(free, j_loc)
        heapq.heappush(heap, (val, counter, np.append(fixed, free[j_loc]), rest, lam, 1.0, node_iters))
        heapq.heappush(heap, (val, counter + 1, fixed, rest, lam, 1.0, node_iters))
        counter += 2
    lb = min(closed_min, st.ub)
    return BranchResult(max(lb, root_lb) if math.isfinite(lb) else root_lb, True, st.nodes)
