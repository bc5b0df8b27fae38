"""Route layers: collection rounds and haulage trips, and road-network service areas."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd

from netplan.maps import style
from netplan.maps.geojson import LINE_DECIMALS, LINE_SIMPLIFY_DEG, GeoJsonLayer, feature_collection
from netplan.maps.text import esc, fmt_num, hours_of, km_of, popup_table, truthy


def routes_layers(
    routes: gpd.GeoDataFrame, streams: Sequence[str], *, crow_fly: bool = False
) -> list[GeoJsonLayer]:
    """Collection rounds (one colour per vehicle round) and haulage trips (dark, dashed)."""
    sel = routes[routes["stream"].isin(streams)]
    out = []
    for kind, name in (("collection", "收运路线 Collection routes (colour per vehicle)"),
                       ("haulage", "转运线路 Haulage trips")):
        part = sel[sel["kind"] == kind] if "kind" in sel.columns else sel.iloc[0:0]
        styles: dict[str, dict[str, Any]] = {}
        classes, popups, tips = [], [], []
        for k, r in enumerate(row._asdict() for row in part.itertuples(index=False)):
            straight = crow_fly or truthy(r.get("crow_fly"))
            colour = style.ROUTE_COLOURS[k % len(style.ROUTE_COLOURS)] if kind == "collection" \
                else style.HAUL_COLOUR
            key = f"{colour}|{int(straight)}"
            st: dict[str, Any] = {"color": colour, "weight": 3.5 if kind == "collection" else 3,
                                  "opacity": 0.9}
            if straight or kind == "haulage":
                st["dashArray"] = "8 6" if straight else "2 6"
            styles.setdefault(key, st)
            classes.append(key)
            values = [esc(r.get("vehicle")), esc(r.get("station_id")),
                      f"{esc(r.get('n_stops'))}: {esc(r.get('stops'))}",
                      fmt_num(km_of(r.get("distance_m"))) + " km",
                      fmt_num(hours_of(r.get("duration_s"))) + " h",
                      fmt_num(r.get("load_t"), 2) + " t",
                      fmt_num(r.get("trips_per_year"), 0),
                      "直线示意 straight lines (no road network)" if straight else "路网 roads"]
            popups.append((esc(r.get("route_id")), values))
            tips.append(f"{r.get('route_id')} · {r.get('vehicle')}")
        fc = feature_collection(part, classes, popups, tips, decimals=LINE_DECIMALS,
                                simplify_deg=LINE_SIMPLIFY_DEG)
        out.append(GeoJsonLayer(name, fc, styles, labels=ROUTE_ROWS))
    return out


ROUTE_ROWS = ("车辆 Vehicle", "站点 Station", "停靠 Stops", "里程 Distance", "时长 Duration",
              "每趟载重 Load per trip", "年趟数 Trips per year", "线形 Drawn along")


def service_areas_layer(
    areas: gpd.GeoDataFrame, stream: str, names: Mapping[str, str]
) -> GeoJsonLayer:
    """Road-network service areas (isochrone polygons from the road engine), one per site."""
    colour = style.stream_colour(stream)
    popups = []
    limit_cols = [c for c in areas.columns if c.startswith("limit") or c.endswith(("_m", "_s"))]
    for r in (row._asdict() for row in areas.itertuples(index=False)):
        sid = str(r.get("site_id", ""))
        rows = [(esc(c), fmt_num(r.get(c), 0)) for c in limit_cols]
        popups.append(popup_table(f"服务范围 Service area · {esc(names.get(sid, sid))}", rows))
    styles = {"area": {"color": colour, "weight": 1, "fillColor": colour, "fillOpacity": 0.12}}
    fc = feature_collection(areas, ["area"] * len(areas), popups, decimals=LINE_DECIMALS,
                            simplify_deg=LINE_SIMPLIFY_DEG)
    return GeoJsonLayer("服务范围(路网) Service areas (road network)", fc, styles)

