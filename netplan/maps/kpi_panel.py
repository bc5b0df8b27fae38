"""KPI panel, legend and title: plain-HTML Leaflet controls (no jQuery, no Bootstrap)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from branca.element import Element, MacroElement
from folium.template import Template

from netplan.maps import style
from netplan.maps.geojson import js_json
from netplan.maps.text import esc, fmt_kpi

PAGE_CSS = """
<style>
.np-panel { background: rgba(255,255,255,0.95); padding: 6px 9px; border-radius: 5px;
  box-shadow: 0 1px 5px rgba(0,0,0,0.4); font: 12px/1.35 "Helvetica Neue", Arial,
  "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", sans-serif; max-width: 380px; }
.np-panel h4 { margin: 0 0 4px; font-size: 13px; }
.np-panel summary { cursor: pointer; font-weight: bold; font-size: 13px; margin-bottom: 3px; }
.np-kpi { max-height: 45vh; overflow-y: auto; max-width: 460px; }
.np-kpi table, .np-popup table { border-collapse: collapse; }
.np-kpi td, .np-kpi th { padding: 1px 5px; border-bottom: 1px solid #eee; text-align: left; }
.np-kpi td.num, .np-kpi td.verdict { text-align: right; white-space: nowrap; }
.np-pass { color: #1a7f37; font-weight: bold; }
.np-fail, .np-bad { color: #c62828; font-weight: bold; }
.np-popup th { text-align: left; padding-right: 6px; font-weight: normal; color: #555; }
.np-legend { max-height: 50vh; overflow-y: auto; }
.np-legend .sw { display: inline-block; width: 14px; height: 14px; vertical-align: middle;
  margin-right: 5px; }
.np-legend .ln { display: inline-block; width: 22px; height: 0; border-top: 3px solid;
  vertical-align: middle; margin-right: 5px; }
.np-legend .dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%;
  vertical-align: middle; margin-right: 5px; border: 1px solid #fff; }
.np-icon { background: none; border: none; }
.np-station { width: 12px; height: 12px; border: 2px solid #111; }
.np-centre { width: 14px; height: 14px; margin: 2px; border: 2px solid #111;
  transform: rotate(45deg); }
.np-title { font-size: 15px; font-weight: bold; max-width: 60vw; }
.np-title a { font-size: 12px; font-weight: normal; margin-right: 6px; }
</style>
"""

_CONTROL_JS = Template(
    """
    {% macro script(this, kwargs) %}
    var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
    {{ this.get_name() }}.onAdd = function () {
        var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
        div.id = {{ this.element_id|tojson }};
        div.innerHTML = {{ this.html_json }};
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
    };
    {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
    {% endmacro %}
    """
)


class HtmlControl(MacroElement):
    """A Leaflet control showing fixed HTML at a corner of the map."""

    _template = _CONTROL_JS

    def __init__(self, html: str, *, position: str, css_class: str, element_id: str) -> None:
        super().__init__()
        self._name = "HtmlControl"
        self.html = html
        self.position = position
        self.css_class = css_class
        self.element_id = element_id

    @property
    def html_json(self) -> str:
        """The HTML as a JS string literal, safe in a script and in a Jinja template."""
        return js_json(self.html)


def page_css() -> Element:
    """The CSS of netplan's panels and icons, to add to a figure's header once."""
    return Element(PAGE_CSS)


def _fmt_value(value: Any, unit: str) -> str:
    """HTML text of a KPI value (see :func:`netplan.maps.text.fmt_kpi`)."""
    return esc(fmt_kpi(value, unit))


def is_met(value: Any) -> bool | None:
    """A kpis.csv ``met`` cell as True / False / None (no target, empty)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        v = value.strip().lower()
        if v in {"", "nan", "none"}:
            return None
        return v in {"true", "1", "yes", "t"}
    return bool(value)


def kpi_rows(kpis: pd.DataFrame, streams: Sequence[str]) -> pd.DataFrame:
    """The KPI rows of ``streams`` (and ``all``), targeted indicators first, file order kept."""
    if kpis is None or not len(kpis):  # no rows: the table's own columns (docs/outputs.md), none
        return pd.DataFrame() if kpis is None else kpis.iloc[0:0].copy()
    sel = kpis[kpis["stream"].astype(str).isin([*streams, "all"])].copy()
    has_target = pd.to_numeric(sel.get("target"), errors="coerce").notna()
    sel["_order"] = (~has_target).astype(int)
    return sel.sort_values("_order", kind="stable").drop(columns="_order")


def kpi_panel_html(
    kpis: pd.DataFrame, streams: Sequence[str], stream_labels: Mapping[str, str], *,
    heading: str = "指标 / Targets (KPI)", worth: Mapping[str, str] | None = None,
) -> str:
    """KPI table: indicator (zh + id), stream, achieved value, target and pass/fail.

    With one stream the stream column is left out (county-wide rows are marked 全县 all).
    ``worth``: per stream, what the siting plan is worth ("proven optimal" / "within X % of the
    lower bound"), a line under the table for the page's streams.
    """
    rows = kpi_rows(kpis, streams)
    one = len(streams) == 1
    n_t = int(pd.to_numeric(rows.get("target"), errors="coerce").notna().sum()) if len(rows) else 0
    n_met = sum(1 for m in rows.get("met", []) if is_met(m))
    body = []
    for r in rows.to_dict("records"):
        unit = str(r.get("unit") or "")
        met = is_met(r.get("met"))
        target = r.get("target")
        has_target = target is not None and not pd.isna(pd.to_numeric(target, errors="coerce"))
        if has_target and met is None:
            met = float(r.get("value")) >= float(target) - 1e-9
        verdict = ('<span class="np-pass">✓ 达标 pass</span>' if met else
                   '<span class="np-fail">✗ 未达标 fail</span>') if has_target else ""
        s = str(r.get("stream"))
        s_lab = "全县 all" if s == "all" else (style.stream_name_zh(s) or stream_labels.get(s, s))
        label = esc(r.get("label_zh")) or esc(r.get("indicator"))
        first = "" if one else f"<td>{esc(s_lab)}</td>"
        if one and s == "all":
            label = f"全县 {label}"
        body.append(
            f'<tr>{first}<td>{label}<br><small>{esc(r.get("indicator"))}</small>'
            f'</td><td class="num">{_fmt_value(r.get("value"), unit)}</td>'
            f'<td class="num">{_fmt_value(target, unit) if has_target else "—"}</td>'
            f'<td class="verdict">{verdict}</td></tr>'
        )
    if not body:
        body.append('<tr><td colspan="5">无指标 no indicators</td></tr>')
    head = "" if one else "<th>类别 Stream</th>"
    summary = f"{n_met}/{n_t} 项达标 targets met" if n_t else ""
    quality = ""
    if worth:
        parts = [f"{esc(style.stream_name_zh(x) or stream_labels.get(x, x))}: {esc(worth[x])}"
                 for x in streams if worth.get(x)]
        if parts:
            quality = f"<p><small>方案质量 plan: {'; '.join(parts)}</small></p>"
    return (
        f"<details open><summary>{esc(heading)} <small>{summary}</small></summary><table>"
        f"<tr>{head}<th>指标 Indicator</th><th>实际 Value</th><th>目标 Target</th>"
        "<th></th></tr>" + "".join(body) + "</table>" + quality + "</details>"
    )


def legend_html(
    streams: Sequence[str], stream_labels: Mapping[str, str],
    tier_labels: Mapping[str, Mapping[str, str]] | None, *,
    has_routes: bool, crow_fly: bool, has_service_areas: bool, combined: bool,
    open_: bool = True,
) -> str:
    """Legend (a collapsible block): tier symbols per stream, village and township colours,
    line kinds."""
    parts = [f"<details{' open' if open_ else ''}><summary>图例 Legend</summary>"]
    for s in streams:
        c = style.stream_colour(s)
        dot = (f'<span class="dot" style="background:{c};border:2px solid #111;width:10px;'
               f'height:10px"></span>')
        box = f"background:{c};border:2px solid #111;width:9px;height:9px;box-sizing:content-box"
        station = f'<span class="sw" style="{box}"></span>'
        centre = (f'<span class="sw" style="{box};transform:rotate(45deg);margin:0 7px 0 2px">'
                  "</span>")
        if combined:
            parts.append(f"<div><b>{esc(stream_labels.get(s, s))}</b></div>")
        parts.append(f"<div>{dot}{esc(style.tier_label(s, 'village_point', tier_labels))}</div>")
        parts.append(f"<div>{station}"
                     f"{esc(style.tier_label(s, 'township_station', tier_labels))}</div>")
        parts.append(f"<div>{centre}"
                     f"{esc(style.tier_label(s, 'county_center', tier_labels))}</div>")
    parts.append(f'<div><span class="dot" style="background:{style.COVERED}"></span>'
                 "村庄 已覆盖 Village covered</div>")
    if combined:
        parts.append(f'<div><span class="dot" style="background:{style.PARTIAL}"></span>'
                     "部分类别覆盖 Covered for some streams</div>")
    parts.append(f'<div><span class="dot" style="background:{style.UNCOVERED}"></span>'
                 "村庄 未覆盖 Village not covered</div>")
    for colour, text in ((style.TOWNSHIP_MET, "乡镇达标 Township meets target"),
                         (style.TOWNSHIP_NEAR, "差距 ≤10个百分点 Within 10 points"),
                         (style.TOWNSHIP_FAR, "未达标 Below target"),
                         (style.TOWNSHIP_NO_TARGET, "无目标 No target")):
        parts.append(f'<div><span class="sw" style="background:{colour};opacity:.7"></span>'
                     f"{text}</div>")
    if has_service_areas:
        parts.append(f'<div><span class="sw" style="background:{style.stream_colour(streams[0])};'
                     'opacity:.25"></span>服务范围(路网) Service area (roads)</div>')
    if has_routes:
        parts.append('<div><span class="ln" style="border-color:#4e79a7"></span>'
                     '<span class="ln" style="border-color:#f28e2b;margin-left:-3px"></span>'
                     "收运路线(每车一色) Collection, colour per vehicle</div>")
        parts.append(f'<div><span class="ln" style="border-color:{style.HAUL_COLOUR};'
                     'border-top-style:dotted"></span>转运 Haulage</div>')
    if crow_fly:
        parts.append('<div><span class="ln" style="border-color:#4e79a7;border-top-style:dashed">'
                     "</span>直线示意(无路网) Straight lines: no road network</div>")
    parts.append('<div><span class="ln" style="border-color:#222"></span>县界 County '
                 '<span class="ln" style="border-color:#777;border-top-style:dashed;'
                 'border-top-width:1px"></span>乡镇界 Township</div>')
    return "".join(parts) + "</details>"


def title_html(title: str, links: Sequence[tuple[str, str]] = ()) -> str:
    """Title block with optional links to the other maps of the run."""
    nav = " ".join(f'<a href="{esc(href)}">{esc(text)}</a>' for href, text in links)
    return f"<div>{esc(title)}</div>" + (f"<div>{nav}</div>" if nav else "")

