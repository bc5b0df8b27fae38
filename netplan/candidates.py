"""Candidate sites of every tier: village centres, township seats and the county's existing sites."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point

from netplan.model import County
from netplan.scenario import TierParams

#: kinds that are locations rather than existing facilities: they accept every stream
OPEN_KINDS = {"village": ("village_point",), "township_seat": ("township_station", "village_point")}


def build_candidates(county: County) -> gpd.GeoDataFrame:
    """One row per physical candidate site (EPSG:4326).

    Columns: site_id, name, kind, township_code, status ("new"/"existing"), streams (";"-list or "*"),
    tiers (";"-list), capacity_t (t/yr, NaN = take the scenario's), geometry. Village centres get ids
    ``V<village_id>``, township seats ``T<township_code>``; existing sites keep their ids.
    """
    v = county.villages
    rows = pd.DataFrame({
        "site_id": "V" + v["village_id"].astype(str),
        "name": v["name"].astype(str),
        "kind": "village",
        "township_code": v["township_code"].astype(str),
        "status": "new",
        "streams": "*",
        "tiers": "village_point",
        "capacity_t": np.nan,
    })
    geoms = list(v.geometry)
    t = county.townships
    seats = t[np.isfinite(pd.to_numeric(t["seat_lon"], errors="coerce"))]
    rows_t = pd.DataFrame({
        "site_id": "T" + seats["township_code"].astype(str),
        "name": seats["name"].astype(str) + "驻地",
        "kind": "township_seat",
        "township_code": seats["township_code"].astype(str),
        "status": "new",
        "streams": "*",
        "tiers": "township_station;village_point;county_center",
        "capacity_t": np.nan,
    })
    geoms += [Point(float(x), float(y)) for x, y in zip(seats["seat_lon"], seats["seat_lat"], strict=True)]
    parts = [rows, rows_t]
    s = county.sites
    if len(s):
        rows_s = pd.DataFrame({
            "site_id": s["site_id"].astype(str),
            "name": s["name"].astype(str),
            "kind": s["kind"].astype(str),
            "township_code": s["township_code"].astype(str),
            "status": s.get("status", pd.Series("existing", index=s.index)).fillna("existing").astype(str),
            "streams": s["streams"].fillna("*").astype(str),
            "tiers": s["tiers"].fillna("").astype(str),
            "capacity_t": pd.to_numeric(s.get("capacity_t"), errors="coerce"),
        })
        parts.append(rows_s)
        geoms += list(s.geometry)
    out = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry=geoms, crs="EPSG:4326")


def candidate_mask(cands: gpd.GeoDataFrame, stream: str, tier: str, params: TierParams) -> np.ndarray:
    """Which candidates may serve ``stream`` at ``tier``: kind listed in the scenario, and (for existing
    facilities) the stream and tier listed in sites.csv."""
    kind_ok = cands["kind"].isin(params.candidates).to_numpy()
    streams = cands["streams"].astype(str)
    stream_ok = (streams == "*") | streams.str.split(";").apply(lambda xs: stream in xs)
    tiers = cands["tiers"].astype(str).str.split(";")
    tier_ok = tiers.apply(lambda xs: tier in xs) | (cands["tiers"].astype(str) == "")
    return kind_ok & stream_ok.to_numpy() & tier_ok.to_numpy()
