"""Where things are: county seat, township seats, township cells, villages and their names.

Township outlines are not public, so townships are the Voronoi cells of their seats clipped to the
real county outline. 街道 seats cluster around the county seat; 镇/乡 seats are spread by a
weighted Lloyd (k-means) relaxation over the land a town can sit on (valley floors in the hills).
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

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许沈曾彭吕苏卢蒋蔡贾丁"
    "魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱"
    "汤尹黎易常武乔贺赖龚文牛褚庞樊葛齐岳耿申付殷柴单翟"
)
PREFIXES = "大小前后东西南北新老上下"
SUFFIX_PLAIN = "庄庄庄楼楼营寨店桥湾岗集屯洼园寺堂"
SUFFIX_HILLY = "沟沟沟坪岭凹峪河庄庄湾寨店岗坡"
COMMUNITY_NAMES = (
    "建设", "人民", "解放", "和平", "文化", "新华", "光明", "朝阳", "幸福", "团结", "前进", "胜利",
    "育才", "健康", "友谊", "兴华", "东关", "西关", "南关", "北关", "滨河", "花园", "迎宾", "民主",
)


@dataclass(frozen=True)
class Seats:
    """Township seats: lattice node per township (same order as ``townships``)."""

    townships: tuple[Township, ...]
    node: NDArray[np.int64]
    county_seat: int

    def farming(self) -> NDArray[np.bool_]:
        """True for townships that farm (not a 街道)."""
        return np.array([t.kind != "街道" for t in self.townships])


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


def place_seats(
    lat: Lattice,
    townships: tuple[Township, ...],
    seat_xy_m: tuple[float, float],
    suit: NDArray[np.float64],
    rng: np.random.Generator,
    *,
    ring_m: float = 1400.0,
    min_seat_gap_m: float = 4500.0,
    spread: float = 1.0,
) -> Seats:
    """Seat node of every township.

    街道 seats: the first at the county seat, the others on a ring of ``ring_m`` around it.
    镇/乡 seats: weighted Lloyd relaxation with the county seat held fixed, then snapped to the
    most suitable node within 1 km; never closer than ``min_seat_gap_m`` to the county seat.
    """
    county = lat.nearest(*seat_xy_m)
    cx, cy = lat.xy_m[county]
    subs = [i for i, t in enumerate(townships) if t.kind == "街道"]
    farms = [i for i, t in enumerate(townships) if t.kind != "街道"]
    node = np.full(len(townships), -1, dtype=np.int64)
    if subs:
        node[subs[0]] = county
        phase = rng.uniform(0, 2 * np.pi)
        for k, i in enumerate(subs[1:]):
            ang = phase + 2 * np.pi * k / max(len(subs) - 1, 1)
            node[i] = lat.nearest(cx + ring_m * np.cos(ang), cy + ring_m * np.sin(ang))
    else:
        node[farms[0]] = county
        farms = farms[1:]
    # weighted Lloyd over a sample of nodes
    sample = _weighted_sample(rng, suit ** spread, min(lat.n, 20000))
    pts = lat.xy_m[sample]
    w = suit[sample] ** spread
    init = pts[_weighted_sample(rng, w * (np.hypot(*(pts - [cx, cy]).T) > 2 * min_seat_gap_m), len(farms))]
    centres = np.vstack([[cx, cy], init])
    for _ in range(25):
        lab = cKDTree(centres).query(pts)[1]
        for j in range(1, len(centres)):
            m = lab == j
            if m.any():
                centres[j] = np.average(pts[m], axis=0, weights=w[m])
    tree = cKDTree(lat.xy_m)
    used: list[int] = [int(n) for n in node if n >= 0]
    for j, i in enumerate(farms, start=1):
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
    return Seats(townships=townships, node=node, county_seat=county)


def township_cells(seats_xy_m: NDArray[np.float64], outline_m: shapely.Geometry) -> list[shapely.Geometry]:
    """Voronoi cells of the seats (metric), clipped to ``outline_m``, in seat order."""
    mp = shapely.MultiPoint([tuple(p) for p in seats_xy_m])
    env = shapely.box(*outline_m.buffer(20000).bounds)
    vor = shapely.voronoi_polygons(mp, extend_to=env)
    cells = list(vor.geoms)
    out = []
    for p in seats_xy_m:
        pt = shapely.Point(p)
        cell = next(c for c in cells if c.contains(pt))
        out.append(cell)
    return out


def assign_nodes(lat: Lattice, seats_xy_m: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Township index of every node (nearest seat) and its margin to the second-nearest seat (m)."""
    d, i = cKDTree(seats_xy_m).query(lat.xy_m, k=2)
    return i[:, 0].astype(np.int64), d[:, 1] - d[:, 0]


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


class NameMaker:
    """Plausible (not real) Chinese village names, unique within a county."""

    def __init__(self, rng: np.random.Generator, terrain_kind: str) -> None:
        self.rng = rng
        self.suffix = SUFFIX_HILLY if terrain_kind == "hilly" else SUFFIX_PLAIN
        self.used: set[str] = set()

    def village(self) -> str:
        """A name like 王庄村, 东刘楼村 or 李家沟村."""
        for _ in range(1000):
            s = SURNAMES[self.rng.integers(len(SURNAMES))]
            suf = self.suffix[self.rng.integers(len(self.suffix))]
            r = self.rng.random()
            if r < 0.2:
                name = PREFIXES[self.rng.integers(len(PREFIXES))] + s + suf
            elif r < 0.35:
                name = s + "家" + suf
            elif r < 0.45:
                s2 = SURNAMES[self.rng.integers(len(SURNAMES))]
                name = s + s2 + suf
            else:
                name = s + suf
            name += "村"
            if name not in self.used:
                self.used.add(name)
                return name
        msg = "ran out of village names"
        raise RuntimeError(msg)

    def community(self) -> str:
        """A name like 建设社区."""
        for _ in range(1000):
            base = COMMUNITY_NAMES[self.rng.integers(len(COMMUNITY_NAMES))]
            name = base + "社区"
            if name in self.used:
                name = base + PREFIXES[self.rng.integers(4, 8)] + "社区"
            if name not in self.used:
                self.used.add(name)
                return name
        msg = "ran out of community names"
        raise RuntimeError(msg)

    def claim(self, name: str) -> str:
        """Register a fixed name (e.g. the seat village) and return it."""
        self.used.add(name)
        return name
