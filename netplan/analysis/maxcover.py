r"""Max-coverage form of the three-tier model: the best coverage a yearly budget buys.

The model is the planner's (:func:`netplan.siting.three_tier`, built by
``netplan.siting._tt_build.build``: the same variables, links, capacities, township rules and
co-location), with two changes:

* the swept stream's coverage row is dropped (its target is 0) and the objective becomes

  .. math:: \max \; \sum_{i \in V} s_i \qquad\text{or}\qquad \max \; \sum_i q_i s_i

  (counted demands served, or tonnage served, t/yr; :math:`s_i = \sum_j x_{ij}`);
* one row caps the yearly cost, CNY/yr:

  .. math:: \sum F y + \sum F z + \kappa\,\bigl(\text{link transport} + \sum_i r\, q_i s_i\bigr)
            + \sum_{k} c_b\, b_k \;\le\; B

  — the cost-minimising objective without the unserved penalty, its tonnage terms times the
  stream's capture rate :math:`\kappa` (the share of a served village's tonnage that arrives,
  which is what netplan.evaluate moves, stores and pays per tonne for), plus the per-tonne items of
  data/coefficients.toml that netplan.evaluate adds to the yearly cost (baling, loading,
  purchase, incentive, treatment, storage loss: :math:`r` CNY/t, linear in the served tonnage)
  and, for a stored stream, the storage yard of each township station :math:`k` in whole fire
  blocks :math:`b_k \ge \text{stock share} \cdot \kappa\,\text{inflow}_k / (\rho\, h\, A_{block})`,
  integer, at :math:`c_b` CNY/yr per block (netplan.storage). So the cost row is the evaluated
  ``total_cost_cny_yr`` of the plan, not an estimate of it.

Every other stream keeps its own coverage target and its costs count against the budget.

Two phases on the same model: (1) the most coverage within the budget; (2) with the row
"coverage >= phase 1's", the cheapest plan (the cost-minimising objective, phase 1's plan as the
MIP start), so the plan does not spend budget it need not. The coverage bound is phase 1's. Each
phase is one MIP (SCIP through ``netplan.siting._mip.run``) with a node limit from the work budget
(``_mip.Budget``: the same plan on an idle and a loaded machine) and ``time_limit_s`` CPU seconds
as the safety stop; the result carries the coverage proven possible (phase 1's bound).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from netplan.errors import InfeasibleError, InputError
from netplan.siting import StreamModel
from netplan.siting._mip import Budget, clock, make_solver, nonzeros, run
from netplan.siting._tt_build import build, hint_from, read
from netplan.siting._tt_plan import colocation_groups, price
from netplan.siting._tt_prep import prepare
from netplan.siting.solution import BlockResult, ThreeTierSolution
from netplan.siting.three_tier import share_components

INF = math.inf


@dataclass(frozen=True)
class StreamExtras:
    """Costs of one stream that the evaluation adds to the siting model's (CNY).

    Attributes
    ----------
    item_cny_per_t
        Per-tonne items per served tonne, CNY/t (incl. storage loss per served tonne).
    block_per_t
        Storage yard blocks per t/yr of a township station's inflow (0 = not stored).
    block_cny_yr
        Yearly cost of one storage yard block, CNY/yr.
    capture
        Share of a served demand's tonnage that arrives (``capture_rate``): the evaluation's
        served tonnage, loads, transport and per-tonne items are the model's times this.
    """

    item_cny_per_t: float = 0.0
    block_per_t: float = 0.0
    block_cny_yr: float = 0.0
    capture: float = 1.0


@dataclass(frozen=True)
class MaxCoverResult:
    """Outcome of :func:`max_coverage`.

    Attributes
    ----------
    solution
        The plan of every stream (``cost`` in ``objective``, CNY/yr), for
        ``siting_adapter.layout_from_solution``.
    covered, covered_bound
        Coverage of the swept stream found and proven possible (upper bound): counted demands
        ("count") or t/yr ("weight").
    share, share_bound
        The same as shares of the counted demands or the tonnage (0–1).
    cost_cny_yr
        The plan's yearly cost as the budget row counts it, CNY/yr.
    status
        "optimal" (coverage proven within the MIP gap), "time_limit", "feasible" or
        "infeasible" (the budget buys no plan meeting the other rules).
    gap
        Relative gap of the coverage, (bound − found) / bound.
    nodes, cpu_s
        Branch-and-bound nodes and CPU seconds of the solve (both phases).
    cost_gap
        Relative gap of the second phase (the cheapest plan of that coverage within the budget).
    """

    solution: ThreeTierSolution | None
    covered: float
    covered_bound: float
    share: float
    share_bound: float
    cost_cny_yr: float
    status: str
    gap: float
    nodes: int
    cpu_s: float
    cost_gap: float = math.nan


def max_coverage(models: Sequence[StreamModel], *, stream: str, on: str, budget_cny_yr: float,
                 share: Sequence[tuple[str, ...]] = (), extras: dict[str, StreamExtras] | None = None,
                 time_limit_s: float = 30.0, work: float | None = None, solver: str = "scip",
                 seed: int = 0, mip_gap: float = 1e-4, phase_share: float = 0.7,
                 start: dict[str, Any] | None = None) -> MaxCoverResult:
    """The plan serving most of ``stream`` (``on`` = "count" or "weight") within the budget.

    Parameters
    ----------
    models
        The scenario's streams (``siting_adapter.build_stream_models``); ``stream``'s coverage
        target is ignored, the others' kept.
    budget_cny_yr
        Cap on the yearly cost (sites, transport and ``extras``), CNY/yr.
    share
        Co-location groups of stream names, as :func:`netplan.siting.three_tier`.
    extras
        Per stream name, the evaluation's per-tonne items and storage yard (see :func:`extras_of`).
    time_limit_s, work
        CPU-second safety stop; work budget (``_mip.Budget`` units, default half the limit) from
        which the node limit follows.
    solver, seed, mip_gap
        As :func:`netplan.siting.three_tier`.
    start
        Per stream name, a plan (``_tt_plan.StreamPlan``, e.g. ``siting_adapter.start_plans`` of
        the curve's plan that fits the budget) as phase 1's MIP start; used only when every
        stream has one and it fits the budget (the coverage found is then at least its).
    phase_share
        Share of the work (and CPU seconds) of phase 1 (most coverage); phase 2 (the cheapest plan
        of that coverage) gets the rest.

    Returns
    -------
    MaxCoverResult
    """
    names = [m.name for m in models]
    if stream not in names:
        raise InputError(f"stream {stream!r} is not among the models ({', '.join(names)})",
                         field="stream")
    if on not in ("count", "weight"):
        raise InputError(f"coverage is counted on 'count' or 'weight', got {on!r}", field="on")
    if not budget_cny_yr > 0:
        raise InputError(f"budget must be positive, got {budget_cny_yr}", field="--budgets")
    c0 = clock()
    models = [dataclasses.replace(m, coverage_target=0.0, coverage_on=on) if m.name == stream
              else m for m in models]
    datas = []
    for m in models:
        sd, problems = prepare(m)
        if problems:
            raise InfeasibleError("the siting model has no feasible plan", unservable=problems)
        datas.append(sd)
    comps = share_components(share, names)
    mip = make_solver(solver)
    h = build(mip, datas, comps, None)
    s = names.index(stream)
    blocks: dict[int, list] = {}
    row, gain, total = _rows(mip, h, datas, s, on, budget_cny_yr, extras or {}, blocks)
    budget = Budget.cpu(time_limit_s, work)
    nz = nonzeros(mip)
    hint0 = _start_hint(h, datas, comps, start, blocks, extras or {}, budget_cny_yr)
    # phase 1: the most coverage within the budget
    res = run(mip, solver_name=solver, time_limit_s=phase_share * budget.left_s(), mip_gap=mip_gap,
              seed=seed, node_limit=budget.nodes(nz, phase_share * budget.work), hint=hint0)
    if not res.has_solution:
        return MaxCoverResult(None, math.nan, math.nan, math.nan, math.nan, math.nan,
                              "infeasible" if res.status == "infeasible" else res.status,
                              math.nan, res.nodes, clock() - c0)
    ub = min(total, res.bound) if math.isfinite(res.bound) else total
    if on == "count":
        ub = math.floor(ub + 1e-6)
    plans = read(h, datas)
    cover_status, nodes = res.status, res.nodes
    # phase 2: the cheapest plan of that coverage (same model, coverage row, from phase 1's plan)
    _cheapest_objective(mip, row, gain, _covered(datas[s], plans[s], on))
    res2 = run(mip, solver_name=solver, time_limit_s=max(1.0, budget.left_s()), mip_gap=mip_gap,
               seed=seed, node_limit=budget.nodes(nz, (1 - phase_share) * budget.work),
               hint=_current(mip))
    if res2.has_solution:
        plans = read(h, datas)
        nodes += res2.nodes
    priced = price(datas, colocation_groups(datas, comps, None), plans)
    covered = _covered(datas[s], plans[s], on)
    ub = max(ub, covered)
    cost = _cost(datas, priced, plans, extras or {})
    gap = (ub - covered) / ub if ub > 0 else 0.0
    status = "optimal" if gap <= mip_gap + 1e-9 else cover_status
    sol = ThreeTierSolution(
        streams=priced.streams, objective=cost, bound=math.nan, gap=gap, status=status,
        solve_time_s=clock() - c0, fixed_cost_cny=priced.fixed_cny,
        transport_cost_cny=priced.transport_cny, penalty_cny=0.0, shared_sites=priced.shared,
        blocks=(BlockResult(streams=tuple(names), objective=cost, bound=math.nan, gap=gap,
                            status=status, solve_time_s=clock() - c0),))
    return MaxCoverResult(sol, covered, ub, covered / total if total else 1.0,
                          ub / total if total else 1.0, cost, status, gap, nodes, clock() - c0,
                          cost_gap=res2.gap if res2.has_solution else math.nan)


def _current(mip: Any) -> tuple[list, list]:
    """Every variable and its value in the last solve (a MIP start for the next one)."""
    vs = list(mip.variables())
    return vs, [v.solution_value() for v in vs]


def _cheapest_objective(mip: Any, row: list, gain: list, covered: float) -> None:
    """Phase 2's model: the row coverage >= ``covered`` and the cost row as the objective (min)."""
    keep = mip.Constraint(covered - 1e-6, INF, "keep_coverage")
    for v, g in gain:
        keep.SetCoefficient(v, g)
    obj = mip.Objective()
    obj.Clear()
    for v, c in row:
        obj.SetCoefficient(v, c)
    obj.SetMinimization()


def _start_hint(h: Any, datas: list, comps: list, start: dict[str, Any] | None,
                blocks: dict[int, list], extras: dict[str, StreamExtras],
                budget: float) -> tuple[list, list] | None:
    """Phase 1's MIP start from ``start`` (every stream's plan, within the budget), or None."""
    if not start or any(sd.name not in start for sd in datas):
        return None
    plans = [start[sd.name] for sd in datas]
    priced = price(datas, colocation_groups(datas, comps, None), plans)
    if _cost(datas, priced, plans, extras) > budget:
        return None
    vs, vals = hint_from(h, datas, plans)
    for si, bl in blocks.items():
        ex = extras.get(datas[si].name, StreamExtras())
        load = priced.streams[si].load_t[1]
        for k, b in bl:
            vs.append(b)
            vals.append(float(math.ceil(ex.block_per_t * ex.capture * load[k] - 1e-9)) if load[k] > 0 else 0.0)
    return vs, vals


def _covered(sd: Any, plan: Any, on: str) -> float:
    served = plan.assigns[0] >= 0
    return float(sd.count_mask[served].sum()) if on == "count" else float(sd.w[served].sum())


def _cost(datas: list, priced: Any, plans: list, extras: dict[str, StreamExtras]) -> float:
    """The plan's cost as the budget row counts it: sites, transport, items, yard blocks (CNY/yr)."""
    cost = priced.fixed_cny
    for sd, ss in zip(datas, priced.streams, strict=True):
        ex = extras.get(sd.name, StreamExtras())
        cost += ex.capture * (ss.transport_cost_cny + ex.item_cny_per_t * float(sd.w[ss.served].sum()))
        if ex.block_per_t > 0 and len(ss.load_t) >= 2:
            blocks = np.ceil(ex.block_per_t * ex.capture * ss.load_t[1] - 1e-9).clip(0)
            cost += ex.block_cny_yr * float(blocks.sum())
    return float(cost)


def _rows(mip: Any, h: Any, datas: list, s: int, on: str, budget: float,
          extras: dict[str, StreamExtras], blocks: dict[int, list]) -> tuple[list, list, float]:
    """Replace the cost objective of a built model by the swept stream's coverage; add the row
    cost <= budget.

    Returns the cost row's (variable, coefficient) terms, the coverage terms and the total
    coverable (count or t/yr).
    """
    obj = mip.Objective()
    coef = {v.index(): obj.GetCoefficient(v) for v in mip.variables()}
    var = {v.index(): v for v in mip.variables()}
    for si, (sd, sv) in enumerate(zip(datas, h.streams, strict=True)):
        ex = extras.get(sd.name, StreamExtras())
        w_pair = sd.w[sd.tiers[0].pa]
        cap = ex.capture
        for v, w in zip(sv.x, w_pair.tolist(), strict=True):   # no penalty; per-tonne items
            coef[v.index()] = cap * (coef[v.index()] + (sd.penalty + ex.item_cny_per_t) * w)
        for v in (f for fs in sv.f for f in fs):                # transport of what arrives
            coef[v.index()] *= cap
        if ex.block_per_t > 0 and len(sd.tiers) >= 2:
            blocks[si] = _storage_blocks(mip, sd, sv, ex, coef, var)
    row = [(var[i], c) for i, c in coef.items() if c != 0.0]
    brow = mip.Constraint(-INF, float(budget), "budget")
    for v, c in row:
        brow.SetCoefficient(v, c)
    sd, sv = datas[s], h.streams[s]
    pa = sd.tiers[0].pa
    if on == "count":
        g, total = sd.count_mask[pa].astype(float), float(sd.count_mask.sum())
    else:
        g, total = sd.w[pa].astype(float), float(sd.w.sum())
    gain = [(v, x) for v, x in zip(sv.x, g.tolist(), strict=True) if x != 0.0]
    obj.Clear()
    for v, x in gain:
        obj.SetCoefficient(v, x)
    obj.SetMaximization()
    return row, gain, total


def _storage_blocks(mip: Any, sd: Any, sv: Any, ex: StreamExtras, coef: dict,
                    var: dict) -> list[tuple[int, Any]]:
    """Whole storage-yard blocks per township station: b_k >= block_per_t · inflow_k (integer).
    Returns the (station, variable) pairs."""
    out = []
    td = sd.tiers[1]
    by_k: dict[int, list] = {}
    for p, k in enumerate(td.pb.tolist()):
        by_k.setdefault(k, []).append(sv.f[0][p])
    for k, fs in sorted(by_k.items()):
        ub = math.ceil(ex.block_per_t * float(td.flow_ub[k]) + 1e-9) if np.isfinite(
            td.flow_ub[k]) else INF
        b = mip.IntVar(0.0, float(ub), f"blocks{sd.name}_{k}")
        c = mip.Constraint(-1e-9, INF)
        c.SetCoefficient(b, 1.0)
        for f in fs:
            c.SetCoefficient(f, -ex.block_per_t * ex.capture)
        coef[b.index()] = ex.block_cny_yr
        var[b.index()] = b
        out.append((k, b))
    return out


def extras_of(scenario: Any, streams: Sequence[str]) -> dict[str, StreamExtras]:
    """Per stream, the per-tonne items and storage-yard blocks netplan.evaluate charges (from
    data/coefficients.toml and the scenario's overrides), as linear terms of the budget row."""
    from netplan.costs import item_costs
    from netplan.storage import stock_share, storage_params, yard_cost_cny_yr
    from netplan.streams import load_coefficients

    coef = load_coefficients(overrides=scenario.coefficients)
    out = {}
    for sid in streams:
        c = coef.get(sid, {}) if isinstance(coef.get(sid), dict) else {}
        p = storage_params(coef, sid)
        share = stock_share(p) if p is not None else 0.0
        # item_costs is linear in served and stored tonnes: one served tonne stores `share` t
        item = sum(item_costs(c.get("costs", {}), 1.0, share, c.get("kg_per_item")).values())
        capture = float(scenario.streams[sid].capture_rate)
        if p is None:
            out[sid] = StreamExtras(item_cny_per_t=item, capture=capture)
            continue
        side = math.sqrt(p.group_m2) + p.fire_spacing_m
        _, annual = yard_cost_cny_yr(side * side, p, scenario.discount_rate)
        out[sid] = StreamExtras(item_cny_per_t=item,
                                block_per_t=share / (p.bale_density_t_m3 * p.stack_height_m * p.group_m2),
                                block_cny_yr=annual, capture=capture)
    return out


def budget_plan(scenario: Any, *, stream: str, on: str, budget_cny_yr: float,
                time_limit_s: float | None = None, start_layout: Any = None) -> tuple[Any, MaxCoverResult]:
    """Plan ``scenario`` for the most of ``stream`` served (``on`` = "count" of villages or
    "weight" of tonnage) within ``budget_cny_yr``.

    ``scenario`` is the variant to plan (``points.variant`` with the swept target 0);
    ``start_layout`` a plan on the same candidates (e.g. the curve's that fits the budget) as the
    MIP start. Runs the
    pipeline's stages up to the travel matrices, :func:`max_coverage` on the scenario's stream
    models, then scores the layout through ``planner.run_plan`` (evaluation, routes, layers).

    Returns
    -------
    (netplan.planner.Plan or None, MaxCoverResult)
        No plan when the budget buys no coverage of a stream planned alone (nothing opens).
    """
    from netplan.planner import (
        build_stream_models,
        candidate_sites,
        check_reachable,
        estimate_supply,
        layout_from_solution,
        load_inputs,
        road_network,
        run_plan,
    )
    from netplan.siting_adapter import travel_matrices

    county = load_inputs(scenario)
    supply = estimate_supply(scenario, county)
    cands = candidate_sites(county)
    mats = travel_matrices(road_network(scenario, county), supply, cands, scenario)
    check_reachable(supply, mats, scenario)
    models, index = build_stream_models(scenario, county, supply, cands, mats)
    share = [g for groups in scenario.sharing.values() for g in groups]
    limit = time_limit_s if time_limit_s is not None else scenario.time_limit_s
    start = None
    if start_layout is not None:
        from netplan.siting_adapter import start_plans

        start = start_plans(start_layout, models, index, cands, supply)
    res = max_coverage(models, stream=stream, on=on, budget_cny_yr=budget_cny_yr,
                       share=share, extras=extras_of(scenario, [m.name for m in models]),
                       time_limit_s=limit, solver=scenario.solver, seed=scenario.seed, start=start)
    if res.solution is None:
        raise InfeasibleError(f"no plan within {budget_cny_yr:,.0f} CNY/yr meets the other rules "
                              f"(max-coverage MIP: {res.status})", unservable=[])
    if res.covered <= 0 and len(models) == 1:   # nothing open: no plan to score
        return None, res
    layout = layout_from_solution(res.solution, models, index, cands, supply, mats, scenario)
    return run_plan(scenario, layout=layout), res
