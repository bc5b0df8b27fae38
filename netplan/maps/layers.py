"""Map layers built from the plan.gpkg GeoDataFrames (docs/outputs.md).

Each layer is one ``L.geoJSON`` with canvas-rendered vectors and a small style table, so that a
county of thousands of villages stays one compact JSON blob drawn on a single canvas. Points of
the upper tiers are CSS div icons (distinct shapes per tier); villages and village points are
canvas circles.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.template import Template
from shapely.geometry import mapping

from netplan.coords import wgs84_to_gcj02
from netplan.maps import style

COORD_DECIMALS = 6  # 0.1 m
LINE_DECIMALS = 5  # 1 m: lines and polygons
LINE_SIMPLIFY_DEG = 2e-5  # ~2 m: below a pixel up to zoom 15
LARGE_VILLAGES = 5000  # above this many villages their circles are drawn without an outline

_LAYER_JS = Template(
    """
    {% macro script(this, kwargs) %}
    var {{ this.get_name() }} = (function () {
        var styles = {{ this.styles_json }}, labels = {{ this.labels_json }};
        var data = {{ this.data_json }};
        function dec(s) {  // encoded polyline (lon, lat order, 1e-5 degrees)
            var c = [], i = 0, x = 0, y = 0;
            while (i < s.length) {
                var r = [0, 0];
                for (var k = 0; k < 2; k++) {
                    var sh = 0, res = 0, b;
                    do { b = s.charCodeAt(i++) - 63; res |= (b & 31) << sh; sh += 5; }
                    while (b >= 32);
                    r[k] = (res & 1) ? ~(res >> 1) : (res >> 1);
                }
                x += r[0]; y += r[1];
                c.push([x / 1e5, y / 1e5]);
            }
            return c;
        }
        function dd(e) { return typeof e === "string" ? dec(e) : e.map(dd); }
        data.features.forEach(function (f) {
            if (f.geometry && f.geometry.e !== undefined) {
                f.geometry.coordinates = dd(f.geometry.e);
                delete f.geometry.e;
            }
        });
        function table(p) {
            var rows = p.r.map(function (v, i) {
                return "<tr><th>" + labels[i] + "</th><td>" + v + "</td></tr>"; });
            return '<div class="np-popup"><b>' + p.h + "</b><table>" + rows.join("") +
                "</table></div>";
        }
        return L.geoJSON(data, {
            interactive: {{ this.interactive|tojson }},
            style: function (f) { return styles[f.properties.c] || {}; },
            pointToLayer: function (f, ll) {
                var s = styles[f.properties.c] || {};
                if (s.shape === "div") {
                    return L.marker(ll, {icon: L.divIcon({html: s.html, className: "np-icon",
                        iconSize: [s.size, s.size], iconAnchor: [s.size / 2 - (s.dx || 0), s.size / 2]}),
                        interactive: {{ this.interactive|tojson }}, riseOnHover: true});
                }
                return L.circleMarker(ll, s);
            },
            onEachFeature: function (f, layer) {
                var p = f.properties;
                if (p.p) { layer.bindPopup(p.p, {maxWidth: 360}); }
                else if (p.r) { layer.bindPopup(function () { return table(p); },
                                                {maxWidth: 360}); }
                if (f.properties.t) { layer.bindTooltip(f.properties.t, {sticky: true}); }
            }
        });
    })();
    {% endmacro %}
    """
)


class GeoJsonLayer(folium.map.Layer):
    """An overlay of GeoJSON features styled by class key ``properties.c``.

    Parameters
    ----------
    name
        Name shown in the layer control.
    data
        A GeoJSON FeatureCollection whose features carry ``c`` (style key), and optionally ``p``
        (popup HTML) and ``t`` (tooltip text) in their properties.
    styles
        Style key -> Leaflet path options; points with ``shape: "div"`` become div icons of
        ``size`` px showing ``html``.
    """

    _template = _LAYER_JS

    def __init__(
        self,
        name: str,
        data: dict[str, Any],
        styles: Mapping[str, Mapping[str, Any]],
        *,
        show: bool = True,
        control: bool = True,
        interactive: bool = True,
        labels: Sequence[str] = (),
    ) -> None:
        super().__init__(name=name, overlay=True, control=control, show=show)
        self._name = "NetplanGeoJson"
        self.data = data
        self.styles = {k: dict(v) for k, v in styles.items()}
        self.interactive = interactive
        self.labels = list(labels)

    @property
    def styles_json(self) -> str:
        """Style table as JSON (see :func:`js_json`)."""
        return js_json(self.styles)

    @property
    def labels_json(self) -> str:
        """Popup row labels as JSON (see :func:`js_json`)."""
        return js_json(self.labels)

    @property
    def data_json(self) -> str:
        """The data as compact JSON (see :func:`js_json`)."""
        return js_json(self.data)

    @property
    def n_features(self) -> int:
        """Number of features in the layer."""
        return len(self.data["features"])


def js_json(obj: Any) -> str:
    """Compact JSON with raw UTF-8 text, safe inside a <script> element and inside a Jinja
    template (branca re-parses each rendered script as a template, so ``{{``, ``{%`` and ``{#``
    must not appear; outside strings JSON never has them, inside they become ``\\u`` escapes).
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    for ch, sub in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029"),
                    ("{{", "{\\u007b"), ("{%", "{\\u0025"), ("{#", "{\\u0023")):
        text = text.replace(ch, sub)
    return text


# ----------------------------------------------------------------------------- geometry helpers


def to_display(gdf: gpd.GeoDataFrame | None, *, gcj02: bool) -> gpd.GeoDataFrame | None:
    """A WGS-84 copy of ``gdf`` for drawing; shifted to GCJ-02 when drawn on Gaode tiles."""
    if gdf is None:
        return None
    out = gdf.to_crs(4326) if gdf.crs is not None and gdf.crs.to_epsg() != 4326 else gdf.copy()
    if gcj02 and len(out):
        def shift(xy: np.ndarray) -> np.ndarray:
            lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
            return np.column_stack([lon, lat])

        out = out.set_geometry(shapely.transform(out.geometry.values, shift))
    return out


def encode_polyline(xy: np.ndarray) -> str:
    """Encoded-polyline text of an (n, 2) lon/lat array at 1e-5 degrees (~1 m).

    The Google polyline algorithm with (lon, lat) order: zig-zag varints of the deltas in
    base-32 digits offset by 63; 2-6 ASCII bytes per coordinate instead of ~20 in JSON.
    """
    ints = np.round(np.asarray(xy, dtype=float) * 1e5).astype(np.int64)
    deltas = np.diff(ints, axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).ravel()
    zz = np.where(deltas < 0, ~(deltas << 1), deltas << 1)
    out = []
    for v in zz.tolist():
        while v >= 0x20:
            out.append(chr((0x20 | (v & 0x1F)) + 63))
            v >>= 5
        out.append(chr(v + 63))
    return "".join(out)


def _encoded(geom: shapely.Geometry) -> dict[str, Any]:
    t = geom.geom_type

    def ring(g: shapely.Geometry) -> str:
        return encode_polyline(np.asarray(g.coords)[:, :2])

    if t == "LineString":
        e: Any = ring(geom)
    elif t == "MultiLineString":
        e = [ring(g) for g in geom.geoms]
    elif t == "Polygon":
        e = [ring(geom.exterior)] + [ring(r) for r in geom.interiors]
    elif t == "MultiPolygon":
        e = [[ring(p.exterior)] + [ring(r) for r in p.interiors] for p in geom.geoms]
    else:
        return mapping(shapely.transform(geom, lambda xy: np.round(xy, LINE_DECIMALS)))
    return {"type": t, "e": e}


def _round_geom(geom: shapely.Geometry, decimals: int = COORD_DECIMALS,
                simplify_deg: float = 0.0) -> dict[str, Any]:
    if simplify_deg > 0 and geom.geom_type != "Point":
        geom = shapely.simplify(geom, simplify_deg, preserve_topology=True)
    if decimals == LINE_DECIMALS and geom.geom_type != "Point":
        return _encoded(geom)
    return mapping(shapely.transform(geom, lambda xy: np.round(xy, decimals)))


def feature_collection(
    gdf: gpd.GeoDataFrame,
    classes: Iterable[str],
    popups: Iterable[str | tuple[str, Sequence[str]] | None] | None = None,
    tooltips: Iterable[str | None] | None = None,
    *,
    decimals: int = COORD_DECIMALS,
    simplify_deg: float = 0.0,
) -> dict[str, Any]:
    """GeoJSON FeatureCollection of ``gdf``'s non-empty geometries with c/p/t properties.

    A popup is either HTML (``p``) or a ``(title, values)`` pair stored as ``h`` and ``r``, whose
    table the browser builds with the layer's row labels (compact for thousands of villages).
    Lines and polygons can be simplified (Douglas-Peucker, ``simplify_deg`` degrees); coordinates
    are rounded to ``decimals`` (6 = 0.1 m); with ``decimals=5`` (1 m) lines and polygons are
    stored as encoded polylines (``geometry.e``) that the page decodes.
    """
    n = len(gdf)
    popups = list(popups) if popups is not None else [None] * n
    tooltips = list(tooltips) if tooltips is not None else [None] * n
    feats = []
    for geom, c, p, t in zip(gdf.geometry.values, classes, popups, tooltips, strict=True):
        if geom is None or geom.is_empty:
            continue
        props: dict[str, Any] = {"c": c}
        if isinstance(p, tuple):  # (title, row values): the table is built in the browser
            props["h"], props["r"] = p[0], list(p[1])
        elif p:
            props["p"] = p
        if t:
            props["t"] = t
        feats.append({"type": "Feature", "geometry": _round_geom(geom, decimals, simplify_deg),
                      "properties": props})
    return {"type": "FeatureCollection", "features": feats}


# ----------------------------------------------------------------------------- formatting


def esc(value: Any) -> str:
    """HTML-escaped text of a value; empty for None/NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value))


def fmt_num(value: Any, digits: int = 1) -> str:
    """A number with thousands separators, or an em dash when missing."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "—"
    if math.isnan(v) or math.isinf(v):
        return "—"
    return f"{v:,.{digits}f}"


def fmt_pct(value: Any) -> str:
    """A fraction as a percentage (one decimal), or an em dash when missing."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "—"
    return "—" if math.isnan(v) else f"{100 * v:.1f}%"


def popup_table(title: str, rows: Sequence[tuple[str, str]]) -> str:
    """Popup HTML: a bold title and a two-column table (labels already bilingual)."""
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<div class="np-popup"><b>{title}</b><table>{body}</table></div>'


def _truthy(value: Any) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes", "t"}
    return bool(value)


def covered_mask(villages: gpd.GeoDataFrame, stream: str) -> np.ndarray:
    """Boolean array: village covered for ``stream`` (missing column or null = not covered).

    A village that generates none of the stream (``<stream>_t_yr`` = 0, e.g. an urban community
    for straw) has nothing left uncollected and is not drawn as a gap; the indicators leave such
    villages out of their denominators too (docs/indicators.md).
    """
    col = f"{stream}_covered"
    if col not in villages.columns:
        return np.zeros(len(villages), dtype=bool)
    cov = np.array([_truthy(v) for v in villages[col]], dtype=bool)
    gen = f"{stream}_t_yr"
    if gen in villages.columns:
        cov |= pd.to_numeric(villages[gen], errors="coerce").fillna(0).to_numpy() <= 0
    return cov


# ----------------------------------------------------------------------------- layers


def boundaries_layer(
    boundary: gpd.GeoDataFrame | None, townships: gpd.GeoDataFrame | None
) -> GeoJsonLayer | None:
    """County outline (thick) and township outlines (thin), no fill, not clickable."""
    parts, classes = [], []
    if townships is not None and len(townships):
        parts.append(townships[["geometry"]])
        classes += ["township"] * len(townships)
    if boundary is not None and len(boundary):
        parts.append(boundary[["geometry"]])
        classes += ["county"] * len(boundary)
    if not parts:
        return None
    gdf = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry")
    styles = {
        "county": {"color": "#222222", "weight": 3, "fill": False},
        "township": {"color": "#777777", "weight": 1.2, "dashArray": "4 3", "fill": False},
    }
    fc = feature_collection(gdf, classes, decimals=LINE_DECIMALS)
    return GeoJsonLayer("县界/乡镇界 Boundaries", fc, styles, interactive=False)


def township_coverage(
    townships: gpd.GeoDataFrame, villages: gpd.GeoDataFrame | None, stream: str
) -> np.ndarray:
    """Coverage of each township for a stream (fraction 0-1, NaN when unknown).

    Taken from the townships layer's ``<stream>_village_coverage`` (or ``<stream>_coverage``)
    column when the pipeline wrote one, else the share of the township's villages covered.
    """
    for col in (f"{stream}_village_coverage", f"{stream}_coverage"):
        if col in townships.columns:
            return pd.to_numeric(townships[col], errors="coerce").to_numpy(dtype=float)
    if villages is None or "township_code" not in villages.columns or not len(villages):
        return np.full(len(townships), np.nan)
    share = pd.Series(covered_mask(villages, stream), index=villages.index).groupby(
        villages["township_code"].astype(str)
    ).mean()
    return townships["township_code"].astype(str).map(share).to_numpy(dtype=float)


def coverage_class(value: float, target: float | None) -> str:
    """Choropleth class of a township: met / near (within 0.10) / far / no_target.

    ``met`` allows 1e-9 of float noise (41/50 villages must meet a 0.82 target).
    """
    if target is None or math.isnan(value):
        return "no_target"
    if value >= target - 1e-9:
        return "met"
    return "near" if value >= target - style.NEAR_MARGIN else "far"


_CHORO_STYLES = {
    "met": {"color": "#666", "weight": 0.5, "fillColor": style.TOWNSHIP_MET, "fillOpacity": 0.45},
    "near": {"color": "#666", "weight": 0.5, "fillColor": style.TOWNSHIP_NEAR, "fillOpacity": 0.45},
    "far": {"color": "#666", "weight": 0.5, "fillColor": style.TOWNSHIP_FAR, "fillOpacity": 0.45},
    "no_target": {"color": "#666", "weight": 0.5, "fillColor": style.TOWNSHIP_NO_TARGET,
                  "fillOpacity": 0.35},
}


def township_choropleth_layer(
    townships: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame | None,
    streams: Sequence[str],
    targets: Mapping[str, float | None],
    labels: Mapping[str, str],
) -> GeoJsonLayer:
    """Townships coloured by coverage against the target.

    With one stream, the class of that stream; with several, ``met`` only where every stream
    with a target is met, ``far`` where any is far, else ``near``.
    """
    cov = {s: township_coverage(townships, villages, s) for s in streams}
    classes, popups, tips = [], [], []
    names = townships["name"] if "name" in townships.columns else townships.index.astype(str)
    for i, name in enumerate(names):
        per = {s: coverage_class(cov[s][i], targets.get(s)) for s in streams}
        judged = [c for c in per.values() if c != "no_target"]
        if not judged:
            cls = "no_target"
        elif all(c == "met" for c in judged):
            cls = "met"
        elif any(c == "far" for c in judged):
            cls = "far"
        else:
            cls = "near"
        classes.append(cls)
        rows = []
        for s in streams:
            tgt = targets.get(s)
            verdict = {"met": "✓ 达标 met", "near": "✗ 接近 near", "far": "✗ 未达标 not met",
                       "no_target": "—"}[per[s]]
            rows.append((esc(labels.get(s, s)),
                         f"{fmt_pct(cov[s][i])} / {fmt_pct(tgt) if tgt is not None else '—'}"
                         f" {verdict}"))
        popups.append(popup_table(f"{esc(name)} 乡镇覆盖率 / target", rows))
        tips.append(f"{name}: " + ", ".join(fmt_pct(cov[s][i]) for s in streams))
    fc = feature_collection(townships, classes, popups, tips, decimals=LINE_DECIMALS)
    return GeoJsonLayer("乡镇覆盖率对比目标 Township coverage vs target", fc, _CHORO_STYLES)


def villages_layer(
    villages: gpd.GeoDataFrame, streams: Sequence[str], labels: Mapping[str, str]
) -> GeoJsonLayer:
    """Villages as canvas circles: green covered, red not covered (orange: some streams only)."""
    masks = {s: covered_mask(villages, s) for s in streams}
    n_cov = np.sum([masks[s] for s in streams], axis=0) if streams else np.zeros(len(villages))
    classes = np.where(n_cov == len(streams), "cov", np.where(n_cov == 0, "unc", "part"))
    popups: list[tuple[str, list[str]]] = []
    cols = villages.columns
    row_labels = ["乡镇 Township", "人口 Population"] + [esc(labels.get(s, s)) for s in streams]
    for i, row in enumerate(villages.itertuples(index=False)):
        r = row._asdict()
        values = [esc(r.get("township")), fmt_num(r.get("population"), 0)]
        for s in streams:
            t_yr = fmt_num(r.get(f"{s}_t_yr")) + " t/yr" if f"{s}_t_yr" in cols else "—"
            pid = esc(r.get(f"{s}_point_id")) or "—"
            dist = r.get(f"{s}_dist_m")
            where = f"→ {pid}" + (f" ({fmt_num(dist / 1000, 1)} km)" if pid != "—" and
                                  dist is not None and not pd.isna(dist) else "")
            ok = "✓ 已覆盖" if masks[s][i] else "✗ 未覆盖"
            values.append(f"{t_yr} {where} {ok}")
        popups.append((f"{esc(r.get('name'))} ({esc(r.get('village_id'))})", values))
    base: dict[str, Any] = {"radius": 3.5, "weight": 0.6, "color": "#ffffff", "fillOpacity": 0.9}
    if len(villages) > LARGE_VILLAGES:  # halve the canvas redraw: fill only, no outline
        base.update(stroke=False, fillOpacity=1.0)
    styles = {
        "cov": {**base, "fillColor": style.COVERED},
        "unc": {**base, "fillColor": style.UNCOVERED, "radius": 4.5},
        "part": {**base, "fillColor": style.PARTIAL},
    }
    fc = feature_collection(villages, classes.tolist(), popups)
    return GeoJsonLayer("村庄 覆盖/未覆盖 Villages covered / not covered", fc, styles,
                        labels=row_labels)


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
            f"{style.TIER_ZH[tier]} {style.TIER_EN[tier]}"
        out.append(GeoJsonLayer(name, fc, styles, labels=SITE_ROWS))
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
                       [fmt_num(r.get("mass_t")) + " t/yr", fmt_num(_km(r.get("dist_m"))) + " km"]))
    fc = feature_collection(sel, classes, popups, decimals=LINE_DECIMALS)
    return GeoJsonLayer("服务连线 Catchments", fc, styles,
                        labels=("质量 Mass", "路网距离 Road distance"))


def _km(dist_m: Any) -> float:
    try:
        return float(dist_m) / 1000.0
    except (TypeError, ValueError):
        return float("nan")


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
            straight = crow_fly or _truthy(r.get("crow_fly"))
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
                      fmt_num(_km(r.get("distance_m"))) + " km",
                      fmt_num(_hours(r.get("duration_s"))) + " h",
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


def _hours(time_s: Any) -> float:
    try:
        return float(time_s) / 3600.0
    except (TypeError, ValueError):
        return float("nan")


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


def site_names(sites: gpd.GeoDataFrame | None, villages: gpd.GeoDataFrame | None,
               farms: gpd.GeoDataFrame | None = None) -> dict[str, str]:
    """id -> display name over sites, villages and farms (for catchment popups)."""
    out: dict[str, str] = {}
    for gdf, col in ((villages, "village_id"), (farms, "farm_id"), (sites, "site_id")):
        if gdf is not None and col in gdf.columns and "name" in gdf.columns:
            out.update(zip(gdf[col].astype(str), gdf["name"].astype(str), strict=True))
    return out

