"""Many-to-many shortest path costs over a road graph (array core, scipy.sparse.csgraph).

Every snapped point becomes a *virtual node*: for sources, arcs from the virtual node to the two
ends of its edge costing the partial edge (plus the access leg); targets are read off the two
end nodes of their edge plus the partial edge. One compiled multi-source Dijkstra per chunk of
virtual sources, run from the smaller side (on the reversed graph when there are fewer targets).
Memory is bounded by chunking: one chunk holds ``chunk × n_nodes`` float64 distances. Large
matrices run their chunks in forked worker processes (``NETPLAN_WORKERS``, default: the CPUs this
process may use); scipy's Dijkstra holds the GIL, so threads would not help.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.csgraph import dijkstra
from tqdm.auto import tqdm

from netplan.roads.graph import RoadGraph
from netplan.roads.snap import SnapReport

MEM_BUDGET_BYTES = 256 * 2**20  # per chunk of Dijkstra results


def end_costs(g: RoadGraph, rep: SnapReport, weight: str, vehicle: str
              ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Per point: its edge's end nodes (n, 2) = (a, b), cost to leave to (a, b) and to arrive from (a, b).

    Costs include the access leg (point ↔ snapped position): its length for ``"length"``, and
    that length at the access speed for ``"time"``. Unsnapped points and arcs the vehicle may not
    use cost inf.
    """
    w = g.arc_weight(weight, vehicle)
    e = np.maximum(rep.edge, 0)
    on = rep.edge >= 0
    fwd, back = g.edge_fwd[e], g.edge_back[e]
    w_f = np.where(fwd >= 0, w[np.maximum(fwd, 0)], np.inf)
    w_b = np.where(back >= 0, w[np.maximum(back, 0)], np.inf)
    f = rep.frac
    if weight == "time":
        acc = rep.snap_m / (g.speeds.access_kmh / 3.6)
    else:
        acc = rep.snap_m.copy()
    acc = np.where(on, acc, np.inf)
    # a point sitting on an end node (within 1 cm) is at that node, whatever the arc directions
    L = g.edge_len_m[e]
    at_a = (f * L <= 0.01)[:, None] & (np.arange(2) == 0)
    at_b = ((1 - f) * L <= 0.01)[:, None] & (np.arange(2) == 1)
    at = at_a | at_b
    with np.errstate(invalid="ignore"):
        out = np.column_stack([_mul(f, w_b), _mul(1 - f, w_f)])
        inn = np.column_stack([_mul(f, w_f), _mul(1 - f, w_b)])
    out = np.where(at, 0.0, out) + acc[:, None]
    inn = np.where(at, 0.0, inn) + acc[:, None]
    nodes = np.column_stack([g.edge_a[e], g.edge_b[e]])
    return nodes, out, inn


def _mul(frac: NDArray, w: NDArray) -> NDArray:
    """frac × w with 0 × inf = inf (a forbidden arc stays forbidden even at its end)."""
    return np.where(np.isfinite(w), frac * np.where(np.isfinite(w), w, 0.0), np.inf)


def workers_default() -> int:
    """Worker processes for large matrices: env NETPLAN_WORKERS, else the CPUs this process may use."""
    env = os.environ.get("NETPLAN_WORKERS")
    if env:
        return max(1, int(env))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


PARALLEL_MIN_WORK = 2_000_000  # sources × nodes below which one process is faster than forking
_SHARED: dict = {}  # arguments inherited by forked workers (no pickling of the graph)


def _chunk(rows: NDArray) -> NDArray[np.float64]:
    """Dijkstra from the virtual sources ``rows``; returns their (len(rows), m) cost block."""
    u, v, w, n, src_nodes, src_cost, dst_nodes, dst_cost, limit = _SHARED["args"]
    c = len(rows)
    vn = n + np.arange(c)
    vu = np.repeat(vn, 2)
    vv = src_nodes[rows].ravel()
    vw = src_cost[rows].ravel()
    ok = np.isfinite(vw)
    G = sp.csr_matrix((np.r_[w, np.maximum(vw[ok], 1e-9)], (np.r_[u, vu[ok]], np.r_[v, vv[ok]])),
                      shape=(n + c, n + c))
    dist = dijkstra(G, directed=True, indices=vn, limit=limit)
    return np.minimum(dist[:, dst_nodes[:, 0]] + dst_cost[:, 0],
                      dist[:, dst_nodes[:, 1]] + dst_cost[:, 1])


def _chunk_job(rows: NDArray) -> tuple[NDArray, NDArray]:
    return rows, _chunk(rows)


def one_side(u: NDArray, v: NDArray, w: NDArray, n: int,
             src_nodes: NDArray, src_cost: NDArray, dst_nodes: NDArray, dst_cost: NDArray,
             *, limit: float = np.inf, chunk: int | None = None, workers: int | None = None,
             progress: bool = False) -> NDArray[np.float64]:
    """Costs (k, m) from k virtual sources to m virtual targets over arcs (u, v, w) on n nodes.

    ``src_nodes``/``src_cost``: (k, 2) nodes a source connects to and at what cost;
    ``dst_nodes``/``dst_cost``: (m, 2) nodes a target is reached from and the cost added.
    Chunks of sources run in ``workers`` forked processes when the work is large; each chunk
    holds at most ``MEM_BUDGET_BYTES`` of distances.
    """
    k, m = len(src_nodes), len(dst_nodes)
    out = np.full((k, m), np.inf)
    valid = np.flatnonzero(np.isfinite(src_cost).any(axis=1))
    if len(valid) == 0 or m == 0:
        return out
    workers = workers_default() if workers is None else max(1, workers)
    if len(valid) * n < PARALLEL_MIN_WORK or mp.current_process().daemon:
        workers = 1  # small work, or inside a daemonic worker (dask, a pool) that may not fork
    if chunk is None:
        chunk = int(max(1, MEM_BUDGET_BYTES // (8 * (n + 1)) // 2))
        if workers > 1:  # at least 4 chunks per worker so the processes stay busy
            chunk = max(1, min(chunk, -(-len(valid) // (4 * workers))))
    chunks = [valid[s:s + chunk] for s in range(0, len(valid), chunk)]
    _SHARED["args"] = (u, v, w, n, src_nodes, src_cost, dst_nodes, dst_cost, limit)
    bar = tqdm(total=len(valid), desc="road matrix", unit="src", leave=False,
               disable=not progress or len(chunks) < 3)
    try:
        if workers == 1 or len(chunks) == 1:
            for rows in chunks:
                out[rows] = _chunk(rows)
                bar.update(len(rows))
        else:
            try:
                ctx = mp.get_context("fork")
                with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as ex:
                    for rows, res in ex.map(_chunk_job, chunks):
                        out[rows] = res
                        bar.update(len(rows))
            except (OSError, BrokenProcessPool, ValueError):  # no fork here: do it in-process
                for rows in chunks:
                    out[rows] = _chunk(rows)
    finally:
        _SHARED.clear()
        bar.close()
    return out


def matrix(g: RoadGraph, o: SnapReport, d: SnapReport, *, weight: str = "length",
           vehicle: str = "truck", cutoff: float | None = None, o_xy: NDArray | None = None,
           d_xy: NDArray | None = None, progress: bool = True) -> NDArray[np.float64]:
    """Network costs (len(o), len(d)) between snapped point sets: metres or seconds, inf = unreachable.

    Includes access legs, partial edges at both ends, and the direct along-edge cost when both
    points sit on one edge. Points with identical coordinates (``o_xy``/``d_xy``) get 0.
    """
    u, v, w = g.base_arcs(weight, vehicle)
    n = g.n_nodes
    on, oo, _ = end_costs(g, o, weight, vehicle)
    dn, _, di = end_costs(g, d, weight, vehicle)
    limit = np.inf if cutoff is None else float(cutoff)
    n_src = int(np.isfinite(oo).any(axis=1).sum())
    n_dst = int(np.isfinite(di).any(axis=1).sum())
    if n_dst < n_src:
        # run from the targets on the reversed graph: dist_rev[t, x] = cost(x → t)
        res = one_side(v, u, w, n, dn, di, on, oo, limit=limit, progress=progress).T
    else:
        res = one_side(u, v, w, n, on, oo, dn, di, limit=limit, progress=progress)
    res = np.ascontiguousarray(res)
    _same_edge(g, o, d, res, weight, vehicle)
    if o_xy is not None and d_xy is not None:
        _identical(o_xy, d_xy, res)
    if cutoff is not None:
        res[res > cutoff] = np.inf
    return res


def _same_edge(g: RoadGraph, o: SnapReport, d: SnapReport, res: NDArray, weight: str,
               vehicle: str) -> None:
    """Lower res[i, j] to the along-edge cost where o[i] and d[j] share an edge (in place)."""
    oi = np.flatnonzero(o.edge >= 0)
    dj = np.flatnonzero(d.edge >= 0)
    if len(oi) == 0 or len(dj) == 0:
        return
    order = np.argsort(d.edge[dj], kind="stable")
    dj = dj[order]
    de = d.edge[dj]
    lo = np.searchsorted(de, o.edge[oi], side="left")
    hi = np.searchsorted(de, o.edge[oi], side="right")
    cnt = hi - lo
    if cnt.sum() == 0:
        return
    ii = np.repeat(oi, cnt)
    jj = dj[np.concatenate([np.arange(a, b) for a, b in zip(lo, hi, strict=True) if b > a])]
    w = g.arc_weight(weight, vehicle)
    e = o.edge[ii]
    fwd, back = g.edge_fwd[e], g.edge_back[e]
    w_f = np.where(fwd >= 0, w[np.maximum(fwd, 0)], np.inf)
    w_b = np.where(back >= 0, w[np.maximum(back, 0)], np.inf)
    df = d.frac[jj] - o.frac[ii]
    along = np.where(df >= 0, _mul(df, w_f), _mul(-df, w_b))
    if weight == "time":
        acc = (o.snap_m[ii] + d.snap_m[jj]) / (g.speeds.access_kmh / 3.6)
    else:
        acc = o.snap_m[ii] + d.snap_m[jj]
    np.minimum.at(res, (ii, jj), along + acc)


def _identical(o_xy: NDArray, d_xy: NDArray, res: NDArray) -> None:
    """Set res[i, j] = 0 where origin i and destination j are the same coordinates (in place)."""
    if len(o_xy) == 0 or len(d_xy) == 0:
        return
    keys_d = {tuple(p): [] for p in d_xy}
    for j, p in enumerate(map(tuple, d_xy)):
        keys_d[p].append(j)
    for i, p in enumerate(map(tuple, o_xy)):
        for j in keys_d.get(p, ()):
            res[i, j] = 0.0
