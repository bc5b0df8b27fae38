"""Two layouts side by side on one page, pan and zoom synchronised (no plugin needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
from branca.element import Figure, MacroElement
from folium.template import Template

from netplan.errors import InputError
from netplan.maps import style
from netplan.maps.assets import install_assets, write_text_atomic
from netplan.maps.kpi_panel import HtmlControl, title_html
from netplan.maps.pages import check_background, layer_bounds, new_map, populate, render_page


class SyncMaps(MacroElement):
    """Keep two Leaflet maps on the same centre and zoom, whichever one the user moves."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var a = {{ this.a.get_name() }}, b = {{ this.b.get_name() }}, busy = false;
            function follow(src, dst) {
                src.on("move zoomend", function () {
                    if (busy) { return; }
                    busy = true;
                    dst.setView(src.getCenter(), src.getZoom(), {animate: false});
                    busy = false;
                });
            }
            follow(a, b);
            follow(b, a);
            b.setView(a.getCenter(), a.getZoom(), {animate: false});
            window.netplanCompare = [a, b];
        })();
        {% endmacro %}
        """
    )

    def __init__(self, a: object, b: object) -> None:
        super().__init__()
        self._name = "SyncMaps"
        self.a = a
        self.b = b


def write_compare_map(
    path: Path,
    layers_a: Mapping[str, gpd.GeoDataFrame],
    layers_b: Mapping[str, gpd.GeoDataFrame],
    *,
    labels: tuple[str, str] = ("A", "B"),
    streams: Sequence[str] | None = None,
    kpis_a: pd.DataFrame | None = None,
    kpis_b: pd.DataFrame | None = None,
    title: str = "方案对比 Layout comparison",
    stream_labels: Mapping[str, str] | None = None,
    tier_labels: Mapping[str, Mapping[str, str]] | None = None,
    background: str = "offline",
    crow_fly: bool = False,
    self_contained: bool = True,
) -> Path:
    """Write one page with layout A on the left and layout B on the right, views synchronised.

    Parameters
    ----------
    path
        The HTML file to write.
    layers_a, layers_b
        plan.gpkg layers of the two layouts (docs/outputs.md).
    labels
        Names of the two layouts, shown above each map.
    streams
        Streams to draw (default: every stream in layout A's ``sites``).
    kpis_a, kpis_b
        kpis.csv tables of the two layouts, shown in each map's KPI panel.
    background, crow_fly, self_contained
        As for :func:`netplan.maps.write_maps`.

    Returns
    -------
    Path
        ``path``.
    """
    check_background(background)
    if streams is None:
        sites = layers_a.get("sites")
        streams = sorted(set(sites["stream"])) if sites is not None and len(sites) else []
    streams = list(streams)
    if not streams:
        msg = "write_compare_map needs at least one stream"
        raise InputError(msg)
    slabels = {s: style.stream_label(s, stream_labels) for s in streams}
    path = Path(path)
    if not self_contained:
        install_assets(path.parent)
    bounds = layer_bounds(layers_a)
    fig = Figure()
    maps = []
    for k, (layers, kpis, label) in enumerate(((layers_a, kpis_a, labels[0]),
                                              (layers_b, kpis_b, labels[1]))):
        m = new_map(bounds, background, width="50%", height="100%", left=f"{50 * k}%",
                    top="0%", position="absolute")
        fig.add_child(m)
        populate(m, layers, kpis, streams, stream_labels=slabels, tier_labels=tier_labels,
                 service_areas=None, background=background, crow_fly=crow_fly,
                 kpi_heading=f"{label} · 指标 Targets (KPI)", id_suffix=f"-{k}", compact=True)
        HtmlControl(title_html(f"{label} — {title}"), position="topleft",
                    css_class="np-panel np-title", element_id=f"np-title-{k}").add_to(m)
        maps.append(m)
    fig.add_child(SyncMaps(maps[0], maps[1]))
    html = render_page(fig, self_contained=self_contained, background=background)
    html = html.replace("<head>", "<head><style>html,body{margin:0;height:100%;}"
                        ".folium-map{border-right:2px solid #444;}</style>", 1)
    return write_text_atomic(path, html)
