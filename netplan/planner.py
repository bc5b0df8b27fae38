"""The pipeline: load → estimate → candidates → travel costs → siting → evaluation → routing →
layers, each stage a function of plain data (docs/architecture.md). :func:`run_plan` chains them;
the geo ↔ siting-core translation is :mod:`netplan.siting_adapter`'s, the routing one
:mod:`netplan.collection`'s, and the run folder :mod:`netplan.runfolder`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from netplan.candidates import build_candidates
from netplan.errors import InfeasibleError, Unservable
from netplan.layout import Layout
from netplan.model import County
from netplan.scenario import Scenario
from netplan.siting_adapter import (  # noqa: F401  (build_stream_models, layout_from_solution: re-exported)
    Matrices,
    Progress,
    build_stream_models,
    layout_from_solution,
    layout_from_table,
    merge_candidates,
    site,
    travel_matrices,
)
from netplan.streams import load_coefficients
from netplan.supply import Supply, estimate


@dataclass
class Plan:
    """Everything a run produced, and the inputs that made it."""

    scenario: Scenario
    county: County
    supply: Supply
    candidates: gpd.GeoDataFrame
    layout: Layout
    routes: gpd.GeoDataFrame
    kpis: pd.DataFrame
    layers: dict[str, gpd.GeoDataFrame]
    network_label: str
    crow_fly: bool
    matrices: Matrices | None = None
    costs: pd.DataFrame | None = None
    evaluation: Any = None   # netplan.evaluate.Evaluation (township, cost and transport tables)
    phases: Any = None       # netplan.phasing.PhasedPlan of a [[phases]] scenario (issue 21)


def _noop(msg: str) -> None:
    return None


def load_inputs(scenario: Scenario) -> County:
    """Read the scenario's county folder; the columns and village ids the scenario's streams name
    in it are checked now, before any siting (:func:`netplan.inputs.validate.stream_column_problems`)."""
    from netplan.errors import InputError
    from netplan.inputs import load_county
    from netplan.inputs.validate import stream_column_problems

    county = load_county(scenario.county_dir, columns=scenario.columns or None)
    problems = stream_column_problems(scenario, county)
    if problems:
        raise InputError(problems=problems)
    return county


def road_network(scenario: Scenario, county: County) -> Any:
    """The road network the scenario asks for (its file, the county's, or the crow-fly fallback)."""
    from netplan.roads import RoadNetwork

    path = scenario.roads_file or county.roads_path
    if scenario.crow_fly or path is None:
        return RoadNetwork.crow_fly(circuity=scenario.circuity)
    boundary = county.boundary.geometry.union_all()
    return RoadNetwork.from_file(path, boundary=boundary)


def check_reachable(supply: Supply, mats: Matrices, scenario: Scenario) -> None:
    """Raise InfeasibleError naming the demands that no candidate can reach by road."""
    bad = ~np.isfinite(mats.dem_site_m).any(axis=1)
    w_any = np.zeros(len(supply.demands), dtype=bool)
    for s in scenario.stream_ids:
        w_any |= supply.mass_t_yr(s) > 0
    bad &= w_any
    if bad.any():
        ids = supply.demands["demand_id"].to_numpy()
        msg = "some villages or farms cannot reach any candidate site on the road network"
        raise InfeasibleError(msg, unservable=[
            Unservable(int(i), "not connected to the road network within the snap distance",
                       label=str(ids[i])) for i in np.flatnonzero(bad)])


def estimate_supply(scenario: Scenario, county: County) -> Supply:
    """Generation per demand point per stream."""
    coef = load_coefficients(overrides=scenario.coefficients)
    return estimate(county, coef, scenario.stream_ids)


def candidate_sites(county: County, table: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """The county's candidate sites, plus a layout table's sites that are not candidates yet."""
    cands = build_candidates(county)
    return cands if table is None else merge_candidates(cands, table, county)


def run_plan(scenario: Scenario, *, progress: Progress = _noop, layout: Layout | None = None,
             layout_table: Any = None, fix: Any = None, start_layout: Layout | None = None) -> Plan:
    """Run the whole pipeline for ``scenario`` (or score a given ``layout``) and return the Plan.

    ``layout_table`` (netplan.layout_io.read_layout) is a hand-made layout to score instead of
    optimising; ``fix`` is one whose sites stay fixed open (or forbidden, status closed) while the
    rest is optimised. ``start_layout`` (e.g. the Plan.layout of a neighbouring target in a sweep)
    warm-starts the siting where it is a feasible plan of this scenario
    (:func:`netplan.siting_adapter.site`).

    Writes nothing; see :func:`netplan.runfolder.write_run`.
    """
    from netplan.collection import plan_routes
    from netplan.evaluate import evaluate, with_route_co2
    from netplan.layers import build_layers

    progress(f"reading county folder {scenario.county_dir}")
    county = load_inputs(scenario)
    supply = estimate_supply(scenario, county)
    progress("generation: " + ", ".join(f"{k} {v:,.0f} t/yr" for k, v in supply.totals().items()))
    cands = candidate_sites(county, layout_table if layout_table is not None else fix)
    net = road_network(scenario, county)
    progress(f"road network: {net.label}")
    mats = travel_matrices(net, supply, cands, scenario)
    progress(f"travel distances: {mats.dem_site_m.shape[0]} demands × {mats.dem_site_m.shape[1]} sites")
    check_reachable(supply, mats, scenario)
    phased = None
    if layout is None and layout_table is not None and "open_year" in layout_table.columns:
        from netplan.phasing import phased_from_table  # a phased layout: every year scored

        phased = phased_from_table(scenario, supply, cands, mats, layout_table)
        layout = phased.final
        scenario_ev = replace(scenario, targets=dict(phased.years[-1].targets))
    if layout is None and layout_table is not None:
        layout = layout_from_table(layout_table, scenario, supply.demands, cands, mats.dem_site_m,
                                   mats.site_site_m)
    if layout is None and scenario.phases:
        from netplan.phasing import site_phased

        phased = site_phased(scenario, county, supply, cands, mats, progress=progress, fix=fix)
        layout = phased.final
        scenario_ev = replace(scenario, targets=dict(scenario.phases[-1].targets))
    if layout is None:
        layout = site(scenario, county, supply, cands, mats, progress=progress, fix=fix,
                      start=start_layout)
    ev = evaluate(scenario_ev if phased else scenario, county, supply, layout,
                  mats.site_site_frame())
    progress("routing collection rounds and haulage")
    routes = plan_routes(scenario, layout, ev, cands, mats.site_site_m, mats.site_site_s, net,
                         progress=progress)
    kpis = with_route_co2(with_route_kpis(ev.kpis, routes, scenario), routes, ev.transport)
    layers = build_layers(county, supply, layout, ev, cands, routes, scenario.stream_ids)
    if phased is not None:   # one kpis block per year, open_year on the sites layer
        from netplan.phasing import with_open_year, year_kpis

        kpis = year_kpis(scenario, county, supply, phased, kpis, mats.site_site_frame())
        layers = with_open_year(layers, layout)
    return Plan(scenario=scenario, county=county, supply=supply, candidates=cands, layout=layout,
                routes=routes, kpis=kpis, layers=layers, network_label=net.label,
                crow_fly=bool(getattr(net, "is_crow_fly", False)), matrices=mats, costs=ev.costs,
                evaluation=ev, phases=phased)


def siting_models(scenario: Scenario) -> tuple[list, tuple[tuple[str, ...], ...]]:
    """The scenario's siting models as :func:`run_plan` builds them (county, supply, candidates,
    road distances), and its share groups (every tier's ``[sharing]`` groups): what a benchmark or
    probe passes to :func:`netplan.siting.three_tier`."""
    county = load_inputs(scenario)
    sup = estimate_supply(scenario, county)
    cands = build_candidates(county)
    mats = travel_matrices(road_network(scenario, county), sup, cands, scenario)
    models, _ = build_stream_models(scenario, county, sup, cands, mats)
    share = tuple(g for groups in scenario.sharing.values() for g in groups)
    return models, share


def with_route_kpis(kpis: pd.DataFrame, routes: gpd.GeoDataFrame, scenario: Scenario) -> pd.DataFrame:
    """Add vehicle-km per year of collection rounds and haulage to the KPI table."""
    rows = []
    for sid in scenario.stream_ids:
        r = routes[routes["stream"] == sid] if len(routes) else routes
        for kind, label in (("collection", "收运里程"), ("haulage", "转运里程")):
            rk = r[r["kind"] == kind] if len(r) else r
            km = float((rk["distance_m"] * rk["trips_per_year"]).sum() / 1000.0) if len(rk) else 0.0
            rows.append({"stream": sid, "indicator": f"{kind}_vehicle_km_yr", "value": round(km, 3),
                         "target": None, "met": None, "unit": "km/yr", "label_zh": label})
    return pd.concat([kpis, pd.DataFrame(rows)], ignore_index=True)


def write_plan(plan: Plan, out_dir: Any, *, maps: bool = True, background: str = "offline",
               extra: Any = None) -> list[Any]:
    """Write the plan's run folder (:func:`netplan.runfolder.write_run`; ``extra(staging_dir)``
    adds files to the same all-or-nothing write)."""
    from netplan.runfolder import write_run

    return write_run(plan, out_dir, maps=maps, background=background, extra=extra)
