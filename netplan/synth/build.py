"""The geometric skeleton of a synthetic county: lattice, seats, villages, farms, roads.

Everything here is in the county's metric CRS; :mod:`netplan.synth.county` converts to WGS-84
and writes files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from shapely.ops import polylabel

from netplan.synth import network as nw
from netplan.synth.admin import CountyAdmin
from netplan.synth.lattice import Lattice, build_lattice
from netplan.synth.places import (
    NameMaker,
    Seats,
    allocate,
    assign_nodes,
    place_seats,
    poisson_pick,
    suitability,
)
from netplan.synth.terrain import Terrain, make_terrain

STAGES = ("terrain", "lattice", "seats", "villages", "names", "roads", "farms", "tracks",
          "attributes", "sites", "farm_attrs")


def stage_rng(seed: int, adcode: str, stage: str) -> np.random.Generator:
    """Independent, reproducible generator for one stage of one county."""
    return np.random.default_rng([int(seed), int(adcode), STAGES.index(stage)])


@dataclass
class Skeleton:
    """Metric skeleton of a county (see module docstring)."""

    admin: CountyAdmin
    terrain_kind: str
    metric_crs: str
    to_metric: Transformer
    to_wgs: Transformer
    outline_m: shapely.Geometry
    terrain: Terrain
    lat: Lattice
    seats: Seats
    village_node: list[int]
    village_town: list[int]          # township index
    village_name: list[str]
    village_is_community: list[bool]
    farm_node: list[int]
    farm_village: list[int]
    net: nw.Network


def _xy(tr: Transformer, lon: float, lat: float) -> tuple[float, float]:
    x, y = tr.transform(lon, lat)
    return float(x), float(y)


def build_skeleton(
    admin: CountyAdmin,
    prof: dict[str, Any],
    *,
    seed: int,
    terrain_kind: str,
    n_villages: int | None,
    metric_crs: str,
    h_m: float = 100.0,
) -> Skeleton:
    """Lay out the county: terrain, lattice, seats, villages, roads and farm locations."""
    hilly = terrain_kind == "hilly"
    to_m = Transformer.from_crs("EPSG:4326", metric_crs, always_xy=True)
    to_w = Transformer.from_crs(metric_crs, "EPSG:4326", always_xy=True)
    outline_m = shapely.transform(admin.outline, lambda c: np.column_stack(to_m.transform(c[:, 0], c[:, 1])))
    area_km2 = outline_m.area / 1e6
    if "seat_lon" in prof:
        seat_xy = _xy(to_m, prof["seat_lon"], prof["seat_lat"])
    else:
        p = polylabel(max(outline_m.geoms, key=lambda g: g.area), tolerance=100.0)
        seat_xy = (p.x, p.y)
    res_xy = _xy(to_m, prof["reservoir_lon"], prof["reservoir_lat"]) if "reservoir_lon" in prof else None
    if hilly and res_xy is None:   # a reservoir in the foothills west of the seat
        res_xy = (seat_xy[0] - 0.15 * (outline_m.bounds[2] - outline_m.bounds[0]), seat_xy[1])
    terrain = make_terrain(terrain_kind, outline_m.bounds, seat_xy, stage_rng(seed, admin.adcode, "terrain"),
                           reservoir_xy_m=res_xy,
                           reservoir_area_km2=float(prof.get("reservoir_area_km2", 25.0 if hilly else 0.0)))
    lat = build_lattice(outline_m.buffer(-60.0), terrain, stage_rng(seed, admin.adcode, "lattice"), h_m=h_m)
    suit = suitability(lat, terrain)
    rng = stage_rng(seed, admin.adcode, "seats")
    seats = place_seats(lat, admin.townships, seat_xy, suit, rng,
                        min_seat_gap_m=4500.0 if not hilly else 4000.0,
                        spread=1.0 if not hilly else 0.25)
    seat_xy_m = lat.xy_m[seats.node]
    town_of, margin = assign_nodes(lat, seat_xy_m)

    # ---- villages
    rng = stage_rng(seed, admin.adcode, "villages")
    farming = seats.farming()
    n_sub = int((~farming).sum())
    n_comm_each = int(prof["communities_per_subdistrict"])
    n_total = int(n_villages if n_villages is not None else prof.get(
        "n_villages", round(prof["villages_per_township"] * farming.sum() + n_comm_each * n_sub)))
    n_comm = min(n_comm_each * n_sub, max(n_total // 6, n_sub)) if farming.any() else n_total
    n_rural = n_total - n_comm
    fidx = np.flatnonzero(farming)
    weight = np.array([suit[(town_of == t) & (margin > 100)].sum() for t in fidx]) + 1e-9
    n_town = (allocate(n_rural, weight ** (0.8 if hilly else 1.0), minimum=min(3, n_rural // max(len(fidx), 1)))
              if len(fidx) else np.zeros(0, dtype=np.int64))
    comm_town = allocate(n_comm, np.ones(n_sub), minimum=0) if n_sub else np.zeros(0, dtype=np.int64)
    namer = NameMaker(stage_rng(seed, admin.adcode, "names"), terrain_kind)
    v_node: list[int] = []
    v_town: list[int] = []
    v_name: list[str] = []
    v_comm: list[bool] = []
    for t, k in zip(fidx, n_town, strict=True):
        if k == 0:
            continue
        seat = int(seats.node[t])
        cand = np.flatnonzero((town_of == t) & (margin > 100.0))
        area_t = len(cand) * lat.h_m ** 2
        r_min = (0.55 if hilly else 0.8) * np.sqrt(area_t / k)
        w = suit[cand] ** (2.0 if hilly else 1.0)
        picks = poisson_pick(rng, cand, w, lat.xy_m, k - 1, r_min, fixed=[seat])
        tw = admin.townships[t]
        base = tw.base
        names = [namer.claim(base + "村")] + [namer.village() for _ in picks]
        order = [seat] + sorted(picks, key=lambda n: (np.hypot(*(lat.xy_m[n] - lat.xy_m[seat])), n))
        v_node += order
        v_town += [int(t)] * len(order)
        v_name += names
        v_comm += [False] * len(order)
    sub_idx = np.flatnonzero(~farming)
    for t, k in zip(sub_idx, comm_town, strict=True):
        if k == 0:
            continue
        seat = int(seats.node[t])
        d = np.hypot(*(lat.xy_m - lat.xy_m[seat]).T)
        cand = np.flatnonzero((town_of == t) & (margin > 100.0) & (d < 1500.0))
        picks = poisson_pick(rng, cand, np.ones(len(cand)), lat.xy_m, int(k), 450.0, fixed=v_node)
        v_node += picks
        v_town += [int(t)] * len(picks)
        v_name += [namer.community() for _ in picks]
        v_comm += [True] * len(picks)

    # ---- roads
    rng = stage_rng(seed, admin.adcode, "roads")
    net = nw.Network(lat)
    seat_node = int(seats.county_seat)
    a0 = rng.uniform(0, np.pi)
    if hilly:
        angles = [(0.0, "trunk", f"G{int(rng.integers(200, 350))}"),
                  (np.pi / 2 + rng.uniform(-0.3, 0.3), "primary", f"S{int(rng.integers(200, 340))}")]
    else:
        angles = [(a0, "trunk", f"G{int(rng.integers(200, 350))}"),
                  (a0 + np.pi / 2 + rng.uniform(-0.4, 0.4), "primary", f"S{int(rng.integers(200, 340))}")]
    nw.through_roads(net, seat_node, angles)
    hub = [seat_node] + [int(seats.node[t]) for t in fidx]
    hub_names = [admin.name_zh] + [admin.townships[t].name for t in fidx]
    nw.county_roads(net, hub, hub_names, rng, spanner_t=1.45 if not hilly else 1.6)
    nw.grid_streets(net, seat_node, 2000.0 if not hilly else 1500.0, 3, list(nw.STREET_NAMES))
    for t in fidx:
        base = admin.townships[t].base
        nw.grid_streets(net, int(seats.node[t]), 450.0, 2, [f"{base}大街", f"{base}中街", f"{base}南街", f"{base}北街"])
    net.keep_component(seat_node)
    nw.connect(net, [int(seats.node[t]) for t in sub_idx], "residential")
    rural = [n for n, c in zip(v_node, v_comm, strict=True) if not c]
    comm = [n for n, c in zip(v_node, v_comm, strict=True) if c]
    nw.connect(net, comm, "residential")
    nw.connect(net, rural, "unclassified")
    nw.village_loops(net, rural, rng, max_len_m=2600.0 if not hilly else 2000.0,
                     share=0.5 if not hilly else 0.15)
    v_seat = [hub.index(int(seats.node[t])) if farming[t] else 0 for t in v_town]
    nw.upgrade_tertiary(net, hub, v_node, v_seat, min_villages=3)

    # ---- farms: a few hundred metres to 1.5 km outside a village, with an access road
    rng = stage_rng(seed, admin.adcode, "farms")
    n_farms = int(round(prof["farms_per_km2"] * area_km2))
    rural_idx = [i for i, c in enumerate(v_comm) if not c]
    f_node: list[int] = []
    f_vil: list[int] = []
    occupied = np.zeros(lat.n, dtype=bool)
    occupied[v_node] = True
    vw = suit[[v_node[i] for i in rural_idx]]
    for _ in range(n_farms if rural_idx else 0):
        for _try in range(50):
            i = rural_idx[int(rng.choice(len(rural_idx), p=vw / vw.sum()))]
            ang = rng.uniform(0, 2 * np.pi)
            r = rng.uniform(300.0, 1500.0)
            x, y = lat.xy_m[v_node[i]] + r * np.array([np.cos(ang), np.sin(ang)])
            n = lat.nearest(x, y)
            if occupied[n] or town_of[n] != v_town[i] or margin[n] < 100 or np.hypot(
                    *(lat.xy_m[n] - [x, y])) > 300:
                continue
            d_v = np.hypot(*(lat.xy_m[v_node] - lat.xy_m[n]).T).min()
            if d_v < 250.0:
                continue
            occupied[n] = True
            f_node.append(n)
            f_vil.append(i)
            break
    nw.connect(net, f_node, "unclassified")

    # ---- field tracks
    rng = stage_rng(seed, admin.adcode, "tracks")
    nw.field_tracks(net, rural, rng, per_origin=4.0 if not hilly else 1.5, steps=(5, 16))
    return Skeleton(admin=admin, terrain_kind=terrain_kind, metric_crs=metric_crs, to_metric=to_m,
                    to_wgs=to_w, outline_m=outline_m, terrain=terrain, lat=lat, seats=seats,
                    village_node=v_node, village_town=v_town, village_name=v_name,
                    village_is_community=v_comm, farm_node=f_node, farm_village=f_vil, net=net)


def node_lonlat(sk: Skeleton, nodes: NDArray | list[int]) -> tuple[NDArray, NDArray]:
    """WGS-84 lon, lat of lattice nodes."""
    xy = sk.lat.xy_m[np.asarray(nodes, dtype=np.int64)]
    lon, la = sk.to_wgs.transform(xy[:, 0], xy[:, 1])
    return np.asarray(lon), np.asarray(la)
