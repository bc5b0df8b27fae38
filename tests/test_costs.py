"""Costs and CO2 checked by hand: capital recovery, opex, sharing, t·km, trips, vehicle-days, fleet."""

import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from netplan.costs import (
    VehicleCost,
    annualised_capex_cny,
    co2_kg,
    link_transport,
    load_vehicle_costs,
    route_co2_kg,
    site_costs,
)
from netplan.errors import InputError
from netplan.scenario import load_scenario

TRUCK = VehicleCost(name="t", payload_t=2.0, speed_kmh=40.0, fuel_l_per_100km=10.0, co2_kg_per_l=2.68)


def test_capital_recovery_by_hand():
    """100 000 CNY over 10 yr at 6 % is 13 586.80 CNY/yr; at 0 % it is straight-line 10 000."""
    assert annualised_capex_cny(100_000, 0.06, 10) == pytest.approx(13_586.80, abs=0.01)
    assert annualised_capex_cny(100_000, 0.0, 10) == pytest.approx(10_000)


@given(st.floats(0.001, 0.3), st.floats(1, 50), st.floats(1, 1e7))
def test_annualised_capex_repays_the_loan(rate, years, capex):
    """The annuity's present value over the lifetime equals the capital (property)."""
    a = annualised_capex_cny(capex, rate, years)
    pv = a * (1 - (1 + rate) ** -years) / rate
    assert pv == pytest.approx(capex, rel=1e-9)
    assert a >= capex / years - 1e-6


def test_link_transport_by_hand():
    """3 t over 10 km and 1 t over 5 km with a 2 t truck: 35 t·km, 2 + 1 trips, 50 vehicle-km, CO2."""
    r = link_transport([3.0, 1.0, 0.0], [10_000.0, 5_000.0, 7_000.0], rate_cny_per_tkm=2.0,
                       vehicle=TRUCK, workday_h=8.0, peak_factor=1.0)
    assert r["tkm_yr"] == pytest.approx(35.0)
    assert r["cost_cny_yr"] == pytest.approx(70.0)
    assert r["trips_yr"] == 3
    assert r["vehicle_km_yr"] == pytest.approx(2 * (2 * 10 + 1 * 5))
    # 50 km at 40 km/h = 1.25 h, plus 3 trips × 0.5 h handling = 2.75 h = 0.34375 vehicle-days
    assert r["vehicle_days_yr"] == pytest.approx(2.75 / 8)
    assert r["fleet"] == 1
    assert r["co2_kg_yr"] == pytest.approx(50 * 0.10 * 2.68)
    assert co2_kg(100, TRUCK) == pytest.approx(26.8)


def test_fleet_follows_the_peak():
    """730 vehicle-days a year need 2 vehicles on an even year and 20 when it all comes in 1/10 of it."""
    m = [2.0] * 1
    big = link_transport(m, [1.0], rate_cny_per_tkm=1, vehicle=TRUCK, workday_h=8, peak_factor=1)
    per_day = big["vehicle_days_yr"]
    n = 730 / per_day
    r = link_transport([2.0] * int(n), [1.0] * int(n), rate_cny_per_tkm=1, vehicle=TRUCK, workday_h=8,
                       peak_factor=1)
    assert r["fleet"] == math.ceil(r["vehicle_days_yr"] / 365)
    r10 = link_transport([2.0] * int(n), [1.0] * int(n), rate_cny_per_tkm=1, vehicle=TRUCK, workday_h=8,
                         peak_factor=10)
    assert r10["fleet"] == math.ceil(r["vehicle_days_yr"] / 365 * 10)


def _scenario(tmp_path, sharing=True):
    (tmp_path / "county").mkdir(exist_ok=True)
    tier = ('{ candidates = ["village"], capacity_t = 10, capex_cny = 100000, lifetime_yr = 10, '
            'opex_share = 0.1, rate_cny_per_tkm = 2 }')
    body = "".join(f"[streams.{s}]\nvillage_point = {tier}\ntownship_station = {tier}\n"
                   f"county_center = {tier}\n" for s in ("film", "pesticide_packaging"))
    share = '[sharing]\nvillage_point = [["film", "pesticide_packaging"]]\n' if sharing else ""
    p = tmp_path / "s.toml"
    p.write_text(f'name = "c"\ncounty = "county"\n[finance]\ndiscount_rate = 0.06\n{body}{share}',
                 encoding="utf-8")
    return load_scenario(p)


def test_site_costs_existing_and_shared(tmp_path):
    """Existing sites pay 20 % of capex; two streams at one shared point pay one fixed cost."""
    sites = pd.DataFrame([
        {"site_id": "P", "stream": "film", "tier": "village_point", "status": "new"},
        {"site_id": "P", "stream": "pesticide_packaging", "tier": "village_point", "status": "new"},
        {"site_id": "Q", "stream": "film", "tier": "township_station", "status": "existing"},
    ])
    sc = site_costs(_scenario(tmp_path), sites).set_index(["site_id", "stream"])
    one = 13_586.80 + 10_000
    assert sc.loc[("Q", "film"), "capex_cny"] == pytest.approx(20_000)
    assert sc.loc[("Q", "film"), "fixed_cny_yr"] == pytest.approx(13_586.80 * 0.2 + 10_000, abs=0.01)
    assert sc.loc["P", "fixed_cny_yr"].sum() == pytest.approx(one, abs=0.01)
    (tmp_path / "x").mkdir()
    apart = site_costs(_scenario(tmp_path / "x", sharing=False), sites).set_index(["site_id", "stream"])
    assert apart.loc["P", "fixed_cny_yr"].sum() == pytest.approx(2 * one, abs=0.01)


def test_vehicle_table_reader(tmp_path):
    """Vehicles come from a TOML table with one CO2 factor for the file; a missing file is an InputError."""
    p = tmp_path / "v.toml"
    p.write_text('diesel_co2_kg_per_l = 2.68\n[vehicles.light_truck]\npayload_t = 2\nspeed_kmh = 40\n'
                 'fuel_l_per_100km = 12\ncost_cny_per_km = 1.5\n', encoding="utf-8")
    v = load_vehicle_costs(p)["light_truck"]
    assert (v.payload_t, v.speed_kmh, v.fuel_l_per_100km, v.co2_kg_per_l) == (2, 40, 12, 2.68)
    with pytest.raises(InputError):
        load_vehicle_costs(tmp_path / "none.toml")


def test_route_co2():
    """A 10 km round driven 52 times a year by a 10 L/100 km truck emits 520 km × 0.268 kg."""
    routes = pd.DataFrame({"distance_m": [10_000.0], "trips_per_year": [52.0], "vehicle": ["t"]})
    assert route_co2_kg(routes, {"t": TRUCK}).iloc[0] == pytest.approx(520 * 0.268)
