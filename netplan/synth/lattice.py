"""A jittered 8-neighbour lattice over a county: the space roads are routed in.

Every road, village, farm and site of a synthetic county sits on a lattice node, so roads that
share a corridor share nodes and junctions come for free. Edge costs are length x a smooth
noise factor (gentle curves in the plain) x a slope penalty (winding roads in the hills).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from netplan.synth.terrain import Terrain, noise_field

_OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


@dataclass
class Lattice:
    """Nodes (metric x, y), elevation and a directed CSR graph whose ``data`` are edge costs.

    Attributes
    ----------
    h_m
        Lattice spacing (m).
    xy_m
        (N, 2) node positions (m, metric CRS).
    rc
        (N, 2) row and column of each node.
    grid
        (rows, cols) node index or -1.
    elev_m
        Node elevation (m).
    src, dst, length_m
        Edge arrays in CSR order (sorted by src, then dst).
    rev
        Index of the reverse edge of each edge.
    graph
        CSR matrix sharing ``cost`` as its data: changing ``cost`` changes the routing.
    """

    h_m: float
    xy_m: NDArray[np.float64]
    rc: NDArray[np.int64]
    grid: NDArray[np.int64]
    elev_m: NDArray[np.float64]
    slope: NDArray[np.float64]
    src: NDArray[np.int64]
    dst: NDArray[np.int64]
    length_m: NDArray[np.float64]
    base_cost: NDArray[np.float64]
    rev: NDArray[np.int64]
    graph: csr_matrix = field(repr=False)

    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.xy_m)

    @property
    def cost(self) -> NDArray[np.float64]:
        """Current edge costs (the CSR data array)."""
        return self.graph.data

    def edge_index(self, u: int, v: int) -> int:
        """Index of the edge u -> v."""
        lo, hi = self.graph.indptr[u], self.graph.indptr[u + 1]
        k = int(np.searchsorted(self.graph.indices[lo:hi], v))
        return int(lo + k)

    def nearest(self, x_m: float, y_m: float, mask: NDArray[np.bool_] | None = None) -> int:
        """Index of the node nearest (x, y), optionally among ``mask``."""
        d = (self.xy_m[:, 0] - x_m) ** 2 + (self.xy_m[:, 1] - y_m) ** 2
        if mask is not None:
            d = np.where(mask, d, np.inf)
        return int(np.argmin(d))

    def trace(self, pred: NDArray, src: int, tgt: int) -> list[int]:
        """Node path src -> tgt from a Dijkstra predecessor array."""
        path = [tgt]
        while path[-1] != src:
            p = int(pred[path[-1]])
            if p < 0:
                msg = "lattice path broken"
                raise RuntimeError(msg)
            path.append(p)
        return path[::-1]

    def path_to_set(self, src: int, targets: NDArray[np.bool_], *, limit_m: float = 3000.0) -> list[int]:
        """Least-cost node path from ``src`` to the cheapest node of ``targets`` (bool mask)."""
        if targets[src]:
            return [src]
        limit = limit_m
        for _ in range(12):
            dist, pred = dijkstra(self.graph, directed=True, indices=src,
                                  return_predecessors=True, limit=limit)
            reach = np.flatnonzero(np.isfinite(dist) & targets)
            if len(reach):
                tgt = int(reach[np.argmin(dist[reach])])
                return self.trace(pred, src, tgt)
            limit *= 2.0
        msg = f"node {src} cannot reach the network"
        raise RuntimeError(msg)

    def path_between(self, a: int, b: int, *, limit_m: float | None = None) -> list[int] | None:
        """Least-cost node path from a to b, or None if b is unreachable within ``limit_m``."""
        dist, pred = dijkstra(self.graph, directed=True, indices=a, return_predecessors=True,
                              limit=np.inf if limit_m is None else limit_m)
        if not np.isfinite(dist[b]):
            return None
        return self.trace(pred, a, b)


def build_lattice(
    area_m: shapely.Geometry,
    terrain: Terrain,
    rng: np.random.Generator,
    *,
    h_m: float = 100.0,
    jitter: float = 0.3,
    max_grade: float = 0.32,
    slope_scale: float = 0.05,
    curve_amp: float = 0.25,
) -> Lattice:
    """Lattice of nodes inside ``area_m`` (outside water), largest connected component kept.

    Parameters
    ----------
    area_m
        Polygon (metric CRS) the nodes must lie in.
    h_m
        Spacing (m); ``jitter`` moves each node by up to that fraction of ``h_m``.
    max_grade
        Edges steeper than this (rise/run) are not built.
    slope_scale
        Grade at which the slope penalty doubles an edge's cost (quadratic penalty).
    curve_amp
        Amplitude of the smooth multiplicative cost noise that makes roads curve.
    """
    xmin, ymin, xmax, ymax = area_m.bounds
    ncols = int(np.ceil((xmax - xmin) / h_m)) + 1
    nrows = int(np.ceil((ymax - ymin) / h_m)) + 1
    rr, cc = np.meshgrid(np.arange(nrows), np.arange(ncols), indexing="ij")
    jx = rng.uniform(-jitter, jitter, rr.shape) * h_m
    jy = rng.uniform(-jitter, jitter, rr.shape) * h_m
    gx = xmin + cc * h_m + jx
    gy = ymin + rr * h_m + jy
    shapely.prepare(area_m)
    inside = shapely.contains_xy(area_m, gx, gy) & ~terrain.water(gx, gy)
    grid = np.full(rr.shape, -1, dtype=np.int64)
    idx = np.flatnonzero(inside.ravel())
    grid.ravel()[idx] = np.arange(len(idx))
    rc = np.column_stack([rr.ravel()[idx], cc.ravel()[idx]])
    xy = np.column_stack([gx.ravel()[idx], gy.ravel()[idx]])
    elev = terrain.elevation_m(xy[:, 0], xy[:, 1])
    curve = noise_field(area_m.bounds, 4000.0, rng)(xy[:, 0], xy[:, 1])
    factor = np.exp(curve_amp * curve)
    src_l, dst_l = [], []
    for dr, dc in _OFFSETS:
        r2 = rc[:, 0] + dr
        c2 = rc[:, 1] + dc
        ok = (r2 >= 0) & (r2 < nrows) & (c2 >= 0) & (c2 < ncols)
        nb = np.full(len(rc), -1)
        nb[ok] = grid[r2[ok], c2[ok]]
        good = nb >= 0
        src_l.append(np.flatnonzero(good))
        dst_l.append(nb[good])
    src = np.concatenate(src_l)
    dst = np.concatenate(dst_l)
    length = np.hypot(*(xy[dst] - xy[src]).T)
    grade = np.abs(elev[dst] - elev[src]) / length
    keep = grade <= max_grade
    src, dst, length, grade = src[keep], dst[keep], length[keep], grade[keep]
    # keep the largest connected component
    g0 = csr_matrix((np.ones(len(src)), (src, dst)), shape=(len(xy), len(xy)))
    _, lab = connected_components(g0, directed=False)
    big = np.argmax(np.bincount(lab))
    nodes = np.flatnonzero(lab == big)
    remap = np.full(len(xy), -1)
    remap[nodes] = np.arange(len(nodes))
    ek = (remap[src] >= 0) & (remap[dst] >= 0)
    src, dst, length, grade = remap[src[ek]], remap[dst[ek]], length[ek], grade[ek]
    xy, rc, elev, factor = xy[nodes], rc[nodes], elev[nodes], factor[nodes]
    grid = np.full(grid.shape, -1, dtype=np.int64)
    grid[rc[:, 0], rc[:, 1]] = np.arange(len(nodes))
    order = np.lexsort((dst, src))
    src, dst, length, grade = src[order], dst[order], length[order], grade[order]
    cost = length * 0.5 * (factor[src] + factor[dst]) * (1.0 + (grade / slope_scale) ** 2)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=len(xy)))])
    graph = csr_matrix((cost.copy(), dst.astype(np.int32), indptr), shape=(len(xy), len(xy)))
    # reverse edge index: position of (dst, src)
    key = src * len(xy) + dst
    rkey = dst * len(xy) + src
    rev = np.searchsorted(key, rkey)
    # node slope: max grade of incident edges
    slope = np.zeros(len(xy))
    np.maximum.at(slope, src, grade)
    return Lattice(h_m=h_m, xy_m=xy, rc=rc, grid=grid, elev_m=elev, slope=slope, src=src,
                   dst=dst, length_m=length, base_cost=cost, rev=rev, graph=graph)
