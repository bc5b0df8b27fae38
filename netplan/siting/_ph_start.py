"""The phased model's data (:class:`Need`, :class:`Phase`, the builder's ``_Spec``), its capital
accounting and its start: :func:`_forward` (``three_tier`` year by year, the sites of the year
before forced open) and :func:`_prebuild` (a later year over its budget has its dearest new
sites built earlier). See :mod:`netplan.siting.phased` for the formulation.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from netplan.errors import InfeasibleError, Unservable
from netplan.siting._mip import Budget
from netplan.siting._tt_plan import StreamPlan, colocation_groups, plan_from_start
from netplan.siting._tt_prep import StreamData
from netplan.siting.three_tier import StreamModel, three_tier

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


def _primary(need: Need) -> tuple[str, float]:
    """The requirement the phase's StreamModel carries (the rest become extra rows)."""
    if need.count >= 1.0 - 1e-12:
        return "count", 1.0
    if need.weight >= 1.0 - 1e-12:
        return "weight", 1.0
    if need.count > 0 and need.weight <= 0:
        return "count", float(need.count)
    return "weight", float(need.weight)


def _group_capex(spec: _Spec, g, S: int) -> float:
    """Capital cost (CNY) of a co-located site: the largest of its members'."""
    return max(float(spec.caps[s % S][g.tier][j]) for s, j in g.members)


def _mask(idx, n: int) -> np.ndarray:
    """Boolean mask over ``n`` candidates from indices, a mask or None."""
    out = np.zeros(n, dtype=bool)
    if idx is None:
        return out
    a = np.asarray(idx)
    if a.dtype == bool:
        return a.copy()
    out[a.astype(int)] = True
    return out


def _forward(spec: _Spec, models: list[StreamModel], phases: list[Phase], share: tuple,
             solver: str, seed: int, mip_gap: float, budget: Budget) -> list[list[StreamPlan]]:
    """The start: each year in turn, :func:`~netplan.siting.three_tier` (its heuristics, MIP and
    bounds) with the year's primary requirement and the year before's sites forced open. Budgets
    and the other requirements are left to the phased MIP (elastic there)."""
    plans: list[list[StreamPlan]] = []
    P = len(phases)
    for p, ph in enumerate(phases):
        ms = []
        for i, m in enumerate(models):
            on, target = _primary(spec.needs[p][i])
            tiers = m.tiers
            if plans:
                tiers = tuple(dataclasses.replace(tr, force_open=_mask(tr.force_open, len(o)) | o)
                              for tr, o in zip(m.tiers, plans[-1][i].opens, strict=True))
            ms.append(dataclasses.replace(m, coverage_on=on, coverage_target=target, tiers=tiers))
        share_p = 1.0 / (P - p)
        try:
            sol = three_tier(ms, share=share, site_fixed_cost=spec.sfc, solver=solver, seed=seed,
                             time_limit_s=max(1.0, share_p * budget.left_s()),
                             work=max(0.5, share_p * budget.work), mip_gap=mip_gap)
        except InfeasibleError as exc:
            msg = f"year {ph.year}" + (" (with the sites of the years before kept open)"
                                       if p else "") + f": {str(exc).splitlines()[0]}"
            raise PhaseInfeasible(msg, year=ph.year, shortfall_cny=INF,
                                  unservable=exc.unservable) from None
        budget.spent(share_p * budget.work)
        plans.append([plan_from_start(sd, ss) for sd, ss in zip(spec.datas[p], sol.streams,
                                                                   strict=True)])
    return plans


def _copy(plan: StreamPlan) -> StreamPlan:
    return StreamPlan([o.copy() for o in plan.opens], [a.copy() for a in plan.assigns], plan.flows)


def _chain(plans: list[StreamPlan], before: list[StreamPlan], s: int, t: int, j: int) -> list:
    """Site ``(s, t, j)`` and the sites it sends to up the tiers in ``plans`` that ``before``
    does not have open yet, as (stream, tier, candidate, parent or -1)."""
    out = []
    T = len(plans[s].opens)
    while True:
        parent = int(plans[s].assigns[t + 1][j]) if t + 1 < T else -1
        out.append((s, t, j, parent))
        if parent < 0 or before[s].opens[t + 1][parent]:
            return out
        t, j = t + 1, parent


def _capex_of(spec: _Spec, plans: list[list[StreamPlan]], p: int) -> float:
    groups = colocation_groups(spec.datas[p], spec.comps, spec.sfc)
    return _capex_new(spec, p, plans[p - 1] if p else None, plans[p], groups)[0]


def _prebuild(spec: _Spec, start: list[list[StreamPlan]]) -> list[list[StreamPlan]]:
    """Repair a start whose later year spends over its budget: open some of that year's new sites
    (with the sites they send to) in an earlier year with money to spare, dearest first, idle
    until their year (a site opened earlier stays open, so every year's plan stays feasible).
    Single-source plans only; a year still over budget is left to the phased MIP."""
    if any(sp.flows is not None for ph in start for sp in ph):
        return start
    plans = [[_copy(sp) for sp in ph] for ph in start]
    for p in range(len(plans) - 1, 0, -1):
        over = _capex_of(spec, plans, p) - spec.budgets[p]
        if over <= 0.5:
            continue
        new = [(float(spec.caps[s][t][j]), s, t, int(j)) for s, sp in enumerate(plans[p])
               for t in range(len(sp.opens))
               for j in np.flatnonzero(sp.opens[t] & ~plans[p - 1][s].opens[t])]
        for _, s, t, j in sorted(new, reverse=True):
            if over <= 0.5:
                break
            for q in range(p - 1, -1, -1):
                trial = [list(ph) for ph in plans]
                for r in range(q, p):
                    trial[r] = [_copy(sp) for sp in trial[r]]
                    for s2, t2, j2, par in _chain(plans[p], plans[r], s, t, j):
                        trial[r][s2].opens[t2][j2] = True
                        if par >= 0:
                            trial[r][s2].assigns[t2 + 1][j2] = par
                if all(_capex_of(spec, trial, r) <= spec.budgets[r] + 0.5 for r in range(q, p)):
                    plans = trial
                    over = _capex_of(spec, plans, p) - spec.budgets[p]
                    break
    return plans


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
