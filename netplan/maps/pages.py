"""HTML maps of a run: ``index.html`` (all streams) and one ``<stream>.html`` per stream."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
from branca.element import MacroElement
from folium.template import Template

from netplan.errors import InputError
from netplan.maps import style
from netplan.maps.assets import (
    NetplanMap,
    external_references,
    inline_assets,
    install_assets,
    write_text_atomic,
)
from netplan.maps.coverage import boundaries_layer, township_choropleth_layer, villages_layer
from netplan.maps.geojson import GeoJsonLayer, js_json, to_display
from netplan.maps.kpi_panel import (
    HtmlControl,
    kpi_panel_html,
    legend_html,
    page_css,
    title_html,
)
from netplan.maps.routes import routes_layers, service_areas_layer
from netplan.maps.sites import assignments_layer, site_names, sites_layers, year_layers
from netplan.maps.text import truthy

BACKGROUNDS = ("offline", "osm", "amap")
GAODE_TILES = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
    "&x={x}&y={y}&z={z}"
)
GAODE_ATTR = "&copy; 高德地图 AutoNavi (GCJ-02)"
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTR = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
# The township choropleth shows each township's village coverage against the county's
# village_coverage target (the evaluation applies county targets to townships the same way).
COVERAGE_INDICATORS = ("village_coverage",)


_ATTRIBUTION_JS = Template("""
{% macro script(this, kwargs) %}
    {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.html_json }});
{% endmacro %}
""")


class DataAttribution(MacroElement):
    """Adds ``html`` to the map's attribution line (data credits, e.g. a CC BY licence)."""

    _template = _ATTRIBUTION_JS

    def __init__(self, html: str) -> None:
        super().__init__()
        self._name = "DataAttribution"
        self.html = html

    @property
    def html_json(self) -> str:
        """The HTML as a JS string literal."""
        return js_json(self.html)


def data_credit(layers: Mapping[str, gpd.GeoDataFrame]) -> str:
    """Attribution HTML for the county data's credit (county.toml ``credit``, carried on the
    boundary layer), e.g. the CC BY 4.0 credit of the NBS village list; "" when there is none."""
    b = layers.get("boundary")
    if b is None or "credit" not in b.columns or not len(b):
        return ""
    text = str(b["credit"].iloc[0] or "").strip()
    if not text or text == "nan":
        return ""
    return "村/Villages: " + html.escape(text)


def check_background(background: str) -> None:
    """Raise InputError unless ``background`` is one of :data:`BACKGROUNDS`."""
    if background not in BACKGROUNDS:
        msg = f"background must be one of {', '.join(BACKGROUNDS)}, got {background!r}"
        raise InputError(msg)


def coverage_targets(kpis: pd.DataFrame | None, streams: Sequence[str]) -> dict[str, float | None]:
    """Per stream the coverage target a township is judged against (None when there is none)."""
    out: dict[str, float | None] = {s: None for s in streams}
    if kpis is None or not len(kpis) or "target" not in kpis.columns:
        return out
    k = kpis.assign(_t=pd.to_numeric(kpis["target"], errors="coerce"))
    for s in streams:
        rows = k[(k["stream"].astype(str) == s) & k["_t"].notna()]
        for ind in COVERAGE_INDICATORS:
            hit = rows[rows["indicator"].astype(str) == ind]
            if len(hit):
                out[s] = float(hit["_t"].iloc[0])
                break
    return out


def layer_bounds(layers: Mapping[str, gpd.GeoDataFrame]) -> list[list[float]]:
    """``[[south, west], [north, east]]`` of the first non-empty of boundary, townships, villages, sites."""
    for key in ("boundary", "townships", "villages", "sites"):
        gdf = layers.get(key)
        if gdf is not None and len(gdf) and not gdf.geometry.is_empty.all():
            w, s, e, n = gdf.total_bounds
            return [[float(s), float(w)], [float(n), float(e)]]
    msg = "no geometry to map: boundary, townships, villages and sites are all empty"
    raise InputError(msg)


def new_map(bounds: list[list[float]], background: str, **kwargs: object) -> NetplanMap:
    """A canvas-rendered map fitted to ``bounds`` on the chosen background."""
    centre = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
    m = NetplanMap(location=centre, zoom_start=10, tiles=None, prefer_canvas=True,
                   control_scale=True, **kwargs)
    if background == "osm":
        folium.TileLayer(OSM_TILES, attr=OSM_ATTR, name="OpenStreetMap", max_zoom=19).add_to(m)
    elif background == "amap":
        folium.TileLayer(GAODE_TILES, attr=GAODE_ATTR, name="高德地图 Gaode/AMap",
                         subdomains="1234", max_zoom=18).add_to(m)
    m.fit_bounds(bounds, padding=(10, 10))
    return m


def populate(
    m: folium.Map,
    layers: Mapping[str, gpd.GeoDataFrame],
    kpis: pd.DataFrame | None,
    streams: Sequence[str],
    *,
    stream_labels: Mapping[str, str],
    tier_labels: Mapping[str, Mapping[str, str]] | None,
    service_areas: gpd.GeoDataFrame | None,
    background: str,
    crow_fly: bool,
    kpi_heading: str = "指标 / Targets (KPI)",
    panels: bool = True,
    id_suffix: str = "",
    compact: bool = False,
    worth: Mapping[str, str] | None = None,
) -> list[str]:
    """Add every layer, the legend and the KPI panel to ``m``; return the overlay names.

    ``compact`` (half-width maps): the layer control and the legend start collapsed.
    """
    gcj = background == "amap"
    credit = data_credit(layers)
    if credit:
        DataAttribution(credit).add_to(m)
    d = {k: to_display(v, gcj02=gcj) for k, v in layers.items() if v is not None}
    villages, sites = d.get("villages"), d.get("sites")
    names = site_names(sites, villages, d.get("farms"))
    combined = len(streams) > 1
    added: list[GeoJsonLayer] = []
    if d.get("townships") is not None and len(d["townships"]):
        added.append(township_choropleth_layer(
            d["townships"], villages, streams, coverage_targets(kpis, streams), stream_labels))
    if service_areas is not None and len(service_areas):
        added.append(service_areas_layer(to_display(service_areas, gcj02=gcj), streams[0],
                                           names))
    bl = boundaries_layer(d.get("boundary"), d.get("townships"))
    if bl is not None:
        added.append(bl)
    if d.get("assignments") is not None and len(d["assignments"]):
        added.append(assignments_layer(d["assignments"], streams, names))
    has_routes = d.get("routes") is not None and len(d["routes"]) > 0
    if has_routes:
        route_layers = routes_layers(d["routes"], streams, crow_fly=crow_fly)
        added.extend(rl for rl in route_layers if rl.n_features)
        crow_fly = crow_fly or any(
            truthy(v) for v in d["routes"].get("crow_fly", pd.Series(dtype=bool)))
    if villages is not None and len(villages):
        added.append(villages_layer(villages, streams, stream_labels))
    # the streams collected from farms: those with columns in the farms layer (docs/outputs.md)
    farm_streams = [s for s in streams if d.get("farms") is not None
                    and f"{s}_covered" in d["farms"].columns]
    if farm_streams and len(d["farms"]):
        farms = d["farms"].copy()
        farms["name"] = farms.get("name", farms.get("farm_id"))
        fl = villages_layer(farms.rename(columns={"farm_id": "village_id"}), farm_streams,
                            stream_labels)
        fl.layer_name = "规模养殖场 Scale farms"
        added.append(fl)
    if sites is not None and len(sites):
        added.extend(sites_layers(sites, streams, stream_labels, tier_labels))
        added.extend(year_layers(sites, streams, stream_labels, tier_labels))   # phased plans
    for layer in added:
        layer.add_to(m)
    folium.LayerControl(collapsed=compact, position="topright").add_to(m)
    if panels:
        HtmlControl(legend_html(streams, stream_labels, tier_labels, has_routes=has_routes,
                                crow_fly=crow_fly, has_service_areas=service_areas is not None,
                                combined=combined, open_=not compact),
                    position="bottomright", css_class="np-panel np-legend",
                    element_id=f"np-legend{id_suffix}").add_to(m)
        HtmlControl(kpi_panel_html(kpis, streams, stream_labels, heading=kpi_heading,
                                   worth=worth),
                    position="bottomleft", css_class="np-panel np-kpi",
                    element_id=f"np-kpi{id_suffix}").add_to(m)
    return [layer.layer_name for layer in added]


def render_page(fig_or_map: folium.Map | folium.Figure, *, self_contained: bool,
                background: str) -> str:
    """Render to HTML, add the page CSS, inline assets if asked, and check no CDN link is left."""
    root = fig_or_map.get_root()
    root.header.add_child(page_css(), name="netplan_css")
    if background == "offline":
        root.header.add_child(folium.Element(
            f"<style>.leaflet-container {{ background: {style.OFFLINE_BACKGROUND}; }}</style>"),
            name="netplan_bg")
    html = root.render()
    if self_contained:
        html = inline_assets(html)
    ext = external_references(html)
    if ext:
        msg = f"map page would load resources from the network: {', '.join(ext)}"
        raise RuntimeError(msg)
    return html


def write_maps(
    out_dir: Path,
    layers: Mapping[str, gpd.GeoDataFrame],
    kpis: pd.DataFrame,
    *,
    title: str,
    streams: Sequence[str],
    stream_labels: Mapping[str, str] | None = None,
    tier_labels: Mapping[str, Mapping[str, str]] | None = None,
    service_areas: Mapping[str, gpd.GeoDataFrame] | None = None,
    background: str = "offline",
    crow_fly: bool = False,
    self_contained: bool = True,
    worth: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write ``index.html`` (all streams) and ``<stream>.html`` per stream into ``out_dir``.

    Parameters
    ----------
    out_dir
        Run folder; created if missing.
    layers
        The plan.gpkg layers (villages, farms, sites, assignments, routes, boundary, townships),
        any CRS (drawn in WGS-84; shifted to GCJ-02 on the Gaode background).
    kpis
        The kpis.csv table (stream, indicator, value, target, met, unit, label_zh).
    title, streams, stream_labels, tier_labels
        Page title; streams to draw; bilingual stream labels; per stream the stream's own
        Chinese tier names.
    service_areas
        Per stream, road-network service-area polygons (column ``site_id``) from the road engine.
    background
        ``offline`` (no tiles: county and township boundaries on a plain background), ``osm``
        (OpenStreetMap tiles) or ``amap`` (Gaode tiles; every overlay shifted to GCJ-02).
    crow_fly
        Routes are straight segments (no road network): drawn dashed and said in the legend.
    self_contained
        Inline Leaflet into each page (default); else link it from ``out_dir/lib``.
    worth
        Per stream, what the siting plan is worth ("proven optimal" / "within X % of the lower
        bound", run.json ``solve.<stream>.worth``), shown under the KPI panel; None = not shown.

    Returns
    -------
    list of Path
        The pages written, index first.
    """
    check_background(background)
    streams = list(streams)
    if not streams:
        msg = "write_maps needs at least one stream"
        raise InputError(msg)
    labels = {s: style.stream_label(s, stream_labels) for s in streams}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not self_contained:
        install_assets(out_dir)
    bounds = layer_bounds(layers)
    links = [("index.html", "总览 Overview")] + [(f"{s}.html", labels[s]) for s in streams]
    written = []
    pages = [("index", streams)] + [(s, [s]) for s in streams]
    for page, page_streams in pages:
        m = new_map(bounds, background)
        sa = service_areas.get(page) if service_areas and page != "index" else None
        populate(m, layers, kpis, page_streams, stream_labels=labels, tier_labels=tier_labels,
                 service_areas=sa, background=background, crow_fly=crow_fly, worth=worth)
        heading = title if page == "index" else f"{title} · {labels[page]}"
        HtmlControl(title_html(heading, links), position="topleft", css_class="np-panel np-title",
                    element_id="np-title").add_to(m)
        html = render_page(m, self_contained=self_contained, background=background)
        written.append(write_text_atomic(out_dir / f"{page}.html", html))
    return written
