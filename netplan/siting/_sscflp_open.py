"""Open-set tabu search of the single-source CFLP engine: close, open or swap one site.

The region search (:mod:`._sscflp_lns`) re-solves groups of nearby sites; it does not move the
open set of a plan by one site far from where it was. This phase does (the "facility swap + GAP"
neighbourhood of SSCFLP heuristics, e.g. Ahuja et al. 2004), as a tabu search:

1. every candidate open set -- the plan's open set with one site closed, one closed site opened,
   or one open site swapped for one of its ``swap_near`` nearest closed sites (a swap / close that
   leaves less capacity than demand is skipped) -- is evaluated by a fast deterministic GAP
   heuristic (:func:`gap_fill`: customers of closed sites and those a new site serves cheaper are
   moved, the rest keep their site, regret fill, shift descent);
2. the ``open_polish`` cheapest candidates whose changed sites are not tabu (or that would beat
   the best plan: aspiration) get the full shift / swap / close local search
   (:func:`._sscflp_heur.local_search`);
3. the cheapest of them becomes the current plan, improving or not; the sites it changed are
   tabu for ``open_tenure`` iterations.

The best distinct open sets seen are returned: the engine adds them to the kernel of its kernel
MIP (a kernel built from the K best open sets, as the brief of issue 16 suggests). Stops on work
only: ``open_iters`` iterations, ``open_evals`` candidate evaluations; CPU seconds are the safety
stop.
"""

from __future__ import annotations

import numpy as np

from netplan.siting import _sscflp_heur as heur
from netplan.siting._mip import clock


def _shift_descent(a: np.ndarray, open_: np.ndarray, cost: np.ndarray, q: np.ndarray,
                   cap: np.ndarray, ok: np.ndarray, max_moves: int) -> np.ndarray:
    """Best-improvement single-customer shifts among the open sites ``open_`` (bool (m,))."""
    rows = np.arange(len(a))
    okk = ok & open_[None, :]
    for _ in range(max_moves):
        load = np.bincount(a, weights=q, minlength=len(cap))
        cur = cost[rows, a]
        room = okk & (load[None, :] + q[:, None] <= cap[None, :] + 1e-9)
        delta = np.where(room, cost - cur[:, None], heur.BIG)
        k = int(np.argmin(delta))
        i, j = divmod(k, cost.shape[1])
        if delta[i, j] >= -1e-9:
            break
        a[i] = j
    return a


def gap_fill(a0: np.ndarray, open_: np.ndarray, cost: np.ndarray, q: np.ndarray,
             cap: np.ndarray, ok: np.ndarray, max_moves: int = 60) -> np.ndarray | None:
    """Plan serving everyone from the open set ``open_`` near plan ``a0``, or None.

    Customers of sites no longer open, and those a newly opened site serves cheaper (largest
    saving first, while it has room), are moved; the rest keep their site; then regret fill and
    a shift descent (at most ``max_moves`` moves).
    """
    n = len(a0)
    rows = np.arange(n)
    a = a0.copy()
    a[~open_[a]] = -1
    was = np.zeros(len(cap), dtype=bool)
    was[a0] = True
    load = np.bincount(a[a >= 0], weights=q[a >= 0], minlength=len(cap))
    cur = np.where(a >= 0, cost[rows, np.maximum(a, 0)], np.inf)
    for k in np.flatnonzero(open_ & ~was):
        save = np.where(ok[:, k], cur - cost[:, k], -np.inf)
        for i in np.lexsort((rows, -save)):
            if save[i] <= 0:
                break
            if load[k] + q[i] <= cap[k] + 1e-9:
                if a[i] >= 0:
                    load[a[i]] -= q[i]
                a[i] = k
                load[k] += q[i]
                cur[i] = cost[i, k]
    res = heur.regret_fill(a, open_, cost, q, cap, ok)
    if res is None:   # the kept part blocks a customer: fill everyone afresh
        res = heur.regret_fill(np.full(n, -1), open_, cost, q, cap, ok)
    if res is None:
        return None
    return _shift_descent(res, open_, cost, q, cap, ok, max_moves)


def _candidates(open_: np.ndarray, allowed: np.ndarray, forced: np.ndarray,
                dist: np.ndarray, near: int) -> list[tuple[int, int]]:
    """Moves as (close j or -1, open k or -1): every close, every open, swaps with near sites."""
    shut = np.flatnonzero(allowed & ~open_)
    opened = np.flatnonzero(open_ & ~forced)
    moves = [(int(j), -1) for j in opened] + [(-1, int(k)) for k in shut]
    for j in opened:
        near_k = [int(k) for k in np.argsort(dist[j], kind="stable") if allowed[k] and not open_[k]]
        moves += [(int(j), k) for k in near_k[:near]]
    return moves


def _used(a: np.ndarray, forced: np.ndarray) -> np.ndarray:
    o = np.zeros(len(forced), dtype=bool)
    o[a] = True
    return o | forced


def _step(ins, cur: np.ndarray, allowed: np.ndarray, dist: np.ndarray, bud: dict,
          tabu: np.ndarray, it: int, best_value: float) -> tuple[int, np.ndarray | None]:
    """Evaluate every move from plan ``cur``; return (evaluations, plan of the chosen move).

    The ``open_polish`` cheapest candidates by :func:`gap_fill` get the full local search; the
    cheapest of them whose changed sites are not tabu (or that beats ``best_value``) is chosen,
    improving or not (tabu search).
    """
    open_ = _used(cur, ins.forced)
    scored, evals = [], 0
    for j, k in _candidates(open_, allowed, ins.forced, dist, bud["swap_near"]):
        o = open_.copy()
        if j >= 0:
            o[j] = False
        if k >= 0:
            o[k] = True
        if ins.cap[o].sum() < ins.q.sum() - 1e-9:
            continue
        evals += 1
        b = gap_fill(cur, o, ins.cost, ins.q, ins.cap, ins.ok)
        if b is not None:
            scored.append((heur.plan_cost(b, ins.cost, ins.fixed, ins.forced), j, k, b))
    scored.sort(key=lambda t: (t[0], t[1], t[2]))
    polished, tried = [], 0
    for v0, j, k, b in scored:
        free = (j < 0 or tabu[j] < it) and (k < 0 or tabu[k] < it)
        if not free and v0 >= best_value - 1e-9:   # tabu, and no chance to aspire
            continue
        b = heur.local_search(b, ins.cost, ins.q, ins.cap, ins.ok, ins.fixed, ins.forced,
                              max_moves=300)
        val = heur.plan_cost(b, ins.cost, ins.fixed, ins.forced)
        if free or val < best_value - 1e-9:
            polished.append((val, j, k, b))
        tried += 1
        if tried >= bud["open_polish"]:
            break
    if not polished:
        return evals, None
    val, j, k, b = min(polished, key=lambda t: (t[0], t[1], t[2]))
    for s in (j, k):
        if s >= 0:
            tabu[s] = it + bud["open_tenure"]
    return evals, b


def open_search(ins, best, keep_y: np.ndarray, dist: np.ndarray, bud: dict, t0: float,
                time_limit_s: float, work: dict) -> list[np.ndarray]:
    """Tabu search over open sets from the best plan (see module doc); offers plans to ``best``.

    ``dist`` (m, m): site distances (:func:`._sscflp_lns.site_distance`). Returns the
    ``open_keep`` cheapest distinct open sets seen (bool (m,) each), cheapest first.
    """
    if best.assign is None:
        return []
    allowed = keep_y | ins.forced
    tabu = np.full(len(ins.fixed), -1)
    pool: dict[bytes, tuple[float, np.ndarray]] = {}
    cur = best.assign.copy()
    evals, it = 0, 0
    while (evals < bud["open_evals"] and it < bud["open_iters"]
           and best.value > best.bound + 1e-9 * max(1.0, abs(best.value))
           and clock() - t0 < time_limit_s):
        it += 1
        e, b = _step(ins, cur, allowed, dist, bud, tabu, it, best.value)
        evals += e
        if b is None:
            break
        cur = b
        best.offer(cur)
        val = heur.plan_cost(cur, ins.cost, ins.fixed, ins.forced)
        key = np.packbits(_used(cur, ins.forced)).tobytes()
        if key not in pool or val < pool[key][0]:
            pool[key] = (val, cur.copy())
    key = np.packbits(_used(best.assign, ins.forced)).tobytes()
    pool[key] = (best.value, best.assign.copy())
    ranked = sorted(pool.values(), key=lambda t: (t[0], tuple(t[1])))
    work["open_evals"] = evals
    work["open_iters"] = it
    work["cpu_open_s"] = round(clock() - t0, 2)
    return [_used(b, ins.forced) for _v, b in ranked[:bud["open_keep"]]]
