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


def route_xy(g: RoadGraph, a: SnapReport, b: SnapReport, a_xy: NDArray, b_xy: NDArray,
             weight: str, vehicle: str) -> tuple[NDArray, float]:
    """Coordinates (UTM) of the cheapest route a → b (single points) and its cost; cost inf if none."""
    if a.edge[0] < 0 or b.edge[0] < 0:
        return np.vstack([a_xy, b_xy]), np.inf
    an, ao, _ = end_costs(g, a, weight, vehicle)
    bn, _, bi = end_costs(g, b, weight, vehicle)
    dist, pred = _from_virtual(g, weight, vehicle, an[0], ao[0], predecessors=True)
    ends = dist[bn[0]] + bi[0]
    best = int(np.argmin(ends))
    cost = float(ends[best])
    ea, eb = int(a.edge[0]), int(b.edge[0])
    direct = np.inf
    if ea == eb:
        w = g.arc_weight(weight, vehicle)
        df = b.frac[0] - a.frac[0]
        arc = g.edge_fwd[ea] if df >= 0 else g.edge_back[ea]
        if arc >= 0 and np.isfinite(w[arc]):
            direct = abs(df) * w[arc]
            acc = a.snap_m[0] + b.snap_m[0]
            direct += acc / (g.speeds.access_kmh / 3.6) if weight == "time" else acc
    parts: list[NDArray] = [np.asarray(a_xy).reshape(1, 2)]
    if direct <= cost:
        parts.append(_piece(g.edge_geom[ea], a.frac[0], b.frac[0]))
        cost = float(direct)
    elif np.isfinite(cost):
        n = g.n_nodes
        path = [int(bn[0][best])]
        while pred[path[-1]] != n:
            path.append(int(pred[path[-1]]))
        path.reverse()
        first = path[0]
        parts.append(_piece(g.edge_geom[ea], a.frac[0], 1.0 if first == g.edge_b[ea] else 0.0))
        look = _arc_lookup(g, weight, vehicle)
        for x, y in zip(path[:-1], path[1:], strict=True):
            arc = look[(x, y)]
            geom = g.edge_geom[g.arc_edge[arc]]
            xy = shapely.get_coordinates(geom)
            parts.append(xy if g.edge_fwd[g.arc_edge[arc]] == arc else xy[::-1])
        last = path[-1]
        parts.append(_piece(g.edge_geom[eb], 0.0 if last == g.edge_a[eb] else 1.0, b.frac[0]))
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
