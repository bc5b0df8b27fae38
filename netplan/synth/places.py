"""Where things are: county seat, township seats, township cells, spacing helpers.

Township seats sit at their real points where the village list has one. The others: 街道 seats
on a ring round the county seat; 镇/乡 seats spread by a weighted Lloyd (k-means) relaxation
over the land a town can sit on (valley floors in the hills). Township outlines are not public,
so townships are the Voronoi cells of their seats and villages merged by township and clipped to
the real county outline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from netplan.synth.admin import Township
from netplan.synth.lattice import Lattice
from netplan.synth.terrain import Terrain


@dataclass(frozen=True)
class Seats:
    """Township seats: lattice node per township (same order as ``townships``).

    ``real`` marks seats placed at their real point (the village list's township point),
    ``farming_t`` townships with at least one farming village (村).
    """

    townships: tuple[Township, ...]
    node: NDArray[np.int64]
    county_seat: int
    real: NDArray[np.bool_]
    farming_t: NDArray[np.bool_]

    def farming(self) -> NDArray[np.bool_]:
        """True for townships with farming villages."""
        return self.farming_t


def suitability(lat: Lattice, terrain: Terrain) -> NDArray[np.float64]:
    """Relative weight of a lattice node as a place to live: flat land near the valley floor."""
    if terrain.kind != "hilly":
        return np.ones(lat.n)
    relief = terrain.relief_m(lat.xy_m[:, 0], lat.xy_m[:, 1])
    low = np.exp(-relief / 90.0)
    flat = np.exp(-((lat.slope / 0.08) ** 2))
    return low * flat + 1e-6


def _weighted_sample(rng: np.random.Generator, weights: NDArray, k: int) -> NDArray[np.int64]:
    """k distinct indices drawn with probability proportional to weights (Efraimidis-Spirakis)."""
    keys = np.log(rng.random(len(weights))) / np.maximum(weights, 1e-300)
    return np.argsort(-keys, kind="stable")[:k]


def _snap_fixed(lat: Lattice, fixed_xy_m: list[tuple[float, float] | None], max_snap_m: float,
                min_gap_m: float) -> NDArray[np.int64]:
    """Lattice node of every real seat point, -1 where there is none or it is unusable: more than
    ``max_snap_m`` from the lattice, or within ``min_gap_m`` of a seat placed before it (two units
    geocoded to the same government compound)."""
    node = np.full(len(fixed_xy_m), -1, dtype=np.int64)
    placed: list[int] = []
    for i, p in enumerate(fixed_xy_m):
        if p is None:
            continue
        n = lat.nearest(*p)
        if np.hypot(*(lat.xy_m[n] - p)) > max_snap_m:
            continue
        if placed and np.hypot(*(lat.xy_m[placed] - lat.xy_m[n]).T).min() < min_gap_m:
            continue
        node[i] = n
        placed.append(n)
    return node


def place_seats(
    lat: Lattice,
    townships: tuple[Township, ...],
    seat_xy_m: tuple[float, float],
    suit: NDArray[np.float64],
    rng: np.random.Generator,
    *,
    fixed_xy_m: list[tuple[float, float] | None] | None = None,
    ring_m: float = 1400.0,
    min_seat_gap_m: float = 4500.0,
    spread: float = 1.0,
) -> Seats:
    """Seat node of every township.

    Seats with a real point (``fixed_xy_m``, metric) sit on the lattice node nearest it. The others:
    街道 seats on a ring of ``ring_m`` around the county seat (the first at the county seat when
    none is real); 镇/乡 seats by weighted Lloyd relaxation with every placed seat held fixed,
    snapped to the most suitable node within 1 km, never closer than ``min_seat_gap_m`` to the
    county seat.
    """
    county = lat.nearest(*seat_xy_m)
    cx, cy = lat.xy_m[county]
    node = _snap_fixed(lat, list(fixed_xy_m or [None] * len(townships)), 1500.0, 800.0)
    real = node >= 0
    subs = [i for i, t in enumerate(townships) if t.kind == "街道" and node[i] < 0]
    farms = [i for i, t in enumerate(townships) if t.kind != "街道" and node[i] < 0]
    if not real.any():
        if subs:
            node[subs[0]] = county
            subs = subs[1:]
        elif farms:
            node[farms[0]] = county
            farms = farms[1:]
    phase = rng.uniform(0, 2 * np.pi)
    for k, i in enumerate(subs):
        for step in range(24):
            ang = phase + 2 * np.pi * k / max(len(subs), 1) + step * np.pi / 12
            n = lat.nearest(cx + ring_m * np.cos(ang), cy + ring_m * np.sin(ang))
            others = node[node >= 0]
            if not len(others) or np.hypot(*(lat.xy_m[others] - lat.xy_m[n]).T).min() >= 0.6 * ring_m:
                break
        node[i] = n
    # weighted Lloyd over a sample of nodes, every placed seat (and the county seat) fixed
    sample = _weighted_sample(rng, suit ** spread, min(lat.n, 20000))
    pts = lat.xy_m[sample]
    w = suit[sample] ** spread
    fixed = np.vstack([[cx, cy], lat.xy_m[node[node >= 0]]])
    far = np.min([np.hypot(*(pts - f).T) for f in fixed], axis=0) > 2 * min_seat_gap_m
    init = pts[_weighted_sample(rng, w * np.where(far, 1.0, 1e-6), len(farms))]
    centres = np.vstack([fixed, init])
    nf = len(fixed)
    for _ in range(25):
        lab = cKDTree(centres).query(pts)[1]
        for j in range(nf, len(centres)):
            m = lab == j
            if m.any():
                centres[j] = np.average(pts[m], axis=0, weights=w[m])
    tree = cKDTree(lat.xy_m)
    used: list[int] = [int(n) for n in node if n >= 0] + [county]
    for j, i in enumerate(farms, start=nf):
        x, y = centres[j]
        d = np.hypot(x - cx, y - cy)
        if d < min_seat_gap_m:  # push away from the county seat
            x = cx + (x - cx) * min_seat_gap_m / max(d, 1.0)
            y = cy + (y - cy) * min_seat_gap_m / max(d, 1.0)
        cand = np.array(tree.query_ball_point([x, y], 1000.0), dtype=np.int64)
        if len(cand) == 0:
            cand = np.array([tree.query([x, y])[1]])
        cand = cand[~np.isin(cand, used)]
        best = int(cand[np.argmax(suit[cand] - 1e-9 * np.hypot(*(lat.xy_m[cand] - [x, y]).T))])
        node[i] = best
        used.append(best)
    return Seats(townships=townships, node=node, county_seat=county, real=real,
                 farming_t=np.array([t.kind != "街道" for t in townships]))


def label_nodes(xy_m: NDArray[np.float64], anchor_xy_m: NDArray[np.float64], anchor_town: NDArray[np.int64],
                k: int = 12) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Township of every point (that of its nearest anchor) and its margin (m): how much farther
    the nearest anchor of another township is (large where none is among the ``k`` nearest)."""
    k = min(k, len(anchor_xy_m))
    d, i = cKDTree(anchor_xy_m).query(xy_m, k=k)
    d = d.reshape(len(xy_m), k)
    i = i.reshape(len(xy_m), k)
    lab = anchor_town[i]
    other = lab != lab[:, :1]
    d_other = np.where(other, d, np.inf).min(axis=1)
    return lab[:, 0].astype(np.int64), np.minimum(d_other - d[:, 0], 1e6)


def township_cells(points_xy_m: NDArray[np.float64], town: NDArray[np.int64], n_town: int,
                   outline_m: shapely.Geometry) -> list[shapely.Geometry]:
    """Township polygons: the Voronoi cells of every labelled point (seats and villages, metric)
    merged by township and clipped to ``outline_m``, in township order. Real township borders
    run between villages, so every village lies in its own township's polygon."""
    xy, first = np.unique(np.round(points_xy_m, 3), axis=0, return_index=True)
    lab = np.asarray(town)[first]
    env = shapely.box(*outline_m.buffer(20000).bounds)
    vor = shapely.voronoi_polygons(shapely.MultiPoint([tuple(p) for p in xy]), extend_to=env, ordered=True)
    cells = np.array(list(vor.geoms), dtype=object)
    out = []
    for t in range(n_town):
        part = shapely.union_all(cells[lab == t]) if (lab == t).any() else shapely.Polygon()
        out.append(shapely.intersection(part, outline_m))
    return out


def allocate(total: int, weights: NDArray[np.float64], minimum: int = 1) -> NDArray[np.int64]:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder), each >= minimum."""
    n = len(weights)
    base = np.full(n, minimum, dtype=np.int64)
    rest = total - base.sum()
    if rest < 0:
        msg = f"cannot give {minimum} to each of {n} parts out of {total}"
        raise ValueError(msg)
    share = weights / weights.sum() * rest
    fl = np.floor(share).astype(np.int64)
    rem = rest - fl.sum()
    order = np.argsort(-(share - fl), kind="stable")
    fl[order[:rem]] += 1
    return base + fl


def poisson_pick(
    rng: np.random.Generator,
    cand: NDArray[np.int64],
    weights: NDArray[np.float64],
    xy_m: NDArray[np.float64],
    k: int,
    r_min_m: float,
    fixed: list[int] | None = None,
) -> list[int]:
    """Pick k nodes from ``cand`` in weighted random order, at least ``r_min_m`` apart.

    The spacing shrinks by 15 % per pass until k are found (or candidates run out).
    """
    chosen: list[int] = list(fixed or [])
    order = cand[_weighted_sample(rng, weights, len(cand))]
    r = r_min_m
    while len(chosen) - len(fixed or []) < k and r > 10.0:
        for c in order:
            if len(chosen) - len(fixed or []) >= k:
                break
            if chosen:
                d = np.hypot(*(xy_m[chosen] - xy_m[c]).T).min()
                if d < r:
                    continue
            chosen.append(int(c))
        r *= 0.85
    return chosen[len(fixed or []):]
