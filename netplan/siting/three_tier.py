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

Solving (``_tt_block.solve_block``, per block): start plans (the tier-by-tier heuristic of
``_tt_heur``: per tier the better of a short sub-MIP and a greedy, costs including the cheapest
onward cost to the top tier; a zero-objective feasibility solve when it finds none, which also
proves infeasibility; the LP-guided restricted MIP; or a feasible warm ``start`` in the tier
heuristic's place), then the block's MIP from the cheapest start, then for a one-stream
single-source block the large-neighbourhood search of ``_tt_lns`` (the upper tiers, regions of
stations with what they serve and every centre freed, then one sweep of the upper and one of the
lower tiers; the rest fixed at the incumbent, HiGHS from the incumbent),
for a multi-source block stopped early the local search of ``_tt_ils``, and finally the bound:
the best of the MIP's bound, the LP value and, for a single-source stream, the tier-decoupled
Lagrangian bound (``_tt_lagr``, a fixed number of subgradient iterations, exact 0-1 first-tier
knapsacks) and the branch-and-bound over the sites' open variables of ``_tt_topbb`` (centres
first; HiGHS LPs warm-started per node, stopped on simplex iterations), on ``_tt_block.BOUND_SHARE``
of the block's work (``_tt_bound.single_source_bound``). Streams not linked through ``share`` form
independent blocks, solved one after another, each with its share (by model size) of the work
left and twice that share of the CPU time left as its safety stop. Then a **second pass**
(``_tt_topup``): the work the single-source blocks kept for their bounds, what proven blocks
left and ``_tt_topup.TOPUP_EXTRA`` more go to the unproven blocks — half to their plans by gap in
CNY/yr (``_tt_recentre``: another centre set for the plan's points, priced by the upper-tiers
LP; the path-link MIP where small), then the MIP with the plan's centres fixed
(``_tt_topup.FIXED_TOP_EXTRA`` more work, whole runs only, blocks whose root is small), half
to their bounds by relative gap (the top-tier branch-and-bound with the better plan as
incumbent). The restricted and full MIPs
of single-source blocks are solved by HiGHS (highspy) when ``solver`` is "scip" or "highs"
(``_tt_split.highs_engine``); the tier sub-MIPs use ``solver``. Everything that changes a
single-source plan stops on **work** (``_mip.Budget``, 0.75 of ``time_limit_s`` by default): MIP
node limits, HiGHS runs also interrupted after a number of interrupt-callback calls per node (its
root is not counted in nodes; the calls come at fixed points of its single-threaded search), LNS
neighbourhood counts, a fixed number of LP solves — so the same inputs and seed give the same plan
on an idle and on a loaded machine; ``time_limit_s`` (CPU seconds) is the safety stop. The
reported bound is the sum of the blocks' bounds and the status the weakest of theirs.

Infeasible inputs are diagnosed before solving (no candidate within radius, a demand heavier than
every reachable site, total capacity short of what must be served, a township rule no candidate
set can meet, forced-and-forbidden sites) and raise :class:`~netplan.errors.InfeasibleError`
naming the demands or groups and why.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from netplan.errors import InfeasibleError, InputError
from netplan.siting._mip import Budget, clock, rel_gap
from netplan.siting._tt_block import Options, solve_block
from netplan.siting._tt_heur import stream_size
from netplan.siting._tt_plan import StreamPlan, plan_from_start, plan_problem
from netplan.siting._tt_prep import prepare
from netplan.siting._tt_topup import FIXED_TOP_EXTRA, TOPUP_EXTRA, top_up
from netplan.siting.solution import BlockResult, ThreeTierSolution

log = logging.getLogger(__name__)

#: A block's CPU safety stop is this multiple of its (size) share of the CPU time left
SAFETY = 2.0


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
    work: float | None = None,
    start: ThreeTierSolution | Mapping[str, object] | Sequence[object] | None = None,
    coverage_backoff: float = 0.0,
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
        CPU seconds of this process for the whole solve: the safety stop (see ``work``).
    work
        Deterministic work budget (``_mip.Budget`` units, about CPU seconds on an idle machine;
        MIP node limits scale with it); default half of ``time_limit_s``. Single-source plans
        depend on it, not on machine load.
    solver
        "scip", "highs", "cbc" or "cp-sat": the tier sub-MIPs' backend; the blocks' restricted
        and full MIPs use HiGHS (highspy) for "scip" and "highs", the backend itself otherwise.
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
    start
        Warm start: a previous :class:`ThreeTierSolution` on the same candidates (e.g. the plan
        of a neighbouring target in a cost–coverage sweep), or per stream name a
        :class:`StreamSolution` or ``_tt_plan.StreamPlan`` (a mapping, or a sequence of
        solutions carrying ``name``). A stream's start that is a feasible plan of the new model
        (``_tt_plan.plan_problem``) replaces the block's tier-by-tier heuristic, is kept open in
        the LP-guided restricted MIP and is the full MIP's start when it is the cheapest plan;
        a block uses it only when every stream of the block has one. A start that does not fit
        (other candidates, a target it misses, a capacity it breaks) is ignored and logged, not
        an error. The plan stays deterministic: the same start gives the same plan.
    coverage_backoff
        0: a block proven infeasible raises. > 0: its coverage targets are lowered by this much
        (e.g. 0.02) and the block solved again, at most :data:`MAX_BACKOFFS` times (single
        sourcing against capacities); planned targets in :attr:`BlockResult.targets`.

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
    t_wall = time.perf_counter()
    models = [streams] if isinstance(streams, StreamModel) else list(streams)
    names = [m.name for m in models]
    datas = _prepare_all(models, names, nearest_links)
    starts = _start_plans(start, names, datas)
    blocks = _blocks(share, names)
    opts = Options(solver=solver, seed=seed, mip_gap=mip_gap, progress=progress,
                   path_cuts=path_cuts, heuristic_share=heuristic_share, lp_start=lp_start,
                   site_fixed_cost=site_fixed_cost)
    outcomes, block_out = _two_passes(datas, names, blocks, opts, Budget.cpu(time_limit_s, work),
                                      starts, (models, nearest_links, coverage_backoff))
    return _combine(models, datas, blocks, outcomes, block_out, time.perf_counter() - t_wall)


def _prepare_all(models: list[StreamModel], names: list[str], nearest_links: int | None) -> list:
    """Check stream names are unique and prepare every stream; raise if any cannot be served."""
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
    return datas


def _start_plans(start, names: list[str], datas: list) -> list[StreamPlan | None]:
    """Per stream, the warm start's plan when it is feasible for the new model, else None."""
    if start is None:
        return [None] * len(names)
    if isinstance(start, ThreeTierSolution):
        start = start.streams
    by_name = dict(start) if isinstance(start, Mapping) else {s.name: s for s in start}
    out: list[StreamPlan | None] = []
    for name, sd in zip(names, datas, strict=True):
        plan = plan_from_start(sd, by_name[name]) if name in by_name else None
        why = "its shapes do not fit the model" if plan is None else plan_problem(sd, plan)
        if name in by_name and why is not None:
            log.info("%s: warm start ignored (%s)", name, why)
            plan = None
        out.append(plan)
    return out


def _two_passes(datas: list, names: list[str], blocks: list[list[int]], opts: Options,
                budget: Budget, starts: list, backoff: tuple) -> tuple[dict, list[BlockResult]]:
    """Every block on its size share of ``budget``, then the second pass
    (``_tt_topup.top_up``) on the blocks' bound reserves, what proven blocks left and
    ``_tt_topup.TOPUP_EXTRA`` of the first pass's work on top, and its fixed-top MIPs on
    ``_tt_topup.FIXED_TOP_EXTRA`` of it (what they leave is not spent)."""
    work0 = budget.work
    pool = Budget(work=0.0, deadline=budget.deadline)
    outcomes, block_out, subs = _solve_blocks(datas, names, blocks, opts, budget, starts,
                                              backoff=backoff, pool=pool)
    top_up(subs, outcomes, block_out, opts,
           Budget(budget.work + pool.work + TOPUP_EXTRA * work0, budget.deadline),
           fixed=Budget(FIXED_TOP_EXTRA * work0, budget.deadline))
    return outcomes, block_out


#: most times a block proven infeasible has its coverage targets lowered (``coverage_backoff``)
MAX_BACKOFFS = 10


def _solve_blocks(datas: list, names: list[str], blocks: list[list[int]], opts: Options,
                  budget: Budget, starts: list | None = None,
                  backoff: tuple = ((), None, 0.0), pool: Budget | None = None,
                  ) -> tuple[dict, list[BlockResult], dict]:
    """Solve the blocks in order, each with its size share of ``budget`` (spent from it) and
    the warm start of its streams (``starts``, when every one has a feasible one); ``backoff`` =
    (models, nearest_links, step) lowers a block's coverage targets when it is proven infeasible.
    The work a block proven optimal leaves goes to ``pool`` (the second pass) when one is given,
    else to the blocks after it. Returns the outcomes and results per block and the streams'
    data each block was solved on."""
    if not 0.0 <= backoff[2] <= 1.0:
        msg = f"coverage_backoff must be a share in [0, 1], got {backoff[2]}"
        raise InputError(msg, field="coverage_backoff")
    starts = starts or [None] * len(datas)
    sizes = [sum(stream_size(datas[i]) for i in b) for b in blocks]
    outcomes, block_out, subs = {}, [], {}
    for bi, block in enumerate(blocks):
        # each block gets its share (by model size) of the work and CPU time left
        share_b = sizes[bi] / max(sum(sizes[bi:]), 1)
        # work decides a single-source plan; twice the block's share of the CPU time left is the
        # safety stop (a block whose roots overrun its work estimate cannot starve the later
        # blocks; twice, because sizes predict a block's CPU time only roughly: on the demo the
        # first block, straw, is 9 % of the model but needs ~15 % of the time)
        b_budget = Budget(work=share_b * budget.work,
                          deadline=clock() + max(0.5, min(1.0, SAFETY * share_b) * budget.left_s()))
        t_block_wall = time.perf_counter()
        work0 = b_budget.work
        warm = [starts[i] for i in block]
        sub = [datas[i] for i in block]
        span = b_budget.deadline - clock()
        # with a back-off, an infeasible block is retried: no diagnosis (its probes cost ~5 s
        # each), and each retry gets the block's whole work and span again (its plan depends on
        # work only; the retries may run past time_limit_s)
        b_opts = dataclasses.replace(opts, diagnose=False) if backoff[2] > 0 else opts
        for tries in range(MAX_BACKOFFS + 1):
            try:
                out = solve_block(sub, ", ".join(names[i] for i in block), b_opts, b_budget,
                                  start=None if any(p is None for p in warm) else warm, pool=pool)
                break
            except InfeasibleError:
                lower = _lowered(backoff, block, sub) if tries < MAX_BACKOFFS else None
                if lower is None:
                    raise
                sub, warm = lower, [None] * len(block)
                b_budget = Budget(work=work0, deadline=clock() + span)
                log.info("%s: no plan; coverage targets lowered to %s", ", ".join(
                    names[i] for i in block), ", ".join(f"{sd.target:.1%}" for sd in sub))
        if pool is not None and out.status == "optimal":
            pool.work += b_budget.work
            b_budget.work = 0.0
        budget.spent(work0 - b_budget.work)
        outcomes[bi], subs[bi] = out, sub
        block_out.append(BlockResult(
            streams=tuple(names[i] for i in block), objective=out.best.total_cny,
            bound=out.bound, gap=rel_gap(out.best.total_cny, out.bound), status=out.status,
            solve_time_s=time.perf_counter() - t_block_wall,
            targets=tuple(sd.target for sd in sub)))
    return outcomes, block_out, subs


def _lowered(backoff: tuple, block: list[int], sub: list) -> list | None:
    """The block's streams prepared again with their coverage targets lowered by the back-off
    step, or None (no back-off, or every target already 0)."""
    models, nearest_links, step = backoff
    if step <= 0 or all(sd.target <= 0 for sd in sub):
        return None
    return [prepare(dataclasses.replace(models[i], coverage_target=max(0.0, sd.target - step)),
                    nearest_links)[0] for i, sd in zip(block, sub, strict=True)]

def _blocks(share: Sequence[tuple[str, ...]], names: list[str]) -> list[list[int]]:
    """Independent models: the ``share`` components, then every other stream alone."""
    comps = share_components(share, names)
    in_comp = {i for c in comps for i in c}
    blocks = comps + [[i] for i in range(len(names)) if i not in in_comp]
    blocks.sort(key=min)
    return blocks


def _combine(models, datas, blocks, outcomes, block_out, wall_s: float) -> ThreeTierSolution:
    """The whole model's solution from its blocks' outcomes."""
    results = {}
    for bi, block in enumerate(blocks):
        for i, so in zip(block, outcomes[bi].best.streams, strict=True):
            results[i] = so
    best = [outcomes[bi].best for bi in range(len(blocks))]
    fixed = sum(p.fixed_cny for p in best)
    transport = sum(p.transport_cny for p in best)
    penalty = sum(p.penalty_cny for p in best)
    objective = fixed + transport + penalty
    bound = float(sum(outcomes[bi].bound for bi in range(len(blocks))))
    statuses = [outcomes[bi].status for bi in range(len(blocks))]
    status = next((s for s in ("time_limit", "feasible") if s in statuses), "optimal")
    n_t = max(len(sd.tiers) for sd in datas)
    shared_all = tuple(
        np.unique(np.concatenate([p.shared[t] for p in best if t < len(p.shared)]
                                 or [np.zeros(0, int)])).astype(int) for t in range(n_t))
    return ThreeTierSolution(
        streams=tuple(results[i] for i in range(len(models))), objective=objective, bound=bound,
        gap=rel_gap(objective, bound), status=status, solve_time_s=wall_s,
        fixed_cost_cny=fixed, transport_cost_cny=transport, penalty_cny=penalty,
        shared_sites=shared_all, blocks=tuple(block_out))


def share_components(share: Sequence[tuple[str, ...]], names: list[str]) -> list[list[int]]:
    """Union the share groups into components of stream indices (≥ 2 members each), as
    ``_tt_build.build`` wants them; also used by the phased and max-coverage models."""
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
