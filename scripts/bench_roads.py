"""Benchmark the road engine against the usual osmnx + networkx recipe, on the same osmnx graph.

Graphs: a synthetic county (jittered grid of village roads with curved segments, township roads
every 8th line, long diagonal county roads, ~10 % of segments deleted; ≥ 100,000 OSM nodes before
simplification, written as .osm XML and read back through netplan's OSM reader so both engines
use the same osmnx graph) and the demo counties' roads.osm when present.

For each graph and size (500 × 500, 5,000 × 300): netplan ``distance_matrix`` vs networkx
``single_source_dijkstra_path_length`` from each origin, origins/destinations placed on graph
nodes so both compute the same node-to-node quantity. Reports time, ratio, peak traced memory
(tracemalloc: numpy + Python objects) and the largest difference in metres.

Usage: .venv/bin/python scripts/bench_roads.py [--quick] [--out BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import networkx as nx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netplan.roads import RoadNetwork, readers  # noqa: E402

CLASSES = ["unclassified", "residential", "track"]


def synth_osm(path: Path, *, side: int = 120, spacing_m: float = 400.0, shape_nodes: int = 4,
              seed: int = 7) -> int:
    """Write a synthetic county road network as OSM XML; returns its number of OSM nodes."""
    rng = np.random.default_rng(seed)
    lon0, lat0 = 113.0, 33.6
    m_lat = 1 / 110_950.0
    m_lon = 1 / (111_320.0 * np.cos(np.radians(lat0)))
    gx, gy = np.meshgrid(np.arange(side), np.arange(side))
    jit = rng.normal(0, spacing_m * 0.12, (2, side, side))
    X = gx * spacing_m + jit[0]
    Y = gy * spacing_m + jit[1]
    nid = np.arange(side * side).reshape(side, side) + 1
    nodes = [(int(nid[j, i]), X[j, i], Y[j, i]) for j in range(side) for i in range(side)]
    next_id = side * side + 1
    ways = []

    def segment(a, b, ax, ay, bx, by, cls, bend):
        nonlocal next_id
        refs = [a]
        t = np.linspace(0, 1, shape_nodes + 2)[1:-1]
        dx, dy = bx - ax, by - ay
        norm = np.hypot(dx, dy) or 1.0
        off = bend * np.sin(np.pi * t)
        for tt, oo in zip(t, off, strict=True):
            x = ax + tt * dx - oo * dy / norm
            y = ay + tt * dy + oo * dx / norm
            nodes.append((next_id, x, y))
            refs.append(next_id)
            next_id += 1
        refs.append(b)
        ways.append((refs, cls))

    for j in range(side):
        for i in range(side):
            for dj, di in ((0, 1), (1, 0)):
                jj, ii = j + dj, i + di
                if jj >= side or ii >= side:
                    continue
                main = (j % 8 == 0 and dj == 0) or (i % 8 == 0 and di == 0)
                if not main and rng.random() < 0.10:
                    continue
                cls = "secondary" if main else CLASSES[rng.integers(3)]
                segment(int(nid[j, i]), int(nid[jj, ii]), X[j, i], Y[j, i], X[jj, ii], Y[jj, ii],
                        cls, rng.normal(0, spacing_m * 0.05))
    for k in range(0, side - 1, 10):  # long diagonal county roads
        for s in range(side - 1 - k):
            for (j, i, jj, ii) in ((s, s + k, s + 1, s + k + 1), (s + k, s, s + k + 1, s + 1)):
                segment(int(nid[j, i]), int(nid[jj, ii]), X[j, i], Y[j, i], X[jj, ii], Y[jj, ii],
                        "primary", 0.0)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="netplan-bench">\n')
        for n, x, y in nodes:
            fh.write(f'<node id="{n}" version="1" lat="{lat0 + y * m_lat:.7f}" lon="{lon0 + x * m_lon:.7f}"/>\n')
        for w, (refs, cls) in enumerate(ways, start=1):
            fh.write(f'<way id="{w}" version="1">')
            fh.write("".join(f'<nd ref="{r}"/>' for r in refs))
            fh.write(f'<tag k="highway" v="{cls}"/></way>\n')
        fh.write("</osm>\n")
    return len(nodes)


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(fn):
    """Run fn(); return (result, wall s, CPU s incl. worker processes). No tracing here."""
    gc.collect()
    t0, c0 = time.perf_counter(), _cpu()
    res = fn()
    return res, time.perf_counter() - t0, _cpu() - c0


def peak_mb(fn) -> float:
    """Peak traced memory (MB) of a separate run of fn() under tracemalloc."""
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def nx_matrix(G: nx.MultiDiGraph, o_nodes: list, d_nodes: list) -> np.ndarray:
    """The usual recipe: single-source Dijkstra from each origin on the osmnx graph."""
    out = np.full((len(o_nodes), len(d_nodes)), np.inf)
    for i, s in enumerate(o_nodes):
        lengths = nx.single_source_dijkstra_path_length(G, s, weight="length")
        out[i] = [lengths.get(t, np.inf) for t in d_nodes]
    return out


def run_case(name: str, G: nx.MultiDiGraph, net: RoadNetwork, n_o: int, n_d: int,
             rng: np.random.Generator, nx_sample: int | None) -> dict:
    """One row of the table: netplan vs networkx on n_o × n_d node-placed points."""
    g = net.graph
    main = np.flatnonzero(g.node_comp == g.main_comp)
    ids = list(G.nodes)
    o_idx = rng.choice(main, n_o, replace=n_o > len(main))
    d_idx = rng.choice(main, n_d, replace=n_d > len(main))
    o_ll, d_ll = g.node_lonlat[o_idx], g.node_lonlat[d_idx]
    net.cache_dir = None
    net.progress = False
    D, t_np, c_np = timed(lambda: net.distance_matrix(o_ll, d_ll, max_snap_m=5))
    # traced in one process (forked workers are invisible to tracemalloc): serial run
    old = os.environ.get("NETPLAN_WORKERS")
    os.environ["NETPLAN_WORKERS"] = "1"
    mem_np = peak_mb(lambda: net.distance_matrix(o_ll, d_ll, max_snap_m=5))
    if old is None:
        del os.environ["NETPLAN_WORKERS"]
    else:
        os.environ["NETPLAN_WORKERS"] = old
    rows = np.arange(n_o) if nx_sample is None else rng.choice(n_o, min(nx_sample, n_o), replace=False)
    o_nodes = [ids[i] for i in o_idx[rows]]
    d_nodes = [ids[i] for i in d_idx]
    R, t_nx, c_nx = timed(lambda: nx_matrix(G, o_nodes, d_nodes))
    t_nx_full = t_nx * n_o / len(rows)
    c_nx_full = c_nx * n_o / len(rows)
    # networkx memory: one Dijkstra's dicts + the full output matrix (8 bytes per cell)
    mem_nx = peak_mb(lambda: nx_matrix(G, o_nodes[:3], d_nodes)) + n_o * n_d * 8 / 2**20
    sub = D[rows]
    same_inf = bool(np.array_equal(np.isinf(sub), np.isinf(R)))
    fin = np.isfinite(R) & np.isfinite(sub)
    diff = np.abs(sub[fin] - R[fin])
    rel = diff / np.maximum(R[fin], 1e-9)
    ok = same_inf and bool(np.all((diff <= 0.5) | (rel <= 1e-4)))
    return {"graph": name, "size": f"{n_o:,} × {n_d:,}", "nodes": g.n_nodes, "edges": g.n_arcs,
            "t_np": t_np, "t_nx": t_nx_full, "nx_rows": len(rows), "ratio": t_nx_full / t_np,
            "c_np": c_np, "c_nx": c_nx_full, "cpu_ratio": c_nx_full / max(c_np, 1e-9),
            "mem_np": mem_np, "mem_nx": mem_nx,
            "max_diff_m": float(diff.max()) if len(diff) else 0.0, "ok": ok}


def million_case(rng: np.random.Generator, side: int = 1000, n_o: int = 5000, n_d: int = 1000) -> str:
    """Memory bound on a 10^6-node graph: the array core (matrix.one_side) on a jittered grid CSR."""
    import resource

    from netplan.roads import matrix
    from netplan.roads.graph import min_arcs

    n = side * side
    idx = np.arange(n).reshape(side, side)
    u = np.r_[idx[:, :-1].ravel(), idx[:-1, :].ravel()]
    v = np.r_[idx[:, 1:].ravel(), idx[1:, :].ravel()]
    w = rng.uniform(300, 500, len(u))
    u, v, w = min_arcs(np.r_[u, v], np.r_[v, u], np.r_[w, w])
    o = rng.choice(n, n_o)
    d = rng.choice(n, n_d)
    zeros = lambda k: np.zeros((k, 2))  # noqa: E731 - points sitting on nodes
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    t0 = time.perf_counter()
    # fewer destinations than origins: run from the destinations on the reversed graph, as matrix() does
    res = matrix.one_side(v, u, w, n, np.c_[d, d], zeros(n_d), np.c_[o, o], zeros(n_o)).T
    dt = time.perf_counter() - t0
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**10
    assert res.shape == (n_o, n_d) and np.isfinite(res).all()
    return (f"{n:,}-node grid ({side} × {side}, {len(u):,} arcs), {n_o:,} × {n_d:,} matrix with the array core "
            f"(`matrix.one_side`, {matrix.workers_default()} worker processes): {dt:.0f} s; peak RSS "
            f"{self_mb:,.0f} MB in the parent (before the matrix: {rss0:,.0f} MB) and "
            f"{child_mb:,.0f} MB in the largest worker.")


def table(rows: list[dict], builds: list[str]) -> str:
    """Markdown table of the results."""
    lines = [
        "| graph | nodes / edges (simplified) | matrix | netplan s | networkx s | ratio | "
        "CPU s netplan / networkx | CPU ratio | "
        "netplan peak MB (serial) | networkx peak MB | max diff m | within 0.5 m / 0.01 % |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        nxs = f"{r['t_nx']:.1f}" + ("" if r["nx_rows"] == int(r["size"].split(" × ")[0].replace(",", ""))
                                    else f" (from {r['nx_rows']} origins)")
        lines.append(f"| {r['graph']} | {r['nodes']:,} / {r['edges']:,} | {r['size']} | {r['t_np']:.2f} | "
                     f"{nxs} | {r['ratio']:.0f}× | {r['c_np']:.2f} / {r['c_nx']:.1f} | "
                     f"{r['cpu_ratio']:.0f}× | {r['mem_np']:.0f} | {r['mem_nx']:.0f} | "
                     f"{r['max_diff_m']:.2e} | {'yes' if r['ok'] else 'NO'} |")
    return "\n".join(lines + [""] + [f"- {b}" for b in builds])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small synthetic graph, few networkx origins")
    ap.add_argument("--nx-max-origins", type=int, default=500,
                    help="run networkx from at most this many (random) origins and scale its time "
                         "linearly to all origins (default 500; 0 = all)")
    ap.add_argument("--only-million", action="store_true", help="run only the 10^6-node memory case")
    ap.add_argument("--no-million", action="store_true", help="skip the 10^6-node memory case")
    ap.add_argument("--out", type=Path, default=None, help="write the table into this BENCHMARKS.md")
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    rows, builds = [], []
    graphs = []
    if args.only_million:
        print(million_case(rng))
        return
    with tempfile.TemporaryDirectory() as tmp:
        osm = Path(tmp) / "synthetic_county.osm"
        side = 40 if args.quick else 120
        n_osm = synth_osm(osm, side=side)
        t0 = time.perf_counter()
        G, n_raw = readers.read_osm_graph(osm)
        t_read = time.perf_counter() - t0
        t0 = time.perf_counter()
        net = RoadNetwork.from_networkx(G, name=osm.name)
        t_arr = time.perf_counter() - t0
        builds.append(f"synthetic county: {n_osm:,} OSM nodes written, {n_raw:,} graph nodes before "
                      f"simplification → {net.graph.n_nodes:,} after; osmium+osmnx read {t_read:.1f} s, "
                      f"netplan arrays {t_arr:.1f} s")
        graphs.append(("synthetic county", G, net))
    for demo in ("demo", "demo_hills"):
        p = ROOT / "data" / demo / "roads.osm"
        if p.exists():
            t0 = time.perf_counter()
            Gd, n_raw = readers.read_osm_graph(p)
            netd = RoadNetwork.from_networkx(Gd, name=f"{demo}/roads.osm")
            builds.append(f"{demo}/roads.osm: {n_raw:,} nodes before simplification → "
                          f"{netd.graph.n_nodes:,} after; read + arrays {time.perf_counter() - t0:.1f} s")
            graphs.append((f"{demo}/roads.osm", Gd, netd))
        else:
            builds.append(f"{demo}/roads.osm: not present in this checkout, skipped")
    sizes = [(500, 500), (5000, 300)] if not args.quick else [(100, 100), (1000, 60)]
    for name, G, net in graphs:
        for n_o, n_d in sizes:
            cap = 50 if args.quick else args.nx_max_origins
            sample = cap if cap and n_o > cap else None
            r = run_case(name, G, net, n_o, n_d, rng, sample)
            rows.append(r)
            print(f"{name} {r['size']}: netplan {r['t_np']:.2f} s, networkx {r['t_nx']:.1f} s, "
                  f"{r['ratio']:.0f}×, diff {r['max_diff_m']:.2e} m", flush=True)
    if not args.quick and not args.no_million:
        builds.append(million_case(rng))
        print(builds[-1], flush=True)
    cpu = os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    argv = [a for a in sys.argv[1:] if a != "--out" and not a.endswith(".md")]
    head = (f"Run: `scripts/bench_roads.py {' '.join(argv)}` on {cpu} CPUs (shared machine, load "
            f"average {load:.1f} at the end), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
            "Times are wall-clock of one call each (CPU s: user + system, netplan's worker processes "
            "included, less sensitive to the shared load), first call on the network included; networkx "
            "ran from at most 500 origins and its time is scaled linearly to all origins (marked). "
            "Peak MB: tracemalloc (numpy + Python objects); networkx = one Dijkstra's dicts + the "
            "output matrix.")
    text = head + "\n\n" + table(rows, builds)
    print(text)
    if args.out:
        write_section(args.out, text)


def write_section(path: Path, body: str) -> None:
    """Replace (or add) the ``## Roads`` section of BENCHMARKS.md, leaving other sections alone."""
    intro = ("Road engine (`netplan.roads`): many-to-many network distances, netplan "
             "(scipy.sparse.csgraph multi-source Dijkstra on virtual snapped nodes) vs networkx "
             "single-source Dijkstra from each origin on the same osmnx graph. "
             "Script: `scripts/bench_roads.py`.")
    section = f"## Roads\n\n{intro}\n\n{body}\n"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start = text.find("\n## Roads\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start + 1] + section + (text[end:] if end >= 0 else "")
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
