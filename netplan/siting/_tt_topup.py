"""Second pass of :func:`netplan.siting.three_tier`: after every block has a plan and a bound,
more work goes to the blocks whose gap is largest.

The first pass shares the work by model size (``_tt_heur.stream_size``), which says how long a
block's phases take, not what is left to gain: on the demo, film + packaging is 38 % of the size
and proves its plan in 5 CPU s, while manure (12 %) ends 9.5 % above its bound. The second pass
gets the work each one-stream single-source block kept for its bound (``_tt_block.BOUND_SHARE``,
moved here by ``solve_block(pool=...)``), what proven blocks left and :data:`TOPUP_EXTRA` of the
first pass's work on top. Nothing is held back from the first pass: holding back 15 or 30 % of it
moved manure's LNS below the work its upper-tiers neighbourhood needs (demo: 20.27 -> 21.88 M
CNY/yr), so the first pass's plans are exactly what they were without a second pass.
:func:`top_up` spends it on the unproven one-stream single-source blocks in two rounds:

1. **plans** (:data:`TOPUP_PLANS` of it, by gap in CNY/yr): ``_tt_recentre.recentre`` — another
   top-tier set for the plan's first tier, priced by the upper-tiers LP (demo manure: 20.27 ->
   19.68 M CNY/yr on 4.4 units) — then, where the block's path-link model is small and its root
   fits, HiGHS on it from the best plan;
   then, on :data:`FIXED_TOP_EXTRA` more work, whole runs of :data:`FIXED_TOP_UNITS` each,
   largest gap in CNY/yr first: HiGHS on the block MIP with the top tier fixed to the plan's
   (``_fixed_top_mip``; demo at 60 s: straw 10.98 -> 10.74 M, manure 19.68 -> 19.53 M CNY/yr,
   the centre set proven optimal last session costs 19.527 M), only where the root is small
   (:data:`FIXED_TOP_MAX_ROOT`);
2. **bounds** (the rest, by relative gap): ``_tt_block.block_bound`` (the Lagrangian and the
   top-tier branch-and-bound of ``_tt_topbb``), the better plan as incumbent.

The gaps, shares and every plan phase depend on work only (node limits, LP iterations), so the
plan stays the same on an idle and on a loaded machine; each plan phase has its own CPU safety
stop (:data:`SAFETY_S_PER_UNIT` per unit); a bound phase stops at the model's deadline but not
before :data:`BOUND_S_PER_UNIT` a unit (a stop on time only leaves a weaker bound). Measured on
the demo at 60 s (BENCHMARKS.md, issue 16): model gap 5.64 -> 3.50 % (session 9), -> 2.59 %
with the fixed-top round and the bound floors (session 10).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time

from netplan.siting import _tt_lns
from netplan.siting._mip import Budget, clock, make_solver, nonzeros, rel_gap
from netplan.siting._tt_block import BlockOutcome, Options, block_bound, split_fits
from netplan.siting._tt_bound import MAX_PATH_VARS, path_link_count
from netplan.siting._tt_build import build, hint_from
from netplan.siting._tt_heur import LP_UNITS_PER_SIZE2, ROOT_FACTOR, lp_work, stream_size
from netplan.siting._tt_plan import PricedPlan, colocation_groups, price
from netplan.siting._tt_recentre import recentre
from netplan.siting._tt_split import highs_engine, solve_highs
from netplan.siting.solution import BlockResult

log = logging.getLogger(__name__)

#: Work of the second pass on top of the first's, as a share of the first's (demo at 60 s: 0.1
#: -> model gap 3.50 %, 0.15 -> 3.44 %; demo_hills' CPU is at its limit already)
TOPUP_EXTRA = 0.1
#: Share of the second pass's work for the plans; the rest for the bounds
TOPUP_PLANS = 0.5
#: Work units below which a block's top-up is not worth starting (its part is passed on)
MIN_UNITS = 0.5
#: Work units of one block's MIP with its top tier fixed (:func:`_fixed_top_mip`): its root's
#: sub-MIPs find nothing before (demo, from the recentred plans: straw and manure unchanged at 4
#: and 5 units; 10.98 -> 10.74 M and 19.68 -> 19.53 M CNY/yr at 7, 8 and 10)
FIXED_TOP_UNITS = 7.0
#: Work of the fixed-top MIPs as a share of the first pass's work, on top of the second pass's
#: (demo at 60 s: 0.35 of 45 units pays for two; what they leave is not passed on, so a model
#: with no block small enough for them, demo_hills, spends no more CPU)
FIXED_TOP_EXTRA = 0.35
#: Largest size estimate of a block's root LP (``_tt_heur.root_fits``'s, work units) for which
#: the fixed-top MIP is tried (demo straw 0.37, manure 0.74; demo_hills manure 7.7: 21 CPU s
#: for 6 units and no better plan)
FIXED_TOP_MAX_ROOT = 2.0
#: CPU safety stop of a top-up phase per work unit (seconds; its node, iteration and LP counts
#: decide)
SAFETY_S_PER_UNIT = 3.0
#: A bound phase gets at least this many times its tree's root estimate (:func:`_tree_root`)
#: while the work left pays for it: the bound rises in the first nodes after the root (demo
#: straw, root ~1.6 units: its gap share, 1.1 units, left 2.10 %; 3 units 0.69 %, 4 units 0.31 %)
BOUND_MIN_ROOTS = 2.0
#: CPU seconds a unit a bound phase may take at least (its simplex iterations decide; a stop on
#: time only leaves a weaker bound; ~1 CPU s a unit on the demo)
BOUND_S_PER_UNIT = 1.0


def top_up(subs: dict[int, list], outcomes: dict[int, BlockOutcome],
           block_out: list[BlockResult], opts: Options, budget: Budget,
           fixed: Budget | None = None) -> None:
    """Give ``budget`` to the unproven one-stream single-source blocks: :data:`TOPUP_PLANS` of it
    to their plans by their gap in CNY/yr (:func:`_plan`), ``fixed`` to the MIPs with the top
    tier fixed (:func:`_fixed_round`; what it leaves is not passed on), then the rest of
    ``budget`` to their bounds by their relative gap (``_tt_block.block_bound``, the better plan
    as incumbent). ``outcomes`` and ``block_out`` are updated in place (a plan is replaced only
    by a cheaper one, a bound only by a higher one)."""
    before = {bi: (outcomes[bi].best.total_cny, outcomes[bi].bound) for bi in outcomes}
    wall_s = dict.fromkeys(outcomes, 0.0)
    plans = budget.split(TOPUP_PLANS)
    budget.spent(plans.work)
    _share(subs, outcomes, opts, plans, lambda o: o.best.total_cny - o.bound,
           lambda bi, out, b: _plan(subs[bi], out, opts, b), wall_s)
    budget.work += plans.work
    if fixed is not None and highs_engine(opts.solver):
        _fixed_round(subs, outcomes, opts, fixed, wall_s)
    _share(subs, outcomes, opts, budget, lambda o: rel_gap(o.best.total_cny, o.bound),
           lambda bi, out, b: _bound(subs[bi], out, opts, b, before[bi][0]), wall_s,
           floor=lambda bi: BOUND_MIN_ROOTS * _tree_root(subs[bi]))
    for bi, (obj, bnd) in before.items():
        out = outcomes[bi]
        if wall_s[bi] == 0.0:
            continue
        log.info("%s: top-up %.0f -> %.0f, bound %.0f -> %.0f", "+".join(block_out[bi].streams),
                 obj, out.best.total_cny, bnd, out.bound)
        block_out[bi] = dataclasses.replace(
            block_out[bi], objective=out.best.total_cny, bound=out.bound,
            gap=rel_gap(out.best.total_cny, out.bound), status=out.status,
            solve_time_s=block_out[bi].solve_time_s + wall_s[bi])


def _share(subs: dict[int, list], outcomes: dict[int, BlockOutcome], opts: Options,
           budget: Budget, weight, phase, wall_s: dict[int, float], floor=None) -> None:
    """Run ``phase(block index, outcome, sub_budget)`` on each unproven one-stream single-source block
    (in block order) with its ``weight`` share of ``budget``'s work, at least ``floor(block
    index)`` units while the work left pays for it (what one leaves passes on to the next); the
    new outcome replaces the block's, its wall seconds add to ``wall_s``."""
    def open_(bi: int) -> bool:
        o = outcomes[bi]
        return (_tt_lns.applies(subs[bi]) and math.isfinite(o.bound)
                and rel_gap(o.best.total_cny, o.bound) > opts.mip_gap)

    order = [bi for bi in sorted(subs) if open_(bi)]
    weights = {bi: max(0.0, weight(outcomes[bi])) for bi in order}
    for k, bi in enumerate(order):
        rest = sum(weights[b] for b in order[k:])
        share = weights[bi] / rest if rest > 0 else 0.0
        work = share * budget.work
        if floor is not None:
            work = max(work, min(floor(bi), budget.work))
        if work < MIN_UNITS:
            continue
        b_budget = Budget(work=work, deadline=clock() + max(0.5, share * budget.left_s()))
        t0 = time.perf_counter()
        outcomes[bi] = phase(bi, outcomes[bi], b_budget)
        wall_s[bi] += time.perf_counter() - t0
        budget.spent(work - b_budget.work)


def _fixed_round(subs: dict[int, list], outcomes: dict[int, BlockOutcome], opts: Options,
                 budget: Budget, wall_s: dict[int, float]) -> None:
    """The MIP with the top tier fixed (:func:`_fixed_top_mip`) on :data:`FIXED_TOP_UNITS` each,
    for the unproven one-stream single-source blocks of at least two tiers whose root is small
    (:data:`FIXED_TOP_MAX_ROOT`), largest gap in CNY/yr first, while ``budget`` can pay for one:
    a decision on sizes and gaps (work), never on time."""
    def fits(bi: int) -> bool:
        sub, o = subs[bi], outcomes[bi]
        return (_tt_lns.applies(sub) and len(sub[0].tiers) >= 2 and math.isfinite(o.bound)
                and rel_gap(o.best.total_cny, o.bound) > opts.mip_gap
                and _root_units(sub) <= FIXED_TOP_MAX_ROOT)

    order = sorted((bi for bi in subs if fits(bi)),
                   key=lambda bi: (-(outcomes[bi].best.total_cny - outcomes[bi].bound), bi))
    for bi in order:
        if budget.work < FIXED_TOP_UNITS:
            break
        out = outcomes[bi]
        own = Budget(FIXED_TOP_UNITS, clock() + 1.0 + SAFETY_S_PER_UNIT * FIXED_TOP_UNITS)
        t0 = time.perf_counter()
        got = _fixed_top_mip(subs[bi], out.best, opts, own)
        wall_s[bi] += time.perf_counter() - t0
        budget.spent(FIXED_TOP_UNITS - own.work)
        if got is not None and got.total_cny < out.best.total_cny:
            outcomes[bi] = dataclasses.replace(out, best=got, bound=min(out.bound, got.total_cny))


def _plan(sub: list, out: BlockOutcome, opts: Options, budget: Budget) -> BlockOutcome:
    """A block's plan top-up: ``_tt_recentre.recentre`` (another top-tier set for the plan's
    first tier), then the path-link MIP from the best plan where it is small and its root fits
    the work left; each on its own CPU safety stop (:data:`SAFETY_S_PER_UNIT` per unit)."""
    best = out.best
    own = Budget(budget.work, clock() + 1.0 + SAFETY_S_PER_UNIT * budget.work)
    moved = recentre(sub[0], best.plans[0], own, opts.seed)
    if moved is not None:
        got = price(sub, colocation_groups(sub, [], opts.site_fixed_cost), [moved])
        best = got if got.total_cny < best.total_cny else best
    if _path_fits(sub, own.work) and highs_engine(opts.solver):
        got = _path_mip(sub, best, opts, own)
        if got is not None and got.total_cny < best.total_cny:
            best = got
    budget.work = own.work
    return dataclasses.replace(out, best=best, bound=min(out.bound, best.total_cny))


def _bound(sub: list, out: BlockOutcome, opts: Options, budget: Budget,
           first_cny: float) -> BlockOutcome:
    """A block's bound top-up: ``_tt_block.block_bound`` on ``budget`` (the Lagrangian and the
    top-tier branch-and-bound), kept when higher; status optimal when it meets the plan. Skipped
    (the work passed on) when the tree's root does not fit the work and the plan is still the
    first pass's (``first_cny``, CNY/yr)."""
    best = out.best
    if (lp_work(sub) > budget.work and not split_fits(sub[0], budget.work)
            and best.total_cny >= first_cny):
        # the top-tier tree's root would not fit: the first pass's Lagrangian bound, at the
        # same plan, is what block_bound would compute again (1-2 CPU s a block on demo_hills)
        return out
    # at least BOUND_S_PER_UNIT CPU seconds a unit, also past the model's deadline: a stop there
    # (what the first pass left of time_limit_s) cut the top-tier trees of a busy batch worker
    # and made Pingyu's bounds in bench_batch weaker than the demo's (manure 6.52 vs 4.77 %);
    # the 3 s a unit of the plan phases took demo_hills to 69 CPU s for its 60
    own = Budget(budget.work, max(budget.deadline,
                                  clock() + 1.0 + BOUND_S_PER_UNIT * budget.work))
    bound = block_bound(sub, [], best.total_cny, out.mip, -math.inf, opts, own)
    budget.work = own.work
    bound = min(max(bound, out.bound), best.total_cny)
    status = "optimal" if rel_gap(best.total_cny, bound) <= opts.mip_gap else out.status
    return dataclasses.replace(out, bound=bound, status=status)


def _root_units(sub: list, paths: int = 0) -> float:
    """Size estimate of a block's root LP (as ``_tt_heur.root_fits``) in work units, with
    ``paths`` path-link variables on top of the stream's own."""
    return ROOT_FACTOR * LP_UNITS_PER_SIZE2 * (stream_size(sub[0]) + paths) ** 2


def _tree_root(sub: list) -> float:
    """Size estimate of the root LP of the block's top-tier branch-and-bound (work units): on the
    path-link model where ``_tt_bound.single_source_bound`` builds it (small, two tiers or more)."""
    paths = path_link_count(sub[0])
    small = len(sub[0].tiers) >= 2 and paths <= MAX_PATH_VARS
    return _root_units(sub, paths if small else 0)


def _path_fits(sub: list, work: float) -> bool:
    """True when the block's path-link model is small (``_tt_bound.MAX_PATH_VARS``) and the
    size estimate of its root LP (on the model with the path variables) fits ``work``: a
    decision on sizes, never on time."""
    paths = path_link_count(sub[0])
    return paths <= MAX_PATH_VARS and _root_units(sub, paths) <= work


def _fixed_top_mip(sub: list, best: PricedPlan, opts: Options, budget: Budget
                   ) -> PricedPlan | None:
    """HiGHS on the block's MIP with the top tier's sites fixed to ``best``'s (open ones open,
    the others closed), from ``best``, on a node limit worth ``budget``'s work (deterministic);
    its own CPU safety stop of :data:`SAFETY_S_PER_UNIT` per unit; the plan priced, or None.
    With the top tier fixed HiGHS's sub-MIPs reach the points and stations the LNS misses (demo
    straw, centres of the recentred 60 s plan: 10.98 -> 10.74 M CNY/yr at 7 units)."""
    mip = make_solver(opts.solver)
    # the plain model: with the path links no better (demo straw 10,754,463 against 10,743,147
    # at 6 units) and larger
    h = build(mip, sub, [], opts.site_fixed_cost)
    top = best.plans[0].opens[-1]
    for j, v in enumerate(h.streams[0].y[-1]):
        if v is not None:
            v.SetBounds(float(top[j]), float(top[j]))
    hint = hint_from(h, sub, list(best.plans))
    limit = Budget(budget.work, 0.0).nodes(nonzeros(mip))
    res, got = solve_highs(mip, h, sub, 1.0 + SAFETY_S_PER_UNIT * budget.work, opts.mip_gap,
                           hint=hint, seed=opts.seed, node_limit=limit)
    budget.spent(budget.work * min(1.0, res.nodes / limit))
    log.info("fixed-top MIP: %d of %d nodes, %s, %.0f", res.nodes, limit, res.status,
             res.objective)
    return None if got is None else price(sub, colocation_groups(sub, [], opts.site_fixed_cost),
                                          got)


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
