"""Build the :func:`three_tier` MIP on sparse pair lists and read the solution back.

A *plan* of one stream is ``(opens, assigns, flows)``: per tier the open flags, the assignment of
each item of the previous level (-1 = none; with split flows, the largest share) and, for a
multi-source stream (``single_source=False``), per tier the flows ``(src, dst, t_per_yr)``;
``flows`` is None for single-source plans (the flows follow from the assignments).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from ortools.linear_solver import pywraplp

from netplan.siting._tt_prep import StreamData
from netplan.siting._tt_split import (
    flows_multi,
    hint_multi,
    plan_flows,
    read_multi,
    transport_multi,
)
from netplan.siting.solution import StreamSolution

INF = math.inf


@dataclass
class StreamVars:
    y: list[list]                       # per tier, Variable or None per candidate
    x: list                             # tier-1 pair variables (aligned with tiers[0].pa/pb)
    u: list[list] = field(default_factory=list)   # per tier >= 2, pair variables (single source)
    f: list[list] = field(default_factory=list)
    s: list = field(default_factory=list)          # multi-source: per demand, served var or None
    shared: list[np.ndarray] = field(default_factory=list)  # per tier, bool: fixed cost paid by z


@dataclass
class Handles:
    streams: list[StreamVars]
    z: list[tuple]                       # (tier, site, var, cost, [(stream, cand), ...])
    hint: tuple[list, list] | None = None
    offset: float = 0.0                  # constant part of the objective (penalty of all tonnage)


def _groups_by(keys: np.ndarray, n: int) -> list[np.ndarray]:
    """Positions of ``keys`` grouped by value 0..n-1."""
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(n + 1))
    return [order[bounds[g]:bounds[g + 1]] for g in range(n)]


def build(mip: pywraplp.Solver, datas: list[StreamData], comps: list[list[int]],
          site_fixed_cost: np.ndarray | None, *, path_cuts: bool = False,
          links: list | None = None) -> Handles:
    """Add every variable and constraint of the model to ``mip`` and set the objective.

    ``links`` (multi-source streams only): per stream None (every per-pair linking row) or, per
    tier, a bool mask over the tier's pairs of the rows ``x_ij <= y_j`` / ``f_jk <= m y_k`` to
    add; rows left out are implied for integer ``y`` by the candidate's capacity row (they are
    kept wherever no capacity row or no positive weight makes them implied; see
    ``_tt_split.weak_links``).
    """
    obj = mip.Objective()
    offset = 0.0
    out: list[StreamVars] = []
    for s, sd in enumerate(datas):
        T = len(sd.tiers)
        ys: list[list] = []
        for t, td in enumerate(sd.tiers):
            row = [None] * td.n
            for j in np.flatnonzero(td.alive):
                v = mip.BoolVar(f"y{s}_{t}_{j}")
                if td.forced[j]:
                    v.SetLb(1.0)
                obj.SetCoefficient(v, float(td.fixed[j]))
                row[j] = v
            ys.append(row)
        sv = StreamVars(y=ys, x=[], shared=[np.zeros(td.n, dtype=bool) for td in sd.tiers])
        # tier 1: demands -> village points
        t0 = sd.tiers[0]
        w = sd.w
        xs = []
        single = sd.single_source
        lk = None if single or links is None or links[s] is None else links[s]
        wsum = np.bincount(t0.pb, weights=w[t0.pa], minlength=t0.n)
        x_row = np.ones(len(t0.pa), dtype=bool) if lk is None else lk[0] | ~(
            np.isfinite(t0.cap) & (t0.cap < wsum - 1e-9))[t0.pb] | (w[t0.pa] <= 0)
        for p, (a, b, d) in enumerate(zip(t0.pa.tolist(), t0.pb.tolist(), t0.pd.tolist(),
                                          strict=True)):
            v = mip.BoolVar(f"x{s}_{a}_{b}") if single else mip.NumVar(0.0, 1.0, f"x{s}_{a}_{b}")
            obj.SetCoefficient(v, t0.rate * w[a] * d / 1000.0 - sd.penalty * w[a]
                               + (0.0 if t0.extra is None else w[a] * float(t0.extra[len(xs)])))
            xs.append(v)
            if not t0.forced[b] and x_row[p]:
                c = mip.Constraint(-INF, 0.0)
                c.SetCoefficient(v, 1.0)
                c.SetCoefficient(ys[0][b], -1.0)
        sv.x = xs
        offset += sd.penalty * float(w.sum())
        by_dem = _groups_by(t0.pa, len(w))
        sv.s = [None] * len(w)
        for i, pos in enumerate(by_dem):
            if len(pos) == 0:
                continue
            c = mip.Constraint(1.0 if sd.must[i] else 0.0, 1.0)
            for p in pos:
                c.SetCoefficient(xs[p], 1.0)
            if not single and not sd.must[i]:   # split shares, but served fully or not at all
                sv.s[i] = mip.BoolVar(f"s{s}_{i}")
                c.SetBounds(0.0, 0.0)
                c.SetCoefficient(sv.s[i], -1.0)
        by_cand = _groups_by(t0.pb, t0.n)
        for j in np.flatnonzero(t0.alive):
            if np.isfinite(t0.cap[j]) and t0.cap[j] < wsum[j] - 1e-9:
                c = mip.Constraint(-INF, 0.0)
                for p in by_cand[j]:
                    c.SetCoefficient(xs[p], float(w[t0.pa[p]]))
                c.SetCoefficient(ys[0][j], -float(t0.cap[j]))
        # coverage target
        if sd.target > 0 and not sd.must.all():
            if sd.on == "weight":
                c = mip.Constraint(sd.target * float(w.sum()) - 1e-6, INF)
                for p, a in enumerate(t0.pa.tolist()):
                    c.SetCoefficient(xs[p], float(w[a]))
            else:
                k = math.ceil(sd.target * int(sd.count_mask.sum()) - 1e-9)
                c = mip.Constraint(float(k), INF)
                for p, a in enumerate(t0.pa.tolist()):
                    if sd.count_mask[a]:
                        c.SetCoefficient(xs[p], 1.0)
        # tiers >= 2: u (single source) and f (flow); multi-source: f alone, linked to y
        inflow_terms: list[list[tuple]] = [[(xs[p], float(w[t0.pa[p]])) for p in pos]
                                           for pos in by_cand]
        reach = np.zeros((len(w), t0.n), dtype=bool)
        reach[t0.pa, t0.pb] = True
        for t in range(1, T):
            td, prev = sd.tiers[t], sd.tiers[t - 1]
            if single:
                us, fs = _flows_single(mip, obj, s, t, td, prev, ys)
            else:
                us, fs = [], flows_multi(mip, obj, s, t, td, prev, ys,
                                         None if lk is None else lk[t])
            by_prev = _groups_by(td.pa, prev.n)
            for j in np.flatnonzero(prev.alive):
                if single:
                    c = mip.Constraint(0.0, 0.0)
                    for p in by_prev[j]:
                        c.SetCoefficient(us[p], 1.0)
                    c.SetCoefficient(ys[t - 1][j], -1.0)
                c = mip.Constraint(0.0, 0.0)
                for p in by_prev[j]:
                    c.SetCoefficient(fs[p], 1.0)
                for var, coef in inflow_terms[j]:
                    c.SetCoefficient(var, -coef)
            by_c = _groups_by(td.pb, td.n)
            new_inflow = [[(fs[p], 1.0) for p in pos] for pos in by_c]
            ub_in = np.bincount(td.pb, weights=prev.flow_ub[td.pa], minlength=td.n)
            for k in np.flatnonzero(td.alive):
                if np.isfinite(td.cap[k]) and td.cap[k] < ub_in[k] - 1e-9:
                    c = mip.Constraint(-INF, 0.0)
                    for var, coef in new_inflow[k]:
                        c.SetCoefficient(var, coef)
                    c.SetCoefficient(ys[t][k], -float(td.cap[k]))
            inflow_terms = new_inflow
            sv.u.append(us)
            sv.f.append(fs)
            if path_cuts:
                reach = _path_cuts(mip, sd, t, reach, xs, ys, fs)
        # cardinality cuts: the tonnage that must be served passes every tier, so each tier opens
        # at least the fewest candidates whose largest capacities add up to it (valid, not
        # implied by the LP: it opens e.g. 0.88 of a centre whose capacity exceeds the load)
        for t, n_min in enumerate(min_open(sd)):
            if n_min >= 2 or (n_min == 1 and not sd.tiers[t].forced.any()):
                c = mip.Constraint(float(n_min), INF)
                for v in ys[t]:
                    if v is not None:
                        c.SetCoefficient(v, 1.0)
        # sites per group
        for t, td in enumerate(sd.tiers):
            if td.group is None:
                continue
            ng = max(int(td.group.max()) + 1 if len(td.group) else 0,
                     len(td.gmin) if td.gmin is not None else 0)
            for g in range(ng):
                lo = float(td.gmin[g]) if td.gmin is not None and g < len(td.gmin) else 0.0
                hi = float(td.gmax[g]) if td.gmax is not None and g < len(td.gmax) else INF
                if lo <= 0 and hi == INF:
                    continue
                members = np.flatnonzero((td.group == g) & td.alive)
                c = mip.Constraint(lo, hi)
                for j in members:
                    c.SetCoefficient(ys[t][j], 1.0)
        out.append(sv)
    z = _colocation(mip, datas, out, comps, site_fixed_cost)
    obj.SetMinimization()
    return Handles(streams=out, z=z, offset=offset)


def _flows_single(mip, obj, s: int, t: int, td, prev, ys) -> tuple[list, list]:
    """Single-source link variables into tier ``t``: ``u_jk <= y_k``, ``f_jk <= M_j u_jk``."""
    us, fs = [], []
    for a, b, d in zip(td.pa.tolist(), td.pb.tolist(), td.pd.tolist(), strict=True):
        u = mip.BoolVar(f"u{s}_{t}_{a}_{b}")
        f = mip.NumVar(0.0, float(prev.flow_ub[a]), f"f{s}_{t}_{a}_{b}")
        obj.SetCoefficient(f, td.rate * d / 1000.0)
        us.append(u)
        fs.append(f)
        c = mip.Constraint(-INF, 0.0)
        c.SetCoefficient(f, 1.0)
        c.SetCoefficient(u, -float(prev.flow_ub[a]))
        if not td.forced[b]:
            c = mip.Constraint(-INF, 0.0)
            c.SetCoefficient(u, 1.0)
            c.SetCoefficient(ys[t][b], -1.0)
    return us, fs



def min_open(sd: StreamData) -> list[int]:
    """Per tier, the fewest open candidates whose capacities can hold ``sd.need_t`` (t/yr)."""
    out = []
    for td in sd.tiers:
        caps = np.sort(td.cap[td.alive])[::-1]
        if sd.need_t <= 1e-9 or len(caps) == 0:
            out.append(0)
            continue
        if not np.isfinite(caps[0]):
            out.append(1)
            continue
        k = int(np.searchsorted(np.cumsum(caps), sd.need_t - 1e-6 * max(1.0, sd.need_t)))
        out.append(min(k + 1, len(caps)))
    return out


def _path_cuts(mip, sd: StreamData, t: int, reach: np.ndarray, xs: list, ys: list, fs: list,
               max_nonzeros: int = 4_000_000) -> np.ndarray:
    """Demand-to-tier-``t`` variables ``p_ik`` that make the LP bound of the upper tiers strong.

    ``p_ik`` = demand i ends at tier-t site k: ``sum_k p_ik = s_i``, ``p_ik <= y_k``,
    ``sum_i q_i p_ik <= C_k y_k`` and, per link, ``f_jk <= sum_{i reaching j} q_i p_ik``. Valid for
    every integer plan; without them the big-M flow linking lets the LP open stations fractionally
    at ``f/M``. Skipped when they would add more than ``max_nonzeros`` coefficients.
    Returns the demand × tier-t reachability matrix.
    """
    td, t0 = sd.tiers[t], sd.tiers[0]
    link = np.zeros((sd.tiers[t - 1].n, td.n), dtype=bool)
    link[td.pa, td.pb] = True
    new_reach = (reach.astype(np.int32) @ link.astype(np.int32)) > 0
    w = sd.w
    heavy = w > 0
    n_reach_prev = reach[heavy].sum(axis=0)
    if int(n_reach_prev[td.pa].sum()) + int(new_reach.sum()) * 2 > max_nonzeros:
        return new_reach
    pi, pk = np.nonzero(new_reach & heavy[:, None])
    pidx = np.full(new_reach.shape, -1, dtype=np.int64)
    pvars = []
    for n, (i, k) in enumerate(zip(pi.tolist(), pk.tolist(), strict=True)):
        v = mip.NumVar(0.0, 1.0, f"p{sd.name}_{t}_{i}_{k}")
        pvars.append(v)
        pidx[i, k] = n
        if ys[t][k] is not None and not td.forced[k]:
            c = mip.Constraint(-INF, 0.0)
            c.SetCoefficient(v, 1.0)
            c.SetCoefficient(ys[t][k], -1.0)
    by_dem_x = _groups_by(t0.pa, len(w))
    by_dem_p = _groups_by(pi, len(w))
    for i in np.flatnonzero(heavy):
        if len(by_dem_p[i]) == 0:
            continue
        c = mip.Constraint(0.0, 0.0)
        for n in by_dem_p[i]:
            c.SetCoefficient(pvars[n], 1.0)
        for p in by_dem_x[i]:
            c.SetCoefficient(xs[p], -1.0)
    by_k = _groups_by(pk, td.n)
    for k in np.flatnonzero(td.alive & np.isfinite(td.cap)):
        if ys[t][k] is None or len(by_k[k]) == 0:
            continue
        c = mip.Constraint(-INF, 0.0)
        for n in by_k[k]:
            c.SetCoefficient(pvars[n], float(w[pi[n]]))
        c.SetCoefficient(ys[t][k], -float(td.cap[k]))
    dem_of_prev = [np.flatnonzero(reach[:, j] & heavy) for j in range(reach.shape[1])]
    for p, (a, b) in enumerate(zip(td.pa.tolist(), td.pb.tolist(), strict=True)):
        c = mip.Constraint(-INF, 0.0)
        c.SetCoefficient(fs[p], 1.0)
        for i in dem_of_prev[a]:
            c.SetCoefficient(pvars[pidx[i, b]], -float(w[i]))
    return new_reach


def _colocation(mip, datas, out, comps, site_fixed_cost) -> list[tuple]:
    obj = mip.Objective()
    zs = []
    sfc = None if site_fixed_cost is None else np.asarray(site_fixed_cost, dtype=float)
    for comp in comps:
        T = max(len(datas[s].tiers) for s in comp)
        for t in range(T):
            members: dict[int, list[tuple[int, int]]] = {}
            for s in comp:
                if t >= len(datas[s].tiers):
                    continue
                td = datas[s].tiers[t]
                for j in np.flatnonzero(td.alive & (td.site >= 0)):
                    members.setdefault(int(td.site[j]), []).append((s, int(j)))
            for sigma, mem in members.items():
                if len({s for s, _ in mem}) < 2:
                    continue
                if sfc is not None:
                    cost = float(sfc[sigma] if sfc.ndim == 1 else sfc[t, sigma])
                else:
                    cost = max(float(datas[s].tiers[t].fixed[j]) for s, j in mem)
                zv = mip.BoolVar(f"z{t}_{sigma}")
                obj.SetCoefficient(zv, cost)
                cz = mip.Constraint(-INF, 0.0)
                cz.SetCoefficient(zv, 1.0)
                for s, j in mem:
                    yv = out[s].y[t][j]
                    obj.SetCoefficient(yv, 0.0)
                    out[s].shared[t][j] = True
                    c = mip.Constraint(-INF, 0.0)
                    c.SetCoefficient(yv, 1.0)
                    c.SetCoefficient(zv, -1.0)
                    cz.SetCoefficient(yv, -1.0)
                zs.append((t, sigma, zv, cost, mem))
    return zs


def read(h: Handles, datas: list[StreamData]) -> list[tuple[list, list, list | None]]:
    """Per stream, the plan ``(opens, assigns, flows)`` of the solved model."""
    plans = []
    for sd, sv in zip(datas, h.streams, strict=True):
        opens = [np.array([v is not None and v.solution_value() > 0.5 for v in sv.y[t]], dtype=bool)
                 for t in range(len(sd.tiers))]
        if not sd.single_source:
            plans.append(read_multi(sd, sv, opens))
            continue
        t0 = sd.tiers[0]
        a0 = np.full(len(sd.w), -1, dtype=int)
        for p, v in enumerate(sv.x):
            if v.solution_value() > 0.5:
                a0[t0.pa[p]] = t0.pb[p]
        assigns = [a0]
        for t in range(1, len(sd.tiers)):
            td, prev = sd.tiers[t], sd.tiers[t - 1]
            a = np.full(prev.n, -1, dtype=int)
            for p, v in enumerate(sv.u[t - 1]):
                if v.solution_value() > 0.5:
                    a[td.pa[p]] = td.pb[p]
            assigns.append(a)
        plans.append((opens, assigns, None))
    return plans






def hint_from(h: Handles, datas: list[StreamData], plans: list[tuple]) -> tuple[list, list]:
    """Values of every binary and flow variable for a given plan (a MIP start)."""
    vs, vals = [], []
    for sd, sv, plan in zip(datas, h.streams, plans, strict=True):
        opens, assigns = plan[0], plan[1]
        for t in range(len(sd.tiers)):
            for j, v in enumerate(sv.y[t]):
                if v is not None:
                    vs.append(v)
                    vals.append(1.0 if opens[t][j] else 0.0)
        if not sd.single_source:
            hint_multi(sd, sv, plan, vs, vals)
            continue
        t0 = sd.tiers[0]
        a0 = assigns[0]
        vs.extend(sv.x)
        vals.extend((a0[t0.pa] == t0.pb).astype(float).tolist())
        load = np.bincount(a0[a0 >= 0], weights=sd.w[a0 >= 0], minlength=t0.n)
        for t in range(1, len(sd.tiers)):
            td = sd.tiers[t]
            a = assigns[t]
            on = a[td.pa] == td.pb
            vs.extend(sv.u[t - 1])
            vals.extend(on.astype(float).tolist())
            vs.extend(sv.f[t - 1])
            vals.extend(np.where(on, load[td.pa], 0.0).tolist())
            ok = a >= 0
            load = np.bincount(a[ok], weights=load[ok], minlength=td.n)
    for t, _sigma, zv, _cost, mem in h.z:
        vs.append(zv)
        vals.append(1.0 if any(plans[s][0][t][j] for s, j in mem) else 0.0)
    return vs, vals



def evaluate(h: Handles, datas: list[StreamData], plans: list[tuple]):
    """Loads and the cost split of a plan (from the MIP or a heuristic)."""
    fixed_by_stream = [0.0] * len(datas)
    shared_by_tier: dict[int, list[int]] = {}
    for t, sigma, _zv, cost, mem in h.z:
        openers = sorted({s for s, j in mem if plans[s][0][t][j]})
        if not openers:
            continue
        if len(openers) >= 2:
            shared_by_tier.setdefault(t, []).append(sigma)
        for s in openers:
            fixed_by_stream[s] += cost / len(openers)
    out = []
    tot_f = tot_t = tot_p = 0.0
    for s, (sd, sv) in enumerate(zip(datas, h.streams, strict=True)):
        is_opens, assigns = plans[s][0], plans[s][1]
        flows = plan_flows(sd, plans[s])
        opens = []
        for t, td in enumerate(sd.tiers):
            is_open = is_opens[t]
            opens.append(np.flatnonzero(is_open))
            fixed_by_stream[s] += float(td.fixed[is_open & ~sv.shared[t]].sum())
        served = assigns[0] >= 0
        if sd.single_source:
            transport, loads = _transport_single(sd, assigns)
        else:
            transport, loads = transport_multi(sd, flows)
        penalty = sd.penalty * float(sd.w[~served].sum())
        wt = float(sd.w.sum())
        cm = sd.count_mask
        out.append(StreamSolution(
            name=sd.name, open=tuple(opens), assignment=tuple(assigns), load_t=tuple(loads),
            served=served, coverage_weight=float(sd.w[served].sum()) / wt if wt > 0 else 1.0,
            coverage_count=float(served[cm].mean()) if cm.any() else 1.0,
            fixed_cost_cny=fixed_by_stream[s], transport_cost_cny=transport, penalty_cny=penalty,
            flow_t=tuple(flows)))
        tot_f += fixed_by_stream[s]
        tot_t += transport
        tot_p += penalty
    T_max = max(len(sd.tiers) for sd in datas)
    shared = tuple(np.array(sorted(shared_by_tier.get(t, [])), dtype=int) for t in range(T_max))
    return out, tot_f, tot_t, tot_p, shared


def _transport_single(sd: StreamData, assigns: list) -> tuple[float, list]:
    """Transport cost (CNY/yr) and per-tier loads (t/yr) of a single-source plan."""
    t0 = sd.tiers[0]
    a0 = assigns[0]
    served = a0 >= 0
    dist0 = np.zeros(len(sd.w))
    c0 = dict(zip(zip(t0.pa.tolist(), t0.pb.tolist(), strict=True), t0.pd.tolist(), strict=True))
    for i in np.flatnonzero(served):
        dist0[i] = c0[(int(i), int(a0[i]))]
    transport = float((t0.rate * sd.w * dist0 / 1000.0)[served].sum())
    load = np.bincount(a0[served], weights=sd.w[served], minlength=t0.n)
    loads = [load]
    for t in range(1, len(sd.tiers)):
        td, prev = sd.tiers[t], sd.tiers[t - 1]
        a = assigns[t]
        ct = dict(zip(zip(td.pa.tolist(), td.pb.tolist(), strict=True), td.pd.tolist(), strict=True))
        dist = np.zeros(prev.n)
        for j in np.flatnonzero(a >= 0):
            dist[j] = ct[(int(j), int(a[j]))]
        ok = a >= 0
        transport += float((td.rate * load * dist / 1000.0)[ok].sum())
        load = np.bincount(a[ok], weights=load[ok], minlength=td.n)
        loads.append(load)
    return transport, loads
