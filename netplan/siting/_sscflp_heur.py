"""Primal side of the single-source CFLP engine: repair of relaxed solutions and local search.

A plan is ``assign`` (n,) int, the facility serving each customer; open facilities are those that
serve someone (plus ``forced`` ones, which pay their fixed cost regardless). Everything here is
deterministic (ties broken by index) and vectorised over customers x facilities.
"""

from __future__ import annotations

import numpy as np

BIG = 1e30


def plan_cost(assign: np.ndarray, cost: np.ndarray, fixed: np.ndarray,
              forced: np.ndarray) -> float:
    """Fixed cost of the used (or forced) facilities plus assignment cost."""
    used = np.zeros(len(fixed), dtype=bool)
    used[assign] = True
    used |= forced
    return float(fixed[used].sum() + cost[np.arange(len(assign)), assign].sum())


def feasible(assign: np.ndarray, q: np.ndarray, cap: np.ndarray, ok: np.ndarray) -> bool:
    """Every customer on an allowed pair and every capacity respected."""
    if np.any(assign < 0) or not np.all(ok[np.arange(len(assign)), assign]):
        return False
    load = np.bincount(assign, weights=q, minlength=len(cap))
    return bool(np.all(load <= cap + 1e-9))


def regret_fill(assign: np.ndarray, open_: np.ndarray, cost: np.ndarray, q: np.ndarray,
                cap: np.ndarray, ok: np.ndarray) -> np.ndarray | None:
    """Assign the customers with ``assign == -1`` to open facilities, largest regret first.

    Returns the completed assignment, or None when some customer fits nowhere.
    """
    a = assign.copy()
    load = np.bincount(a[a >= 0], weights=q[a >= 0], minlength=len(cap))
    todo = np.flatnonzero(a < 0)
    while len(todo):
        room = ok[todo] & open_[None, :] & (load[None, :] + q[todo, None] <= cap[None, :] + 1e-9)
        c = np.where(room, cost[todo], BIG)
        part = np.sort(c, axis=1)[:, :2] if c.shape[1] > 1 else np.hstack([c, np.full_like(c, BIG)])
        if np.any(part[:, 0] >= BIG):
            return None
        regret = np.minimum(part[:, 1], BIG / 2) - part[:, 0]
        t = int(np.lexsort((-q[todo], -regret))[0])
        i = todo[t]
        j = int(np.argmin(c[t]))
        a[i] = j
        load[j] += q[i]
        todo = np.delete(todo, t)
    return a


def repair(x: np.ndarray, y: np.ndarray, v: np.ndarray, cost: np.ndarray, q: np.ndarray,
           cap: np.ndarray, ok: np.ndarray) -> np.ndarray | None:
    """Plan from a relaxed Lagrangian solution (``x`` (n, m) bool, ``y`` (m,) bool).

    Customers served once keep their facility, those served twice keep the cheapest, the rest
    are filled by regret; when they do not fit, closed facilities are opened in order of ``v``.
    """
    n, m = cost.shape
    open_ = y.copy()
    xc = np.where(x & open_[None, :], cost, BIG)
    a = np.where(xc.min(axis=1) < BIG, np.argmin(xc, axis=1), -1)
    order = [j for j in np.argsort(v, kind="stable") if not open_[j] and np.isfinite(v[j])]
    while True:
        res = regret_fill(a, open_, cost, q, cap, ok)
        if res is not None:
            return res
        if not order:
            return None
        open_[order.pop(0)] = True


def _shift(a, cost, q, cap, ok, load, rows):
    """Best shift move: (gain, i, j)."""
    cur = cost[rows, a]
    room = ok & (load[None, :] + q[:, None] <= cap[None, :] + 1e-9)
    used = load > 0
    delta = np.where(room & used[None, :], cost - cur[:, None], BIG)
    k = int(np.argmin(delta))
    i, j = divmod(k, cost.shape[1])
    return -delta[i, j], i, j


def _swap(a, cost, q, cap, ok, load, rows):
    """Best swap of two customers between facilities: (gain, i1, i2).

    In place on one (n, n) matrix (1.7x faster than the plain form on 400 customers).
    """
    cur = cost[rows, a]
    d = cost[:, a]                          # d[i1, i2] = cost of i1 at a[i2] ...
    d -= cur[:, None]                       # ... less its cost now
    delta = d + d.T                         # i1 -> a[i2] and i2 -> a[i1]
    room = (cap - load)[a] + q + 1e-9       # room at a[i2] once i2 leaves
    feas = q[:, None] <= room[None, :]
    feas &= feas.T
    if not ok.all():
        oka = ok[:, a]
        feas &= oka & oka.T
    feas &= a[:, None] != a[None, :]
    np.putmask(delta, ~feas, BIG)
    k = int(np.argmin(delta))
    i1, i2 = divmod(k, len(a))
    return -delta[i1, i2], i1, i2


def _close(a, cost, q, cap, ok, fixed, forced, load):
    """Best move closing one facility and refilling its customers by regret: (gain, new a)."""
    best_gain, best = 0.0, None
    used = (load > 0) & ~forced
    for j in np.flatnonzero(used):
        open_ = (load > 0) | forced
        open_[j] = False
        b = a.copy()
        mine = b == j
        b[mine] = -1
        res = regret_fill(b, open_, cost, q, cap, ok)
        if res is None:
            continue
        gain = fixed[j] + cost[mine, j].sum() - cost[mine, res[mine]].sum()
        if gain > best_gain + 1e-9:
            best_gain, best = gain, res
    return best_gain, best


def local_search(a: np.ndarray, cost: np.ndarray, q: np.ndarray, cap: np.ndarray,
                 ok: np.ndarray, fixed: np.ndarray, forced: np.ndarray, *,
                 max_moves: int = 2000, swaps: bool = True) -> np.ndarray:
    """Best-improvement shift / swap / close-facility descent from a feasible plan ``a``.

    Stops at a local optimum or after ``max_moves`` moves (the deterministic budget).
    """
    a = a.copy()
    rows = np.arange(len(a))
    m = cost.shape[1]
    for _ in range(max_moves):
        load = np.bincount(a, weights=q, minlength=m)
        g, i, j = _shift(a, cost, q, cap, ok, load, rows)
        if g > 1e-9:
            a[i] = j
            continue
        if swaps and len(a) > 1:
            g, i1, i2 = _swap(a, cost, q, cap, ok, load, rows)
            if g > 1e-9:
                a[i1], a[i2] = a[i2], a[i1]
                continue
        g, b = _close(a, cost, q, cap, ok, fixed, forced, load)
        if b is not None:
            a = b
            continue
        break
    return a
