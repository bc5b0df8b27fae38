"""Routing engine: CVRP core (OR-Tools / PyVRP), collection rounds and FTL haulage.

Array-level API (numpy in, small dataclasses out; index 0 is always the depot/station):

- :func:`solve_cvrp` — CVRP with optional route duration limit → :class:`RoutingSolution`.
- :func:`plan_rounds` — a township station's collection rounds (multi-trip, mixed fleet, peak
  fleet) → :class:`RoundsPlan`.
- :func:`plan_haulage` — station → centre full-truckload trips → :class:`HaulagePlan`.
- :func:`load_vehicles`, :func:`vehicles_for_stream` — vehicle types from data/vehicles.toml.
- :mod:`netplan.routing.cvrplib` — CVRPLIB ``.vrp``/``.sol`` reader and a route checker.
"""

from netplan.routing.cvrp import solve_cvrp
from netplan.routing.cvrplib import CvrpInstance, check_routes, read_sol, read_vrp
from netplan.routing.haulage import plan_haulage
from netplan.routing.rounds import plan_rounds
from netplan.routing.solution import HaulagePlan, RoundsPlan, RoutingSolution, Trip
from netplan.routing.vehicles import VehicleType, load_vehicles, vehicles_for_stream

__all__ = [
    "CvrpInstance", "HaulagePlan", "RoundsPlan", "RoutingSolution", "Trip", "VehicleType",
    "check_routes", "load_vehicles", "plan_haulage", "plan_rounds", "read_sol", "read_vrp",
    "solve_cvrp", "vehicles_for_stream",
]
