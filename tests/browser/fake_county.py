"""A tiny hand-made county plan with the plan.gpkg columns of docs/outputs.md (map tests).

Two townships side by side (west T1, east T2) near Pingyu, Henan; a 4 x 3 grid of villages;
two streams (straw, film). Straw: village points V01, V06, V11, stations T1/T2, centre S1.
Film: one point V02 for T1 only, station T1, centre S1 -- so T2's villages are not covered.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString, Point, Polygon, box

W, S, E, N = 114.55, 32.85, 114.75, 32.97
MID = (W + E) / 2
STREAMS = ["straw", "film"]
STREAM_LABELS = {"straw": "秸秆 Straw", "film": "农膜 Film"}
TIER_LABELS = {
    "straw": {"village_point": "村级收储点", "township_station": "乡镇收储中心",
              "county_center": "县级利用中心"},
    "film": {"village_point": "村级回收点", "township_station": "乡镇回收站",
             "county_center": "县级处理中心"},
}


def _villages() -> gpd.GeoDataFrame:
    rows = []
    k = 0
    for j, lat in enumerate(np.linspace(S + 0.02, N - 0.02, 3)):
        for i, lon in enumerate(np.linspace(W + 0.02, E - 0.02, 4)):
            k += 1
            vid = f"V{k:02d}"
            t1 = lon < MID
            rows.append({
                "village_id": vid, "name": f"测试{k}村", "township_code": "411723101" if t1
                else "411723102", "township": "东和店镇" if t1 else "庙湾镇",
                "population": 1000 + 100 * k, "straw_t_yr": 300.0 + 10 * k,
                "film_t_yr": 2.0 + 0.1 * k, "geometry": Point(lon, lat), "_i": i, "_j": j,
            })
    v = gpd.GeoDataFrame(rows, crs=4326)
    # straw: points V01 (serves west col 0-1, rows 0-1), V06, V11; V09, V12 uncovered
    straw_pt = {"V01": "V01", "V02": "V01", "V05": "V06", "V06": "V06", "V03": "V11",
                "V04": "V11", "V07": "V11", "V08": "V11", "V10": "V06", "V11": "V11"}
    film_pt = {"V01": "V02", "V02": "V02", "V05": "V02", "V06": "V02"}
    for s, pts in (("straw", straw_pt), ("film", film_pt)):
        v[f"{s}_point_id"] = v["village_id"].map(pts)
        v[f"{s}_covered"] = v[f"{s}_point_id"].notna()
        v[f"{s}_dist_m"] = np.where(v[f"{s}_covered"], 1500.0, np.nan)
    return v.drop(columns=["_i", "_j"])


def fake_plan() -> tuple[dict[str, gpd.GeoDataFrame], pd.DataFrame, dict[str, gpd.GeoDataFrame]]:
    """(layers, kpis, service_areas) of the tiny county."""
    villages = _villages()
    vxy = {r.village_id: r.geometry for r in villages.itertuples()}
    boundary = gpd.GeoDataFrame({"name": ["平舆县(测试)"]}, geometry=[box(W, S, E, N)], crs=4326)
    townships = gpd.GeoDataFrame(
        {"township_code": ["411723101", "411723102"], "name": ["东和店镇", "庙湾镇"]},
        geometry=[box(W, S, MID, N), box(MID, S, E, N)], crs=4326)
    t1, t2, centre = Point(W + 0.05, S + 0.06), Point(E - 0.05, S + 0.06), Point(MID, N - 0.01)
    srows = []

    def site(sid, stream, tier, name, geom, load, cap, parent, status="new", kind="village"):
        srows.append({"site_id": sid, "stream": stream, "tier": tier, "name": name,
                      "tier_name": TIER_LABELS[stream][tier], "kind": kind,
                      "township_code": "411723101" if geom.x < MID else "411723102",
                      "status": status, "load_t": load, "capacity_t": cap,
                      "utilisation": load / cap, "parent_id": parent, "geometry": geom})

    for vid, par in (("V01", "T1"), ("V06", "T1"), ("V11", "T2")):
        site(vid, "straw", "village_point", f"{vid}收储点", vxy[vid], 1200.0, 3000.0, par)
    site("T1", "straw", "township_station", "东和店镇收储中心", t1, 1900.0, 60000.0, "S1",
         kind="township_seat")
    site("T2", "straw", "township_station", "庙湾镇收储中心", t2, 1500.0, 1200.0, "S1",
         kind="township_seat")  # over capacity on purpose
    site("S1", "straw", "county_center", "平舆生物质电厂", centre, 3400.0, 400000.0, None,
         status="existing", kind="biomass_plant")
    site("V02", "film", "village_point", "V02回收点", vxy["V02"], 10.0, 50.0, "T1")
    site("T1", "film", "township_station", "东和店镇回收站", t1, 10.0, 500.0, "S1",
         kind="township_seat")
    site("S1", "film", "county_center", "县农膜处理中心", centre, 10.0, 5000.0, None,
         status="existing", kind="sorting_centre")
    sites = gpd.GeoDataFrame(srows, crs=4326)

    arows = []
    for s in STREAMS:
        for r in villages[villages[f"{s}_covered"]].itertuples():
            pid = getattr(r, f"{s}_point_id")
            arows.append({"stream": s, "from_id": r.village_id, "from_tier": "village",
                          "to_id": pid, "to_tier": "village_point", "mass_t": 300.0,
                          "dist_m": 1500.0, "geometry": LineString([r.geometry, vxy[pid]])})
        for r in sites[(sites.stream == s) & (sites.tier != "county_center")].itertuples():
            par = sites[(sites.stream == s) & (sites.site_id == r.parent_id)].geometry.iloc[0]
            arows.append({"stream": s, "from_id": r.site_id, "from_tier": r.tier,
                          "to_id": r.parent_id, "to_tier": "x", "mass_t": r.load_t,
                          "dist_m": 9000.0, "geometry": LineString([r.geometry, par])})
    assignments = gpd.GeoDataFrame(arows, crs=4326)

    def route(s, rid, kind, st, stops, geoms, veh):
        return {"stream": s, "route_id": rid, "kind": kind, "station_id": st, "vehicle": veh,
                "stops": ";".join(stops), "n_stops": len(stops), "distance_m": 21000.0,
                "duration_s": 3600.0, "load_t": 8.0, "trips_per_year": 12, "crow_fly": False,
                "geometry": LineString(geoms)}

    routes = gpd.GeoDataFrame([
        route("straw", "straw-T1-1", "collection", "T1", ["V01", "V06"],
              [t1, vxy["V01"], Point(vxy["V06"].x, vxy["V01"].y), vxy["V06"], t1], "tractor"),
        route("straw", "straw-T2-1", "collection", "T2", ["V11"], [t2, vxy["V11"], t2],
              "tractor"),
        route("straw", "straw-T1-H", "haulage", "T1", ["S1"], [t1, centre], "flatbed"),
        route("film", "film-T1-1", "collection", "T1", ["V02"], [t1, vxy["V02"], t1],
              "light_truck"),
    ], crs=4326)

    kpis = pd.DataFrame([
        ("straw", "village_coverage", 10 / 12, 0.82, True, "fraction", "秸秆收储运体系覆盖率"),
        ("straw", "utilisation_rate", 0.91, 0.93, False, "fraction", "秸秆综合利用率"),
        ("straw", "transport_cost", 123456.0, None, None, "CNY/yr", "运输成本"),
        ("film", "village_coverage", 4 / 12, 1.0, False, "fraction", "农膜回收网络村覆盖率"),
        ("film", "recovery_rate", 0.97, 0.96, True, "fraction", "农膜回收率"),
        ("all", "total_cost", 2.5e6, None, None, "CNY/yr", "年化总成本"),
    ], columns=["stream", "indicator", "value", "target", "met", "unit", "label_zh"])

    # hand-drawn irregular "isochrones" (the road engine's output in real runs)
    def blob(p, r):
        ang = np.linspace(0, 2 * np.pi, 9)[:-1]
        rad = r * (1 + 0.35 * np.sin(3 * ang))
        return Polygon(np.column_stack([p.x + rad * np.cos(ang), p.y + 0.8 * rad * np.sin(ang)]))

    pts = sites[(sites.stream == "straw") & (sites.tier == "village_point")]
    areas = gpd.GeoDataFrame({"site_id": pts.site_id.to_numpy(), "limit_m": 3000.0},
                             geometry=[blob(p, 0.03) for p in pts.geometry], crs=4326)
    layers = {"villages": villages, "sites": sites, "assignments": assignments, "routes": routes,
              "boundary": boundary, "townships": townships,
              "farms": gpd.GeoDataFrame(columns=["farm_id", "geometry"], geometry="geometry",
                                        crs=4326)}
    return layers, kpis, {"straw": areas}


def big_plan(n_villages: int, seed: int = 0) -> tuple[dict[str, gpd.GeoDataFrame], pd.DataFrame]:
    """A plan with ``n_villages`` random villages (for size/responsiveness checks)."""
    layers, kpis, _ = fake_plan()
    rng = np.random.default_rng(seed)
    lon = rng.uniform(W, E, n_villages)
    lat = rng.uniform(S, N, n_villages)
    cov = rng.random(n_villages) < 0.8
    villages = gpd.GeoDataFrame({
        "village_id": [f"V{i:05d}" for i in range(n_villages)],
        "name": [f"村{i}" for i in range(n_villages)],
        "township_code": np.where(lon < MID, "411723101", "411723102"),
        "township": np.where(lon < MID, "东和店镇", "庙湾镇"),
        "population": rng.integers(300, 3000, n_villages),
        "straw_t_yr": rng.uniform(50, 800, n_villages),
        "straw_point_id": np.where(cov, "V01", None),
        "straw_dist_m": np.where(cov, 1200.0, np.nan),
        "straw_covered": cov,
        "film_t_yr": rng.uniform(0.5, 5, n_villages),
        "film_point_id": None, "film_dist_m": np.nan, "film_covered": False,
    }, geometry=gpd.points_from_xy(lon, lat), crs=4326)
    layers = {**layers, "villages": villages}
    return layers, kpis
