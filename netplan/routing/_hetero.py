"""Heterogeneous-fleet trip VRP (internal): each route is one trip of one vehicle type.

Minimises Σ trips [unit_distance_cost[type] · length + unit_duration_cost[type] · duration
+ fixed_cost[type]] subject to per-type capacity and a per-trip duration limit (travel + service,
per-type travel times). Inputs are already integers (the caller scales); both backends solve the
same model: OR-Tools routing (per-vehicle arc costs, span costs, fixed costs; guided local search)
and PyVRP (vehicle types with unit distance/duration costs and one routing profile per type).
"""

from __future__ import annotations

import numpy as np


def solve_hetero(d: np.ndarray, t: list[np.ndarray], svc: np.ndarray, q: np.ndarray,
                 caps: list[int], dur: list[int], udc: list[int], udur: list[int],
                 fixed: list[int], copies: list[int], *, backend: str, time_limit_s: float,
                 seed: int, max_iterations: int | None) -> list[tuple[int, list[int]]] | None:
    """Trips as (type index, customer indices 1…n); None when no feasible solution was found."""
    if backend == "ortools":
        return _ortools(d, t, svc, q, caps, dur, udc, udur, fixed, copies, time_limit_s)
    return _pyvrp(d, t, svc, q, caps, dur, udc, udur, fixed, copies, time_limit_s, seed,
                  max_iterations)


def _ortools(d, t, svc, q, caps, dur, udc, udur, fixed, copies, time_limit_s):
    from ortools.constraint_solver import pywrapcp

    from netplan.routing.cvrp import solve_gls

    types = [k for k, c in enumerate(copies) for _ in range(c)]
    nv = len(types)
    manager = pywrapcp.RoutingIndexManager(len(q), nv, 0)
    routing = pywrapcp.RoutingModel(manager)
    cost_cb = [routing.RegisterTransitMatrix((d * udc[k]).tolist()) for k in range(len(caps))]
    time_cb = [routing.RegisterTransitMatrix((t[k] + svc[:, None]).tolist())
               for k in range(len(caps))]
    for v, k in enumerate(types):
        routing.SetArcCostEvaluatorOfVehicle(cost_cb[k], v)
        routing.SetFixedCostOfVehicle(int(fixed[k]), v)
    dem_cb = routing.RegisterUnaryTransitVector(q.tolist())
    routing.AddDimensionWithVehicleCapacity(dem_cb, 0, [int(caps[k]) for k in types], True, "load")
    routing.AddDimensionWithVehicleTransitAndCapacity(
        [time_cb[k] for k in types], 0, [int(dur[k]) for k in types], True, "time")
    tdim = routing.GetDimensionOrDie("time")
    for v, k in enumerate(types):
        tdim.SetSpanCostCoefficientForVehicle(int(udur[k]), v)
    sol = solve_gls(routing, time_limit_s)
    if sol is None:
        return None
    out = []
    for v, k in enumerate(types):
        idx = sol.Value(routing.NextVar(routing.Start(v)))
        r = []
        while not routing.IsEnd(idx):
            r.append(manager.IndexToNode(idx))
            idx = sol.Value(routing.NextVar(idx))
        if r:
            out.append((k, r))
    return out


def _pyvrp(d, t, svc, q, caps, dur, udc, udur, fixed, copies, time_limit_s, seed, max_iterations):
    from pyvrp import Model

    from netplan.routing.cvrp import pyvrp_stop

    m = Model()
    n1 = len(q)
    locs = [m.add_location(x=0, y=0) for _ in range(n1)]
    depot = m.add_depot(locs[0])
    for i in range(1, n1):
        m.add_client(locs[i], delivery=[int(q[i])], service_duration=int(svc[i]))
    profiles = [m.add_profile() for _ in caps]
    for k in range(len(caps)):
        m.add_vehicle_type(num_available=int(copies[k]), capacity=[int(caps[k])],
                           start_depot=depot, end_depot=depot, fixed_cost=int(fixed[k]),
                           shift_duration=int(dur[k]), unit_distance_cost=int(udc[k]),
                           unit_duration_cost=int(udur[k]), profile=profiles[k], name=str(k))
    dl = d.tolist()
    for k, p in enumerate(profiles):
        tl = t[k].tolist()
        for i, a in enumerate(locs):
            for j, b in enumerate(locs):
                if i != j:
                    m.add_edge(a, b, distance=dl[i][j], duration=tl[i][j], profile=p)
    res = m.solve(stop=pyvrp_stop(time_limit_s, max_iterations), seed=seed, display=False,
                  collect_stats=False)
    if not res.is_feasible():
        return None
    return [(int(r.vehicle_type()), [a.idx + 1 for a in r.schedule() if a.is_client()])
            for r in res.best.routes()]
