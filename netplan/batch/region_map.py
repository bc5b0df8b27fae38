"""The region map (``index.html`` of a batch): counties coloured by target attainment.

Each county polygon is coloured by the share of its plan's targets that are met (kpis.csv rows
with a target), grey when its run failed; its tooltip names the missed targets and a click
opens the county's own maps (``counties/<county>/index.html``). A side table lists every
county with its status and link. Built with netplan.maps' bundled Leaflet, so the page opens
and draws with no network (offline background: outlines on a plain canvas).
"""

from __future__ import annotations

import math
from html import escape as esc
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd

from netplan.errors import InputError
from netplan.maps.text import fmt_pct

# Attainment classes (share of targets met), low to high.
ATTAINMENT_CLASSES: tuple[tuple[float, str, str], ...] = (
    (1.0, "#1a9641", "all targets met 全部达标"),
    (0.75, "#a6d96a", "≥ 75 % met"),
    (0.5, "#fee08b", "≥ 50 % met"),
    (0.0, "#f46d43", "< 50 % met"),
)
FAILED_COLOUR = "#bdbdbd"
NO_TARGET_COLOUR = "#d9d9d9"
LINK_COLOUR = "#333333"


def attainment_colour(attainment: float | None, status: str = "done") -> str:
    """Fill colour of a county: by attainment class, grey when failed or without targets."""
    if status == "failed":
        return FAILED_COLOUR
    if attainment is None or (isinstance(attainment, float) and math.isnan(attainment)):
        return NO_TARGET_COLOUR
    for lo, colour, _ in ATTAINMENT_CLASSES:
        if attainment >= lo - 1e-9:
            return colour
    return ATTAINMENT_CLASSES[-1][1]




def _county_popup(r: Any) -> str:
    name = f"{esc(str(r.county_zh))} {esc(str(r.county))}"
    if r.status == "failed":
        return (f"<b>{name}</b><br>规划失败 failed: {esc(str(r.error or '')[:300])}")
    missed = str(r.missed or "").replace(";", ", ")
    return (f"<b>{name}</b> ({esc(str(r.adcode))})<br>目标达成 targets met: {int(r.n_met)}/"
            f"{int(r.n_targets)} ({fmt_pct(r.attainment)})"
            + (f"<br>未达标 missed: {esc(missed)}" if missed else "")
            + f'<br><a href="{esc(str(r.link))}">县级地图 county maps →</a>')


def _table_html(counties: gpd.GeoDataFrame) -> str:
    rows = []
    for r in counties.itertuples(index=False):
        colour = attainment_colour(r.attainment, r.status)
        link = (f'<a href="{esc(str(r.link))}">{esc(str(r.county_zh))}</a>' if r.link
                else esc(str(r.county_zh)))
        score = "失败 failed" if r.status == "failed" else f"{int(r.n_met)}/{int(r.n_targets)}"
        rows.append(f'<tr><td><span style="display:inline-block;width:10px;height:10px;'
                    f'background:{colour}"></span> {link}</td><td>{esc(str(r.county))}</td>'
                    f"<td>{score}</td><td>{esc(str(r.status))}</td></tr>")
    head = "<tr><th>县 County</th><th></th><th>达标 Met</th><th>状态 Status</th></tr>"
    return (f'<div style="max-height:45vh;overflow:auto"><table class="np-region-table">{head}'
            + "".join(rows) + "</table></div>")


def _legend_html() -> str:
    items = [(c, label) for _, c, label in ATTAINMENT_CLASSES]
    items += [(NO_TARGET_COLOUR, "no target 无目标"), (FAILED_COLOUR, "run failed 规划失败")]
    return "<div><b>目标达成 Target attainment</b></div>" + "".join(
        f'<div><span style="display:inline-block;width:12px;height:12px;background:{c};'
        f'border:1px solid #555;margin-right:4px"></span>{esc(t)}</div>' for c, t in items)


def write_region_map(path: str | Path, counties: gpd.GeoDataFrame, *, title: str,
                     tier3: Any = None, self_contained: bool = True) -> Path:
    """Write the region map to ``path``.

    Parameters
    ----------
    path
        The HTML file to write (atomically).
    counties
        The ``counties`` table of :func:`netplan.batch.merge.county_table` (county, county_zh,
        adcode, status, n_targets, n_met, attainment, missed, error, link, geometry in WGS-84).
    title
        Page title.
    tier3
        Optional :class:`netplan.batch.tier3.Tier3Result`: its station → centre links are drawn,
        cross-county ones highlighted.
    self_contained
        Inline Leaflet into the page (default).

    Returns
    -------
    Path
    """
    from netplan.maps.assets import write_text_atomic
    from netplan.maps.kpi_panel import HtmlControl, title_html
    from netplan.maps.pages import new_map, render_page

    g = counties[counties.geometry.notna() & ~counties.geometry.is_empty]
    if not len(g):
        msg = "no county outline to map (neither plan.gpkg boundary nor boundary.geojson found)"
        raise InputError(msg)
    w, s, e, n = g.total_bounds
    m = new_map([[float(s), float(w)], [float(n), float(e)]], "offline")
    data = g.copy()
    data["fill"] = [attainment_colour(a, st) for a, st in zip(data["attainment"], data["status"],
                                                               strict=True)]
    data["popup_html"] = [_county_popup(r) for r in data.itertuples(index=False)]
    data["attainment_pct"] = [fmt_pct(a) for a in data["attainment"]]
    keep = ["county", "county_zh", "status", "attainment_pct", "fill", "popup_html", "link",
            "geometry"]
    layer = folium.GeoJson(
        data[keep].to_json(na="null"), name="县 Counties",
        style_function=lambda f: {"fillColor": f["properties"]["fill"], "color": "#444",
                                  "weight": 1.2, "fillOpacity": 0.75},
        highlight_function=lambda f: {"weight": 3},
        tooltip=folium.GeoJsonTooltip(["county_zh", "county", "attainment_pct", "status"],
                                      aliases=["县", "County", "达标 Met", "Status"]),
        popup=folium.GeoJsonPopup(["popup_html"], labels=False),
    )
    layer.add_to(m)
    if tier3 is not None and len(tier3.links):
        fg = folium.FeatureGroup(name="跨县转运 Cross-county tier 3")
        for r in tier3.links.itertuples(index=False):
            cross = bool(r.cross_county)
            coords = [(lat, lon) for lon, lat in r.geometry.coords]
            folium.PolyLine(coords, color="#d7191c" if cross else LINK_COLOUR,
                            weight=2.5 if cross else 1, dash_array=None if cross else "4 4",
                            tooltip=f"{r.stream}: {r.from_county} {r.from_id} → {r.to_county} "
                                    f"{r.to_id}, {r.mass_t:,.0f} t/yr").add_to(fg)
        fg.add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    HtmlControl(title_html(title), position="topleft", css_class="np-panel np-title",
                element_id="np-title").add_to(m)
    HtmlControl(_legend_html(), position="bottomright", css_class="np-panel np-legend",
                element_id="np-legend").add_to(m)
    HtmlControl(_table_html(counties), position="bottomleft", css_class="np-panel np-kpi",
                element_id="np-region-table").add_to(m)
    html = render_page(m, self_contained=self_contained, background="offline")
    return write_text_atomic(Path(path), html)
