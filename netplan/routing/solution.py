"""Result types of the routing core: CVRP solutions, collection rounds and haulage plans."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class RoutingSolution:
    """A CVRP solution.

    Attributes
    ----------
    routes
        One list per used vehicle of customer indices into the distance matrix (1…n; the depot 0
        is not listed), in visiting order.
    cost
        Total distance of all routes in the units of the distance matrix, recomputed from the
        *unscaled* matrix (so no precision is lost to the solver's integer scaling).
    vehicles_used
        Number of non-empty routes.
    status
        "feasible" (time limit reached with a feasible solution; never "optimal": the heuristics
        prove nothing) or "infeasible".
    solve_time_s
        Wall-clock time spent in the solver (s).
    backend
        "ortools" or "pyvrp".
    """

    routes: list[list[int]]
    cost: float
    vehicles_used: int
    status: str
    solve_time_s: float
    backend: str = ""

    def __str__(self) -> str:
        lines = [f"RoutingSolution({self.backend}): cost={self.cost:.4g}, "
                 f"vehicles={self.vehicles_used}, status={self.status}, "
                 f"time={self.solve_time_s:.2f} s"]
        for k, r in enumerate(self.routes, 1):
            lines.append(f"  route {k}: {' '.join(map(str, r))}")
        return "\n".join(lines)


def route_length(distance: np.ndarray, route: list[int]) -> float:
    """Length of depot → route → depot under ``distance`` (depot is index 0)."""
    if not route:
        return 0.0
    path = [0, *route, 0]
    return float(sum(distance[a, b] for a, b in zip(path[:-1], path[1:], strict=True)))


def solution_cost(distance: np.ndarray, routes: list[list[int]]) -> float:
    """Total length of ``routes`` under ``distance`` (depot 0 at both ends of every route)."""
    return float(sum(route_length(distance, r) for r in routes))


@dataclass(frozen=True)
class Trip:
    """One trip of a vehicle: station → stops → station.

    Attributes
    ----------
    vehicle
        Vehicle type name (key of data/vehicles.toml).
    stops
        Indices 1…n of the stops in visiting order (index 0 = the station).
    distance_m, duration_s, load_t
        Length (m), duration including service and unloading at the station (s) and load (t).
    day
        Vehicle-day this trip is scheduled on (0-based, per vehicle type), within one round.
    t_km
        Tonne-km of the trip (load on board × length of every leg).
    stop_load_t
        Load picked up at each stop (t), aligned with ``stops``.
    """

    vehicle: str
    stops: list[int]
    distance_m: float
    duration_s: float
    load_t: float
    day: int = 0
    t_km: float = 0.0
    stop_load_t: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class RoundsPlan:
    """Collection rounds from one township station over its village points.

    Attributes
    ----------
    trips
        Trips of one collection round (every stop's load collected once).
    vehicle_days
        Vehicle-days needed for one round, by vehicle type.
    trips_per_vehicle_day
        Mean number of trips a vehicle makes in one working day, by vehicle type.
    fleet_peak
        Vehicles needed in the peak period, by vehicle type.
    annual_km, annual_t_km
        Vehicle-km and tonne-km per year (all rounds).
    cost_cny, co2_kg
        Annual running cost (CNY: per-km and per-day costs) and diesel CO2 (kg).
    status
        Solver status of the underlying VRP.
    """

    trips: list[Trip]
    vehicle_days: dict[str, int]
    trips_per_vehicle_day: dict[str, float]
    fleet_peak: dict[str, int]
    annual_km: float
    annual_t_km: float
    cost_cny: float
    co2_kg: float
    rounds_per_year: float
    status: str = "feasible"
    notes: list[str] = field(default_factory=list)

    @property
    def round_distance_m(self) -> float:
        """Distance of one round (m)."""
        return float(sum(t.distance_m for t in self.trips))

    def trip_groups(self) -> list[tuple[Trip, int]]:
        """Identical trips (same vehicle, stops and loads; e.g. the full direct loads of a big
        stop) merged: (first such trip, count), in first-seen order. For maps and tables that
        would otherwise draw the same line many times."""
        groups: dict[tuple, list] = {}
        for t in self.trips:
            key = (t.vehicle, tuple(t.stops), tuple(round(q, 9) for q in t.stop_load_t))
            if key in groups:
                groups[key][1] += 1
            else:
                groups[key] = [t, 1]
        return [(t, c) for t, c in groups.values()]


@dataclass(frozen=True)
class HaulagePlan:
    """Full-truckload haulage station → centre, one entry per station (arrays of length m).

    Attributes
    ----------
    trips
        Trips per year (loaded trips; each returns empty), integer.
    load_per_trip_t
        Mean load per trip (t).
    trip_distance_m, trip_duration_s
        Round-trip distance (m) and duration including loading/unloading (s).
    t_km
        Loaded tonne-km per year.
    vehicle_km
        Vehicle-km per year (loaded and empty legs).
    vehicle_days
        Vehicle-days needed per year (several trips a day where they fit).
    fleet_peak
        Vehicles needed in the peak window (or over the working year without one).
    cost_cny, co2_kg
        Annual running cost (CNY) and diesel CO2 (kg).
    """

    vehicle: str
    trips: np.ndarray
    load_per_trip_t: np.ndarray
    trip_distance_m: np.ndarray
    trip_duration_s: np.ndarray
    t_km: np.ndarray
    vehicle_km: np.ndarray
    vehicle_days: np.ndarray
    fleet_peak: np.ndarray
    cost_cny: np.ndarray
    co2_kg: np.ndarray
