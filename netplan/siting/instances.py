"""Readers for the published benchmark formats used to validate the siting engine.

OR-Library p-median (``pmed*``), capacitated warehouse location (``cap*``), Holmberg's
single-source CFLP (``p*``), spopt's San Francisco test data and the two-stage CFLP of
Fernandes et al. (2014) (``PSC*``, with :func:`tscflp_model` mapping it onto
:func:`~netplan.siting.three_tier`). Files may be gzip'd.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
from scipy.sparse.csgraph import shortest_path

from netplan.errors import InputError


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


def read_tscflp(path: str | Path):
    """Two-stage CFLP of Fernandes et al. (2014) (plant → satellite → customer).

    Format: ``I J K`` (plants, satellites, customers); K customer demands; I lines plant
    ``capacity fixed_cost``; the I×J plant→satellite unit-cost matrix; J lines satellite
    ``capacity fixed_cost``; the J×K satellite→customer unit-cost matrix. Costs are per unit of
    flow and demand may be split.

    Returns
    -------
    tuple
        ``(demand (K,), plant_cap (I,), plant_fixed (I,), plant_sat_cost (I, J), sat_cap (J,),
        sat_fixed (J,), sat_cust_cost (J, K))`` as float arrays, in the file's units.
    """
    try:
        vals = np.array(_text(path).split(), dtype=float)
    except ValueError as exc:
        msg = f"not a list of numbers ({exc})"
        raise InputError(msg, file=str(path)) from None
    if len(vals) < 3:
        msg = f"expected the header 'I J K', found {len(vals)} numbers"
        raise InputError(msg, file=str(path))
    n_plant, n_sat, n_cust = (int(v) for v in vals[:3])
    need = 3 + n_cust + 2 * n_plant + n_plant * n_sat + 2 * n_sat + n_sat * n_cust
    if min(n_plant, n_sat, n_cust) < 1 or need != len(vals):
        msg = (f"expected {need} numbers for I={n_plant} J={n_sat} K={n_cust}, "
               f"found {len(vals)}")
        raise InputError(msg, file=str(path))
    pos = 3
    demand = vals[pos:pos + n_cust]
    pos += n_cust
    plant = vals[pos:pos + 2 * n_plant].reshape(n_plant, 2)
    pos += 2 * n_plant
    plant_sat = vals[pos:pos + n_plant * n_sat].reshape(n_plant, n_sat)
    pos += n_plant * n_sat
    sat = vals[pos:pos + 2 * n_sat].reshape(n_sat, 2)
    pos += 2 * n_sat
    sat_cust = vals[pos:pos + n_sat * n_cust].reshape(n_sat, n_cust)
    pos += n_sat * n_cust
    if pos != len(vals):
        msg = f"{path}: expected {pos} numbers for I={n_plant} J={n_sat} K={n_cust}, found {len(vals)}"
        raise InputError(msg, file=str(path))
    return (demand.copy(), plant[:, 0].copy(), plant[:, 1].copy(), plant_sat.copy(),
            sat[:, 0].copy(), sat[:, 1].copy(), sat_cust.copy())


def tscflp_model(data: tuple, *, single_source: bool = False, name: str = "tscflp"):
    """Two-stage CFLP (the tuple from :func:`read_tscflp`) as a two-tier
    :class:`~netplan.siting.StreamModel`.

    Tier 1 = satellites (cost (K, J) = satellite→customer costs transposed), tier 2 = plants
    (cost (J, I) = plant→satellite costs transposed); ``rate_per_t_per_km = 1000`` so that
    ``d / 1000 · rate`` is the file's unit cost; every customer must be served
    (``coverage_target = 1``), no radius. ``single_source=False`` (the benchmark's rule) lets
    demand split across satellites and satellite flow across plants.
    """
    from netplan.siting.three_tier import StreamModel, Tier

    demand, plant_cap, plant_fixed, plant_sat, sat_cap, sat_fixed, sat_cust = data
    return StreamModel(
        name, np.asarray(demand, dtype=float),
        (Tier(cost=np.asarray(sat_cust, dtype=float).T, capacity=sat_cap, fixed_cost=sat_fixed,
              rate_per_t_per_km=1000.0),
         Tier(cost=np.asarray(plant_sat, dtype=float).T, capacity=plant_cap,
              fixed_cost=plant_fixed, rate_per_t_per_km=1000.0)),
        coverage_target=1.0, single_source=single_source)
