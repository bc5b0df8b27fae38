"""Merging county run folders into region.gpkg, region_kpis.csv and the region map."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from shapely.geometry import Point, box

from netplan.batch.merge import attainment, merge_region
from netplan.batch.region_map import FAILED_COLOUR, attainment_colour
from netplan.batch.runner import CountyResult
from netplan.export import write_csv, write_gpkg
from netplan.maps.assets import external_references
from netplan.runfolder import read_kpis

KPI_A = [  # 2 of 3 targets met
    ("straw", "village_coverage", 0.9, 0.82, True, "fraction", "秸秆覆盖率"),
    ("film", "recovery_rate", 0.95, 0.96, False, "fraction", "农膜回收率"),
    ("recyclables", "village_coverage", 1.0, 1.0, True, "fraction", "再生资源覆盖率"),
    ("all", "cost_cny_yr", 1.5e6, None, None, "CNY/yr", "年成本"),
]
KPI_B = [  # all met
    ("straw", "village_coverage", 0.85, 0.82, True, "fraction", "秸秆覆盖率"),
    ("all", "cost_cny_yr", 2.0e6, None, None, "CNY/yr", "年成本"),
]
COLS = ["stream", "indicator", "value", "target", "met", "unit", "label_zh"]


def _county_dir(root: Path, name: str, adcode: str, name_zh: str, x0: float) -> Path:
    d = root / "region" / name
    d.mkdir(parents=True)
    (d / "county.toml").write_text(f'name = "{name}"\nname_zh = "{name_zh}"\nadcode = "{adcode}"\n',
                                   encoding="utf-8")
    gpd.GeoDataFrame({"adcode": [adcode]}, geometry=[box(x0, 32.0, x0 + 0.5, 32.5)],
                     crs="EPSG:4326").to_file(d / "boundary.geojson", driver="GeoJSON")
    return d


def _run_dir(root: Path, name: str, kpis: list, x0: float) -> Path:
    out = root / "out" / "counties" / name
    out.mkdir(parents=True)
    layers = {
        "boundary": gpd.GeoDataFrame({"name": [name]}, geometry=[box(x0, 32.0, x0 + 0.5, 32.5)],
                                     crs="EPSG:4326"),
        "villages": gpd.GeoDataFrame({"village_id": ["1", "2"], "name": ["张庄", "李楼"],
                                      "straw_covered": [True, False]},
                                     geometry=[Point(x0 + 0.1, 32.1), Point(x0 + 0.2, 32.2)],
                                     crs="EPSG:4326"),
        "sites": gpd.GeoDataFrame({"site_id": ["T1"], "stream": ["straw"],
                                   "tier": ["township_station"], "load_t": [100.0],
                                   "capacity_t": [1000.0]},
                                  geometry=[Point(x0 + 0.25, 32.25)], crs="EPSG:4326"),
    }
    write_gpkg(out / "plan.gpkg", layers)
    write_csv(out / "kpis.csv", pd.DataFrame(kpis, columns=COLS))
    (out / "index.html").write_text("<html></html>", encoding="utf-8")
    return out


def _results(tmp_path: Path) -> list[CountyResult]:
    da = _county_dir(tmp_path, "A", "411721", "西平县", 113.5)
    db = _county_dir(tmp_path, "B", "411722", "上蔡县", 114.0)
    dc = _county_dir(tmp_path, "C", "411723", "平舆县", 114.5)
    ra, rb = _run_dir(tmp_path, "A", KPI_A, 113.5), _run_dir(tmp_path, "B", KPI_B, 114.0)
    return [
        CountyResult("A", "done", ra, "h1", time_s=3.0, peak_rss_mb=300.0, county_dir=da),
        CountyResult("B", "skipped", rb, "h2", county_dir=db),
        CountyResult("C", "failed", tmp_path / "out" / "counties" / "C", "h3",
                     error_kind="InfeasibleError", error="no feasible plan: village 7", county_dir=dc),
    ]


def test_attainment_counts_only_rows_with_a_target():
    """Attainment = met targets / targets; rows without a target do not count."""
    df = pd.DataFrame(KPI_A, columns=COLS)
    a = attainment(df)
    assert (a["n_targets"], a["n_met"]) == (3, 2)
    assert abs(a["attainment"] - 2 / 3) < 1e-12
    assert a["missed"] == "film.recovery_rate"


def test_read_kpis_parses_met_written_as_text(tmp_path):
    """kpis.csv 'True'/'False'/empty become True/False/None; BOM is handled."""
    write_csv(tmp_path / "kpis.csv", pd.DataFrame(KPI_A, columns=COLS))
    k = read_kpis(tmp_path / "kpis.csv")
    assert list(k["met"]) == [True, False, True, None]
    assert k["target"].isna().sum() == 1


def test_merge_writes_region_gpkg_kpis_and_status(tmp_path):
    """region_kpis has one row per county, stream and indicator; region.gpkg tags every row."""
    res = _results(tmp_path)
    out = merge_region(tmp_path / "out", res, title="驻马店市 test")
    kp = pd.read_csv(out.kpis_csv, encoding="utf-8-sig", dtype={"adcode": str})
    assert len(kp) == len(KPI_A) + len(KPI_B)
    assert list(kp.columns[:3]) == ["county", "county_zh", "adcode"]
    assert set(kp["county"]) == {"A", "B"}
    assert not kp.duplicated(["county", "stream", "indicator"]).any()
    assert kp.loc[kp["county"] == "A", "adcode"].iloc[0] == "411721"

    names = set(pyogrio.list_layers(out.gpkg)[:, 0])
    assert {"counties", "villages", "sites"} <= names
    c = gpd.read_file(out.gpkg, layer="counties").set_index("county")
    assert c.loc["A", "n_met"] == 2 and c.loc["A", "n_targets"] == 3
    assert c.loc["B", "attainment"] == 1.0
    assert c.loc["C", "status"] == "failed" and "village 7" in c.loc["C", "error"]
    assert c.geometry.notna().all()  # failed county drawn from its input boundary
    v = gpd.read_file(out.gpkg, layer="villages")
    assert len(v) == 4 and sorted(set(v["county_zh"])) == ["上蔡县", "西平县"]
    assert v.crs.to_epsg() == 4326

    st = pd.read_csv(out.status_csv, encoding="utf-8-sig")
    assert list(st["status"]) == ["done", "skipped", "failed"]
    assert st.loc[2, "error_kind"] == "InfeasibleError"


def test_region_map_colours_counties_and_links_to_county_maps(tmp_path):
    """index.html links each finished county's maps, greys failed ones, loads nothing online."""
    out = merge_region(tmp_path / "out", _results(tmp_path), title="驻马店市 test")
    html = out.index_html.read_text(encoding="utf-8")
    assert "counties/A/index.html" in html and "counties/B/index.html" in html
    assert "counties/C/index.html" not in html
    assert attainment_colour(1.0) in html and attainment_colour(2 / 3) in html
    assert FAILED_COLOUR in html
    assert external_references(html) == []
    assert "L.map" in html or "leaflet" in html.lower()


def test_attainment_colour_classes():
    """Colour classes: all met, ≥75 %, ≥50 %, below; failed and no-target are grey."""
    cols = [attainment_colour(a) for a in (1.0, 0.8, 0.5, 0.2)]
    assert len(set(cols)) == 4
    assert attainment_colour(0.9, "failed") == FAILED_COLOUR
    assert attainment_colour(float("nan")) != cols[0]
