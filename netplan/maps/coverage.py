"""Coverage layers: county and township boundaries, townships coloured by coverage against the
target, and villages coloured covered / not covered."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from netplan.maps import style
from netplan.maps.geojson import LINE_DECIMALS, GeoJsonLayer, feature_collection
from netplan.maps.text import esc, fmt_num, fmt_pct, popup_table, truthy

LARGE_VILLAGES = 5000  # above this many villages their circles are drawn without an outline


def covered_mask(villages: gpd.GeoDataFrame, stream: str) -> np.ndarray:
    """Boolean array: village covered for ``stream`` (missing column or null = not covered).

    A village that generates none of the stream (``<stream>_t_yr`` = 0, e.g. an urban community
    for straw) has nothing left uncollected and is not drawn as a gap; the indicators leave such
    villages out of their denominators too (docs/indicators.md).
    """
    col = f"{stream}_covered"
    if col not in villages.columns:
        return np.zeros(len(villages), dtype=bool)
    cov = np.array([truthy(v) for v in villages[col]], dtype=bool)
    gen = f"{stream}_t_yr"
    if gen in villages.columns:
        cov |= pd.to_numeric(villages[gen], errors="coerce").fillna(0).to_numpy() <= 0
    return cov



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

