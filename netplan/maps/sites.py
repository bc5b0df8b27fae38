"""Site layers: open sites per tier (markers with load, capacity, utilisation) and catchment lines
from villages to village points and up the tiers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import pandas as pd

from netplan.maps import style
from netplan.maps.geojson import LINE_DECIMALS, GeoJsonLayer, feature_collection
from netplan.maps.text import esc, fmt_num, fmt_pct, km_of


def tier_icon_html(tier: str, colour: str) -> tuple[str, int]:
    """HTML and size (px) of the div icon of an upper tier (square station, diamond centre)."""
    if tier == "county_center":
        return (f'<div class="np-centre" style="background:{colour}"></div>', 22)
    return (f'<div class="np-station" style="background:{colour}"></div>', 16)


def site_style(tier: str, colour: str, status: str) -> dict[str, Any]:
    """Style entry of a site marker: village points are circles, upper tiers div icons."""
    if tier == "village_point":
        dash = "2 2" if status == "existing" else None
        st = {"radius": 6, "weight": 2, "color": "#111111", "fillColor": colour, "fillOpacity": 1}
        if dash:
            st["dashArray"] = dash
        return st
    icon, size = tier_icon_html(tier, colour)
    return {"shape": "div", "html": icon, "size": size}


def sites_layers(
    sites: gpd.GeoDataFrame,
    streams: Sequence[str],
    stream_labels: Mapping[str, str],
    tier_labels: Mapping[str, Mapping[str, str]] | None,
) -> list[GeoJsonLayer]:
    """One layer per tier: the open sites of ``streams``, popups with load/capacity/utilisation."""
    out = []
    sel = sites[sites["stream"].isin(streams)] if "stream" in sites.columns else sites
    for tier in ("village_point", "township_station", "county_center"):
        part = sel[sel["tier"] == tier] if "tier" in sel.columns else sel.iloc[0:0]
        styles: dict[str, dict[str, Any]] = {}
        classes, popups, tips = [], [], []
        for r in (row._asdict() for row in part.itertuples(index=False)):
            s = str(r.get("stream"))
            status = str(r.get("status") or "new")
            key = f"{s}|{status}"
            if key not in styles:
                styles[key] = site_style(tier, style.stream_colour(s), status)
                if styles[key].get("shape") == "div" and len(streams) > 1:
                    # co-located stations of several streams fan out sideways, 7 px apart
                    k = list(streams).index(s) if s in streams else 0
                    styles[key]["dx"] = round(7 * (k - (len(streams) - 1) / 2))
            classes.append(key)
            tl = tier_label(s, tier, tier_labels)
            util = r.get("utilisation")
            over = (util is not None and not pd.isna(util) and float(util) > 1.0)
            values = [
                esc(stream_labels.get(s, s)),
                esc(tl),
                "新建 new" if status == "new" else "现有 existing",
                esc(r.get("township_code")),
                fmt_num(r.get("load_t")) + " t/yr",
                fmt_num(r.get("capacity_t")) + " t/yr",
                fmt_pct(util) + (' <span class="np-bad">超负荷 over capacity</span>' if over
                                 else ""),
                esc(r.get("parent_id")) or "—",
            ]
            popups.append((f"{esc(r.get('name'))} ({esc(r.get('site_id'))})", values))
            tips.append(f"{tl} · {r.get('name')}")
        fc = feature_collection(part, classes, popups, tips)
        name = tier_label(streams[0], tier, tier_labels) if len(streams) == 1 else \
            f"{style.tier_name_zh(tier)} {style.tier_name_en(tier)}"
        out.append(GeoJsonLayer(name, fc, styles, labels=SITE_ROWS))
    return out


def year_layers(
    sites: gpd.GeoDataFrame,
    streams: Sequence[str],
    stream_labels: Mapping[str, str],
    tier_labels: Mapping[str, Mapping[str, str]] | None,
) -> list[GeoJsonLayer]:
    """A phased plan (sites with ``open_year``): one layer per year, "建成网络 Network <year>", with
    the sites open that year; those new that year drawn larger with a red ring. Only the last
    year's layer is shown at first; tick another in the layer control to see that year."""
    if "open_year" not in sites.columns:
        return []
    sel = sites[sites["stream"].isin(streams) & (sites["open_year"] > 0)]
    years = sorted({int(y) for y in sel["open_year"]})
    out = []
    for year in years:
        part = sel[sel["open_year"] <= year]
        styles: dict[str, dict[str, Any]] = {}
        classes, popups, tips = [], [], []
        for r in (row._asdict() for row in part.itertuples(index=False)):
            s, tier = str(r.get("stream")), str(r.get("tier"))
            new = int(r.get("open_year")) == year
            key = f"{s}|{tier}|{'new' if new else 'old'}"
            size = {"village_point": 4, "township_station": 7, "county_center": 9}.get(tier, 5)
            styles.setdefault(key, {"radius": size + (3 if new else 0), "weight": 3 if new else 1,
                                    "color": "#d62728" if new else "#111111",
                                    "fillColor": style.stream_colour(s), "fillOpacity": 0.9})
            classes.append(key)
            tl = tier_label(s, tier, tier_labels)
            popups.append((f"{esc(r.get('name'))} ({esc(r.get('site_id'))})",
                           [esc(stream_labels.get(s, s)), esc(tl), str(int(r.get("open_year"))),
                            "新建 new this year" if new else "—"]))
            tips.append(f"{tl} · {r.get('name')} · {int(r.get('open_year'))}")
        fc = feature_collection(part, classes, popups, tips)
        out.append(GeoJsonLayer(f"建成网络 Network {year}", fc, styles, show=year == years[-1],
                                labels=("类别 Stream", "层级 Tier", "建设年份 Open year",
                                        f"{year} 年")))
    return out


SITE_ROWS = ("类别 Stream", "层级 Tier", "状态 Status", "乡镇 Township", "负荷 Load",
             "能力 Capacity", "利用率 Utilisation", "上级 Sends to")


def tier_label(stream: str, tier: str, tier_labels: Mapping[str, Mapping[str, str]] | None) -> str:
    """Bilingual tier label (see :func:`netplan.maps.style.tier_label`)."""
    return style.tier_label(stream, tier, tier_labels)


def assignments_layer(
    assignments: gpd.GeoDataFrame, streams: Sequence[str], names: Mapping[str, str]
) -> GeoJsonLayer:
    """Catchment lines: village/farm -> village point (thin), point -> station (thick)."""
    sel = assignments[assignments["stream"].isin(streams)]
    classes, popups = [], []
    styles: dict[str, dict[str, Any]] = {}
    for r in (row._asdict() for row in sel.itertuples(index=False)):
        s = str(r.get("stream"))
        link = "up" if r.get("from_tier") in ("village_point", "township_station") else "local"
        key = f"{s}|{link}"
        colour = style.stream_colour(s)
        styles.setdefault(key, {"color": colour, "weight": 2.5 if link == "up" else 1,
                                "opacity": 0.8 if link == "up" else 0.55})
        classes.append(key)
        f_id, t_id = str(r.get("from_id")), str(r.get("to_id"))
        popups.append((f"{esc(names.get(f_id, f_id))} → {esc(names.get(t_id, t_id))}",
                       [fmt_num(r.get("mass_t")) + " t/yr", fmt_num(km_of(r.get("dist_m"))) + " km"]))
    fc = feature_collection(sel, classes, popups, decimals=LINE_DECIMALS)
    return GeoJsonLayer("服务连线 Catchments", fc, styles,
                        labels=("质量 Mass", "路网距离 Road distance"))


def site_names(sites: gpd.GeoDataFrame | None, villages: gpd.GeoDataFrame | None,
               farms: gpd.GeoDataFrame | None = None) -> dict[str, str]:
    """id -> display name over sites, villages and farms (for catchment popups)."""
    out: dict[str, str] = {}
    for gdf, col in ((villages, "village_id"), (farms, "farm_id"), (sites, "site_id")):
        if gdf is not None and col in gdf.columns and "name" in gdf.columns:
            out.update(zip(gdf[col].astype(str), gdf["name"].astype(str), strict=True))
    return out

