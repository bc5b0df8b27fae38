"""Route geometry along the roads and reach-based service areas (isochrones), in UTM metres."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring

from netplan.roads.graph import RoadGraph
from netplan.roads.matrix import end_costs
from netplan.roads.snap import SnapReport


def _from_virtual(g: RoadGraph, weight: str, vehicle: str, nodes: NDArray, cost: NDArray,
                  *, limit: float = np.inf, predecessors: bool = False):
    """Dijkstra from one virtual node (index n) linked to ``nodes`` (2,) at ``cost`` (2,)."""
    u, v, w = g.base_arcs(weight, vehicle)
    n = g.n_nodes
    ok = np.isfinite(cost)
    G = sp.csr_matrix((np.r_[w, np.maximum(cost[ok], 1e-9)],
                       (np.r_[u, np.full(ok.sum(), n)], np.r_[v, nodes[ok]])), shape=(n + 1, n + 1))
    return dijkstra(G, directed=True, indices=n, limit=limit, return_predecessors=predecessors)


def _arc_lookup(g: RoadGraph, weight: str, vehicle: str) -> dict[tuple[int, int], int]:
    """(u, v) → index of the cheapest allowed arc u→v."""
    key = ("arcs", weight, vehicle)
    if key not in g._csr:
        w = g.arc_weight(weight, vehicle)
        ok = np.flatnonzero(np.isfinite(w))
        order = ok[np.argsort(-w[ok], kind="stable")]  # cheapest last → wins in the dict
        g._csr[key] = {(int(g.arc_u[i]), int(g.arc_v[i])): int(i) for i in order}
    return g._csr[key]


def _piece(geom: LineString, start_frac: float, end_frac: float) -> NDArray:
    """Coordinates of the part of ``geom`` between two fractions (reversed if start > end)."""
    L = geom.length
    if L == 0:
        return np.asarray(geom.coords)[:1]
    part = substring(geom, start_frac * L, end_frac * L)
    return shapely.get_coordinates(part)


def _line(xy: NDArray) -> LineString | None:
    return LineString(xy) if len(xy) >= 2 else None


def _take_rows(rep: SnapReport, rows: NDArray) -> SnapReport:
    return SnapReport(ids=rep.ids[rows], edge=rep.edge[rows], frac=rep.frac[rows],
                      offset_m=rep.offset_m[rows], snap_m=rep.snap_m[rows],
                      fragment=rep.fragment[rows], main_fragment=rep.main_fragment,
                      snapped_xy=rep.snapped_xy[rows])


def routes_xy(g: RoadGraph, rep: SnapReport, xy: NDArray, weight: str, vehicle: str,
              *, mem_budget_bytes: int = 256 * 2**20) -> list[tuple[NDArray, float]]:
    """Coordinates (UTM) and cost of the cheapest route of every leg xy[i] → xy[i+1].

    One multi-source Dijkstra (with predecessors) per chunk of leg starts, not one per leg.
    Legs with an unsnapped end or no route get a straight segment and cost inf.
    """
    k = len(xy)
    legs: list[tuple[NDArray, float]] = [(np.vstack([xy[i], xy[i + 1]]), np.inf) for i in range(k - 1)]
    starts = np.array([i for i in range(k - 1) if rep.edge[i] >= 0 and rep.edge[i + 1] >= 0])
    if len(starts) == 0:
        return legs
    nodes, out_c, in_c = end_costs(g, rep, weight, vehicle)
    u, v, w = g.base_arcs(weight, vehicle)
    n = g.n_nodes
    chunk = max(1, mem_budget_bytes // (16 * (n + 1)))
    for s0 in range(0, len(starts), chunk):
        rows = starts[s0:s0 + chunk]
        c = len(rows)
        vn = n + np.arange(c)
        vw = out_c[rows].ravel()
        ok = np.isfinite(vw)
        G = sp.csr_matrix((np.r_[w, np.maximum(vw[ok], 1e-9)],
                           (np.r_[u, np.repeat(vn, 2)[ok]], np.r_[v, nodes[rows].ravel()[ok]])),
                          shape=(n + c, n + c))
        dist, pred = dijkstra(G, directed=True, indices=vn, return_predecessors=True)
        for r, i in enumerate(rows):
            legs[i] = _leg(g, _take_rows(rep, np.array([i, i + 1])), xy[i], xy[i + 1], dist[r],
                           pred[r], n + r, nodes[i + 1], in_c[i + 1], out_c[i], weight, vehicle)
    return legs


def _leg(g: RoadGraph, ab: SnapReport, a_xy: NDArray, b_xy: NDArray, dist: NDArray, pred: NDArray,
         vnode: int, b_nodes: NDArray, b_in: NDArray, a_out: NDArray, weight: str,
         vehicle: str) -> tuple[NDArray, float]:
    """One leg a → b from a Dijkstra row (dist, pred) rooted at virtual node ``vnode``."""
    ends = dist[b_nodes] + b_in
    best = int(np.argmin(ends))
    cost = float(ends[best])
    ea, eb = int(ab.edge[0]), int(ab.edge[1])
    fa, fb = float(ab.frac[0]), float(ab.frac[1])
    direct = np.inf
    if ea == eb:
        w = g.arc_weight(weight, vehicle)
        arc = g.edge_fwd[ea] if fb >= fa else g.edge_back[ea]
        if arc >= 0 and np.isfinite(w[arc]):
            acc = ab.snap_m[0] + ab.snap_m[1]
            direct = abs(fb - fa) * w[arc] + (acc / (g.speeds.access_kmh / 3.6)
                                              if weight == "time" else acc)
    parts: list[NDArray] = [np.asarray(a_xy).reshape(1, 2)]
    if direct <= cost:
        parts.append(_piece(g.edge_geom[ea], fa, fb))
        cost = float(direct)
    elif np.isfinite(cost):
        path = [int(b_nodes[best])]
        while pred[path[-1]] != vnode:
            path.append(int(pred[path[-1]]))
        path.reverse()
        parts.append(_piece(g.edge_geom[ea], fa, 1.0 if path[0] == g.edge_b[ea] and
                            np.isfinite(a_out[1]) else 0.0))
        look = _arc_lookup(g, weight, vehicle)
        for x, y in zip(path[:-1], path[1:], strict=True):
            arc = look[(x, y)]
            xy = shapely.get_coordinates(g.edge_geom[g.arc_edge[arc]])
            parts.append(xy if g.edge_fwd[g.arc_edge[arc]] == arc else xy[::-1])
        parts.append(_piece(g.edge_geom[eb], 0.0 if path[-1] == g.edge_a[eb] else 1.0, fb))
    parts.append(np.asarray(b_xy).reshape(1, 2))
    xy = np.vstack(parts)
    keep = np.r_[True, np.any(np.abs(np.diff(xy, axis=0)) > 1e-6, axis=1)]
    xy = xy[keep]
    if len(xy) == 1:
        xy = np.vstack([xy, xy])
    return xy, cost


def reach_xy(g: RoadGraph, p: SnapReport, limit: float, weight: str, vehicle: str,
             *, buffer_m: float = 100.0) -> BaseGeometry:
    """Polygon (UTM) of the road parts reachable from one snapped point within ``limit``, buffered."""
    if p.edge[0] < 0:
        return shapely.Polygon()
    pn, po, _ = end_costs(g, p, weight, vehicle)
    dist = _from_virtual(g, weight, vehicle, pn[0], po[0], limit=limit)
    w = g.arc_weight(weight, vehicle)
    du = dist[g.arc_u]
    reached = np.flatnonzero(np.isfinite(du) & (du < limit) & np.isfinite(w))
    frac = np.minimum(1.0, (limit - du[reached]) / np.maximum(w[reached], 1e-9))
    edges = g.arc_edge[reached]
    full = frac >= 1.0
    pieces = list(g.edge_geom[edges[full]])
    for arc, e, f in zip(reached[~full], edges[~full], frac[~full], strict=True):
        if f > 0:
            a, b = (0.0, f) if g.edge_fwd[e] == arc else (1.0, 1.0 - f)
            pieces.append(_line(_piece(g.edge_geom[e], a, b)))
    # the snapped edge itself, from the point towards both ends as far as the budget allows
    e = int(p.edge[0])
    if weight == "time":
        acc_cost = p.snap_m[0] / (g.speeds.access_kmh / 3.6)
    else:
        acc_cost = p.snap_m[0]
    budget = max(0.0, limit - acc_cost)
    f0 = p.frac[0]
    wf = w[g.edge_fwd[e]] if g.edge_fwd[e] >= 0 else np.inf
    wb = w[g.edge_back[e]] if g.edge_back[e] >= 0 else np.inf
    hi = min(1.0, f0 + budget / wf) if np.isfinite(wf) and wf > 0 else f0
    lo = max(0.0, f0 - budget / wb) if np.isfinite(wb) and wb > 0 else f0
    if hi > lo:
        pieces.append(_line(_piece(g.edge_geom[e], lo, hi)))
    pieces = [x for x in pieces if x is not None and not x.is_empty and x.length > 0]
    if not pieces:
        return shapely.Point(p.snapped_xy[0]).buffer(buffer_m)
    # buffering thousands of overlapping segments is slow: merge, thin to 1/10 of the buffer
    # width (invisible at map scale), then buffer with coarse round caps
    lines = shapely.simplify(shapely.line_merge(shapely.union_all(pieces)), buffer_m / 10)
    return shapely.buffer(lines, buffer_m, quad_segs=4)
