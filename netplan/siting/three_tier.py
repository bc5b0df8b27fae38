r"""The hierarchical siting model planners use: demands → village points → township stations →
county centres, for one or several streams solved together.

Formulation (one MIP for all streams; per stream ``s``, tiers ``t = 1..T``, usually ``T = 3``)
---------------------------------------------------------------------------------------------
Sets: demands :math:`i` with generation :math:`q_i` (t/yr); candidates :math:`j \in J_t` of tier
:math:`t`; items of level :math:`t-1` are the demands for :math:`t = 1`, else :math:`J_{t-1}`.
Only *pairs* :math:`(a, b)` with a finite cost :math:`d_{ab}` within the tier's radius :math:`R_t`
exist (pair dropping); a candidate that can reach no usable candidate of the tier above is removed
(top-down reduction), and a demand heavier than a tier-1 candidate's capacity cannot use it.

Variables

* :math:`y_{tj} \in \{0,1\}` open candidate :math:`j` of tier :math:`t` (1 if forced, absent if
  forbidden);
* :math:`x_{ij} \in \{0,1\}` demand :math:`i` delivers to village point :math:`j` (single source);
* :math:`u_{jk} \in \{0,1\}` tier-:math:`(t-1)` site :math:`j` sends to tier-:math:`t` site
  :math:`k` (single source), with flow :math:`f_{jk} \ge 0` (t/yr);
* :math:`z_{t\sigma} \in \{0,1\}` physical site :math:`\sigma` open at tier :math:`t` for a
  co-location group (only where two or more streams of the group have a candidate at
  :math:`\sigma`).

Objective (CNY/yr)

.. math::

    \min \sum_{t,j \notin \text{shared}} F_{tj} y_{tj} + \sum_{t,\sigma} F_{t\sigma} z_{t\sigma}
    + \sum_{ij} c_1 q_i \tfrac{d_{ij}}{1000} x_{ij}
    + \sum_{t \ge 2} \sum_{jk} c_t \tfrac{d_{jk}}{1000} f_{jk}
    + \pi \sum_i q_i \Bigl(1 - \sum_j x_{ij}\Bigr)

with :math:`c_t` the rate in CNY/(t·km) of the link into tier :math:`t` (costs in metres),
:math:`\pi` the unserved penalty (CNY/t) and :math:`F_{t\sigma}` the shared fixed cost (``site_fixed_cost``
if given, else the largest fixed cost among the co-located candidates).

Constraints

.. math::

    x_{ij} &\le y_{1j}                                  && \text{(strong linking, per pair)}\\
    s_i := \sum_j x_{ij} &\le 1, \quad s_i = 1 \text{ if } i \text{ must be served} \\
    \sum_i q_i x_{ij} &\le C_{1j} y_{1j}                 && \text{(tier-1 capacity)}\\
    \sum_k u_{jk} &= y_{t-1,j}, \quad u_{jk} \le y_{tk}   && (t \ge 2)\\
    f_{jk} &\le M_j u_{jk}, \quad \sum_k f_{jk} = \text{inflow}_j && (t \ge 2)\\
    \sum_j f_{jk} &\le C_{tk} y_{tk}                     && \text{(tier-}t\text{ capacity)}\\
    \sum_i q_i s_i &\ge \alpha \sum_i q_i \quad\text{or}\quad
        \sum_{i \in V} s_i \ge \lceil \alpha |V| \rceil  && \text{(coverage target)}\\
    m_g \le \sum_{j \in J_t: g(j) = g} y_{tj} &\le M_g   && \text{(sites per township)}\\
    \sum_{j \in J_t} y_{tj} &\ge n_t                   && \text{(cardinality cut)}\\
    y_{tj} &\le z_{t\sigma(j)}, \quad z_{t\sigma} \le \sum_{j: \sigma(j)=\sigma} y_{tj}
        && \text{(co-location)}

where inflow is :math:`\sum_i q_i x_{ij}` for a village point and :math:`\sum_{j'} f_{j'j}` above,
:math:`M_j` is the smaller of the capacity and the most that can reach :math:`j`, and :math:`V`
the counted demands (``count_mask``, administrative villages), and :math:`n_t` the fewest
tier-:math:`t` candidates whose largest capacities hold the tonnage that must be served (a valid
cut: the LP would otherwise open e.g. 0.88 of a centre whose capacity exceeds the whole load). "Must be served": every demand with
:math:`q_i > 0` (or every counted one) when :math:`\alpha = 1`.

*Multi-source* streams (``StreamModel.single_source=False``, e.g. the two-stage CFLP of
Fernandes et al. 2014): :math:`x_{ij} \in [0, 1]` is the share of demand :math:`i` that village
point :math:`j` serves (still :math:`x_{ij} \le y_{1j}`; a demand outside the must-serve set has
:math:`\sum_j x_{ij} = s_i` with :math:`s_i \in \{0,1\}`: split, but served fully or not at
all), and the links of tiers :math:`t \ge 2` carry continuous flows without :math:`u`, linked
by :math:`f_{jk} \le \min(C_{tk}, M_j)\, y_{tk}` with the same flow conservation and
capacities. Plans then carry their split flows (:attr:`StreamSolution.flow_t`), the assignment
names the largest share; the LP-guided start adds reduced-cost fixing, which can prove a
restricted MIP's plan optimal for the full model (``_tt_heur.lp_guided``). A block of
multi-source streams only is solved (full and restricted MIPs) by HiGHS (highspy, CPU-second
limit, MIP start) on the model without the per-pair rows a capacity row implies for integer
:math:`y` (``_tt_split.solve_highs``, ``weak_links``): exact, and on the Fernandes instances
several times faster than SCIP on the model with all of them (BENCHMARKS.md). When such a
block's MIP (one stream, every weighted demand served) stops at its time limit, which it gets 70 %
of the block's time after the starts for, the rest goes to a local search over open sets
(``_tt_ils``: min-cost-flow pricing, flip/swap descent with random perturbations, and MIPs
restricted to the candidates of the best local optima), from the best plan so far.

Solving: a tier-by-tier heuristic (``_tt_heur``: per tier the better of a short sub-MIP and a
greedy with a site-closing pass, costs including the cheapest onward cost to the top tier) gives a
feasible plan; then the block's LP relaxation (CLP) is solved and the MIP restricted to the
candidates the LP opens at all (plus forced ones and the heuristic's) is solved from that plan
(``_tt_heur.lp_guided``; the tier-by-tier heuristic is myopic about upper-tier fixed costs, the
restricted MIP is not). The cheaper of the two plans starts the full MIP; the best of the three
plans is returned with the larger of the MIP's bound and the LP value. When neither start finds
a plan (tight capacities with single sourcing and a village-count target), the model is first
solved with a zero objective for any feasible plan — the solver's primal heuristics find one in
seconds where the costed MIP may not within minutes — which then starts the LP-guided restricted
MIP and the full MIP; a proof that no plan exists raises InfeasibleError. When there is no plan
(proven, or none found in time → SolverTimeout), the error names the rules whose relaxation alone
gives a plan within seconds (split loads, a tier's capacities, a per-township maximum).
Streams not linked through ``share`` form independent models and are solved one after
another, each with its share of the remaining time limit (by model size; unused time rolls over).
The reported bound is the sum of the models' bounds (a model whose MIP stops before finishing its
root LP is bounded by its LP relaxation, solved with CLP) and the status the weakest of theirs.

Infeasible inputs are diagnosed before solving (no candidate within radius, a demand heavier than
every reachable site, total capacity short of what must be served, a township rule no candidate
set can meet, forced-and-forbidden sites) and raise :class:`~netplan.errors.InfeasibleError`
naming the demands or groups and why.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from netplan.errors import InfeasibleError, InputError, SolverTimeout
from netplan.siting import _tt_ils
from netplan.siting._mip import RunResult, clock, make_solver, rel_gap, run
from netplan.siting._tt_build import build, evaluate, hint_from, read
from netplan.siting._tt_heur import heuristic, lp_guided
from netplan.siting._tt_prep import prepare
from netplan.siting._tt_split import solve_highs, weak_links
from netplan.siting.solution import BlockResult, ThreeTierSolution


@dataclass(frozen=True)
class Tier:
    """One tier of one stream: its candidates and the link into it.

    Attributes
    ----------
    cost
        (n_prev, n_cand) link length in metres from each item of the previous level (the
        demands for the first tier) to each candidate; ``inf`` = not allowed.
    capacity
        (n_cand,) or scalar, t/yr of inflow; ``inf`` = uncapacitated.
    fixed_cost
        (n_cand,) or scalar, annualised CNY/yr paid when the candidate opens.
    radius
        Longest allowed link into this tier, metres; None = any finite cost.
    rate_per_t_per_km
        Transport cost of the link into this tier, CNY/(t·km).
    site
        (n_cand,) physical-site index per candidate, for co-location across streams.
    force_open, forbidden
        Candidate indices (or boolean masks) of existing sites that must open / sites that may not.
    group
        (n_cand,) township index per candidate, -1 = none.
    min_per_group, max_per_group
        Scalar or per group index: at least / at most this many open candidates per group.
    """

    cost: np.ndarray
    capacity: np.ndarray | float = np.inf
    fixed_cost: np.ndarray | float = 0.0
    radius: float | None = None
    rate_per_t_per_km: float = 0.0
    site: np.ndarray | None = None
    force_open: np.ndarray | None = None
    forbidden: np.ndarray | None = None
    group: np.ndarray | None = None
    min_per_group: int | np.ndarray | None = None
    max_per_group: int | np.ndarray | None = None


@dataclass(frozen=True)
class StreamModel:
    """One stream: demands and its tiers (three for the planner; one or two also work).

    Attributes
    ----------
    name
        Stream name (used in ``share`` and in errors).
    weights
        (n_demand,) generation, t/yr.
    tiers
        Tiers from the demands upwards: village point, township station, county centre.
    coverage_target
        Share (0–1) that must be served within the first tier's radius.
    coverage_on
        "weight" (share of tonnage) or "count" (share of the ``count_mask`` demands, i.e.
        administrative villages).
    count_mask
        (n_demand,) which demands count for "count" coverage; None = all.
    unserved_penalty_per_t
        CNY per t/yr left unserved, so the model serves beyond the target where it pays.
    single_source
        True (the planner's rule): each demand delivers to one village point and each site to
        one site of the tier above. False: demand and flow may split across sites (x continuous,
        no binary u; split flows in :attr:`StreamSolution.flow_t`).
    """

    name: str
    weights: np.ndarray
    tiers: tuple[Tier, ...]
    coverage_target: float = 1.0
    coverage_on: str = "weight"
    count_mask: np.ndarray | None = None
    unserved_penalty_per_t: float = 0.0
    single_source: bool = True


def three_tier(
    streams: StreamModel | Sequence[StreamModel],
    *,
    site_fixed_cost: np.ndarray | None = None,
    share: Sequence[tuple[str, ...]] = (),
    time_limit_s: float = 30.0,
    solver: str = "scip",
    seed: int = 0,
    mip_gap: float = 1e-4,
    progress: bool = False,
    nearest_links: int | None = None,
    path_cuts: bool = False,
    heuristic_share: float = 0.6,
    lp_start: bool = True,
) -> ThreeTierSolution:
    """Site all tiers of one or several streams in one MIP (formulation in the module docstring).

    Parameters
    ----------
    streams
        One :class:`StreamModel` or several; streams are coupled only through ``share``.
    site_fixed_cost
        Fixed cost in CNY/yr of a shared physical site, shape (n_sites,) (all tiers) or
        (n_tiers, n_sites); default is the largest fixed cost of the co-located candidates.
    share
        Groups of stream names whose candidates at the same ``site`` index and tier pay one fixed
        cost, e.g. ``[("film", "pesticide_packaging")]``. Names of absent streams are ignored.
    time_limit_s
        Solver wall-clock limit, seconds.
    solver
        "scip", "highs", "cbc" or "cp-sat".
    seed
        Solver random seed.
    mip_gap
        Relative gap at which a solution counts as optimal.
    progress
        Print the solver log.
    nearest_links
        Modelling rule: each site may send only to its ``nearest_links`` nearest candidates of
        the tier above (plus forced-open ones). Shrinks large models; None = every pair within
        the radius. Status, bound and gap then refer to the model with this rule.
    heuristic_share
        Share of each block's time limit given to the start heuristics (half to the
        tier-by-tier heuristic, the rest to the LP-guided restricted MIP) whose better plan
        starts the full MIP (0 = none). The best plan is returned, with the best bound.
    lp_start
        Run the LP-guided restricted MIP (``_tt_heur.lp_guided``) within ``heuristic_share``;
        False = the tier-by-tier heuristic alone gets that share.
    path_cuts
        Add the demand-to-upper-tier variables and cuts described in ``_tt_build._path_cuts``
        (tighter LP bound, larger LP).

    Returns
    -------
    ThreeTierSolution
        Per stream and tier the open sites, assignments and loads; objective and bound in CNY/yr.

    Raises
    ------
    InfeasibleError
        Naming the demands, groups or tiers that make the model infeasible, and why.
    SolverTimeout
        When the time limit ends before any feasible plan is found.
    """
    t_start = clock()
    t_wall = time.perf_counter()
    models = [streams] if isinstance(streams, StreamModel) else list(streams)
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        msg = f"stream names must be unique, got {names}"
        raise InputError(msg, field="streams")
    datas, problems = [], []
    for m in models:
        sd, probs = prepare(m, nearest_links)
        datas.append(sd)
        problems.extend(probs)
    if problems:
        msg = "the siting model has no feasible plan"
        raise InfeasibleError(msg, unservable=problems)
    comps = _share_components(share, names)
    in_comp = {i for c in comps for i in c}
    blocks = comps + [[i] for i in range(len(models)) if i not in in_comp]
    blocks.sort(key=min)
    # streams not linked by ``share`` are independent models: solve them one after another, each
    # with its share of the remaining time (unused time rolls over to the next ones)
    weights = [sum(_size(datas[i]) for i in b) for b in blocks]
    results: dict[int, tuple] = {}
    statuses, objs, bounds = [], [], []
    block_out: list[BlockResult] = []
    for bi, block in enumerate(blocks):
        left = time_limit_s - (clock() - t_start)
        share_t = weights[bi] / max(sum(weights[bi:]), 1)
        limit = max(0.5, left * share_t)
        t_block = clock()
        t_block_wall = time.perf_counter()
        sub = [datas[i] for i in block]
        local = [list(range(len(block)))] if len(block) > 1 else []
        plans_h = plans_lp = None
        lp_bound = -np.inf
        if heuristic_share > 0:
            plans_h = []
            for sd in sub:
                h_share = 0.5 * heuristic_share if lp_start else heuristic_share
                plan = heuristic(sd, solver, h_share * limit / len(sub), seed)
                if plan is None:
                    plans_h = None
                    break
                plans_h.append(plan)
        label = ", ".join(names[i] for i in block)
        plans_f = None
        if heuristic_share > 0 and plans_h is None:
            # the tier-by-tier heuristic found no plan (tight capacities with single sourcing and
            # a village-count target): look for any feasible plan, or a proof there is none,
            # before the costed MIPs, which on such models spend their time on the objective
            # without a plan the block has nothing to return: this search may also use up to
            # half of the model's remaining time (later blocks then get less)
            left_h = heuristic_share * limit - (clock() - t_block)
            left_all = time_limit_s - (clock() - t_start)
            plans_f = _feasible_plan(sub, local, site_fixed_cost, solver,
                                     max(1.0, left_h, 0.5 * left_all), seed, label)
        if heuristic_share > 0 and lp_start:
            left_h = heuristic_share * limit - (clock() - t_block)
            # at least 2 s: its LP value is the block's bound when the MIP stops in its root
            plans_lp, lp_bound = lp_guided(sub, local, site_fixed_cost, solver,
                                           max(2.0, left_h), seed, plans_h or plans_f)
        starts = [p for p in (plans_h, plans_lp, plans_f) if p is not None]
        mip = make_solver(solver)
        # multi-source blocks: HiGHS on the model without the implied per-pair rows (_tt_split)
        multi = not any(sd.single_source for sd in sub) and not path_cuts
        handles = build(mip, sub, local, site_fixed_cost, path_cuts=path_cuts,
                        links=weak_links(sub) if multi else None)
        if len(starts) >= 2:
            starts.sort(key=lambda p: sum(evaluate(handles, sub, p)[1:4]))
        hint = hint_from(handles, sub, starts[0]) if starts else None
        left = limit - (clock() - t_block)
        use_ils = heuristic_share > 0 and multi and _tt_ils.applies(sub)
        if (starts and not any(sd.single_source for sd in sub)
                and rel_gap(sum(evaluate(handles, sub, starts[0])[1:4]), lp_bound) <= mip_gap):
            # multi-source: the LP-guided start's reduced-cost restriction proved its plan optimal
            res = RunResult("optimal", np.nan, lp_bound, 0.0, 0.0, False)
        else:
            # keep a fifth of the block's time for an LP bound in case the MIP never ends its root
            # (multi-source blocks: 30 %, for that bound or the local search after the MIP)
            mip_share = 0.7 if use_ils else 0.8
            if multi:
                res, plans_m = solve_highs(mip, handles, sub, max(0.5, mip_share * left), mip_gap,
                                            hint=hint, seed=seed)
            else:
                res = run(mip, solver_name=solver, time_limit_s=max(0.5, 0.8 * left),
                          mip_gap=mip_gap, seed=seed, hint=hint, progress=progress,
                          offset=handles.offset)
        if res.status == "infeasible":
            helps = _what_would_help(sub, local, site_fixed_cost, solver, seed)
            raise InfeasibleError(_infeasible_msg(label, helps), unservable=[])
        plans_all = ([plans_m if multi else read(handles, sub)] if res.has_solution else [])
        plans_all.extend(starts)
        candidates = [evaluate(handles, sub, p) for p in plans_all]
        if candidates and use_ils and res.status != "optimal":
            # the MIP stopped at its time limit: search the open sets around its best plan for
            # the rest of the block's time (the LP bound's reserve is kept when it is needed)
            order = sorted(range(len(candidates)), key=lambda i: sum(candidates[i][1:4]))
            reserve = 0.0 if np.isfinite(lp_bound) else 0.1 * limit
            plan_ils = _tt_ils.improve(
                sub[0], plans_all[order[0]][0][0], t_block + limit - reserve, seed=seed,
                bound=max(res.bound, lp_bound), gap=mip_gap,
                others=[plans_all[i][0][0] for i in order[1:]], solver=solver)
            if plan_ils is not None:
                candidates.append(evaluate(handles, sub, [plan_ils]))
        if not candidates:
            spent = clock() - t_block
            helps = _what_would_help(sub, local, site_fixed_cost, solver, seed)
            msg = (f"no feasible siting plan for {label} found in {spent:.0f} CPU s ({solver}), "
                   "and none was proven impossible either")
            if helps:
                msg += ("; a plan exists (found within seconds) if " + ", or if ".join(helps)
                        + ": that rule is what binds — relax it in the scenario or give the model more "
                        "time (time_limit_s)")
            else:
                msg += ": give the model more time (scenario time_limit_s) or relax a capacity, radius or "
                msg += "coverage target"
            raise SolverTimeout(msg, bound=res.bound)
        best = min(candidates, key=lambda c: c[1] + c[2] + c[3])
        streams_out, fixed, transport, penalty, shared = best
        obj = fixed + transport + penalty
        status = res.status if res.status in ("optimal", "feasible", "time_limit") else "time_limit"
        for i, so in zip(block, streams_out, strict=True):
            results[i] = so
        statuses.append(status)
        objs.append((fixed, transport, penalty, shared))
        if not np.isfinite(lp_bound):
            # no LP value yet (no LP-guided start, or it ran out of time): the MIP's bound is the
            # trivial one when it stops before ending its root, so bound the block by its LP
            blk_left = limit - (clock() - t_block)
            lp_bound = _lp_bound(sub, local, site_fixed_cost, path_cuts, max(2.0, blk_left))
        blk_bound = max(res.bound, lp_bound)
        bounds.append(min(blk_bound, obj) if np.isfinite(blk_bound) else -np.inf)
        block_out.append(BlockResult(
            streams=tuple(names[i] for i in block), objective=obj, bound=bounds[-1],
            gap=rel_gap(obj, bounds[-1]), status=status,
            solve_time_s=time.perf_counter() - t_block_wall))
    fixed = sum(o[0] for o in objs)
    transport = sum(o[1] for o in objs)
    penalty = sum(o[2] for o in objs)
    objective = fixed + transport + penalty
    bound = float(sum(bounds))
    gap = rel_gap(objective, bound)
    status = _combine(statuses)
    n_t = max(len(sd.tiers) for sd in datas)
    shared_all = tuple(
        np.unique(np.concatenate([o[3][t] for o in objs if t < len(o[3])] or [np.zeros(0, int)]))
        .astype(int) for t in range(n_t))
    return ThreeTierSolution(
        streams=tuple(results[i] for i in range(len(models))), objective=objective, bound=bound,
        gap=gap, status=status, solve_time_s=time.perf_counter() - t_wall, fixed_cost_cny=fixed,
        transport_cost_cny=transport, penalty_cny=penalty, shared_sites=shared_all,
        blocks=tuple(block_out))


def _infeasible_msg(label: str, helps: Sequence[str] = ()) -> str:
    msg = (f"the siting model of {label} has no feasible plan: each demand can reach a "
           "site and capacities suffice in total, so the conflict is between capacities, "
           "single sourcing, township rules and the coverage target together")
    if helps:
        return msg + "; a plan exists if " + ", or if ".join(helps) + ": relax that rule"
    return msg + "; relax one of them"


def _feasible_plan(sub, local, site_fixed_cost, solver: str, limit_s: float, seed: int,
                   label: str) -> list | None:
    """Any feasible plan of a block: the model with a zero objective (the solver's primal
    heuristics find plans on tight models far sooner without costs to chase).

    Returns the plan per stream, or None when none was found within ``limit_s``; raises
    :class:`~netplan.errors.InfeasibleError` when the solver proves there is none.
    """
    mip = make_solver(solver)
    handles = build(mip, sub, local, site_fixed_cost)
    mip.Objective().Clear()
    res = run(mip, solver_name=solver, time_limit_s=limit_s, mip_gap=1.0, seed=seed)
    if res.status == "infeasible":
        helps = _what_would_help(sub, local, site_fixed_cost, solver, seed)
        raise InfeasibleError(_infeasible_msg(label, helps), unservable=[])
    return read(handles, sub) if res.has_solution else None


def _what_would_help(sub, local, site_fixed_cost, solver: str, seed: int,
                     probe_s: float = 5.0) -> list[str]:
    """Relaxations that each, alone, give a block a feasible plan within ``probe_s`` CPU s.

    Tried when no plan was found at all: loads split between sites (no single sourcing), each
    tier's capacities unlimited, each tier's per-township maximum lifted. The answer names the
    rule a planner should look at; a relaxation not listed may still help given more time.
    """
    import dataclasses

    from netplan.siting._tt_prep import tier_label

    n_t = max(len(sd.tiers) for sd in sub)

    def uncapped(sd, t):
        if t >= len(sd.tiers):
            return sd
        td = sd.tiers[t]
        tiers = list(sd.tiers)
        tiers[t] = dataclasses.replace(td, cap=np.full(td.n, np.inf),
                                       flow_ub=np.full(td.n, float(sd.w.sum())))
        return dataclasses.replace(sd, tiers=tiers)

    def no_township_max(sd, t):
        if t >= len(sd.tiers):
            return sd
        tiers = list(sd.tiers)
        tiers[t] = dataclasses.replace(sd.tiers[t], gmax=None)
        return dataclasses.replace(sd, tiers=tiers)

    def name(t):
        return tier_label(t, n_t).replace("_", " ")

    probes = []
    if any(sd.single_source for sd in sub):
        probes.append(("loads could split between sites (no single sourcing)",
                       lambda sd: dataclasses.replace(sd, single_source=False)))
    for t in range(n_t):
        if any(t < len(sd.tiers) and np.isfinite(sd.tiers[t].cap).any() for sd in sub):
            probes.append((f"{name(t)} capacities were unlimited",
                           lambda sd, t=t: uncapped(sd, t)))
        if any(t < len(sd.tiers) and sd.tiers[t].gmax is not None for sd in sub):
            probes.append((f"a township could have more {name(t)}s than its maximum",
                           lambda sd, t=t: no_township_max(sd, t)))
    helped = []
    for text, relax in probes:
        trial = [relax(sd) for sd in sub]
        mip = make_solver(solver)
        build(mip, trial, local, site_fixed_cost)
        mip.Objective().Clear()
        if run(mip, solver_name=solver, time_limit_s=probe_s, mip_gap=1.0, seed=seed).has_solution:
            helped.append(text)
    return helped


def _lp_bound(sub, local, site_fixed_cost, path_cuts, limit_s: float) -> float:
    """LP-relaxation value of a block (a valid lower bound), solved with CLP within ``limit_s``."""
    from ortools.linear_solver import pywraplp

    lp = pywraplp.Solver.CreateSolver("CLP")
    if lp is None:  # pragma: no cover - depends on the OR-Tools build
        return -np.inf
    h = build(lp, sub, local, site_fixed_cost, path_cuts=path_cuts)
    lp.SetTimeLimit(int(limit_s * 1000))
    if lp.Solve() != pywraplp.Solver.OPTIMAL:
        return -np.inf
    return lp.Objective().Value() + h.offset


def _size(sd) -> int:
    return sum(len(td.pa) for td in sd.tiers) + len(sd.w)


def _combine(statuses: list[str]) -> str:
    """Status of several independent models: the weakest one."""
    for s in ("time_limit", "feasible"):
        if s in statuses:
            return s
    return "optimal"


def _share_components(share: Sequence[tuple[str, ...]], names: list[str]) -> list[list[int]]:
    """Union the share groups into components of stream indices (≥ 2 members each)."""
    pos = {n: i for i, n in enumerate(names)}
    parent = list(range(len(names)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for grp in share:
        if isinstance(grp, str):
            msg = f"share must be a list of tuples of stream names, got the string {grp!r}"
            raise InputError(msg, field="share")
        idx = [pos[n] for n in grp if n in pos]
        for a in idx[1:]:
            parent[find(a)] = find(idx[0])
    comps: dict[int, list[int]] = {}
    for i in range(len(names)):
        comps.setdefault(find(i), []).append(i)
    return [c for c in comps.values() if len(c) >= 2]
