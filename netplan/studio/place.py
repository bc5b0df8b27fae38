"""A site placed at a clicked or dragged point: snapped to the county's road network
(:meth:`netplan.roads.RoadNetwork.snap`, the nearest edge a truck may use on the main network,
within the scenario's ``roads.max_snap_m``) and added to the studio's candidates with its road
distances to every demand and candidate. ``prep`` is a :class:`netplan.studio.model.Prepared`;
this module also holds the snapshot (:class:`Geo`) it replaces and the studio's ChangeError.

The new site is where ``netplan evaluate`` will put it when it reads the saved layout: its lon/lat
are rounded to the 6 decimals a layout table keeps before its distances are computed, and its id
(``R<lon>_<lat>``, 5 decimals) never reads as a village or township candidate (``V…``, ``T…``), so
``netplan evaluate`` adds it as a new site at that point and computes the same road distances.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point

from netplan.siting_adapter import Matrices


class ChangeError(ValueError):
    """A change set the studio cannot apply (unknown site, bad field, point outside the county)."""


@dataclass(frozen=True)
class Geo:
    """The places a site can be and the road distances among them, as one immutable snapshot: a site
    placed on the road network makes a new snapshot with one more candidate (rows are only ever
    appended, so a table valid for an older snapshot is valid for the newer ones)."""

    cands: gpd.GeoDataFrame
    mats: Matrices
    site_frame: pd.DataFrame
    cands_m: np.ndarray       # candidate x, y in the county's metric CRS (m)


def make_geo(cands: gpd.GeoDataFrame, mats: Matrices, metric_crs: Any) -> Geo:
    """A snapshot of candidates and matrices (``mats.sites`` is ``cands``)."""
    metric = cands.to_crs(metric_crs)
    xy = np.column_stack([metric.geometry.x.to_numpy(), metric.geometry.y.to_numpy()])
    return Geo(cands=cands, mats=mats, site_frame=mats.site_site_frame(), cands_m=xy)

#: an existing candidate within this distance of the snapped point is used instead of a new site (m)
REUSE_M = 1.0
#: how far outside the county boundary a point may be (m), as for layout tables
OUTSIDE_M = 250.0


def _point(prep: Any, lon: Any, lat: Any) -> tuple[float, float, float, float]:
    """(lon, lat, x, y): the point checked to be a WGS-84 point inside the county."""
    from netplan.inputs.crs import transformer

    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        raise ChangeError("lon and lat must be numbers (WGS-84 degrees)") from None
    if not (np.isfinite(x) and np.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90):
        raise ChangeError(f"({lon}, {lat}) is not a WGS-84 point")
    mx, my = transformer("EPSG:4326", prep.county.metric_crs).transform(x, y)
    if prep.boundary_m.distance(Point(mx, my)) > OUTSIDE_M:
        raise ChangeError(f"the point ({x:.5f}, {y:.5f}) is outside the county")
    return x, y, mx, my


def road_point(prep: Any, lon: Any, lat: Any) -> tuple[float, float]:
    """The nearest point on the road network (WGS-84, 6 decimals) to a point inside the county.

    Raises
    ------
    ChangeError
        Outside the county, no road within ``max_snap_m``, or the nearest road is cut off from the
        county's main network.
    """
    x, y, _, _ = _point(prep, lon, lat)
    net = prep.mats.net
    if getattr(net, "is_crow_fly", False):  # no road graph: straight-line distances from the point
        return round(x, 6), round(y, 6)
    rep = net.snap(np.array([[x, y]]), max_snap_m=prep.scenario.max_snap_m)
    if rep.edge[0] < 0:
        raise ChangeError(f"no road within {prep.scenario.max_snap_m:.0f} m of ({x:.5f}, {y:.5f})")
    if not rep.ok[0]:
        raise ChangeError(f"the road nearest to ({x:.5f}, {y:.5f}) is cut off from the county's network")
    ll = net.graph.to_lonlat(rep.snapped_xy[:1])[0]
    return round(float(ll[0]), 6), round(float(ll[1]), 6)


def place_on_road(prep: Any, lon: Any, lat: Any) -> str:
    """The id of the site at the road point nearest to (lon, lat): an existing candidate within
    :data:`REUSE_M`, else a new candidate (kind ``layout``, status ``new``) added to ``prep``."""
    from netplan.inputs.crs import transformer

    rlon, rlat = road_point(prep, lon, lat)
    mx, my = transformer("EPSG:4326", prep.county.metric_crs).transform(rlon, rlat)
    with prep.lock:
        g = prep.geo
        d = np.hypot(g.cands_m[:, 0] - mx, g.cands_m[:, 1] - my)
        if len(d) and float(d.min()) <= REUSE_M:
            return str(g.cands["site_id"].iloc[int(np.argmin(d))])
        sid = f"R{rlon:.5f}_{rlat:.5f}"
        if sid in set(g.cands["site_id"].astype(str)):
            return sid
        prep.geo = extend(prep, g, sid, rlon, rlat)
    return sid


def _township(prep: Any, pt: Point) -> str:
    t = prep.county.townships
    hit = t[t.geometry.contains(pt)]
    return str(hit["township_code"].iloc[0]) if len(hit) else ""


def extend(prep: Any, g: Geo, sid: str, lon: float, lat: float) -> Geo:
    """A new snapshot: ``g`` plus a candidate ``sid`` at (lon, lat) with its road distances (m) to
    and from every demand and candidate, and its travel times for the vehicles already computed."""
    net, sc = g.mats.net, prep.scenario
    pt = Point(lon, lat)
    row = gpd.GeoDataFrame({
        "site_id": [sid], "name": ["道路点 road point"], "kind": ["layout"],
        "township_code": [_township(prep, pt)], "status": ["new"], "streams": [""], "tiers": [""],
        "capacity_t": [np.nan]}, geometry=[pt], crs=g.cands.crs)
    cands = gpd.GeoDataFrame(pd.concat([g.cands, row], ignore_index=True), geometry="geometry",
                             crs=g.cands.crs)
    one = row.geometry
    col = net.distance_matrix(g.mats.demands.geometry, one, weight="length", max_snap_m=sc.max_snap_m)
    d_out = net.distance_matrix(one, cands.geometry, weight="length", max_snap_m=sc.max_snap_m)
    d_in = net.distance_matrix(g.cands.geometry, one, weight="length", max_snap_m=sc.max_snap_m)
    ss = np.block([[g.mats.site_site_m, np.asarray(d_in, dtype=float)],
                   [np.asarray(d_out, dtype=float)]])
    times = {}
    for v, t in g.mats._times.items():
        t_out = net.distance_matrix(one, cands.geometry, weight="time", vehicle=v)
        t_in = net.distance_matrix(g.cands.geometry, one, weight="time", vehicle=v)
        times[v] = np.block([[t, np.asarray(t_in, dtype=float)], [np.asarray(t_out, dtype=float)]])
    mats = Matrices(net=net, demands=g.mats.demands, sites=cands,
                    dem_site_m=np.hstack([g.mats.dem_site_m, np.asarray(col, dtype=float)]),
                    site_site_m=ss, _times=times)
    return make_geo(cands, mats, prep.county.metric_crs)
