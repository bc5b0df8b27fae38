"""Layout tables: reading and checking, round trips, nearest-point assignment, the county's proposal."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from netplan.candidates import build_candidates
from netplan.errors import InputError
from netplan.evaluate import evaluate
from netplan.layout_io import layout_to_table, proposed_layout, read_layout, write_layout
from netplan.scenario import load_scenario
from netplan.siting_adapter import fix_masks, layout_from_table, merge_candidates
from netplan.streams import load_coefficients
from netplan.supply import estimate

CSV = """site_id,streams,tier,lon,lat,capacity_t,status,name
S1,film,village_point,114.625,33.0,,existing,农资店
P9,film,village_point,114.69,33.0,5,new,新点
T411723101,film,township_station,114.62,33.0,,new,甲镇驻地
S3,film,county_center,114.685,33.0,,existing,分拣中心
X1,film,village_point,114.64,33.01,,closed,旧点
"""


def _scenario(tmp_path, radius_m=3000):
    (tmp_path / "county").mkdir(exist_ok=True)
    tier = (f'{{ candidates = ["village", "agro_store", "township_seat", "recycling_centre"], '
            f'radius_m = {radius_m}, capacity_t = 100, capex_cny = 10000, lifetime_yr = 10, '
            f'opex_share = 0.1, rate_cny_per_tkm = 2 }}')
    p = tmp_path / "s.toml"
    p.write_text(f'name = "t"\ncounty = "county"\n[targets]\nfilm.village_coverage = 1.0\n'
                 f'[streams.film]\ncapture_rate = 1.0\nvillage_point = {tier}\n'
                 f'township_station = {tier}\ncounty_center = {{ candidates = ["recycling_centre"], '
                 f'capacity_t = 100, rate_cny_per_tkm = 1 }}\n', encoding="utf-8")
    return load_scenario(p)


def _metric_matrix(a: gpd.GeoSeries, b: gpd.GeoSeries) -> np.ndarray:
    am, bm = a.to_crs("EPSG:4547"), b.to_crs("EPSG:4547")
    ax, ay = am.x.to_numpy(), am.y.to_numpy()
    bx, by = bm.x.to_numpy(), bm.y.to_numpy()
    return np.hypot(ax[:, None] - bx[None, :], ay[:, None] - by[None, :])


def test_read_layout_checks_every_cell(tmp_path):
    """Bad tier, status, stream and coordinates are all reported with their row and column."""
    p = tmp_path / "bad.csv"
    p.write_text("site_id,streams,tier,lon,lat,status\nA,film,village,114.6,33,new\n"
                 "A,glass,village_point,xx,33,maybe\nA,film,village_point,114.6,33,new\n",
                 encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_layout(p)
    got = {(pr.row, pr.field) for pr in e.value.problems}
    assert {(1, "tier"), (2, "streams"), (2, "lon"), (2, "status"), (3, "site_id")} <= got


def test_round_trip_csv_xlsx_and_chinese_headers(tmp_path):
    """A layout written as CSV or XLSX (English or Chinese headers) reads back identically."""
    (tmp_path / "l.csv").write_text(CSV, encoding="utf-8")
    t = read_layout(tmp_path / "l.csv")
    assert list(t["status"]) == ["existing", "new", "new", "existing", "closed"]
    for name, zh in (("a.csv", True), ("b.xlsx", True), ("c.xlsx", False)):
        write_layout(t, tmp_path / name, chinese=zh)
        back = read_layout(tmp_path / name)
        pd.testing.assert_frame_equal(pd.DataFrame(back.drop(columns="geometry")),
                                      pd.DataFrame(t.drop(columns="geometry")), check_dtype=False)
    assert "站点编号" in (tmp_path / "a.csv").read_text(encoding="utf-8-sig").splitlines()[0]


def test_gcj02_column_converts_to_wgs84(tmp_path):
    """A row in GCJ-02 (datum column) is moved by the ~0.5 km offset back to WGS-84."""
    (tmp_path / "g.csv").write_text("site_id,streams,tier,lon,lat,status,datum\n"
                                    "A,film,village_point,114.63,33.0,new,gcj02\n", encoding="utf-8")
    t = read_layout(tmp_path / "g.csv")
    moved = _metric_matrix(t.geometry, gpd.GeoSeries([Point(114.63, 33.0)], crs="EPSG:4326"))[0, 0]
    assert 300 < moved < 800


def test_nearest_point_within_radius_and_scoring(tmp_path, county):
    """Each village goes to the nearest open point within 3 km; a closed site is ignored; a new
    site that is not a candidate is added; the layout scores like any other."""
    sc = _scenario(tmp_path)
    (tmp_path / "l.csv").write_text(CSV, encoding="utf-8")
    table = read_layout(tmp_path / "l.csv", streams=sc.stream_ids)
    sup = estimate(county, load_coefficients(), sc.stream_ids)
    cands = merge_candidates(build_candidates(county), table, county)
    assert "P9" in set(cands["site_id"]) and "X1" in set(cands["site_id"])
    d1 = _metric_matrix(sup.demands.geometry, cands.geometry)
    d2 = _metric_matrix(cands.geometry, cands.geometry)
    lay = layout_from_table(table, sc, sup.demands, cands, d1, d2)
    dp = lay.demand_point.set_index("demand_id")
    # v1 (114.61) and v2 (114.63) are nearest S1 (114.625); v3 (114.64, 33.01) too (X1 is closed)
    assert dp.loc["v1", "point_id"] == "S1" and dp.loc["v2", "point_id"] == "S1"
    assert dp.loc["v3", "point_id"] == "S1"
    assert "X1" not in set(lay.sites["site_id"])
    par = lay.sites.set_index(["site_id", "tier"])["parent_id"]
    assert par[("S1", "village_point")] == "T411723101"
    assert par[("T411723101", "township_station")] == "S3"
    assert lay.sites.set_index("site_id").loc["P9", "capacity_t"] == 5
    ev = evaluate(sc, county, sup, lay)
    k = ev.kpis.set_index(["stream", "indicator"])["value"]
    assert k[("film", "village_coverage")] == pytest.approx(1.0)
    # a 500 m radius leaves v1 (1.4 km from S1) and v3 (1.8 km) unserved
    lay2 = layout_from_table(table, _scenario(tmp_path, radius_m=500), sup.demands, cands, d1, d2)
    assert lay2.demand_point.set_index("demand_id")["point_id"].isna().sum() == 2


def test_layout_to_table_round_trip(tmp_path, county):
    """An optimised-looking Layout written as a table and read back gives the same sites."""
    sc = _scenario(tmp_path)
    (tmp_path / "l.csv").write_text(CSV, encoding="utf-8")
    table = read_layout(tmp_path / "l.csv", streams=sc.stream_ids)
    sup = estimate(county, load_coefficients(), sc.stream_ids)
    cands = merge_candidates(build_candidates(county), table, county)
    d1 = _metric_matrix(sup.demands.geometry, cands.geometry)
    d2 = _metric_matrix(cands.geometry, cands.geometry)
    lay = layout_from_table(table, sc, sup.demands, cands, d1, d2)
    t2 = layout_to_table(lay, cands)
    write_layout(t2, tmp_path / "out.csv")
    lay2 = layout_from_table(read_layout(tmp_path / "out.csv", streams=sc.stream_ids), sc, sup.demands,
                             cands, d1, d2)
    key = ["site_id", "stream", "tier", "parent_id"]
    a = lay.sites[key].sort_values(key).reset_index(drop=True)
    b = lay2.sites[key].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


TWO_TIERS = """site_id,streams,tier,lon,lat,capacity_t,status,name,parent_id
S1,film,village_point,114.625,33.0,,existing,农资店,T411723101
P9,film,village_point,114.69,33.0,5,new,新点,
T411723101,film,township_station,114.62,33.0,,new,甲镇驻地,T411723101
T411723101,film,county_center,114.62,33.0,80,new,甲镇驻地,
S3,film,county_center,114.685,33.0,,existing,分拣中心,
"""


def test_site_open_at_two_tiers_round_trips_exactly(tmp_path, county):
    """A township seat that is both station and county centre (one row per site and tier) reads,
    is written by layout_to_table and reads back to the same Layout: sites, parents, capacities and
    assignments; the same id twice at one tier is still refused with its row."""
    sc = _scenario(tmp_path)
    (tmp_path / "l.csv").write_text(TWO_TIERS, encoding="utf-8")
    table = read_layout(tmp_path / "l.csv", streams=sc.stream_ids)
    sup = estimate(county, load_coefficients(), sc.stream_ids)
    cands = merge_candidates(build_candidates(county), table, county)
    assert (cands["site_id"] == "T411723101").sum() == 1
    d1 = _metric_matrix(sup.demands.geometry, cands.geometry)
    d2 = _metric_matrix(cands.geometry, cands.geometry)
    lay = layout_from_table(table, sc, sup.demands, cands, d1, d2)
    by = lay.sites.set_index(["site_id", "tier"])
    assert by.loc[("T411723101", "township_station"), "parent_id"] == "T411723101"
    assert pd.isna(by.loc[("T411723101", "county_center"), "parent_id"])
    assert by.loc[("T411723101", "county_center"), "capacity_t"] == 80
    assert by.loc[("S1", "village_point"), "parent_id"] == "T411723101"
    for name in ("out.csv", "out.xlsx"):
        write_layout(layout_to_table(lay, cands), tmp_path / name)
        back = read_layout(tmp_path / name, streams=sc.stream_ids)
        cands2 = merge_candidates(build_candidates(county), back, county)
        assert list(cands2["site_id"]) == list(cands["site_id"])
        lay2 = layout_from_table(back, sc, sup.demands, cands2, d1, d2)
        key = ["site_id", "stream", "tier"]
        pd.testing.assert_frame_equal(lay.sites.sort_values(key).reset_index(drop=True),
                                      lay2.sites.sort_values(key).reset_index(drop=True))
        pd.testing.assert_frame_equal(lay.demand_point, lay2.demand_point)
    # real mistakes stay refused, naming the row: the same id twice at one tier, or at two points
    dup = TWO_TIERS + "T411723101,film,county_center,114.62,33.0,,new,again,\n"
    moved = TWO_TIERS.replace("county_center,114.62,33.0,80,new", "county_center,114.70,33.0,80,new")
    both = TWO_TIERS.replace("county_center,114.62,33.0,80,new", "county_center,114.62,33.0,80,existing")
    for text, want in ((dup, (6, "site_id", "duplicate id 'T411723101' at tier county_center")),
                       (moved, (4, "lon", "another point than in row 3")),
                       (both, (4, "status", "existing here but new in row 3"))):
        (tmp_path / "bad.csv").write_text(text, encoding="utf-8")
        with pytest.raises(InputError) as e:
            read_layout(tmp_path / "bad.csv", streams=sc.stream_ids)
        assert [(p.row, p.field) for p in e.value.problems] == [want[:2]]
        assert want[2] in str(e.value)


def test_parent_at_the_wrong_tier_names_its_tier(tmp_path):
    """A parent_id naming a site of the table at another tier says which tier that site is at."""
    (tmp_path / "l.csv").write_text(CSV.replace("status,name", "status,name,parent_id")
                                    .replace("甲镇驻地\n", "甲镇驻地,S1\n"), encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_layout(tmp_path / "l.csv")
    assert "it is a village_point, not a county_center" in str(e.value)


def test_fix_masks_keep_and_forbid(tmp_path, county):
    """--fix keeps open sites open and forbids closed ones, per stream and tier."""
    (tmp_path / "l.csv").write_text(CSV, encoding="utf-8")
    table = read_layout(tmp_path / "l.csv")
    cands = merge_candidates(build_candidates(county), table, county)
    keep, closed = fix_masks(cands, table, "film", "village_point")
    ids = cands["site_id"].to_numpy()
    assert set(ids[keep]) == {"S1", "P9"} and set(ids[closed]) == {"X1"}
    keep2, closed2 = fix_masks(cands, table, "straw", "village_point")
    assert not keep2.any() and not closed2.any()


def test_proposed_layout_is_the_county_pattern(tmp_path, county):
    """A point in every village with a co-op outlet, a station at every township seat, the existing
    centres; the same input gives the same table."""
    sites = pd.concat([county.sites, gpd.GeoDataFrame({
        "site_id": ["C1"], "name": ["供销社网点"], "kind": ["coop_outlet"], "township_code": ["411723101"],
        "streams": ["*"], "tiers": ["village_point"], "capacity_t": [None], "status": ["existing"],
    }, geometry=[Point(114.631, 33.0)], crs="EPSG:4326")], ignore_index=True)
    from dataclasses import replace

    c2 = replace(county, sites=gpd.GeoDataFrame(sites, geometry="geometry", crs="EPSG:4326"))
    sc = _scenario(tmp_path)
    t = proposed_layout(c2, sc)
    by = t.set_index(["site_id", "tier"])
    # the scenario's film points may not sit at a coop_outlet: the point goes to the outlet's village
    assert list(t.loc[t["tier"] == "village_point", "site_id"]) == ["Vv2"]
    assert by.loc[("Vv2", "village_point"), "status"] == "new"
    assert set(t.loc[t["tier"] == "township_station", "site_id"]) == {"T411723101", "T411723001"}
    assert set(t.loc[t["tier"] == "county_center", "site_id"]) == {"S3"}
    pd.testing.assert_frame_equal(pd.DataFrame(t.drop(columns="geometry")),
                                  pd.DataFrame(proposed_layout(c2, sc).drop(columns="geometry")))


def test_assignment_is_the_nearest_open_point_within_reach(tmp_path, county):
    """Property: every assigned demand goes to the nearest open point of its stream, within the radius;
    a demand is left unassigned only when no open point is within the radius."""
    sc = _scenario(tmp_path)
    sup = estimate(county, load_coefficients(), sc.stream_ids)
    n = len(sup.demands)
    base = [{"site_id": "T411723101", "streams": "film", "tier": "township_station", "lon": 114.62,
             "lat": 33.0, "status": "new"},
            {"site_id": "S3", "streams": "film", "tier": "county_center", "lon": 114.685, "lat": 33.0,
             "status": "existing"}]
    cands = None

    @settings(max_examples=40, deadline=None)
    @given(st.lists(st.floats(0, 6000), min_size=2 * n, max_size=2 * n),
           st.lists(st.booleans(), min_size=2, max_size=2))
    def check(dists, open_):
        nonlocal cands
        rows = [{"site_id": f"P{i}", "streams": "film", "tier": "village_point", "lon": 114.62 + i / 100,
                 "lat": 33.0, "status": "new" if o else "closed"} for i, o in enumerate(open_)] + base
        table = gpd.GeoDataFrame(pd.DataFrame(rows).assign(name="", capacity_t=np.nan, parent_id=None),
                                 geometry=gpd.points_from_xy([r["lon"] for r in rows],
                                                             [r["lat"] for r in rows]), crs="EPSG:4326")
        if cands is None:
            cands = merge_candidates(build_candidates(county), table, county)
        pos = {s: i for i, s in enumerate(cands["site_id"])}
        d = np.asarray(dists).reshape(n, 2)
        d1 = np.full((n, len(cands)), 1e9)
        for i in range(2):
            d1[:, pos[f"P{i}"]] = d[:, i]
        lay = layout_from_table(table, sc, sup.demands, cands, d1, np.zeros((len(cands), len(cands))))
        dp = lay.demand_point.set_index("demand_id")
        for k, did in enumerate(sup.demands["demand_id"]):
            if did not in dp.index:
                continue
            reach = [d[k, i] for i in range(2) if open_[i] and d[k, i] <= 3000]
            if not reach:
                assert pd.isna(dp.loc[did, "point_id"])
            else:
                assert dp.loc[did, "dist_m"] == pytest.approx(min(reach))

    check()
