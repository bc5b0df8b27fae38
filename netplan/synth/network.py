"""Road network of a synthetic county, grown on the lattice in order of the road hierarchy.

1. trunk and primary roads through the county seat (edge of county to edge of county);
2. county roads (县道, secondary) between township seats: a greedy spanner of their Delaunay
   graph (every MST edge plus the shortcuts that cut a detour of more than ``spanner_t``);
3. residential grids in the county seat and in township seats;
4. village roads (unclassified) from each village to the nearest road, then a few loops between
   neighbouring villages; village roads that carry the access of three or more villages to their
   township seat become township roads (乡道, tertiary);
5. access roads to scale farms and field tracks out of the villages.
Every road is a least-cost lattice path (length x smooth noise x slope penalty), so roads curve
gently in the plain and wind along valleys in the hills. Existing roads are cheaper to reuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra, shortest_path
from scipy.spatial import Delaunay

from netplan.synth.lattice import Lattice

HIGHWAY_RANK: dict[str, int] = {
    "track": 1, "residential": 2, "unclassified": 3, "tertiary": 4,
    "secondary": 5, "primary": 6, "trunk": 7,
}
RANK_HIGHWAY = {v: k for k, v in HIGHWAY_RANK.items()}
REUSE_DISCOUNT = {1: 0.8, 2: 0.6, 3: 0.55, 4: 0.5, 5: 0.45, 6: 0.4, 7: 0.4}
STREET_NAMES = (
    "人民路", "建设路", "解放路", "文化路", "中山路", "新华路", "健康路", "友谊路", "和平路",
    "光明路", "迎宾大道", "工业路", "育才路", "兴业路", "车站路", "东环路", "西环路", "南环路",
    "北环路", "朝阳路", "团结路", "胜利路", "青年路", "府前街", "东大街", "西大街", "南大街",
    "北大街", "滨河路", "体育路", "商贸路", "振兴路", "富民路", "幸福路", "长安路", "顺河街",
)


@dataclass
class Road:
    """One named road: OSM highway class, name and ref (synthetic)."""

    highway: str
    name: str = ""
    ref: str = ""


@dataclass
class Network:
    """Roads on a lattice: class and road id per lattice edge."""

    lat: Lattice
    edge_rank: NDArray[np.int64] = field(init=False)
    edge_road: NDArray[np.int64] = field(init=False)
    on_net: NDArray[np.bool_] = field(init=False)
    roads: list[Road] = field(default_factory=list)

    def __post_init__(self) -> None:
        m = len(self.lat.src)
        self.edge_rank = np.zeros(m, dtype=np.int64)
        self.edge_road = np.full(m, -1, dtype=np.int64)
        self.on_net = np.zeros(self.lat.n, dtype=bool)

    def new_road(self, highway: str, name: str = "", ref: str = "") -> int:
        """Register a road and return its id."""
        self.roads.append(Road(highway, name, ref))
        return len(self.roads) - 1

    def add_path(self, path: list[int], road_id: int) -> None:
        """Lay road ``road_id`` along a node path (keeps the higher class where roads overlap)."""
        rank = HIGHWAY_RANK[self.roads[road_id].highway]
        lat = self.lat
        for u, v in zip(path[:-1], path[1:], strict=True):
            e = lat.edge_index(u, v)
            for k in (e, int(lat.rev[e])):
                if rank > self.edge_rank[k]:
                    self.edge_rank[k] = rank
                    self.edge_road[k] = road_id
                    lat.cost[k] = lat.base_cost[k] * REUSE_DISCOUNT[rank]
        self.on_net[path] = True

    def has_edge(self, u: int, v: int) -> int:
        """Edge index of u -> v, or -1."""
        lat = self.lat
        lo, hi = lat.graph.indptr[u], lat.graph.indptr[u + 1]
        k = int(np.searchsorted(lat.graph.indices[lo:hi], v))
        return int(lo + k) if lo + k < hi and lat.graph.indices[lo + k] == v else -1

    def road_graph(self) -> tuple[csr_matrix, NDArray[np.int64]]:
        """CSR graph (lengths in m) over the road edges, on compact node ids; and their lattice ids."""
        e = np.flatnonzero(self.edge_rank > 0)
        nodes = np.unique(np.concatenate([self.lat.src[e], self.lat.dst[e]]))
        remap = np.full(self.lat.n, -1)
        remap[nodes] = np.arange(len(nodes))
        g = csr_matrix((self.lat.length_m[e], (remap[self.lat.src[e]], remap[self.lat.dst[e]])),
                       shape=(len(nodes), len(nodes)))
        return g, nodes

    def keep_component(self, node: int) -> None:
        """Drop every road edge not connected to ``node``."""
        g, nodes = self.road_graph()
        _, lab = connected_components(g, directed=False)
        where = int(np.flatnonzero(nodes == node)[0])
        keep_nodes = np.zeros(self.lat.n, dtype=bool)
        keep_nodes[nodes[lab == lab[where]]] = True
        drop = (self.edge_rank > 0) & ~keep_nodes[self.lat.src]
        self.edge_rank[drop] = 0
        self.edge_road[drop] = -1
        self.lat.cost[drop] = self.lat.base_cost[drop]
        self.on_net &= keep_nodes


def _sector_far(lat: Lattice, origin: int, angle: float, half_width: float = 0.15) -> int:
    d = lat.xy_m - lat.xy_m[origin]
    ang = np.arctan2(d[:, 1], d[:, 0])
    diff = np.abs((ang - angle + np.pi) % (2 * np.pi) - np.pi)
    r = np.hypot(d[:, 0], d[:, 1])
    r = np.where(diff < half_width, r, -1.0)
    return int(np.argmax(r))


def through_roads(net: Network, seat: int, angles: list[tuple[float, str, str]]) -> None:
    """Roads from the county edge through the seat to the opposite edge, one per (angle, class, ref)."""
    for angle, highway, ref in angles:
        rid = net.new_road(highway, f"{ref}线", ref)
        for a in (angle, angle + np.pi):
            end = _sector_far(net.lat, seat, a)
            path = net.lat.path_between(seat, end)
            if path is not None:
                net.add_path(path, rid)


def spanner_edges(xy: NDArray[np.float64], t: float) -> list[tuple[int, int]]:
    """Greedy t-spanner of the Delaunay graph of ``xy`` (contains the Euclidean MST)."""
    n = len(xy)
    if n < 2:
        return []
    if n == 2:
        return [(0, 1)]
    tri = Delaunay(xy)
    cand = set()
    for s in tri.simplices:
        for i in range(3):
            a, b = sorted((int(s[i]), int(s[(i + 1) % 3])))
            cand.add((a, b))
    cand_l = sorted(cand, key=lambda ab: (np.hypot(*(xy[ab[0]] - xy[ab[1]])), ab))
    w = np.zeros((n, n))
    out: list[tuple[int, int]] = []
    for a, b in cand_l:
        d = float(np.hypot(*(xy[a] - xy[b])))
        sp = shortest_path(csr_matrix(w), directed=False, indices=a)[b] if out else np.inf
        if sp > t * d:
            w[a, b] = w[b, a] = d
            out.append((a, b))
    return out


def county_roads(net: Network, seat_nodes: list[int], names: list[str], rng: np.random.Generator,
                 *, spanner_t: float = 1.5) -> None:
    """County roads (secondary) between seats along a greedy spanner; one Dijkstra per seat."""
    lat = net.lat
    xy = lat.xy_m[seat_nodes]
    edges = spanner_edges(xy, spanner_t)
    nums = rng.permutation(np.arange(1, 100))
    by_seat: dict[int, list[int]] = {}
    for k, (a, _b) in enumerate(edges):
        by_seat.setdefault(a, []).append(k)
    for a in sorted(by_seat):
        ks = by_seat[a]
        far = max(float(np.hypot(*(xy[a] - xy[edges[k][1]]))) for k in ks)
        dist, pred = dijkstra(lat.graph, directed=True, indices=seat_nodes[a],
                              return_predecessors=True, limit=4.0 * far)
        for k in ks:
            b = edges[k][1]
            tgt = seat_nodes[b]
            if not np.isfinite(dist[tgt]):
                path = lat.path_between(seat_nodes[a], tgt)
            else:
                path = lat.trace(pred, seat_nodes[a], tgt)
            if path is None:
                continue
            name = f"{names[a][:1]}{names[b][:1]}路"
            rid = net.new_road("secondary", name, f"X{int(nums[k % 99]):03d}")
            net.add_path(path, rid)


def grid_streets(net: Network, centre: int, radius_m: float, spacing: int, names: list[str]) -> None:
    """Residential streets on every ``spacing``-th lattice row and column within ``radius_m``."""
    lat = net.lat
    r0, c0 = lat.rc[centre]
    d = np.hypot(*(lat.xy_m - lat.xy_m[centre]).T)
    inside = d <= radius_m
    k = 0
    for axis in (0, 1):
        lines = np.unique(lat.rc[inside, axis])
        for line in lines:
            if (line - (r0 if axis == 0 else c0)) % spacing:
                continue
            sel = np.flatnonzero(inside & (lat.rc[:, axis] == line))
            sel = sel[np.argsort(lat.rc[sel, 1 - axis])]
            rid = net.new_road("residential", names[k % len(names)] if names else "")
            k += 1
            run: list[int] = []
            for a, b in zip(sel[:-1], sel[1:], strict=True):
                if lat.rc[b, 1 - axis] - lat.rc[a, 1 - axis] == 1 and net.has_edge(int(a), int(b)) >= 0:
                    run = run or [int(a)]
                    run.append(int(b))
                else:
                    if len(run) > 1:
                        net.add_path(run, rid)
                    run = []
            if len(run) > 1:
                net.add_path(run, rid)


def connect(net: Network, nodes: list[int], highway: str, *, limit_m: float = 2000.0) -> list[int]:
    """Link every node to the nearest road by a least-cost path; returns the road ids."""
    out = []
    for v in nodes:
        if net.on_net[v]:
            out.append(-1)
            continue
        path = net.lat.path_to_set(v, net.on_net, limit_m=limit_m)
        rid = net.new_road(highway)
        net.add_path(path, rid)
        out.append(rid)
    return out


def village_loops(net: Network, nodes: list[int], rng: np.random.Generator, *,
                  max_len_m: float, share: float) -> int:
    """Extra unclassified roads between neighbouring villages (Delaunay pairs), making a mesh."""
    lat = net.lat
    xy = lat.xy_m[nodes]
    if len(nodes) < 4:
        return 0
    tri = Delaunay(xy)
    pairs = sorted({tuple(sorted((int(s[i]), int(s[(i + 1) % 3])))) for s in tri.simplices for i in range(3)})
    added = 0
    for a, b in pairs:
        d = float(np.hypot(*(xy[a] - xy[b])))
        if d > max_len_m or rng.random() > share:
            continue
        # a short search first; the wider one finds the same path when the short one fails
        path = lat.path_between(nodes[a], nodes[b], limit_m=1.6 * d)
        if path is None:
            path = lat.path_between(nodes[a], nodes[b], limit_m=3.0 * d)
        if path is None:
            continue
        net.add_path(path, net.new_road("unclassified"))
        added += 1
    return added


def upgrade_tertiary(net: Network, seat_nodes: list[int], village_nodes: list[int],
                     village_seat: list[int], *, min_villages: int = 3) -> int:
    """Unclassified edges on the shortest road path of >= ``min_villages`` villages to their seat
    become tertiary (乡道). Returns the number of edges upgraded."""
    g, nodes = net.road_graph()
    remap = np.full(net.lat.n, -1)
    remap[nodes] = np.arange(len(nodes))
    seats = sorted(set(village_seat))
    _, pred = dijkstra(g, directed=False, indices=[int(remap[seat_nodes[s]]) for s in seats],
                       return_predecessors=True)
    row = {s: k for k, s in enumerate(seats)}
    use: dict[tuple[int, int], int] = {}
    for v, s in zip(village_nodes, village_seat, strict=True):
        p = pred[row[s]]
        cur = int(remap[v])
        while cur >= 0 and p[cur] >= 0:
            prv = int(p[cur])
            key = (min(cur, prv), max(cur, prv))
            use[key] = use.get(key, 0) + 1
            cur = prv
    up = 0
    tid = net.new_road("tertiary")
    rank_t = HIGHWAY_RANK["tertiary"]
    for (a, b), c in sorted(use.items()):
        if c < min_villages:
            continue
        e = net.lat.edge_index(int(nodes[a]), int(nodes[b]))
        for k in (e, int(net.lat.rev[e])):
            if net.edge_rank[k] < rank_t:
                net.edge_rank[k] = rank_t
                net.edge_road[k] = tid
                up += 1
    return up // 2


def field_tracks(net: Network, origins: list[int], rng: np.random.Generator, *,
                 per_origin: float, steps: tuple[int, int]) -> int:
    """Field tracks: short, nearly straight walks out of villages (highway=track)."""
    lat = net.lat
    offs = np.array([(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)])
    ang_off = np.arctan2(offs[:, 0], offs[:, 1])
    made = 0
    for o in origins:
        for _ in range(rng.poisson(per_origin)):
            theta = rng.uniform(-np.pi, np.pi)
            path = [o]
            for _ in range(int(rng.integers(*steps))):
                r, c = lat.rc[path[-1]]
                diff = np.abs((ang_off - theta + np.pi) % (2 * np.pi) - np.pi) + rng.uniform(0, 0.5, 8)
                nxt = -1
                for j in np.argsort(diff)[:2]:
                    rr, cc = r + offs[j, 0], c + offs[j, 1]
                    if 0 <= rr < lat.grid.shape[0] and 0 <= cc < lat.grid.shape[1]:
                        v = int(lat.grid[rr, cc])
                        if v >= 0 and v not in path and net.has_edge(path[-1], v) >= 0:
                            nxt = v
                            break
                if nxt < 0:
                    break
                path.append(nxt)
                if net.on_net[nxt]:
                    break
            if len(path) > 2:
                net.add_path(path, net.new_road("track"))
                made += 1
    return made
