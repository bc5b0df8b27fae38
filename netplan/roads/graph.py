"""The array form of a road graph: nodes, directed arcs, undirected edge geometries, components.

Each OSM road segment is one *edge* (a LineString in the county's UTM zone) carrying up to two
directed *arcs* (a→b along the geometry, b→a against it). Snapping works on edges, shortest paths
on arcs. Lengths are the graph's own ``length`` attribute (osmnx: great-circle metres), so results
equal networkx's on the same graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pyproj
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray
from scipy.sparse.csgraph import connected_components

from netplan.coords import utm_epsg
from netplan.errors import InputError
from netplan.roads.speeds import SpeedTable, arc_speeds_kmh, parse_maxspeed_kmh

_MIN_W = 1e-6  # scipy csgraph drops explicit zeros; zero-length arcs get this tiny weight


# OSM highway classes from main to minor: when osmnx merges ways of several classes into one arc
# (a list built from a set, so its order changes with PYTHONHASHSEED) the main class is kept.
_CLASS_RANK = (
    "motorway", "trunk", "primary", "secondary", "tertiary", "motorway_link", "trunk_link",
    "primary_link", "secondary_link", "tertiary_link", "unclassified", "residential",
    "living_street", "service", "road", "track", "path",
)


def _first(v: object) -> str:
    """The main road class of an arc (osmnx merges tags of simplified ways into lists).

    Chosen by rank (``_CLASS_RANK``, unknown classes after it, then by name), never by list order,
    so the graph is the same in every process.
    """
    if isinstance(v, list | tuple):
        names = sorted({str(x) for x in v if x is not None and x == x})
        if not names:
            return "road"
        rank = {c: i for i, c in enumerate(_CLASS_RANK)}
        return min(names, key=lambda c: (rank.get(c, len(rank)), c))
    return "road" if v is None or v != v else str(v)


@dataclass
class RoadGraph:
    """Arrays of one road graph (see module docstring). Lengths in metres, coordinates in UTM metres."""

    epsg: int
    node_lonlat: NDArray[np.float64]  # (n, 2)
    node_xy: NDArray[np.float64]  # (n, 2) UTM m
    arc_u: NDArray[np.int64]
    arc_v: NDArray[np.int64]
    arc_len_m: NDArray[np.float64]
    arc_class: NDArray
    arc_maxspeed_kmh: NDArray[np.float64]
    arc_speed_kmh: NDArray[np.float64]  # explicit speed column of a line layer (nan = none)
    arc_edge: NDArray[np.int64]
    edge_geom: NDArray  # shapely LineStrings, UTM, oriented a→b
    edge_a: NDArray[np.int64]
    edge_b: NDArray[np.int64]
    edge_fwd: NDArray[np.int64]  # arc a→b or -1
    edge_back: NDArray[np.int64]  # arc b→a or -1
    node_comp: NDArray[np.int64]  # strongly connected component per node
    main_comp: int
    speeds: SpeedTable
    hilly: bool = False
    _weights: dict = field(default_factory=dict, repr=False)
    _csr: dict = field(default_factory=dict, repr=False)
    _trees: dict = field(default_factory=dict, repr=False)

    @property
    def n_nodes(self) -> int:
        """Number of graph nodes."""
        return len(self.node_xy)

    @property
    def n_arcs(self) -> int:
        """Number of directed arcs (graph edges in networkx terms)."""
        return len(self.arc_u)

    @property
    def edge_len_m(self) -> NDArray[np.float64]:
        """Length of every edge (m), from its arcs' ``length``."""
        a = np.where(self.edge_fwd >= 0, self.edge_fwd, self.edge_back)
        return self.arc_len_m[a]

    def to_utm(self, lonlat: NDArray[np.float64]) -> NDArray[np.float64]:
        """(n, 2) lon/lat → (n, 2) UTM metres."""
        tr = pyproj.Transformer.from_crs(4326, self.epsg, always_xy=True)
        x, y = tr.transform(lonlat[:, 0], lonlat[:, 1])
        return np.column_stack([x, y])

    def to_lonlat(self, xy: NDArray[np.float64]) -> NDArray[np.float64]:
        """(n, 2) UTM metres → (n, 2) lon/lat."""
        tr = pyproj.Transformer.from_crs(self.epsg, 4326, always_xy=True)
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    def arc_weight(self, weight: str, vehicle: str) -> NDArray[np.float64]:
        """Cost of every arc: metres (``"length"``) or seconds (``"time"``); inf = not allowed."""
        key = (weight, vehicle)
        if key not in self._weights:
            v_kmh = arc_speeds_kmh(self.speeds, vehicle, self.arc_class, self.arc_maxspeed_kmh,
                                   self.arc_speed_kmh, hilly=self.hilly)
            if weight == "length":
                w = np.where(v_kmh > 0, self.arc_len_m, np.inf)
            elif weight == "time":
                with np.errstate(divide="ignore"):
                    w = np.where(v_kmh > 0, self.arc_len_m / (v_kmh / 3.6), np.inf)
            else:
                msg = f"weight must be 'length' or 'time', got {weight!r}"
                raise InputError(msg, field="weight")
            self._weights[key] = w
        return self._weights[key]

    def base_arcs(self, weight: str, vehicle: str) -> tuple[NDArray, NDArray, NDArray]:
        """Allowed arcs (u, v, w) with parallel arcs reduced to the cheapest, weights ≥ 1e-6."""
        key = (weight, vehicle)
        if key not in self._csr:
            w = self.arc_weight(weight, vehicle)
            ok = np.isfinite(w)
            self._csr[key] = min_arcs(self.arc_u[ok], self.arc_v[ok], w[ok])
        return self._csr[key]


def min_arcs(u: NDArray, v: NDArray, w: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """Keep the cheapest of parallel arcs (scipy would sum them); clamp weights to ≥ 1e-6."""
    order = np.lexsort((w, v, u))
    u, v, w = u[order], v[order], w[order]
    keep = np.ones(len(u), bool)
    keep[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    return u[keep], v[keep], np.maximum(w[keep], _MIN_W)


def csr(u: NDArray, v: NDArray, w: NDArray, n: int) -> sp.csr_matrix:
    """Sparse adjacency matrix (n × n) of arcs already reduced by :func:`min_arcs`."""
    return sp.csr_matrix((w, (u, v)), shape=(n, n))


def from_networkx(G: nx.MultiDiGraph, speeds: SpeedTable, *, hilly: bool = False) -> RoadGraph:
    """Build the arrays of a lon/lat osmnx-style MultiDiGraph (edges need ``length``)."""
    if G.number_of_edges() == 0:
        msg = "the road graph has no edges"
        raise InputError(msg)
    ids = list(G.nodes)
    index = {n: i for i, n in enumerate(ids)}
    lonlat = np.array([[G.nodes[n]["x"], G.nodes[n]["y"]] for n in ids], dtype=float)
    m = G.number_of_edges()
    u = np.empty(m, np.int64)
    v = np.empty(m, np.int64)
    length = np.empty(m)
    cls = np.empty(m, dtype=object)
    maxs = np.empty(m)
    spd = np.empty(m)
    geoms: list = [None] * m
    for i, (a, b, d) in enumerate(G.edges(data=True)):
        u[i], v[i] = index[a], index[b]
        length[i] = float(d.get("length", np.nan))
        cls[i] = _first(d.get("highway"))
        maxs[i] = parse_maxspeed_kmh(d.get("maxspeed"))
        s = d.get("speed_kmh")
        spd[i] = float(s) if s is not None else np.nan
        geoms[i] = d.get("geometry")
    c = lonlat.mean(axis=0)
    epsg = utm_epsg(float(c[0]), float(c[1]))
    tr = pyproj.Transformer.from_crs(4326, epsg, always_xy=True)
    x, y = tr.transform(lonlat[:, 0], lonlat[:, 1])
    xy = np.column_stack([x, y])
    # geometries: the arc's own (lon/lat) or the straight segment; projected in one call
    has = np.array([g is not None for g in geoms])
    straight = shapely.linestrings(np.stack([lonlat[u], lonlat[v]], axis=1))
    ll = np.where(has, np.array(geoms, dtype=object), straight)
    coords, idx = shapely.get_coordinates(ll, return_index=True)
    px, py = tr.transform(coords[:, 0], coords[:, 1])
    proj = shapely.linestrings(np.column_stack([px, py]), indices=idx)
    bad = ~np.isfinite(length)
    length[bad] = shapely.length(proj[bad])
    # pair each arc with its reverse twin (same end nodes, same length to 0.1 m) into one edge
    key_lo, key_hi = np.minimum(u, v), np.maximum(u, v)
    lkey = np.round(length, 1)
    arc_edge = np.full(m, -1, np.int64)
    edge_of: dict[tuple, list[int]] = {}
    e_geom, e_a, e_b, e_fwd, e_back = [], [], [], [], []
    for i in range(m):
        k = (int(key_lo[i]), int(key_hi[i]), float(lkey[i]))
        cands = edge_of.get(k)
        if cands is not None and u[i] != v[i]:
            for e in cands:
                if e_back[e] < 0 and e_a[e] == v[i] and e_b[e] == u[i]:
                    e_back[e] = i
                    arc_edge[i] = e
                    break
        if arc_edge[i] >= 0:
            continue
        e = len(e_geom)
        e_geom.append(proj[i])
        e_a.append(int(u[i]))
        e_b.append(int(v[i]))
        e_fwd.append(i)
        e_back.append(-1)
        arc_edge[i] = e
        edge_of.setdefault(k, []).append(e)
    n = len(ids)
    graph = csr(*min_arcs(u, v, np.maximum(length, _MIN_W)), n)
    _, comp = connected_components(graph, directed=True, connection="strong")
    main = int(np.bincount(comp).argmax())
    return RoadGraph(
        epsg=epsg, node_lonlat=lonlat, node_xy=xy, arc_u=u, arc_v=v, arc_len_m=length,
        arc_class=cls.astype(str), arc_maxspeed_kmh=maxs, arc_speed_kmh=spd, arc_edge=arc_edge,
        edge_geom=np.array(e_geom, dtype=object), edge_a=np.array(e_a, np.int64),
        edge_b=np.array(e_b, np.int64), edge_fwd=np.array(e_fwd, np.int64),
        edge_back=np.array(e_back, np.int64), node_comp=comp.astype(np.int64), main_comp=main,
        speeds=speeds, hilly=hilly,
    )


_ARRAYS = ("node_lonlat", "node_xy", "arc_u", "arc_v", "arc_len_m", "arc_class", "arc_maxspeed_kmh",
           "arc_speed_kmh", "arc_edge", "edge_a", "edge_b", "edge_fwd", "edge_back", "node_comp")


def to_arrays(g: RoadGraph) -> dict[str, NDArray]:
    """Plain numpy arrays of a RoadGraph (no pickles), for the on-disk graph cache."""
    out = {k: np.asarray(getattr(g, k)) for k in _ARRAYS}
    out["arc_class"] = out["arc_class"].astype("U")
    coords, idx = shapely.get_coordinates(g.edge_geom, return_index=True)
    out["geom_coords"], out["geom_index"] = coords, idx
    out["scalars"] = np.array([g.epsg, g.main_comp, int(g.hilly)], dtype=np.int64)
    return out


def from_arrays(a: dict[str, NDArray], speeds: SpeedTable) -> RoadGraph:
    """Inverse of :func:`to_arrays`."""
    geoms = shapely.linestrings(a["geom_coords"], indices=a["geom_index"])
    epsg, main, hilly = (int(x) for x in a["scalars"])
    kw = {k: a[k] for k in _ARRAYS}
    return RoadGraph(epsg=epsg, edge_geom=np.asarray(geoms, dtype=object), main_comp=main,
                     speeds=speeds, hilly=bool(hilly), **kw)
