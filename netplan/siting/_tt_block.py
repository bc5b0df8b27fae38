"""One block of :func:`three_tier` (a stream, or the streams sharing sites), phase by phase.

:func:`solve_block` runs, on the block's :class:`~netplan.siting._mip.Budget`:

1. :func:`find_starts` — the tier-by-tier heuristic, a zero-objective feasibility solve when it
   finds nothing, and the LP-guided restricted MIP (whose LP value is a first bound);
2. :func:`full_mip` — the whole block's MIP from the cheapest start (HiGHS with a node limit for
   single-source blocks, ``_tt_split.highs_engine``; HiGHS on the model without implied rows for
   multi-source ones);
3. ``_tt_lns.improve_block`` — one-stream single-source blocks: the large-neighbourhood search
   on the work kept back for it before the starts (``_tt_lns.LNS_SHARE``);
4. :func:`local_search` — multi-source blocks whose MIP stopped early: ``_tt_ils``;
5. :func:`block_bound` — the best of the MIP bound, the LP value and (single-source) the
   Lagrangian bound and the top-tier branch-and-bound of ``_tt_bound.single_source_bound``, on
   the work kept back for it (:data:`BOUND_SHARE`).

The cheapest plan is returned with that bound. Single-source phases stop on work (nodes, HiGHS
callback calls, neighbourhood and LP counts), so their plan does not depend on machine load; CPU
seconds only stop an overrun. What no count can stop once started — the block's CLP LP, a HiGHS
MIP's root LP, the top-tier bound's root LP — is started only when the size estimate
``_tt_heur.lp_work`` (``root_fits`` for MIP roots) fits the phase's work: a deterministic decision.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import NoReturn

import numpy as np

from netplan.errors import InfeasibleError, SolverTimeout
from netplan.siting import _tt_decomp, _tt_ils, _tt_lns
from netplan.siting._mip import Budget, RunResult, clock, make_solver, nonzeros, rel_gap, run
from netplan.siting._tt_bound import MAX_PATH_VARS, lp_bound, path_link_count, single_source_bound
from netplan.siting._tt_build import build, hint_from, read
from netplan.siting._tt_diag import feasible_plan, infeasible_msg, what_would_help
from netplan.siting._tt_heur import heuristic, lp_guided, lp_work, root_fits
from netplan.siting._tt_plan import PricedPlan, StreamPlan, colocation_groups, price
from netplan.siting._tt_prep import StreamData
from netplan.siting._tt_split import highs_engine, solve_highs, weak_links

log = logging.getLogger(__name__)

#: Share of a one-stream single-source block's work and CPU time kept for its lower bound (the
#: top-tier branch-and-bound of ``_tt_topbb``; the plan phases get the rest)
BOUND_SHARE = 0.35


@dataclass(frozen=True)
class Options:
    """Solve settings shared by every block (see :func:`three_tier` for their meaning)."""

    solver: str = "scip"
    seed: int = 0
    mip_gap: float = 1e-4
    progress: bool = False
    path_cuts: bool = False
    heuristic_share: float = 0.6
    lp_start: bool = True
    site_fixed_cost: np.ndarray | None = None
    diagnose: bool = True   # name the binding rules of an infeasible block (False: a back-off retries)


@dataclass(frozen=True)
class BlockOutcome:
    """The cheapest plan of a block, its proven lower bound (CNY/yr) and status."""

    best: PricedPlan
    bound: float
    status: str
    mip: RunResult


def solve_block(sub: list[StreamData], label: str, opts: Options, budget: Budget,
                start: list[StreamPlan] | None = None, pool: Budget | None = None) -> BlockOutcome:
    """Plan one block within ``budget`` (the strategy in the module docstring); ``start`` = a
    feasible plan per stream of the block (warm start), or None; ``pool`` = where the work kept
    for the bound goes instead (``three_tier``'s second pass, ``_tt_topup``), or None."""
    local = [list(range(len(sub)))] if len(sub) > 1 else []
    multi = not any(sd.single_source for sd in sub) and not opts.path_cuts
    t0 = clock()
    # one-stream single-source: bound and LNS work kept back (work only: every phase keeps the
    # block's CPU safety stop; an earlier one would end the starts or the MIP on the clock)
    bnd = _bound_reserve(sub, budget)
    lns = _tt_lns.reserve(sub, budget)
    starts, lp_val = find_starts(sub, local, label, opts, budget, start)
    t1 = clock()
    res, plans = full_mip(sub, local, starts, lp_val, multi, opts, budget)
    log.info("%s: starts %.1f CPU s, MIP %.1f CPU s (%s, %d nodes)", label, t1 - t0,
             clock() - t1, res.status, res.nodes)
    if res.status == "infeasible":
        helps = (what_would_help(sub, local, opts.site_fixed_cost, opts.solver, opts.seed)
                 if opts.diagnose else [])
        raise InfeasibleError(infeasible_msg(label, helps), unservable=[])
    groups = colocation_groups(sub, local, opts.site_fixed_cost)
    priced = [price(sub, groups, p) for p in plans]
    if priced and lns is not None:
        extra = _tt_lns.improve_block(sub[0], min(priced, key=lambda p: p.total_cny).plans[0],
                                      lns, budget, opts.seed, proven=res.status == "optimal")
        if extra is not None:
            priced.append(price(sub, groups, [extra]))
    if priced and multi and opts.heuristic_share > 0 and _tt_ils.applies(sub) \
            and res.status != "optimal":
        extra = local_search(sub, priced, max(res.bound, lp_val), math.isfinite(lp_val), opts,
                             budget)
        if extra is not None:
            priced.append(price(sub, groups, [extra]))
    if not priced:
        priced = [price(sub, groups, _last_resort(sub, local, label, opts, budget, res))]
    best = min(priced, key=lambda p: p.total_cny)
    t2 = clock()
    if bnd is not None and pool is not None:   # the bound's share to the second pass
        pool.work += bnd.work
    elif bnd is not None:                 # the bound's share of the work back
        budget.work += bnd.work
    bound = block_bound(sub, local, best.total_cny, res, lp_val, opts, budget)
    log.info("%s: bound %.1f CPU s", label, clock() - t2)
    status = res.status if res.status in ("optimal", "feasible", "time_limit") else "time_limit"
    if rel_gap(best.total_cny, bound) <= opts.mip_gap:
        status = "optimal"
    return BlockOutcome(best=best, bound=bound, status=status, mip=res)


def find_starts(sub: list[StreamData], local, label: str, opts: Options, budget: Budget,
                start: list[StreamPlan] | None = None) -> tuple[list[list[StreamPlan]], float]:
    """Phase 1: start plans (tier-by-tier heuristic, feasibility solve, LP-guided restricted MIP)
    within ``heuristic_share`` of the block's work, and the block's LP value (-inf if none).

    A warm ``start`` (feasible) takes the tier-by-tier heuristic's place and its work is left to
    the full MIP."""
    if opts.heuristic_share <= 0:
        return ([start] if start is not None else []), -math.inf
    work = budget.work
    h_share = 0.5 * opts.heuristic_share if opts.lp_start else opts.heuristic_share
    plans_h: list[StreamPlan] | None = [] if start is None else list(start)
    for sd in sub if start is None else []:
        plan = heuristic(sd, opts.solver, budget.split(h_share / len(sub)), opts.seed)
        if plan is None:
            plans_h = None
            break
        plans_h.append(plan)
    plans_f = None
    if plans_h is None:
        # no plan from the heuristic (tight capacities with single sourcing and a village-count
        # target): any feasible plan, or a proof there is none, before the costed MIPs
        plans_f = feasible_plan(sub, local, opts.site_fixed_cost, opts.solver, budget,
                                opts.seed, label, diagnose=opts.diagnose)
    plans_lp, lp_val = None, -math.inf
    # single source: the LP (CLP, solved to its end) only when the plan phases' work can pay
    # for it (a size estimate: deterministic); the restricted MIP's root only with what is left
    lp_cost = lp_work(sub) if any(sd.single_source for sd in sub) else 0.0
    if opts.lp_start and lp_cost <= work:
        plans_lp, lp_val = lp_guided(sub, local, opts.site_fixed_cost, opts.solver,
                                     budget.split(0.5 * opts.heuristic_share), opts.seed,
                                     plans_h or plans_f, root_work=work - lp_cost - h_share * work)
    elif opts.lp_start:
        log.info("%s: LP-guided start skipped: LP ~%.1f units > %.1f", label, lp_cost, work)
    budget.spent((opts.heuristic_share - (h_share if start is not None else 0.0)) * work)
    return [p for p in (plans_h, plans_lp, plans_f) if p is not None], lp_val


def full_mip(sub: list[StreamData], local, starts: list, lp_val: float, multi: bool,
             opts: Options, budget: Budget) -> tuple[RunResult, list[list[StreamPlan]]]:
    """Phase 2: the block's MIP from the cheapest start; returns its result and every plan
    (the MIP's first, then the starts)."""
    if not multi and starts and highs_engine(opts.solver) and not root_fits(sub, budget.work):
        # single source, HiGHS: its root LP alone would outrun the work left (no node limit nor
        # callback stops it; demo_hills film + packaging: 23 CPU s for 8 units): the starts
        # stand and the MIP's work is dropped (handed to the bound it bought nothing on
        # demo_hills straw for 3 CPU s more)
        budget.spent(budget.work)
        groups = colocation_groups(sub, local, opts.site_fixed_cost)
        starts = sorted(starts, key=lambda p: price(sub, groups, p).total_cny)
        return RunResult("feasible", np.nan, -math.inf, math.inf, 0.0, False), starts
    mip = make_solver(opts.solver)
    h = build(mip, sub, local, opts.site_fixed_cost, path_cuts=opts.path_cuts,
              links=weak_links(sub) if multi else None)
    starts = sorted(starts, key=lambda p: price(sub, h.groups, p).total_cny)
    hint = hint_from(h, sub, starts[0]) if starts else None
    if starts and multi and rel_gap(price(sub, h.groups, starts[0]).total_cny,
                                    lp_val) <= opts.mip_gap:
        # multi-source: the LP-guided start's reduced-cost restriction proved its plan optimal
        return RunResult("optimal", np.nan, lp_val, 0.0, 0.0, False), starts
    if multi:
        # CPU seconds (HiGHS); 30 % kept for the local search / the LP bound
        share = 0.7 if opts.heuristic_share > 0 and _tt_ils.applies(sub) else 0.8
        res, got = solve_highs(mip, h, sub, max(0.5, share * budget.left_s()), opts.mip_gap,
                               hint=hint, seed=opts.seed)
        return res, ([got] if got is not None else []) + starts
    work = budget.work
    limit = Budget(work, 0.0).nodes(nonzeros(mip))
    if highs_engine(opts.solver) and starts:
        # single source from a start plan, HiGHS: node limit (deterministic), CPU seconds as
        # the safety stop; without a start, SCIP (its primal heuristics find first plans where
        # HiGHS's few nodes may not: demo_hills manure)
        res, got = solve_highs(mip, h, sub, max(0.5, 0.9 * budget.left_s()), opts.mip_gap,
                               hint=hint, seed=opts.seed, node_limit=limit)
        budget.spent(work * min(1.0, res.nodes / limit))
        return res, ([got] if got is not None else []) + starts
    res = run(mip, solver_name=opts.solver, time_limit_s=max(0.5, 0.9 * budget.left_s()),
              mip_gap=opts.mip_gap, seed=opts.seed, hint=hint, progress=opts.progress,
              offset=h.offset, node_limit=limit)
    budget.spent(work * min(1.0, res.nodes / limit))   # a proof before the limit leaves work over
    return res, ([read(h, sub)] if res.has_solution else []) + starts


def local_search(sub: list[StreamData], priced: list[PricedPlan], bound: float, have_lp: bool,
                 opts: Options, budget: Budget) -> StreamPlan | None:
    """Phase 3 (multi-source blocks whose MIP stopped early): the open-set local search of
    ``_tt_ils`` from the best plans, until the block's CPU deadline (less the LP reserve)."""
    order = sorted(range(len(priced)), key=lambda i: priced[i].total_cny)
    reserve = 0.0 if have_lp else 0.1 * budget.left_s()
    return _tt_ils.improve(
        sub[0], priced[order[0]].plans[0].opens, budget.deadline - reserve, seed=opts.seed,
        bound=bound, gap=opts.mip_gap, others=[priced[i].plans[0].opens for i in order[1:]],
        solver=opts.solver)


def block_bound(sub: list[StreamData], local, objective: float, res: RunResult, lp_val: float,
                opts: Options, budget: Budget) -> float:
    """Phase 4: the block's lower bound: the MIP's, the LP value (solved now if the starts did
    not), and for a single-source stream the Lagrangian and count-split path-link LP bounds
    (``_tt_bound.single_source_bound``)."""
    # single source: the LP only when the work left can pay for it (as in find_starts), and
    # not for one stream, whose Lagrangian and top-tier bounds below get the work instead
    # (demo_hills, LP against those: straw 5.108 vs 5.154 M, manure 16.27 vs 16.85 M,
    # recyclables 2.969 vs 2.966 M CNY/yr; the LP took 2-5 CPU s of the bound's 2-3 units)
    lp_cost = lp_work(sub) if any(sd.single_source for sd in sub) else 0.0
    one_ss = len(sub) == 1 and sub[0].single_source
    if not math.isfinite(lp_val) and (lp_cost == 0.0 or (lp_cost <= budget.work and not one_ss)):
        lp_val = lp_bound(sub, local, opts.site_fixed_cost, path_cuts=opts.path_cuts)
        budget.spent(lp_cost)
    bound = max(res.bound, lp_val)
    if rel_gap(objective, bound) <= opts.mip_gap:   # proven: the work left is the caller's
        return min(bound, objective)
    if rel_gap(objective, bound) > opts.mip_gap:
        # the top-tier branch-and-bound's root LP is always solved to its end: only with the
        # work to pay for it (demo_hills recyclables: 8-10 CPU s of root on 5 units), else the
        # Lagrangian bound alone
        top = budget.work if lp_cost <= budget.work else 0.0
        split = 0.0
        if one_ss and top == 0.0 and split_fits(sub[0], budget.work):
            # the top-tier tree's root does not fit the work, the split's (smaller) does: the
            # bound split at the first tier (``_tt_decomp``; demo_hills manure 16.86 -> 17.48 M
            # in 3 CPU s); where the tree fits it stays (demo manure at 120-300 s: the split
            # plateaued at 18.71 M, the tree reaches 19.16 M)
            split = budget.work
        bound = max(bound, single_source_bound(sub, local, opts.site_fixed_cost, objective,
                                               budget.deadline, gap=opts.mip_gap, work=top,
                                               split_work=split))
    budget.spent(budget.work)
    return min(bound, objective) if math.isfinite(bound) else -math.inf


def split_fits(sd: StreamData, work: float) -> bool:
    """True when the bound split at the first tier (``_tt_decomp``) is used for ``sd``'s bound:
    the path-link model is too large for the top-tier tree (``_tt_bound.MAX_PATH_VARS``) and
    the split's root estimate fits ``work`` (a decision on sizes, never on time)."""
    return (len(sd.tiers) >= 2 and path_link_count(sd) > MAX_PATH_VARS and _tt_decomp.applies(sd)
            and _tt_decomp.root_units(_tt_decomp.upper_model(sd)) <= work)


def _bound_reserve(sub: list[StreamData], budget: Budget) -> Budget | None:
    """For a one-stream single-source block, take :data:`BOUND_SHARE` of ``budget``'s work for
    the lower bound (``_tt_bound.single_source_bound``'s top-tier branch-and-bound), so the plan
    phases cannot spend it. None for other blocks."""
    if len(sub) != 1 or not sub[0].single_source or BOUND_SHARE <= 0:
        return None
    bnd = budget.split(BOUND_SHARE)
    budget.spent(bnd.work)
    return bnd


#: CPU seconds a block that has no plan at all still gets for a zero-objective feasibility solve,
#: past its safety stop (a block late in the model, after others overran, may have none left:
#: Xiping's household waste in bench_batch); the solve stops at its first plan (deterministic)
LAST_RESORT_S = 20.0
#: work units of the last resort's tier-by-tier heuristic (Xiping's household waste: a plan at 1
#: unit, 7.6 CPU s)
LAST_RESORT_WORK = 1.0


def _last_resort(sub, local, label: str, opts: Options, budget: Budget,
                 res: RunResult) -> list[StreamPlan]:
    """Any feasible plan of a block the phases found none for: the tier-by-tier heuristic on
    :data:`LAST_RESORT_WORK`, else a zero-objective feasibility solve (raises InfeasibleError if
    proven impossible), each within :data:`LAST_RESORT_S` CPU s; else SolverTimeout naming the
    rules whose relaxation gives a plan."""
    safety = Budget(LAST_RESORT_WORK, clock() + LAST_RESORT_S)
    plans: list[StreamPlan] | None = []
    for sd in sub:   # the tier-by-tier heuristic on its own work (it was cut by the clock)
        plan = heuristic(sd, opts.solver, safety.split(1.0 / len(sub)), opts.seed)
        if plan is None:
            plans = None
            break
        plans.append(plan)
    if plans is None:
        plans = feasible_plan(sub, local, opts.site_fixed_cost, opts.solver,
                              Budget(0.0, clock() + LAST_RESORT_S), opts.seed, label,
                              diagnose=opts.diagnose)
    if plans is not None:
        log.info("%s: no plan from the phases; the last resort found one", label)
        return plans
    _no_plan(sub, local, label, opts, budget, res)


def _no_plan(sub, local, label: str, opts: Options, budget: Budget, res: RunResult) -> NoReturn:
    """Raise SolverTimeout naming the rules whose relaxation gives a plan."""
    helps = what_would_help(sub, local, opts.site_fixed_cost, opts.solver, opts.seed)
    msg = f"no feasible siting plan for {label} found ({opts.solver}), and none was proven impossible either"
    if helps:
        msg += ("; a plan exists (found within seconds) if " + ", or if ".join(helps)
                + ": that rule is what binds — relax it in the scenario or give the model more "
                "time (time_limit_s)")
    else:
        msg += ": give the model more time (scenario time_limit_s) or relax a capacity, radius or "
        msg += "coverage target"
    raise SolverTimeout(msg, bound=res.bound)
