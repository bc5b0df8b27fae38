"""Snapping points to the nearest road edge (not node), with a maximum snap distance.

A point is snapped to the nearest edge of the main (largest strongly connected) component within
``max_snap_m``; failing that, to the nearest edge of any fragment within ``max_snap_m`` (reported
in ``off_main``); failing that it is not snapped (reported in ``too_far``), never moved kilometres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from shapely import STRtree

from netplan.roads.graph import RoadGraph


@dataclass(frozen=True)
class SnapReport:
    """Where each point meets the road network.

    Attributes
    ----------
    ids
        Point ids (the caller's, or 0..n-1).
    edge
        Edge index per point (-1: not snapped, too far).
    frac
        Position along the edge as a fraction of its length from its start node.
    offset_m
        The same position in metres along the edge.
    snap_m
        Straight distance point → snapped position (m); for too-far points the distance to the
        nearest road (inf if there is none).
    fragment
        Strongly connected component of the snapped edge (-1 when not snapped).
    main_fragment
        Component id of the main network.
    snapped_xy
        Snapped positions in the network's UTM CRS (m); nan when not snapped.
    """

    ids: NDArray
    edge: NDArray[np.int64]
    frac: NDArray[np.float64]
    offset_m: NDArray[np.float64]
    snap_m: NDArray[np.float64]
    fragment: NDArray[np.int64]
    main_fragment: int
    snapped_xy: NDArray[np.float64]

    @property
    def too_far(self) -> list:
        """Ids of points with no road within the maximum snap distance."""
        return list(self.ids[self.edge < 0])

    @property
    def off_main(self) -> list:
        """Ids of points snapped to a fragment cut off from the main network."""
        return list(self.ids[(self.edge >= 0) & (self.fragment != self.main_fragment)])

    @property
    def ok(self) -> NDArray[np.bool_]:
        """True where the point is snapped to the main network."""
        return (self.edge >= 0) & (self.fragment == self.main_fragment)

    def frame(self) -> pd.DataFrame:
        """One row per point: id, edge, offset_m, snap_m, fragment, status."""
        status = np.where(self.edge < 0, "too_far",
                          np.where(self.fragment == self.main_fragment, "ok", "off_main"))
        return pd.DataFrame({"id": self.ids, "edge": self.edge, "offset_m": self.offset_m,
                             "snap_m": self.snap_m, "fragment": self.fragment, "status": status})

    def __str__(self) -> str:
        n = len(self.ids)
        snapped = self.snap_m[self.edge >= 0]
        med = f"{np.median(snapped):.0f}" if len(snapped) else "-"
        mx = f"{snapped.max():.0f}" if len(snapped) else "-"
        return (f"SnapReport({n} points: {int(self.ok.sum())} on the main network, "
                f"{len(self.off_main)} on fragments, {len(self.too_far)} too far; "
                f"snap distance median {med} m, max {mx} m)")


def _tree(g: RoadGraph, vehicle: str, main_only: bool) -> tuple[STRtree, NDArray[np.int64]]:
    key = ("tree", vehicle, main_only)
    if key not in g._trees:
        w = g.arc_weight("length", vehicle)
        fwd_ok = (g.edge_fwd >= 0) & np.isfinite(w[np.maximum(g.edge_fwd, 0)])
        back_ok = (g.edge_back >= 0) & np.isfinite(w[np.maximum(g.edge_back, 0)])
        cls = g.arc_class[np.where(g.edge_fwd >= 0, g.edge_fwd, g.edge_back)]
        ok = (fwd_ok | back_ok) & ~np.isin(cls, list(g.speeds.no_snap))
        if main_only:
            ok &= (g.node_comp[g.edge_a] == g.main_comp) & (g.node_comp[g.edge_b] == g.main_comp)
        sel = np.flatnonzero(ok)
        g._trees[key] = (STRtree(g.edge_geom[sel]), sel)
    return g._trees[key]


def snap_xy(g: RoadGraph, xy: NDArray[np.float64], *, max_snap_m: float = 500.0,
            vehicle: str = "truck", ids: NDArray | None = None) -> SnapReport:
    """Snap UTM points (n, 2) to the edges ``vehicle`` may use; see the module docstring."""
    n = len(xy)
    pts = shapely.points(xy)
    edge = np.full(n, -1, np.int64)
    dist = np.full(n, np.inf)
    finite = np.isfinite(xy).all(axis=1)
    todo = np.flatnonzero(finite)
    for main_only in (True, False):
        if len(todo) == 0:
            break
        tree, sel = _tree(g, vehicle, main_only)
        if len(sel) == 0:
            continue
        (i_in, i_tree), d = tree.query_nearest(pts[todo], max_distance=max_snap_m,
                                               return_distance=True, all_matches=False)
        edge[todo[i_in]] = sel[i_tree]
        dist[todo[i_in]] = d
        todo = todo[edge[todo] < 0]
    if len(todo):
        tree, sel = _tree(g, vehicle, False)
        if len(sel):
            (i_in, _), d = tree.query_nearest(pts[todo], return_distance=True, all_matches=False)
            dist[todo[i_in]] = d
    frac = np.zeros(n)
    snapped = np.full((n, 2), np.nan)
    on = edge >= 0
    if on.any():
        geoms = g.edge_geom[edge[on]]
        glen = shapely.length(geoms)
        along = shapely.line_locate_point(geoms, pts[on])
        frac[on] = np.where(glen > 0, along / np.where(glen > 0, glen, 1.0), 0.0)
        snapped[on] = shapely.get_coordinates(shapely.line_interpolate_point(geoms, along))
    offset = np.where(on, frac * g.edge_len_m[np.maximum(edge, 0)], 0.0)
    ca = g.node_comp[g.edge_a[np.maximum(edge, 0)]]
    cb = g.node_comp[g.edge_b[np.maximum(edge, 0)]]
    frag = np.where(on, np.where(ca == g.main_comp, cb, ca), -1)
    ids_arr = np.asarray(ids, dtype=object) if ids is not None else np.arange(n)
    return SnapReport(ids=ids_arr, edge=edge, frac=frac, offset_m=offset, snap_m=dist,
                      fragment=frag, main_fragment=g.main_comp, snapped_xy=snapped)
