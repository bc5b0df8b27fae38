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

Solving: a forward pass (each year in turn, the sites of the year before forced open, the year's
budget on the new ones; a short node-limited MIP per year) gives a start; the whole phased MIP then
runs from it with a SCIP node limit (:class:`~netplan.siting._mip.Budget`; CPU seconds are the
safety stop). The reported bound is the better of the MIP's and the discounted sum of each year's
LP bound; per year, ``bound`` is that year's own LP bound (a year cannot cost less than its
single-period relaxation), so a year's gap also holds the price of phasing.

An infeasible phasing raises :class:`PhaseInfeasible` naming the year and the capex shortfall: the
least extra capital over the budgets that makes the targets reachable (a solve with a slack on each
budget row), or the year whose requirements no network meets even with unlimited capital.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from ortools.linear_solver import pywraplp

from netplan.errors import InfeasibleError, InputError, SolverTimeout, Unservable
from netplan.siting._mip import Budget, make_solver, nonzeros, rel_gap, run
from netplan.siting._tt_bound import lp_bound
from netplan.siting._tt_build import Handles, build, hint_from, read
from netplan.siting._tt_plan import StreamPlan, colocation_groups, price
from netplan.siting._tt_prep import StreamData, prepare
from netplan.siting.solution import BlockResult, ThreeTierSolution
from netplan.siting.three_tier import StreamModel

INF = math.inf


@dataclass(frozen=True)
class Need:
    """What one stream must reach in one phase.

    Attributes
    ----------
    weight
        Share (0–1) of the stream's tonnage served.
    count
        Share (0–1) of the counted demands (``StreamModel.count_mask``) served.
    group
        (n_demand,) group index per demand (e.g. its farming township), -1 = none.
    groups_min
        At least this many groups with a served demand.
    """

    weight: float = 0.0
    count: float = 0.0
    group: np.ndarray | None = None
    groups_min: int = 0


@dataclass(frozen=True)
class Phase:
    """One year of the build-out: its requirements per stream and its capital budget (CNY)."""

    year: int
    needs: Mapping[str, Need] = field(default_factory=dict)
    capex_budget_cny: float = INF


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


class PhaseInfeasible(InfeasibleError):
    """No phasing meets every year's requirements within its budget.

    Attributes
    ----------
    year
        The first year that cannot be met.
    shortfall_cny
        Extra capital that year needs over its budget (CNY); ``inf`` when no network meets the
        year's requirements at any capital.
    """

    def __init__(self, message: str, *, year: int, shortfall_cny: float,
                 unservable: Sequence[Unservable] | None = None) -> None:
        super().__init__(message, unservable=unservable)
        self.year = year
        self.shortfall_cny = shortfall_cny


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
    comps = _components(share, names)
    datas = [_phase_datas(models, ph) for ph in phases]
    caps = [_capex_arrays(m, capex, sd) for m, sd in zip(models, datas[0], strict=True)]
    budget = Budget.cpu(time_limit_s, work)
    spec = _Spec(datas, comps, caps, [p.capex_budget_cny for p in phases], weights,
                 site_fixed_cost, [[p.needs.get(n, Need()) for n in names] for p in phases])
    start = _forward(spec, solver, seed, mip_gap, budget.split(0.3))
    mip = make_solver(solver)
    model = _assemble(mip, spec)
    hint = None
    if start is not None:
        hint = hint_from(model.h, model.flat, [p for ph in start for p in ph])
    limit = Budget(budget.work, 0.0).nodes(nonzeros(mip))
    res = run(mip, solver_name=solver, time_limit_s=max(0.5, 0.9 * budget.left_s()),
              mip_gap=mip_gap, seed=seed, hint=hint, progress=progress, offset=model.offset,
              node_limit=limit)
    if res.has_solution:
        flat = read(model.h, model.flat)
        S = len(models)
        plans = [flat[p * S:(p + 1) * S] for p in range(len(phases))]
    elif res.status == "infeasible":
        raise _diagnose(spec, phases, solver, seed)
    elif start is not None:
        plans = start
    else:
        msg = ("no phased plan found within the limits and none proven impossible: give the "
               "model more time (time_limit_s) or relax a year's budget or targets")
        raise SolverTimeout(msg, bound=res.bound)
    return _result(spec, phases, names, plans, res, time.perf_counter() - t_wall)


@dataclass
class _Spec:
    """Everything the builder needs: per phase the prepared streams, budgets, weights, needs."""

    datas: list[list[StreamData]]
    comps: list[list[int]]
    caps: list[list[np.ndarray]]          # per stream, per tier: capex CNY per candidate
    budgets: list[float]
    weights: np.ndarray
    sfc: np.ndarray | None
    needs: list[list[Need]]


@dataclass
class _Model:
    h: Handles
    flat: list[StreamData]
    offset: float
    slacks: list                             # per phase budget slack variable (or None)


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


def _primary(need: Need) -> tuple[str, float]:
    """The requirement the phase's StreamModel carries (the rest become extra rows)."""
    if need.count >= 1.0 - 1e-12:
        return "count", 1.0
    if need.weight >= 1.0 - 1e-12:
        return "weight", 1.0
    if need.count > 0 and need.weight <= 0:
        return "count", float(need.count)
    return "weight", float(need.weight)


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


def _components(share: Sequence[tuple[str, ...]], names: list[str]) -> list[list[int]]:
    """Connected groups (>= 2 streams) of the ``share`` relation, as stream positions."""
    pos = {n: i for i, n in enumerate(names)}
    comp = list(range(len(names)))
    for grp in share:
        if isinstance(grp, str):
            msg = f"share must be a list of tuples of stream names, got the string {grp!r}"
            raise InputError(msg, field="share")
        idx = [pos[n] for n in grp if n in pos]
        for a in idx[1:]:
            old, new = comp[a], comp[idx[0]]
            comp = [new if c == old else c for c in comp]
    groups: dict[int, list[int]] = {}
    for i, c in enumerate(comp):
        groups.setdefault(c, []).append(i)
    return [g for g in groups.values() if len(g) >= 2]


def _obj_vars(sv) -> list:
    """Every variable of one stream's copy that can carry an objective coefficient."""
    out = [v for row in sv.y for v in row if v is not None] + list(sv.x)
    out += [v for row in sv.u for v in row] + [v for row in sv.f for v in row]
    return out + [v for v in sv.s if v is not None]


def _assemble(mip: pywraplp.Solver, spec: _Spec, *, prev: list[StreamPlan] | None = None,
              slack: bool = False) -> _Model:
    """Build the phased model of ``spec`` into ``mip``.

    ``prev`` (forward pass, one phase): the plan of the year before, whose sites stay open and
    count as built. ``slack``: each budget row gets a slack variable (the diagnosis).
    """
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
    for s, (sd, sv) in enumerate(zip(flat, h.streams, strict=True)):
        _need_rows(mip, sd, sv, spec.needs[s // S][s % S])
    for p in range(P - 1):
        for s in range(S):
            for ya, yb in zip(h.streams[p * S + s].y, h.streams[(p + 1) * S + s].y, strict=True):
                for a, b in zip(ya, yb, strict=True):
                    if a is not None and b is not None:
                        c = mip.Constraint(-INF, 0.0)
                        c.SetCoefficient(a, 1.0)
                        c.SetCoefficient(b, -1.0)
    if prev is not None:
        for s, plan in enumerate(prev):
            for t, row in enumerate(h.streams[s].y):
                for j in np.flatnonzero(plan.opens[t]):
                    if row[j] is not None:
                        row[j].SetLb(1.0)
    slacks = _budget_rows(mip, spec, h, prev, slack)
    return _Model(h=h, flat=flat, offset=offset, slacks=slacks)


def _need_rows(mip, sd: StreamData, sv, need: Need) -> None:
    """The requirements of ``need`` that the phase's StreamModel does not carry itself."""
    on, _ = _primary(need)
    t0 = sd.tiers[0]
    if on != "weight" and need.weight > 0:
        c = mip.Constraint(need.weight * float(sd.w.sum()) - 1e-6, INF)
        for p, a in enumerate(t0.pa.tolist()):
            c.SetCoefficient(sv.x[p], float(sd.w[a]))
    if on != "count" and need.count > 0:
        k = math.ceil(need.count * int(sd.count_mask.sum()) - 1e-9)
        c = mip.Constraint(float(k), INF)
        for p, a in enumerate(t0.pa.tolist()):
            if sd.count_mask[a]:
                c.SetCoefficient(sv.x[p], 1.0)
    if need.groups_min > 0 and need.group is not None:
        grp = np.asarray(need.group, dtype=int)
        rows: dict[int, tuple] = {}
        for p, a in enumerate(t0.pa.tolist()):
            g = int(grp[a])
            if g < 0:
                continue
            if g not in rows:   # b_g <= sum of x over the group's demands
                b = mip.BoolVar(f"g_{sd.name}_{g}")
                rows[g] = (b, mip.Constraint(-INF, 0.0))
                rows[g][1].SetCoefficient(b, 1.0)
            rows[g][1].SetCoefficient(sv.x[p], -1.0)
        c = mip.Constraint(float(need.groups_min), INF)
        for b, _ in rows.values():
            c.SetCoefficient(b, 1.0)


def _group_capex(spec: _Spec, g, S: int) -> float:
    """Capital cost (CNY) of a co-located site: the largest of its members'."""
    return max(float(spec.caps[s % S][g.tier][j]) for s, j in g.members)


def _budget_rows(mip, spec: _Spec, h: Handles, prev: list[StreamPlan] | None,
                 slack: bool) -> list:
    """Per phase: capex of the sites new that year <= the budget (+ slack in the diagnosis)."""
    P, S = len(spec.datas), len(spec.datas[0])
    z_of = {(g.members[0][0] // S, g.tier, g.site): zv for g, zv in zip(h.groups, h.z, strict=True)}
    slacks = []
    for p in range(P):
        if not math.isfinite(spec.budgets[p]):
            slacks.append(None)
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
                    elif p == 0 and prev is not None and prev[s].opens[t][j]:
                        c.SetBounds(-INF, c.ub() + k)
        for g, zv in zip(h.groups, h.z, strict=True):
            if g.members[0][0] // S != p:
                continue
            k = _group_capex(spec, g, S)
            terms[zv] = terms.get(zv, 0.0) + k
            zp = z_of.get((p - 1, g.tier, g.site))
            if zp is not None:
                terms[zp] = terms.get(zp, 0.0) - k
            elif p == 0 and prev is not None and any(prev[s % S].opens[g.tier][j]
                                                     for s, j in g.members):
                c.SetBounds(-INF, c.ub() + k)
        for v, k in terms.items():
            c.SetCoefficient(v, k)
        sl = None
        if slack:
            sl = mip.NumVar(0.0, INF, f"slack_{p}")
            c.SetCoefficient(sl, -1.0)
        slacks.append(sl)
    return slacks


def _one_phase(spec: _Spec, p: int) -> _Spec:
    """The sub-spec of phase ``p`` alone (weight 1)."""
    return _Spec([spec.datas[p]], spec.comps, spec.caps, [spec.budgets[p]], np.ones(1),
                 spec.sfc, [spec.needs[p]])


def _forward(spec: _Spec, solver: str, seed: int, mip_gap: float,
             budget: Budget) -> list[list[StreamPlan]] | None:
    """A start: each year in turn, the year before's sites kept, a short MIP per year; None when
    a year finds no plan (the whole MIP then starts without a hint)."""
    plans: list[list[StreamPlan]] = []
    P = len(spec.datas)
    for p in range(P):
        mip = make_solver(solver)
        m = _assemble(mip, _one_phase(spec, p), prev=plans[-1] if plans else None)
        sub = budget.split(1.0 / (P - p))
        limit = Budget(sub.work, 0.0).nodes(nonzeros(mip))
        res = run(mip, solver_name=solver,
                  time_limit_s=max(0.5, min(budget.left_s(), 2.0 * sub.work)),
                  mip_gap=mip_gap, seed=seed, offset=m.offset, node_limit=limit)
        budget.spent(sub.work * min(1.0, res.nodes / max(limit, 1)))
        if not res.has_solution:
            return None
        plans.append(read(m.h, m.flat))
    return plans


def _diagnose(spec: _Spec, phases: list[Phase], solver: str, seed: int,
              probe_s: float = 30.0) -> PhaseInfeasible:
    """Why no phasing exists: a year no network can meet, else the least extra capital per year."""
    for p, ph in enumerate(phases):
        one = _one_phase(spec, p)
        one.budgets = [INF]
        mip = make_solver(solver)
        _assemble(mip, one)
        mip.Objective().Clear()
        if run(mip, solver_name=solver, time_limit_s=probe_s, mip_gap=1.0,
               seed=seed).status == "infeasible":
            msg = (f"year {ph.year}: no network meets the year's requirements, even with unlimited "
                   "capital (capacities, radii, single sourcing and township rules conflict)")
            return PhaseInfeasible(msg, year=ph.year, shortfall_cny=INF)
    mip = make_solver(solver)
    m = _assemble(mip, spec, slack=True)
    obj = mip.Objective()
    obj.Clear()
    for sl in m.slacks:
        if sl is not None:
            obj.SetCoefficient(sl, 1.0)
    obj.SetMinimization()
    res = run(mip, solver_name=solver, time_limit_s=probe_s, mip_gap=1e-6, seed=seed)
    if not res.has_solution:
        msg = "no phasing meets every year's requirements within its budget (shortfall unknown)"
        return PhaseInfeasible(msg, year=phases[0].year, shortfall_cny=INF)
    short = [0.0 if sl is None else sl.solution_value() for sl in m.slacks]
    parts = [f"year {ph.year} needs at least {short[p]:,.0f} CNY more capital than its budget of "
             f"{ph.capex_budget_cny:,.0f} CNY" for p, ph in enumerate(phases) if short[p] > 0.5]
    first = next((p for p in range(len(phases)) if short[p] > 0.5), 0)
    msg = ("no phasing meets every year's requirements within its budget: " + "; ".join(parts)
           + " (the least extra capital, spread as the solver found it)")
    return PhaseInfeasible(msg, year=phases[first].year, shortfall_cny=short[first])


def _capex_new(spec: _Spec, p: int, before: list[StreamPlan] | None,
               plans: list[StreamPlan], groups) -> tuple[float, tuple]:
    """Capex (CNY) of the sites new in phase ``p`` and, per stream and tier, their indices."""
    S = len(plans)
    shared = [[np.zeros(td.n, dtype=bool) for td in sd.tiers] for sd in spec.datas[p]]
    total = 0.0
    for g in groups:
        for s, j in g.members:
            shared[s][g.tier][j] = True
        now = any(plans[s].opens[g.tier][j] for s, j in g.members)
        was = before is not None and any(before[s].opens[g.tier][j] for s, j in g.members)
        if now and not was:
            total += _group_capex(spec, g, S)
    new = []
    for s in range(S):
        per = []
        for t in range(len(plans[s].opens)):
            o = np.asarray(plans[s].opens[t], dtype=bool)
            nw = o & ~np.asarray(before[s].opens[t], dtype=bool) if before is not None else o
            total += float(spec.caps[s][t][nw & ~shared[s][t]].sum())
            per.append(np.flatnonzero(nw))
        new.append(tuple(per))
    return total, tuple(new)


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
