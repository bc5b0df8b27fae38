"""Reading what `netplan risk` needs back from a run folder (through :mod:`netplan.runfolder`, the
contract): the scenario, the layout with its exact assignments, and the road distances of its links.

A run folder (docs/outputs.md) holds the layout twice: ``plan.gpkg`` (layers ``sites``,
``villages``/``farms`` with each demand's point and road distance, ``assignments`` with every
link's road distance) and ``layout.csv`` (sites only). The plan.gpkg route is exact (the run's own
assignments); without plan.gpkg the layout table is re-assigned nearest-first by
:func:`netplan.layout_io.layout_from_table`, which needs the road network. The scenario is
``run.json``'s ``scenario_path`` when the run recorded one, else the one given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from netplan.errors import InputError
from netplan.layout import ASSIGN_COLUMNS, SITE_COLUMNS, Layout
from netplan.model import County
from netplan.scenario import Scenario, load_scenario
from netplan.supply import Supply


@dataclass(frozen=True)
class PlanInputs:
    """A plan ready to be re-scored: scenario, county, nominal supply, layout, link distances (m)."""

    scenario: Scenario
    county: County
    supply: Supply
    layout: Layout
    site_dist_m: dict[tuple[str, str], float]
    kpis: pd.DataFrame | None = None


def _scenario(meta: dict[str, Any], run_json: Path, scenario_path: str | Path | None) -> Scenario:
    path = scenario_path or meta.get("scenario_path")
    if not path:
        msg = ("the run folder does not record its scenario file (run.json has no scenario_path): "
               "give it with --scenario SCENARIO.toml")
        raise InputError(msg, file=str(run_json), field="scenario_path")
    return load_scenario(path)


def _demand_points(layers: dict[str, pd.DataFrame], streams: tuple[str, ...]) -> pd.DataFrame:
    rows = []
    for layer, id_col in (("villages", "village_id"), ("farms", "farm_id")):
        df = layers.get(layer)
        if df is None or len(df) == 0:
            continue
        for sid in streams:
            pc, dc = f"{sid}_point_id", f"{sid}_dist_m"
            if pc not in df.columns:
                continue
            pt = df[pc].where(df[pc].notna(), None)
            rows.append(pd.DataFrame({"stream": sid, "demand_id": df[id_col].astype(str),
                                      "point_id": pt.to_numpy(dtype=object),
                                      "dist_m": pd.to_numeric(df[dc], errors="coerce")}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=ASSIGN_COLUMNS)


def _from_gpkg(gpkg: Path, scenario: Scenario) -> tuple[Layout, dict[tuple[str, str], float]]:
    from netplan.runfolder import read_layers

    try:
        layers = read_layers(gpkg, ("sites", "villages", "farms", "assignments"))
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file
        msg = f"cannot read the run's GeoPackage: {exc}"
        raise InputError(msg, file=str(gpkg)) from None
    if "sites" not in layers:
        msg = "no 'sites' layer"
        raise InputError(msg, file=str(gpkg), field="sites")
    s = layers["sites"]
    sites = s[SITE_COLUMNS].copy()
    sites["parent_id"] = sites["parent_id"].where(sites["parent_id"].notna(), None)
    sites = sites[sites["stream"].isin(scenario.stream_ids)].reset_index(drop=True)
    dp = _demand_points(layers, scenario.stream_ids)
    dist: dict[tuple[str, str], float] = {}
    a = layers.get("assignments")
    if a is not None and len(a):
        up = a[a["from_tier"].isin(["village_point", "township_station"])]
        for f, t, d in zip(up["from_id"].astype(str), up["to_id"].astype(str),
                           pd.to_numeric(up["dist_m"], errors="coerce"), strict=True):
            dist[(f, t)] = float(d)
    return Layout(sites=sites, demand_point=dp, source=str(gpkg)), dist


def _from_layout_table(run_dir: Path, scenario: Scenario, county: County, supply: Supply
                       ) -> tuple[Layout, dict[tuple[str, str], float]]:
    from netplan.candidates import build_candidates
    from netplan.layout_io import layout_from_table, merge_candidates, read_layout
    from netplan.planner import road_network, travel_matrices

    table = read_layout(run_dir / "layout.csv", streams=scenario.stream_ids)  # runfolder.LAYOUT_CSV
    cands = merge_candidates(build_candidates(county), table, county)
    mats = travel_matrices(road_network(scenario, county), supply, cands, scenario)
    layout = layout_from_table(table, scenario, supply.demands, cands, mats.dem_site_m,
                               mats.site_site_m, source=str(run_dir / "layout.csv"))
    return layout, site_distances(layout, cands["site_id"].to_numpy(), mats.site_site_m)


def site_distances(layout: Layout, ids: np.ndarray, site_site_m: np.ndarray) -> dict[tuple[str, str], float]:
    """Road distance (m) of every (site, parent) link of ``layout`` from a candidate matrix."""
    pos = {s: i for i, s in enumerate(ids)}
    out = {}
    for c, p in zip(layout.sites["site_id"], layout.sites["parent_id"], strict=True):
        if isinstance(p, str) and c in pos and p in pos:
            out[(c, p)] = float(site_site_m[pos[c], pos[p]])
    return out


def read_plan(run_dir: str | Path, *, scenario_path: str | Path | None = None) -> PlanInputs:
    """Everything needed to re-score the plan of ``run_dir``.

    Raises
    ------
    InputError
        If the folder, its scenario or its layout cannot be read.
    """
    from netplan.planner import estimate_supply, load_inputs
    from netplan.runfolder import LAYOUT_CSV, PLAN_GPKG, RUN_JSON, read_run

    d = Path(run_dir)
    if not d.is_dir():
        msg = "run folder not found"
        raise InputError(msg, file=str(d))
    rec = read_run(d)
    scenario = _scenario(dict(rec.meta), d / RUN_JSON, scenario_path)
    county = load_inputs(scenario)
    supply = estimate_supply(scenario, county)
    if (d / PLAN_GPKG).exists():
        layout, dist = _from_gpkg(d / PLAN_GPKG, scenario)
    elif (d / LAYOUT_CSV).exists():
        layout, dist = _from_layout_table(d, scenario, county, supply)
    else:
        msg = f"the run folder has neither {PLAN_GPKG} nor {LAYOUT_CSV}"
        raise InputError(msg, file=str(d))
    kpis = rec.kpis
    return PlanInputs(scenario=scenario, county=county, supply=supply, layout=layout,
                      site_dist_m=dist, kpis=kpis)
