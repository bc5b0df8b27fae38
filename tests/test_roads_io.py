"""Road readers on real-format files (OSM XML/.gz/.bz2/.pbf, GraphML, GeoPackage, Shapefile),
agreement with networkx on the same osmnx graph, the disk cache, routes and service areas."""

from __future__ import annotations

import bz2
import shutil
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import pytest
import shapely
from shapely.geometry import Point

from netplan.errors import InputError
from netplan.roads import RoadNetwork, readers

OSM = Path(__file__).parent / "data" / "osm"
OAKLAND = OSM / "osmnx_West-Oakland.osm.bz2"
BAVARIA = OSM / "osmnx_planet_10.068_48.135_10.071_48.137.osm.gz"
PBF = OSM / "pyrosm_test.osm.pbf"


@pytest.fixture(autouse=True)
def _no_cache(monkeypatch):
    monkeypatch.setenv("NETPLAN_CACHE", "off")


@pytest.mark.parametrize("path", [OAKLAND, BAVARIA, PBF], ids=["osm.bz2", "osm.gz", "osm.pbf"])
def test_osm_formats_read_into_a_labelled_network(path):
    """Each OSM flavour reads into a graph with nodes, edges and a label naming the file."""
    net = RoadNetwork.from_file(path)
    g = net.graph
    assert g.n_nodes > 10 and g.n_arcs > 10
    assert path.name in net.label and "nodes" in net.label
    assert not net.is_crow_fly
    assert np.all(g.arc_len_m > 0)
    assert net.n_raw_nodes >= g.n_nodes  # simplification only removes nodes


def test_plain_osm_xml_equals_its_bz2(tmp_path):
    """A decompressed .osm gives the same graph as the .osm.bz2 it came from."""
    plain = tmp_path / "oakland.osm"
    plain.write_bytes(bz2.decompress(OAKLAND.read_bytes()))
    a, b = RoadNetwork.from_file(plain).graph, RoadNetwork.from_file(OAKLAND).graph
    assert (a.n_nodes, a.n_arcs) == (b.n_nodes, b.n_arcs)
    assert a.arc_len_m.sum() == pytest.approx(b.arc_len_m.sum())


def test_footways_and_buildings_are_not_roads():
    """Only drivable highway classes are kept (no footway/path/steps edges)."""
    g = RoadNetwork.from_file(PBF).graph
    assert not set(g.arc_class) & {"footway", "path", "steps", "cycleway", "pedestrian"}


def test_boundary_clips_to_polygon_plus_buffer():
    """A boundary around part of the extract keeps fewer nodes, all within polygon + buffer."""
    full = RoadNetwork.from_file(PBF).graph
    lo, hi = full.node_lonlat.min(axis=0), full.node_lonlat.max(axis=0)
    mid = (lo + hi) / 2
    box = shapely.box(lo[0], lo[1], mid[0], mid[1])
    part = RoadNetwork.from_file(PBF, boundary=box, buffer_m=100).graph
    assert 0 < part.n_nodes < full.n_nodes
    grown = readers.buffered_boundary(box, 150)  # truncate_by_edge keeps one node beyond the edge
    inside = shapely.contains_xy(grown, part.node_lonlat[:, 0], part.node_lonlat[:, 1])
    assert inside.mean() > 0.9


def test_matrix_equals_networkx_dijkstra_on_the_same_osmnx_graph():
    """Points placed on graph nodes: the matrix equals networkx single-source Dijkstra on 'length'.
    (Nodes touched only by motorways are skipped: points are never snapped onto a motorway.)"""
    G, _ = readers.read_osm_graph(PBF)
    net = RoadNetwork.from_networkx(G)

    def snappable(n):
        return any("motorway" not in str(d.get("highway")) for *_, d in
                   list(G.in_edges(n, data=True)) + list(G.out_edges(n, data=True)))

    nodes = [n for n in list(G.nodes)[::5] if snappable(n)][:30]
    ll = np.array([[G.nodes[n]["x"], G.nodes[n]["y"]] for n in nodes])
    d = net.distance_matrix(ll, ll, max_snap_m=5)
    ref = np.full_like(d, np.inf)
    for i, s in enumerate(nodes):
        lengths = nx.single_source_dijkstra_path_length(G, s, weight="length")
        for j, t in enumerate(nodes):
            ref[i, j] = lengths.get(t, np.inf)
    assert np.array_equal(np.isinf(d), np.isinf(ref))
    fin = np.isfinite(ref)
    assert fin.sum() > 100
    np.testing.assert_allclose(d[fin], ref[fin], atol=0.01)


def test_graphml_round_trip(tmp_path):
    """An osmnx GraphML file reads back to the same distances as the OSM file it came from."""
    G, _ = readers.read_osm_graph(BAVARIA)
    path = tmp_path / "roads.graphml"
    ox.save_graphml(G, path)
    a, b = RoadNetwork.from_file(path), RoadNetwork.from_networkx(G)
    ll = b.graph.node_lonlat[::3]
    np.testing.assert_allclose(a.distance_matrix(ll, ll), b.distance_matrix(ll, ll), atol=1e-6)


@pytest.mark.parametrize("suffix", [".gpkg", ".shp", ".geojson"])
def test_line_layers_from_files(tmp_path, suffix):
    """A planning-bureau style line layer (class field + speed field) reads from GPKG/SHP/GeoJSON,
    and gives the same lengths as the OSM graph it was exported from (within 0.5 %)."""
    G, _ = readers.read_osm_graph(BAVARIA)
    edges = ox.graph_to_gdfs(G, nodes=False).reset_index()
    edges["cls"] = edges["highway"].map(lambda v: v[0] if isinstance(v, list) else v)
    edges["kmh"] = 20.0
    layer = edges[["cls", "kmh", "geometry"]]
    path = tmp_path / f"roads{suffix}"
    layer.to_file(path)
    net = RoadNetwork.from_file(path, class_field="cls", speed_field="kmh")
    assert net.graph.n_arcs > 0 and path.name in net.label
    ref = RoadNetwork.from_networkx(G)
    ll = ref.graph.node_lonlat[::4]
    a, b = net.distance_matrix(ll, ll), ref.distance_matrix(ll, ll)
    both = np.isfinite(a) & np.isfinite(b)
    assert both.sum() > 10
    np.testing.assert_allclose(a[both], b[both], rtol=0.005, atol=1.0)
    t = net.distance_matrix(ll, ll, weight="time", vehicle="light_truck")
    np.testing.assert_allclose(t[both], a[both] / (20 / 3.6), rtol=1e-6, atol=1e-6)


def test_bad_road_files_raise_input_errors(tmp_path):
    """Unknown suffix, missing file and a layer without the class column → InputError with the file."""
    with pytest.raises(InputError, match="unsupported"):
        RoadNetwork.from_file(tmp_path / "roads.txt")
    with pytest.raises(InputError, match="not found"):
        RoadNetwork.from_file(tmp_path / "nope.osm.pbf")
    G, _ = readers.read_osm_graph(BAVARIA)
    ox.graph_to_gdfs(G, nodes=False)[["geometry"]].to_file(tmp_path / "r.gpkg")
    with pytest.raises(InputError, match="road_class"):
        RoadNetwork.from_file(tmp_path / "r.gpkg", class_field="road_class")


def test_cache_hits_on_rerun_and_misses_on_new_points(tmp_path, monkeypatch):
    """Same road file + same points → read from .npy (and the graph from .npz); moved point →
    recomputed; disabled → no cache folder."""
    monkeypatch.setenv("NETPLAN_CACHE", str(tmp_path / "c"))
    road = tmp_path / "r.osm.gz"
    shutil.copy(BAVARIA, road)
    net = RoadNetwork.from_file(road)
    ll = net.graph.node_lonlat[::5]
    d1 = net.distance_matrix(ll, ll)
    assert not net.last_cache_hit
    files = list((tmp_path / "c").glob("*.npy"))
    assert len(files) == 1 and not list((tmp_path / "c").glob("*.tmp"))
    assert len(list((tmp_path / "c").glob("graph-*.npz"))) == 1  # the parsed graph, too
    again = RoadNetwork.from_file(road)  # graph from the cache, no osmnx parse
    assert again.label == net.label and again.n_raw_nodes == net.n_raw_nodes
    d2 = again.distance_matrix(ll, ll)
    assert again.last_cache_hit and np.array_equal(d1, d2)
    np.testing.assert_allclose(again.distance_matrix(ll[:3], ll), d1[:3])  # recomputed on it
    assert not again.last_cache_hit
    again.distance_matrix(ll + 1e-4, ll)
    assert not again.last_cache_hit
    again.distance_matrix(ll, ll, weight="time", vehicle="tractor")
    assert len(list((tmp_path / "c").glob("*.npy"))) == 4
    monkeypatch.setenv("NETPLAN_CACHE", "off")
    off = RoadNetwork.from_file(road)
    assert off.cache_dir is None


def test_route_geometry_follows_roads_and_matches_the_matrix():
    """The route a → b starts and ends at the points and is as long as the matrix says (±0.5 %)."""
    net = RoadNetwork.from_file(PBF)
    g = net.graph
    main = np.flatnonzero(g.node_comp == g.main_comp)
    ll = g.node_lonlat[main[[3, 60, 150]]] + 2e-5
    d = net.distance_matrix(ll, ll)
    line = net.route_geometry(ll[0], ll[1])
    assert Point(line.coords[0]).distance(Point(ll[0])) < 1e-9
    assert Point(line.coords[-1]).distance(Point(ll[1])) < 1e-9
    length_m = shapely.length(shapely.transform(line, lambda c: g.to_utm(c)))
    assert length_m == pytest.approx(d[0, 1], rel=0.005)
    tour = net.route_line([ll[0], ll[1], ll[2], ll[0]])
    tour_m = shapely.length(shapely.transform(tour, lambda c: g.to_utm(c)))
    assert tour_m == pytest.approx(d[0, 1] + d[1, 2] + d[2, 0], rel=0.005)


def test_service_areas_follow_reach_and_grow_with_the_limit():
    """Reach polygons contain the start, grow with the limit, and are smaller than the circle."""
    net = RoadNetwork.from_file(PBF)
    g = net.graph
    start = g.node_lonlat[np.flatnonzero(g.node_comp == g.main_comp)[10]]
    small, big = net.service_areas(np.array([start, start]), [300.0, 1500.0])
    assert small.contains(Point(start)) and big.contains(small.buffer(-1e-6))
    to_m = lambda geom: shapely.transform(geom, lambda c: g.to_utm(c))  # noqa: E731
    assert to_m(big).area > to_m(small).area
    assert to_m(big).area < np.pi * 1600**2
    (by_time,) = net.service_areas(np.array([start]), 120.0, weight="time", vehicle="tractor")
    assert by_time.contains(Point(start))


def test_unwritable_cache_warns_and_still_answers(tmp_path, monkeypatch):
    """A cache folder that cannot be created is not an error: a warning, and the matrix anyway."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("NETPLAN_CACHE", str(blocker / "cache"))
    with pytest.warns(UserWarning, match="not writable"):
        net = RoadNetwork.from_file(BAVARIA)
    ll = net.graph.node_lonlat[:4]
    with pytest.warns(UserWarning, match="not writable"):
        d = net.distance_matrix(ll, ll)
    assert d.shape == (4, 4) and np.all(np.diag(d) == 0)
