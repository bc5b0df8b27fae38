"""Tier-by-tier heuristic for :func:`three_tier`: a feasible plan fast, used as the MIP start.

Tier 1 is solved as a capacitated facility-location MIP whose per-tonne cost includes an
estimate of the cheapest onward cost to the top tier; tier 2 then sites stations for the open
village points' loads (again with the onward estimate), and tier 3 centres for the stations'
loads. Each sub-model is much smaller and has a tight LP; their plans chain into one feasible plan
of the whole model (co-location is ignored here, which only makes the plan dearer).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from netplan.siting._mip import make_solver, run
from netplan.siting._tt_prep import StreamData


def onward_cost(sd: StreamData) -> list[np.ndarray]:
    """Per tier, per candidate: cheapest CNY/t from that candidate to any top-tier candidate."""
    T = len(sd.tiers)
    oc = [np.zeros(td.n) for td in sd.tiers]
    for t in range(T - 2, -1, -1):
        up = sd.tiers[t + 1]
        c = up.rate * up.pd / 1000.0 + oc[t + 1][up.pb]
        best = np.full(sd.tiers[t].n, np.inf)
        np.minimum.at(best, up.pa, c)
        oc[t] = best
    return oc


def _solve_single(sub: StreamData, solver: str, limit_s: float, seed: int):
    from netplan.siting._tt_build import build, read
    mip = make_solver(solver)
    h = build(mip, [sub], [], None)
    res = run(mip, solver_name=solver, time_limit_s=limit_s, mip_gap=1e-3, seed=seed,
              offset=h.offset)
    if not res.has_solution:
        return None
    opens, assigns = read(h, [sub])[0]
    return opens[0], assigns[0]


def heuristic(sd: StreamData, solver: str, time_limit_s: float, seed: int = 0):
    """A feasible (opens, assigns) plan for one stream, or None if a sub-model fails."""
    T = len(sd.tiers)
    oc = onward_cost(sd)
    per = time_limit_s / T
    t0 = sd.tiers[0]
    sub0 = dataclasses.replace(sd, tiers=[dataclasses.replace(t0, extra=oc[0][t0.pb])])
    r = _solve_single(sub0, solver, per, seed)
    if r is None:
        return None
    opens, assigns = [r[0]], [r[1]]
    a0 = r[1]
    load = np.bincount(a0[a0 >= 0], weights=sd.w[a0 >= 0], minlength=t0.n)
    for t in range(1, T):
        td = sd.tiers[t]
        items = np.flatnonzero(opens[-1])
        pos = np.full(sd.tiers[t - 1].n, -1)
        pos[items] = np.arange(len(items))
        keep = (pos[td.pa] >= 0) & (load[td.pa] <= td.cap[td.pb] + 1e-9)
        pa, pb, pd = pos[td.pa[keep]], td.pb[keep], td.pd[keep]
        w = load[items]
        ub = np.minimum(np.bincount(pb, weights=w[pa], minlength=td.n), td.cap)
        tier = dataclasses.replace(td, pa=pa, pb=pb, pd=pd, extra=oc[t][pb], flow_ub=ub)
        sub = StreamData(name=sd.name, w=w, tiers=[tier], must=np.ones(len(items), dtype=bool),
                         count_mask=np.ones(len(items), dtype=bool), target=1.0, on="count",
                         penalty=0.0, need_t=float(w.sum()))
        r = _solve_single(sub, solver, per, seed)
        if r is None:
            return None
        if (r[1] < 0).any():   # an open site could not forward its load: give up
            return None
        a = np.full(sd.tiers[t - 1].n, -1, dtype=int)
        a[items] = r[1]
        opens.append(r[0])
        assigns.append(a)
        ok = a >= 0
        load = np.bincount(a[ok], weights=load[ok], minlength=td.n)
    return opens, assigns
