"""Readers for the published benchmark formats used to validate the siting engine.

OR-Library p-median (``pmed*``), capacitated warehouse location (``cap*``), Holmberg's
single-source CFLP (``p*``) and spopt's San Francisco test data. Files may be gzip'd.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
from scipy.sparse.csgraph import shortest_path


def _text(path: str | Path) -> str:
    path = Path(path)
    if path.suffix == ".gz":
        with gzip.open(path, "rt") as fh:
            return fh.read().replace("\x00", " ")
    return path.read_text().replace("\x00", " ")


def read_pmed(path: str | Path) -> tuple[np.ndarray, int]:
    """OR-Library p-median graph → (all-pairs shortest-path matrix (n, n), p).

    Edges are undirected; when an edge appears twice the last occurrence wins (OR-Library note).
    """
    tok = _text(path).split()
    n, e, p = int(tok[0]), int(tok[1]), int(tok[2])
    arr = np.array(tok[3:3 + 3 * e], dtype=float).reshape(e, 3)
    g = np.full((n, n), np.inf)
    for i, j, c in arr:
        g[int(i) - 1, int(j) - 1] = c
        g[int(j) - 1, int(i) - 1] = c
    np.fill_diagonal(g, 0.0)
    g[~np.isfinite(g)] = 0.0   # csgraph: 0 = no edge in a dense matrix
    d = shortest_path(g, method="D", directed=False)
    return d, p


def read_cap(path: str | Path, capacity: float | None = None):
    """OR-Library capacitated warehouse location → (cost (n_cust, m), demand, capacity, fixed).

    ``cost[i, j]`` is the cost of serving all of customer i from warehouse j. For capa/b/c the
    capacity field is the word "capacity": pass ``capacity``.
    """
    tok = _text(path).split()
    m, n = int(tok[0]), int(tok[1])
    pos = 2
    cap = np.empty(m)
    fixed = np.empty(m)
    for j in range(m):
        cap[j] = float(capacity) if tok[pos] == "capacity" else float(tok[pos])
        fixed[j] = float(tok[pos + 1])
        pos += 2
    demand = np.empty(n)
    cost = np.empty((n, m))
    for i in range(n):
        demand[i] = float(tok[pos])
        cost[i] = np.array(tok[pos + 1:pos + 1 + m], dtype=float)
        pos += 1 + m
    return cost, demand, cap, fixed


def read_holmberg(path: str | Path):
    """Holmberg single-source CFLP → (cost (n_cust, m), demand, capacity, fixed)."""
    tok = _text(path).split()
    m, n = int(tok[0]), int(tok[1])
    vals = np.array(tok[2:], dtype=float)
    cap, fixed = vals[:2 * m:2], vals[1:2 * m:2]
    demand = vals[2 * m:2 * m + n]
    cost = vals[2 * m + n:2 * m + n + m * n].reshape(m, n).T
    return cost, demand, cap, fixed


def read_sf(folder: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """spopt's San Francisco instance → (cost (205 tracts, 16 stores) metres, population weights),
    built exactly as spopt's tests do (rows by tract id, columns sorted as strings)."""
    import pandas as pd

    folder = Path(folder)
    nd = pd.read_csv(folder / "SF_network_distance_candidateStore_16_censusTract_205_new.csv.gz")
    c = nd.pivot_table(values="distance", index="DestinationName", columns="name").to_numpy()
    a = pd.read_csv(folder / "SF_demand_205_centroid_uniform_weight.csv").sort_values("NAME")
    return c, a["POP2000"].to_numpy(dtype=float)
