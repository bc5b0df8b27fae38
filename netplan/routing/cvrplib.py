"""Read CVRPLIB (TSPLIB-style) ``.vrp`` instances and ``.sol`` solutions, plain or gzip'd.

Only what CVRP needs: ``EUC_2D`` coordinates (rounded to the nearest integer per arc as CVRPLIB
does for the A/B/E/F/M/P/X sets, or unrounded for CMT with ``rounded=False``), or an
``EXPLICIT`` ``FULL_MATRIX``/``LOWER_ROW``/``UPPER_ROW`` weight section; ``CAPACITY``,
``DEMAND_SECTION``, ``DEPOT_SECTION`` and the optional ``DISTANCE`` / ``SERVICE_TIME`` keys.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from netplan.errors import InputError


@dataclass(frozen=True)
class CvrpInstance:
    """A CVRP instance with the depot at index 0.

    Attributes
    ----------
    distance
        (n+1, n+1) distances in the instance's units.
    demand
        (n+1,) integer demands, ``demand[0] == 0``.
    coords
        (n+1, 2) coordinates, or None for explicit-matrix instances.
    """

    name: str
    capacity: int
    distance: np.ndarray
    demand: np.ndarray
    coords: np.ndarray | None
    max_distance: float | None = None
    service_time: float | None = None

    @property
    def n_customers(self) -> int:
        """Number of customers n."""
        return len(self.demand) - 1


def _open(path: Path):
    return gzip.open(path, "rt") if path.suffix == ".gz" else open(path)  # noqa: SIM115


def _euc(coords: np.ndarray, rounded: bool) -> np.ndarray:
    diff = coords[:, None, :] - coords[None, :, :]
    d = np.sqrt((diff**2).sum(-1))
    return np.floor(d + 0.5) if rounded else d


def read_vrp(path: str | Path, *, rounded: bool = True) -> CvrpInstance:
    """Read a CVRPLIB ``.vrp`` (or ``.vrp.gz``) file.

    Parameters
    ----------
    rounded
        Round Euclidean distances to the nearest integer (TSPLIB EUC_2D), as the A/B/E/F/M/P/X
        best-known costs assume; CMT instances use unrounded distances.
    """
    path = Path(path)
    with _open(path) as f:
        tokens_by_line = [ln.replace(":", " : ", 1).split() for ln in f]
    head: dict[str, str] = {}
    sections: dict[str, list[list[str]]] = {}
    current: str | None = None
    for toks in tokens_by_line:
        if not toks:
            continue
        key = toks[0].upper()
        if key == "EOF":
            break
        if key.endswith("_SECTION"):
            current = key
            sections[current] = []
            continue
        if len(toks) >= 2 and toks[1] == ":" and not key[0].isdigit() and not key.startswith("-"):
            head[key] = " ".join(toks[2:])
            current = None
            continue
        if current is None:
            msg = f"unexpected line {' '.join(toks)!r} outside a section"
            raise InputError(msg, file=str(path))
        sections[current].append(toks)
    try:
        dim = int(head["DIMENSION"])
        capacity = int(float(head["CAPACITY"]))
    except (KeyError, ValueError) as e:
        msg = f"missing or bad DIMENSION/CAPACITY ({e})"
        raise InputError(msg, file=str(path)) from e
    node_ids = [int(t[0]) for t in sections.get("DEMAND_SECTION", [])]
    if len(node_ids) != dim:
        msg = f"DEMAND_SECTION has {len(node_ids)} rows, DIMENSION says {dim}"
        raise InputError(msg, file=str(path))
    dem = np.array([int(float(t[1])) for t in sections["DEMAND_SECTION"]], dtype=np.int64)
    depots = [int(t[0]) for t in sections.get("DEPOT_SECTION", [["1"]]) if int(t[0]) > 0]
    if len(depots) != 1:
        msg = f"expected one depot, got {depots}"
        raise InputError(msg, file=str(path))
    depot_pos = node_ids.index(depots[0])
    order = [depot_pos, *[i for i in range(dim) if i != depot_pos]]
    ewt = head.get("EDGE_WEIGHT_TYPE", "EUC_2D").upper()
    coords = None
    if ewt == "EUC_2D":
        xy = np.array([[float(t[1]), float(t[2])] for t in sections["NODE_COORD_SECTION"]])
        coords = xy[order]
        dist = _euc(coords, rounded)
    elif ewt == "EXPLICIT":
        vals = np.array([float(v) for row in sections["EDGE_WEIGHT_SECTION"] for v in row])
        fmt = head.get("EDGE_WEIGHT_FORMAT", "FULL_MATRIX").upper()
        full = np.zeros((dim, dim))
        if fmt == "FULL_MATRIX":
            full = vals.reshape(dim, dim)
        elif fmt in ("LOWER_ROW", "UPPER_ROW", "LOWER_DIAG_ROW", "UPPER_DIAG_ROW"):
            k = 0 if "DIAG" in fmt else 1
            # row-major triangle, with or without the diagonal
            idx = np.tril_indices(dim, -k) if fmt.startswith("LOWER") else np.triu_indices(dim, k)
            full[idx] = vals
            full = np.maximum(full, full.T)
        else:
            msg = f"EDGE_WEIGHT_FORMAT {fmt} not supported"
            raise InputError(msg, file=str(path))
        dist = full[np.ix_(order, order)]
    else:
        msg = f"EDGE_WEIGHT_TYPE {ewt} not supported (EUC_2D or EXPLICIT)"
        raise InputError(msg, file=str(path))
    demand = dem[order]
    demand[0] = 0
    max_d = float(head["DISTANCE"]) if "DISTANCE" in head else None
    svc = float(head["SERVICE_TIME"]) if "SERVICE_TIME" in head else None
    return CvrpInstance(name=head.get("NAME", path.name).strip(), capacity=capacity,
                        distance=dist, demand=demand, coords=coords, max_distance=max_d,
                        service_time=svc)


def read_sol(path: str | Path) -> tuple[list[list[int]], float]:
    """Read a CVRPLIB ``.sol`` file: routes (customer indices 1…n, depot 0 implied) and cost."""
    path = Path(path)
    routes: list[list[int]] = []
    cost = float("nan")
    with _open(path) as f:
        for ln in f:
            s = ln.strip()
            if s.lower().startswith("route"):
                routes.append([int(v) for v in s.split(":", 1)[1].split()])
            elif s.lower().startswith("cost"):
                cost = float(s.split()[1])
    if not routes:
        msg = "no 'Route #k:' lines found"
        raise InputError(msg, file=str(path))
    return routes, cost


def check_routes(routes: list[list[int]], demand: np.ndarray, capacity: float) -> list[str]:
    """Problems with ``routes`` as a CVRP solution (empty list = valid).

    Checks that every customer 1…n is visited exactly once, no index is out of range or the
    depot, and no route's demand exceeds ``capacity``.
    """
    n = len(demand) - 1
    problems: list[str] = []
    seen = np.zeros(n + 1, dtype=int)
    for k, r in enumerate(routes, 1):
        for c in r:
            if not 1 <= c <= n:
                problems.append(f"route {k}: index {c} out of 1..{n}")
            else:
                seen[c] += 1
        load = float(sum(demand[c] for c in r if 1 <= c <= n))
        if load > capacity + 1e-9:
            problems.append(f"route {k}: load {load:g} > capacity {capacity:g}")
    missing = np.flatnonzero(seen[1:] == 0) + 1
    dup = np.flatnonzero(seen[1:] > 1) + 1
    if len(missing):
        problems.append(f"customers never visited: {missing.tolist()[:10]}")
    if len(dup):
        problems.append(f"customers visited more than once: {dup.tolist()[:10]}")
    return problems
