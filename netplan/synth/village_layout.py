"""Where the real villages go: their real point where the list has a plausible one, else a
synthetic place inside their own township.

Amap geocoded the list's few village points by name, so a common name (孙庄村, 刘庄村) sometimes
lands on a namesake tens of kilometres away; :func:`plausible_points` keeps a point only when it
lies near its own township's real seat (within 2.5 typical township radii and not much farther
than the nearest other seat) and no other village shares it.
Urban communities (居委会/社区) sit within ~1.5 km of their seat (450 m apart), town-centre villages
(NBS urban class 1xx 村) within ~2.5 km (800 m apart), rural villages spread over the township with
a Poisson-disc spacing.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from netplan.synth.lattice import Lattice
from netplan.synth.places import Seats, label_nodes, poisson_pick
from netplan.synth.villages import AdminVillage, town_stem, village_base

Point = tuple[float, float]


def plausible_points(points_m: list[Point | None], town: list[int], seats_m: list[Point | None],
                     r_typ_m: float) -> list[Point | None]:
    """The village points (metric) that pass the checks in the module docstring, else None."""
    count = Counter(p for p in points_m if p is not None)
    real_seats = [(t, p) for t, p in enumerate(seats_m) if p is not None]
    out: list[Point | None] = []
    for p, t in zip(points_m, town, strict=True):
        if p is None or count[p] > 1:
            out.append(None)
            continue
        own = seats_m[t]
        if own is None:      # nothing to check against: keep unless it sits on another seat
            out.append(p)
            continue
        d_own = float(np.hypot(p[0] - own[0], p[1] - own[1]))
        d_other = min((float(np.hypot(p[0] - q[0], p[1] - q[1])) for s, q in real_seats if s != t),
                      default=np.inf)
        out.append(p if d_own <= 2.5 * r_typ_m and d_own <= 1.6 * d_other + 1000.0 else None)
    return out


def _snap(lat: Lattice, tree: cKDTree, p: Point, used: set[int], allowed: int, max_m: float) -> int:
    """Nearest lattice node to ``p`` within ``max_m`` that is free (or is ``allowed``), else -1."""
    d, idx = tree.query(p, k=64, distance_upper_bound=max_m)
    for n in idx[np.isfinite(d)]:          # nearest first
        if int(n) not in used or int(n) == allowed:
            return int(n)
    return -1


def _fixed(lat: Lattice, seats: Seats, vils: tuple[AdminVillage, ...], pts: list[Point | None]
           ) -> tuple[list[int], set[int]]:
    tree = cKDTree(lat.xy_m)
    used = {int(n) for n in seats.node}
    node = [-1] * len(vils)
    seat_taken: set[int] = set()
    for i, (v, p) in enumerate(zip(vils, pts, strict=True)):
        if p is None:
            continue
        seat = int(seats.node[v.township])
        n = _snap(lat, tree, p, used, -1 if v.township in seat_taken else seat, 300.0)
        if n < 0:
            continue
        seat_taken |= {v.township} if n == seat else set()
        node[i] = n
        used.add(n)
    for t, tw in enumerate(seats.townships):     # the village named after its township at the seat
        if t in seat_taken:
            continue
        stem = town_stem(tw.name)
        named = [i for i, v in enumerate(vils) if v.township == t and node[i] < 0
                 and village_base(v.name).removesuffix("居委会").removesuffix("社区") == stem]
        if named:
            node[named[0]] = int(seats.node[t])
    return node, used


def _candidates(lat: Lattice, region: NDArray[np.bool_], used: set[int]) -> NDArray[np.int64]:
    cand = np.flatnonzero(region)
    return cand[~np.isin(cand, np.fromiter(used, dtype=np.int64, count=len(used)))]


def place_villages(lat: Lattice, seats: Seats, vils: tuple[AdminVillage, ...], pts: list[Point | None],
                   suit: NDArray[np.float64], rng: np.random.Generator, *, hilly: bool
                   ) -> tuple[list[int], list[bool]]:
    """Lattice node of every village and whether it is the village's real point.

    ``pts`` are the accepted real points (metric, None where synthetic).
    """
    node, used = _fixed(lat, seats, vils, pts)
    real = [n >= 0 and pts[i] is not None for i, n in enumerate(node)]
    n_town = len(seats.townships)
    a_xy = np.vstack([lat.xy_m[seats.node], lat.xy_m[[n for n in node if n >= 0]].reshape(-1, 2)])
    a_t = np.concatenate([np.arange(n_town), [v.township for v, n in zip(vils, node, strict=True) if n >= 0]])
    lab, margin = label_nodes(lat.xy_m, a_xy, a_t.astype(np.int64))
    for t in range(n_town):
        todo = [i for i, v in enumerate(vils) if v.township == t and node[i] < 0]
        if not todo:
            continue
        seat = int(seats.node[t])
        near = [seat] + [node[i] for i, v in enumerate(vils) if v.township == t and node[i] >= 0]
        region = (lab == t) & (margin > 100.0)
        if region.sum() < 4 * len(todo):
            region = lab == t
        d = np.hypot(*(lat.xy_m - lat.xy_m[seat]).T)
        comm = [i for i in todo if vils[i].community]
        centre = [i for i in todo if not vils[i].community and vils[i].town_centre]
        rural = [i for i in todo if not vils[i].community and not vils[i].town_centre]
        # communities pack the town centre; town-centre villages ring it, each its own settlement
        for group, radii, spacing in ((comm, (1500.0, 2500.0, 4000.0), 450.0),
                                      (centre, (2500.0, 3500.0, 5000.0), 800.0), (rural, (np.inf,), None)):
            if not group:
                continue
            for r in radii:
                cand = _candidates(lat, region & (d < r), used)
                if len(cand) >= 3 * len(group):
                    break
            if len(cand) < len(group):          # a tiny township: take the free nodes nearest its seat
                cand = _candidates(lat, d < np.sort(d)[min(lat.n - 1, 20 * len(group) + len(used))], used)
            if spacing is None:
                area = len(cand) * lat.h_m ** 2
                spacing = (0.55 if hilly else 0.8) * np.sqrt(area / (len(group) + len(near)))
                w = suit[cand] ** (2.0 if hilly else 1.0)
            else:
                w = np.ones(len(cand))
            # spaced from everything placed nearby, the neighbouring townships' villages too
            placed = np.fromiter(used, dtype=np.int64, count=len(used))
            close = placed[np.hypot(*(lat.xy_m[placed] - lat.xy_m[seat]).T) < d[cand].max() + spacing]
            picks = poisson_pick(rng, cand, w, lat.xy_m, len(group), spacing,
                                 fixed=sorted(set(near) | {int(n) for n in close}))
            for i, n in zip(group, picks, strict=False):
                node[i] = n
                used.add(n)
                near.append(n)
    missing = [vils[i].name for i, n in enumerate(node) if n < 0]
    if missing:
        msg = f"no place found for {len(missing)} villages: {missing[:5]}"
        raise RuntimeError(msg)
    return node, real
