"""The geometric skeleton of a synthetic county: lattice, seats, villages, farms, roads.

Everything here is in the county's metric CRS; :mod:`netplan.synth.county` converts to WGS-84
and writes files.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from shapely.ops import polylabel

from netplan.synth import network as nw
from netplan.synth import villages as vg
from netplan.synth.admin import CountyAdmin
from netplan.synth.lattice import Lattice, build_lattice
from netplan.synth.places import Seats, label_nodes, place_seats, suitability
from netplan.synth.terrain import Terrain, make_terrain
from netplan.synth.village_layout import place_villages, plausible_points

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
    villages: tuple[vg.AdminVillage, ...]   # the real list (2016 NBS), in list order
    village_node: list[int]
    village_real: list[bool]         # True where the village sits at its real point
    village_town: list[int]          # township index
    village_name: list[str]
    village_is_community: list[bool]
    town_of: NDArray[np.int64]       # township of every lattice node
    dropped_towns: tuple[str, ...]
    farm_node: list[int]
    farm_village: list[int]
    net: nw.Network


def _xy(tr: Transformer, lon: float, lat: float) -> tuple[float, float]:
    x, y = tr.transform(lon, lat)
    return float(x), float(y)


def _admin_villages(admin: CountyAdmin, n_villages: int | None, rng: np.random.Generator) -> vg.VillageList:
    """The county's real village list, cut to or extended to ``n_villages`` when given."""
    vl = vg.load_villages(admin.adcode, admin.townships)
    if n_villages is None or n_villages == len(vl.villages):
        return vl
    return vg.subset(vl, n_villages, rng) if n_villages < len(vl.villages) else vg.extend(vl, n_villages, rng)


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
    vl = _admin_villages(admin, n_villages, stage_rng(seed, admin.adcode, "names"))
    vils = vl.villages
    if vl.county_lonlat is not None:
        seat_xy = _xy(to_m, *vl.county_lonlat)
    elif "seat_lon" in prof:
        seat_xy = _xy(to_m, prof["seat_lon"], prof["seat_lat"])
    else:
        p = polylabel(max(outline_m.geoms, key=lambda g: g.area), tolerance=100.0)
        seat_xy = (p.x, p.y)
    seat_pts = [None if p is None else _xy(to_m, *p) for p in vl.seat_lonlat]
    r_typ = float(np.sqrt(outline_m.area / len(admin.townships) / np.pi))
    vil_pts = plausible_points([None if v.lonlat is None else _xy(to_m, *v.lonlat) for v in vils],
                               [v.township for v in vils], seat_pts, r_typ)
    for t, p in enumerate(seat_pts):     # no township point: a town-centre unit's real point
        if p is None:
            seat_pts[t] = next((q for v, q in zip(vils, vil_pts, strict=True)
                                if q is not None and v.township == t and v.town_centre), None)
    res_xy = _xy(to_m, prof["reservoir_lon"], prof["reservoir_lat"]) if "reservoir_lon" in prof else None
    if hilly and res_xy is None:   # a reservoir in the foothills west of the seat
        res_xy = (seat_xy[0] - 0.15 * (outline_m.bounds[2] - outline_m.bounds[0]), seat_xy[1])
    terrain = make_terrain(terrain_kind, outline_m.bounds, seat_xy, stage_rng(seed, admin.adcode, "terrain"),
                           reservoir_xy_m=res_xy,
                           reservoir_area_km2=float(prof.get("reservoir_area_km2", 25.0 if hilly else 0.0)),
                           basins_xy_m=[p for p in seat_pts if p is not None] if hilly else None)
    lat = build_lattice(outline_m.buffer(-60.0), terrain, stage_rng(seed, admin.adcode, "lattice"), h_m=h_m)
    suit = suitability(lat, terrain)
    rng = stage_rng(seed, admin.adcode, "seats")
    seats = place_seats(lat, admin.townships, seat_xy, suit, rng, fixed_xy_m=seat_pts,
                        min_seat_gap_m=4500.0 if not hilly else 4000.0,
                        spread=1.0 if not hilly else 0.25)
    farming = np.zeros(len(admin.townships), dtype=bool)
    farming[[v.township for v in vils if not v.community]] = True
    seats = replace(seats, farming_t=farming)

    # ---- villages: the real list, at real points where plausible, else inside their township
    v_node, v_real = place_villages(lat, seats, vils, vil_pts, suit, stage_rng(seed, admin.adcode, "villages"),
                                    hilly=hilly)
    v_town = [v.township for v in vils]
    v_comm = [v.community for v in vils]
    pts_t = np.concatenate([np.arange(len(admin.townships)), v_town]).astype(np.int64)
    town_of, margin = label_nodes(lat.xy_m, lat.xy_m[np.concatenate([seats.node, v_node])], pts_t)

    # ---- roads
    net, rural = _lay_roads(admin, lat, seats, v_node, v_town, v_comm, hilly=hilly,
                            rng=stage_rng(seed, admin.adcode, "roads"))

    # ---- farms: a few hundred metres to 1.5 km outside a village, with an access road
    f_node, f_vil = _place_farms(lat, suit, v_node, v_town, v_comm, town_of, margin,
                                 n_farms=int(round(prof["farms_per_km2"] * area_km2)),
                                 rng=stage_rng(seed, admin.adcode, "farms"))
    nw.connect(net, f_node, "unclassified")

    # ---- field tracks
    rng = stage_rng(seed, admin.adcode, "tracks")
    nw.field_tracks(net, rural, rng, per_origin=4.0 if not hilly else 1.5, steps=(5, 16))
    return Skeleton(admin=admin, terrain_kind=terrain_kind, metric_crs=metric_crs, to_metric=to_m,
                    to_wgs=to_w, outline_m=outline_m, terrain=terrain, lat=lat, seats=seats,
                    villages=vils, village_node=v_node, village_real=v_real, village_town=v_town,
                    village_name=[v.name for v in vils], village_is_community=v_comm, town_of=town_of,
                    dropped_towns=vl.dropped, farm_node=f_node, farm_village=f_vil, net=net)


def node_lonlat(sk: Skeleton, nodes: NDArray | list[int]) -> tuple[NDArray, NDArray]:
    """WGS-84 lon, lat of lattice nodes."""
    xy = sk.lat.xy_m[np.asarray(nodes, dtype=np.int64)]
    lon, la = sk.to_wgs.transform(xy[:, 0], xy[:, 1])
    return np.asarray(lon), np.asarray(la)


def _lay_roads(admin: CountyAdmin, lat: Any, seats: Any, v_node: Any, v_town: list[int],
               v_comm: list[bool], *, hilly: bool, rng: np.random.Generator) -> tuple[Any, list[int]]:
    """Through roads, county roads between the seats, streets, village links and loops; the
    network and the rural villages' nodes."""
    farming = seats.farming_t
    fidx = np.flatnonzero(farming)
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
    nw.connect(net, [int(seats.node[t]) for t in np.flatnonzero(~farming)], "residential")
    rural = [n for n, c in zip(v_node, v_comm, strict=True) if not c]
    comm = [n for n, c in zip(v_node, v_comm, strict=True) if c]
    nw.connect(net, comm, "residential")
    nw.connect(net, rural, "unclassified")
    nw.village_loops(net, rural, rng, max_len_m=2600.0 if not hilly else 2000.0,
                     share=0.5 if not hilly else 0.15)
    v_seat = [hub.index(int(seats.node[t])) if farming[t] else 0 for t in v_town]
    nw.upgrade_tertiary(net, hub, v_node, v_seat, min_villages=3)
    return net, rural


def _place_farms(lat: Any, suit: np.ndarray, v_node: Any, v_town: list[int], v_comm: list[bool],
                 town_of: np.ndarray, margin: np.ndarray, *, n_farms: int,
                 rng: np.random.Generator) -> tuple[list[int], list[int]]:
    """Farm nodes a few hundred metres to 1.5 km outside rural villages (weighted by
    suitability), and the village of each."""
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
    return f_node, f_vil
