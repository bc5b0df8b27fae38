"""Cross-county tier-3 siting on hand-checkable station/centre layouts."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from pyproj import Geod
from shapely.geometry import Point

from netplan.batch.tier3 import Tier3Params, regional_tier3
from netplan.errors import InputError

GEOD = Geod(ellps="WGS84")
LAT = 32.0
# county A spans 114.0–114.5, county B 114.5–115.0 (same latitude: distances along a parallel)
CENTRE_A, CENTRE_B = 114.05, 114.55
STATIONS = [("A", "T1", 114.10, 100.0), ("A", "T2", 114.48, 200.0), ("B", "T3", 114.60, 50.0)]


def _km(lon1: float, lon2: float) -> float:
    return GEOD.inv(lon1, LAT, lon2, LAT)[2] / 1000.0


def _sites(cap_b: float = 1e6, stream: str = "straw") -> gpd.GeoDataFrame:
    rows = [{"county": c, "site_id": s, "stream": stream, "tier": "township_station", "load_t": w,
             "capacity_t": 5000.0, "parent_id": "P" + c, "geometry": Point(x, LAT)}
            for c, s, x, w in STATIONS]
    rows += [{"county": "A", "site_id": "PA", "stream": stream, "tier": "county_center",
              "load_t": 300.0, "capacity_t": 1e6, "parent_id": None, "geometry": Point(CENTRE_A, LAT)},
             {"county": "B", "site_id": "PB", "stream": stream, "tier": "county_center",
              "load_t": 50.0, "capacity_t": cap_b, "parent_id": None, "geometry": Point(CENTRE_B, LAT)}]
    return gpd.GeoDataFrame(rows, crs="EPSG:4326")


def test_station_near_the_border_moves_to_the_neighbouring_centre():
    """With no fixed cost, T2 (A, 7 km from B's centre) goes to B; saving is rate·w·Δd."""
    rate, circ = 1.0, 1.3
    res = regional_tier3(_sites(), {"straw": Tier3Params(rate_cny_per_tkm=rate)}, circuity=circ,
                         time_limit_s=10)
    links = res.links.set_index("from_id")
    assert links.loc["T1", "to_id"] == "PA" and links.loc["T3", "to_id"] == "PB"
    assert links.loc["T2", "to_id"] == "PB" and links.loc["T2", "to_county"] == "B"
    assert bool(links.loc["T2", "cross_county"]) and links.loc["T2", "county_to_id"] == "PA"
    s = res.summary.iloc[0]
    assert s["cross_county_links"] == 1 and s["n_centres_region"] == 2
    expect = rate * 200.0 * circ * (_km(114.48, CENTRE_A) - _km(114.48, CENTRE_B))
    assert s["saving_cny"] == pytest.approx(expect, rel=2e-3)
    base = rate * circ * (100 * _km(114.10, CENTRE_A) + 200 * _km(114.48, CENTRE_A)
                          + 50 * _km(114.60, CENTRE_B))
    assert s["cost_county_cny"] == pytest.approx(base, rel=2e-3)
    assert links.loc["T2", "dist_m"] == pytest.approx(circ * 1000 * _km(114.48, CENTRE_B), rel=2e-3)


def test_high_fixed_cost_closes_a_centre_for_the_whole_region():
    """When a centre costs more than the extra haulage, one centre serves both counties."""
    res = regional_tier3(_sites(), {"straw": Tier3Params(rate_cny_per_tkm=1.0,
                                                         fixed_cost_cny=1e6)}, time_limit_s=10)
    s = res.summary.iloc[0]
    assert s["n_centres_county"] == 2 and s["n_centres_region"] == 1
    assert len(res.centres) == 1 and res.centres["load_t"].iloc[0] == pytest.approx(350.0)
    assert s["saving_cny"] > 1e6 - 350 * 1.3 * 60  # one fixed cost saved, minus at most 350 t x ~60 km
    assert s["status"] == "optimal"


def test_capacity_keeps_the_border_station_at_home():
    """If B's centre cannot take T2's 200 t on top of T3's 50 t, T2 stays with A's centre."""
    res = regional_tier3(_sites(cap_b=100.0), {"straw": Tier3Params(rate_cny_per_tkm=1.0)},
                         time_limit_s=10)
    links = res.links.set_index("from_id")
    assert links.loc["T2", "to_id"] == "PA"
    assert res.summary.iloc[0]["cross_county_links"] == 0
    assert res.summary.iloc[0]["saving_cny"] == pytest.approx(0.0, abs=1e-6)


def test_streams_are_sited_separately_and_missing_columns_are_reported():
    """Each stream has its own row; a sites layer without load_t is an InputError."""
    both = gpd.GeoDataFrame(
        np.concatenate([_sites().to_numpy(), _sites(stream="film").to_numpy()]),
        columns=_sites().columns, geometry="geometry", crs="EPSG:4326")
    params = {"straw": Tier3Params(1.0), "film": Tier3Params(2.0)}
    res = regional_tier3(both, params, time_limit_s=10)
    assert sorted(res.summary["stream"]) == ["film", "straw"]
    film = res.summary.set_index("stream").loc["film"]
    straw = res.summary.set_index("stream").loc["straw"]
    assert film["saving_cny"] == pytest.approx(2 * straw["saving_cny"], rel=1e-6)
    with pytest.raises(InputError, match="load_t"):
        regional_tier3(_sites().drop(columns="load_t"), params)


def test_merge_region_runs_tier3_on_the_merged_sites(tmp_path):
    """merge_region(tier3=f) calls f with every county's sites (tagged by county) and writes
    the tier3 layers, region_tier3.csv and the links on the region map."""
    import pandas as pd
    import pyogrio
    from shapely.geometry import box

    from netplan.batch.merge import merge_region
    from netplan.batch.runner import CountyResult
    from netplan.export import write_csv, write_gpkg

    allsites = _sites()
    results = []
    for name, x0 in (("A", 114.0), ("B", 114.5)):
        run = tmp_path / "out" / "counties" / name
        run.mkdir(parents=True)
        own = allsites[allsites["county"] == name].drop(columns="county")
        write_gpkg(run / "plan.gpkg", {
            "sites": own, "boundary": gpd.GeoDataFrame(
                {"name": [name]}, geometry=[box(x0, LAT - 0.2, x0 + 0.5, LAT + 0.2)], crs="EPSG:4326")})
        write_csv(run / "kpis.csv", pd.DataFrame(
            [("straw", "village_coverage", 0.9, 0.82, True, "fraction", "覆盖率")],
            columns=["stream", "indicator", "value", "target", "met", "unit", "label_zh"]))
        results.append(CountyResult(name, "done", run, "h"))
    seen = []

    def t3(sites):
        seen.append(sites)
        return regional_tier3(sites, {"straw": Tier3Params(1.0)}, time_limit_s=10)

    out = merge_region(tmp_path / "out", results, tier3=t3, title="t")
    assert sorted(seen[0]["county"].unique()) == ["A", "B"] and len(seen[0]) == len(allsites)
    assert {"tier3_links", "tier3_centres"} <= set(pyogrio.list_layers(out.gpkg)[:, 0])
    t = pd.read_csv(tmp_path / "out" / "region_tier3.csv", encoding="utf-8-sig")
    assert t.loc[0, "cross_county_links"] == 1
    html = out.index_html.read_text(encoding="utf-8")
    assert "A T2 → B PB" in html  # the cross-county link's tooltip


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.floats(114.0, 115.0), st.floats(31.8, 32.2), st.floats(1.0, 500.0),
                          st.integers(0, 2)), min_size=1, max_size=6),
       st.lists(st.tuples(st.floats(114.0, 115.0), st.floats(31.8, 32.2)), min_size=3, max_size=3),
       st.floats(0.0, 1e5))
def test_region_plan_never_costs_more_than_the_county_plans(stations, centres, fixed):
    """The county plans' assignment is feasible for the region model, so the region's cost is
    at most theirs; every station is assigned to an open centre."""
    rows = [{"county": f"C{c}", "site_id": f"T{i}", "stream": "film", "tier": "township_station",
             "load_t": w, "capacity_t": 1e4, "parent_id": f"P{c}", "geometry": Point(x, y)}
            for i, (x, y, w, c) in enumerate(stations)]
    rows += [{"county": f"C{c}", "site_id": f"P{c}", "stream": "film", "tier": "county_center",
              "load_t": 0.0, "capacity_t": 1e4, "parent_id": None, "geometry": Point(x, y)}
             for c, (x, y) in enumerate(centres)]
    sites = gpd.GeoDataFrame(rows, crs="EPSG:4326")
    res = regional_tier3(sites, {"film": Tier3Params(2.5, fixed_cost_cny=fixed)}, time_limit_s=10)
    s = res.summary.iloc[0]
    assert s["cost_region_cny"] <= s["cost_county_cny"] * (1 + 1e-6) + 1e-6
    assert len(res.links) == len(stations) and res.links["to_id"].notna().all()
    assert set(res.links["to_id"]) == set(res.centres["site_id"])
    assert res.centres["load_t"].sum() == pytest.approx(sum(w for _, _, w, _ in stations), abs=0.01)
