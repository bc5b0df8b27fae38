"""Capacitated vehicle routing (CVRP, optionally with a route duration limit) on a cost matrix.

Two backends behind one function:

- ``"ortools"``: OR-Tools routing (constraint solver), first solution by path-cheapest-arc, then
  guided local search until the time limit.
- ``"pyvrp"``: PyVRP's iterated local search (hybrid genetic search descendant).

``"auto"`` picks PyVRP: on the CVRPLIB X instances n = 100…200 it is an order of magnitude closer
to the best-known solutions than OR-Tools at the same time limit (see BENCHMARKS.md, ## Routing).

Both solvers need integers. Distances, times and demands are scaled by a power of ten chosen from
the data (integer data stay unscaled), demands rounded *up* and capacities *down* so a solution
feasible for the solver is feasible in the caller's units; the returned cost is recomputed from
the caller's unscaled matrix.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from netplan.errors import InfeasibleError, InputError, SolverTimeout, Unservable
from netplan.routing.solution import RoutingSolution, solution_cost

BACKENDS = ("ortools", "pyvrp")
_BIG = 10**7  # largest scaled arc value we aim for (sums of ~1e3 arcs stay far below int64)


def _scale_for(values: np.ndarray, target: float = _BIG) -> int:
    """Power of ten that turns ``values`` into integers of at most ~``target`` (1 if integral)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0 or np.allclose(finite, np.round(finite), rtol=0, atol=1e-9):
        return 1
    top = float(np.abs(finite).max())
    if top <= 0:
        return 1
    return int(10 ** max(0, math.floor(math.log10(target / top))))


def _as_int(values: np.ndarray, scale: int, how: str = "round") -> np.ndarray:
    x = np.asarray(values, dtype=float) * scale
    if how == "ceil":
        return np.ceil(x - 1e-6).astype(np.int64)
    if how == "floor":
        return np.floor(x + 1e-6).astype(np.int64)
    return np.round(x).astype(np.int64)


def _validate(distance: np.ndarray, demand: np.ndarray, capacity: float) -> None:
    if distance.ndim != 2 or distance.shape[0] != distance.shape[1]:
        msg = f"distance must be a square (n+1, n+1) matrix, got shape {distance.shape}"
        raise InputError(msg, field="distance")
    if demand.shape != (distance.shape[0],):
        msg = f"demand must have length n+1 = {distance.shape[0]}, got shape {demand.shape}"
        raise InputError(msg, field="demand")
    if demand[0] != 0:
        msg = f"demand[0] is the depot and must be 0, got {demand[0]}"
        raise InputError(msg, field="demand")
    if np.any(demand < 0) or not np.all(np.isfinite(demand)):
        msg = "demand must be finite and non-negative"
        raise InputError(msg, field="demand")
    if not capacity > 0:
        msg = f"capacity must be positive, got {capacity}"
        raise InputError(msg, field="capacity")
    if np.any(distance < 0):
        msg = "distance must be non-negative"
        raise InputError(msg, field="distance")


def _ffd_bins(demand: np.ndarray, capacity: float) -> int:
    """Bins used by first-fit decreasing: a capacity-feasible fleet size."""
    free: list[float] = []
    for d in sorted(demand[1:], reverse=True):
        for k, f in enumerate(free):
            if d <= f + 1e-9:
                free[k] = f - d
                break
        else:
            free.append(capacity - d)
    return max(1, len(free))


def solve_cvrp(
    distance: np.ndarray,
    demand: Sequence[float] | np.ndarray,
    capacity: float,
    *,
    service_time_s: float | Sequence[float] | np.ndarray | None = None,
    travel_time: np.ndarray | None = None,
    max_duration_s: float | None = None,
    n_vehicles: int | None = None,
    time_limit_s: float = 10,
    seed: int = 0,
    backend: str = "auto",
    max_iterations: int | None = None,
) -> RoutingSolution:
    """Solve a CVRP from a matrix, depot at index 0.

    Parameters
    ----------
    distance
        (n+1, n+1) arc costs (e.g. metres); ``inf`` marks a missing arc. Minimised.
    demand
        (n+1,) demand per node, ``demand[0] == 0`` (same unit as ``capacity``, e.g. t).
    capacity
        Vehicle capacity (all vehicles alike; mixed fleets are handled by ``plan_rounds``).
    service_time_s
        Service time per customer (s), scalar or (n+1,) with entry 0 ignored.
    travel_time
        (n+1, n+1) travel times (s) for the duration limit; defaults to ``distance``.
    max_duration_s
        Limit on a route's travel + service time (s); None = no limit.
    n_vehicles
        Number of vehicles available; None = as many as needed.
    time_limit_s
        Wall-clock limit for the search (s).
    seed
        Random seed (PyVRP; OR-Tools' guided local search is deterministic).
    backend
        "ortools", "pyvrp" or "auto" (PyVRP, see module docstring).
    max_iterations
        PyVRP only: also stop after this many iterations (reproducible runs on small instances).

    Returns
    -------
    RoutingSolution
        Routes of customer indices 1…n, total cost in ``distance`` units.

    Raises
    ------
    InputError
        Malformed matrices or demands.
    InfeasibleError
        A customer cannot be served by any single vehicle (demand over capacity, unreachable,
        or its out-and-back trip exceeds ``max_duration_s``).
    SolverTimeout
        No feasible solution found within the time limit.
    """
    dist = np.asarray(distance, dtype=float)
    dem = np.asarray(demand, dtype=float)
    _validate(dist, dem, capacity)
    n = len(dem) - 1
    if backend == "auto":
        backend = auto_backend()
    if backend not in BACKENDS:
        msg = f"backend must be one of {BACKENDS} or 'auto', got {backend!r}"
        raise InputError(msg, field="backend")
    if n == 0:
        return RoutingSolution([], 0.0, 0, "feasible", 0.0, backend)

    svc, tt = _service_and_times(dist, service_time_s, travel_time)
    _check_servable(dist, dem, capacity, tt, svc, max_duration_s)
    d_int, q_int, cap_int, t_int, svc_int, dur_int = _integer_model(dist, dem, capacity, tt, svc,
                                                                    max_duration_s)
    k = _fleet_size(dem, capacity, n_vehicles, backend=backend, limited=max_duration_s is not None)

    t0 = time.perf_counter()
    if backend == "ortools":
        routes = _solve_ortools(d_int, q_int, cap_int, t_int, svc_int, dur_int, k, time_limit_s)
        while routes is None and n_vehicles is None and k < n:
            k = min(n, 2 * k)  # the start heuristic got stuck: retry with a larger fleet
            routes = _solve_ortools(d_int, q_int, cap_int, t_int, svc_int, dur_int, k,
                                    time_limit_s)
    else:
        routes = _solve_pyvrp(d_int, q_int, cap_int, t_int, svc_int, dur_int, k, time_limit_s,
                              seed, max_iterations)
    elapsed = time.perf_counter() - t0
    if routes is None:
        msg = (f"{backend}: no feasible solution for {n} customers with {k} vehicles within "
               f"{time_limit_s:g} s")
        raise SolverTimeout(msg)
    routes = [r for r in routes if r]
    routes.sort(key=lambda r: r[0])
    return RoutingSolution(routes=routes, cost=solution_cost(dist, routes),
                           vehicles_used=len(routes), status="feasible",
                           solve_time_s=elapsed, backend=backend)


def _service_and_times(dist: np.ndarray, service_time_s: Any, travel_time: np.ndarray | None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Service time per node (s, 0 at the depot) and the travel-time matrix (default: distance)."""
    n = len(dist) - 1
    svc = np.zeros(n + 1)
    if service_time_s is not None:
        svc = np.broadcast_to(np.asarray(service_time_s, dtype=float), (n + 1,)).copy()
        svc[0] = 0.0
    tt = dist if travel_time is None else np.asarray(travel_time, dtype=float)
    if tt.shape != dist.shape:
        msg = f"travel_time shape {tt.shape} differs from distance shape {dist.shape}"
        raise InputError(msg, field="travel_time")
    return svc, tt


def _fleet_size(dem: np.ndarray, capacity: float, n_vehicles: int | None, *, backend: str,
                limited: bool) -> int:
    """Vehicles offered to the solver: the given number, else one per customer (PyVRP, or a
    duration limit), else a first-fit-decreasing packing plus slack (OR-Tools searches faster
    with a tighter fleet; the slack lets its path-cheapest-arc start find a solution)."""
    n = len(dem) - 1
    if n_vehicles is not None:
        return int(n_vehicles)
    if backend == "pyvrp" or limited:
        return n
    ffd = _ffd_bins(dem, capacity)
    return min(n, max(ffd + 2, math.ceil(1.25 * ffd)))


def _check_servable(dist: np.ndarray, dem: np.ndarray, capacity: float, tt: np.ndarray,
                    svc: np.ndarray, max_duration_s: float | None) -> None:
    """Raise InfeasibleError naming the customers no single vehicle can serve."""
    n = len(dem) - 1
    bad: list[Unservable] = []
    for i in range(1, n + 1):
        if dem[i] > capacity + 1e-9:
            bad.append(Unservable(i, f"demand {dem[i]:g} exceeds vehicle capacity {capacity:g}"))
        elif not (np.isfinite(dist[0, i]) and np.isfinite(dist[i, 0])):
            bad.append(Unservable(i, "not reachable from / back to the depot"))
        elif max_duration_s is not None and tt[0, i] + svc[i] + tt[i, 0] > max_duration_s + 1e-9:
            bad.append(Unservable(i, f"out-and-back takes {tt[0, i] + svc[i] + tt[i, 0]:.0f} s "
                                     f"> route limit {max_duration_s:.0f} s"))
    if bad:
        msg = f"{len(bad)} of {n} customers cannot be served by a single vehicle"
        raise InfeasibleError(msg, unservable=bad)


def _integer_model(dist: np.ndarray, dem: np.ndarray, capacity: float, tt: np.ndarray,
                   svc: np.ndarray, max_duration_s: float | None) -> tuple:
    """The solvers' integer data: distances, demands, capacity and (with a duration limit)
    times, service times and the limit; missing arcs get a prohibitive cost."""
    n = len(dem) - 1
    ds = _scale_for(dist)
    d_int = _as_int(np.where(np.isfinite(dist), dist, 0), ds)
    big = int(d_int.max() * (n + 2) + 1)
    d_int[~np.isfinite(dist)] = big  # arcs that do not exist: prohibitively expensive
    qs = _scale_for(np.append(dem, capacity), target=1e9)
    q_int = _as_int(dem, qs, "ceil")
    cap_int = int(_as_int(np.array([capacity]), qs, "floor")[0])
    t_int = svc_int = None
    dur_int = None
    if max_duration_s is not None:
        ts = _scale_for(np.concatenate([tt[np.isfinite(tt)], svc, [max_duration_s]]))
        t_int = _as_int(np.where(np.isfinite(tt), tt, 0), ts, "ceil")
        t_int[~np.isfinite(tt)] = big
        svc_int = _as_int(svc, ts, "ceil")
        dur_int = int(_as_int(np.array([max_duration_s]), ts, "floor")[0])
    return d_int, q_int, cap_int, t_int, svc_int, dur_int


def auto_backend() -> str:
    """The default routing backend: PyVRP when installed, else OR-Tools."""
    try:
        import pyvrp  # noqa: F401
    except ImportError:  # pragma: no cover - pyvrp is a dependency
        return "ortools"
    return "pyvrp"


def solve_gls(routing, time_limit_s: float):
    """Solve an OR-Tools routing model: path-cheapest-arc start, guided local search, wall-clock
    limit (s). Returns the assignment or None."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    return routing.SolveWithParameters(params)


def _solve_ortools(d: np.ndarray, q: np.ndarray, cap: int, t: np.ndarray | None,
                   svc: np.ndarray | None, dur: int | None, k: int,
                   time_limit_s: float) -> list[list[int]] | None:
    from ortools.constraint_solver import pywrapcp

    n1 = len(q)
    manager = pywrapcp.RoutingIndexManager(n1, k, 0)
    routing = pywrapcp.RoutingModel(manager)
    dist_cb = routing.RegisterTransitMatrix(d.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(dist_cb)
    dem_cb = routing.RegisterUnaryTransitVector(q.tolist())
    routing.AddDimensionWithVehicleCapacity(dem_cb, 0, [cap] * k, True, "load")
    if t is not None and svc is not None and dur is not None:
        tm = (t + svc[:, None]).tolist()  # leaving i costs its service time
        time_cb = routing.RegisterTransitMatrix(tm)
        routing.AddDimension(time_cb, 0, dur, True, "time")
    sol = solve_gls(routing, time_limit_s)
    if sol is None:
        return None
    routes: list[list[int]] = []
    for v in range(k):
        idx = routing.Start(v)
        r: list[int] = []
        idx = sol.Value(routing.NextVar(idx))
        while not routing.IsEnd(idx):
            r.append(manager.IndexToNode(idx))
            idx = sol.Value(routing.NextVar(idx))
        routes.append(r)
    return routes


def _solve_pyvrp(d: np.ndarray, q: np.ndarray, cap: int, t: np.ndarray | None,
                 svc: np.ndarray | None, dur: int | None, k: int, time_limit_s: float,
                 seed: int, max_iterations: int | None) -> list[list[int]] | None:
    from pyvrp import Model
    m = Model()
    n1 = len(q)
    locs = [m.add_location(x=0, y=0) for _ in range(n1)]
    m.add_depot(locs[0])
    for i in range(1, n1):
        m.add_client(locs[i], delivery=[int(q[i])],
                     service_duration=int(svc[i]) if svc is not None else 0)
    vt: dict = {"num_available": k, "capacity": [cap]}
    if dur is not None:
        vt["shift_duration"] = dur
    m.add_vehicle_type(**vt)
    dl = d.tolist()
    tl = t.tolist() if t is not None else None
    for i, a in enumerate(locs):
        row = dl[i]
        trow = tl[i] if tl is not None else None
        for j, b in enumerate(locs):
            if i != j:
                m.add_edge(a, b, distance=row[j], duration=trow[j] if trow is not None else 0)
    res = m.solve(stop=pyvrp_stop(time_limit_s, max_iterations), seed=seed, display=False,
                  collect_stats=False)
    if not res.is_feasible():
        return None
    return [[a.idx + 1 for a in r.schedule() if a.is_client()] for r in res.best.routes()]


class CpuRuntime:
    """PyVRP stopping criterion: ``limit_s`` CPU seconds of the solving thread (not wall time,
    so a busy machine does not cut the search short and change the routes)."""

    def __init__(self, limit_s: float) -> None:
        self.limit_s = float(limit_s)
        self._start: float | None = None

    def __call__(self, best_cost: float) -> bool:
        if self._start is None:
            self._start = time.thread_time()
        return time.thread_time() - self._start > self.limit_s


def pyvrp_stop(time_limit_s: float, max_iterations: int | None):
    """PyVRP's stop: ``max_iterations`` (the work that decides the routes, so the same inputs
    and seed give the same routes on an idle and a loaded machine) or ``time_limit_s`` CPU
    seconds, whichever comes first."""
    from pyvrp.stop import MaxIterations, MultipleCriteria

    if max_iterations is None:
        return CpuRuntime(time_limit_s)
    return MultipleCriteria([CpuRuntime(time_limit_s), MaxIterations(max_iterations)])
