r"""Phased build-out: the three-tier model over several years in one MIP (issue 21).

Formulation
-----------
Phases :math:`p = 0..P-1` (years :math:`Y_0 < Y_1 < \dots`). Each phase holds a full copy of the
single-period model of :func:`~netplan.siting.three_tier` (variables :math:`y^p, x^p, u^p, f^p,
z^p`; its rows, built by ``_tt_build.build``), with that phase's coverage requirements
(:class:`Need`: a share of tonnage, a share of counted demands, a number of demand groups such as
farming townships with a served demand). The copies are linked by

.. math::

    y^p_{tj} &\le y^{p+1}_{tj}                       && \text{(a site opened stays open)}\\
    \sum_{t,j \notin \text{shared}} K_{tj}\,(y^p_{tj} - y^{p-1}_{tj})
      + \sum_{t,\sigma} K_{t\sigma}\,(z^p_{t\sigma} - z^{p-1}_{t\sigma}) &\le B_p
      && \text{(capex of the sites new in year } Y_p\text{)}

with :math:`y^{-1} = z^{-1} = 0`, :math:`K` the capital cost (CNY; 0 for existing sites, the
largest member's for a co-located site) and :math:`B_p` the year's budget. Forced sites (existing
sites kept) are open in every phase. The objective is the discounted cost over the horizon:

.. math::

    \min \sum_p \omega_p\, C_p, \qquad
    \omega_p = \sum_{Y = Y_p}^{Y_{p+1} - 1} (1 + r)^{-(Y - Y_0)}

where :math:`C_p` is phase :math:`p`'s annual cost (annualised fixed cost of the open sites +
transport + unserved penalty, CNY/yr, the single-period objective) and the last phase counts until
``horizon_year`` (default: its own year only).

Solving: a forward pass gives the start: each year in turn, :func:`~netplan.siting.three_tier`
(its heuristics, MIPs and bounds) with the year's main requirement and the sites of the year before
forced open (half the work and CPU time). The whole phased MIP then runs from it with a SCIP node
limit (:class:`~netplan.siting._mip.Budget`; CPU seconds are the safety stop). The budget rows and
the requirements the single-year model does not carry (a village count beside a tonnage share,
townships) are elastic: a slack with a penalty (:data:`PENALTY`) far above any cost, so the start is
always a plan of the phased model and a plan leaves a slack only when nothing else meets the year. The reported bound is the better of the MIP's and the discounted sum of each year's
LP bound; per year, ``bound`` is that year's own LP bound (a year cannot cost less than its
single-period relaxation), so a year's gap also holds the price of phasing.

An infeasible phasing raises :class:`PhaseInfeasible` naming the year, what falls short and by how
much: the capital over a year's budget (CNY) or the tonnage, villages or townships short of a
requirement in the best plan (proven least when the MIP is solved to optimality), or the year whose
requirements no network meets even with unlimited capital.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from ortools.linear_solver import pywraplp

from netplan.errors import InputError
from netplan.siting._mip import Budget, make_solver, nonzeros, rel_gap, run
from netplan.siting._ph_start import (
    INF,
    Need,
    Phase,
    PhaseInfeasible,
    _capex_new,
    _forward,
    _group_capex,
    _prebuild,
    _primary,
    _Spec,
)
from netplan.siting._tt_bound import lp_bound
from netplan.siting._tt_build import Handles, build, hint_from, read
from netplan.siting._tt_plan import StreamPlan, colocation_groups, price
from netplan.siting._tt_prep import StreamData, prepare
from netplan.siting.solution import BlockResult, ThreeTierSolution
from netplan.siting.three_tier import StreamModel, share_components

__all__ = ["Need", "Phase", "PhaseInfeasible", "PhasedSolution", "YearResult", "phase_weights",
           "phased"]


@dataclass(frozen=True)
class YearResult:
    """One year of a phased plan.

    Attributes
    ----------
    year
        The phase's year.
    solution
        The network of that year (CNY/yr costs); its bound and gap are against that year's own
        single-period LP bound.
    new
        Per stream (input order) and tier, the candidate indices first open this year.
    capex_cny, capex_budget_cny
        Capital cost of the sites new this year and the year's budget, CNY.
    weight
        Discounted years this phase's annual cost counts in the objective.
    """

    year: int
    solution: ThreeTierSolution
    new: tuple[tuple[np.ndarray, ...], ...]
    capex_cny: float
    capex_budget_cny: float
    weight: float


@dataclass(frozen=True)
class PhasedSolution:
    """Result of :func:`phased`: the years, and the discounted objective with its proven bound."""

    years: tuple[YearResult, ...]
    objective: float
    bound: float
    gap: float
    status: str
    solve_time_s: float

    def open_year(self, stream: int, tier: int) -> np.ndarray:
        """Per candidate of ``stream`` (input position) and ``tier``: the year it opens, -1 = never."""
        n = len(self.years[0].solution.streams[stream].load_t[tier])
        out = np.full(n, -1, dtype=int)
        for yr in reversed(self.years):
            out[np.asarray(yr.solution.streams[stream].open[tier], dtype=int)] = yr.year
        return out


def phase_weights(years: Sequence[int], discount_rate: float,
                  horizon_year: int | None = None) -> np.ndarray:
    """Discounted years each phase counts: from its year to the next phase's (the last one to
    ``horizon_year`` inclusive), discounted to the first year at ``discount_rate``."""
    ys = [int(y) for y in years]
    end = ys[-1] if horizon_year is None else int(horizon_year)
    if end < ys[-1]:
        msg = f"horizon_year {end} is before the last phase ({ys[-1]})"
        raise InputError(msg, field="horizon_year")
    stops = ys[1:] + [end + 1]
    return np.array([sum((1 + discount_rate) ** -(y - ys[0]) for y in range(a, b))
                     for a, b in zip(ys, stops, strict=True)])


def phased(streams: StreamModel | Sequence[StreamModel], phases: Sequence[Phase], *,
           capex: Mapping[str, Sequence[np.ndarray | float]],
           share: Sequence[tuple[str, ...]] = (), site_fixed_cost: np.ndarray | None = None,
           discount_rate: float = 0.06, horizon_year: int | None = None,
           time_limit_s: float = 60.0, work: float | None = None, solver: str = "scip",
           seed: int = 0, mip_gap: float = 1e-4, progress: bool = False) -> PhasedSolution:
    """Site every tier of every stream year by year (formulation in the module docstring).

    Parameters
    ----------
    streams
        The single-period models (candidates, costs, capacities, forced sites); their own
        ``coverage_target`` is replaced by each phase's :class:`Need`.
    phases
        Years in increasing order with their needs per stream name and capital budget (CNY).
    capex
        Per stream name, per tier: capital cost (CNY) of each candidate (scalar or array; 0 for
        an existing site).
    share, site_fixed_cost
        As in :func:`~netplan.siting.three_tier`.
    discount_rate
        Yearly rate that discounts later years' costs.
    horizon_year
        Last year the final phase's network counts (default: the last phase's year).
    time_limit_s, work, solver, seed, mip_gap, progress
        CPU-second safety stop, deterministic work budget (default half of ``time_limit_s``),
        backend, seed, optimality gap, solver log.

    Raises
    ------
    PhaseInfeasible
        No phasing meets the requirements within the budgets (year and shortfall named).
    InfeasibleError
        A year's requirements cannot be met by any network (prepared before solving).
    SolverTimeout
        The limits ended before any plan was found.
    """
    t_wall = time.perf_counter()
    models = [streams] if isinstance(streams, StreamModel) else list(streams)
    names = [m.name for m in models]
    phases = _checked(phases, names)
    weights = phase_weights([p.year for p in phases], discount_rate, horizon_year)
    comps = share_components(share, names)
    datas = [_phase_datas(models, ph) for ph in phases]
    caps = [_capex_arrays(m, capex, sd) for m, sd in zip(models, datas[0], strict=True)]
    budget = Budget.cpu(time_limit_s, work)
    spec = _Spec(datas, comps, caps, [p.capex_budget_cny for p in phases], weights,
                 site_fixed_cost, [[p.needs.get(n, Need()) for n in names] for p in phases])
    start = _forward(spec, models, phases, tuple(share), solver, seed, mip_gap,
                     budget.split(FORWARD_SHARE))
    start = _prebuild(spec, start)
    mip = make_solver(solver)
    model = _assemble(mip, spec)
    hint = hint_from(model.h, model.flat, [p for ph in start for p in ph])
    _group_hint(model, start)
    hint = (hint[0] + [v for v, _ in model.hint_extra], hint[1] + [x for _, x in model.hint_extra])
    limit = Budget(budget.work, 0.0).nodes(nonzeros(mip))
    res = run(mip, solver_name=solver, time_limit_s=max(0.5, 0.9 * budget.left_s()),
              mip_gap=mip_gap, seed=seed, hint=hint, progress=progress, offset=model.offset,
              node_limit=limit)
    plans = start
    if res.has_solution:
        flat = read(model.h, model.flat)
        S = len(models)
        plans = [flat[p * S:(p + 1) * S] for p in range(len(phases))]
        short = [(p, kind, what, v.solution_value()) for p, kind, what, v, _ in model.slacks]
    else:
        short = _start_shortfalls(spec, model, start)
    short = [x for x in short if x[3] > _TOL[x[1]]]
    if short:
        raise _shortfall(short, phases, res.status == "optimal")
    return _result(spec, phases, names, plans, res, time.perf_counter() - t_wall)


#: share of the work and CPU time the forward pass (the start) gets
FORWARD_SHARE = 0.5
#: penalties of the elastic rows (CNY per unit short): far above any cost, so a plan uses them only
#: when the year's budget or requirements cannot be met otherwise (then PhaseInfeasible)
PENALTY = {"budget": 1e3, "weight": 1e5, "count": 1e8, "groups": 1e8}
_TOL = {"budget": 0.5, "weight": 1e-3, "count": 1e-6, "groups": 1e-6}
_UNIT = {"budget": "CNY of capital over the year's budget", "weight": "t/yr of tonnage",
         "count": "villages", "groups": "townships"}


@dataclass
class _Model:
    h: Handles
    flat: list[StreamData]
    offset: float
    slacks: list = field(default_factory=list)   # (phase, kind, what, variable, row)
    hint_extra: list = field(default_factory=list)   # (variable, value) of a start, set later


def _checked(phases: Sequence[Phase], names: list[str]) -> list[Phase]:
    """Phases sorted check: at least one, years strictly increasing, budgets >= 0, known names."""
    out = list(phases)
    if not out:
        raise InputError("a phased plan needs at least one phase", field="phases")
    years = [int(p.year) for p in out]
    if any(b <= a for a, b in zip(years, years[1:], strict=False)):
        msg = f"phase years must be strictly increasing, got {years}"
        raise InputError(msg, field="phases.year")
    for p in out:
        if not p.capex_budget_cny >= 0:
            msg = f"year {p.year}: capex_budget_cny must be >= 0, got {p.capex_budget_cny}"
            raise InputError(msg, field="phases.capex_budget_cny")
        bad = [n for n in p.needs if n not in names]
        if bad:
            msg = f"year {p.year}: needs for unknown stream(s) {', '.join(bad)}"
            raise InputError(msg, field="phases.needs")
    return out


def _phase_datas(models: list[StreamModel], ph: Phase) -> list[StreamData]:
    """The phase's prepared streams; InfeasibleError naming the year when one cannot be served."""
    out, problems = [], []
    for m in models:
        on, target = _primary(ph.needs.get(m.name, Need()))
        sd, probs = prepare(dataclasses.replace(m, coverage_on=on, coverage_target=target))
        out.append(sd)
        problems.extend(probs)
    if problems:
        msg = f"year {ph.year}: the year's requirements cannot be met by any network"
        raise PhaseInfeasible(msg, year=ph.year, shortfall_cny=INF, unservable=problems)
    return out


def _capex_arrays(m: StreamModel, capex: Mapping, sd: StreamData) -> list[np.ndarray]:
    """Per tier, the capital cost (CNY) of each candidate of stream ``m``."""
    given = capex.get(m.name)
    if given is None or len(given) != len(sd.tiers):
        msg = f"capex of stream {m.name!r} must give one entry per tier ({len(sd.tiers)})"
        raise InputError(msg, field="capex")
    out = []
    for t, td in enumerate(sd.tiers):
        a = np.asarray(given[t], dtype=float)
        a = np.full(td.n, float(a)) if a.ndim == 0 else a
        if a.shape != (td.n,) or not np.isfinite(a).all() or (a < 0).any():
            msg = f"capex of stream {m.name!r}, tier {t}: expected {td.n} finite values >= 0"
            raise InputError(msg, field="capex")
        out.append(a)
    return out


def _obj_vars(sv) -> list:
    """Every variable of one stream's copy that can carry an objective coefficient."""
    out = [v for row in sv.y for v in row if v is not None] + list(sv.x)
    out += [v for row in sv.u for v in row] + [v for row in sv.f for v in row]
    return out + [v for v in sv.s if v is not None]


def _assemble(mip: pywraplp.Solver, spec: _Spec) -> _Model:
    """Build the phased model of ``spec`` into ``mip``: the per-year copies (``_tt_build.build``,
    objective scaled by each year's weight), the stay-open rows, and the elastic requirement and
    budget rows (their slacks in ``_Model.slacks``)."""
    P, S = len(spec.datas), len(spec.datas[0])
    flat = [sd for ph in spec.datas for sd in ph]
    comps_all = [[p * S + i for i in c] for p in range(P) for c in spec.comps]
    h = build(mip, flat, comps_all, spec.sfc)
    obj = mip.Objective()
    for s, sv in enumerate(h.streams):
        w = float(spec.weights[s // S])
        for v in _obj_vars(sv):
            obj.SetCoefficient(v, obj.GetCoefficient(v) * w)
    for g, zv in zip(h.groups, h.z, strict=True):
        obj.SetCoefficient(zv, obj.GetCoefficient(zv) * float(spec.weights[g.members[0][0] // S]))
    offset = sum(float(spec.weights[s // S]) * sd.penalty * float(sd.w.sum())
                 for s, sd in enumerate(flat))
    model = _Model(h=h, flat=flat, offset=offset)
    for s, (sd, sv) in enumerate(zip(flat, h.streams, strict=True)):
        _need_rows(mip, model, (s // S, s % S), sd, sv, spec.needs[s // S][s % S])
    for p in range(P - 1):
        for s in range(S):
            for ya, yb in zip(h.streams[p * S + s].y, h.streams[(p + 1) * S + s].y, strict=True):
                for a, b in zip(ya, yb, strict=True):
                    if a is not None and b is not None:
                        c = mip.Constraint(-INF, 0.0)
                        c.SetCoefficient(a, 1.0)
                        c.SetCoefficient(b, -1.0)
    _budget_rows(mip, spec, model)
    return model


def _elastic(mip, model: _Model, p: int, kind: str, what: str, c, sign: float = 1.0) -> None:
    """Give row ``c`` a penalised slack of ``kind`` (``sign`` +1 for a >= row, -1 for a <= row)."""
    v = mip.NumVar(0.0, INF, f"short_{kind}_{p}_{len(model.slacks)}")
    c.SetCoefficient(v, sign)
    mip.Objective().SetCoefficient(v, PENALTY[kind])
    model.slacks.append((p, kind, what, v, c))


def _need_rows(mip, model: _Model, at: tuple[int, int], sd: StreamData, sv, need: Need) -> None:
    """The requirements of ``need`` (phase and stream ``at``) that the phase's StreamModel does not
    carry itself (elastic)."""
    p = at[0]
    on, _ = _primary(need)
    t0 = sd.tiers[0]
    if on != "weight" and need.weight > 0:
        c = mip.Constraint(need.weight * float(sd.w.sum()) - 1e-6, INF)
        for q, a in enumerate(t0.pa.tolist()):
            c.SetCoefficient(sv.x[q], float(sd.w[a]))
        _elastic(mip, model, p, "weight", f"{sd.name}: {need.weight:.1%} of the tonnage", c)
    if on != "count" and need.count > 0:
        k = math.ceil(need.count * int(sd.count_mask.sum()) - 1e-9)
        c = mip.Constraint(float(k), INF)
        for q, a in enumerate(t0.pa.tolist()):
            if sd.count_mask[a]:
                c.SetCoefficient(sv.x[q], 1.0)
        _elastic(mip, model, p, "count", f"{sd.name}: {k} villages served", c)
    if need.groups_min > 0 and need.group is not None:
        grp = np.asarray(need.group, dtype=int)
        rows: dict[int, tuple] = {}
        for q, a in enumerate(t0.pa.tolist()):
            g = int(grp[a])
            if g < 0:
                continue
            if g not in rows:   # b_g <= sum of x over the group's demands
                b = mip.BoolVar(f"g{p}_{sd.name}_{g}")
                rows[g] = (b, mip.Constraint(-INF, 0.0), [])
                rows[g][1].SetCoefficient(b, 1.0)
            rows[g][1].SetCoefficient(sv.x[q], -1.0)
            rows[g][2].append(q)
        c = mip.Constraint(float(need.groups_min), INF)
        for b, _, _ in rows.values():
            c.SetCoefficient(b, 1.0)
        _elastic(mip, model, p, "groups", f"{sd.name}: {need.groups_min} townships served", c)
        model.hint_extra.append((at, sd, rows))


def _budget_rows(mip, spec: _Spec, model: _Model) -> None:
    """Per phase: capex of the sites new that year <= the budget (elastic)."""
    h = model.h
    P, S = len(spec.datas), len(spec.datas[0])
    z_of = {(g.members[0][0] // S, g.tier, g.site): zv for g, zv in zip(h.groups, h.z, strict=True)}
    for p in range(P):
        if not math.isfinite(spec.budgets[p]):
            continue
        c = mip.Constraint(-INF, float(spec.budgets[p]))
        terms: dict = {}
        for s in range(S):
            sv = h.streams[p * S + s]
            for t, row in enumerate(sv.y):
                for j, v in enumerate(row):
                    k = float(spec.caps[s][t][j])
                    if v is None or sv.shared[t][j] or k == 0:
                        continue
                    terms[v] = terms.get(v, 0.0) + k
                    if p > 0 and h.streams[(p - 1) * S + s].y[t][j] is not None:
                        vp = h.streams[(p - 1) * S + s].y[t][j]
                        terms[vp] = terms.get(vp, 0.0) - k
        for g, zv in zip(h.groups, h.z, strict=True):
            if g.members[0][0] // S != p:
                continue
            k = _group_capex(spec, g, S)
            terms[zv] = terms.get(zv, 0.0) + k
            zp = z_of.get((p - 1, g.tier, g.site))
            if zp is not None:
                terms[zp] = terms.get(zp, 0.0) - k
        for v, k in terms.items():
            c.SetCoefficient(v, k)
        _elastic(mip, model, p, "budget", "", c, -1.0)


def _group_hint(model: _Model, start: list[list[StreamPlan]]) -> None:
    """Replace ``hint_extra``'s group records by (variable, value) pairs of the start."""
    out = []
    for rec in model.hint_extra:
        (p, i), sd, rows = rec
        a0 = start[p][i].assigns[0]
        t0 = sd.tiers[0]
        for b, _, qs in rows.values():
            out.append((b, 1.0 if any(a0[t0.pa[q]] == t0.pb[q] for q in qs) else 0.0))
    model.hint_extra = out


def _start_shortfalls(spec: _Spec, model: _Model, start: list[list[StreamPlan]]) -> list:
    """The shortfalls of the start (when the phased MIP found nothing better): its budgets."""
    out = []
    for p in range(len(spec.datas)):
        groups = colocation_groups(spec.datas[p], spec.comps, spec.sfc)
        cap, _ = _capex_new(spec, p, start[p - 1] if p else None, start[p], groups)
        if math.isfinite(spec.budgets[p]):
            out.append((p, "budget", "", max(0.0, cap - spec.budgets[p])))
    return out


def _shortfall(short: list, phases: list[Phase], proven: bool) -> PhaseInfeasible:
    """PhaseInfeasible naming each year, what falls short and by how much."""
    parts = []
    for p, kind, what, v in short:
        ph = phases[p]
        if kind == "budget":
            parts.append(f"year {ph.year}: the sites its targets need cost {v:,.0f} CNY more than "
                         f"its budget of {ph.capex_budget_cny:,.0f} CNY")
        else:
            parts.append(f"year {ph.year}: {what} falls short by {v:,.3g} {_UNIT[kind]} "
                         "within the budgets")
    p0, kind0, _, v0 = short[0]
    how = ("proven the least shortfall" if proven else
           "the least shortfall found within the limits; a longer solve may find a smaller one")
    msg = ("no phasing meets every year's requirements within its budget: " + "; ".join(parts)
           + f" ({how})")
    return PhaseInfeasible(msg, year=phases[p0].year,
                           shortfall_cny=v0 if kind0 == "budget" else INF)


def _result(spec: _Spec, phases: list[Phase], names: list[str], plans: list[list[StreamPlan]],
            res, wall_s: float) -> PhasedSolution:
    """Price each year's plan and put the solution together."""
    years, objective, lp_sum = [], 0.0, 0.0
    for p, ph in enumerate(phases):
        groups = colocation_groups(spec.datas[p], spec.comps, spec.sfc)
        priced = price(spec.datas[p], groups, plans[p])
        lp = lp_bound(spec.datas[p], spec.comps, spec.sfc)
        cost = priced.total_cny
        bound_p = min(lp, cost) if math.isfinite(lp) else -INF
        capex_p, new = _capex_new(spec, p, plans[p - 1] if p else None, plans[p], groups)
        w = float(spec.weights[p])
        objective += w * cost
        lp_sum += w * bound_p
        status_p = "optimal" if rel_gap(cost, bound_p) <= 1e-4 else "feasible"
        sol = ThreeTierSolution(
            streams=priced.streams, objective=cost, bound=bound_p, gap=rel_gap(cost, bound_p),
            status=status_p, solve_time_s=wall_s, fixed_cost_cny=priced.fixed_cny,
            transport_cost_cny=priced.transport_cny, penalty_cny=priced.penalty_cny,
            shared_sites=priced.shared,
            blocks=(BlockResult(streams=tuple(names), objective=cost, bound=bound_p,
                                gap=rel_gap(cost, bound_p), status=status_p,
                                solve_time_s=wall_s),))
        years.append(YearResult(year=ph.year, solution=sol, new=new, capex_cny=capex_p,
                                capex_budget_cny=ph.capex_budget_cny, weight=w))
    bound = max(res.bound if res.has_solution else -INF, lp_sum)
    bound = min(bound, objective)
    gap = rel_gap(objective, bound)
    status = "optimal" if gap <= 1e-4 else ("time_limit" if res.status == "time_limit"
                                             else "feasible")
    return PhasedSolution(years=tuple(years), objective=objective, bound=bound, gap=gap,
                          status=status, solve_time_s=wall_s)
