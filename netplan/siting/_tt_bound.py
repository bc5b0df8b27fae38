"""Lower bounds of a :func:`three_tier` block beyond the MIP's own: LP relaxations (CLP), the
Lagrangian bound of ``_tt_lagr`` and the top-tier branch-and-bound of ``_tt_topbb``.

:func:`lp_bound` is the block's LP value; :func:`single_source_bound` the best of the
Lagrangian bound (every site's opening integral; strongest where the LP spreads upper-tier sites
fractionally) and :func:`count_split_bound`, which strengthens it where the
plan's cost hinges on *how many* sites of a costly tier open (the county centres of the demo's
straw block cost ~7 % of the objective each): the LP with the single-source path links
(``_tt_build._path_links``) is solved once per count ``n`` of that tier's open sites, and since
every plan opens some integer number of them, the smallest value over the counts whose LP stays
below the best plan is a valid bound. The LP value is convex in ``n``, so the scan walks out from
the LP's own count until the values pass the best plan.
"""

from __future__ import annotations

import math

import numpy as np
from ortools.linear_solver import pywraplp

from netplan.siting._mip import clock, rel_gap
from netplan.siting._tt_build import build
from netplan.siting._tt_decomp import split_bound
from netplan.siting._tt_lagr import EXACT_ITERS, lagrangian_bound
from netplan.siting._tt_prep import StreamData
from netplan.siting._tt_topbb import top_tier_bound

#: Wall-clock safety limit of one LP solve (CLP through pywraplp counts wall time; an LP of the
#: demo county takes 0.1-2 CPU s, so this only stops a pathological one, and on a busy machine
#: a CPU-second-sized limit would end LPs early and make the bound depend on load)
LP_WALL_MS = 600_000
#: Largest number of path variables for which the count-split bound is tried. Its path-link LP
#: is solved to the end (work, not the clock, decides it), so this caps its cost: demo straw
#: 3.2 k (1.1 CPU s), domestic waste 5.2 k (1.8 CPU s); manure's 11.8 k took 14-26 CPU s, more
#: than its share of a 60 s demo, and the Lagrangian bound is higher there anyway
MAX_PATH_VARS = 8_000


def path_link_count(sd: StreamData) -> int:
    """Number of path variables ``_tt_build._path_links`` would add for ``sd``."""
    t0, t1 = sd.tiers[0], sd.tiers[1]
    out_deg = np.bincount(t1.pa, minlength=t0.n)
    return int(out_deg[t0.pb[sd.w[t0.pa] > 0]].sum())


def lp_bound(sub: list[StreamData], local, site_fixed_cost, *, path_cuts: bool = False) -> float:
    """LP-relaxation value of a block (a valid lower bound, CNY/yr); -inf if CLP fails."""
    lp = pywraplp.Solver.CreateSolver("CLP")
    if lp is None:  # pragma: no cover - depends on the OR-Tools build
        return -math.inf
    h = build(lp, sub, local, site_fixed_cost, path_cuts=path_cuts)
    lp.SetTimeLimit(LP_WALL_MS)
    if lp.Solve() != pywraplp.Solver.OPTIMAL:
        return -math.inf
    return lp.Objective().Value() + h.offset


def single_source_bound(sub: list[StreamData], local, site_fixed_cost, incumbent: float,
                        deadline: float, *, gap: float = 1e-4, work: float = 0.0,
                        split_work: float = 0.0, points_cny: float | None = None) -> float:
    """Best extra bound of a one-stream single-source block (CNY/yr; -inf when none applies).

    The tier-decoupled Lagrangian bound of ``_tt_lagr`` (a fixed number of subgradient
    iterations: deterministic, ~0.5 CPU s on the demo county, ~1 s more for its 0-1 knapsack
    iterations, which start only before ``deadline``), then, while its gap to
    ``incumbent`` is above ``gap`` and only before ``deadline`` (the block's CPU safety stop,
    so that it never eats the later blocks' time): with ``work`` > 0 the branch-and-bound over
    the sites' open variables (centres first, then stations, then points) of ``_tt_topbb``
    (``work`` units, about CPU seconds, counted in simplex iterations: deterministic), on the
    path-link LP where that is small (:data:`MAX_PATH_VARS`); else :func:`count_split_bound`.
    With ``split_work`` > 0 first the bound of ``_tt_decomp`` (the points' part and the upper
    model's tree apart, ``split_work`` units; ``points_cny`` = the best plan's points part,
    ``_tt_decomp.points_part``, the target of its Lagrangian; default the whole incumbent): on
    demo_hills, where the whole block's tree root does not fit the work, it lifts manure's bound
    16.86 -> 17.48 M CNY/yr in 3 CPU s.
    A stop on ``deadline`` can only leave a weaker bound, never change a plan."""
    if len(sub) != 1 or not sub[0].single_source:
        return -math.inf
    # fixed work (~0.5 CPU s), always; its 0-1 knapsack iterations (~1 s more) only before the
    # block's CPU safety stop
    bound = lagrangian_bound(sub[0], incumbent,
                             exact_iters=EXACT_ITERS if clock() < deadline else 0)
    # past the block's CPU safety stop no LP bound starts (it would starve the later blocks)
    if rel_gap(incumbent, bound) <= gap or clock() >= deadline:
        return bound
    if split_work > 0:
        pts = incumbent if points_cny is None else points_cny
        bound = max(bound, split_bound(sub[0], incumbent, pts, split_work, deadline, gap))
        if rel_gap(incumbent, bound) <= gap or clock() >= deadline:
            return bound
    if work > 0:
        small = len(sub[0].tiers) >= 2 and path_link_count(sub[0]) <= MAX_PATH_VARS
        top = top_tier_bound(sub[0], local, site_fixed_cost, incumbent, work=work,
                             deadline=deadline, path_links=small, gap=gap)
        return max(bound, top.bound)
    return max(bound, count_split_bound(sub, local, site_fixed_cost, incumbent, deadline))


def count_split_bound(sub: list[StreamData], local, site_fixed_cost, incumbent: float,
                      deadline: float, max_lps: int = 8) -> float:
    """Bound of a one-stream single-source block by its path-link LP split on the open count of
    the tier whose fixed costs weigh most in the LP (see the module docstring); -inf when the
    block does not qualify or an LP fails. At most ``max_lps`` LP solves; past ``deadline``
    (CPU seconds, :func:`~netplan.siting._mip.clock`) no new LP starts and the plain path-link
    LP value is returned (the bound, never the plan, may then depend on machine load)."""
    if len(sub) != 1 or not sub[0].single_source or len(sub[0].tiers) < 2:
        return -math.inf
    if path_link_count(sub[0]) > MAX_PATH_VARS:
        return -math.inf
    sd = sub[0]
    lp = pywraplp.Solver.CreateSolver("CLP")
    if lp is None:  # pragma: no cover - depends on the OR-Tools build
        return -math.inf
    h = build(lp, sub, local, site_fixed_cost, path_links=True)
    # one LP of bounded size (MAX_PATH_VARS): its work, not the clock, decides it (a CPU deadline
    # turned into CLP's wall-clock limit made it fail on a busy machine and the bound depend on load)
    lp.SetTimeLimit(LP_WALL_MS)
    if lp.Solve() != pywraplp.Solver.OPTIMAL:
        return -math.inf
    base = lp.Objective().Value() + h.offset
    ys = h.streams[0].y
    vals = [np.array([0.0 if v is None else v.solution_value() for v in row]) for row in ys]
    weight = [float((v * td.fixed).sum()) for v, td in zip(vals, sd.tiers, strict=True)]
    t = int(np.argmax(weight))
    cnt = lp.Constraint(0.0, float(sum(v is not None for v in ys[t])))
    for v in ys[t]:
        if v is not None:
            cnt.SetCoefficient(v, 1.0)
    n_max = int(sum(v is not None for v in ys[t]))
    n_min = int(sum(bool(f) for f in sd.tiers[t].forced & sd.tiers[t].alive))
    frac = float(vals[t].sum())
    if abs(frac - round(frac)) <= 1e-6:
        # the LP already opens a whole number of them: fixing the count there gives ``base`` and,
        # the value being convex in the count, every other count is at least as dear
        return base
    lows = []
    solved = 0

    def value(n: int) -> float:
        nonlocal solved
        solved += 1
        cnt.SetBounds(float(n), float(n))
        lp.SetTimeLimit(int(1000 * max(1.0, deadline - clock())))
        st = lp.Solve()
        if st == pywraplp.Solver.INFEASIBLE:
            return math.inf
        if st != pywraplp.Solver.OPTIMAL:
            return -math.inf
        return lp.Objective().Value() + h.offset

    for start, step in ((math.floor(frac), -1), (math.floor(frac) + 1, 1)):
        n = start
        while n_min <= n <= n_max:
            if solved >= max_lps or clock() >= deadline:
                return base        # not every open count was priced: the plain LP bound only
            v = value(n)
            if v == -math.inf:
                return base
            lows.append(v)
            if v >= incumbent:    # convex in n: every count further out is dearer still
                break
            n += step
    finite = [v for v in lows if v < math.inf]
    return max(base, min(finite)) if finite else base
