"""Tier-by-tier heuristic for :func:`three_tier`: a feasible plan fast, used as the MIP start.

Tier 1 is solved as a capacitated facility-location MIP whose per-tonne cost includes an
estimate of the cheapest onward cost to the top tier; tier 2 then sites stations for the open
village points' loads (again with the onward estimate), and tier 3 centres for the stations'
loads. Each sub-model is much smaller and has a tight LP; their plans chain into one feasible plan
of the whole model (co-location is ignored here, which only makes the plan dearer).
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
from ortools.linear_solver import pywraplp

from netplan.siting._mip import Budget, make_solver, nonzeros, run
from netplan.siting._tt_build import build, hint_from, read
from netplan.siting._tt_plan import StreamPlan, pair_index, price
from netplan.siting._tt_prep import StreamData
from netplan.siting._tt_split import highs_engine, solve_highs, weak_links

log = logging.getLogger(__name__)


#: Work units (about CPU seconds of CLP on an idle machine) of a block's LP relaxation per
#: squared stream size (pairs + demands, summed over the block's streams, each squared: the
#: streams of a shared-site block are nearly separate LPs). Measured with CLP on the demo and
#: demo_hills blocks (size -> CPU s): 2,984 -> 0.2; 4,186 -> 0.4; 5,239 -> 0.5-0.6;
#: 8,103 -> 1.8-2.1; 8,797 -> 1.5-1.7; 13,501 -> 3-4.3; 27,314 -> 8-12; film + packaging
#: 16,190 + 20,308 -> 11.3; the estimate is ~1x the median, 2x the best case
LP_UNITS_PER_SIZE2 = 2.1e-8
#: A HiGHS MIP's root LP (not stopped by its node limit nor by callback calls: the first MIP
#: callback comes after it) relative to :func:`lp_work`: demo_hills film + packaging, HiGHS dual
#: simplex 22 CPU s (86,763 iterations) against CLP's 11.3 s
ROOT_FACTOR = 2.0


#: SCIP parameters of the tier sub-MIPs bounding their root by counts, not the clock: at most 5
#: separation rounds (demo_hills manure's tier-1 root: 20 rounds took 4.3 of its 8.7 CPU s and
#: moved its bound 0.02 %; with 5 it ends in 5.7 CPU s on a slightly cheaper plan)
SCIP_ROOT = "separating/maxroundsroot = 5\n"


def stream_size(sd: StreamData) -> int:
    """Pairs of every tier plus demands: the size measure of :func:`lp_work` and of the block
    shares in ``three_tier``."""
    return sum(len(td.pa) for td in sd.tiers) + len(sd.w)


def lp_work(datas: list[StreamData]) -> float:
    """Estimated work units of the LP relaxation of a block of ``datas`` (see
    :data:`LP_UNITS_PER_SIZE2`): a deterministic estimate from sizes, so that whether an LP or a
    MIP root is tried depends on the model, never on the machine's load."""
    return LP_UNITS_PER_SIZE2 * sum(float(stream_size(sd)) ** 2 for sd in datas)


def root_fits(datas: list[StreamData], work: float) -> bool:
    """True when a HiGHS MIP on ``datas`` can pay for its root LP with ``work`` units
    (:data:`ROOT_FACTOR` times :func:`lp_work`)."""
    return ROOT_FACTOR * lp_work(datas) <= work


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


def _solve_single(sub: StreamData, solver: str, budget: Budget, seed: int):
    """Best of the greedy and a sub-MIP for a one-tier sub-model: ``(open, assign, flows)``.

    Multi-source: the greedy alone when it finds a plan (its single-source plan is a valid split
    plan; the sub-MIP's LP is as large as the full model's, and the LP-guided restricted MIP
    that follows does the splitting), else the sub-MIP.
    """
    if not sub.single_source:
        greedy = greedy_single(sub)
        if greedy is not None:
            return (*greedy, None)
    mip = make_solver(solver)
    h = build(mip, [sub], [], None)
    res = run(mip, solver_name=solver, time_limit_s=_safety(budget), mip_gap=1e-3, seed=seed,
              offset=h.offset, node_limit=budget.nodes(nonzeros(mip)), scip_params=SCIP_ROOT)
    budget.spent(budget.work)
    greedy = greedy_single(sub)
    if greedy is not None:
        greedy = (*greedy, None)
    if not res.has_solution:
        return greedy
    opens, assigns, flows = read(h, [sub])[0]
    mine = (opens[0], assigns[0], None if flows is None else flows[0])
    if greedy is not None and _sub_cost(sub, *greedy) < _sub_cost(sub, *mine):
        return greedy
    return mine


def _sub_cost(sub: StreamData, is_open: np.ndarray, assign: np.ndarray, flows=None) -> float:
    """Objective of a one-tier sub-model plan (fixed + per-t service + penalty), CNY/yr;
    ``flows`` = the split flows ``(src, dst, t_per_yr)`` of a multi-source plan, else None."""
    td = sub.tiers[0]
    per_t = td.rate * td.pd / 1000.0 + (0.0 if td.extra is None else td.extra)
    served = assign >= 0
    if flows is None:
        on = assign[td.pa] == td.pb
        service = float((sub.w[td.pa] * per_t)[on].sum())
    else:
        service = float((flows[2] * per_t[pair_index(td, flows[0], flows[1])]).sum())
    return (float(td.fixed[is_open].sum()) + service
            + sub.penalty * float(sub.w[~served].sum()))


def greedy_single(sub: StreamData):
    """Greedy for a one-tier sub-model: township minimums first, then demands (must-serve ones
    by decreasing weight, then the rest by cheapest service) to the cheapest site with room,
    paying the fixed cost when a site opens; optional demands only while the coverage target
    needs them or serving is cheaper than the penalty. Returns (open flags, assignment) or None."""
    td = sub.tiers[0]
    w = sub.w
    n = len(w)
    is_open = td.forced.copy()
    load = np.zeros(td.n)
    per_t = td.rate * td.pd / 1000.0 + (0.0 if td.extra is None else td.extra)
    ng = 0
    if td.group is not None:
        ng = max(int(td.group.max()) + 1 if len(td.group) else 0,
                 len(td.gmin) if td.gmin is not None else 0)
        for g in range(len(td.gmin) if td.gmin is not None else 0):
            members = np.flatnonzero((td.group == g) & td.alive)
            need = int(td.gmin[g]) - int(is_open[members].sum())
            if need > 0:
                is_open[members[np.argsort(td.fixed[members])][:need]] = True
    gcount = (np.bincount(td.group[is_open & (td.group >= 0)], minlength=ng)
              if td.group is not None else None)
    order = np.argsort(td.pa, kind="stable")
    starts = np.searchsorted(td.pa[order], np.arange(n + 1))
    best_pt = np.full(n, np.inf)
    np.minimum.at(best_pt, td.pa, per_t)
    must_idx = np.flatnonzero(sub.must)
    opt_idx = np.flatnonzero(~sub.must & np.isfinite(best_pt))
    seq = list(must_idx[np.argsort(-w[must_idx], kind="stable")]) + \
        list(opt_idx[np.argsort(best_pt[opt_idx], kind="stable")])
    assign = np.full(n, -1, dtype=int)
    total_w = float(w.sum())
    n_count = int(sub.count_mask.sum())
    for i in seq:
        pos = order[starts[i]:starts[i + 1]]
        if len(pos) == 0:
            if sub.must[i]:
                return None
            continue
        b = td.pb[pos]
        room = load[b] + w[i] <= td.cap[b] + 1e-9
        if gcount is not None and td.gmax is not None:
            g = td.group[b]
            capg = np.array([td.gmax[x] if 0 <= x < len(td.gmax) else 10**9 for x in g])
            room &= is_open[b] | (g < 0) | (gcount[np.maximum(g, 0)] < capg)
        if not room.any():
            if sub.must[i]:
                return None
            continue
        price = np.where(room, w[i] * per_t[pos] + np.where(is_open[b], 0.0, td.fixed[b]), np.inf)
        k = int(np.argmin(price))
        if not sub.must[i]:
            served = assign >= 0
            if sub.on == "weight":
                short = float(w[served].sum()) < sub.target * total_w - 1e-9
            else:
                short = int((served & sub.count_mask).sum()) < np.ceil(sub.target * n_count - 1e-9)
            if not short and price[k] >= sub.penalty * w[i]:
                continue
        j = int(b[k])
        if not is_open[j]:
            is_open[j] = True
            if gcount is not None and td.group[j] >= 0:
                gcount[td.group[j]] += 1
        assign[i] = j
        load[j] += w[i]
    _drop_pass(td, w, per_t, order, starts, is_open, load, assign, gcount)
    served = assign >= 0
    if sub.on == "weight" and float(w[served].sum()) < sub.target * total_w - 1e-6:
        return None
    if sub.on == "count" and int((served & sub.count_mask).sum()) < np.ceil(sub.target * n_count - 1e-9):
        return None
    return is_open, assign


def heuristic(sd: StreamData, solver: str, budget: Budget, seed: int = 0) -> StreamPlan | None:
    """A feasible plan for one stream, or None if a sub-model fails; each tier's sub-MIP gets a
    third of ``budget`` as a node limit (deterministic).

    When a site cannot forward its load (single sourcing: its load fits no open site of the
    tier above, e.g. demo_hills manure, a station none of the centres can take), the tiers below
    that one are re-planned with their capacities at 85 % and then 70 % (smaller loads pack into
    the tier above); the plan stays feasible for the real capacities."""
    fail: list[int] = []
    cache: dict = {}   # the demand tier's sub-model is the same in every pass
    for scale in (1.0, 0.85, 0.7):
        sd_s = sd
        if fail and fail[-1] >= 2:
            tiers = [dataclasses.replace(td, cap=td.cap * scale) if 1 <= t < fail[-1] else td
                     for t, td in enumerate(sd.tiers)]
            sd_s = dataclasses.replace(sd, tiers=tiers)
        elif fail:
            return None
        plan = _heuristic_once(sd_s, solver, budget, seed, fail, cache)
        if plan is not None:
            return plan
    return None


def _heuristic_once(sd: StreamData, solver: str, budget: Budget, seed: int,
                    fail: list[int], cache: dict) -> StreamPlan | None:
    """One pass of :func:`heuristic`; appends the tier whose items could not all be forwarded
    to ``fail`` when that is why it returns None (``cache`` keeps the demand tier's result)."""
    T = len(sd.tiers)
    oc = onward_cost(sd)
    work = budget.work
    t0 = sd.tiers[0]
    sub0 = dataclasses.replace(sd, tiers=[dataclasses.replace(t0, extra=oc[0][t0.pb])])
    if "r0" not in cache:
        cache["r0"] = _solve_single(sub0, solver, budget.split(1.0 / T), seed)
    r = cache["r0"]
    if r is None:
        return None
    single = sd.single_source
    opens, assigns = [r[0]], [r[1]]
    a0 = r[1]
    if single:
        load = np.bincount(a0[a0 >= 0], weights=sd.w[a0 >= 0], minlength=t0.n)
    else:
        flows = [_as_flows(sub0.w, r)]
        load = np.bincount(flows[0][1], weights=flows[0][2], minlength=t0.n)
    for t in range(1, T):
        td = sd.tiers[t]
        # split flows: open sites that received nothing need not forward anything
        items = np.flatnonzero(opens[-1] if single else opens[-1] & (load > 1e-9))
        pos = np.full(sd.tiers[t - 1].n, -1)
        pos[items] = np.arange(len(items))
        keep = pos[td.pa] >= 0
        if single:
            keep &= load[td.pa] <= td.cap[td.pb] + 1e-9
        pa, pb, pd = pos[td.pa[keep]], td.pb[keep], td.pd[keep]
        w = load[items]
        ub = np.minimum(np.bincount(pb, weights=w[pa], minlength=td.n), td.cap)
        tier = dataclasses.replace(td, pa=pa, pb=pb, pd=pd, extra=oc[t][pb], flow_ub=ub)
        sub = StreamData(name=sd.name, w=w, tiers=[tier], must=np.ones(len(items), dtype=bool),
                         count_mask=np.ones(len(items), dtype=bool), target=1.0, on="count",
                         penalty=0.0, need_t=float(w.sum()), single_source=single)
        r = _solve_single(sub, solver, budget.split(1.0 / T), seed)
        if r is None:
            return None
        if (r[1] < 0).any():   # an open site could not forward its load: give up
            fail.append(t)
            return None
        a = np.full(sd.tiers[t - 1].n, -1, dtype=int)
        a[items] = r[1]
        opens.append(r[0])
        assigns.append(a)
        if single:
            ok = a >= 0
            load = np.bincount(a[ok], weights=load[ok], minlength=td.n)
        else:
            src, dst, amt = _as_flows(w, r)
            flows.append((items[src], dst, amt))
            load = np.bincount(dst, weights=amt, minlength=td.n)
    budget.spent(work)
    return StreamPlan(opens, assigns, None if single else flows)


def _as_flows(w: np.ndarray, r: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flows ``(src, dst, t_per_yr)`` of a one-tier sub-model plan ``(open, assign, flows)``."""
    if r[2] is not None:
        return r[2]
    src = np.flatnonzero(r[1] >= 0)
    return src, r[1][src], w[src]


def _drop_pass(td, w, per_t, order, starts, is_open, load, assign, gcount) -> None:
    """Close open sites (lightest first) whose demands fit more cheaply elsewhere, in place."""
    cost_of = {}
    for p in range(len(td.pa)):
        cost_of[(int(td.pa[p]), int(td.pb[p]))] = float(per_t[p])
    for j in np.argsort(load, kind="stable"):
        if not is_open[j] or td.forced[j]:
            continue
        if gcount is not None and td.group[j] >= 0 and td.gmin is not None \
                and td.group[j] < len(td.gmin) and gcount[td.group[j]] <= td.gmin[td.group[j]]:
            continue
        mine = np.flatnonzero(assign == j)
        moves, extra = [], 0.0
        trial = load.copy()
        ok = True
        for i in mine[np.argsort(-w[mine], kind="stable")]:
            pos = order[starts[i]:starts[i + 1]]
            b = td.pb[pos]
            room = is_open[b] & (b != j) & (trial[b] + w[i] <= td.cap[b] + 1e-9)
            if not room.any():
                ok = False
                break
            k = int(np.argmin(np.where(room, per_t[pos], np.inf)))
            moves.append((i, int(b[k])))
            trial[b[k]] += w[i]
            extra += w[i] * (per_t[pos][k] - cost_of[(int(i), int(j))])
        if ok and extra < td.fixed[j] - 1e-9:
            for i, k in moves:
                assign[i] = k
            trial[j] = 0.0
            load[:] = trial
            is_open[j] = False
            if gcount is not None and td.group[j] >= 0:
                gcount[td.group[j]] -= 1


def _safety(budget: Budget) -> float:
    """CPU-second safety stop of a sub-solve: what is left before the budget's deadline."""
    return max(0.5, budget.left_s())


def lp_guided(datas: list[StreamData], comps: list[list[int]], site_fixed_cost, solver: str,
              budget: Budget, seed: int = 0, plans: list | None = None,
              eps: float = 1e-6, root_work: float | None = None,
              ) -> tuple[list[StreamPlan] | None, float]:
    """LP-guided restricted MIP: solve the block's LP relaxation (CLP), then the MIP restricted
    to the candidates the LP opens at all (``y > eps``), the forced ones and those ``plans``
    opens (so the given plan stays feasible and starts the restricted MIP).

    When every stream of the block is multi-source (``single_source=False``), reduced-cost
    fixing then makes a second restriction exact: with ``ub`` the cost of the best plan so far, a
    candidate whose LP reduced cost exceeds ``ub - LP`` is open in no cheaper plan (one below
    ``-(ub - LP)`` is open in every cheaper plan), so a second restricted MIP keeps every other
    candidate (started from that plan), and its bound is a bound of the full model.

    Returns ``(plans, lp_bound)``: the restricted MIP's plan per stream (None if it found none)
    and a valid lower bound of the full model in CNY/yr: the LP value, or in the exact case the
    larger of it and the second restricted MIP's bound (``-inf`` if the LP failed).
    """
    lp = pywraplp.Solver.CreateSolver("CLP")
    if lp is None:  # pragma: no cover - depends on the OR-Tools build
        return None, -np.inf
    h = build(lp, datas, comps, site_fixed_cost)
    lp.SetTimeLimit(600_000)   # wall ms: a safety only (CLP counts wall time; see _tt_bound)
    if lp.Solve() != pywraplp.Solver.OPTIMAL:
        return None, -np.inf
    lp_bound = lp.Objective().Value() + h.offset
    ys = [[np.array([0.0 if v is None else v.solution_value() for v in sv.y[t]])
           for t in range(len(sd.tiers))] for sd, sv in zip(datas, h.streams, strict=True)]
    keep = [[(y > eps) | (plans[s][0][t] if plans is not None else False)
             for t, y in enumerate(yt)] for s, yt in enumerate(ys)]
    exact = not any(sd.single_source for sd in datas)
    best, res = restricted(datas, keep, comps, site_fixed_cost, solver,
                           budget.split(0.5 if exact else 1.0), seed, plans, root_work=root_work)
    if not exact or (best is None and plans is None):
        return best, lp_bound
    cands = [p for p in (best, plans) if p is not None]
    costs = [price(datas, h.groups, p).total_cny for p in cands]
    start, ub = cands[int(np.argmin(costs))], min(costs)
    slack = ub - lp_bound + 1e-6 * max(1.0, abs(ub))
    rcs = [[np.array([0.0 if v is None else v.reduced_cost() for v in sv.y[t]])
            for t in range(len(sd.tiers))] for sd, sv in zip(datas, h.streams, strict=True)]
    keep2 = [[keep[s][t] | start[s][0][t] | (rc <= slack) for t, rc in enumerate(rt)]
             for s, rt in enumerate(rcs)]
    # open in every cheaper plan: closing it would lift the LP above ub
    force2 = [[rc < -slack for rc in rt] for rt in rcs]
    grown = any((k2 & ~k1).any() for a, b in zip(keep2, keep, strict=True)
                for k2, k1 in zip(a, b, strict=True))
    if not grown and res is not None and res.status == "optimal":
        return best, max(lp_bound, min(res.bound, ub))   # the first restriction was exact
    best2, res2 = restricted(datas, keep2, comps, site_fixed_cost, solver, budget, seed, start,
                             force2)
    if res2 is not None and (np.isfinite(res2.bound) or res2.status == "infeasible"):
        # every plan cheaper than ub is a plan of the restricted model
        lp_bound = max(lp_bound, ub if res2.status == "infeasible" else min(res2.bound, ub))
    if best2 is None or price(datas, h.groups, best2).total_cny >= ub:
        return start, lp_bound
    return best2, lp_bound


def restricted(datas, keep, comps, site_fixed_cost, solver: str, budget: Budget, seed: int,
               plans: list | None, force: list | None = None, gap: float = 1e-4,
               root_work: float | None = None):
    """The block's MIP on the candidates ``keep[s][t]`` (plus forced ones; ``force[s][t]`` are
    forced open too), started from ``plans`` (which must open only kept candidates).

    Single-source blocks stop on ``budget``'s work as a node limit (deterministic); multi-source
    blocks (HiGHS) take the work as CPU seconds. Returns (plans or None, RunResult or None).
    """
    if budget.work <= 0.0 or budget.left_s() <= 0.2:
        return None, None
    subs = []
    for s, sd in enumerate(datas):
        tiers, prev_alive = [], None
        for t, td in enumerate(sd.tiers):
            alive = td.alive & (keep[s][t] | td.forced)
            forced = td.forced if force is None else td.forced | (force[s][t] & alive)
            k = alive[td.pb]
            if prev_alive is not None:
                k &= prev_alive[td.pa]
            tiers.append(dataclasses.replace(td, alive=alive, forced=forced, pa=td.pa[k],
                                             pb=td.pb[k], pd=td.pd[k]))
            prev_alive = alive
        subs.append(dataclasses.replace(sd, tiers=tiers))
    mip = make_solver(solver)
    work = budget.work
    budget.spent(work)
    if not any(sd.single_source for sd in subs):
        # multi-source: HiGHS on the model without implied per-pair rows
        hr = build(mip, subs, comps, site_fixed_cost, links=weak_links(subs))
        hint = hint_from(hr, subs, plans) if plans is not None else None
        res, got = solve_highs(mip, hr, subs, min(work, _safety(budget)), gap, hint=hint,
                               seed=seed)
        return got, res
    hr = build(mip, subs, comps, site_fixed_cost)
    hint = hint_from(hr, subs, plans) if plans is not None else None
    if highs_engine(solver) and plans is not None:   # from a plan; else SCIP finds first ones
        room = work if root_work is None else min(work, root_work)
        log.info("restricted MIP: root LP ~%.2f units, room %.2f", ROOT_FACTOR * lp_work(subs),
                 room)
        if not root_fits(subs, room):
            # its root LP alone would outrun the work (and no callback can stop it there)
            return None, None
        res, got = solve_highs(mip, hr, subs, _safety(budget), 1e-4, hint=hint, seed=seed,
                               node_limit=Budget(work, 0.0).nodes(nonzeros(mip)))
        return got, res
    res = run(mip, solver_name=solver, time_limit_s=_safety(budget), mip_gap=1e-4, seed=seed,
              hint=hint, offset=hr.offset, node_limit=Budget(work, 0.0).nodes(nonzeros(mip)))
    return (read(hr, subs) if res.has_solution else None), res
