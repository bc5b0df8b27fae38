"""Collection rounds (multi-trip, mixed fleet, peak fleet), haulage and vehicle types."""

from __future__ import annotations

import tomllib
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netplan._paths import data_file
from netplan.errors import InfeasibleError, InputError
from netplan.routing import load_vehicles, plan_haulage, plan_rounds, vehicles_for_stream
from netplan.routing.vehicles import VehicleType


def _veh(name: str, cap: float, per_km: float = 1.0, per_day: float = 80.0) -> VehicleType:
    return VehicleType(name=name, payload_t=cap, volume_m3=100.0, rural_speed_kmh=36.0,
                       cost_cny_per_km=per_km,
                       cost_cny_per_day=per_day, fuel_l_per_100km=10.0)


def _line(x_m: list[float], speed_m_s: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    x = np.array([0.0, *x_m])
    d = np.abs(x[:, None] - x[None, :])
    return d, d / speed_m_s


def test_vehicle_file_has_the_scenario_vehicles_and_a_derived_co2_factor():
    """data/vehicles.toml defines every vehicle the demo scenario names; the diesel factor is
    IPCC 74,100 kg/TJ × 43.0 TJ/Gg × 0.84 kg/L; capacity is volume-bound for light loads."""
    v = load_vehicles()
    assert {"tractor", "flatbed", "light_truck", "manure_truck", "truck"} <= set(v)
    # same names as the road engine's speed table, so travel times exist for every vehicle
    speeds = tomllib.loads(data_file("speeds.toml").read_text(encoding="utf-8"))
    assert set(v) <= set(speeds["vehicles"])
    assert v["light_truck"].co2_kg_per_l == pytest.approx(74_100 * 43.0e-6 * 0.84, abs=1e-3)
    lt = v["light_truck"]  # 2 t payload, 18 m3
    assert lt.capacity_t("straw") == pytest.approx(2.0)       # 18 × 0.15 = 2.7 > 2
    assert lt.capacity_t("film") == pytest.approx(1.8)        # 18 × 0.10
    assert lt.capacity_t("pesticide_packaging") == pytest.approx(0.9)  # 18 × 0.05
    assert lt.co2_kg_per_km == pytest.approx(0.12 * 2.676)
    assert [x.name for x in vehicles_for_stream("straw")] == ["tractor", "flatbed"]


def test_vehicle_file_errors_name_the_vehicle(tmp_path):
    """A vehicle with a missing field or zero payload is an InputError naming it."""
    p = tmp_path / "v.toml"
    p.write_text("[vehicles.cart]\npayload_t = 0\n")
    with pytest.raises(InputError, match="vehicles.cart"):
        load_vehicles(p)


def test_round_by_hand_with_oversize_stop():
    """Stops at 1, 2, 3 km with 1, 1, 5 t and a 2 t truck: stop 3 gets two full direct trips
    (2 × 6 km) and its last tonne shares a trip with stop 2 (6 km); stop 1 alone (2 km).
    t·km: direct 2 t × 3 km each, the shared trip 5 or 7 by direction, stop 1 1 t × 1 km."""
    d, t = _line([1000, 2000, 3000])
    plan = plan_rounds(np.array([1.0, 1.0, 5.0]), d, t, [_veh("truck2", 2.0)], service_s=300,
                       unload_s=900, rounds_per_year=10)
    stops = sorted(tuple(sorted(tr.stops)) for tr in plan.trips)
    assert stops == [(1,), (2, 3), (3,), (3,)]
    shared = next(tr for tr in plan.trips if len(tr.stops) == 2)
    # either direction has the same length; t·km depends on it: 3→2 gives 1·1 + 2·2 = 5,
    # 2→3 gives 1·1 + 2·3 = 7
    shared_tkm = 5.0 if shared.stops == [3, 2] else 7.0
    assert shared.t_km == pytest.approx(shared_tkm)
    assert sum(tr.load_t for tr in plan.trips) == pytest.approx(7.0)
    assert plan.round_distance_m == pytest.approx(2000 + 6000 * 3)
    assert plan.annual_km == pytest.approx(20 * 10)
    assert plan.annual_t_km == pytest.approx((6 + 6 + shared_tkm + 1) * 10)
    # durations: travel at 10 m/s + 300 s per stop + 900 s unloading
    direct = [tr for tr in plan.trips if tr.stops == [3]]
    assert all(tr.duration_s == pytest.approx(600 + 300 + 900) for tr in direct)
    # all four trips (1800 + 1800 + 2100 + 1400 s) fit one 8 h day
    assert plan.vehicle_days == {"truck2": 1}
    assert plan.trips_per_vehicle_day == {"truck2": 4.0}
    assert plan.cost_cny == pytest.approx(10 * (20 * 1.0 + 1 * 80.0))
    groups = {tuple(t.stops): c for t, c in plan.trip_groups()}
    assert groups[(3,)] == 2 and sum(groups.values()) == 4
    assert plan.co2_kg == pytest.approx(200 * 0.1 * 2.676)


def test_several_trips_a_day_and_peak_fleet():
    """Ten full loads at 9 km (30 min each way at 5 m/s, 10 min loading, 20 min unloading:
    90 min a trip) make 5 trips per 8 h day, 2 vehicle-days per round; 12 rounds a year with
    half of them in a 3-day peak need ceil(2 × 6 / 3) = 4 vehicles, without a peak
    ceil(2 × 12 / 300) = 1."""
    d, t = _line([9000] * 10, speed_m_s=5.0)
    kw = dict(service_s=600, unload_s=1200, rounds_per_year=12)
    v = [_veh("v", 1.0)]
    plan = plan_rounds(np.ones(10), d, t, v, peak_days=3, peak_share=0.5, **kw)
    assert len(plan.trips) == 10
    assert plan.vehicle_days == {"v": 2}
    assert plan.trips_per_vehicle_day == {"v": 5.0}
    assert plan.fleet_peak == {"v": 4}
    assert sorted({tr.day for tr in plan.trips}) == [0, 1]
    flat = plan_rounds(np.ones(10), d, t, v, **kw)
    assert flat.fleet_peak == {"v": 1}


def test_mixed_fleet_picks_the_cheaper_type_per_trip():
    """A small cheap vehicle (1 t, 0.5 CNY/km) and a big one (10 t, 3 CNY/km): two 0.4 t stops
    just behind the station go by the small one (a detour for the big one would cost
    3.6 CNY + 600 s of its time, the small trip 0.6 CNY + ~1600 s of cheaper time); a 6 t stop
    5 km out goes by the big one (one trip instead of six)."""
    d, t = _line([-500, -600, 5000])
    small, big = _veh("small", 1.0, 0.5, 80), _veh("big", 10.0, 3.0, 200)
    plan = plan_rounds(np.array([0.4, 0.4, 6.0]), d, t, [small, big], rounds_per_year=4,
                       service_s=300)
    by_stop = {tuple(tr.stops): tr.vehicle for tr in plan.trips}
    assert by_stop.get((3,)) == "big"
    assert all(v == "small" for s, v in by_stop.items() if 3 not in s)
    assert sum(1 for tr in plan.trips if tr.vehicle == "big") == 1


def test_per_vehicle_travel_times():
    """Travel times may differ by vehicle type (a mapping name → matrix): a slow tractor that
    cannot reach a 20 km stop and return within the day leaves it to the truck."""
    d, t = _line([20_000])
    slow, fast = _veh("tractor", 5.0, 0.1, 10), _veh("truck", 5.0, 3.0, 500)
    times = {"tractor": d / 1.0, "truck": d / 15.0}
    plan = plan_rounds(np.array([2.0]), d, times, [slow, fast], rounds_per_year=1)
    assert [tr.vehicle for tr in plan.trips] == ["truck"]


def test_stop_out_of_reach_is_infeasible():
    """A stop whose out-and-back trip cannot fit in a working day is named in InfeasibleError."""
    d, t = _line([1000, 200_000], speed_m_s=5.0)
    with pytest.raises(InfeasibleError) as e:
        plan_rounds(np.array([1.0, 1.0]), d, t, [_veh("v", 2.0)], rounds_per_year=4)
    assert [u.index for u in e.value.unservable] == [2]


def test_inconsistent_inputs_raise_input_error():
    """Wrong matrix shape or a peak window without its share are input errors."""
    d, t = _line([1000])
    with pytest.raises(InputError):
        plan_rounds(np.array([1.0, 1.0]), d, t, [_veh("v", 2.0)], rounds_per_year=4)
    with pytest.raises(InputError, match="peak"):
        plan_rounds(np.array([1.0]), d, t, [_veh("v", 2.0)], rounds_per_year=4, peak_days=5)


def test_zero_load_stops_are_skipped():
    """Stops with no load are not visited; with no load at all there are no trips."""
    d, t = _line([1000, 2000])
    plan = plan_rounds(np.array([0.0, 1.0]), d, t, [_veh("v", 2.0)], rounds_per_year=4)
    assert [tr.stops for tr in plan.trips] == [[2]]
    empty = plan_rounds(np.zeros(2), d, t, [_veh("v", 2.0)], rounds_per_year=4)
    assert empty.trips == [] and empty.annual_km == 0 and empty.fleet_peak == {}


def test_same_seed_same_plan():
    """Same inputs and seed give the same trips (the iteration cap makes PyVRP reproducible)."""
    rng = np.random.default_rng(2)
    xy = np.vstack([[0, 0], rng.uniform(-8000, 8000, (15, 2))])
    d = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    load = rng.uniform(0.2, 1.5, 15)
    a = plan_rounds(load, d, d / 8, [_veh("v", 3.0)], rounds_per_year=6, seed=1)
    b = plan_rounds(load, d, d / 8, [_veh("v", 3.0)], rounds_per_year=6, seed=1)
    assert a.trips == b.trips


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(1, 8), two_types=st.booleans())
def test_rounds_collect_every_load_within_limits(seed, n, two_types):
    """Any small station: each stop's load is collected exactly once in total, no trip exceeds
    its vehicle's capacity or the day, and no vehicle-day holds more than a working day."""
    rng = np.random.default_rng(seed)
    xy = np.vstack([[0, 0], rng.uniform(-10_000, 10_000, (n, 2))])
    d = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    load = rng.uniform(0.0, 6.0, n)
    vs = [_veh("a", 2.0)] + ([replace(_veh("b", 4.5, 2.0, 150))] if two_types else [])
    plan = plan_rounds(load, d, d / 8.0, vs, service_s=300, rounds_per_year=12,
                       time_limit_s=0.3, seed=seed)
    cap = {v.name: v.payload_t for v in vs}
    got = np.zeros(n + 1)
    for tr in plan.trips:
        assert tr.load_t <= cap[tr.vehicle] + 1e-9
        assert tr.load_t == pytest.approx(sum(tr.stop_load_t))
        assert tr.duration_s <= 8 * 3600 + 1e-6
        for i, q in zip(tr.stops, tr.stop_load_t, strict=True):
            got[i] += q
    assert got[1:] == pytest.approx(load, abs=1e-9)
    total = sum(tr.load_t for tr in plan.trips)
    assert total == pytest.approx(load.sum(), rel=1e-9, abs=1e-9)
    visits = np.zeros(n + 1, dtype=int)
    for tr in plan.trips:
        for i in tr.stops:
            visits[i] += 1
    assert all(visits[i + 1] >= 1 for i in range(n) if load[i] > 0)
    assert all(visits[i + 1] == 0 for i in range(n) if load[i] == 0)
    for name in plan.vehicle_days:
        for day in range(plan.vehicle_days[name]):
            used = sum(tr.duration_s for tr in plan.trips if tr.vehicle == name and tr.day == day)
            assert used <= 8 * 3600 + 1e-6


def test_haulage_by_hand():
    """100 t of straw over 10 km (15 min) on a 12.75 t flatbed (85 m³ × 0.15 t/m³): 8 trips of
    12.5 t, 20 km and 1 h each (30 min loading/unloading), all in one day; 1000 t·km."""
    fb = load_vehicles()["flatbed"]
    h = plan_haulage(np.array([100.0, 0.0]), np.array([10_000.0, 3000.0]),
                     np.array([900.0, 300.0]), fb, stream="straw")
    assert h.trips.tolist() == [8, 0]
    assert h.load_per_trip_t[0] == pytest.approx(12.5)
    assert h.trip_distance_m[0] == 20_000 and h.trip_duration_s[0] == 3600
    assert h.t_km[0] == pytest.approx(1000.0) and h.vehicle_km[0] == pytest.approx(160.0)
    assert h.vehicle_days.tolist() == [1, 0]
    assert h.cost_cny[0] == pytest.approx(160 * fb.cost_cny_per_km + fb.cost_cny_per_day)
    assert h.co2_kg[1] == 0 and h.fleet_peak.tolist() == [1, 0]


def test_haulage_long_trips_and_peak_fleet():
    """A 5 h one-way haul takes two days per trip; 30 trips in a 10-day peak need 6 vehicles."""
    v = _veh("v", 10.0)
    h = plan_haulage(np.array([300.0]), np.array([180_000.0]), np.array([5 * 3600.0]), v,
                     peak_days=10, peak_share=1.0)
    assert h.trips[0] == 30 and h.vehicle_days[0] == 60 and h.fleet_peak[0] == 6
    with pytest.raises(InputError):
        plan_haulage(np.array([1.0]), np.array([np.inf]), np.array([1.0]), v)
