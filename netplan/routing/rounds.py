"""Collection rounds from a township station over its village points (multi-trip, mixed fleet).

One *round* collects every stop's load once. The model, per station:

1. Stops whose load exceeds the largest vehicle's capacity get ``floor(load / cap)`` full direct
   trips (the vehicle type with the lowest cost per tonne for that out-and-back), the remainder
   goes to step 2.
2. Trips: a heterogeneous-fleet VRP (``_hetero``) over the remaining loads. Each route is one trip
   station → stops → station of one vehicle type, within the type's capacity (payload or volume ×
   bulk density of the stream), with travel + service + unloading at the station ≤ the working
   day. Objective: Σ cost_cny_per_km · km + cost_cny_per_day · (trip duration / working day),
   i.e. the day cost is charged pro rata to the time a trip takes (unloading included).
3. Vehicle-days: trips of each type are packed into working days (first-fit decreasing on trip
   durations), so a vehicle makes several trips a day, unloading at the station between them.
4. Fleet at peak: vehicle-days per round × rounds falling in the peak window / days of the window,
   rounded up (per type). Without a peak: the whole year (``working_days_yr``) is the window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from netplan.errors import InfeasibleError, InputError, SolverTimeout, Unservable
from netplan.routing._hetero import solve_hetero
from netplan.routing.cvrp import auto_backend
from netplan.routing.solution import RoundsPlan, Trip
from netplan.routing.vehicles import VehicleType

_COST_UNITS_PER_CNY = 100_000  # solver objective unit: 1e-5 CNY
_DM_PER_M = 10                 # distances handed to the solver in decimetres
_G_PER_T = 1_000_000           # loads handed to the solver in grams


def _trip_metrics(stops: list[int], d: np.ndarray, t: np.ndarray, svc: np.ndarray,
                  load: np.ndarray, unload_s: float) -> tuple[float, float, float, float]:
    """Distance (m), duration (s, incl. service and unloading), load (t) and t·km of a trip."""
    path = [0, *stops, 0]
    dist_m = float(sum(d[a, b] for a, b in zip(path[:-1], path[1:], strict=True)))
    dur_s = float(sum(t[a, b] for a, b in zip(path[:-1], path[1:], strict=True)))
    dur_s += float(sum(svc[i] for i in stops)) + unload_s
    on_board = 0.0
    t_km = 0.0
    for a, b in zip(path[:-1], path[1:], strict=True):
        if a != 0:
            on_board += float(load[a])
        t_km += on_board * float(d[a, b]) / 1000.0
    return dist_m, dur_s, float(sum(load[i] for i in stops)), t_km


def _pack_days(durations: list[float], workday_s: float) -> list[int]:
    """First-fit decreasing of trip durations into working days; day index per trip."""
    order = sorted(range(len(durations)), key=lambda k: (-durations[k], k))
    free: list[float] = []
    day = [0] * len(durations)
    for k in order:
        for j, f in enumerate(free):
            if durations[k] <= f + 1e-6:
                free[j] = f - durations[k]
                day[k] = j
                break
        else:
            free.append(workday_s - durations[k])
            day[k] = len(free) - 1
    return day


def plan_rounds(
    stops_load_t: np.ndarray,
    distance_m: np.ndarray,
    time_s: np.ndarray | Mapping[str, np.ndarray],
    vehicles: Sequence[VehicleType],
    *,
    workday_s: float = 8 * 3600,
    service_s: float | np.ndarray = 600,
    unload_s: float = 900,
    rounds_per_year: float,
    peak_days: float | None = None,
    peak_share: float | None = None,
    working_days_yr: float = 300,
    stream: str | None = None,
    time_limit_s: float = 5,
    seed: int = 0,
    backend: str = "auto",
    max_iterations: int | None = 1000,
) -> RoundsPlan:
    """Plan the collection rounds of one township station.

    Parameters
    ----------
    stops_load_t
        (n,) load per round at each stop (t); stops with zero load are not visited.
    distance_m
        (n+1, n+1) road distances (m), index 0 = the station, 1…n the stops.
    time_s
        (n+1, n+1) travel times (s), or a mapping vehicle name → such a matrix (per-type speeds).
    vehicles
        Vehicle types available (a mixed fleet); the solver picks the type of every trip.
    workday_s
        Length of a working day (s); every trip (with unloading) must fit in one.
    service_s
        Loading time at each stop (s), scalar or (n,).
    unload_s
        Unloading time at the station after each trip (s).
    rounds_per_year
        Collection rounds per year.
    peak_days, peak_share
        The peak window: ``peak_share`` (0–1) of the year's rounds fall in ``peak_days`` days
        (e.g. straw: 0.55 in 21 days after the wheat harvest). Both or neither.
    working_days_yr
        Working days per year when there is no peak window.
    stream
        Stream id: vehicle capacity is min(payload, volume × the stream's bulk density).
    time_limit_s, seed, backend, max_iterations
        Solver controls (see :func:`netplan.routing.solve_cvrp`); ``max_iterations`` caps PyVRP
        so small stations give the same plan on every run.

    Returns
    -------
    RoundsPlan
        Trips of one round, vehicle-days per round, trips per vehicle-day, peak fleet by type,
        annual vehicle-km, t·km, running cost (CNY) and diesel CO2 (kg).

    Raises
    ------
    InputError
        Inconsistent shapes or parameters.
    InfeasibleError
        Stops no vehicle can serve in one working day (too far, or unreachable).
    """
    load = np.asarray(stops_load_t, dtype=float)
    d = np.asarray(distance_m, dtype=float)
    _check_inputs(load, d, vehicles, peak_days=peak_days, peak_share=peak_share,
                  rounds_per_year=rounds_per_year, workday_s=workday_s, unload_s=unload_s)
    st = _station(load, d, time_s, vehicles, service_s=service_s, workday_s=workday_s,
                  unload_s=unload_s, stream=stream)
    trips, rem = _direct_trips(st)
    status = "feasible"
    todo = [i for i in range(1, len(load) + 1) if rem[i] > 0]
    if todo:
        trips += _shared_trips(st, rem, todo, backend=backend, time_limit_s=time_limit_s, seed=seed,
                               max_iterations=max_iterations)
    trips_out, days = _pack_vehicle_days(trips, workday_s)
    tpd = {name: sum(tr.vehicle == name for tr in trips_out) / days[name] for name in days}
    if peak_days is not None and peak_share is not None:
        rounds_in_window, window_days = rounds_per_year * peak_share, peak_days
    else:
        rounds_in_window, window_days = rounds_per_year, working_days_yr
    fleet = {name: max(1, math.ceil(days[name] * rounds_in_window / window_days - 1e-9))
             for name in days}
    by_name = {v.name: v for v in st.vehicles}
    round_km = sum(tr.distance_m for tr in trips_out) / 1000.0
    round_tkm = sum(tr.t_km for tr in trips_out)
    cost = sum(tr.distance_m / 1000.0 * by_name[tr.vehicle].cost_cny_per_km for tr in trips_out)
    cost += sum(days[name] * by_name[name].cost_cny_per_day for name in days)
    co2 = sum(tr.distance_m / 1000.0 * by_name[tr.vehicle].co2_kg_per_km for tr in trips_out)
    return RoundsPlan(trips=trips_out, vehicle_days=days, trips_per_vehicle_day=tpd,
                      fleet_peak=fleet, annual_km=round_km * rounds_per_year,
                      annual_t_km=round_tkm * rounds_per_year, cost_cny=cost * rounds_per_year,
                      co2_kg=co2 * rounds_per_year, rounds_per_year=rounds_per_year,
                      status=status)


def _check_inputs(load: np.ndarray, d: np.ndarray, vehicles: Sequence[VehicleType], *,
                  peak_days: float | None, peak_share: float | None, rounds_per_year: float,
                  workday_s: float, unload_s: float) -> None:
    """Raise InputError for inconsistent shapes or parameters of :func:`plan_rounds`."""
    n = len(load)
    if d.shape != (n + 1, n + 1):
        msg = f"distance_m must be ({n + 1}, {n + 1}) for {n} stops, got {d.shape}"
        raise InputError(msg, field="distance_m")
    if not vehicles:
        msg = "at least one vehicle type is needed"
        raise InputError(msg, field="vehicles")
    if np.any(load < 0) or not np.all(np.isfinite(load)):
        msg = "stops_load_t must be finite and non-negative"
        raise InputError(msg, field="stops_load_t")
    if (peak_days is None) != (peak_share is None):
        msg = "give both peak_days and peak_share, or neither"
        raise InputError(msg, field="peak_days")
    if peak_share is not None and not 0 < peak_share <= 1:
        msg = f"peak_share must be in (0, 1], got {peak_share}"
        raise InputError(msg, field="peak_share")
    if rounds_per_year <= 0 or workday_s <= unload_s:
        msg = "rounds_per_year must be positive and workday_s longer than unload_s"
        raise InputError(msg, field="rounds_per_year")


@dataclass(frozen=True)
class _Station:
    """One station's round, in the solver's terms (index 0 = the station, 1…n the stops)."""

    load: np.ndarray               # (n+1,) t per round, 0 at the station
    d: np.ndarray                  # (n+1, n+1) m
    times: list[np.ndarray]        # per vehicle type, (n+1, n+1) s
    svc: np.ndarray                # (n+1,) loading time, s
    vehicles: list[VehicleType]
    caps: list[float]              # t per trip, per type (the stream's payload or volume limit)
    per_day_s: list[float]         # CNY per second of a working day, per type
    workday_s: float
    unload_s: float

    @property
    def trip_limit_s(self) -> float:
        """Longest trip before unloading (s)."""
        return self.workday_s - self.unload_s

    def out_back_s(self, k: int, i: int) -> float:
        """Station → stop ``i`` → station by type ``k``, with loading (s)."""
        return float(self.times[k][0, i] + self.svc[i] + self.times[k][i, 0])


def _station(load: np.ndarray, d: np.ndarray, time_s: np.ndarray | Mapping[str, np.ndarray],
             vehicles: Sequence[VehicleType], *, service_s: float | np.ndarray, workday_s: float,
             unload_s: float, stream: str | None) -> _Station:
    n = len(load)
    vt = list(vehicles)
    times = [np.asarray(time_s[v.name] if isinstance(time_s, Mapping) else time_s, dtype=float)
             for v in vt]
    for tm in times:
        if tm.shape != d.shape:
            msg = f"time_s must have the shape of distance_m {d.shape}, got {tm.shape}"
            raise InputError(msg, field="time_s")
    svc = np.zeros(n + 1)
    svc[1:] = np.broadcast_to(np.asarray(service_s, dtype=float), (n,))
    return _Station(load=np.concatenate([[0.0], load]), d=d, times=times, svc=svc, vehicles=vt,
                    caps=[v.capacity_t(stream) for v in vt],
                    per_day_s=[v.cost_cny_per_day / workday_s for v in vt],
                    workday_s=workday_s, unload_s=unload_s)


def _direct_trips(st: _Station) -> tuple[list[Trip], np.ndarray]:
    """Full direct trips for stops whose load exceeds the largest vehicle that can reach them,
    and the load left per stop (step 1 of the module doc).

    Raises
    ------
    InfeasibleError
        Stops no vehicle can reach and return from within a working day.
    """
    d, lo, caps, vt = st.d, st.load, st.caps, st.vehicles
    trips: list[Trip] = []
    rem = lo.copy()
    bad: list[Unservable] = []
    for i in range(1, len(lo)):
        if lo[i] <= 0:
            continue
        ok = [k for k in range(len(vt)) if np.isfinite(d[0, i]) and np.isfinite(d[i, 0])
              and st.out_back_s(k, i) <= st.trip_limit_s + 1e-9]
        if not ok:
            bad.append(Unservable(i, "no vehicle can reach it and return within a working day"))
            continue
        kmax = max(ok, key=lambda k: caps[k])
        if lo[i] <= caps[kmax] + 1e-9:
            continue

        # full loads as direct trips, by the type cheapest per tonne for this out-and-back
        def per_t(k: int, i: int = i) -> float:
            km = (d[0, i] + d[i, 0]) / 1000.0
            return (km * vt[k].cost_cny_per_km
                    + (st.out_back_s(k, i) + st.unload_s) * st.per_day_s[k]) / caps[k]
        kb = min(ok, key=per_t)
        full = int(math.floor(lo[i] / caps[kb] + 1e-9))
        rest = lo[i] - full * caps[kb]
        if rest > caps[kmax] + 1e-9:  # cheapest type leaves more than any vehicle carries
            kb = kmax
            full = int(math.floor(lo[i] / caps[kb] + 1e-9))
            rest = lo[i] - full * caps[kb]
        for _ in range(full):
            dm = float(d[0, i] + d[i, 0])
            trips.append(Trip(vt[kb].name, [i], dm, st.out_back_s(kb, i) + st.unload_s, caps[kb],
                              t_km=caps[kb] * float(d[i, 0]) / 1000.0, stop_load_t=[caps[kb]]))
        rem[i] = max(rest, 0.0) if rest > 1e-9 else 0.0
    if bad:
        msg = f"{len(bad)} of {len(lo) - 1} stops cannot be served from the station"
        raise InfeasibleError(msg, unservable=bad)
    return trips, rem


def _shared_trips(st: _Station, rem: np.ndarray, todo: list[int], *, backend: str,
                  time_limit_s: float, seed: int, max_iterations: int | None) -> list[Trip]:
    """Trips over the remaining loads: the heterogeneous-fleet VRP in integer units (step 2)."""
    idx = [0, *todo]
    sub_d = st.d[np.ix_(idx, idx)]
    d_int = np.round(np.where(np.isfinite(sub_d), sub_d, 0) * _DM_PER_M).astype(np.int64)
    big = int(d_int.max() * (len(idx) + 2) + 1)
    d_int[~np.isfinite(sub_d)] = big
    t_int = []
    for tm in st.times:
        s = tm[np.ix_(idx, idx)]
        ti = np.ceil(np.where(np.isfinite(s), s, 0)).astype(np.int64)
        ti[~np.isfinite(s)] = int(st.workday_s) * 10
        t_int.append(ti)
    svc_int = np.ceil(st.svc[idx]).astype(np.int64)
    q_int = np.ceil(rem[idx] * _G_PER_T - 1e-6).astype(np.int64)
    cap_int = [int(math.floor(c * _G_PER_T + 1e-6)) for c in st.caps]
    udc = [round(v.cost_cny_per_km / 1000.0 / _DM_PER_M * _COST_UNITS_PER_CNY) for v in st.vehicles]
    udur = [round(p * _COST_UNITS_PER_CNY) for p in st.per_day_s]
    fixed = [round(st.unload_s * p * _COST_UNITS_PER_CNY) for p in st.per_day_s]
    dur = [int(math.floor(st.trip_limit_s))] * len(st.vehicles)
    # a type can serve only stops its capacity holds; enough copies for one trip per stop
    copies = [max(1, len(todo)) for _ in st.vehicles]
    be = backend if backend != "auto" else auto_backend()
    res = solve_hetero(d_int, t_int, svc_int, q_int, cap_int, dur, udc, udur, fixed, copies,
                       backend=be, time_limit_s=time_limit_s, seed=seed,
                       max_iterations=max_iterations)
    if res is None:
        msg = f"no feasible collection plan for {len(todo)} stops within {time_limit_s:g} s"
        raise SolverTimeout(msg)
    trips = []
    for k, r in sorted(res, key=lambda kr: (kr[0], kr[1])):
        stops = [idx[j] for j in r]
        dm, ds, lt, tkm = _trip_metrics(stops, st.d, st.times[k], st.svc, rem, st.unload_s)
        trips.append(Trip(st.vehicles[k].name, stops, dm, ds, lt, t_km=tkm,
                          stop_load_t=[float(rem[i]) for i in stops]))
    return trips


def _pack_vehicle_days(trips: list[Trip], workday_s: float) -> tuple[list[Trip], dict[str, int]]:
    """Each type's trips packed into working days (step 3): the trips with their day, sorted,
    and the vehicle-days per round by type."""
    by_type: dict[str, list[int]] = {}
    for j, tr in enumerate(trips):
        by_type.setdefault(tr.vehicle, []).append(j)
    days: dict[str, int] = {}
    final: list[Trip] = list(trips)
    for name, js in by_type.items():
        day = _pack_days([trips[j].duration_s for j in js], workday_s)
        days[name] = max(day) + 1
        for j, dd in zip(js, day, strict=True):
            final[j] = replace(trips[j], day=dd)
    final.sort(key=lambda tr: (tr.vehicle, tr.day, tr.stops))
    return final, days
