"""Haulage from township stations to county centres as full-truckload (FTL) out-and-back trips."""

from __future__ import annotations

import numpy as np

from netplan.errors import InputError
from netplan.routing.solution import HaulagePlan
from netplan.routing.vehicles import VehicleType


def plan_haulage(
    load_t_yr: np.ndarray,
    distance_m: np.ndarray,
    time_s: np.ndarray,
    vehicle: VehicleType,
    *,
    workday_s: float = 8 * 3600,
    load_unload_s: float = 1800,
    stream: str | None = None,
    peak_days: float | None = None,
    peak_share: float | None = None,
    working_days_yr: float = 300,
) -> HaulagePlan:
    """Full-truckload trips station → centre, one entry per station.

    Each station's annual load goes in ``ceil(load / capacity)`` loaded trips (equal loads), each
    a round trip of ``2 · distance`` and ``2 · time + load_unload_s``. A vehicle makes
    ``floor(workday / trip duration)`` trips a day (a trip longer than a day takes
    ``ceil(duration / workday)`` days).

    Parameters
    ----------
    load_t_yr
        (m,) tonnes per year leaving each station.
    distance_m, time_s
        (m,) one-way road distance (m) and travel time (s) station → its centre.
    vehicle
        The haulage vehicle; its capacity is min(payload, volume × bulk density of ``stream``).
    workday_s, load_unload_s
        Working day (s); loading at the station plus unloading at the centre per trip (s).
    peak_days, peak_share
        ``peak_share`` of the annual load moves in ``peak_days`` days (both or neither); sets
        ``fleet_peak``. Without them the window is ``working_days_yr`` days.

    Returns
    -------
    HaulagePlan
        Trips, load per trip, trip distance/duration, t·km, vehicle-km, vehicle-days, peak fleet,
        cost (CNY/yr) and CO2 (kg/yr) per station.
    """
    q = np.atleast_1d(np.asarray(load_t_yr, dtype=float))
    d = np.atleast_1d(np.asarray(distance_m, dtype=float))
    t = np.atleast_1d(np.asarray(time_s, dtype=float))
    if not (q.shape == d.shape == t.shape):
        msg = f"load_t_yr, distance_m and time_s must have one shape, got {q.shape}, {d.shape}, {t.shape}"
        raise InputError(msg, field="load_t_yr")
    if np.any(q < 0) or np.any(~np.isfinite(q)):
        msg = "load_t_yr must be finite and non-negative"
        raise InputError(msg, field="load_t_yr")
    moving = q > 0
    if np.any(moving & ~(np.isfinite(d) & np.isfinite(t))):
        bad = np.flatnonzero(moving & ~(np.isfinite(d) & np.isfinite(t))).tolist()
        msg = f"stations {bad} have load but no road to their centre"
        raise InputError(msg, field="distance_m")
    if (peak_days is None) != (peak_share is None):
        msg = "give both peak_days and peak_share, or neither"
        raise InputError(msg, field="peak_days")
    cap = vehicle.capacity_t(stream)
    trips = np.where(moving, np.ceil(q / cap - 1e-9), 0).astype(np.int64)
    per_trip = np.divide(q, trips, out=np.zeros_like(q), where=trips > 0)
    d0 = np.where(moving, d, 0.0)
    t0 = np.where(moving, t, 0.0)
    trip_m = 2.0 * d0
    trip_s = np.where(moving, 2.0 * t0 + load_unload_s, 0.0)
    per_day = np.floor(workday_s / np.maximum(trip_s, 1e-9))
    days_per_trip = np.ceil(trip_s / workday_s)
    vdays = np.where(per_day >= 1, np.ceil(trips / np.maximum(per_day, 1)), trips * days_per_trip)
    vdays = vdays.astype(np.int64)
    vkm = trips * trip_m / 1000.0
    t_km = q * d0 / 1000.0
    share, window = (peak_share, peak_days) if peak_days is not None else (1.0, working_days_yr)
    fleet = np.where(trips > 0, np.ceil(vdays * share / window - 1e-9), 0).astype(np.int64)
    fleet = np.where(trips > 0, np.maximum(fleet, 1), 0)
    cost = vkm * vehicle.cost_cny_per_km + vdays * vehicle.cost_cny_per_day
    co2 = vkm * vehicle.co2_kg_per_km
    return HaulagePlan(vehicle=vehicle.name, trips=trips, load_per_trip_t=per_trip,
                       trip_distance_m=trip_m, trip_duration_s=trip_s, t_km=t_km,
                       vehicle_km=vkm, vehicle_days=vdays, fleet_peak=fleet, cost_cny=cost,
                       co2_kg=co2)
