"""Open-set neighbourhood of the single-source CFLP engine: close, open or swap one site.

The region search (:mod:`._sscflp_lns`) re-solves groups of nearby sites; it does not look at
changing the open set of a plan by moving one site far from where it was. This phase does
(the "facility swap + GAP" neighbourhood of SSCFLP heuristics, e.g. Ahuja et al. 2004):

1. every candidate open set -- the plan's open set with one site closed, one closed site opened,
   or one open site swapped for one of its ``swap_near`` nearest closed sites -- is evaluated by a
   fast deterministic GAP heuristic (:func:`gap_fill`: customers of closed sites and those a new
   site serves cheaper are re-filled by regret, then a shift descent);
2. the ``open_polish`` best candidates are improved by the full local search and re-solved as a
   GAP MIP (HiGHS, the open set fixed, each customer linked to its ``gap_near`` cheapest open
   sites and its current one) from that plan;
3. the best improving candidate becomes the plan and the sweep repeats.

Stops on work only: candidate evaluations (``open_evals``), GAP-MIP simplex iterations counted
in HiGHS callback calls (``open_lp_total``), a sweep without improvement; CPU seconds are the
safety stop.
"""

from __future__ import annotations

import numpy as np

from netplan.siting import _sscflp_heur as heur
from netplan.siting import _sscflp_mip as smip
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


def gap_mip(ins, a: np.ndarray, open_: np.ndarray, near: int, lp_iters: int, seed: int,
            left_s: float, work: dict) -> np.ndarray | None:
    """Re-solve the assignment of plan ``a`` with its open set fixed (HiGHS GAP, from ``a``)."""
    sites = np.flatnonzero(open_)
    n = len(a)
    c = np.where(ins.ok[:, sites], ins.cost[:, sites], np.inf)
    rank = np.argsort(np.argsort(c, axis=1, kind="stable"), axis=1, kind="stable")
    mask = np.zeros_like(ins.ok)
    mask[:, sites] = (rank < near) & ins.ok[:, sites]
    mask[np.arange(n), a] = True
    pi, pj = np.nonzero(mask)
    lp, _ = smip.build(sites, pi, pj, ins.fixed, ins.cap, ins.q, ins.cost, links=False,
                       aggregate=False, forced=open_)
    out = smip.solve(lp, sites, pi, pj, n, start=a, time_limit_s=left_s, lp_iter_limit=lp_iters,
                     node_limit=10_000, seed=seed)
    work["open_lp_iters"] = work.get("open_lp_iters", 0) + out.lp_iters
    work["open_mips"] = work.get("open_mips", 0) + 1
    if out.assign is None or np.any(out.assign < 0):
        return None
    return out.assign


def pool_mip(ins, a: np.ndarray, sites_: np.ndarray, near: int, lp_iters: int, seed: int,
             left_s: float, work: dict) -> np.ndarray | None:
    """Strong MIP over the sites ``sites_`` (bool (m,)), each customer linked to its ``near``
    cheapest of them and its site in plan ``a``; from ``a``. Returns the plan or None."""
    sites = np.flatnonzero(sites_ | ins.forced)
    n = len(a)
    c = np.where(ins.ok[:, sites], ins.cost[:, sites], np.inf)
    rank = np.argsort(np.argsort(c, axis=1, kind="stable"), axis=1, kind="stable")
    mask = np.zeros_like(ins.ok)
    mask[:, sites] = (rank < near) & ins.ok[:, sites]
    mask[np.arange(n), a] = True
    pi, pj = np.nonzero(mask)
    lp, _ = smip.build(sites, pi, pj, ins.fixed, ins.cap, ins.q, ins.cost, forced=ins.forced)
    out = smip.solve(lp, sites, pi, pj, n, start=a, time_limit_s=left_s, lp_iter_limit=lp_iters,
                     node_limit=20_000, seed=seed)
    work["pool_lp_iters"] = work.get("pool_lp_iters", 0) + out.lp_iters
    if out.assign is None or np.any(out.assign < 0):
        return None
    return out.assign


def _used(a: np.ndarray, forced: np.ndarray) -> np.ndarray:
    o = np.zeros(len(forced), dtype=bool)
    o[a] = True
    return o | forced


def _polish(ins, b: np.ndarray, fresh: bool) -> tuple[np.ndarray, float]:
    """Local search from ``b`` and (``fresh``) from a fresh regret fill of its open set."""
    out = []
    fresh = None if not fresh else heur.regret_fill(
        np.full(len(b), -1), _used(b, ins.forced), ins.cost, ins.q, ins.cap, ins.ok)
    for c in (b, fresh):
        if c is not None:
            c = heur.local_search(c, ins.cost, ins.q, ins.cap, ins.ok, ins.fixed, ins.forced,
                                  max_moves=300)
            out.append((heur.plan_cost(c, ins.cost, ins.fixed, ins.forced), c))
    val, c = min(out, key=lambda t: t[0])
    return c, val


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
    for _v, j, k, b in scored:
        free = (j < 0 or tabu[j] < it) and (k < 0 or tabu[k] < it)
        if not free and _v >= best_value - 1e-9:   # tabu, and no chance to aspire
            continue
        b, val = _polish(ins, b, bud["open_fresh"])
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


def open_search(ins, best, keep_y: np.ndarray, dist: np.ndarray, bud: dict, seed: int,
                t0: float, time_limit_s: float, work: dict) -> list[np.ndarray]:
    """Tabu search over open sets (see module doc), then GAP MIPs on the best open sets found.

    Returns the ``open_keep`` best distinct open sets seen (bool (m,) each), best first.
    """
    if best.assign is None:
        return []
    allowed = keep_y | ins.forced
    m = len(ins.fixed)
    tabu = np.full(m, -1)
    pool: dict[bytes, tuple[float, np.ndarray]] = {}
    cur = best.assign.copy()
    evals, it = 0, 0

    def spent() -> bool:
        return (evals >= bud["open_evals"] or it >= bud["open_iters"]
                or best.value <= best.bound + 1e-9 * max(1.0, abs(best.value))
                or clock() - t0 >= time_limit_s)

    while not spent():
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
    work["cpu_tabu_s"] = round(clock() - t0, 2)
    key = np.packbits(_used(best.assign, ins.forced)).tobytes()
    pool[key] = (best.value, best.assign.copy())
    ranked = sorted(pool.values(), key=lambda t: (t[0], tuple(t[1])))
    if bud["pool_lp_iters"] > 0 and clock() - t0 < time_limit_s:
        union = np.zeros(m, dtype=bool)
        for _v, b in ranked[:bud["open_keep"]]:
            union |= _used(b, ins.forced)
        g = pool_mip(ins, best.assign, union, bud["pool_near"], bud["pool_lp_iters"], seed,
                     time_limit_s - (clock() - t0), work)
        if g is not None:
            best.offer(g)
        work["pool_sites"] = int(union.sum())
        work["cpu_pool_s"] = round(clock() - t0, 2)
    for _val, b in ranked[:bud["open_mips"]]:
        if clock() - t0 >= time_limit_s:
            break
        left = time_limit_s - (clock() - t0)
        g = gap_mip(ins, b, _used(b, ins.forced), bud["gap_near"], bud["open_lp_iters"], seed,
                    left, work)
        if g is not None:
            best.offer(g)
    work["open_evals"] = work.get("open_evals", 0) + evals
    work["open_iters"] = work.get("open_iters", 0) + it
    work["cpu_open_s"] = round(clock() - t0, 2)
    return [_used(b, ins.forced) for _v, b in ranked[:bud["open_keep"]]]
