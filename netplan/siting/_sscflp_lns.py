"""MIP neighbourhood search and the final strong MIP of the single-source CFLP engine.

See :mod:`netplan.siting.sscflp`. Both solve strong-formulation MIPs with HiGHS
(:mod:`._sscflp_mip`) on a deterministic work budget (simplex iterations, converted to
MIP interrupt-callback calls by :func:`._sscflp_mip.call_budget`).
"""

from __future__ import annotations

import math

import numpy as np

from netplan.siting import _sscflp_mip as smip
from netplan.siting._mip import clock


def _run(ins, best, sites, pi, pj, *, start, cutoff, at_least_one, lp_iters, nodes, seed,
         t0, time_limit_s, work, links=True, aggregate=True):
    """Build and solve one restricted model; offer its plan to ``best``. Returns MipOut."""
    lp, _ = smip.build(sites, pi, pj, ins.fixed, ins.cap, ins.q, ins.cost, links=links,
                       aggregate=aggregate, forced=ins.forced, at_least_one=at_least_one)
    left = time_limit_s - (clock() - t0)
    out = smip.solve(lp, sites, pi, pj, len(ins.q), start=start, time_limit_s=left,
                     lp_iter_limit=lp_iters, node_limit=nodes, seed=seed, cutoff=cutoff,
                     t_origin=t0)
    work["mip_lp_iters"] = work.get("mip_lp_iters", 0) + out.lp_iters
    work["mip_nodes"] = work.get("mip_nodes", 0) + out.nodes
    work["mips"] = work.get("mips", 0) + 1
    if out.assign is not None and np.all(out.assign >= 0):
        at = out.trace[-1][0] if out.trace else None
        best.offer(out.assign, at=at)
    return out


def final_mip(ins, best, keep_y: np.ndarray, keep_x: np.ndarray, lp_iters: int, bud: dict,
              seed: int, t0: float, time_limit_s: float, work: dict) -> tuple[bool, float]:
    """Strong MIP over all sites and pairs not fixed, from the best plan: (proven, bound).

    Fixing removed only sites and pairs that no plan cheaper than the incumbent uses, so a
    proof here proves the incumbent (or the better plan found) optimal.
    """
    sites = np.flatnonzero(keep_y | ins.forced)
    if best.assign is not None:
        sites = np.union1d(sites, np.unique(best.assign))
    mask = keep_x.copy()
    if best.assign is not None:
        mask[np.arange(len(ins.q)), best.assign] = True
    mask &= np.isin(np.arange(len(ins.fixed)), sites)[None, :]
    pi, pj = np.nonzero(mask)
    if np.any(~mask.any(axis=1)):
        return best.assign is not None, math.inf if best.assign is None else best.value
    # without the aggregate-capacity row: HiGHS proved Holmberg p30 / p31 in 17.7 / 8.3 CPU s
    # without it, and not in 30 with it (the Lagrangian bound already holds that row)
    out = _run(ins, best, sites, pi, pj, start=best.assign, cutoff=math.inf, at_least_one=None,
               lp_iters=lp_iters, nodes=bud["final_nodes"], seed=seed, t0=t0,
               time_limit_s=time_limit_s, work=work, aggregate=False)
    work["final_optimal"] = bool(out.optimal)
    if out.optimal:
        return True, best.value
    return False, out.bound


def site_distance(ins) -> np.ndarray:
    """(m, m) mean absolute difference of two sites' cost columns (a proxy for distance)."""
    c = np.where(ins.ok, ins.cost, np.nan)
    mu = np.nanmean(np.where(ins.ok, ins.cost, np.nan), axis=0)
    c = np.where(np.isnan(c), mu[None, :], c)
    c = np.where(np.isnan(c), 0.0, c)
    return np.stack([np.abs(c - c[:, [j]]).mean(axis=0) for j in range(c.shape[1])])


def region_lns(ins, best, keep_y: np.ndarray, bud: dict, seed: int, t0: float,
               time_limit_s: float, work: dict) -> None:
    """MIP neighbourhood search: re-solve exactly the sites nearest each site and their customers.

    A region is a site and its ``size - 1`` nearest sites (by :func:`site_distance`); the
    customers the best plan serves from them are re-assigned among them, any of the region's
    sites opening or closing (a very large neighbourhood in the sense of Ahuja et al. 2004,
    searched by a small strong MIP). Sweeps over all sites; a sweep without improvement grows
    the region. Stops when its own MIP simplex iterations reach ``lns_lp_total`` (work budget), the
    plan meets the bound, the region outgrows ``lns_size_max`` or at the time limit.
    """
    if best.assign is None:
        return
    m = len(ins.fixed)
    dist = site_distance(ins)
    delta = 1.0 - 1e-6 if ins.integral else 1e-7 * max(1.0, abs(best.value))
    cand = keep_y | ins.forced
    count, size = 0, bud["lns_size"]
    done: set[bytes] = set()
    def spent() -> bool:
        return (work.get("lns_lp_iters", 0) >= bud["lns_lp_total"]
                or best.value <= best.bound + 1e-9 * max(1.0, abs(best.value))
                or clock() - t0 >= time_limit_s)

    while not spent() and size <= min(m, bud["lns_size_max"]):
        gained = False
        for j in range(m):
            if spent():
                break
            a = best.assign
            order = [k for k in np.argsort(dist[j], kind="stable") if cand[k] or np.any(a == k)]
            reg = np.array(sorted(order[:size]))
            cust = np.flatnonzero(np.isin(a, reg))
            key = reg.tobytes() + a[cust].tobytes() + cust.tobytes()
            if len(cust) == 0 or key in done:
                continue
            count += 1
            if _solve_region(ins, best, reg, cust, delta, bud, seed, t0, time_limit_s, work):
                gained = True
            else:
                done.add(key)   # nothing to gain here until the region's plan changes
        if clock() - t0 >= time_limit_s:
            break
        if not gained:
            size += bud["lns_size_step"]
    work["lns_mips"] = count
    work["lns_size_end"] = size


def _border(ins, a, reg, cust, limit):
    """Customers served outside ``reg`` that a region site would serve cheaper (best first)."""
    out = np.setdiff1d(np.arange(len(a)), cust)
    if len(out) == 0 or limit <= 0:
        return out
    c = np.where(ins.ok[np.ix_(out, reg)], ins.cost[np.ix_(out, reg)], np.inf).min(axis=1)
    save = ins.cost[out, a[out]] - c
    keep = np.flatnonzero(save > 0)
    keep = keep[np.lexsort((out[keep], -save[keep]))][:limit]
    return np.sort(out[keep])


def _solve_region(ins, best, reg, cust, delta, bud, seed, t0, time_limit_s, work) -> bool:
    """Optimise customers ``cust`` (served by sites ``reg``) exactly; True when the plan improved.

    Border customers (:func:`_border`) join them; their current sites join as open sites of no
    fixed cost with the capacity their other customers leave (so customers may also move out).
    """
    a = best.assign
    extra = _border(ins, a, reg, cust, bud["lns_border"])
    cust = np.concatenate([cust, extra])
    out_sites = np.unique(a[extra])
    sites = np.concatenate([reg, out_sites])
    stay = ~np.isin(np.arange(len(a)), cust)
    load = np.bincount(a[stay], weights=ins.q[stay], minlength=len(ins.cap))
    fixed = np.concatenate([ins.fixed[reg], np.zeros(len(out_sites))])
    cap = np.concatenate([ins.cap[reg], ins.cap[out_sites] - load[out_sites]])
    forced = np.concatenate([ins.forced[reg], np.ones(len(out_sites), dtype=bool)])
    ok = ins.ok[np.ix_(cust, sites)] & (ins.q[cust][:, None] <= cap[None, :] + 1e-9)
    pi, pj = np.nonzero(ok)
    cost = ins.cost[np.ix_(cust, sites)]
    q = ins.q[cust]
    fac = np.arange(len(sites))
    lp, _ = smip.build(fac, pi, pj, fixed, cap, q, cost, forced=forced)
    local = np.array([int(np.flatnonzero(sites == j)[0]) for j in a[cust]])
    used = np.zeros(len(sites), dtype=bool)
    used[local] = True
    cur = float(fixed[used | forced].sum() + cost[np.arange(len(cust)), local].sum())
    left = time_limit_s - (clock() - t0)
    room = bud["lns_lp_total"] - work.get("lns_lp_iters", 0)
    out = smip.solve(lp, fac, pi, pj, len(cust), start=local, time_limit_s=left,
                     lp_iter_limit=min(bud["lns_lp_iters"], room), node_limit=bud["lns_nodes"],
                     seed=seed, cutoff=math.inf)
    work["mip_lp_iters"] = work.get("mip_lp_iters", 0) + out.lp_iters
    work["lns_lp_iters"] = work.get("lns_lp_iters", 0) + out.lp_iters
    work["mip_nodes"] = work.get("mip_nodes", 0) + out.nodes
    work["lns_proven"] = work.get("lns_proven", 0) + int(out.optimal)
    if out.assign is None or out.objective > cur - delta or np.any(out.assign < 0):
        return False
    b = a.copy()
    b[cust] = sites[out.assign]
    return best.offer(b)


def kernel_mip(ins, best, kernel: np.ndarray, keep_x: np.ndarray, bud: dict, seed: int,
               t0: float, time_limit_s: float, work: dict) -> None:
    """Restricted strong MIP on the kernel sites (bool (m,)) plus the best plan's, from it.

    The kernel is every site the Lagrangian relaxation opened in its later iterations (Guastaroba
    & Speranza 2014's kernel, from Lagrangian instead of LP information): a global choice of the
    open set, which the region search (local moves) does not make.
    """
    if best.assign is None:
        return
    sel = kernel.copy() | ins.forced
    sel[best.assign] = True
    mask = keep_x & sel[None, :]
    mask[np.arange(len(ins.q)), best.assign] = True
    pi, pj = np.nonzero(mask)
    out = _run(ins, best, np.flatnonzero(sel), pi, pj, start=best.assign, cutoff=math.inf,
               at_least_one=None, lp_iters=bud["kernel_lp_iters"], nodes=bud["kernel_nodes"],
               seed=seed, t0=t0, time_limit_s=time_limit_s, work=work)
    work["kernel_sites"] = int(sel.sum())
    work["kernel_optimal"] = bool(out.optimal)
