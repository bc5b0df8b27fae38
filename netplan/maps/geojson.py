"""GeoJSON map layers: one ``L.geoJSON`` per layer, compact JSON, encoded polylines.

Each layer is one ``L.geoJSON`` with canvas-rendered vectors and a small style table, so that a
county of thousands of villages stays one compact JSON blob drawn on a single canvas. Points of
the upper tiers are CSS div icons (distinct shapes per tier); villages and village points are
canvas circles. The layer builders by topic are in :mod:`netplan.maps.coverage` (boundaries,
township choropleth, villages), :mod:`netplan.maps.sites` (sites, catchments) and
:mod:`netplan.maps.routes` (routes, service areas).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from folium.template import Template
from shapely.geometry import mapping

from netplan.coords import wgs84_to_gcj02

COORD_DECIMALS = 6  # 0.1 m
LINE_DECIMALS = 5  # 1 m: lines and polygons
LINE_SIMPLIFY_DEG = 2e-5  # ~2 m: below a pixel up to zoom 15

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
