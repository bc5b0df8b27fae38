"""The whole pipeline on the demo county (平舆县): optimised siting, routes, outputs, and one
coverage figure recomputed by hand from plan.gpkg."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest

from netplan._paths import data_file
from netplan.planner import run_plan, write_plan
from netplan.scenario import load_scenario


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The demo scenario with short solver limits (the plan is feasible, maybe not proven optimal)."""
    sc = load_scenario(data_file("scenarios", "demo.toml"))
    sc = dataclasses.replace(sc, time_limit_s=20.0, routing_time_limit_s=0.5)
    plan = run_plan(sc)
    out = tmp_path_factory.mktemp("demo")
    write_plan(plan, out, maps=False)
    return sc, plan, out


def test_outputs_and_every_target_in_kpis(demo_run):
    """plan.gpkg has the contract layers; kpis.csv has every target of demo.toml with pass/fail."""
    sc, plan, out = demo_run
    layers = {name for name, _ in pyogrio.list_layers(out / "plan.gpkg")}
    assert {"villages", "sites", "assignments", "routes"} <= layers
    k = pd.read_csv(out / "kpis.csv", encoding="utf-8-sig")
    assert list(k.columns[:5]) == ["stream", "indicator", "value", "target", "met"]
    have = {(r.stream, r.indicator) for r in k[k["target"].notna()].itertuples()}
    assert set(sc.targets) <= have
    sites = gpd.read_file(out / "plan.gpkg", layer="sites")
    for s in sc.stream_ids:
        tiers = set(sites.loc[sites["stream"] == s, "tier"])
        assert tiers == {"village_point", "township_station", "county_center"}, s
    assert plan.layout.solve["straw"]["status"] in {"optimal", "feasible", "time_limit"}


def test_packaging_coverage_recomputed_from_gpkg(demo_run):
    """Share of villages with packaging whose assigned point lies within 3 km and is open: by hand."""
    sc, _, out = demo_run
    v = gpd.read_file(out / "plan.gpkg", layer="villages")
    sites = gpd.read_file(out / "plan.gpkg", layer="sites")
    s = "pesticide_packaging"
    open_points = set(sites.loc[(sites["stream"] == s) & (sites["tier"] == "village_point"), "site_id"])
    live = v[v[f"{s}_t_yr"] > 0]
    radius = sc.streams[s].tiers["village_point"].radius_m
    ok = live[f"{s}_point_id"].isin(open_points) & (live[f"{s}_dist_m"] <= radius)
    k = pd.read_csv(out / "kpis.csv", encoding="utf-8-sig").set_index(["stream", "indicator"])
    assert ok.mean() == pytest.approx(k.loc[(s, "village_coverage"), "value"], abs=1e-6)


def test_routes_cover_open_points(demo_run):
    """Every open packaging village point with load is on some collection route of its station."""
    _, plan, _ = demo_run
    r = plan.routes
    s = "pesticide_packaging"
    col = r[(r["stream"] == s) & (r["kind"] == "collection")]
    visited = {x for stops in col["stops"] for x in stops.split(";")}
    loads = plan.layers["sites"]
    pts = loads[(loads["stream"] == s) & (loads["tier"] == "village_point") & (loads["load_t"] > 0)]
    assert set(pts["site_id"]) <= visited
    assert (col["distance_m"] > 0).all() and (col["load_t"] > 0).all()
