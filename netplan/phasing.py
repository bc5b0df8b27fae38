"""Phased build-out in the geo layer (issue 21): a scenario's ``[[phases]]`` → the siting core's
:func:`netplan.siting.phased.phased` → one Layout per year, the ``open_year`` of every site and
the per-year tables a run writes (kpis.csv's ``year`` blocks, report.html's year table).

Each year's targets (the keys of ``[targets]``) become the core's requirements per stream
(:func:`needs_for`), through the same arithmetic as the indicators (docs/indicators.md), with
``N`` the network's t/yr, ``T`` the official denominator, ``c`` the capture rate, ``U`` the use
without the network and ``b`` the baseline use share:

* ``tonnage_coverage`` ≥ α → served share of ``N`` ≥ α;
* ``recovery_rate`` ≥ α → share ≥ α T / (c N);
* ``utilisation_rate`` ≥ α → share ≥ (α T − U_on − U_off − b N) / ((1 − b) c N);
* ``offsite_use_rate`` ≥ α → share ≥ (α T − U_off) / (c N);
* ``village_coverage`` and ``villages_with_point`` ≥ α → ⌈α · villages⌉ villages served (for
  ``villages_with_point`` exact only where the tier-1 radius keeps points inside their village,
  as the shipped packaging radius of 500 m does);
* ``township_coverage`` ≥ α → ⌈α · farming townships⌉ townships with a served village.

Other indicators (``sorting_coverage``) are scored each year but not planned for.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from netplan.errors import InfeasibleError, Unservable
from netplan.indicators import farming_townships
from netplan.layout import Layout
from netplan.model import TIERS, County
from netplan.scenario import PhaseParams, Scenario
from netplan.siting_adapter import Matrices, build_stream_models, layout_from_solution
from netplan.supply import Supply

Progress = Callable[[str], None]
#: indicators a phase's targets are planned for (the rest are scored only)
PLANNED = ("tonnage_coverage", "recovery_rate", "utilisation_rate", "offsite_use_rate",
           "village_coverage", "villages_with_point", "township_coverage")
#: margin on the share a target needs (rounding in the scored value, 6 decimals)
_EPS = 1e-6


def _noop(msg: str) -> None:
    return None


@dataclass(frozen=True)
class YearPlan:
    """One year of a phased plan: its network and what it cost to get there.

    Attributes
    ----------
    year
        The phase's year.
    layout
        The network open in that year (sites with ``open_year``) and its assignments.
    targets
        The year's targets, {(stream, indicator): value}.
    capex_cny, capex_budget_cny
        Capital of the sites new that year (one per co-located physical site) and the budget, CNY.
    new_sites
        Number of (site, stream, tier) rows new that year, per tier.
    annual_cost_cny, bound_cny, gap
        The year's annual cost in the siting model (CNY/yr), its single-year LP bound and gap.
    """

    year: int
    layout: Layout
    targets: dict[tuple[str, str], float]
    capex_cny: float
    capex_budget_cny: float
    new_sites: dict[str, int]
    annual_cost_cny: float
    bound_cny: float
    gap: float


@dataclass(frozen=True)
class PhasedPlan:
    """All years of a phased plan; ``final`` is the last year's layout (the run's layout)."""

    years: tuple[YearPlan, ...]
    objective_cny: float
    bound_cny: float
    gap: float
    status: str

    @property
    def final(self) -> Layout:
        """The last year's layout."""
        return self.years[-1].layout

    def table(self, kpis: pd.DataFrame) -> pd.DataFrame:
        """report.html's year table (:func:`year_table`) of these years and their kpis."""
        return year_table(self, kpis)

    def summary(self) -> list[dict[str, Any]]:
        """Per year: capex, budget, new sites per tier, annual cost, bound and gap (run.json)."""
        return [{"year": y.year, "capex_cny": round(y.capex_cny, 2),
                 "capex_budget_cny": (None if not math.isfinite(y.capex_budget_cny)
                                      else y.capex_budget_cny),
                 **{f"new_{t}": y.new_sites.get(t, 0) for t in TIERS},
                 "annual_cost_cny": (round(y.annual_cost_cny, 2) if math.isfinite(y.annual_cost_cny)
                                     else None),
                 "bound_cny": round(y.bound_cny, 2) if math.isfinite(y.bound_cny) else None,
                 "gap": round(y.gap, 6) if math.isfinite(y.gap) else None} for y in self.years]


def needs_for(scenario: Scenario, county: County, supply: Supply, models: list[Any],
              index: dict[str, dict[str, Any]], phase: PhaseParams) -> dict[str, Any]:
    """The core's :class:`~netplan.siting.phased.Need` per stream for one phase's targets.

    Raises
    ------
    InfeasibleError
        A target beyond what the whole network tonnage or every village can give (naming the
        year, the target and the shortfall).
    """
    from netplan.siting.phased import Need

    dem = supply.demands
    farming = farming_townships(county)
    out = {}
    for m in models:
        sid = m.name
        sp = scenario.streams[sid]
        idx = index[sid]["demands"]
        N = float(supply.mass_t_yr(sid).sum())
        T = float(supply.total_t_yr(sid).sum())
        u_on = float(supply.used_t_yr(sid, "onsite").sum())
        u_off = float(supply.used_t_yr(sid, "offsite").sum())
        c, b = sp.capture_rate, sp.baseline_use_share
        weight, count, groups_min = 0.0, 0.0, 0
        group = None
        for (s, ind), a in phase.targets.items():
            if s != sid:
                continue
            if ind == "tonnage_coverage":
                weight = max(weight, a)
            elif ind == "recovery_rate":
                weight = max(weight, a * T / (c * N) if c * N > 0 else math.inf)
            elif ind == "utilisation_rate":
                need = a * T - u_on - u_off - b * N
                weight = max(weight, need / ((1 - b) * c * N) if need > 0 else 0.0)
            elif ind == "offsite_use_rate":
                need = a * T - u_off
                weight = max(weight, need / (c * N) if need > 0 else 0.0)
            elif ind in ("village_coverage", "villages_with_point"):
                n_v = int(((dem["kind"] == "village") & (supply.total_t_yr(sid) > 0)).sum())
                k = math.ceil(a * n_v - 1e-9)
                mask = np.asarray(m.count_mask, dtype=bool)
                if k > int(mask.sum()):
                    raise _beyond(phase.year, sid, ind, a, f"{k} villages needed, {int(mask.sum())} "
                                  "have any of the stream to collect")
                count = max(count, k / max(int(mask.sum()), 1))
            elif ind == "township_coverage":
                towns = dem["township_code"].astype(str).to_numpy()[idx]
                here = sorted(set(dem["township_code"].astype(str)) & farming)
                pos = {t: g for g, t in enumerate(here)}
                group = np.array([pos.get(t, -1) for t in towns], dtype=int)
                groups_min = max(groups_min, math.ceil(a * len(here) - 1e-9))
        if weight > 1.0 + 1e-9:
            raise _beyond(phase.year, sid, "tonnage", weight, f"{weight:.1%} of the network's "
                          f"{N:,.0f} t/yr would have to be served (short by {(weight - 1) * N:,.0f} t/yr)")
        out[sid] = Need(weight=min(1.0, weight + _EPS) if weight > 0 else 0.0,
                        count=min(1.0, count), group=group, groups_min=groups_min)
    return out


def _beyond(year: int, sid: str, ind: str, value: float, why: str) -> InfeasibleError:
    msg = f"year {year}: the target {sid}.{ind} = {value:.4g} cannot be met by any network: {why}"
    return InfeasibleError(msg, unservable=[Unservable(-1, why, label=f"{year} {sid}.{ind}")])


def site_phased(scenario: Scenario, county: County, supply: Supply, cands: gpd.GeoDataFrame,
                mats: Matrices, *, progress: Progress = _noop, fix: Any = None) -> PhasedPlan:
    """Plan the build-out year by year (:func:`netplan.siting.phased.phased`) and map it back."""
    from netplan.siting.phased import Phase, PhaseInfeasible, phased

    models, index = build_stream_models(scenario, county, supply, cands, mats, fix)
    phases = [Phase(year=ph.year, needs=needs_for(scenario, county, supply, models, index, ph),
                    capex_budget_cny=ph.capex_budget_cny) for ph in scenario.phases]
    capex = {m.name: [_capex(scenario, cands, m.name, t, index[m.name]["tiers"][t]) for t in TIERS]
             for m in models}
    share = [g for groups in scenario.sharing.values() for g in groups]
    progress(f"phased siting: {len(models)} streams × {len(phases)} years "
             f"({', '.join(str(p.year) for p in phases)}; {scenario.solver}, "
             f"limit {scenario.time_limit_s:.0f} s)")
    try:
        sol = phased(models, phases, capex=capex, share=tuple(share),
                     discount_rate=scenario.discount_rate, horizon_year=scenario.horizon_year,
                     time_limit_s=scenario.time_limit_s, solver=scenario.solver,
                     seed=scenario.seed)
    except PhaseInfeasible as exc:
        raise _with_targets(exc, scenario) from None
    years: list[YearPlan] = []
    first: dict[tuple[str, str, str], int] = {}
    for yr, ph in zip(sol.years, scenario.phases, strict=True):
        lay = layout_from_solution(yr.solution, models, index, cands, supply, mats, scenario)
        sites = lay.sites.copy()
        keys = list(zip(sites["site_id"], sites["stream"], sites["tier"], strict=True))
        for k in keys:
            first.setdefault(k, yr.year)
        sites["open_year"] = [first[k] for k in keys]
        new = sites[sites["open_year"] == yr.year]
        solve = {sid: _solve_row(sol, yr) for sid in lay.solve}
        years.append(YearPlan(
            year=yr.year, layout=replace(lay, sites=sites, solve=solve), targets=dict(ph.targets),
            capex_cny=yr.capex_cny, capex_budget_cny=yr.capex_budget_cny,
            new_sites={t: int((new["tier"] == t).sum()) for t in TIERS},
            annual_cost_cny=yr.solution.objective, bound_cny=yr.solution.bound,
            gap=yr.solution.gap))
        progress(f"  {yr.year}: {len(new)} new sites, capex {yr.capex_cny:,.0f} CNY"
                 + (f" of {yr.capex_budget_cny:,.0f}" if math.isfinite(yr.capex_budget_cny) else "")
                 + f", {yr.solution.objective:,.0f} CNY/yr (year gap {yr.solution.gap:.2%})")
    progress(f"phased plan: {sol.objective:,.0f} CNY discounted, gap {sol.gap:.2%} ({sol.status})")
    return PhasedPlan(years=tuple(years), objective_cny=sol.objective, bound_cny=sol.bound,
                      gap=sol.gap, status=sol.status)


def _solve_row(sol: Any, yr: Any) -> dict[str, Any]:
    """run.json's solve entry of a stream in a phased plan: the whole phased model's figures
    (discounted CNY), with the year's own as ``block``."""
    from netplan.siting.solution import plan_worth

    return {"block": f"phased {yr.year}", "status": yr.solution.status,
            "objective": yr.solution.objective, "bound": yr.solution.bound, "gap": yr.solution.gap,
            "solve_time_s": sol.solve_time_s, "model_status": sol.status,
            "model_objective": sol.objective, "model_bound": sol.bound, "model_gap": sol.gap,
            "model_solve_time_s": sol.solve_time_s, "worth": plan_worth(sol.status, sol.gap)}


def _capex(scenario: Scenario, cands: gpd.GeoDataFrame, sid: str, tier: str,
           cidx: np.ndarray) -> np.ndarray:
    """Capital (CNY) of each candidate of a stream's tier: the tier's capex, an existing site's
    share of it (``existing_capex_share``, as costs.site_costs counts it)."""
    tp = scenario.streams[sid].tiers[tier]
    existing = (cands["status"].iloc[cidx] == "existing").to_numpy()
    return np.where(existing, tp.capex_cny * scenario.existing_capex_share, tp.capex_cny)


def _with_targets(exc: Any, scenario: Scenario) -> InfeasibleError:
    """The core's PhaseInfeasible with the year's targets named."""
    ph = next((p for p in scenario.phases if p.year == exc.year), None)
    tg = ", ".join(f"{s}.{i} >= {v:g}" for (s, i), v in sorted(ph.targets.items())) if ph else ""
    msg = str(exc).splitlines()[0]
    if tg:
        msg += f"; the targets of {exc.year}: {tg}"
    return InfeasibleError(msg, unservable=list(exc.unservable))


def phased_from_table(scenario: Scenario, supply: Supply, cands: gpd.GeoDataFrame,
                      mats: Matrices, table: gpd.GeoDataFrame) -> PhasedPlan:
    """A phased layout table (its ``open_year`` column; blank = open from the start) as the network
    of each year: the scenario's phase years (else the table's years), each year's sites those
    opened by then; targets and budgets from the scenario's phases (else its [targets]). Capex
    per year is :func:`netplan.costs.site_costs`' of the rows new that year."""
    from netplan.costs import site_costs
    from netplan.siting_adapter import layout_from_table

    given = table["open_year"].astype(float)
    yrs = [p.year for p in scenario.phases] or sorted({int(y) for y in given.dropna()})
    if not yrs:
        yrs = [0]
    phase = {p.year: p for p in scenario.phases}
    oy = {(r.site_id, r.tier): v for r, v in zip(table.itertuples(), given, strict=True)}
    years = []
    for y in yrs:
        sub = table[given.isna().to_numpy() | (given <= y).to_numpy()]
        lay = layout_from_table(sub, scenario, supply.demands, cands, mats.dem_site_m,
                                mats.site_site_m, source=str(table.attrs.get("file", "hand-made")))
        sites = lay.sites.copy()
        sites["open_year"] = [int(oy[(a, t)]) if np.isfinite(oy.get((a, t), np.nan)) else yrs[0]
                              for a, t in zip(sites["site_id"], sites["tier"], strict=True)]
        new = sites[sites["open_year"] == y] if y != yrs[0] else sites[sites["open_year"] <= y]
        ph = phase.get(y)
        years.append(YearPlan(
            year=y, layout=replace(lay, sites=sites),
            targets=dict(ph.targets) if ph else dict(scenario.targets),
            capex_cny=float(site_costs(scenario, new)["capex_cny"].sum()),
            capex_budget_cny=ph.capex_budget_cny if ph else math.inf,
            new_sites={t: int((new["tier"] == t).sum()) for t in TIERS},
            annual_cost_cny=math.nan, bound_cny=math.nan, gap=math.nan))
    return PhasedPlan(years=tuple(years), objective_cny=math.nan, bound_cny=math.nan,
                      gap=math.nan, status="evaluated")


def year_kpis(scenario: Scenario, county: County, supply: Supply, plan: PhasedPlan,
              final_kpis: pd.DataFrame, site_site_m: pd.DataFrame | None) -> pd.DataFrame:
    """kpis.csv of a phased plan: one block per year (column ``year``), each scored against its
    year's targets; the last block is the run's own kpis (with the routed figures)."""
    from netplan.evaluate import evaluate

    blocks = []
    for y in plan.years[:-1]:
        ev = evaluate(replace(scenario, targets=y.targets), county, supply, y.layout, site_site_m,
                      detail=False)
        blocks.append(ev.kpis.assign(year=y.year))
    blocks.append(final_kpis.assign(year=plan.years[-1].year))
    return pd.concat(blocks, ignore_index=True)


def year_table(plan: PhasedPlan, kpis: pd.DataFrame) -> pd.DataFrame:
    """Per year: new sites per tier, capex and budget, annual cost and gap, targets met/missed
    (report.html's year table; the kpis are :func:`year_kpis`)."""
    rows = []
    for y in plan.years:
        cost = y.annual_cost_cny
        if not math.isfinite(cost):   # a scored layout: the evaluation's total cost
            tot = kpis[(kpis["year"] == y.year) & (kpis["stream"] == "all")
                       & (kpis["indicator"] == "total_cost_cny_yr")]["value"]
            cost = float(tot.iloc[0]) if len(tot) else math.nan
        k = kpis[(kpis["year"] == y.year) & kpis["target"].notna()]
        met = k[k["met"].astype(bool)]
        miss = k[~k["met"].astype(bool)]
        rows.append({"year": y.year, **{f"new_{t}": y.new_sites.get(t, 0) for t in TIERS},
                     "capex_cny": y.capex_cny, "capex_budget_cny": y.capex_budget_cny,
                     "annual_cost_cny": cost, "gap": y.gap,
                     "targets_met": ", ".join(f"{r.stream}.{r.indicator} {r.value:.3f} ≥ {r.target:g}"
                                              for r in met.itertuples()),
                     "targets_missed": ", ".join(f"{r.stream}.{r.indicator} {r.value:.3f} < {r.target:g}"
                                                 for r in miss.itertuples())})
    return pd.DataFrame(rows)


def with_open_year(layers: dict[str, gpd.GeoDataFrame], layout: Layout) -> dict[str, gpd.GeoDataFrame]:
    """The layers with ``open_year`` on the sites layer (from the final layout's sites)."""
    if "open_year" not in layout.sites or "sites" not in layers:
        return layers
    yr = layout.sites.set_index(["site_id", "stream", "tier"])["open_year"]
    s = layers["sites"].copy()
    keys = list(zip(s["site_id"], s["stream"], s["tier"], strict=True))
    s["open_year"] = [int(yr.get(k, -1)) for k in keys]
    return {**layers, "sites": s}
