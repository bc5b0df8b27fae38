"""Existing candidate sites of a synthetic county (agro stores, co-op outlets and depots, garbage
transfer stations, straw yards and the county-level plants, including the county's household-waste
incineration plant). All sit on road nodes; names are plausible
and synthetic (no real business is meant).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from netplan.synth.build import Skeleton
from netplan.synth.places import allocate
from netplan.synth.villages import village_base

VP, TS, CC = "village_point", "township_station", "county_center"


def _node_rank(sk: Skeleton) -> NDArray[np.int64]:
    r = np.zeros(sk.lat.n, dtype=np.int64)
    np.maximum.at(r, sk.lat.src, sk.net.edge_rank)
    return r


def _pick_near(sk: Skeleton, rank: NDArray[np.int64], rng: np.random.Generator, centre: int,
               r_lo: float, r_hi: float, taken: set[int], min_rank: int = 1) -> int:
    """A free road node between r_lo and r_hi metres from ``centre`` on a road of rank >= min_rank."""
    d = np.hypot(*(sk.lat.xy_m - sk.lat.xy_m[centre]).T)
    for lo, hi, mr in ((r_lo, r_hi, min_rank), (0.0, 2 * r_hi, min_rank), (0.0, 4 * r_hi, 1)):
        cand = np.flatnonzero(sk.net.on_net & (rank >= mr) & (d >= lo) & (d <= hi))
        cand = cand[~np.isin(cand, np.fromiter(taken, dtype=np.int64, count=len(taken)))]
        if len(cand):
            return int(cand[rng.integers(len(cand))])
    return centre


def make_sites(sk: Skeleton, villages: Any, prof: dict[str, Any], rng: np.random.Generator) -> list[dict[str, Any]]:
    """Sites as dict rows (site_id, name, kind, node, township index, streams, tiers, capacity_t)."""
    cfg = prof["sites"]
    county = sk.admin.name_zh
    seats = sk.seats
    farming = seats.farming()
    taken: set[int] = set()
    rank = _node_rank(sk)
    rows: list[dict[str, Any]] = []

    def add(name: str, kind: str, node: int, streams: str, tiers: str, cap: float | None) -> None:
        taken.add(node)
        rows.append({"name": name, "kind": kind, "node": int(node), "streams": streams,
                     "tiers": tiers, "capacity_t": cap})

    vnode = np.asarray(sk.village_node)
    rural = ~np.asarray(sk.village_is_community)
    vbase = [village_base(n) for n in sk.village_name]
    tbase = [t.base for t in seats.townships]
    # agro-input stores: ~1 per 2-3 villages, 40 % at township seats, the rest in villages
    n_store = int(round(prof["agro_stores_per_village"] * rural.sum()))
    n_seat_store = int(round(0.4 * n_store))
    fidx = np.flatnonzero(farming)
    if len(fidx) == 0:   # an urban district: no farming township
        n_seat_store = 0
    per_seat = allocate(n_seat_store, np.ones(len(fidx)), minimum=0) if len(fidx) else []
    for t, k in zip(fidx, per_seat, strict=True):
        for j in range(int(k)):
            node = _pick_near(sk, rank, rng, int(seats.node[t]), 0.0, 450.0, taken)
            num = "一二三四五六七八九十"[j] if j < 10 else str(j + 1)
            add(f"{tbase[t]}惠农农资门店{num}店" if k > 1 else f"{tbase[t]}惠农农资门店",
                "agro_store", node, "film;pesticide_packaging", VP, None)
    cand_v = np.flatnonzero(rural)
    for i in sorted(rng.choice(cand_v, size=min(n_store - n_seat_store, len(cand_v)), replace=False)):
        add(f"{vbase[i]}农资店", "agro_store", int(vnode[i]), "film;pesticide_packaging", VP, None)
    # supply-and-marketing co-op outlets (2-3 per township) and depots (each farming seat)
    for t in fidx:
        vil = [i for i in np.flatnonzero(rural) if sk.village_town[i] == t]
        k = min(len(vil), int(rng.integers(2, 4)) if prof["coop_outlets_per_township"] >= 2.5 else int(rng.integers(1, 4)))
        for i in sorted(rng.choice(vil, size=k, replace=False)):
            node = _pick_near(sk, rank, rng, int(vnode[i]), 50.0, 400.0, taken)
            add(f"{tbase[t]}供销社{vbase[i]}网点", "coop_outlet", node,
                "film;pesticide_packaging;recyclables", VP, None)
        node = _pick_near(sk, rank, rng, int(seats.node[t]), 100.0, 500.0, taken)
        add(f"{seats.townships[t].name}供销社基层社", "coop_depot", node,
            "film;pesticide_packaging;recyclables", TS, None)
        node = _pick_near(sk, rank, rng, int(seats.node[t]), 500.0, 1500.0, taken)
        add(f"{seats.townships[t].name}垃圾中转站", "garbage_station", node, "recyclables;domestic_waste", TS,
            365.0 * float(cfg["garbage_station_t_per_day"]))
    # straw yards in large farming villages
    crop = villages["cropland_mu"].to_numpy()
    big = np.argsort(-crop, kind="stable")[: max(4 * int(prof["straw_yards"]), 1)]
    lo, hi = cfg["straw_yard_t"]
    n_yards = min(int(prof["straw_yards"]), int((crop > 0).sum()))
    for i in sorted(rng.choice(big, size=n_yards, replace=False)):
        node = _pick_near(sk, rank, rng, int(vnode[i]), 200.0, 800.0, taken)
        add(f"{vbase[i]}秸秆收储点", "straw_yard", node, "straw", f"{VP};{TS}",
            float(round(rng.uniform(lo, hi), -2)))
    # county-level plants
    seat = int(seats.county_seat)
    add(f"{county}生物质热电厂", "biomass_plant", _pick_near(sk, rank, rng, seat, 6000.0, 14000.0, taken, 5),
        "straw", CC, float(cfg["biomass_plant_t"]))
    fert_towns = rng.choice(fidx, size=min(int(prof["organic_fertiliser_plants"]), len(fidx)), replace=False)
    for t in sorted(fert_towns):
        add(f"{county}{tbase[t]}有机肥厂", "organic_fertiliser_plant",
            _pick_near(sk, rank, rng, int(seats.node[t]), 800.0, 3000.0, taken, 3),
            "manure;straw", CC, float(cfg["organic_fertiliser_plant_t"]))
    add(f"{county}再生资源分拣中心", "recycling_centre", _pick_near(sk, rank, rng, seat, 2000.0, 4000.0, taken, 4),
        "recyclables;film", CC, float(cfg["recycling_centre_t"]))
    add(f"{county}产业集聚区危险废物处置中心", "hazardous_waste_facility",
        _pick_near(sk, rank, rng, seat, 2500.0, 5000.0, taken, 5), "pesticide_packaging", CC,
        float(cfg["hazardous_waste_facility_t"]))
    add(f"{county}生活垃圾焚烧发电厂", "msw_plant", _pick_near(sk, rank, rng, seat, 8000.0, 16000.0, taken, 4),
        "domestic_waste", CC, 365.0 * float(cfg["msw_plant_t_per_day"]))
    add(f"{county}废旧农膜加工厂", "film_recycler", _pick_near(sk, rank, rng, seat, 3000.0, 8000.0, taken, 4),
        "film", CC, float(cfg["film_recycler_t"]))
    for k, r in enumerate(rows, start=1):
        r["site_id"] = f"S{k:04d}"
    return rows
