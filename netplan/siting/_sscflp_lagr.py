r"""Lagrangian relaxation of the assignment rows of the single-source CFLP.

With multipliers :math:`\lambda_i` on :math:`\sum_j x_{ij} = 1` the relaxation splits into one 0-1
knapsack per facility,

.. math::

    v_j(\lambda) = F_j + \min\Big\{\sum_i (c_{ij} - \lambda_i) x_{ij} :
    \sum_i q_i x_{ij} \le C_j,\ x_{ij} \in \{0,1\}\Big\},

and a covering knapsack over facilities that keeps the aggregate capacity cut
:math:`\sum_j C_j y_j \ge \sum_i q_i`:
:math:`L(\lambda) = \sum_i \lambda_i + \min\{\sum_j v_j y_j : \sum_j C_j y_j \ge D\}`
(Holmberg, Rönnqvist & Yuan 1999; Díaz & Fernández 2002). Both knapsacks are solved exactly by
dynamic programming when demands and capacities are integers (the published sets) and by their LP
relaxation otherwise, so :math:`L(\lambda)` is always a valid lower bound, at least as strong as
the LP of the strong formulation when exact. The multipliers follow Polyak subgradient steps
towards the best known plan cost; the iteration count is the deterministic work budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: largest knapsack capacity (in demand units) solved exactly by DP; above it the LP bound.
DP_MAX = 40_000


@dataclass
class LagrState:
    """Best multipliers and what the relaxation says at them.

    Attributes
    ----------
    lam
        (n,) multipliers of the best bound.
    bound
        Best Lagrangian lower bound (cost units).
    v
        (m,) facility subproblem values :math:`v_j` at ``lam`` (inf for forbidden sites).
    y
        (m,) bool, facilities open in the relaxed solution at ``lam``.
    x
        (n, m) bool, relaxed assignment at ``lam`` (customers may be served 0 or 2+ times).
    iters
        Subgradient iterations done.
    kernel
        (m,) bool, sites open in some relaxed solution of the second half of the iterations.
    """

    lam: np.ndarray
    bound: float
    v: np.ndarray
    y: np.ndarray
    x: np.ndarray
    iters: int
    kernel: np.ndarray | None = None


def _integral(a: np.ndarray) -> bool:
    return bool(np.all(np.abs(a - np.round(a)) < 1e-9))


def knapsack(profit: np.ndarray, weight: np.ndarray, cap: float,
             exact: bool) -> tuple[float, np.ndarray]:
    """Max-profit 0-1 knapsack of positive-profit items.

    Returns ``(value, take)`` where ``take`` is a bool array; with ``exact`` False (or a capacity
    above :data:`DP_MAX`) the value is that of the LP relaxation (an upper bound) and ``take`` the
    items packed whole by the greedy ratio order.
    """
    k = len(profit)
    take = np.zeros(k, dtype=bool)
    if k == 0 or cap <= 0:
        return 0.0, take
    if weight.sum() <= cap:
        take[:] = True
        return float(profit.sum()), take
    icap = int(np.floor(cap + 1e-9))
    if exact and icap <= DP_MAX:
        w = np.round(weight).astype(np.int64)
        best = np.zeros(icap + 1)
        keep = np.zeros((k, icap + 1), dtype=bool)
        for t in range(k):
            wt = w[t]
            if wt > icap:
                continue
            cand = best[:icap + 1 - wt] + profit[t]
            better = cand > best[wt:] + 1e-12
            keep[t, wt:] = better
            best[wt:] = np.where(better, cand, best[wt:])
        c = icap
        for t in range(k - 1, -1, -1):
            if keep[t, c]:
                take[t] = True
                c -= w[t]
        return float(best[icap]), take
    order = np.argsort(-profit / weight, kind="stable")
    room, val = cap, 0.0
    for t in order:
        if weight[t] <= room:
            take[t] = True
            room -= weight[t]
            val += profit[t]
        else:
            val += profit[t] * room / weight[t]
            break
    return val, take



def min_cover_dp(v: np.ndarray, units: np.ndarray, r: int) -> tuple[float, np.ndarray]:
    """Exact 0-1 min-cost cover by DP over capacity units: min :math:`\\sum v_k y_k` s.t.
    :math:`\\sum u_k y_k \\ge r` (``v >= 0``, ``units`` whole capacity units per item).
    Returns the cost (inf when the items cannot reach ``r``) and the chosen positions (bool)."""
    dp = np.full(r + 1, np.inf)
    dp[0] = 0.0
    keep = np.zeros((len(v), r + 1), dtype=bool)
    idx = np.arange(r + 1)
    for n in range(len(v)):
        new = dp[np.maximum(idx - int(units[n]), 0)] + v[n]
        better = new < dp - 1e-12
        keep[n] = better
        dp = np.where(better, new, dp)
    chosen = np.zeros(len(v), dtype=bool)
    if not np.isfinite(dp[r]):
        return math.inf, chosen
    c = r
    for n in range(len(v) - 1, -1, -1):
        if keep[n, c]:
            chosen[n] = True
            c = max(c - int(units[n]), 0)
    return float(dp[r]), chosen

def cover_knapsack(v: np.ndarray, cap: np.ndarray, need: float, forced: np.ndarray,
                   allowed: np.ndarray, exact: bool) -> tuple[float, np.ndarray]:
    """Min :math:`\\sum v_j y_j` s.t. :math:`\\sum C_j y_j \\ge` ``need``, forced sites open.

    Sites with negative value (and forced ones) always open; the remaining requirement is covered
    by DP over capacity (exact) or the LP ratio rule (a lower bound).
    """
    y = allowed & ((v < 0) | forced)
    val = float(v[y].sum())
    rest = need - float(cap[y].sum())
    if rest <= 1e-9:
        return val, y
    cand = np.flatnonzero(allowed & ~y)
    r = int(np.ceil(rest - 1e-9))
    if exact and r <= DP_MAX:
        cost, chosen = min_cover_dp(v[cand], np.round(cap[cand]).astype(int), r)
        if not math.isfinite(cost):
            return np.inf, y
        y[cand[chosen]] = True
        return val + cost, y
    order = cand[np.argsort(v[cand] / cap[cand], kind="stable")]
    for j in order:
        if rest <= 1e-9:
            break
        y[j] = True
        if cap[j] <= rest:
            val += v[j]
        else:
            val += v[j] * rest / cap[j]
        rest -= cap[j]
    return (val if rest <= 1e-9 else np.inf), y


def lp_knapsacks(prof: np.ndarray, q: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """LP-relaxation value of every column's knapsack (profits ``prof`` (n, m) >= 0) at once."""
    ratio = prof / np.maximum(q, 1e-12)[:, None]
    order = np.argsort(-ratio, axis=0, kind="stable")
    p = np.take_along_axis(prof, order, axis=0)
    w = np.where(p > 0, q[order], 0.0)
    cw = np.cumsum(w, axis=0)
    full = cw <= cap[None, :] + 1e-9
    val = (p * full).sum(axis=0)
    prev = np.where(full, cw, 0.0).max(axis=0)
    nxt = np.argmin(full, axis=0)          # first item that does not fit whole
    cols = np.arange(prof.shape[1])
    part = ~full[nxt, cols]
    frac = np.where(part, (cap - prev) / np.maximum(w[nxt, cols], 1e-12), 0.0)
    return val + np.clip(frac, 0.0, 1.0) * p[nxt, cols] * part


def evaluate(lam: np.ndarray, fixed: np.ndarray, cap: np.ndarray, q: np.ndarray,
             cost: np.ndarray, ok: np.ndarray, forced: np.ndarray,
             exact: bool, lazy: bool = True) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Lagrangian value at ``lam``: ``(L, v, y, x)`` (see module doc).

    With ``lazy`` the exact knapsack is solved only for sites whose LP-knapsack value could make
    them open or that the covering knapsack picks; the other ``v`` entries stay LP lower bounds,
    which leaves ``L`` exact (the chosen sites are all exact) and every ``v`` a valid bound.
    """
    n, m = cost.shape
    red = cost - lam[:, None]
    neg = ok & (red < 0)
    allowed = ok.any(axis=0) | forced
    v = np.where(allowed, fixed - lp_knapsacks(np.where(neg, -red, 0.0), q, cap), np.inf)
    done = np.zeros(m, dtype=bool)
    xs = np.zeros((n, m), dtype=bool)
    todo = allowed & ((v < 0) | forced | (not lazy))
    while True:
        for j in np.flatnonzero(todo & ~done):
            items = np.flatnonzero(neg[:, j])
            val, take = knapsack(-red[items, j], q[items], cap[j], exact)
            v[j] = fixed[j] - val
            xs[items[take], j] = True
            done[j] = True
        z, y = cover_knapsack(np.where(allowed, v, 0.0), cap, float(q.sum()), forced, allowed,
                              exact)
        if not np.any(y & ~done):
            break
        todo = y
    xs &= y[None, :]
    return float(lam.sum() + z), v, y, xs


def subgradient(fixed: np.ndarray, cap: np.ndarray, q: np.ndarray, cost: np.ndarray,
                ok: np.ndarray, forced: np.ndarray, upper: float, *, iters: int,
                lam0: np.ndarray | None = None, on_iter=None, stop=None) -> LagrState:
    """Polyak subgradient ascent on :math:`L(\\lambda)` for ``iters`` iterations.

    Parameters
    ----------
    upper
        Cost of a known plan (target of the step); ``inf`` uses 1.05 x the start bound.
    on_iter
        Optional ``callback(k, x_relaxed, y_relaxed, lam) -> float | None`` returning a better
        plan cost (a Lagrangian heuristic) to tighten the step target.
    stop
        Optional ``() -> bool`` safety stop (CPU clock); the iteration count is the work budget.
    """
    n, m = cost.shape
    exact = _integral(q) and _integral(cap)
    cmin = np.where(ok, cost, np.inf).min(axis=1)
    lam = cmin.copy() if lam0 is None else lam0.copy()
    best = None
    alpha, stall, k = 2.0, 0, 0
    kernel = np.zeros(m, dtype=bool)
    for k in range(iters):
        val, v, y, xs = evaluate(lam, fixed, cap, q, cost, ok, forced, exact)
        if 2 * k >= iters:
            kernel |= y
        if best is None or val > best.bound + 1e-9 * max(1.0, abs(val)):
            best = LagrState(lam.copy(), val, v, y, xs, k + 1)
            stall = 0
        else:
            stall += 1
            if stall >= 20:
                alpha, stall = alpha / 2, 0
        if on_iter is not None:
            got = on_iter(k, xs, y, lam)
            if got is not None:
                upper = min(upper, got)
        g = 1.0 - xs.sum(axis=1)
        norm = float(g @ g)
        if norm == 0.0:   # relaxed solution is feasible: optimal
            best = LagrState(lam.copy(), val, v, y, xs, k + 1)
            break
        target = upper if np.isfinite(upper) else abs(best.bound) * 1.05 + 1.0
        if target - best.bound <= 1e-9 * max(1.0, abs(target)) or alpha < 1e-5:
            break
        lam = lam + alpha * (target - val) / norm * g
        if stop is not None and stop():
            break
    best.iters = k + 1
    best.kernel = kernel | best.y
    return best
