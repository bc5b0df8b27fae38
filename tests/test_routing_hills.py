"""Collection rounds on road matrices of the hilly demo county (Lushan) and the plain one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from netplan.routing import load_vehicles, plan_haulage, plan_rounds

FIX = Path(__file__).parent / "data" / "routing_hills" / "hills_plain.npz"
STRAW_T_PER_MU = 0.45 * 0.5  # test value: ~0.45 t straw per mu and crop, half collected off-field


def _township(z, key: str) -> dict[str, np.ndarray]:
    return {k: z[f"{key}_{k}"] for k in ("lonlat", "crop_mu", "distance_m", "time_tractor_s",
                                         "time_light_truck_s")}


def _crow_m(lonlat: np.ndarray) -> np.ndarray:
    from pyproj import Transformer

    x, y = Transformer.from_crs(4326, 4547, always_xy=True).transform(lonlat[:, 0], lonlat[:, 1])
    return np.hypot(x[:, None] - x[None], y[:, None] - y[None])


def test_hill_roads_are_slower_for_trucks():
    """On the hilly county's western township a light truck averages a lower speed over the
    village-to-village road paths than on the plain county's township (hilly speed factor)."""
    z = np.load(FIX)
    speed = {}
    for key in ("hills", "plain"):
        t = _township(z, key)
        m = t["distance_m"] > 500
        speed[key] = float(np.median(t["distance_m"][m] / t["time_light_truck_s"][m] * 3.6))
    assert speed["hills"] < 0.95 * speed["plain"]


def test_straw_rounds_in_the_western_hills():
    """Straw rounds by tractor from 背孜乡's seat over its 19 grain villages (peak: 55 % of 12
    rounds in 21 days): every village's load is collected, every trip fits the working day and
    is at least as long as the road out-and-back to its farthest stop, road distances are never
    shorter than straight lines, and the peak fleet follows vehicle-days × 6.6 / 21."""
    t = _township(np.load(FIX), "hills")
    d, ts = t["distance_m"], t["time_tractor_s"]
    assert np.isfinite(d).all()
    assert (d + 1.0 >= _crow_m(t["lonlat"])).all()
    load = t["crop_mu"] * STRAW_T_PER_MU / 12 * 2  # one of 12 rounds, 2 harvests' straw
    tractor = load_vehicles()["tractor"]
    plan = plan_rounds(load, d, ts, [tractor], rounds_per_year=12, stream="straw",
                       peak_days=21, peak_share=0.55, service_s=1200, time_limit_s=3)
    got = np.zeros(len(load) + 1)
    for tr in plan.trips:
        assert tr.duration_s <= 8 * 3600 + 1e-6
        assert tr.load_t <= tractor.capacity_t("straw") + 1e-9
        assert tr.distance_m + 1e-6 >= max(d[0, i] + d[i, 0] for i in tr.stops)
        for i, q in zip(tr.stops, tr.stop_load_t, strict=True):
            got[i] += q
    assert got[1:] == pytest.approx(load)
    vd = plan.vehicle_days["tractor"]
    assert plan.fleet_peak["tractor"] == int(np.ceil(vd * 12 * 0.55 / 21 - 1e-9))
    assert plan.annual_km == pytest.approx(plan.round_distance_m / 1000 * 12)


def test_mixed_fleet_for_film_in_the_hills():
    """Film from the same villages with tricycles and light trucks: the plan stays feasible and
    the light truck (1.8 t of film per trip) carries the bulk; haulage of the year's film to a
    centre 40 km away is full truckloads."""
    t = _township(np.load(FIX), "hills")
    v = load_vehicles()
    load = t["crop_mu"] * 0.004  # ~4 kg film per mu and round: a test value
    times = {"light_truck": t["time_light_truck_s"], "tricycle": t["time_light_truck_s"] * 1.6}
    plan = plan_rounds(load, t["distance_m"], times, [v["tricycle"], v["light_truck"]],
                       rounds_per_year=4, stream="film", time_limit_s=3)
    carried = {"tricycle": 0.0, "light_truck": 0.0}
    for tr in plan.trips:
        carried[tr.vehicle] += tr.load_t
    assert sum(carried.values()) == pytest.approx(load.sum())
    assert carried["light_truck"] > carried["tricycle"]
    h = plan_haulage(np.array([load.sum() * 4]), np.array([40_000.0]), np.array([3600.0]),
                     v["light_truck"], stream="film")
    assert h.trips[0] == int(np.ceil(load.sum() * 4 / 1.8 - 1e-9))
