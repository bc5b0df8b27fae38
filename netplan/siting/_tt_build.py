"""Build the :func:`three_tier` MIP on sparse pair lists, read plans back and make MIP starts.

Plans are :class:`~netplan.siting._tt_plan.StreamPlan` (per tier the open flags, assignments and,
for a multi-source stream, split flows). Multi-source streams (``single_source=False``): a
demand's share ``x_ij`` is continuous in [0, 1] and the links above tier 1 carry continuous
flows ``f_jk <= min(C_k, M_j) y_k`` without the binary ``u_jk``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from ortools.linear_solver import pywraplp

from netplan.siting._tt_plan import CoGroup, StreamPlan, colocation_groups, pair_index, plan_flows
from netplan.siting._tt_prep import StreamData

INF = math.inf


@dataclass
class StreamVars:
    y: list[list]                       # per tier, Variable or None per candidate
    x: list                             # tier-1 pair variables (aligned with tiers[0].pa/pb)
    u: list[list] = field(default_factory=list)   # per tier >= 2, pair variables (single source)
    f: list[list] = field(default_factory=list)
    s: list = field(default_factory=list)          # multi-source: per demand, served var or None
    paths: tuple | None = None   # single source: (v pair arrays, v vars, p keys, p vars); _path_links
    shared: list[np.ndarray] = field(default_factory=list)  # per tier, bool: fixed cost paid by z


@dataclass
class Handles:
    streams: list[StreamVars]
    z: list                              # per co-location group, its site variable
    groups: list[CoGroup] = field(default_factory=list)   # co-location groups, aligned with z
    offset: float = 0.0                  # constant part of the objective (penalty of all tonnage)


def _groups_by(keys: np.ndarray, n: int) -> list[np.ndarray]:
    """Positions of ``keys`` grouped by value 0..n-1."""
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(n + 1))
    return [order[bounds[g]:bounds[g + 1]] for g in range(n)]


def build(mip: pywraplp.Solver, datas: list[StreamData], comps: list[list[int]],
          site_fixed_cost: np.ndarray | None, *, path_cuts: bool = False,
          links: list | None = None, path_links: bool = False) -> Handles:
    """Add every variable and constraint of the model to ``mip`` and set the objective.

    ``links`` (multi-source streams only): per stream None (every per-pair linking row) or, per
    tier, a bool mask over the tier's pairs of the rows ``x_ij <= y_j`` / ``f_jk <= m y_k`` to
    add; rows left out are implied for integer ``y`` by the candidate's capacity row (they are
    kept wherever no capacity row or no positive weight makes them implied; see
    ``_tt_split.weak_links``). ``path_links`` (single-source streams): add the demand-level
    path variables of :func:`_path_links` (a tighter LP at the station tier).
    """
    obj = mip.Objective()
    offset = 0.0
    out: list[StreamVars] = []
    for s, sd in enumerate(datas):
        T = len(sd.tiers)
        ys = _site_vars(mip, obj, s, sd)
        sv = StreamVars(y=ys, x=[], shared=[np.zeros(td.n, dtype=bool) for td in sd.tiers])
        single = sd.single_source
        lk = None if single or links is None or links[s] is None else links[s]
        by_cand = _tier1(mip, obj, s, sd, sv, lk)
        offset += sd.penalty * float(sd.w.sum())
        _upper_tiers(mip, obj, s, sd, sv, by_cand, lk, path_cuts=path_cuts)
        if single and path_links and T >= 2:
            _path_links(mip, sd, sv)
        _count_rows(mip, sd, ys)
        out.append(sv)
    groups = colocation_groups(datas, comps, site_fixed_cost)
    z = _colocation(mip, out, groups)
    obj.SetMinimization()
    return Handles(streams=out, z=z, groups=groups, offset=offset)


def _site_vars(mip, obj, s: int, sd: StreamData) -> list[list]:
    """Open variables y per tier and candidate (None where the candidate may not open)."""
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
    return ys


def _tier1(mip, obj, s: int, sd: StreamData, sv: StreamVars, lk) -> list[np.ndarray]:
    """Tier 1 (demands -> village points): x, linking, assignment, capacity and coverage rows.

    Sets ``sv.x`` and ``sv.s``; returns the pair positions grouped by village point.
    """
    ys = sv.y
    t0 = sd.tiers[0]
    w = sd.w
    xs = []
    single = sd.single_source
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
    return by_cand


def _upper_tiers(mip, obj, s: int, sd: StreamData, sv: StreamVars, by_cand: list[np.ndarray],
                 lk, *, path_cuts: bool) -> None:
    """Tiers >= 2: u (single source) and f (flow); multi-source: f alone, linked to y.

    Appends to ``sv.u`` and ``sv.f``; adds flow conservation, capacity and optional path cuts.
    """
    ys, xs, w = sv.y, sv.x, sd.w
    t0 = sd.tiers[0]
    single = sd.single_source
    inflow_terms: list[list[tuple]] = [[(xs[p], float(w[t0.pa[p]])) for p in pos]
                                       for pos in by_cand]
    reach = np.zeros((len(w), t0.n), dtype=bool)
    reach[t0.pa, t0.pb] = True
    for t in range(1, len(sd.tiers)):
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


def _count_rows(mip, sd: StreamData, ys: list[list]) -> None:
    """Cardinality cuts and the at-least / at-most sites per group rows."""
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

def _path_links(mip, sd: StreamData, sv: StreamVars, max_vars: int = 60_000) -> None:
    r"""Demand-level path variables between village points and stations (single source).

    :math:`v_{ijk}` = demand :math:`i` goes through point :math:`j` to station :math:`k`:
    :math:`\sum_k v_{ijk} = x_{ij}`, :math:`v_{ijk} \le u_{jk}`,
    :math:`f_{jk} = \sum_i q_i v_{ijk}`, and :math:`p_{ik} = \sum_j v_{ijk} \le y_k`. Exact for
    integer plans (:math:`v = x u`); the LP can no longer open a station at the fraction
    :math:`f/M` of its flow bound (on the demo county the root bound rises by ~1 % and the
    station tier's LP becomes almost integral). Skipped when it would add more than ``max_vars``.
    """
    t0, t1 = sd.tiers[0], sd.tiers[1]
    heavy = np.flatnonzero(sd.w[t0.pa] > 0)
    out_of = _groups_by(t1.pa, t0.n)
    n_v = sum(len(out_of[b]) for b in t0.pb[heavy].tolist())
    if n_v == 0 or n_v > max_vars:
        return
    vp, vq, vv = [], [], []
    f_terms: list[list] = [[] for _ in range(len(t1.pa))]
    p_vars: dict[tuple[int, int], list] = {}
    for p in heavy.tolist():
        i, j = int(t0.pa[p]), int(t0.pb[p])
        c = mip.Constraint(0.0, 0.0)
        c.SetCoefficient(sv.x[p], -1.0)
        for q in out_of[j].tolist():
            v = mip.NumVar(0.0, 1.0, "")
            c.SetCoefficient(v, 1.0)
            cu = mip.Constraint(-INF, 0.0)
            cu.SetCoefficient(v, 1.0)
            cu.SetCoefficient(sv.u[0][q], -1.0)
            f_terms[q].append((v, float(sd.w[i])))
            p_vars.setdefault((i, int(t1.pb[q])), []).append(v)
            vp.append(p)
            vq.append(q)
            vv.append(v)
    for q, terms in enumerate(f_terms):
        c = mip.Constraint(0.0, 0.0)
        c.SetCoefficient(sv.f[0][q], -1.0)
        for v, wi in terms:
            c.SetCoefficient(v, wi)
    keys, pv = [], []
    for (i, k), vs in p_vars.items():
        agg = mip.NumVar(0.0, 1.0, "")
        c = mip.Constraint(0.0, 0.0)
        c.SetCoefficient(agg, -1.0)
        for v in vs:
            c.SetCoefficient(v, 1.0)
        if sv.y[1][k] is not None and not t1.forced[k]:
            cy = mip.Constraint(-INF, 0.0)
            cy.SetCoefficient(agg, 1.0)
            cy.SetCoefficient(sv.y[1][k], -1.0)
        keys.append((i, k))
        pv.append(agg)
    sv.paths = (np.array(vp, dtype=int), np.array(vq, dtype=int), vv, keys, pv)


def _hint_paths(sd: StreamData, sv: StreamVars, plan, vs: list, vals: list) -> None:
    """Append the path variables' values of a single-source plan to a MIP start."""
    if sv.paths is None:
        return
    vp, vq, vv, keys, pv = sv.paths
    t0, t1 = sd.tiers[0], sd.tiers[1]
    a0, a1 = plan[1][0], plan[1][1]
    on = (a0[t0.pa[vp]] == t0.pb[vp]) & (a1[t1.pa[vq]] == t1.pb[vq])
    vs.extend(vv)
    vals.extend(on.astype(float).tolist())
    at = np.where(a0 >= 0, a1[np.maximum(a0, 0)], -1)
    vs.extend(pv)
    vals.extend([1.0 if at[i] == k else 0.0 for i, k in keys])


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


def _colocation(mip, out: list[StreamVars], groups: list[CoGroup]) -> list:
    """Site variables ``z`` of the co-location groups: ``y <= z <= sum y``, fixed cost on ``z``."""
    obj = mip.Objective()
    zs = []
    for g in groups:
        zv = mip.BoolVar(f"z{g.tier}_{g.site}")
        obj.SetCoefficient(zv, g.cost_cny)
        cz = mip.Constraint(-INF, 0.0)
        cz.SetCoefficient(zv, 1.0)
        for s, j in g.members:
            yv = out[s].y[g.tier][j]
            obj.SetCoefficient(yv, 0.0)
            out[s].shared[g.tier][j] = True
            c = mip.Constraint(-INF, 0.0)
            c.SetCoefficient(yv, 1.0)
            c.SetCoefficient(zv, -1.0)
            cz.SetCoefficient(yv, -1.0)
        zs.append(zv)
    return zs


def flows_multi(mip, obj, s: int, t: int, td, prev, ys, mask: np.ndarray | None = None) -> list:
    """Multi-source flow variables into tier ``t``: ``0 <= f_jk <= min(C_k, M_j) y_k``.

    ``mask``: the pairs whose linking row to add (None: all); a row is always added where the
    candidate has no capacity row binding its inflow (then it is not implied).
    """
    fs = []
    if mask is not None:
        ub_in = np.bincount(td.pb, weights=prev.flow_ub[td.pa], minlength=td.n)
        mask = mask | ~(np.isfinite(td.cap) & (td.cap < ub_in - 1e-9))[td.pb]
    for p, (a, b, d) in enumerate(zip(td.pa.tolist(), td.pb.tolist(), td.pd.tolist(),
                                      strict=True)):
        m = float(min(prev.flow_ub[a], td.cap[b]))
        f = mip.NumVar(0.0, m, f"f{s}_{t}_{a}_{b}")
        obj.SetCoefficient(f, td.rate * d / 1000.0)
        fs.append(f)
        if not td.forced[b] and (mask is None or mask[p]):
            c = mip.Constraint(-INF, 0.0)
            c.SetCoefficient(f, 1.0)
            c.SetCoefficient(ys[t][b], -m)
    return fs


def _largest(src: np.ndarray, dst: np.ndarray, val: np.ndarray, n: int) -> np.ndarray:
    """Per source 0..n-1, the destination of its largest positive ``val`` (-1 where none)."""
    out = np.full(n, -1, dtype=int)
    pos = val > 0
    src, dst, val = src[pos], dst[pos], val[pos]
    order = np.lexsort((dst, -val, src))      # per source: largest value first, then lowest dst
    first = np.ones(len(order), dtype=bool)
    first[1:] = src[order][1:] != src[order][:-1]
    out[src[order][first]] = dst[order][first]
    return out


def values(vs: list) -> np.ndarray:
    """Solution values of a list of variables (None = 0)."""
    return np.array([0.0 if v is None else v.solution_value() for v in vs], dtype=float)


def _read_multi(sd: StreamData, sv: StreamVars, opens: list) -> StreamPlan:
    """Plan of a multi-source stream: shares and flows from x and f, assignment = largest share."""
    t0 = sd.tiers[0]
    xv = values(sv.x)
    xv[xv < 1e-9] = 0.0
    share = np.bincount(t0.pa, weights=xv, minlength=len(sd.w))
    a0 = _largest(t0.pa, t0.pb, xv, len(sd.w))
    a0[share < 0.5] = -1                      # served fully or not at all (s_i binary)
    amt = sd.w[t0.pa] * xv
    on = (amt > 1e-9) & (a0[t0.pa] >= 0)
    assigns, flows = [a0], [(t0.pa[on].copy(), t0.pb[on].copy(), amt[on])]
    for t in range(1, len(sd.tiers)):
        td, prev = sd.tiers[t], sd.tiers[t - 1]
        fv = values(sv.f[t - 1])
        on = fv > 1e-9
        assigns.append(_largest(td.pa, td.pb, np.where(on, fv, 0.0), prev.n))
        flows.append((td.pa[on].copy(), td.pb[on].copy(), fv[on]))
    return StreamPlan(opens, assigns, flows)


def read(h: Handles, datas: list[StreamData]) -> list[StreamPlan]:
    """Per stream, the plan of the solved model."""
    plans = []
    for sd, sv in zip(datas, h.streams, strict=True):
        opens = [values(sv.y[t]) > 0.5 for t in range(len(sd.tiers))]
        if not sd.single_source:
            plans.append(_read_multi(sd, sv, opens))
            continue
        t0 = sd.tiers[0]
        a0 = np.full(len(sd.w), -1, dtype=int)
        on = values(sv.x) > 0.5
        a0[t0.pa[on]] = t0.pb[on]
        assigns = [a0]
        for t in range(1, len(sd.tiers)):
            td, prev = sd.tiers[t], sd.tiers[t - 1]
            a = np.full(prev.n, -1, dtype=int)
            on = values(sv.u[t - 1]) > 0.5
            a[td.pa[on]] = td.pb[on]
            assigns.append(a)
        plans.append(StreamPlan(opens, assigns, None))
    return plans


def _hint_multi(sd: StreamData, sv: StreamVars, plan: StreamPlan, vs: list, vals: list) -> None:
    """Append the x, s and f values of a plan to a multi-source stream's MIP start."""
    flows = plan_flows(sd, plan)
    a0 = plan.assigns[0]
    t0 = sd.tiers[0]
    xv = np.zeros(len(t0.pa))
    src, dst, amt = flows[0]
    pos = pair_index(t0, src, dst)
    ok = (pos >= 0) & (sd.w[src] > 0)
    xv[pos[ok]] = amt[ok] / sd.w[src[ok]]
    light = (sd.w[t0.pa] <= 0) & (a0[t0.pa] == t0.pb)   # weightless demands: their assignment
    xv[light] = 1.0
    vs.extend(sv.x)
    vals.extend(xv.tolist())
    for i, v in enumerate(sv.s):
        if v is not None:
            vs.append(v)
            vals.append(1.0 if a0[i] >= 0 else 0.0)
    for t in range(1, len(sd.tiers)):
        td = sd.tiers[t]
        fv = np.zeros(len(td.pa))
        src, dst, amt = flows[t]
        pos = pair_index(td, src, dst)
        fv[pos[pos >= 0]] = amt[pos >= 0]
        vs.extend(sv.f[t - 1])
        vals.extend(fv.tolist())


def hint_from(h: Handles, datas: list[StreamData], plans: list[StreamPlan]) -> tuple[list, list]:
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
            _hint_multi(sd, sv, StreamPlan(*plan), vs, vals)
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
        _hint_paths(sd, sv, plan, vs, vals)
    for g, zv in zip(h.groups, h.z, strict=True):
        vs.append(zv)
        vals.append(1.0 if any(plans[s][0][g.tier][j] for s, j in g.members) else 0.0)
    return vs, vals

