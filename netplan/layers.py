"""Turn a plan's tables into the output layers of docs/outputs.md (villages, farms, sites,
assignments, routes, boundary, townships)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString

from netplan.evaluate import Evaluation
from netplan.layout import Layout
from netplan.model import County
from netplan.streams import load_streams
from netplan.supply import Supply

CRS = "EPSG:4326"


def _wide(ev: Evaluation, supply: Supply, kind: str, streams: tuple[str, ...]) -> pd.DataFrame:
    dem = supply.demands[supply.demands["kind"] == kind]
    out = pd.DataFrame(index=dem["demand_id"].to_numpy())
    for s in streams:
        c = ev.coverage[ev.coverage["stream"] == s].set_index("demand_id")
        out[f"{s}_t_yr"] = dem[f"{s}_t_yr"].to_numpy()
        for extra in ("total", "used_onsite", "used_offsite"):   # the indicator tonnages (docs/indicators.md)
            if f"{s}_{extra}_t_yr" in dem:
                out[f"{s}_{extra}_t_yr"] = dem[f"{s}_{extra}_t_yr"].to_numpy()
        out[f"{s}_point_id"] = c["point_id"].reindex(out.index)
        out[f"{s}_dist_m"] = c["dist_m"].reindex(out.index).round(1)
        out[f"{s}_covered"] = c["covered"].reindex(out.index).fillna(False).astype(bool)
        if "rounds_per_year" in c:   # the collection rhythm the scenario gives the village
            out[f"{s}_rounds_per_year"] = c["rounds_per_year"].reindex(out.index)
    return out


def build_layers(county: County, supply: Supply, layout: Layout, ev: Evaluation,
                 cands: gpd.GeoDataFrame, routes: gpd.GeoDataFrame,
                 streams: tuple[str, ...]) -> dict[str, gpd.GeoDataFrame]:
    """The plan.gpkg layers, all in EPSG:4326."""
    meta = load_streams()
    town_names = dict(zip(county.townships["township_code"].astype(str),
                          county.townships["name"].astype(str), strict=True))
    v = county.villages
    wide_v = _wide(ev, supply, "village", streams)
    villages = gpd.GeoDataFrame({
        "village_id": v["village_id"].astype(str).to_numpy(),
        "name": v["name"].astype(str).to_numpy(),
        "township_code": v["township_code"].astype(str).to_numpy(),
        "township": v["township_code"].astype(str).map(town_names).to_numpy(),
        "population": pd.to_numeric(v["population"], errors="coerce").fillna(0).astype(int).to_numpy(),
    }, geometry=list(v.geometry), crs=CRS)
    for c in wide_v.columns:
        villages[c] = wide_v[c].reindex(villages["village_id"]).to_numpy()

    f = county.farms
    farms = gpd.GeoDataFrame({
        "farm_id": f["farm_id"].astype(str).to_numpy() if len(f) else [],
        "name": f["name"].astype(str).to_numpy() if len(f) else [],
        "village_id": f["village_id"].astype(str).to_numpy() if len(f) else [],
        "township_code": f["township_code"].astype(str).to_numpy() if len(f) else [],
        "species": f["species"].astype(str).to_numpy() if len(f) else [],
        "stock_head": pd.to_numeric(f["stock_head"], errors="coerce").fillna(0).astype(int).to_numpy()
        if len(f) else [],
    }, geometry=list(f.geometry) if len(f) else [], crs=CRS)
    farm_streams = tuple(s for s in streams if "farms" in meta[s].demand_sources)
    if farm_streams and len(f):
        wide_f = _wide(ev, supply, "farm", farm_streams)
        for c in wide_f.columns:
            farms[c] = wide_f[c].reindex(farms["farm_id"]).to_numpy()

    cidx = cands.set_index("site_id")
    loads = ev.site_loads.set_index(["site_id", "stream", "tier"]) if len(ev.site_loads) else None
    rows = []
    for r in layout.sites.itertuples(index=False):
        c = cidx.loc[r.site_id]
        load = float(loads.loc[(r.site_id, r.stream, r.tier), "load_t"]) if loads is not None and \
            (r.site_id, r.stream, r.tier) in loads.index else 0.0
        cap = float(r.capacity_t)
        key = (r.site_id, r.stream, r.tier)
        store = {c: (float(loads.loc[key, c]) if loads is not None and c in loads.columns
                     and key in loads.index else np.nan) for c in ("storage_t", "storage_m3", "yard_mu")}
        rows.append({
            "site_id": r.site_id, "stream": r.stream, "tier": r.tier, "name": c["name"],
            "tier_name": meta[r.stream].tier_names_zh.get(r.tier, r.tier), "kind": c["kind"],
            "township_code": c["township_code"], "status": r.status, "load_t": round(load, 3),
            "capacity_t": cap, "utilisation": round(load / cap, 4) if cap > 0 else np.nan,
            "load_t_day": round(load / 365.0, 3), "capacity_t_day": round(cap / 365.0, 3),  # mean day
            "parent_id": r.parent_id, **store, "geometry": c.geometry,
        })
    sites = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS) if rows else gpd.GeoDataFrame(
        columns=["site_id", "stream", "tier", "geometry"], geometry="geometry", crs=CRS)

    # assignments: demand -> point, point -> station, station -> centre
    dem_geom = supply.demands.set_index("demand_id").geometry
    dem_kind = supply.demands.set_index("demand_id")["kind"]
    arows = []
    cov = ev.coverage[ev.coverage["point_id"].notna()]
    for r in cov.itertuples(index=False):
        a, b = dem_geom[r.demand_id], cidx.geometry[r.point_id]
        arows.append({"stream": r.stream, "from_id": r.demand_id, "from_tier": dem_kind[r.demand_id],
                      "to_id": r.point_id, "to_tier": "village_point", "mass_t": r.served_t_yr,
                      "dist_m": r.dist_m, "geometry": LineString([a, b])})
    lk = ev.site_loads.set_index(["site_id", "stream", "tier"])["load_t"] if len(ev.site_loads) else {}
    for r in layout.sites.itertuples(index=False):
        if isinstance(r.parent_id, str) and r.tier != "county_center":
            nxt = "township_station" if r.tier == "village_point" else "county_center"
            a, b = cidx.geometry[r.site_id], cidx.geometry[r.parent_id]
            arows.append({"stream": r.stream, "from_id": r.site_id, "from_tier": r.tier,
                          "to_id": r.parent_id, "to_tier": nxt,
                          "mass_t": float(lk.get((r.site_id, r.stream, r.tier), 0.0)),
                          "dist_m": np.nan, "geometry": LineString([a, b])})
    assignments = gpd.GeoDataFrame(arows, geometry="geometry", crs=CRS) if arows else \
        gpd.GeoDataFrame(columns=["stream", "from_id", "geometry"], geometry="geometry", crs=CRS)

    towns = county.townships.copy()
    for s in streams:
        c = ev.coverage[ev.coverage["stream"] == s].merge(
            supply.demands[["demand_id", "kind", "township_code", f"{s}_t_yr"]], on="demand_id")
        c = c[(c["kind"] == "village") & (c[f"{s}_t_yr"] > 0)]
        share = c.groupby("township_code")["covered"].mean()
        towns[f"{s}_village_coverage"] = towns["township_code"].astype(str).map(share).astype(float).round(4)
    boundary = county.boundary[["geometry"]].copy()
    boundary["name"] = county.name_zh
    boundary["adcode"] = county.adcode
    boundary["credit"] = str(county.notes.get("credit", ""))   # county.toml credit -> maps' attribution
    return {"villages": villages, "farms": farms, "sites": sites, "assignments": assignments,
            "routes": routes, "boundary": boundary, "townships": towns}
