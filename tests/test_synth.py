"""netplan.synth: the synthetic-but-grounded county generator and the committed demo counties."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmnx as ox
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import shape

from netplan.errors import InputError
from netplan.synth import FILES, generate_county, load_county, metric_crs_for
from netplan.synth.admin import calibration, township_kind
from netplan.synth.osm import chaikin
from netplan.synth.places import allocate

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "data" / "demo"
HILLS = REPO / "data" / "demo_hills"
SMALL = {"adcode": "410421", "seed": 3, "n_villages": 40, "lattice_m": 200.0}   # 宝丰县, 732 km2


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small") / "small"
    generate_county(SMALL["adcode"], out, seed=SMALL["seed"], n_villages=SMALL["n_villages"],
                    lattice_m=SMALL["lattice_m"])
    return out


@pytest.fixture(scope="module")
def small_hilly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hilly")
    generate_county("410411", out, seed=1, n_villages=40, terrain="hilly")   # 湛河区, 116 km2
    return out


OWN_FILES = ("county.toml", "README.md", *FILES.values())


def _digest(folder: Path) -> dict[str, str]:
    """SHA-256 of the generator's files (other tools may add files to a county folder)."""
    return {f: hashlib.sha256((folder / f).read_bytes()).hexdigest() for f in OWN_FILES}


def _points(folder: Path, name: str) -> gpd.GeoSeries:
    df = pd.read_csv(folder / name, dtype=str)
    return gpd.GeoSeries(gpd.points_from_xy(df["lon"].astype(float), df["lat"].astype(float)), crs=4326)


def _boundary(folder: Path) -> shapely.Geometry:
    fc = json.loads((folder / "boundary.geojson").read_text(encoding="utf-8"))
    assert len(fc["features"]) == 1
    return shape(fc["features"][0]["geometry"])


def test_same_seed_gives_identical_bytes(small: Path, tmp_path: Path) -> None:
    """Generating the same county with the same seed twice writes byte-identical files."""
    out = tmp_path / "small"    # same folder name: the README quotes the command
    generate_county(SMALL["adcode"], out, seed=SMALL["seed"], n_villages=SMALL["n_villages"],
                    lattice_m=SMALL["lattice_m"])
    assert _digest(out) == _digest(small)
    assert sorted(p.name for p in out.iterdir()) == sorted(OWN_FILES)


def test_other_seed_changes_villages(small: Path, tmp_path: Path) -> None:
    """A different seed moves the villages (the seed is really used) but keeps the real outline."""
    generate_county(SMALL["adcode"], tmp_path, seed=SMALL["seed"] + 1, n_villages=SMALL["n_villages"],
                    lattice_m=SMALL["lattice_m"])
    a = pd.read_csv(small / "villages.csv")
    b = pd.read_csv(tmp_path / "villages.csv")
    assert len(a) == len(b) == SMALL["n_villages"]
    assert not np.allclose(np.sort(a["lon"]), np.sort(b["lon"]))
    assert (small / "boundary.geojson").read_bytes() == (tmp_path / "boundary.geojson").read_bytes()


@pytest.mark.parametrize("which", ["small", "small_hilly"])
def test_outline_contains_all_points(which: str, request: pytest.FixtureRequest) -> None:
    """Every village, farm and site, and every township seat, lies inside the county outline."""
    folder = request.getfixturevalue(which)
    outline = _boundary(folder)
    for f in ("villages.csv", "farms.csv", "sites.csv"):
        pts = _points(folder, f)
        assert len(pts) > 0 or f == "farms.csv"
        assert shapely.contains(outline, pts.values).all(), f
    tw = gpd.read_file(folder / "townships.geojson")
    seats = shapely.points(tw["seat_lon"], tw["seat_lat"])
    assert shapely.contains(outline, seats).all()


@pytest.mark.parametrize("which", ["small", "small_hilly"])
def test_townships_partition_outline(which: str, request: pytest.FixtureRequest) -> None:
    """Township polygons cover the outline without overlaps, and each point's township_code is the
    township polygon that contains it."""
    folder = request.getfixturevalue(which)
    outline = _boundary(folder)
    tw = gpd.read_file(folder / "townships.geojson").to_crs(4547)
    out_m = gpd.GeoSeries([outline], crs=4326).to_crs(4547).iloc[0]
    # coordinates are rounded to 1e-6 deg (~0.1 m): slivers of that width are allowed
    assert abs(tw.area.sum() - out_m.area) / out_m.area < 1e-5
    union = shapely.union_all(tw.geometry.values)
    assert union.symmetric_difference(out_m).area / out_m.area < 1e-5
    assert tw["township_code"].str.fullmatch(r"\d{9}").all()
    v = pd.read_csv(folder / "villages.csv", dtype=str)
    farming = set(v.loc[v["unit"] == "village", "township_code"])
    assert (tw["farming"] == tw["township_code"].isin(farming)).all()
    tw4326 = tw.to_crs(4326)
    pts = _points(folder, "villages.csv")
    joined = gpd.sjoin(gpd.GeoDataFrame(v, geometry=pts.values, crs=4326), tw4326[["township_code", "geometry"]],
                       predicate="within")
    assert len(joined) == len(v)
    assert (joined["township_code_left"] == joined["township_code_right"]).all()
    assert v["village_id"].str.startswith(tuple(v["township_code"])).all()
    assert v["village_id"].is_unique and v["name"].is_unique


def _reach_check(folder: Path, max_m: float = 50.0) -> None:
    g = ox.graph_from_xml(folder / "roads.osm", simplify=True, retain_all=False)
    gs = ox.truncate.largest_component(g, strongly=True)
    assert len(gs) == len(g)      # one strongly connected component
    edges = ox.convert.graph_to_gdfs(ox.project_graph(gs, to_crs="EPSG:4547"), nodes=False)
    tree = shapely.STRtree(edges.geometry.values)
    for f in ("villages.csv", "farms.csv", "sites.csv"):
        pts = _points(folder, f).to_crs(4547)
        if len(pts) == 0:
            continue
        _, dist = tree.query_nearest(pts.values, return_distance=True, all_matches=False)
        assert dist.max() <= max_m, (f, float(dist.max()))
    assert set(edges["highway"].astype(str)) >= {"trunk", "residential", "unclassified"}


def _reach_check_points(folder: Path, max_m: float = 50.0) -> None:
    g = ox.truncate.largest_component(ox.graph_from_xml(folder / "roads.osm"), strongly=True)
    edges = ox.convert.graph_to_gdfs(ox.project_graph(g, to_crs="EPSG:4547"), nodes=False)
    pts = _points(folder, "villages.csv").to_crs(4547)
    _, dist = shapely.STRtree(edges.geometry.values).query_nearest(pts.values, return_distance=True)
    assert dist.max() <= max_m


@pytest.mark.parametrize("which", ["small", "small_hilly"])
def test_roads_load_in_osmnx_connected_and_reach_everything(which: str, request: pytest.FixtureRequest) -> None:
    """roads.osm loads with osmnx.graph_from_xml as one strongly connected graph, and every
    village, farm and site lies within 50 m of one of its edges."""
    _reach_check(request.getfixturevalue(which))


def test_hilly_roads_carry_speed_and_surface(small_hilly: Path) -> None:
    """In a hilly county roads are tagged with maxspeed (<= 40 km/h on hill roads) and surface."""
    text = (small_hilly / "roads.osm").read_text(encoding="utf-8")
    assert text.startswith("<?xml") and '<osm version="0.6"' in text
    speeds = [int(s) for s in re.findall(r'k="maxspeed" v="(\d+)"', text)]
    assert speeds and min(speeds) <= 40
    assert 'k="surface"' in text and 'k="oneway" v="no"' in text


def _parse_osm(path: Path) -> tuple[dict[int, tuple[float, float]], list[tuple[list[int], dict[str, str]]]]:
    """Minimal OSM XML reader (nodes and ways) for checks on the committed, large files."""
    import xml.etree.ElementTree as ET

    root = ET.parse(path).getroot()
    nodes = {int(n.get("id")): (float(n.get("lon")), float(n.get("lat"))) for n in root.iter("node")}
    ways = [([int(nd.get("ref")) for nd in w.iter("nd")], {t.get("k"): t.get("v") for t in w.iter("tag")})
            for w in root.iter("way")]
    return nodes, ways


@pytest.mark.parametrize(("folder", "lo", "hi"), [(DEMO, 15000, 60000), (HILLS, 15000, 80000)])
def test_committed_roads_connected_and_reach_everything(folder: Path, lo: int, hi: int) -> None:
    """The committed roads.osm is one connected network of two-way ways with 15-60k nodes (Pingyu),
    and every village, farm and site lies within 50 m of a way (osmnx itself is exercised on the
    freshly generated counties above; this checks the committed files quickly)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    nodes, ways = _parse_osm(folder / "roads.osm")
    assert lo <= len(nodes) <= hi
    assert all(t["oneway"] == "no" and "highway" in t for _, t in ways)
    ids = {n: i for i, n in enumerate(sorted(nodes))}
    a = [ids[u] for refs, _ in ways for u in refs[:-1]]
    b = [ids[v] for refs, _ in ways for v in refs[1:]]
    g = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(ids), len(ids)))
    assert connected_components(g, directed=False)[0] == 1
    used = {n for refs, _ in ways for n in refs}
    assert used == set(nodes)
    lines = gpd.GeoSeries([shapely.LineString([nodes[n] for n in refs]) for refs, _ in ways], crs=4326).to_crs(4547)
    tree = shapely.STRtree(lines.values)
    for f in ("villages.csv", "farms.csv", "sites.csv"):
        pts = _points(folder, f).to_crs(4547)
        _, dist = tree.query_nearest(pts.values, return_distance=True, all_matches=False)
        assert dist.max() <= 50.0, f


def _targets(adcode: str) -> dict[str, list[float]]:
    return calibration()["county"][adcode]["targets"]


@pytest.mark.parametrize(("folder", "adcode"), [(DEMO, "411723"), (HILLS, "410423")])
def test_committed_totals_in_calibrated_ranges(folder: Path, adcode: str) -> None:
    """Totals recomputed from the committed CSVs land in the calibration ranges of domain.md 6."""
    t = _targets(adcode)
    v = pd.read_csv(folder / "villages.csv", dtype={"village_id": str, "township_code": str})
    f = pd.read_csv(folder / "farms.csv")
    tw = gpd.read_file(folder / "townships.geojson")
    area = float(gpd.GeoSeries([_boundary(folder)], crs=4326).to_crs(4547).area.iloc[0]) / 1e6
    rural = v["unit"] == "village"
    got = {
        "area_km2": area,
        "townships": len(tw),
        "villages": int(rural.sum()),
        "population": int(v["population"].sum()),
        "cropland_share": v["cropland_mu"].sum() / 1500.0 / area,
        "wheat_wanmu": v["wheat_mu"].sum() / 1e4,
        "maize_wanmu": v["maize_mu"].sum() / 1e4,
        "pigs_stock": int(v["pigs"].sum() + f.loc[f["species"] == "pig", "stock_head"].sum()),
        "cattle_stock": int(v["cattle"].sum() + f.loc[f["species"].isin(["dairy", "beef"]), "stock_head"].sum()),
        "layers_stock": int(f.loc[f["species"] == "layer", "stock_head"].sum()),
    }
    if "peanut_sesame_soy_wanmu" in t:
        got["peanut_sesame_soy_wanmu"] = v[["peanut_mu", "sesame_mu", "soybean_mu"]].sum().sum() / 1e4
        got["vegetables_wanmu"] = v[["vegetable_film_mu", "greenhouse_mu"]].sum().sum() / 1e4
        got["scale_farms"] = len(f)
    for k, val in got.items():
        lo, hi = t[k]
        assert lo <= val <= hi, (k, val, t[k])
    # crops never exceed the village's cropland; summer crops share the land after wheat
    crops = [c for c in v.columns if c.endswith("_mu") and c not in ("cropland_mu", "wheat_mu")]
    assert (v[crops].sum(axis=1) <= v["cropland_mu"] + 1).all()
    assert (v["wheat_mu"] <= v["cropland_mu"]).all()


@pytest.mark.parametrize("folder", [DEMO, HILLS])
def test_committed_files_match_readme_checksums(folder: Path) -> None:
    """Every file listed in the folder's README carries the SHA-256 recorded there; the folder
    stays under 15 MB."""
    readme = (folder / "README.md").read_text(encoding="utf-8")
    sums = dict(re.findall(r"\| `([\w.]+)` \| `([0-9a-f]{64})` \|", readme))
    assert set(sums) == {"county.toml", *FILES.values()}
    for name, h in sums.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == h, name
    assert sum((folder / f).stat().st_size for f in OWN_FILES) <= 15 * 2**20


def test_committed_demo_matches_fresh_generation(tmp_path: Path) -> None:
    """Regenerating Pingyu (adcode 411723, seed 0) reproduces the committed data/demo byte for byte."""
    generate_county("411723", tmp_path / "demo", seed=0)
    assert _digest(tmp_path / "demo") == _digest(DEMO)


def test_unknown_county_is_an_input_error(tmp_path: Path) -> None:
    """An adcode without an outline in data/china_admin raises InputError naming the adcode."""
    with pytest.raises(InputError, match="110101"):
        generate_county("110101", tmp_path)
    with pytest.raises(InputError, match="411790"):
        generate_county("411790", tmp_path)


def test_real_admin_data() -> None:
    """Pingyu's outline is converted from GCJ-02 (area ~1,280 km2) and has its 19 real townships."""
    c = load_county("411723")
    assert len(c.townships) == 19 and c.townships[0].name == "古槐街道"
    assert c.townships[0].kind == "街道" and c.townships[4].name_en == "Yangbu Town"
    lon, lat = c.outline.centroid.x, c.outline.centroid.y
    assert 114.3 < lon < 115.0 and 32.7 < lat < 33.2
    assert metric_crs_for(lon) == "EPSG:4547" and metric_crs_for(111.2) == "EPSG:4546"
    assert township_kind("老王坡农场") == "乡" and township_kind("香山街道筹备组") == "街道"


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 500), st.lists(st.floats(0.01, 100.0), min_size=1, max_size=30))
def test_allocate_sums_and_respects_minimum(total: int, weights: list[float]) -> None:
    """allocate() splits an integer total exactly, gives each part its minimum, and follows weights."""
    w = np.array(weights)
    minimum = 1 if total >= len(w) else 0
    a = allocate(total, w, minimum=minimum)
    assert a.sum() == total and (a >= minimum).all()
    ideal = minimum + w / w.sum() * (total - minimum * len(w))
    assert np.abs(a - ideal).max() < 1.0 + 1e-9


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(-10000, 10000), st.integers(-10000, 10000)), min_size=2, max_size=20))
def test_chaikin_keeps_ends_and_stays_in_hull(pts: list[tuple[float, float]]) -> None:
    """Chaikin smoothing keeps both end points and every new vertex lies on the original polyline's
    segments (a convex combination of consecutive points)."""
    xy = np.array(pts, dtype=float)
    out = chaikin(xy)
    assert np.array_equal(out[0], xy[0]) and np.array_equal(out[-1], xy[-1])
    assert len(out) == (2 * len(xy) - 2 if len(xy) >= 3 else len(xy))
    line = shapely.LineString(xy) if len(np.unique(xy, axis=0)) > 1 else None
    if line is not None:
        assert max(line.distance(shapely.Point(p)) for p in out) < 1e-6 * (1 + np.abs(xy).max())


def test_urban_district_communities_do_not_farm(tmp_path: Path) -> None:
    """石龙区 (a small district of 4 街道): its 居委会/社区 get no farmland or livestock, its
    villagers' committees (some named 社区) farm, every unit keeps its real name, and the roads
    form one network reaching every unit."""
    out = tmp_path / "shilong"
    totals = generate_county("410404", out, seed=0)
    v = pd.read_csv(out / "villages.csv", dtype={"nbs_code_2016": str})
    comm = v["unit"] == "community"
    assert totals["communities"] == comm.sum() == 3 and totals["villages"] == (~comm).sum() == 11
    assert v.loc[comm, ["cropland_mu", "pigs", "cattle", "poultry"]].to_numpy().sum() == 0
    assert (v.loc[~comm, "cropland_mu"] > 0).all()
    assert {"高庄社区", "龙源社区", "南顾庄社区"} <= set(v["name"])
    tw = gpd.read_file(out / "townships.geojson")
    assert tw["farming"].sum() == 4       # every 街道 of 石龙区 has villagers' committees
    _reach_check_points(out)
