"""Turn a lattice road network into OpenStreetMap XML (``<osm version="0.6">``).

Ways are the chains of road edges between junctions, anchors (villages, farms, sites, seats:
they must stay exactly on a node) and changes of road. Each chain's interior is smoothed once
by Chaikin corner cutting, so roads bend instead of zig-zagging along the lattice. Every way is
two-way (``oneway=no``); node ids and way ids are assigned in a fixed order, so the file is
byte-for-byte reproducible.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np
from numpy.typing import NDArray
from pyproj import Transformer

from netplan.synth.network import Network


@dataclass(frozen=True)
class OsmStats:
    """Counts of what was written."""

    nodes: int
    ways: int
    length_km: dict[str, float]


def chains(net: Network, anchors: Iterable[int]) -> list[tuple[list[int], int]]:
    """Node chains of the road network and the road id of each (stable order)."""
    lat = net.lat
    e = np.flatnonzero((net.edge_rank > 0) & (lat.src < lat.dst))
    adj: dict[int, list[tuple[int, int]]] = {}
    for k in e:
        u, v = int(lat.src[k]), int(lat.dst[k])
        adj.setdefault(u, []).append((v, int(k)))
        adj.setdefault(v, []).append((u, int(k)))
    for lst in adj.values():
        lst.sort()
    anchor = set(int(a) for a in anchors)
    road = {int(k): int(net.edge_road[k]) for k in e}

    def is_break(n: int) -> bool:
        nb = adj[n]
        return len(nb) != 2 or n in anchor or road[nb[0][1]] != road[nb[1][1]]

    seen: set[int] = set()
    out: list[tuple[list[int], int]] = []
    starts = sorted(n for n in adj if is_break(n))
    for s in starts:
        for v, k in adj[s]:
            if k in seen:
                continue
            seen.add(k)
            path = [s, v]
            while not is_break(path[-1]):
                nxt = [(w, kk) for w, kk in adj[path[-1]] if kk not in seen]
                if not nxt:
                    break
                w, kk = nxt[0]
                seen.add(kk)
                path.append(w)
            out.append((path, road[k]))
    for k in e:  # pure cycles without any break node
        if int(k) in seen:
            continue
        s = int(lat.src[k])
        path = [s]
        cur, prev_k = s, -1
        while True:
            nxt = [(w, kk) for w, kk in adj[cur] if kk not in seen and kk != prev_k]
            if not nxt:
                break
            w, kk = nxt[0]
            seen.add(kk)
            path.append(w)
            cur, prev_k = w, kk
            if w == s:
                break
        out.append((path, road[int(k)]))
    return out


def chaikin(xy: NDArray[np.float64]) -> NDArray[np.float64]:
    """One round of Chaikin corner cutting with fixed end points."""
    n = len(xy)
    if n < 3:
        return xy
    p, q = xy[:-1], xy[1:]
    cut_a = 0.75 * p + 0.25 * q
    cut_b = 0.25 * p + 0.75 * q
    mid = np.empty((2 * (n - 1), 2))
    mid[0::2] = cut_a
    mid[1::2] = cut_b
    return np.vstack([xy[:1], mid[1:-1], xy[-1:]])


def way_tags(net: Network, road_id: int, grade: float, elev_m: float, terrain_kind: str,
             road_cfg: dict[str, Any]) -> list[tuple[str, str]]:
    """OSM tags of one way."""
    road = net.roads[road_id]
    hw = road.highway
    tags = [("highway", hw)]
    if road.name:
        tags.append(("name", road.name))
    if road.ref:
        tags.append(("ref", road.ref))
    tags.append(("oneway", "no"))
    hill = terrain_kind == "hilly" and hw != "track" and (grade > 0.03 or elev_m > 250.0)
    cfg = road_cfg["hilly"] if hill else road_cfg["plain"]
    speed = cfg.get("maxspeed", {}).get(hw)
    surface = cfg["surface"].get(hw)
    if hill and grade > 0.08:
        speed = cfg.get("maxspeed_steep", speed)
        if hw == "unclassified":
            surface = "gravel"
    if speed is not None:
        tags.append(("maxspeed", str(int(speed))))
    if surface:
        tags.append(("surface", surface))
    if hw == "track":
        tags.append(("tracktype", "grade3" if grade < 0.05 else "grade4"))
    tags.append(("source", "netplan synthetic"))
    return tags


def write_osm(
    net: Network,
    anchors: Iterable[int],
    to_wgs: Transformer,
    path: Path,
    *,
    terrain_kind: str,
    road_cfg: dict[str, Any],
    generator: str,
) -> OsmStats:
    """Write the network as OSM XML to ``path``; anchors stay exactly on nodes."""
    lat = net.lat
    node_id: dict[int, int] = {}
    coords: list[tuple[float, float]] = []
    ways: list[tuple[list[int], list[tuple[str, str]]]] = []
    length_km: dict[str, float] = {}

    def lattice_node(n: int) -> int:
        if n not in node_id:
            node_id[n] = len(coords) + 1
            coords.append((float(lat.xy_m[n, 0]), float(lat.xy_m[n, 1])))
        return node_id[n]

    for chain, rid in chains(net, anchors):
        xy = chaikin(lat.xy_m[chain])
        ids = [lattice_node(chain[0])]
        for p in xy[1:-1]:
            coords.append((float(p[0]), float(p[1])))
            ids.append(len(coords))
        ids.append(lattice_node(chain[-1]))
        seg = np.hypot(*np.diff(lat.xy_m[chain], axis=0).T)
        dz = np.abs(np.diff(lat.elev_m[chain]))
        grade = float(dz.sum() / max(seg.sum(), 1.0))
        tags = way_tags(net, rid, grade, float(lat.elev_m[chain].mean()), terrain_kind, road_cfg)
        hw = net.roads[rid].highway
        length_km[hw] = length_km.get(hw, 0.0) + float(np.hypot(*np.diff(xy, axis=0).T).sum()) / 1000.0
        ways.append((ids, tags))
    arr = np.array(coords)
    lon, la = to_wgs.transform(arr[:, 0], arr[:, 1])
    lon = np.round(np.asarray(lon), 7)
    la = np.round(np.asarray(la), 7)
    lines = ["<?xml version='1.0' encoding='UTF-8'?>",
             f'<osm version="0.6" generator={quoteattr(generator)}>',
             f'  <bounds minlat="{la.min():.7f}" minlon="{lon.min():.7f}" maxlat="{la.max():.7f}" maxlon="{lon.max():.7f}"/>']
    for i in range(len(arr)):
        lines.append(f'  <node id="{i + 1}" version="1" lat="{la[i]:.7f}" lon="{lon[i]:.7f}"/>')
    for w, (ids, tags) in enumerate(ways, start=1):
        lines.append(f'  <way id="{w}" version="1">')
        lines += [f'    <nd ref="{i}"/>' for i in ids]
        lines += [f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags]
        lines.append("  </way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return OsmStats(nodes=len(arr), ways=len(ways),
                    length_km={k: round(v, 1) for k, v in sorted(length_km.items())})


__all__ = ["OsmStats", "chains", "chaikin", "write_osm"]
