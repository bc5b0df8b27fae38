"""County folders as planners prepare them: the demo format, and messy real-world variants (Excel
with Chinese headers and Gaode coordinates, GBK Shapefiles, GeoPackages, Gauss-Krüger coordinates)
all read to the same County in WGS-84."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from netplan import coords
from netplan.errors import InputError
from netplan.inputs import load_county, validate_folder
from netplan.inputs.crs import transformer

DATA = Path(__file__).parent / "data" / "inputs"
BOUNDARY = box(114.60, 32.98, 114.70, 33.02)
TOWN_POLYS = [box(114.60, 32.98, 114.65, 33.02), box(114.65, 32.98, 114.70, 33.02)]
VILLAGES = pd.DataFrame({
    "village_id": ["411723101201", "411723101202", "411723101203", "411723001201"],
    "name": ["张庄村", "李楼村", "王营村", "赵寨社区"],
    "township_code": ["411723101", "411723101", "411723101", "411723001"],
    "township": ["甲镇", "甲镇", "甲镇", "乙街道"],
    "lon": [114.61, 114.63, 114.64, 114.69],
    "lat": [33.0, 33.0, 33.01, 33.0],
    "households": [300, 200, 100, 400],
    "population": [1000, 600, 300, 1500],
    "cropland_mu": [2000.0, 1000.0, 500.0, 100.0],
    "wheat_mu": [1000.0, 500.0, 0.0, 0.0],
    "pigs": [100, 0, 0, 0],
})
TOML = """name = "Tiny"
name_zh = "小县"
adcode = "411723"
province = "河南省"
prefecture = "驻马店市"
terrain = "plain"
metric_crs = "EPSG:4547"
"""


def write_townships(path: Path, **kw) -> None:
    """The two townships as a polygon layer (any format geopandas writes)."""
    gpd.GeoDataFrame({
        "township_code": ["411723101", "411723001"], "name": ["甲镇", "乙街道"], "name_en": ["Jia", "Yi"],
        "kind": ["镇", "街道"], "farming": [True, False], "seat_lon": [114.62, 114.68],
        "seat_lat": [33.0, 33.0]}, geometry=TOWN_POLYS, crs="EPSG:4326").to_file(path, **kw)


def build_folder(root: Path, *, villages: pd.DataFrame | None = None, toml_extra: str = "",
                 farms: bool = True, sites: bool = True) -> Path:
    """A clean county folder in the demo format (county.toml, GeoJSON boundary and townships,
    villages/farms/sites CSV) under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "county.toml").write_text(TOML + toml_extra, encoding="utf-8")
    gpd.GeoDataFrame({"name": ["Tiny"]}, geometry=[BOUNDARY], crs="EPSG:4326").to_file(
        root / "boundary.geojson")
    write_townships(root / "townships.geojson")
    (villages if villages is not None else VILLAGES).to_csv(root / "villages.csv", index=False)
    if farms:
        pd.DataFrame({"farm_id": ["F1"], "name": ["甲猪场"], "village_id": ["411723101201"],
                      "township_code": ["411723101"], "lon": [114.615], "lat": [33.005],
                      "species": ["pig"], "stock_head": [1000]}).to_csv(root / "farms.csv", index=False)
    if sites:
        pd.DataFrame({"site_id": ["S1", "S2"], "name": ["农资店", "生物质电厂"],
                      "kind": ["agro_store", "biomass_plant"], "township_code": ["411723101", "411723001"],
                      "lon": [114.625, 114.695], "lat": [33.0, 33.01],
                      "streams": ["film;pesticide_packaging", "straw"],
                      "tiers": ["village_point", "county_center"], "capacity_t": ["", "100000"],
                      "status": ["existing", "existing"]}).to_csv(root / "sites.csv", index=False)
    return root


def test_demo_format_folder_loads(tmp_path):
    """A folder in the demo format reads to a County with every table in EPSG:4326, ids as text and
    quantities as numbers."""
    c = load_county(build_folder(tmp_path / "c"))
    assert (c.name, c.name_zh, c.adcode, c.terrain, c.metric_crs) == ("Tiny", "小县", "411723", "plain",
                                                                      "EPSG:4547")
    assert len(c.villages) == 4 and len(c.townships) == 2 and len(c.farms) == 1 and len(c.sites) == 2
    for g in (c.boundary, c.townships, c.villages, c.farms, c.sites):
        assert g.crs.to_epsg() == 4326
    assert c.villages["village_id"].tolist() == VILLAGES["village_id"].tolist()
    assert c.villages["population"].tolist() == [1000, 600, 300, 1500]
    assert c.villages.geometry.iloc[0].equals(Point(114.61, 33.0))
    assert c.townships["farming"].tolist() == [True, False]
    assert np.isnan(c.sites["capacity_t"].iloc[0]) and c.sites["capacity_t"].iloc[1] == 100000
    assert c.sites["streams"].tolist() == ["film;pesticide_packaging", "straw"]
    assert c.roads_path is None
    assert c.notes["province"] == "河南省"


def test_optional_files_missing_give_empty_tables_and_a_note(tmp_path):
    """Without farms.csv and sites.csv the county has empty farms and sites tables, and notes say so."""
    c = load_county(build_folder(tmp_path / "c", farms=False, sites=False))
    assert len(c.farms) == 0 and "stock_head" in c.farms.columns
    assert len(c.sites) == 0 and "capacity_t" in c.sites.columns
    assert any("no farms file" in n for n in c.notes["notes"])
    assert any("no sites file" in n for n in c.notes["notes"])


def gcj(lon, lat):
    """WGS-84 -> GCJ-02 as plain lists."""
    x, y = coords.wgs84_to_gcj02(np.asarray(lon), np.asarray(lat))
    return list(x), list(y)


def test_planner_folder_xlsx_gcj02_gbk_shapefile_gpkg(tmp_path):
    """A planner's folder: villages.xlsx with Chinese headers, Gaode (GCJ-02) coordinates and areas in
    公顷; townships as a GBK Shapefile without .cpg; the boundary as a GeoPackage. It reads to the
    same villages as the clean folder: positions within 0.05 m, areas converted to mu."""
    root = tmp_path / "planner"
    root.mkdir()
    (root / "county.toml").write_text(TOML + """
[files]
boundary = "县界.gpkg"
townships = "乡镇.shp"
[files.villages]
path = "村庄.xlsx"
crs = "gcj02"
""", encoding="utf-8")
    gpd.GeoDataFrame({"name": ["Tiny"]}, geometry=[BOUNDARY], crs="EPSG:4326").to_file(
        root / "县界.gpkg", layer="县界")
    write_townships(root / "乡镇.shp", encoding="GBK")
    root.joinpath("乡镇.cpg").unlink(missing_ok=True)
    glon, glat = gcj(VILLAGES["lon"], VILLAGES["lat"])
    xls = pd.DataFrame({"行政村代码": VILLAGES["village_id"], "村名": VILLAGES["name"],
                        "所属乡镇": ["甲", "甲镇", "甲镇", "乙街道"], "经度": glon, "纬度": glat,
                        "户数": VILLAGES["households"], "人口": VILLAGES["population"],
                        "耕地面积（公顷）": VILLAGES["cropland_mu"] / 15.0,
                        "小麦(亩)": VILLAGES["wheat_mu"], "生猪存栏": VILLAGES["pigs"]})
    xls.to_excel(root / "村庄.xlsx", index=False)
    c = load_county(root)
    assert c.townships["name"].tolist() == ["甲镇", "乙街道"]
    assert c.villages["township_code"].tolist() == VILLAGES["township_code"].tolist()
    np.testing.assert_allclose(c.villages["cropland_mu"], VILLAGES["cropland_mu"])
    np.testing.assert_allclose(c.villages["wheat_mu"], VILLAGES["wheat_mu"])
    d = coords_m(c.villages.geometry.x, c.villages.geometry.y, VILLAGES["lon"], VILLAGES["lat"])
    assert d.max() < 0.05
    raw = coords_m(np.array(glon), np.array(glat), VILLAGES["lon"], VILLAGES["lat"])
    assert raw.min() > 400  # unconverted they would sit ~540 m off
    assert c.notes["crs"]["villages"].startswith("GCJ-02")


def coords_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Distance in metres between two sets of WGS-84 points (EPSG:4547)."""
    t = transformer("EPSG:4326", "EPSG:4547")
    x1, y1 = t.transform(np.asarray(lon1, float), np.asarray(lat1, float))
    x2, y2 = t.transform(np.asarray(lon2, float), np.asarray(lat2, float))
    return np.hypot(np.asarray(x1) - x2, np.asarray(y1) - y2)


def test_gbk_csv_with_chinese_headers_is_decoded(tmp_path):
    """A villages.csv saved by Chinese Excel (GBK, Chinese headers) is detected and decoded."""
    root = build_folder(tmp_path / "c")
    df = VILLAGES.rename(columns={"village_id": "编号", "name": "村名", "township": "乡镇",
                                  "population": "人口", "cropland_mu": "耕地面积"})
    df.drop(columns=["township_code"]).to_csv(root / "villages.csv", index=False, encoding="gbk")
    c = load_county(root)
    assert c.villages["name"].tolist() == VILLAGES["name"].tolist()
    assert c.villages["township_code"].tolist() == VILLAGES["township_code"].tolist()
    assert any("gb18030" in n for n in c.notes["notes"])


@pytest.mark.parametrize("surveyor_order", [False, True])
def test_gauss_kruger_with_zone_prefix_is_detected(tmp_path, surveyor_order):
    """CGCS2000 3-degree GK coordinates with the zone prefix (38 -> EPSG:4526) are recognised
    without a declaration, also in the surveyor's X = northing order, and land within 1 cm."""
    t = transformer("EPSG:4326", "EPSG:4526")
    e, n = t.transform(VILLAGES["lon"].to_numpy(), VILLAGES["lat"].to_numpy())
    assert 38.4e6 < e.min() < 38.6e6
    df = VILLAGES.drop(columns=["lon", "lat"]).assign(X=n, Y=e) if surveyor_order else \
        VILLAGES.drop(columns=["lon", "lat"]).assign(x=e, y=n)
    root = build_folder(tmp_path / "c", villages=df)
    c = load_county(root)
    assert coords_m(c.villages.geometry.x, c.villages.geometry.y, VILLAGES["lon"],
                    VILLAGES["lat"]).max() < 0.01


def test_declared_epsg_without_zone_prefix_and_baidu(tmp_path):
    """Eastings without zone prefix read when the file declares EPSG:4547; Baidu (BD-09) villages
    read when declared bd09 - both within 0.05 m of the truth."""
    t = transformer("EPSG:4326", "EPSG:4547")
    e, n = t.transform(VILLAGES["lon"].to_numpy(), VILLAGES["lat"].to_numpy())
    df = VILLAGES.drop(columns=["lon", "lat"]).assign(东坐标=e, 北坐标=n)
    root = build_folder(tmp_path / "gk", villages=df, toml_extra="""
[files.villages]
path = "villages.csv"
crs = "EPSG:4547"
columns = { lon = "东坐标", lat = "北坐标" }
""")
    c = load_county(root)
    assert coords_m(c.villages.geometry.x, c.villages.geometry.y, VILLAGES["lon"],
                    VILLAGES["lat"]).max() < 0.05
    bx, by = coords.wgs84_to_bd09(VILLAGES["lon"].to_numpy(), VILLAGES["lat"].to_numpy())
    root = build_folder(tmp_path / "bd", villages=VILLAGES.assign(lon=bx, lat=by),
                        toml_extra='crs = "baidu"\n')
    c = load_county(root)
    assert coords_m(c.villages.geometry.x, c.villages.geometry.y, VILLAGES["lon"],
                    VILLAGES["lat"]).max() < 0.05


def test_shapefile_without_prj_in_gk_is_detected(tmp_path):
    """A townships Shapefile in GK zone 38 with zone prefix and no .prj is detected (noted) and
    reprojected."""
    root = build_folder(tmp_path / "c")
    g = gpd.GeoDataFrame({"code": ["411723101", "411723001"], "乡镇名称": ["甲镇", "乙街道"]},
                         geometry=TOWN_POLYS, crs="EPSG:4326").to_crs("EPSG:4526")
    g.to_file(root / "townships.shp", encoding="GBK")
    root.joinpath("townships.prj").unlink()
    root.joinpath("townships.cpg").unlink(missing_ok=True)
    root.joinpath("townships.geojson").unlink()
    c = load_county(root)
    assert c.townships["township_code"].tolist() == ["411723101", "411723001"]
    assert c.townships["name"].tolist() == ["甲镇", "乙街道"]
    assert abs(c.townships.geometry.iloc[0].bounds[0] - 114.60) < 1e-6
    assert any("detected EPSG:4526" in n for n in c.notes["notes"])


def test_column_mapping_argument_wins(tmp_path):
    """load_county(columns=...) maps an unusual header onto a canonical column."""
    df = VILLAGES.rename(columns={"name": "自然村全称"})
    root = build_folder(tmp_path / "c", villages=df)
    c = load_county(root, columns={"villages": {"name": "自然村全称"}})
    assert c.villages["name"].tolist() == VILLAGES["name"].tolist()


def test_townships_table_csv_without_polygons(tmp_path):
    """Townships may come as a plain table (code, name, seat); kind and farming are inferred from
    the name (街道 -> not farming) and noted."""
    root = build_folder(tmp_path / "c")
    root.joinpath("townships.geojson").unlink()
    pd.DataFrame({"乡镇代码": ["411723101", "411723001"], "乡镇名称": ["甲镇", "乙街道"],
                  "驻地经度": [114.62, 114.68], "驻地纬度": [33.0, 33.0]}).to_csv(
        root / "townships.csv", index=False)
    c = load_county(root)
    assert c.townships["kind"].tolist() == ["镇", "街道"]
    assert c.townships["farming"].tolist() == [True, False]
    assert c.townships["seat_lon"].tolist() == [114.62, 114.68]


def test_fixture_folder_planner_format_validates():
    """The committed fixture (tests/data/inputs/planner: Pingyu's Amap outline in GCJ-02, a GBK
    Shapefile of townships in GK zone 38, Excel villages with Chinese headers in GCJ-02, areas in
    公顷) validates clean, villages land where they were picked (WGS-84) and areas are in mu."""
    rep = validate_folder(DATA / "planner")
    assert rep.ok, rep.format()
    c = rep.county
    assert c is not None and c.name_zh == "平舆县"
    assert c.townships["name"].tolist() == ["杨埠镇", "古槐街道"]
    assert c.townships["farming"].tolist() == [True, False]
    assert c.villages["township_code"].tolist() == ["411723101"] * 3 + ["411723001"]
    truth = (np.array([114.55, 114.60, 114.62, 114.70]), np.array([32.95, 33.00, 32.90, 32.99]))
    assert coords_m(c.villages.geometry.x, c.villages.geometry.y, *truth).max() < 0.2  # 6-decimal input
    np.testing.assert_allclose(c.villages["cropland_mu"], [2000, 1000, 500, 100], atol=0.1)
    assert c.boundary.geometry.iloc[0].contains(c.villages.geometry).all()


def test_templates_load_as_a_county(tmp_path):
    """The templates in data/templates (villages/farms/sites/townships) read through the same
    header aliases: a folder made of them plus a boundary loads."""
    tpl = Path(__file__).parents[1] / "data" / "templates"
    root = tmp_path / "t"
    root.mkdir()
    for name in ("villages.csv", "farms.csv", "sites.csv", "townships.csv", "county.toml",
                 "boundary.geojson"):
        shutil.copy(tpl / name, root / name)
    c = load_county(root)
    assert len(c.villages) >= 2 and c.villages["population"].gt(0).all()
    x = load_county_xlsx(tpl, tmp_path / "x")
    assert x.villages["name"].tolist() == c.villages["name"].tolist()


def load_county_xlsx(tpl: Path, root: Path):
    """The same folder with villages.xlsx (Chinese headers) instead of villages.csv."""
    root.mkdir()
    for name in ("villages.xlsx", "farms.csv", "sites.csv", "townships.csv", "county.toml",
                 "boundary.geojson"):
        shutil.copy(tpl / name, root / name)
    toml = (root / "county.toml").read_text(encoding="utf-8")
    (root / "county.toml").write_text(toml.replace('villages = "villages.csv"',
                                                   'villages = "villages.xlsx"'), encoding="utf-8")
    return load_county(root)


def test_load_county_raises_inputerror_with_every_problem(tmp_path):
    """load_county refuses a folder with errors: one InputError carrying all of them."""
    df = VILLAGES.astype(object)
    df.loc[1, "population"] = "abc"
    df.loc[2, "village_id"] = df.loc[0, "village_id"]
    root = build_folder(tmp_path / "c", villages=df)
    with pytest.raises(InputError) as ei:
        load_county(root)
    fields = {(p.file, p.row, p.field) for p in ei.value.problems}
    assert ("villages.csv", 2, "population") in fields
    assert ("villages.csv", 3, "village_id") in fields
    assert all(p.severity == "error" for p in ei.value.problems)


def test_area_units_header_wins_over_declared(tmp_path):
    """With area_unit = "ha" declared, unit-less area headers are hectares (×15 mu), while a header
    stating its unit wins: "wheat_mu" stays mu, "玉米（万亩）" is 10 000 mu."""
    df = VILLAGES.drop(columns=["cropland_mu", "wheat_mu"]).assign(
        耕地面积=[10.0, 20.0, 0.0, 1.0], wheat_mu=[5.0, 0.0, 0.0, 0.0], **{"玉米（万亩）": [0.01, 0, 0, 0]})
    root = build_folder(tmp_path / "c", villages=df, toml_extra="""
[files.villages]
path = "villages.csv"
area_unit = "ha"
""")
    c = load_county(root)
    assert c.villages["cropland_mu"].tolist() == [150.0, 300.0, 0.0, 15.0]
    assert c.villages["wheat_mu"].tolist() == [5.0, 0.0, 0.0, 0.0]
    assert c.villages["maize_mu"].tolist() == [100.0, 0.0, 0.0, 0.0]


def test_degrees_minutes_seconds_and_thousands_separators(tmp_path):
    """Coordinates written as 114°36′36″ / 33度0分0秒 and populations with thousands commas read as
    numbers."""
    df = VILLAGES.astype(object)
    df.loc[0, "lon"] = "114°36′36″E"
    df.loc[0, "lat"] = "33度0分0秒"
    df.loc[0, "population"] = "1,000"
    c = load_county(build_folder(tmp_path / "c", villages=df))
    p = c.villages.geometry.iloc[0]
    assert abs(p.x - 114.61) < 1e-9 and abs(p.y - 33.0) < 1e-9
    assert c.villages["population"].iloc[0] == 1000


def test_excel_title_row_and_summary_rows(tmp_path):
    """An Excel sheet with a title line above the header and a 小计 row between villages (both
    common in county spreadsheets) reads: the title is skipped, the summary row dropped (noted),
    and a problem after it keeps the row number it has in the file."""
    root = build_folder(tmp_path / "c")
    (root / "villages.csv").unlink()
    head = ["行政村代码", "村名", "乡镇", "经度", "纬度", "人口"]
    rows = [["平舆县行政村基础数据表（2024年）", "", "", "", "", ""], head]
    for i in range(4):
        v = VILLAGES.iloc[i]
        rows.append([v["village_id"], v["name"], v["township"], v["lon"], v["lat"], v["population"]])
        if i == 1:
            rows.append(["小计", "", "", "", "", 1600])
    rows[-1][5] = "n/a?"  # the last village (data row 5 in the file) has a bad population
    pd.DataFrame(rows).to_excel(root / "villages.xlsx", index=False, header=False)
    rep = validate_folder(root, roads=False)
    assert [str(p) for p in rep.errors] == ["villages.xlsx, row 5, field 'population': not a number: 'n/a?'"]
    notes = [str(p) for p in rep.problems if p.severity == "note" and p.file == "villages.xlsx"]
    assert "villages.xlsx, row 3: summary row (合计/总计) skipped" in notes
    assert any("header is on line 2" in n for n in notes)
    assert len(rep.county.villages) == 4


def test_sites_geopackage_and_farms_geojson(tmp_path):
    """Existing sites as a GeoPackage point layer in GK zone 38 and farms as GeoJSON with Chinese
    headers read like their CSV versions; sites without a township column get the township whose
    polygon holds them."""
    root = build_folder(tmp_path / "c", farms=False, sites=False)
    gpd.GeoDataFrame({"编号": ["S1", "S2"], "名称": ["农资店", "电厂"], "类型": ["agro_store", "biomass_plant"],
                      "回收品类": ["农膜、农药包装", "秸秆"], "层级": ["村级", "县级"], "处理能力": [None, 1e5]},
                     geometry=[Point(114.625, 33.0), Point(114.695, 33.01)], crs="EPSG:4326"
                     ).to_crs("EPSG:4526").to_file(root / "sites.gpkg", layer="现有站点")
    gpd.GeoDataFrame({"养殖场编号": ["F1"], "养殖场名称": ["甲猪场"], "村编号": ["411723101201"],
                      "畜种": ["生猪"], "存栏": [1000]}, geometry=[Point(114.615, 33.005)],
                     crs="EPSG:4326").to_file(root / "farms.geojson")
    c = load_county(root)
    assert c.sites["township_code"].tolist() == ["411723101", "411723001"]
    assert c.sites["streams"].tolist() == ["film;pesticide_packaging", "straw"]
    assert c.sites["tiers"].tolist() == ["village_point", "county_center"]
    assert coords_m(c.sites.geometry.x, c.sites.geometry.y, [114.625, 114.695], [33.0, 33.01]).max() < 0.01
    assert c.farms["species"].tolist() == ["pig"] and c.farms["township_code"].tolist() == ["411723101"]
    assert c.farms["stock_head"].tolist() == [1000]


def test_excel_unicode_text_export_utf16_tabs(tmp_path):
    """Excel's "Unicode text" export (UTF-16 with BOM, tab-separated) is detected and read."""
    root = build_folder(tmp_path / "c")
    text = VILLAGES.rename(columns={"name": "村名"}).to_csv(sep="\t", index=False)
    (root / "villages.csv").write_bytes(text.encode("utf-16"))
    c = load_county(root)
    assert c.villages["name"].tolist() == VILLAGES["name"].tolist()
    assert c.villages["population"].tolist() == VILLAGES["population"].tolist()


def test_zipped_gbk_shapefile(tmp_path):
    """A zipped Shapefile (as sent by chat apps) with GBK attributes and no .cpg reads, its code
    page detected from the .dbf inside the zip."""
    import zipfile
    root = build_folder(tmp_path / "c")
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    write_townships(shp_dir / "乡镇.shp", encoding="GBK")
    (shp_dir / "乡镇.cpg").unlink(missing_ok=True)
    with zipfile.ZipFile(root / "townships.zip", "w") as zf:
        for f in shp_dir.iterdir():
            zf.write(f, f.name)
    (root / "townships.geojson").unlink()
    c = load_county(root)
    assert c.townships["name"].tolist() == ["甲镇", "乙街道"]
    assert any("townships.zip: read with encoding GB18030 (detected)" in n for n in c.notes["notes"])
