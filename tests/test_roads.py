"""Road engine: snapping, many-to-many matrices, partial edges, one-ways, cutoffs, crow-fly.

Tiny hand-made line networks in UTM zone 49N (EPSG:32649, central meridian 111°E) so every
expected number can be checked by hand: the engine measures in the same zone.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point

from netplan.errors import InputError
from netplan.roads import RoadNetwork, load_speeds
from netplan.roads.speeds import parse_maxspeed_kmh

CRS = "EPSG:32649"
X0, Y0 = 500_000.0, 3_700_000.0


def lines(*coords_lists, **cols) -> gpd.GeoDataFrame:
    """Line layer from lists of (dx, dy) offsets (m) around (X0, Y0)."""
    geoms = [LineString([(X0 + x, Y0 + y) for x, y in c]) for c in coords_lists]
    data = {k: list(v) for k, v in cols.items()}
    return gpd.GeoDataFrame(data, geometry=geoms, crs=CRS)


def pts(*xy) -> gpd.GeoSeries:
    """Points from (dx, dy) offsets (m)."""
    return gpd.GeoSeries([Point(X0 + x, Y0 + y) for x, y in xy], crs=CRS)


@pytest.fixture(autouse=True)
def _no_cache(monkeypatch):
    monkeypatch.setenv("NETPLAN_CACHE", "off")


def test_two_points_on_one_edge_get_the_along_edge_distance():
    """Points 10 m off a 1,000 m road at x=200 and x=700: 10 + 500 + 10 = 520 m, both ways."""
    net = RoadNetwork.from_lines(lines([(0, 0), (1000, 0)], highway=["tertiary"]))
    d = net.distance_matrix(pts((200, 10)), pts((700, -10)))
    assert d.shape == (1, 1)
    assert d[0, 0] == pytest.approx(520.0, abs=0.05)
    back = net.distance_matrix(pts((700, -10)), pts((200, 10)))
    assert back[0, 0] == pytest.approx(520.0, abs=0.05)


def test_path_through_a_junction_uses_partial_edges_and_access_legs():
    """An L of two 1,000 m roads: (500, 20) → (1000, 300) = 20 + 500 + 300 + 0 = 820 m."""
    net = RoadNetwork.from_lines(lines([(0, 0), (1000, 0)], [(1000, 0), (1000, 1000)],
                                       highway=["tertiary", "tertiary"]))
    d = net.distance_matrix(pts((500, 20)), pts((1000, 300)))
    assert d[0, 0] == pytest.approx(820.0, abs=0.05)


def test_identical_points_are_zero_apart():
    """The same coordinates on both sides give 0, not twice the access leg."""
    net = RoadNetwork.from_lines(lines([(0, 0), (1000, 0)], highway=["track"]))
    p = pts((300, 40), (600, 40))
    d = net.distance_matrix(p, p)
    assert d[0, 0] == 0.0 and d[1, 1] == 0.0
    assert d[0, 1] == pytest.approx(40 + 300 + 40, abs=0.05)


def test_oneway_roads_are_driven_one_way_only():
    """A one-way loop: going against the arrow means the long way round (3,000 m vs 1,000 m)."""
    square = [(0, 0), (1000, 0)], [(1000, 0), (1000, 1000)], [(1000, 1000), (0, 1000)], \
        [(0, 1000), (0, 0)]
    net = RoadNetwork.from_lines(lines(*square, highway=["residential"] * 4, oneway=["yes"] * 4))
    a, b = pts((0, 0)), pts((1000, 0))
    assert net.distance_matrix(a, b)[0, 0] == pytest.approx(1000.0, abs=0.05)
    assert net.distance_matrix(b, a)[0, 0] == pytest.approx(3000.0, abs=0.05)


def test_route_geometry_drives_round_a_oneway_loop():
    """Against the arrow the drawn route goes round the other three sides (3,000 m), passing the
    far corners; a multi-stop line is the sum of its legs."""
    square = [(0, 0), (1000, 0)], [(1000, 0), (1000, 1000)], [(1000, 1000), (0, 1000)], \
        [(0, 1000), (0, 0)]
    net = RoadNetwork.from_lines(lines(*square, highway=["residential"] * 4, oneway=["yes"] * 4))
    line = gpd.GeoSeries([net.route_geometry(pts((1000, 0)), pts((0, 0)))], crs=4326).to_crs(CRS)
    assert line.length[0] == pytest.approx(3000.0, abs=0.5)
    corner = pts((1000, 1000))[0]
    assert line[0].distance(corner) < 0.01
    tour = gpd.GeoSeries([net.route_line(pts((500, 0), (1000, 500), (500, 0)))], crs=4326).to_crs(CRS)
    assert tour.length[0] == pytest.approx(1000 + 3000, abs=0.5)


def test_far_points_are_reported_not_moved_and_get_inf():
    """A point 2 km from any road is in too_far and its row is inf; others are unaffected."""
    net = RoadNetwork.from_lines(lines([(0, 0), (1000, 0)], highway=["tertiary"]))
    p = pts((100, 10), (500, 2000))
    rep = net.snap(p, max_snap_m=500, ids=["near", "far"])
    assert rep.too_far == ["far"]
    assert rep.snap_m[1] == pytest.approx(2000.0, abs=0.01)
    d = net.distance_matrix(p, p, max_snap_m=500)
    assert np.isinf(d[1, 0]) and np.isinf(d[0, 1])
    assert d[0, 0] == 0.0
    assert net.distance_matrix(p, p, max_snap_m=2500)[0, 1] == pytest.approx(10 + 400 + 2000, abs=0.05)


def test_points_prefer_the_main_network_and_fragments_are_reported():
    """A short isolated road is a fragment: a point next to it but within reach of the main road
    snaps to the main road; a point reachable only from the fragment is listed in off_main."""
    layer = lines([(0, 0), (5000, 0)], [(2000, 300), (2100, 300)], highway=["primary", "track"])
    net = RoadNetwork.from_lines(layer)
    assert "fragments" in net.label
    rep = net.snap(pts((2050, 290), (2050, 700)), max_snap_m=500, ids=["a", "b"])
    assert rep.off_main == ["b"]
    assert rep.snap_m[0] == pytest.approx(290.0, abs=0.01)  # the main road, not the 10 m fragment
    d = net.distance_matrix(pts((2050, 290), (2050, 700)), pts((0, 0)), max_snap_m=500)
    assert np.isfinite(d[0, 0]) and np.isinf(d[1, 0])


def test_cutoff_turns_longer_pairs_into_inf():
    """With cutoff=600 m a 820 m pair becomes inf and a 300 m pair stays."""
    net = RoadNetwork.from_lines(lines([(0, 0), (1000, 0)], [(1000, 0), (1000, 1000)],
                                       highway=["tertiary", "tertiary"]))
    d = net.distance_matrix(pts((500, 20)), pts((1000, 300), (800, 0)), cutoff=600)
    assert np.isinf(d[0, 0])
    assert d[0, 1] == pytest.approx(320.0, abs=0.05)


def test_time_uses_vehicle_speed_per_class_and_slow_access():
    """A tractor on 1,000 m of track at its speeds.toml speed, plus 2 × 10 m at the access speed."""
    sp = load_speeds()
    net = RoadNetwork.from_lines(lines([(0, 0), (1000, 0)], highway=["track"]))
    t = net.distance_matrix(pts((0, 10)), pts((1000, 10)), weight="time", vehicle="tractor")
    expect = 1000 / (sp.speed_kmh("tractor", "track") / 3.6) + 20 / (sp.access_kmh / 3.6)
    assert t[0, 0] == pytest.approx(expect, rel=1e-6)


def test_maxspeed_caps_and_hilly_factor_applies_only_where_untagged():
    """maxspeed 30 caps a truck's tertiary speed; terrain="hilly" slows only the untagged road."""
    sp = load_speeds()
    layer = lines([(0, 0), (1000, 0)], [(1000, 0), (2000, 0)], highway=["tertiary", "tertiary"],
                  maxspeed=["30", None])
    a, mid, b = pts((0, 0)), pts((1000, 0)), pts((2000, 0))
    plain = RoadNetwork.from_lines(layer)
    hilly = RoadNetwork.from_lines(layer, terrain="hilly")
    v = sp.speed_kmh("truck", "tertiary")
    assert plain.distance_matrix(a, mid, weight="time")[0, 0] == pytest.approx(1000 / (30 / 3.6))
    assert hilly.distance_matrix(a, mid, weight="time")[0, 0] == pytest.approx(1000 / (30 / 3.6))
    assert plain.distance_matrix(mid, b, weight="time")[0, 0] == pytest.approx(1000 / (v / 3.6))
    assert hilly.distance_matrix(mid, b, weight="time")[0, 0] == pytest.approx(
        1000 / (v * sp.hilly_factor / 3.6))
    assert hilly.distance_matrix(a, b)[0, 0] == plain.distance_matrix(a, b)[0, 0]  # metres unchanged


def test_speed_field_and_tractor_ban_on_motorways():
    """An explicit speed column sets the speed (capped by the vehicle); tractors may not use
    motorways, so a place reached only over a motorway is unreachable for them, not for trucks.
    Points are never snapped onto a motorway (no gate opens on an expressway)."""
    layer = lines([(0, 0), (1000, 0)], [(1000, 0), (2000, 0)], [(2000, 0), (2000, 1000)],
                  highway=["primary", "motorway", "tertiary"], kmh=[36.0, 200.0, None])
    net = RoadNetwork.from_lines(layer, speed_field="kmh")
    t = net.distance_matrix(pts((0, 0)), pts((1000, 0)), weight="time", vehicle="truck")
    assert t[0, 0] == pytest.approx(100.0, rel=1e-6)  # 1 km at 36 km/h
    far = pts((2000, 500))
    assert net.distance_matrix(pts((0, 0)), far, vehicle="truck")[0, 0] == pytest.approx(2500, abs=0.05)
    assert np.isinf(net.distance_matrix(pts((0, 0)), far, vehicle="tractor")[0, 0])
    assert net.snap(pts((1500, 10)), max_snap_m=100).too_far == [0]


def test_unknown_vehicle_and_weight_are_input_errors():
    """Misspelt vehicle or weight names raise InputError naming what is known."""
    net = RoadNetwork.from_lines(lines([(0, 0), (1000, 0)], highway=["track"]))
    with pytest.raises(InputError, match="tractor"):
        net.distance_matrix(pts((0, 0)), pts((10, 0)), vehicle="tractr")
    with pytest.raises(InputError, match="weight"):
        net.distance_matrix(pts((0, 0)), pts((10, 0)), weight="cost")


def test_projected_coordinates_without_crs_are_refused():
    """Raw (n, 2) arrays must be lon/lat; metres are refused instead of being read as degrees."""
    net = RoadNetwork.from_lines(lines([(0, 0), (1000, 0)], highway=["tertiary"]))
    with pytest.raises(InputError, match="lon/lat"):
        net.distance_matrix(np.array([[X0, Y0]]), np.array([[X0 + 10, Y0]]))


def test_maxspeed_parsing():
    """OSM maxspeed tags: numbers, units, lists (minimum), and non-numeric zone codes (nan)."""
    assert parse_maxspeed_kmh("60") == 60
    assert parse_maxspeed_kmh("30 mph") == pytest.approx(48.28, abs=0.01)
    assert parse_maxspeed_kmh(["60", "40"]) == 40
    assert np.isnan(parse_maxspeed_kmh("CN:rural"))
    assert np.isnan(parse_maxspeed_kmh(None))


def test_crow_fly_is_labelled_and_straight_times_circuity():
    """Crow-fly: 3-4-5 triangle × 1.3 = 6,500 m; time at 40 km/h; label says no road file."""
    net = RoadNetwork.crow_fly(circuity=1.3, speed_kmh=40.0)
    assert net.is_crow_fly and "crow-fly" in net.label and "no road file" in net.label
    d = net.distance_matrix(pts((0, 0)), pts((3000, 4000)))
    assert d[0, 0] == pytest.approx(6500.0, rel=1e-3)
    t = net.distance_matrix(pts((0, 0)), pts((3000, 4000)), weight="time")
    assert t[0, 0] == pytest.approx(6500.0 / (40 / 3.6), rel=1e-3)
    line = net.route_geometry(pts((0, 0)), pts((3000, 4000)))
    assert len(line.coords) == 2


def test_accepts_lonlat_arrays_and_reprojects_geoseries():
    """(n, 2) lon/lat arrays and projected GeoSeries give the same matrix."""
    net = RoadNetwork.from_lines(lines([(0, 0), (1000, 0)], highway=["tertiary"]))
    a = pts((100, 5), (900, 5))
    ll = np.column_stack([a.to_crs(4326).x, a.to_crs(4326).y])
    np.testing.assert_allclose(net.distance_matrix(ll, ll), net.distance_matrix(a, a), atol=1e-3)


def test_merged_road_classes_pick_the_main_class_whatever_the_list_order():
    """osmnx builds merged tag lists from sets (order varies with PYTHONHASHSEED): the class is by rank."""
    from itertools import permutations

    from netplan.roads.graph import _first

    for order in permutations(["track", "tertiary", "residential"]):
        assert _first(list(order)) == "tertiary"
    assert _first(["zz_unknown", "aa_unknown"]) == "aa_unknown"
    assert _first([]) == "road"
    assert _first("primary") == "primary"
