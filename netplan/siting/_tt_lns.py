"""Large-neighbourhood search for one-stream single-source blocks of :func:`three_tier` (issue 16).

On the demo county the full MIP of a single-source block stops near its root, so the plan is
the tier heuristic's or the LP-guided restricted MIP's, and it loses at the upper tiers (manure:
five centres where four large ones and fewer stations serve the same tonnage). :func:`improve`
destroys and repairs such a plan:

- a *region* neighbourhood frees a few candidates of the tier below the top (stations: a seed and
  its nearest by :func:`proximity`), the points and demands their incumbent paths come from, the
  closed points linked to both and the unserved demands linked in, and every top-tier candidate
  with every station's link up; everything else is fixed at the incumbent (:func:`restrict`);
- the *upper-tiers* neighbourhood (the demand tier fixed, every tier above free): first, when
  ``TOP_SHARE`` of the work buys it enough nodes, and after every round over all seeds without
  improvement, followed by regions one candidate larger;
- *tier sweeps* once, after the first ``SWEEP_AFTER`` regions: the upper tiers again and the
  *lower-tiers* neighbourhood (which points open and every demand's and point's link free, the
  stations and centres fixed), each freed item keeping its links to every candidate open in the
  incumbent as well as its nearest (:func:`_sweep`).

Each neighbourhood is the block's own MIP (``_tt_build.build``) on the restricted data, solved by
HiGHS (``_tt_split.solve_highs``) from the incumbent under a node limit; a cheaper plan that
passes ``_tt_plan.plan_problem`` becomes the incumbent. Seeds come from
``np.random.default_rng(seed)`` and the search stops on work (node limits charged per
neighbourhood), so the same inputs and seed give the same plan on an idle and a loaded machine;
the budget's CPU deadline is only the safety stop. :func:`reserve` and :func:`improve_block` are
the hooks in ``_tt_block.solve_block``.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from netplan.siting._mip import Budget, clock, make_solver, nonzeros
from netplan.siting._tt_build import build, hint_from
from netplan.siting._tt_plan import StreamPlan, plan_problem, price
from netplan.siting._tt_prep import StreamData
from netplan.siting._tt_split import solve_highs

log = logging.getLogger(__name__)

#: Share of a one-stream single-source block's work kept for :func:`improve`, and the CPU
#: seconds per work unit of its safety stop.
LNS_SHARE = 0.7
SAFETY_S_PER_UNIT = 4.0
#: Work units of the upper-tiers neighbourhood (the demand tier fixed, every tier above free),
#: tried after each round of regions without improvement.
TOP_UNITS = 3.0
#: Share of the LNS work for the upper-tiers neighbourhood tried first, when that buys at least
#: TOP_MIN_NODES node-equivalents (fewer find nothing: HiGHS is still at its root). At the 60 s
#: demo's LNS work, TOP_MIN_NODES 50 / 25 gave straw 11.42 / 10.99 M, manure 20.13 / 20.52 M
#: CNY/yr (its upper tiers need ~60 node-equivalents), recyclables and domestic waste the same.
TOP_SHARE = 0.6
TOP_MIN_NODES = 25
#: Candidates of the tier below the top per region neighbourhood (grows by one after a round
#: of regions without improvement).
REGION_SIZE = 2
#: Work units (node limit) per region neighbourhood, and the least a sub-MIP is charged.
HOOD_UNITS = 1.0
MIN_UNITS = 0.05
#: Links kept per freed item in a neighbourhood: its NEAREST shortest (and its incumbent one).
#: Smaller models get further on the same work: at the 60 s demo's LNS work, None / 6 / 5 / 4
#: gave manure 21.03 / 20.13 / 20.10 / 20.45 M, recyclables 2.916 / 2.911 / 2.906 / 2.893 M,
#: domestic waste 9.109 / 9.120 / 9.109 / 9.150 M CNY/yr (straw 11.42-11.43 M in every case;
#: measured with TOP_MIN_NODES 50).
NEAREST: int | None = 6
#: Node-equivalents (what ``_tt_split.solve_highs`` reports: nodes, or interrupt-callback calls
#: where its root takes more) times model nonzeros per work unit. Measured on the demo county's
#: neighbourhood MIPs (4-30 k nonzeros) at 60 CPU s: 0.06-0.26 M per CPU s, ~0.15 M on average
#: over the four single-source blocks, so a unit is about a CPU second as elsewhere.
NZ_NODES_PER_UNIT = 0.15e6
#: Nonzeros per work unit of restricting, building and exporting a neighbourhood's model
#: (Python; ~0.1 CPU s for 5 k nonzeros on the demo), charged on top of its nodes.
BUILD_NZ_PER_UNIT = 50_000
#: Tier sweeps (:func:`_sweep`), run once after SWEEP_AFTER region neighbourhoods: their order
#: ("U" the upper tiers, "L" the lower tiers: points free, stations and centres fixed), each on
#: SWEEP_SHARE of the work left when the sweeps start, and which of them keep every freed item's links to the
#: candidates open in the incumbent besides its NEAREST (OPEN_LINKS; ``restrict(open_links=)``:
#: domestic waste's one centre is the 7th-14th nearest of most stations, its optimum links points
#: up to their 21st-nearest station). Measured on the demo at the 60 s LNS work, from the same
#: starts (straw / manure / recyclables / domestic waste, M CNY/yr): before the sweeps 10.986 /
#: 20.265 / 2.911 / 9.120; sweeps first in place of the upper-tiers neighbourhood
#: 10.991 / 20.836 / 2.892 / 8.950 (manure's start 22.34 M); after 1 region, share 1.0: 10.986 /
#: 20.265 / 2.908 / 8.950 but demo_hills straw 5.94 (was 5.85); after 2 regions, share 0.5
#: (kept): 10.986 / 20.265 / 2.895 / 8.945, demo_hills straw 5.78.
SWEEP_ORDER = "UL"
SWEEP_SHARE = 0.5
SWEEP_AFTER = 2
OPEN_LINKS = "UL"
#: Neighbourhood MIPs on the path-link model (``_tt_build.build(path_links=True)``, used only
#: where a neighbourhood frees demands: with the demand tier fixed its path variables equal the
#: points' links). Not kept: the path variables double a lower-tiers model's nonzeros, so the
#: same work buys half the nodes; lower-then-upper sweeps at 3 units each gave straw 10.800 vs
#: 10.776 M, manure 20.539 vs 20.520 M (plain), recyclables and domestic waste the same.
PATH_LINKS = False


def _rank(pa: np.ndarray, pd: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Per pair, its rank by length among the kept pairs of its source (kept pairs only)."""
    rank = np.full(len(pa), len(pa), dtype=np.int64)
    idx = np.flatnonzero(keep)
    order = idx[np.lexsort((pd[idx], pa[idx]))]
    src = pa[order]
    start = np.searchsorted(src, src, side="left")
    rank[order] = np.arange(len(order)) - start
    return rank


def restrict(sd: StreamData, plan: StreamPlan, free_open: list[np.ndarray],
             free_src: list[np.ndarray], nearest: int | None = None,
             open_links: bool = False) -> StreamData:
    """The model of ``sd`` with everything but a neighbourhood fixed at ``plan``.

    ``free_open[t]`` (bool over tier ``t``'s candidates): may open or close; every other
    candidate keeps its state in ``plan`` (open ones forced open, closed ones forbidden).
    ``free_src[t]`` (bool over the items of level ``t``: demands for ``t = 0``, else tier
    ``t - 1``'s candidates): may send to another candidate of tier ``t``; every other item keeps
    its link of ``plan`` (a demand may still be left unserved). Items whose candidate may open
    or close, and items sending to a candidate that may close, are freed too, so ``plan`` is a
    plan of the restricted model and every plan of it is one of ``sd``. ``nearest``: a freed
    item keeps only its ``nearest`` shortest links (and its link of ``plan``; with ``open_links``
    also every link to a candidate open in ``plan``).
    """
    tiers = []
    prev_alive = None
    prev_ub = sd.w
    for t, td in enumerate(sd.tiers):
        opened = plan.opens[t]
        fo = free_open[t] & ~td.forced
        src = free_src[t].copy()
        if t > 0:
            src |= free_open[t - 1]
        a = plan.assigns[t]
        src |= (a >= 0) & fo[np.maximum(a, 0)]
        alive = td.alive & (fo | opened)
        forced = td.forced | (opened & ~fo)
        inc = a[td.pa] == td.pb
        keep = alive[td.pb] & (src[td.pa] | inc)
        if prev_alive is not None:
            keep &= prev_alive[td.pa]
        if nearest is not None:
            keep &= inc | (_rank(td.pa, td.pd, keep) < nearest) | (open_links & opened[td.pb])
        pa, pb = td.pa[keep], td.pb[keep]
        ub = np.minimum(np.bincount(pb, weights=prev_ub[pa], minlength=td.n), td.cap)
        ub = np.minimum(ub, float(sd.w.sum()))
        tiers.append(dataclasses.replace(td, alive=alive, forced=forced & alive, pa=pa, pb=pb,
                                         pd=td.pd[keep], flow_ub=ub))
        prev_alive, prev_ub = alive, ub
    return dataclasses.replace(sd, tiers=tiers)


def cost(sd: StreamData, plan: StreamPlan) -> float:
    """Total cost (CNY/yr) of a one-stream plan."""
    return price([sd], [], [plan]).total_cny


def proximity(sd: StreamData, r: int) -> np.ndarray:
    """Per pair of tier-``r`` candidates, the shortest two-link path between them through an
    item of the level below (demands for ``r = 0``), in the pairs' length unit; inf if none."""
    td = sd.tiers[r]
    n_items = len(sd.w) if r == 0 else sd.tiers[r - 1].n
    d = np.full((n_items, td.n), np.inf)
    np.minimum.at(d, (td.pa, td.pb), td.pd)
    out = np.full((td.n, td.n), np.inf)
    for s in range(td.n):
        col = d[:, s]
        ok = np.isfinite(col)
        if ok.any():
            out[s] = (col[ok, None] + d[ok]).min(axis=0)
    np.fill_diagonal(out, 0.0)
    return out


def region(sd: StreamData, plan: StreamPlan, r: int, core: np.ndarray,
           top_free: bool) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``(free_open, free_src)`` of the neighbourhood around the tier-``r`` candidates ``core``.

    Free: ``core``; below it, the open candidates and the demands whose incumbent path leads into
    ``core``, the closed candidates linked both from the region's items and into the region
    above, the unserved demands linked into the region; every tier above ``r`` when
    ``top_free``."""
    T = len(sd.tiers)
    fo = [np.zeros(td.n, dtype=bool) for td in sd.tiers]
    fs = [np.zeros(len(sd.w), dtype=bool)] + [np.zeros(td.n, dtype=bool) for td in sd.tiers[:-1]]
    fo[r] |= core
    if top_free:
        for t in range(r + 1, T):
            fo[t][:] = True
    inc = core & plan.opens[r]
    for t in range(r, 0, -1):
        a = plan.assigns[t]
        inc = plan.opens[t - 1] & (a >= 0) & inc[np.maximum(a, 0)]
        fo[t - 1] |= inc
    a0 = plan.assigns[0]
    fs[0] |= (a0 >= 0) & inc[np.maximum(a0, 0)]
    for t in range(r):
        td, up = sd.tiers[t], sd.tiers[t + 1]
        items = fs[0] if t == 0 else fo[t - 1]
        linked = np.zeros(td.n, dtype=bool)
        linked[td.pb[items[td.pa]]] = True
        into = np.zeros(td.n, dtype=bool)
        into[up.pa[fo[t + 1][up.pb]]] = True
        fo[t] |= linked & into & td.alive
    t0 = sd.tiers[0]
    near = np.zeros(len(sd.w), dtype=bool)
    near[t0.pa[fo[0][t0.pb]]] = True
    fs[0] |= near & (a0 < 0)
    return fo, fs


def applies(sub: list[StreamData]) -> bool:
    """True for a one-stream single-source block (the blocks :func:`improve` plans)."""
    return len(sub) == 1 and sub[0].single_source


def reserve(sub: list[StreamData], budget: Budget) -> Budget | None:
    """For a one-stream single-source block, take ``LNS_SHARE`` of ``budget``'s work for
    :func:`improve_block` (work only: the phases before keep the block's CPU safety stop);
    None for other blocks."""
    if not applies(sub) or LNS_SHARE <= 0:
        return None
    lns = budget.split(LNS_SHARE)
    budget.spent(lns.work)
    return lns


def improve_block(sd: StreamData, plan: StreamPlan, lns: Budget, budget: Budget,
                  seed: int = 0, *, proven: bool = False) -> StreamPlan | None:
    """:func:`improve` on the reserved work ``lns`` (from :func:`reserve`; not when ``plan`` is
    ``proven`` optimal), then give the block ``budget`` the work left.

    The search's CPU safety stop is its own, ``SAFETY_S_PER_UNIT`` CPU seconds per work unit
    from its start (it takes 1.0-1.6 on the demo), also when the phases before overran the
    block's share: a stop at the block's deadline would make the plan depend on machine load."""
    lns = Budget(lns.work, clock() + 1.0 + SAFETY_S_PER_UNIT * lns.work)
    try:
        return None if proven else improve(sd, plan, lns, seed)
    finally:
        budget.work += lns.work


def improve(sd: StreamData, plan: StreamPlan, budget: Budget, seed: int = 0) -> StreamPlan | None:
    """A strictly cheaper feasible plan than ``plan`` (CNY/yr) within ``budget``'s work, or None.

    The upper-tiers neighbourhood on ``TOP_SHARE`` of the work (when that buys
    ``TOP_MIN_NODES``), then rounds of region neighbourhoods around the tier-``T-2`` candidates
    in the order of ``np.random.default_rng(seed)`` (each seed with its ``k - 1`` nearest, ``k``
    from ``REGION_SIZE``; ``HOOD_UNITS`` of work each), with the tier sweeps of :func:`_sweep`
    once after ``SWEEP_AFTER`` regions; after a round without improvement the upper-tiers
    neighbourhood again (``TOP_UNITS``) and ``k + 1`` (module docstring). Every sub-MIP is
    charged its node-equivalents in work units (at least ``MIN_UNITS``); the search stops when
    the work is spent (the CPU deadline is a safety stop only)."""
    T = len(sd.tiers)
    c0, work0 = clock(), budget.work
    best, best_c = plan, cost(sd, plan)
    start_c = best_c
    if T >= 2:   # the upper-tiers neighbourhood first when the work buys it enough nodes
        fo, fs = _upper(sd)
        best, best_c = _hood(sd, best, best_c, fo, fs, TOP_SHARE * budget.work, budget, seed,
                             min_nodes=TOP_MIN_NODES)
    n_regions = 0
    r = max(0, T - 2)
    td = sd.tiers[r]
    prox = proximity(sd, r)
    rng = np.random.default_rng(seed)
    k = REGION_SIZE
    while budget.work > 0 and budget.left_s() > 0.2 and k <= td.n:
        c_round = best_c
        for s in rng.permutation(np.flatnonzero(td.alive)):
            if budget.work <= 0 or budget.left_s() <= 0.2:
                break
            near = np.argsort(prox[s], kind="stable")
            near = near[td.alive[near] & np.isfinite(prox[s][near])][:k]
            core = np.zeros(td.n, dtype=bool)
            core[near] = True
            if not (core & best.opens[r]).any():
                continue
            fo, fs = region(sd, best, r, core, top_free=True)
            best, best_c = _hood(sd, best, best_c, fo, fs, HOOD_UNITS, budget, seed)
            n_regions += 1
            if n_regions == SWEEP_AFTER and T >= 2:
                best, best_c = _sweep(sd, best, best_c, budget, seed)
        if best_c < c_round:
            continue
        if T >= 2:   # a round without improvement: the upper-tiers neighbourhood, then larger regions
            fo, fs = _upper(sd)
            best, best_c = _hood(sd, best, best_c, fo, fs, TOP_UNITS, budget, seed,
                                 min_nodes=TOP_MIN_NODES)
        k += 1
    log.info("%s: LNS %.0f -> %.0f CNY/yr, %.1f work units, %.1f CPU s", sd.name, start_c, best_c,
             work0 - budget.work, clock() - c0)
    return best if best_c < start_c - 1e-6 * max(1.0, abs(start_c)) else None


def _sweep(sd: StreamData, best: StreamPlan, best_c: float, budget: Budget,
           seed: int) -> tuple[StreamPlan, float]:
    """Tier sweeps: the neighbourhoods of ``SWEEP_ORDER`` ("L" = :func:`_lower`, "U" =
    :func:`_upper`; with the incumbent's open candidates linked where ``OPEN_LINKS`` says) in
    turn, each on ``SWEEP_SHARE`` of the work at the start, until every one has failed once in
    a row (a neighbourhood re-solved from the same plan gives the same answer) or the work is
    spent; the better plan and its cost."""
    units = SWEEP_SHARE * budget.work
    hoods = {"L": _lower, "U": _upper}
    failed, i = 0, 0
    while failed < len(SWEEP_ORDER) and budget.work > 0 and budget.left_s() > 0.2:
        kind = SWEEP_ORDER[i % len(SWEEP_ORDER)]
        fo, fs = hoods[kind](sd)
        before = best_c
        best, best_c = _hood(sd, best, best_c, fo, fs, units, budget, seed,
                             open_links=kind in OPEN_LINKS)
        failed = 0 if best_c < before else failed + 1
        i += 1
    return best, best_c


def _band(sd: StreamData, lo: int, hi: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``(free_open, free_src)`` of the tiers ``lo..hi`` free (which candidates open, and every
    item of the level below each such tier choosing its candidate there), every other tier
    fixed."""
    fo = [np.full(td.n, lo <= t <= hi) for t, td in enumerate(sd.tiers)]
    fs = [np.full(len(sd.w), lo == 0)] + [np.full(td.n, lo <= t + 1 <= hi)
                                          for t, td in enumerate(sd.tiers[:-1])]
    return fo, fs


def _lower(sd: StreamData) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``(free_open, free_src)`` of the lower-tiers neighbourhood: the first tier (which points
    open, every demand's point, every point's link up) free, every tier above fixed."""
    return _band(sd, 0, 0)


def _upper(sd: StreamData) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``(free_open, free_src)`` of the upper-tiers neighbourhood: every tier above the first
    free, the demand tier (open points, demands' links) fixed."""
    fo = [np.zeros(sd.tiers[0].n, dtype=bool)] + [np.ones(t.n, dtype=bool) for t in sd.tiers[1:]]
    fs = [np.zeros(len(sd.w), dtype=bool)] + [np.zeros(t.n, dtype=bool) for t in sd.tiers[:-1]]
    return fo, fs


def _hood(sd: StreamData, best: StreamPlan, best_c: float, fo, fs, units: float,
          budget: Budget, seed: int, min_nodes: int = 1,
          open_links: bool = False) -> tuple[StreamPlan, float]:
    """Solve one neighbourhood from ``best`` with ``units`` of work (skipped, free, when they buy
    fewer than ``min_nodes`` node-equivalents); the better plan and its cost."""
    units = min(units, budget.work)
    if units <= 0 or budget.left_s() <= 0.2:
        return best, best_c
    sub = restrict(sd, best, fo, fs, NEAREST, open_links)
    mip = make_solver("highs")
    h = build(mip, [sub], [], None, path_links=PATH_LINKS and bool(fs[0].any()))
    nz = nonzeros(mip)
    limit = int(units * NZ_NODES_PER_UNIT / nz)
    if limit < max(1, min_nodes):
        if limit < 1:   # the work left buys no node: it is spent
            budget.spent(units)
        return best, best_c
    res, got = solve_highs(mip, h, [sub], max(0.5, budget.left_s()), 1e-6,
                           hint=hint_from(h, [sub], [best]), seed=seed, node_limit=limit)
    budget.spent(max(MIN_UNITS, res.nodes * nz / NZ_NODES_PER_UNIT) + nz / BUILD_NZ_PER_UNIT)
    log.debug("hood: nz %d limit %d %s nodes %d obj %.0f cpu %.2f", nz, limit, res.status,
              res.nodes, res.objective, res.solve_time_s)
    if not got:
        return best, best_c
    c = cost(sd, got[0])
    if c < best_c - 1e-9 * max(1.0, abs(best_c)) and plan_problem(sd, got[0]) is None:
        return got[0], c
    return best, best_c
