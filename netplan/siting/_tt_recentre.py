r"""Re-choose the top tier of a single-source :func:`three_tier` plan: a local search over the
county centres' open *set*, its moves priced by an LP (issue 16, manure).

Why: on the demo county's manure block the 60 s plan (20.27 M CNY/yr) opens five centres (two
small, three large) and the large-neighbourhood search of ``_tt_lns`` keeps them: its
upper-tiers neighbourhood (demand tier fixed, stations and centres free) is a MIP HiGHS leaves
near its root within the node limit. With the points and the demands' links of that same plan
fixed, four large centres elsewhere serve the same tonnage for 19.68 M (-2.9 %), and the LP of
that small model says so: with the centres fixed to a set, its value is within 0.1-0.6 % of the
set's MIP optimum (19,665,099 vs 19,675,662 for the best set), while which set is best is
exactly what the MIP search does not find.

Method: the upper-tiers model of the plan (``_tt_lns.restrict`` with ``_tt_lns._upper``: the
first tier — which points open, each demand's point — fixed; every tier above free) is built
once as an LP (``_tt_topbb._NodeLP``, warm-started dual simplex). From the plan's top-tier set,
best-improvement local search over the sets reachable by one move — swap one open site for a
closed one, close one, open one, or replace two by one — each set priced by the LP with the top
tier's ``y`` fixed to it (sets whose capacity cannot hold the plan's served tonnage skipped).
Then the ``MIP_SETS`` cheapest sets by LP value other than the plan's own are solved as the
upper-tiers MIP with the top tier restricted to the set (HiGHS, node limit); the cheapest
feasible plan (``_tt_plan.plan_problem``) below the start is returned.

Work: LP simplex iterations (``ITERS_PER_UNIT`` per unit, fewer on larger LPs) and MIP nodes (``_tt_lns``'s
nonzeros x nodes per unit) — counts, not time, so the same inputs give the same plan on an idle
and on a loaded machine; the budget's CPU deadline is only a safety stop.
"""

from __future__ import annotations

import itertools
import logging
import math

import numpy as np

from netplan.siting._mip import Budget, clock, make_solver, nonzeros
from netplan.siting._tt_build import build
from netplan.siting._tt_lns import (
    BUILD_NZ_PER_UNIT,
    MIN_UNITS,
    NZ_NODES_PER_UNIT,
    _upper,
    cost,
    restrict,
)
from netplan.siting._tt_plan import StreamPlan, plan_problem
from netplan.siting._tt_prep import StreamData
from netplan.siting._tt_split import solve_highs
from netplan.siting._tt_topbb import _NodeLP

log = logging.getLogger(__name__)

#: Dual simplex iterations per work unit on an upper-tiers LP of ITERS_NZ nonzeros, scaled by
#: ``(ITERS_NZ / nonzeros) ** 1.25`` for other sizes, and the charge per LP solve (its call
#: overhead) in iterations. Demo county: manure (8.2 k nonzeros) 75 k iterations in 4.8 CPU s
#: over 900 LPs (64 us each); domestic waste (30 k nonzeros) ~16 k in 5.7 s over 37 LPs (356 us);
#: a call that changes little took 2.6 ms on manure (11 iterations; 656 LPs took 2.5 CPU s)
ITERS_PER_UNIT = 16_000
ITERS_NZ = 8_200
ITERS_PER_LP = 10
#: Share of the work for the LP local search (the rest: the MIPs of the cheapest sets)
LP_SHARE = 0.75
#: Cheapest sets by LP value solved as MIPs at the end
MIP_SETS = 3
#: Node limit of each of those MIPs (demo manure: optimal in 0.1-1.1 CPU s), at most what
#: their share of the work buys (``_tt_lns.NZ_NODES_PER_UNIT``)
MIP_NODES = 400


def moves(cur: frozenset, alive: np.ndarray, forced: np.ndarray, wide: bool = False
          ) -> list[frozenset]:
    """Top-tier sets one move from ``cur`` (module doc), sorted (deterministic order), forced
    sites kept open, only ``alive`` sites opened: swap one, close one, open one; with ``wide``
    the two-for-one replacements instead."""
    closed = [int(k) for k in np.flatnonzero(alive) if k not in cur]
    free = sorted(k for k in cur if not forced[k])
    if wide:
        out = {cur - {a, b} | {c} for a, b in itertools.combinations(free, 2) for c in closed}
    else:
        out = {cur - {a} | {b} for a in free for b in closed}
        out |= {cur - {a} for a in free}
        out |= {cur | {b} for b in closed}
    return sorted(out, key=lambda s: sorted(s))


def recentre(sd: StreamData, plan: StreamPlan, budget: Budget, seed: int = 0,
             tier: int | None = None) -> StreamPlan | None:
    """A strictly cheaper plan than ``plan`` with another top-tier set (module doc), or None.

    Parameters
    ----------
    sd
        One single-source stream with at least two tiers.
    plan
        A feasible plan of ``sd`` (its first tier is kept).
    budget
        Work units (LP iterations and MIP nodes, module doc) and the CPU safety stop; the work
        spent is deducted from it.
    seed
        HiGHS random seed of the MIPs.
    tier
        The tier whose open set is searched (default the top one; a middle one, e.g. the
        stations, with every tier above it free in the LP and in the MIPs).
    """
    T = len(sd.tiers)
    tier = T - 1 if tier is None else int(tier)
    if not sd.single_source or T < 2 or budget.work <= 0 or not 1 <= tier < T:
        return None
    c0, work0 = clock(), budget.work
    start_c = cost(sd, plan)
    top = sd.tiers[tier]
    fo, fs = _upper(sd)
    sub = restrict(sd, plan, fo, fs)
    node = _NodeLP(sub, [], None, False, n_tiers=T - tier)
    _, site, sl = node.tiers[-1]
    pos = {int(k): sl.start + i for i, k in enumerate(site)}
    served = float(sd.w[plan.assigns[0] >= 0].sum())
    nz = node.hs.getLp().a_matrix_.start_[-1]
    per_unit = ITERS_PER_UNIT * (ITERS_NZ / max(nz, 1)) ** 1.25   # iterations per work unit
    # the root LP's iterations included; each LP also charged its call
    limit = LP_SHARE * budget.work * per_unit
    seen: dict[frozenset, float] = {}
    state = {"basis": node.solve((), math.inf)[2]}

    def value(s: frozenset) -> float:
        if s not in seen:
            idx = sorted(s)
            if float(top.cap[idx].sum()) < served - 1e-6 * max(1.0, served):
                seen[s] = math.inf
            else:    # warm-started from the current set's basis (one or two sites differ)
                cons = tuple((frozenset([pos[k]]), int(k in s), int(k in s)) for k in site)
                seen[s], _, b = node.solve(cons, math.inf, state["basis"])
                node.iters += ITERS_PER_LP
                bases[s] = b
        return seen[s]

    bases: dict[frozenset, object] = {}
    cur = frozenset(int(k) for k in np.flatnonzero(plan.opens[tier]))
    alive = np.zeros(top.n, dtype=bool)
    alive[site] = True
    cur_v = value(cur)
    state["basis"] = bases.get(cur) or state["basis"]
    while math.isfinite(cur_v) and node.iters < limit and budget.left_s() > 0.2:
        best, best_v = cur, cur_v
        for wide in (False, True):        # single moves; the two-for-one ones only when none gains
            for s in moves(cur, alive, top.forced, wide):
                if node.iters >= limit or budget.left_s() <= 0.2:
                    break
                v = value(s)
                if v < best_v - 1e-9 * abs(best_v):
                    best, best_v = s, v
            if best != cur:
                break
        if best == cur:
            break
        cur, cur_v = best, best_v
        state["basis"] = bases.get(cur) or state["basis"]
        bases.clear()
    budget.spent(node.iters / per_unit)
    lp_s = clock() - c0
    start_set = frozenset(int(k) for k in np.flatnonzero(plan.opens[tier]))
    # only sets the LP prices below the plan's own set: where the search found none, the work
    # is left for the LNS after it (demo straw, recyclables, domestic waste: their plans already
    # use the LP's best set)
    start_v = seen.get(start_set, math.inf)
    ranked = sorted(((v, sorted(s)) for s, v in seen.items()
                     if v < start_v and s != start_set))[:MIP_SETS]
    best_p, best_c = None, start_c
    for i, (_, s) in enumerate(ranked):
        if budget.work <= 0 or budget.left_s() <= 0.2:
            break
        p = _solve_set(sd, sub, s, budget, budget.work / (len(ranked) - i), seed, tier)
        if p is None:
            continue
        c = cost(sd, p)
        if c < best_c - 1e-9 * max(1.0, abs(best_c)) and plan_problem(sd, p) is None:
            best_p, best_c = p, c
    log.info("%s: recentre tier %d %.0f -> %.0f CNY/yr, %d LPs (%.1f CPU s), %.2f work units, "
             "%.1f CPU s", sd.name, tier, start_c, best_c, len(seen), lp_s, work0 - budget.work,
             clock() - c0)
    return best_p


def _solve_set(sd: StreamData, sub: StreamData, s: list[int], budget: Budget, units: float,
               seed: int, tier: int) -> StreamPlan | None:
    """The upper-tiers MIP ``sub`` with tier ``tier``'s open set within ``s`` (HiGHS, node limit
    ``MIP_NODES`` or what ``units`` buy; its nodes and build charged to ``budget``); its plan or
    None (also when ``units`` buy no node)."""
    mip = make_solver("highs")
    h = build(mip, [sub], [], None)
    keep = set(s)
    for k, v in enumerate(h.streams[0].y[tier]):
        if v is not None and k not in keep:
            v.SetUb(0.0)
    nz = nonzeros(mip)
    limit = min(MIP_NODES, int(units * NZ_NODES_PER_UNIT / nz))
    if limit < 1:
        budget.spent(units)
        return None
    res, got = solve_highs(mip, h, [sub], max(0.5, budget.left_s()), 1e-6, seed=seed,
                           node_limit=limit)
    log.debug("recentre set %s: nz %d limit %d nodes %d %s", s, nz, limit, res.nodes, res.status)
    budget.spent(max(MIN_UNITS, res.nodes * nz / NZ_NODES_PER_UNIT) + nz / BUILD_NZ_PER_UNIT)
    return got[0] if got else None
