"""Static PNG figures (matplotlib) of the same maps, for reports.

No pyplot and no global state: each figure is a ``matplotlib.figure.Figure`` drawn by the Agg
canvas. Chinese labels are used when a CJK font is installed (Noto Sans CJK, WenQuanYi, ...);
otherwise the labels fall back to English so no glyph is drawn as a box.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from netplan.errors import InputError
from netplan.maps import style
from netplan.maps.assets import write_atomic
from netplan.maps.coverage import coverage_class, covered_mask, township_coverage
from netplan.maps.kpi_panel import is_met, kpi_rows
from netplan.maps.pages import coverage_targets
from netplan.maps.text import fmt_kpi

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
             "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei", "PingFang SC", "AR PL UMing CN")
TIER_MARKER = {"village_point": ("o", 45), "township_station": ("s", 110),
               "county_center": ("D", 150)}
_CLASS_COLOUR = {"met": style.TOWNSHIP_MET, "near": style.TOWNSHIP_NEAR,
                 "far": style.TOWNSHIP_FAR, "no_target": style.TOWNSHIP_NO_TARGET}


def cjk_font() -> str | None:
    """Family name of an installed font that has Chinese glyphs, or None."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def _label(zh: str, en: str, cjk: bool) -> str:
    return f"{zh} {en}" if cjk else en


def draw_plan(
    ax: object,
    layers: Mapping[str, gpd.GeoDataFrame],
    kpis: pd.DataFrame | None,
    streams: Sequence[str],
    *,
    stream_labels: Mapping[str, str],
    tier_labels: Mapping[str, Mapping[str, str]] | None,
    service_areas: gpd.GeoDataFrame | None = None,
    cjk: bool,
) -> list[object]:
    """Draw one plan on a matplotlib Axes (lon/lat, true-scale aspect); return legend handles."""
    d = {k: (v.to_crs(4326) if v is not None and v.crs is not None else v)
         for k, v in layers.items()}
    # a layer may carry rows without geometry (townships given as a table): draw what has one
    d = {k: (v[v.geometry.notna() & ~v.geometry.is_empty] if v is not None and len(v) else v)
         for k, v in d.items()}
    villages, sites = d.get("villages"), d.get("sites")
    townships, boundary = d.get("townships"), d.get("boundary")
    handles: list[object] = []
    if townships is not None and len(townships):
        targets = coverage_targets(kpis, streams)
        classes = []
        for i in range(len(townships)):
            per = [coverage_class(township_coverage(townships, villages, s)[i], targets.get(s))
                   for s in streams]
            judged = [c for c in per if c != "no_target"]
            classes.append("no_target" if not judged else "met" if all(
                c == "met" for c in judged) else "far" if "far" in judged else "near")
        townships.plot(ax=ax, aspect=None, color=[_CLASS_COLOUR[c] for c in classes], alpha=0.45,
                       edgecolor="#777777", linewidth=0.6, linestyle="--")
        handles += [Patch(color=_CLASS_COLOUR[c], alpha=0.6, label=_label(zh, en, cjk))
                    for c, zh, en in (("met", "乡镇达标", "Township meets target"),
                                      ("near", "差距≤10点", "Within 10 points"),
                                      ("far", "未达标", "Below target"))]
    if service_areas is not None and len(service_areas):
        service_areas.to_crs(4326).plot(ax=ax, aspect=None, color=style.stream_colour(streams[0]), alpha=0.15,
                                        edgecolor=style.stream_colour(streams[0]), linewidth=0.5)
    if boundary is not None and len(boundary):
        boundary.boundary.plot(ax=ax, aspect=None, color="#222222", linewidth=1.8)
    a = d.get("assignments")
    if a is not None and len(a):
        for s in streams:
            part = a[a["stream"] == s]
            if len(part):
                up = part["from_tier"].isin(["village_point", "township_station"])
                part[~up].plot(ax=ax, aspect=None, color=style.stream_colour(s), linewidth=0.5, alpha=0.6)
                part[up].plot(ax=ax, aspect=None, color=style.stream_colour(s), linewidth=1.5, alpha=0.8)
    r = d.get("routes")
    if r is not None and len(r):
        sel = r[r["stream"].isin(streams)]
        coll = sel[sel["kind"] == "collection"]
        if len(coll):
            coll.plot(ax=ax, aspect=None, linewidth=1.8, color=[style.ROUTE_COLOURS[k % len(
                style.ROUTE_COLOURS)] for k in range(len(coll))])
        haul = sel[sel["kind"] == "haulage"]
        if len(haul):
            haul.plot(ax=ax, aspect=None, color=style.HAUL_COLOUR, linewidth=1.4, linestyle=":")
        if len(coll):
            handles.append(Line2D([], [], color=style.ROUTE_COLOURS[0], linewidth=1.8,
                                  label=_label("收运路线", "Collection route", cjk)))
    if villages is not None and len(villages):
        n_cov = np.sum([covered_mask(villages, s) for s in streams], axis=0)
        full, none = n_cov == len(streams), n_cov == 0
        xy = np.column_stack([villages.geometry.x, villages.geometry.y])
        ax.scatter(*xy[full].T, s=12, color=style.COVERED, zorder=3, linewidths=0)
        ax.scatter(*xy[~full & ~none].T, s=12, color=style.PARTIAL, zorder=3, linewidths=0)
        ax.scatter(*xy[none].T, s=18, color=style.UNCOVERED, zorder=3, linewidths=0)
        handles += [Line2D([], [], marker="o", linestyle="", color=style.COVERED,
                           label=_label("村庄已覆盖", "Village covered", cjk)),
                    Line2D([], [], marker="o", linestyle="", color=style.UNCOVERED,
                           label=_label("村庄未覆盖", "Village not covered", cjk))]
    if sites is not None and len(sites):
        for s in streams:
            for tier, (marker, size) in TIER_MARKER.items():
                part = sites[(sites["stream"] == s) & (sites["tier"] == tier)]
                if not len(part):
                    continue
                ax.scatter(part.geometry.x, part.geometry.y, marker=marker, s=size,
                           color=style.stream_colour(s), edgecolor="#111111", linewidth=1,
                           zorder=4 + TIER_MARKER[tier][1] / 1000)
                zh = (tier_labels or {}).get(s, {}).get(tier) or style.tier_name_zh(tier)
                lab = _label(zh, style.tier_name_en(tier), cjk)
                if len(streams) > 1:
                    lab = f"{stream_labels[s] if cjk else style.stream_name_en(s)}: {lab}"
                handles.append(Line2D([], [], marker=marker, linestyle="", markersize=8,
                                      color=style.stream_colour(s), markeredgecolor="#111111",
                                      label=lab))
    w, s_, e, n = (boundary if boundary is not None and len(boundary) else villages).total_bounds
    pad = 0.03 * max(e - w, n - s_)
    ax.set_xlim(w - pad, e + pad)
    ax.set_ylim(s_ - pad, n + pad)
    ax.set_aspect(1 / math.cos(math.radians((s_ + n) / 2)))
    ax.set_facecolor(style.OFFLINE_BACKGROUND)
    ax.tick_params(labelsize=7)
    return handles


def kpi_text(kpis: pd.DataFrame | None, streams: Sequence[str], cjk: bool) -> str:
    """Plain-text KPI table: indicator, value, target, pass/fail (targeted rows only)."""
    rows = kpi_rows(kpis, streams) if kpis is not None else pd.DataFrame()
    lines = [_label("指标", "Indicator", cjk) + " — value / target"]
    for r in rows.to_dict("records"):
        tgt = pd.to_numeric(r.get("target"), errors="coerce")
        if pd.isna(tgt):
            continue
        unit = str(r.get("unit") or "")
        met = is_met(r.get("met"))
        if met is None:
            met = float(r["value"]) >= float(tgt) - 1e-9
        name = r.get("label_zh") if cjk and r.get("label_zh") else r.get("indicator")
        mark = "PASS" if met else "FAIL"
        lines.append(f"{r.get('stream')}: {name}  {fmt_kpi(r.get('value'), unit, cjk=cjk)}"
                     f" / {fmt_kpi(tgt, unit, cjk=cjk)}  {mark}")
    return "\n".join(lines)


def _save_atomic(fig: Figure, path: Path, dpi: int) -> Path:
    FigureCanvasAgg(fig)
    return write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format="png"), suffix=".png")


def write_pngs(
    out_dir: Path,
    layers: Mapping[str, gpd.GeoDataFrame],
    kpis: pd.DataFrame | None,
    *,
    streams: Sequence[str],
    title: str = "",
    stream_labels: Mapping[str, str] | None = None,
    tier_labels: Mapping[str, Mapping[str, str]] | None = None,
    service_areas: Mapping[str, gpd.GeoDataFrame] | None = None,
    dpi: int = 150,
) -> list[Path]:
    """Write ``index.png`` (all streams) and ``<stream>.png`` per stream into ``out_dir``.

    Each figure is the map (townships coloured by coverage against target, villages covered /
    not covered, sites by tier, catchments, routes) with a legend and the KPI table beside it.
    Figures are 12 x 8 inches at ``dpi`` dots per inch.
    """
    streams = list(streams)
    if not streams:
        msg = "write_pngs needs at least one stream"
        raise InputError(msg)
    font = cjk_font()
    cjk = font is not None
    labels = {s: style.stream_label(s, stream_labels) for s in streams}
    rc = {"font.family": [font, "DejaVu Sans"]} if font else {}
    written = []
    import matplotlib as mpl

    with mpl.rc_context(rc):
        for page, page_streams in [("index", streams)] + [(s, [s]) for s in streams]:
            fig = Figure(figsize=(12, 8))
            ax = fig.add_axes((0.03, 0.05, 0.62, 0.88))
            sa = service_areas.get(page) if service_areas and page != "index" else None
            handles = draw_plan(ax, layers, kpis, page_streams, stream_labels=labels,
                                tier_labels=tier_labels, service_areas=sa, cjk=cjk)
            head = title if cjk else title.encode("ascii", "ignore").decode().strip(" /·")
            sub = "" if page == "index" else (labels[page] if cjk else style.stream_name_en(page))
            fig.suptitle(f"{head} {('· ' + sub) if sub else ''}".strip(), fontsize=12)
            side = fig.add_axes((0.67, 0.05, 0.31, 0.88))
            side.axis("off")
            side.legend(handles=handles, loc="upper left", fontsize=7, frameon=False)
            side.text(0.0, 0.0, kpi_text(kpis, page_streams, cjk), fontsize=7,
                      va="bottom", ha="left", transform=side.transAxes)
            written.append(_save_atomic(fig, Path(out_dir) / f"{page}.png", dpi))
    return written
