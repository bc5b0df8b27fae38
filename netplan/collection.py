"""Geo adapter for the routing core: collection rounds from each open township station over its
village points, and haulage trips station → county centre, with road geometry for the maps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from netplan.evaluate import Evaluation
from netplan.layout import Layout
from netplan.scenario import Scenario

ROUTE_COLUMNS = ["stream", "route_id", "kind", "station_id", "vehicle", "stops", "n_stops",
                 "distance_m", "duration_s", "load_t", "trips_per_round", "rounds_per_year", "trips_per_year",
                 "fleet_peak", "crow_fly"]


def _point_rounds(coverage: pd.DataFrame, stream: str, default: float) -> pd.Series:
    """Collection rounds per year of each village point: the most frequent of the covered villages
    it takes (evaluate's per-village ``rounds_per_year``), else the stream's ``default``."""
    if not len(coverage) or "rounds_per_year" not in coverage:
        return pd.Series(dtype=float)
    c = coverage[(coverage["stream"] == stream) & coverage["covered"].astype(bool) & coverage["point_id"].notna()]
    return c.groupby("point_id")["rounds_per_year"].max().fillna(default)


def _empty_routes() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns=[*ROUTE_COLUMNS, "geometry"], geometry="geometry", crs="EPSG:4326")


def plan_routes(scenario: Scenario, layout: Layout, ev: Evaluation, cands: gpd.GeoDataFrame,
                site_site_m: np.ndarray, site_site_s: Callable[[str], np.ndarray], net: Any,
                *, progress: Callable[[str], None] | None = None) -> gpd.GeoDataFrame:
    """Collection rounds and haulage for every stream of ``layout``.

    Parameters
    ----------
    site_site_m
        Road distances among all candidates (m), rows/columns in ``cands`` order.
    site_site_s
        Function vehicle name → travel times among all candidates (s).
    net
        The road network, for route geometry (``net.route_line``).
    """
    from netplan.routing import load_vehicles, plan_haulage, plan_rounds

    vehicles = load_vehicles()
    pos = {sid: i for i, sid in enumerate(cands["site_id"])}
    loads = ev.site_loads.set_index(["site_id", "stream", "tier"])["load_t"] if len(ev.site_loads) else None
    rows: list[dict[str, Any]] = []
    crow = bool(getattr(net, "is_crow_fly", False))
    for sid, sp in scenario.streams.items():
        s = layout.sites[layout.sites["stream"] == sid]
        if s.empty or loads is None:
            continue
        veh = vehicles[sp.collection_vehicle]
        haul = vehicles[sp.haul_vehicle]
        t_mat = site_site_s(sp.collection_vehicle)
        stations = s[s["tier"] == "township_station"]
        points = s[s["tier"] == "village_point"]
        rhythm = _point_rounds(ev.coverage, sid, sp.rounds_per_year)
        for st in stations.itertuples(index=False):
            pts = points[points["parent_id"] == st.site_id]
            pts = pts[[float(loads.get((p, sid, "village_point"), 0.0)) > 0 for p in pts["site_id"]]]
            if pts.empty:  # no loaded point (pts[[]] would select no columns)
                continue
            n_routes = 0
            # one round per collection rhythm: the points visited every day, every other day, ...
            for rounds, grp in pts.groupby(pts["site_id"].map(rhythm).fillna(sp.rounds_per_year),
                                           sort=False):
                idx = [pos[st.site_id], *[pos[p] for p in grp["site_id"]]]
                per_round = np.array([float(loads[(p, sid, "village_point")]) / rounds
                                      for p in grp["site_id"]])
                plan = plan_rounds(per_round, site_site_m[np.ix_(idx, idx)], t_mat[np.ix_(idx, idx)], [veh],
                                   workday_s=scenario.workday_h * 3600, rounds_per_year=float(rounds),
                                   stream=sid, peak_days=sp.peak_days, peak_share=sp.peak_share,
                                   time_limit_s=scenario.routing_time_limit_s, seed=scenario.seed)
                fleet = ";".join(f"{k}:{v}" for k, v in sorted(plan.fleet_peak.items()))
                for trip, count in plan.trip_groups():
                    n_routes += 1
                    stop_ids = [grp["site_id"].iloc[i - 1] for i in trip.stops]
                    line = net.route_line([cands.geometry.iloc[pos[x]] for x in
                                           [st.site_id, *stop_ids, st.site_id]])
                    rows.append({"stream": sid, "route_id": f"{sid}-{st.site_id}-{n_routes:02d}",
                                 "kind": "collection", "station_id": st.site_id, "vehicle": trip.vehicle,
                                 "stops": ";".join(stop_ids), "n_stops": len(stop_ids),
                                 "distance_m": round(float(trip.distance_m), 1),
                                 "duration_s": round(float(trip.duration_s), 1),
                                 "load_t": round(float(trip.load_t), 4),
                                 "trips_per_round": int(count), "rounds_per_year": float(rounds),
                                 "trips_per_year": float(rounds * count),
                                 "fleet_peak": fleet, "crow_fly": crow, "geometry": line})
        # haulage: station -> centre, full truckloads
        centres = s[s["tier"] == "county_center"]
        for st in stations.itertuples(index=False):
            if not isinstance(st.parent_id, str) or st.parent_id not in set(centres["site_id"]):
                continue
            load = float(loads.get((st.site_id, sid, "township_station"), 0.0))
            if load <= 0:
                continue
            a, b = pos[st.site_id], pos[st.parent_id]
            h = plan_haulage(np.array([load]), np.array([site_site_m[a, b]]),
                             np.array([site_site_s(sp.haul_vehicle)[a, b]]), haul,
                             workday_s=scenario.workday_h * 3600)
            line = net.route_line([cands.geometry.iloc[a], cands.geometry.iloc[b]])
            rows.append({"stream": sid, "route_id": f"{sid}-{st.site_id}-H", "kind": "haulage",
                         "station_id": st.site_id, "vehicle": haul.name, "stops": st.parent_id,
                         "n_stops": 1, "distance_m": round(float(site_site_m[a, b]) * 2, 1),
                         "duration_s": round(float(h.trip_duration_s[0]), 1),
                         "load_t": round(float(h.load_per_trip_t[0]), 4), "trips_per_round": 1,
                         "rounds_per_year": np.nan,
                         "trips_per_year": float(h.trips[0]), "fleet_peak": "", "crow_fly": crow, "geometry": line})
        if progress:
            progress(f"routes for {sid}: {sum(1 for r in rows if r['stream'] == sid)}")
    if not rows:
        return _empty_routes()
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs="EPSG:4326")
