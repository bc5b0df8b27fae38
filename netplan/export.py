"""Write a run's outputs atomically: everything goes to a temporary folder first and is moved
into place only when every file is complete, so a failed run leaves no half-written files."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd

LAYER_ORDER = ("villages", "farms", "sites", "assignments", "routes", "boundary", "townships")


@contextmanager
def staging(out_dir: Path):
    """Yield a temporary folder beside ``out_dir``; on success move its files into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        yield tmp
        out_dir.mkdir(parents=True, exist_ok=True)
        for src in sorted(tmp.rglob("*")):
            rel = src.relative_to(tmp)
            dst = out_dir / rel
            if src.is_dir():
                dst.mkdir(parents=True, exist_ok=True)
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_gpkg(path: Path, layers: Mapping[str, gpd.GeoDataFrame]) -> Path:
    """Write the layers (in LAYER_ORDER) to one GeoPackage."""
    path = Path(path)
    if path.exists():
        path.unlink()
    for name in LAYER_ORDER:
        if name not in layers:
            continue
        gdf = layers[name]
        if len(gdf) == 0:
            continue
        gdf = gdf.copy()
        for c in gdf.columns:
            if c != gdf.geometry.name and gdf[c].dtype == object:
                gdf[c] = gdf[c].where(gdf[c].notna(), None)
        gdf.to_file(path, layer=name, driver="GPKG", engine="pyogrio")
    return path


def write_csv(path: Path, df: pd.DataFrame) -> Path:
    """CSV in UTF-8 with a BOM so that Excel shows Chinese text."""
    df.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")
    return path


def write_outputs(out_dir: Path, layers: Mapping[str, gpd.GeoDataFrame], kpis: pd.DataFrame,
                  extra: Callable[[Path], None] | None = None) -> list[Path]:
    """Write plan.gpkg, kpis.csv, sites.csv, routes.csv (and whatever ``extra`` writes, e.g. maps)
    into ``out_dir`` atomically. Returns the final paths."""
    with staging(Path(out_dir)) as tmp:
        write_gpkg(tmp / "plan.gpkg", layers)
        write_csv(tmp / "kpis.csv", kpis)
        for name in ("sites", "routes"):
            if name in layers:
                g = layers[name]
                write_csv(tmp / f"{name}.csv", pd.DataFrame(g.drop(columns=g.geometry.name)))
        if extra is not None:
            extra(tmp)
        names = sorted(p.relative_to(tmp) for p in tmp.rglob("*") if p.is_file())
    return [Path(out_dir) / n for n in names]
