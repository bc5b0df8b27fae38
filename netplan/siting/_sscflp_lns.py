"""Kernel search and the final strong MIP of the single-source CFLP engine (see :mod:`.sscflp`).

Kernel search (Guastaroba & Speranza 2014, facility-level): the kernel is the set of sites the
best plan uses plus those open in the Lagrangian solution; the other sites not fixed closed are
ranked by their Lagrangian value :math:`v_j` and cut into buckets. Each restricted MIP keeps, per
customer, its ``kx`` cheapest pairs by Lagrangian reduced cost :math:`c_{ij} - \\lambda_i` among
the sites in play (plus the incumbent's pairs). A bucket's MIP must use one of its sites and beat
the incumbent; sites that a better plan uses join the kernel.
"""

from __future__ import annotations

import math

import numpy as np

from netplan.siting import _sscflp_heur as heur
from netplan.siting import _sscflp_mip as smip
from netplan.siting._mip import clock


def _pairs(ins, lam: np.ndarray, sites: np.ndarray, keep_x: np.ndarray, kx: int,
           extra: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per customer its ``kx`` best pairs to ``sites`` by reduced cost, plus ``extra`` plan's."""
    n = len(ins.q)
    mask = np.zeros(ins.cost.shape, dtype=bool)
    mask[:, sites] = keep_x[:, sites]
    red = np.where(mask, ins.cost - lam[:, None], np.inf)
    k = min(kx, len(sites))
    if k > 0:
        part = np.argsort(red, axis=1, kind="stable")[:, :k]
        sel = np.zeros_like(mask)
        sel[np.arange(n)[:, None], part] = True
        mask &= sel
    if extra is not None:
        mask[np.arange(n), extra] = True
    mask &= ins.ok
    pi, pj = np.nonzero(mask)
    return pi, pj


def _run(ins, best, sites, pi, pj, *, start, cutoff, at_least_one, lp_iters, nodes, seed,
         t0, time_limit_s, work, links=True):
    """Build and solve one restricted model; offer its plan to ``best``. Returns MipOut."""
    lp, _ = smip.build(sites, pi, pj, ins.fixed, ins.cap, ins.q, ins.cost, links=links,
                       forced=ins.forced, at_least_one=at_least_one)
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


def kernel_search(ins, st, best, keep_y: np.ndarray, keep_x: np.ndarray, bud: dict, seed: int,
                  t0: float, time_limit_s: float, work: dict, kx: int = 10) -> None:
    """Improve ``best`` by restricted MIPs on kernel and kernel + bucket (module doc)."""
    if best.assign is None:
        return
    m = len(ins.fixed)
    delta = 1.0 - 1e-6 if ins.integral else 1e-7 * max(1.0, abs(best.value))
    kernel = np.zeros(m, dtype=bool)
    kernel[best.assign] = True
    kernel |= (st.y & keep_y) | ins.forced
    rest = [j for j in np.argsort(st.v, kind="stable") if keep_y[j] and not kernel[j]]
    size = max(3, math.ceil(m / 10))
    buckets = [np.array(rest[s:s + size]) for s in range(0, len(rest), size)]
    rounds = 0
    # kernel MIP, then buckets; the kernel MIP is re-solved after growth
    todo: list = [None] + buckets
    while todo and rounds < bud["kernel_rounds"] and clock() - t0 < time_limit_s:
        bucket = todo.pop(0)
        rounds += 1
        sites = np.flatnonzero(kernel) if bucket is None else np.union1d(
            np.flatnonzero(kernel), bucket)
        pi, pj = _pairs(ins, st.lam, sites, keep_x, kx, best.assign)
        if bucket is None:
            out = _run(ins, best, sites, pi, pj, start=best.assign, cutoff=math.inf,
                       at_least_one=None, lp_iters=bud["kernel_lp_iters"],
                       nodes=bud["kernel_nodes"], seed=seed, t0=t0,
                       time_limit_s=time_limit_s, work=work)
        else:
            flag = np.isin(sites, bucket)
            before = best.value
            out = _run(ins, best, sites, pi, pj, start=None, cutoff=best.value - delta,
                       at_least_one=flag, lp_iters=bud["kernel_lp_iters"],
                       nodes=bud["kernel_nodes"], seed=seed, t0=t0,
                       time_limit_s=time_limit_s, work=work)
            if best.value < before and out.assign is not None:
                kernel[np.unique(out.assign)] = True
                todo.insert(0, None)   # re-solve the grown kernel next
        if out.assign is not None:
            a = heur.local_search(best.assign, ins.cost, ins.q, ins.cap, ins.ok, ins.fixed,
                                  ins.forced, max_moves=300)
            best.offer(a)
    work["kernel_rounds"] = rounds
    work["kernel_size"] = int(kernel.sum())


def final_mip(ins, best, keep_y: np.ndarray, keep_x: np.ndarray, bud: dict, seed: int,
              t0: float, time_limit_s: float, work: dict) -> tuple[bool, float]:
    """Strong MIP over all sites and pairs not fixed, from the best plan: (proven, bound)."""
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
    out = _run(ins, best, sites, pi, pj, start=best.assign, cutoff=math.inf, at_least_one=None,
               lp_iters=bud["final_lp_iters"], nodes=bud["final_nodes"], seed=seed, t0=t0,
               time_limit_s=time_limit_s, work=work)
    work["final_optimal"] = bool(out.optimal)
    if out.optimal:
        return True, best.value
    return False, out.bound


def _site_distance(ins) -> np.ndarray:
    """(m, m) mean absolute difference of two sites' cost columns (a proxy for distance)."""
    c = np.where(ins.ok, ins.cost, np.nan)
    mu = np.nanmean(np.where(ins.ok, ins.cost, np.nan), axis=0)
    c = np.where(np.isnan(c), mu[None, :], c)
    c = np.where(np.isnan(c), 0.0, c)
    return np.stack([np.abs(c - c[:, [j]]).mean(axis=0) for j in range(c.shape[1])])


def region_lns(ins, best, keep_y: np.ndarray, bud: dict, seed: int, t0: float,
               time_limit_s: float, work: dict) -> None:
    """MIP neighbourhood search: re-solve exactly the sites nearest each site and their customers.

    A region is a site and its ``size - 1`` nearest sites (by :func:`_site_distance`); the
    customers the best plan serves from them are re-assigned among them, any of the region's
    sites opening or closing (a very large neighbourhood in the sense of Ahuja et al. 2004,
    searched by a small strong MIP). Sweeps over all sites; a sweep without improvement grows
    the region. Stops when the MIP simplex iterations reach ``lns_lp_total`` (work budget), the
    plan meets the bound, the region outgrows ``lns_size_max`` or at the time limit.
    """
    if best.assign is None:
        return
    m = len(ins.fixed)
    dist = _site_distance(ins)
    delta = 1.0 - 1e-6 if ins.integral else 1e-7 * max(1.0, abs(best.value))
    cand = keep_y | ins.forced
    count, size = 0, bud["lns_size"]
    done: set[bytes] = set()
    def spent() -> bool:
        return (work.get("mip_lp_iters", 0) >= bud["lns_lp_total"]
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


def _solve_region(ins, best, reg, cust, delta, bud, seed, t0, time_limit_s, work) -> bool:
    """Optimise customers ``cust`` over sites ``reg`` exactly; True when the plan improved."""
    a = best.assign
    ok = ins.ok[np.ix_(cust, reg)]
    pi, pj = np.nonzero(ok)
    cost = ins.cost[np.ix_(cust, reg)]
    fixed, cap, q, forced = ins.fixed[reg], ins.cap[reg], ins.q[cust], ins.forced[reg]
    fac = np.arange(len(reg))
    lp, _ = smip.build(fac, pi, pj, fixed, cap, q, cost, forced=forced)
    local = np.searchsorted(reg, a[cust])
    used = np.zeros(len(reg), dtype=bool)
    used[local] = True
    cur = float(fixed[used | forced].sum() + cost[np.arange(len(cust)), local].sum())
    left = time_limit_s - (clock() - t0)
    room = bud["lns_lp_total"] - work.get("mip_lp_iters", 0)
    out = smip.solve(lp, fac, pi, pj, len(cust), start=local, time_limit_s=left,
                     lp_iter_limit=min(bud["lns_lp_iters"], room), node_limit=bud["lns_nodes"],
                     seed=seed, cutoff=math.inf)
    work["mip_lp_iters"] = work.get("mip_lp_iters", 0) + out.lp_iters
    work["mip_nodes"] = work.get("mip_nodes", 0) + out.nodes
    work["lns_proven"] = work.get("lns_proven", 0) + int(out.optimal)
    if out.assign is None or out.objective > cur - delta or np.any(out.assign < 0):
        return False
    b = a.copy()
    b[cust] = reg[out.assign]
    return best.offer(b)
