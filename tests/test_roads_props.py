"""Property tests of the matrix engine against a brute-force reference.

The reference inserts every snapped point into a networkx MultiDiGraph by splitting its edge at
the snapped position (plus the access leg) and runs networkx Dijkstra: no virtual nodes, no
partial-edge algebra, no reversed runs, no chunking. Random grids with random one-way streets.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point

from netplan.roads import RoadNetwork, matrix
from netplan.roads.snap import snap_xy

CRS = "EPSG:32649"
X0, Y0 = 500_000.0, 3_700_000.0


@pytest.fixture(autouse=True)
def _no_cache(monkeypatch):
    monkeypatch.setenv("NETPLAN_CACHE", "off")


def random_grid(rng: np.random.Generator, side: int = 4, spacing: float = 1000.0):
    """A jittered side × side grid with ~15 % of segments dropped and ~30 % one-way."""
    xy = {(i, j): (X0 + i * spacing + rng.normal(0, 80), Y0 + j * spacing + rng.normal(0, 80))
          for i in range(side) for j in range(side)}
    geoms, oneway, cls = [], [], []
    for (i, j), p in xy.items():
        for q in ((i + 1, j), (i, j + 1)):
            if q in xy and rng.random() > 0.15:
                a, b = (p, xy[q]) if rng.random() < 0.5 else (xy[q], p)
                mid = ((a[0] + b[0]) / 2 + rng.normal(0, 60), (a[1] + b[1]) / 2 + rng.normal(0, 60))
                geoms.append(LineString([a, mid, b]))
                oneway.append("yes" if rng.random() < 0.3 else "no")
                cls.append(["tertiary", "track", "residential"][rng.integers(3)])
    return gpd.GeoDataFrame({"highway": cls, "oneway": oneway}, geometry=geoms, crs=CRS)


def reference(net: RoadNetwork, o_xy: np.ndarray, d_xy: np.ndarray) -> np.ndarray:
    """Brute force: split edges at the snapped points and run networkx Dijkstra (length)."""
    g = net.graph
    o = snap_xy(g, o_xy, max_snap_m=5000)
    d = snap_xy(g, d_xy, max_snap_m=5000)
    w = g.arc_weight("length", "truck")
    H = nx.MultiDiGraph()
    on_edge: dict[int, list] = {}
    for kind, rep in (("o", o), ("d", d)):
        for i in range(len(rep.edge)):
            on_edge.setdefault(int(rep.edge[i]), []).append((rep.frac[i], (kind, i)))
            if kind == "o":
                H.add_edge(("out", "o", i), (kind, i), weight=rep.snap_m[i])
            else:
                H.add_edge((kind, i), ("out", "d", i), weight=rep.snap_m[i])
    for e in range(len(g.edge_a)):
        seq = [(0.0, int(g.edge_a[e])), *sorted(on_edge.get(e, []), key=lambda t: t[0]),
               (1.0, int(g.edge_b[e]))]
        L = g.edge_len_m[e]
        f, b = g.edge_fwd[e], g.edge_back[e]
        for (fx, x), (fy, y) in zip(seq[:-1], seq[1:], strict=True):
            piece = (fy - fx) * L
            if f >= 0 and np.isfinite(w[f]):
                H.add_edge(x, y, weight=piece)
            if b >= 0 and np.isfinite(w[b]):
                H.add_edge(y, x, weight=piece)
        for fp, p in seq[1:-1]:  # a point snapped onto an end node is at that node, both ways
            for fn, node in ((0.0, seq[0][1]), (1.0, seq[-1][1])):
                if abs(fp - fn) * L <= 0.01:
                    H.add_edge(p, node, weight=0.0)
                    H.add_edge(node, p, weight=0.0)
    out = np.full((len(o_xy), len(d_xy)), np.inf)
    for i in range(len(o_xy)):
        dist = nx.single_source_dijkstra_path_length(H, ("out", "o", i), weight="weight")
        for j in range(len(d_xy)):
            out[i, j] = dist.get(("out", "d", j), np.inf)
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n_o=st.integers(1, 9), n_d=st.integers(1, 9))
def test_matrix_equals_edge_splitting_reference(seed, n_o, n_d):
    """On random grids with one-way streets, every entry equals the brute-force reference (1e-6 m),
    whichever side the engine runs from (n_o < n_d or n_o > n_d)."""
    rng = np.random.default_rng(seed)
    net = RoadNetwork.from_lines(random_grid(rng))
    o_xy = rng.uniform([X0 - 300, Y0 - 300], [X0 + 3300, Y0 + 3300], (n_o, 2))
    d_xy = np.vstack([rng.uniform([X0 - 300, Y0 - 300], [X0 + 3300, Y0 + 3300], (n_d - 1, 2)),
                      o_xy[:1] + [5.0, 0.0]])  # one destination next to an origin: same-edge case
    to_pts = lambda a: gpd.GeoSeries([Point(p) for p in a], crs=CRS)  # noqa: E731
    got = net.distance_matrix(to_pts(o_xy), to_pts(d_xy), max_snap_m=5000)
    ref = reference(net, net.graph.to_utm(to_pts(o_xy).to_crs(4326).get_coordinates().to_numpy()),
                    net.graph.to_utm(to_pts(d_xy).to_crs(4326).get_coordinates().to_numpy()))
    assert np.array_equal(np.isinf(got), np.isinf(ref))
    fin = np.isfinite(ref)
    np.testing.assert_allclose(got[fin], ref[fin], atol=1e-6, rtol=1e-9)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_triangle_inequality_and_cutoff_monotone(seed):
    """d(i, j) ≤ d(i, k) + d(k, j) for all triples, and a cutoff only turns entries into inf."""
    rng = np.random.default_rng(seed)
    net = RoadNetwork.from_lines(random_grid(rng))
    p = gpd.GeoSeries([Point(q) for q in rng.uniform([X0, Y0], [X0 + 3000, Y0 + 3000], (7, 2))],
                      crs=CRS)
    d = net.distance_matrix(p, p, max_snap_m=5000)
    via = np.min(d[:, :, None] + d[None, :, :], axis=1)
    assert np.all(d <= via + 1e-6)
    cut = float(np.median(d[np.isfinite(d)]))
    dc = net.distance_matrix(p, p, max_snap_m=5000, cutoff=cut)
    keep = d <= cut
    np.testing.assert_array_equal(dc[keep], d[keep])
    assert np.all(np.isinf(dc[~keep]))


def test_parallel_chunks_equal_serial(monkeypatch):
    """Forked worker processes and tiny chunks give exactly the serial single-chunk result."""
    rng = np.random.default_rng(3)
    net = RoadNetwork.from_lines(random_grid(rng, side=6))
    p = rng.uniform([X0, Y0], [X0 + 5000, Y0 + 5000], (40, 2))
    pts = gpd.GeoSeries([Point(q) for q in p], crs=CRS)
    monkeypatch.setenv("NETPLAN_WORKERS", "1")
    serial = net.distance_matrix(pts, pts[:25], max_snap_m=5000)
    monkeypatch.setenv("NETPLAN_WORKERS", "2")
    monkeypatch.setattr(matrix, "PARALLEL_MIN_WORK", 0)
    monkeypatch.setattr(matrix, "MEM_BUDGET_BYTES", 8 * 64 * 3)  # chunks of 3 sources
    parallel = net.distance_matrix(pts, pts[:25], max_snap_m=5000)
    np.testing.assert_array_equal(parallel, serial)
