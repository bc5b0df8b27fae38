"""Outputs are written atomically: all files or none."""

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point

from netplan.export import write_outputs


def _layers():
    v = gpd.GeoDataFrame({"village_id": ["v1"], "name": ["张庄"], "film_covered": [True]},
                         geometry=[Point(114.6, 33.0)], crs="EPSG:4326")
    s = gpd.GeoDataFrame({"site_id": ["S1"], "stream": ["film"], "tier": ["village_point"]},
                         geometry=[Point(114.61, 33.0)], crs="EPSG:4326")
    return {"villages": v, "sites": s}


def _kpis():
    return pd.DataFrame([{"stream": "film", "indicator": "recovery_rate", "value": 0.97,
                          "target": 0.96, "met": True, "unit": "fraction", "label_zh": "回收率"}])


def test_writes_gpkg_and_csv(tmp_path):
    """plan.gpkg gets the layers, kpis.csv is UTF-8 with BOM (Excel), sites.csv has no geometry."""
    out = tmp_path / "run"
    files = write_outputs(out, _layers(), _kpis())
    assert {f.name for f in files} == {"plan.gpkg", "kpis.csv", "sites.csv"}
    layers = {name for name, _ in pyogrio.list_layers(out / "plan.gpkg")}
    assert layers == {"villages", "sites"}
    raw = (out / "kpis.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "回收率".encode() in raw
    assert "geometry" not in (out / "sites.csv").read_text(encoding="utf-8-sig")
    assert list(out.parent.glob(".run.*")) == []


def test_failure_leaves_nothing_half_written(tmp_path):
    """When a late step fails, the output folder gets no file and the staging folder is removed."""
    out = tmp_path / "run"

    def boom(tmp):
        (tmp / "index.html").write_text("<html>", encoding="utf-8")
        raise RuntimeError("map failed")

    with pytest.raises(RuntimeError):
        write_outputs(out, _layers(), _kpis(), extra=boom)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_rerun_replaces_files(tmp_path):
    """A second run overwrites the first run's files in place."""
    out = tmp_path / "run"
    write_outputs(out, _layers(), _kpis())
    k = _kpis()
    k.loc[0, "value"] = 0.5
    write_outputs(out, _layers(), k)
    assert "0.5" in (out / "kpis.csv").read_text(encoding="utf-8-sig")
