"""Merge the county run folders of a batch into region outputs.

* ``region.gpkg`` (EPSG:4326): layer ``counties`` (one polygon per county: status, targets met,
  attainment) and the county layers of docs/outputs.md (``villages``, ``farms``, ``sites``,
  ``assignments``, ``routes``, ``townships``) concatenated, each row tagged with ``county``,
  ``county_zh`` and ``adcode`` (site ids are only unique within a county); plus ``tier3_links``
  and ``tier3_centres`` when the cross-county tier-3 siting ran.
* ``region_kpis.csv``: every county's ``kpis.csv`` rows with the county in front — one row per
  county, stream and indicator (UTF-8 with BOM, like kpis.csv).
* ``batch_status.csv``: one row per county: status, error, time, worker peak memory, input hash.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from netplan.batch.runner import COUNTIES_DIR, CountyResult, county_identity
from netplan.export import staging, write_csv
from netplan.runfolder import KPI_COLUMNS, KPIS_CSV, PLAN_GPKG, read_kpis, read_layers

WGS84 = "EPSG:4326"
COUNTY_LAYERS = ("villages", "farms", "sites", "assignments", "routes", "townships")


@dataclass(frozen=True)
class RegionOutputs:
    """Files written by :func:`merge_region` and the per-county summary behind them.

    Attributes
    ----------
    gpkg, kpis_csv, status_csv, index_html
        Paths of region.gpkg, region_kpis.csv, batch_status.csv and index.html (None if no map).
    counties
        One row per county (the ``counties`` layer): county, county_zh, adcode, status,
        n_targets, n_met, attainment (0–1, NaN without targets), missed, error, geometry.
    kpis
        The region KPI table.
    tier3
        The cross-county tier-3 result (:class:`netplan.batch.tier3.Tier3Result`), when asked for.
    """

    gpkg: Path
    kpis_csv: Path
    status_csv: Path
    index_html: Path | None
    counties: gpd.GeoDataFrame
    kpis: pd.DataFrame
    tier3: Any = None


def attainment(kpis: pd.DataFrame) -> dict[str, Any]:
    """How many of a county's targets are met: n_targets, n_met, attainment (0–1), missed.

    ``missed`` is the ";"-list of ``stream.indicator`` whose target is not met; attainment is
    NaN when the table has no target.
    """
    t = kpis[kpis["target"].notna()]
    met = [m is True for m in t["met"]]
    n = len(t)
    missed = [f"{s}.{i}" for s, i, ok in zip(t["stream"], t["indicator"], met, strict=True) if not ok]
    return {"n_targets": n, "n_met": int(sum(met)),
            "attainment": float(sum(met) / n) if n else float("nan"), "missed": ";".join(missed)}


def _outline(run_dir: Path, county_dir: Path | None) -> Any:
    """County outline: the run's ``boundary`` layer, else the input folder's boundary file."""
    gpkg = run_dir / PLAN_GPKG
    src: gpd.GeoDataFrame | None = None
    if gpkg.is_file() and "boundary" in set(pyogrio.list_layers(gpkg)[:, 0]):
        src = gpd.read_file(gpkg, layer="boundary", engine="pyogrio")
    elif county_dir is not None:
        files = {"boundary": "boundary.geojson"}
        try:
            with open(Path(county_dir) / "county.toml", "rb") as f:
                files.update(tomllib.load(f).get("files", {}))
        except (OSError, tomllib.TOMLDecodeError):
            pass
        p = Path(county_dir) / files["boundary"]
        if p.is_file():
            src = gpd.read_file(p, engine="pyogrio")
    if src is None or not len(src):
        return None
    src = src.to_crs(WGS84) if src.crs is not None else src.set_crs(WGS84)
    return src.geometry.union_all()


def _tag(gdf: pd.DataFrame, ident: Mapping[str, str]) -> pd.DataFrame:
    gdf = gdf.copy()
    for i, (k, v) in enumerate(ident.items()):
        if k in gdf.columns:
            gdf = gdf.drop(columns=k)
        gdf.insert(i, k, v)
    return gdf


def _concat(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return gpd.GeoDataFrame(geometry=[], crs=WGS84)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=WGS84)


def county_table(results: Sequence[CountyResult]) -> tuple[gpd.GeoDataFrame, pd.DataFrame,
                                                           dict[str, list[gpd.GeoDataFrame]]]:
    """Per county summary (counties layer), the region KPI table and the layers to merge."""
    rows, kpi_frames = [], []
    layers: dict[str, list[gpd.GeoDataFrame]] = {n: [] for n in COUNTY_LAYERS}
    for r in results:
        run_dir = Path(r.out_dir)
        ident = county_identity(r.county_dir, r.name)
        done = r.ok and (run_dir / KPIS_CSV).is_file()
        row: dict[str, Any] = {**ident, "status": r.status if done else "failed",
                               "n_targets": 0, "n_met": 0, "attainment": float("nan"),
                               "missed": "", "error": r.error or ("" if done else "no kpis.csv"),
                               "time_s": round(r.time_s, 2), "link": ""}
        if done:
            k = read_kpis(run_dir / KPIS_CSV)
            row.update(attainment(k))
            kpi_frames.append(_tag(k, ident))
            for name, g in read_layers(run_dir / PLAN_GPKG, COUNTY_LAYERS).items():
                layers[name].append(_tag(g, ident))
            row["link"] = f"{COUNTIES_DIR}/{r.name}/index.html"
        row["geometry"] = _outline(run_dir, r.county_dir)
        rows.append(row)
    counties = gpd.GeoDataFrame(rows, geometry="geometry", crs=WGS84)
    kpis = (pd.concat(kpi_frames, ignore_index=True) if kpi_frames
            else pd.DataFrame(columns=["county", "county_zh", "adcode", *KPI_COLUMNS]))
    return counties, kpis, layers


def status_table(results: Sequence[CountyResult]) -> pd.DataFrame:
    """batch_status.csv: county, status, time_s, cpu_s, peak_rss_mb, worker, error_kind, error, input_hash."""
    return pd.DataFrame([{
        "county": r.name, "status": r.status, "time_s": round(r.time_s, 3),
        "cpu_s": round(r.cpu_s, 3),
        "peak_rss_mb": None if r.peak_rss_mb is None else round(r.peak_rss_mb, 1),
        "worker": r.worker, "error_kind": r.error_kind, "error": r.error,
        "input_hash": r.input_hash} for r in results])


def merge_region(out_dir: str | Path, results: Sequence[CountyResult], *, title: str = "",
                 maps: bool = True, tier3: Any = None) -> RegionOutputs:
    """Write region.gpkg, region_kpis.csv, batch_status.csv and the region map into ``out_dir``.

    Parameters
    ----------
    out_dir
        The batch output folder (county run folders are in ``out_dir/counties/``).
    results
        The batch's :class:`CountyResult` per county (failed ones are listed, not merged).
    title
        Title of the region map.
    maps
        Write ``index.html`` (the region map).
    tier3
        A :class:`netplan.batch.tier3.Tier3Result`, or a function of the merged ``sites`` layer
        returning one; added as layers ``tier3_links`` and ``tier3_centres`` and table
        ``region_tier3.csv``.

    Returns
    -------
    RegionOutputs
    """
    out_dir = Path(out_dir)
    counties, kpis, layers = county_table(results)
    if callable(tier3):
        tier3 = tier3(_concat(layers["sites"]))
    with staging(out_dir, keep=(COUNTIES_DIR,)) as tmp:
        gpkg = tmp / "region.gpkg"
        counties.drop(columns=["link"]).to_file(gpkg, layer="counties", driver="GPKG",
                                                engine="pyogrio")
        for name in COUNTY_LAYERS:
            g = _concat(layers[name])
            if len(g):
                _write_layer(gpkg, name, g)
        if tier3 is not None:
            for name, g in (("tier3_links", tier3.links), ("tier3_centres", tier3.centres)):
                if len(g):
                    _write_layer(gpkg, name, g)
            write_csv(tmp / "region_tier3.csv", tier3.summary)
        write_csv(tmp / "region_kpis.csv", kpis)
        write_csv(tmp / "batch_status.csv", status_table(results))
        (tmp / "region_counties.json").write_text(json.dumps(
            counties.drop(columns="geometry").replace({np.nan: None}).to_dict("records"),
            ensure_ascii=False, indent=1), encoding="utf-8")
        if maps:
            from netplan.batch.region_map import write_region_map

            write_region_map(tmp / "index.html", counties, title=title or "Region",
                             tier3=tier3)
    return RegionOutputs(gpkg=out_dir / "region.gpkg", kpis_csv=out_dir / "region_kpis.csv",
                         status_csv=out_dir / "batch_status.csv",
                         index_html=out_dir / "index.html" if maps else None,
                         counties=counties, kpis=kpis, tier3=tier3)


def _write_layer(gpkg: Path, name: str, gdf: gpd.GeoDataFrame) -> None:
    gdf = gdf.copy()
    for c in gdf.columns:
        if c != gdf.geometry.name and gdf[c].dtype == object:
            gdf[c] = gdf[c].where(gdf[c].notna(), None)
    gdf.to_file(gpkg, layer=name, driver="GPKG", engine="pyogrio")
