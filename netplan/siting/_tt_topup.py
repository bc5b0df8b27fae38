"""Second pass of :func:`netplan.siting.three_tier`: work held back from the blocks' first pass
goes to the blocks whose gap is largest in CNY/yr.

The first pass shares the work by model size (``_tt_heur.stream_size``), which says how long a
block's phases take, not what is left to gain: on the demo, film + packaging is 38 % of the size
and proves its plan in 5 CPU s, while straw (9 % of the size) and manure (12 %) end 4-10 % above
their bounds. So :data:`TOPUP_SHARE` of the work (and of the CPU time) is held back
(:func:`hold_back`); after every block has a plan and a bound, :func:`top_up` gives it to the
one-stream single-source blocks that are not proven, in proportion to their gap (plan minus bound,
CNY/yr): per block, :data:`TOPUP_LNS` of its part to the LNS of ``_tt_lns`` from the block's plan
(another seed, so its regions come in a new order) and the rest to the block's bound
(``_tt_block.block_bound``: the Lagrangian and the top-tier branch-and-bound, now with the better
plan as incumbent). The gaps, shares and every phase depend on work only, so the plan stays the
same on an idle and on a loaded machine; the CPU deadline is the safety stop, as in the first pass.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time

from netplan.siting import _tt_lns
from netplan.siting._mip import Budget, clock, make_solver, nonzeros, rel_gap
from netplan.siting._tt_block import BlockOutcome, Options, block_bound
from netplan.siting._tt_bound import MAX_PATH_VARS, path_link_count
from netplan.siting._tt_build import build, hint_from
from netplan.siting._tt_heur import LP_UNITS_PER_SIZE2, ROOT_FACTOR, stream_size
from netplan.siting._tt_plan import PricedPlan, colocation_groups, price
from netplan.siting._tt_split import highs_engine, solve_highs
from netplan.siting.solution import BlockResult

log = logging.getLogger(__name__)

#: Share of the model's work and CPU time held back for the second pass
TOPUP_SHARE = 0.0
#: Share of a block's top-up work for the LNS; the rest for its bound
TOPUP_LNS = 0.5
#: Work units below which a block's top-up is not worth starting (its part is passed on)
MIN_UNITS = 0.5
#: CPU safety stop of the path-link MIP per work unit (seconds; its node limit decides)
SAFETY_S_PER_UNIT = 3.0
#: Seed offset of the second LNS (a new region order; the first pass used ``seed``)
SEED_STEP = 1


def hold_back(budget: Budget, share: float = TOPUP_SHARE) -> tuple[Budget, Budget]:
    """Split ``budget`` into the first pass's (``1 - share`` of the work, its deadline as early)
    and the held-back work (the original deadline). ``budget`` itself is left as it was."""
    first = Budget(work=(1.0 - share) * budget.work,
                   deadline=clock() + (1.0 - share) * budget.left_s())
    return first, Budget(work=share * budget.work, deadline=budget.deadline)


def top_up(subs: dict[int, list], outcomes: dict[int, BlockOutcome],
           block_out: list[BlockResult], opts: Options, budget: Budget) -> None:
    """Give ``budget`` to the unproven one-stream single-source blocks by their gap (CNY/yr):
    LNS from the block's plan, then its bound again; ``outcomes`` and ``block_out`` are updated
    in place (a plan is replaced only by a cheaper one, a bound only by a higher one)."""
    gaps = {bi: rel_gap(outcomes[bi].best.total_cny, outcomes[bi].bound) for bi in sorted(subs)
            if _tt_lns.applies(subs[bi]) and math.isfinite(outcomes[bi].bound)
            and rel_gap(outcomes[bi].best.total_cny, outcomes[bi].bound) > opts.mip_gap}
    order = sorted(gaps)
    for k, bi in enumerate(order):
        rest = sum(gaps[b] for b in order[k:])
        share = gaps[bi] / rest if rest > 0 else 0.0
        work = share * budget.work
        if work < MIN_UNITS:
            continue
        b_budget = Budget(work=work, deadline=clock() + max(0.5, share * budget.left_s()))
        t_wall = time.perf_counter()
        out = _block(subs[bi], outcomes[bi], opts, b_budget)
        budget.spent(work - b_budget.work)
        log.info("%s: top-up %.1f units: %.0f -> %.0f, bound %.0f -> %.0f",
                 "+".join(block_out[bi].streams), work, outcomes[bi].best.total_cny,
                 out.best.total_cny, outcomes[bi].bound, out.bound)
        outcomes[bi] = out
        block_out[bi] = dataclasses.replace(
            block_out[bi], objective=out.best.total_cny, bound=out.bound,
            gap=rel_gap(out.best.total_cny, out.bound), status=out.status,
            solve_time_s=block_out[bi].solve_time_s + time.perf_counter() - t_wall)


def _block(sub: list, out: BlockOutcome, opts: Options, budget: Budget) -> BlockOutcome:
    """One block's top-up: on :data:`TOPUP_LNS` of ``budget`` the path-link MIP from the block's
    plan where it is small and its root fits, else the LNS; then the bound on the rest."""
    best = out.best
    plan_work = TOPUP_LNS * budget.work
    if _path_fits(sub, plan_work) and highs_engine(opts.solver):
        lns = budget.split(TOPUP_LNS)
        budget.spent(lns.work)
        got = _path_mip(sub, best, opts, lns)
        budget.work += lns.work
        if got is not None and got.total_cny < best.total_cny:
            best = got
    bound = block_bound(sub, [], best.total_cny, out.mip, -math.inf, opts, budget)
    bound = min(max(bound, out.bound), best.total_cny)
    status = "optimal" if rel_gap(best.total_cny, bound) <= opts.mip_gap else out.status
    return dataclasses.replace(out, best=best, bound=bound, status=status)


def _path_fits(sub: list, work: float) -> bool:
    """True when the block's path-link model is small (``_tt_bound.MAX_PATH_VARS``) and the
    size estimate of its root LP (as ``_tt_heur.root_fits``, on the model with the path
    variables) fits ``work``: a decision on sizes, never on time."""
    paths = path_link_count(sub[0])
    size = stream_size(sub[0]) + paths
    return paths <= MAX_PATH_VARS and ROOT_FACTOR * LP_UNITS_PER_SIZE2 * size ** 2 <= work


def _path_mip(sub: list, best: PricedPlan, opts: Options, budget: Budget) -> PricedPlan | None:
    """HiGHS on the block's path-link MIP (``_tt_build.build(path_links=True)``: the station
    tier's LP is tight) from ``best``, on a node limit worth ``budget``'s work (deterministic),
    its own CPU safety stop of :data:`SAFETY_S_PER_UNIT` per unit; the plan priced, or None."""
    mip = make_solver(opts.solver)
    h = build(mip, sub, [], opts.site_fixed_cost, path_links=True)
    hint = hint_from(h, sub, list(best.plans))
    limit = Budget(budget.work, 0.0).nodes(nonzeros(mip))
    res, got = solve_highs(mip, h, sub, 1.0 + SAFETY_S_PER_UNIT * budget.work, opts.mip_gap,
                           hint=hint, seed=opts.seed, node_limit=limit)
    budget.spent(budget.work * min(1.0, res.nodes / limit))
    log.info("path-link MIP: %d of %d nodes, %s", res.nodes, limit, res.status)
    return None if got is None else price(sub, colocation_groups(sub, [], opts.site_fixed_cost),
                                          got)
