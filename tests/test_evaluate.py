"""Indicators of a hand-made layout on the tiny county, checked by hand."""

import pandas as pd
import pytest

from netplan.evaluate import evaluate
from netplan.layout import Layout
from netplan.scenario import load_scenario
from netplan.streams import load_coefficients
from netplan.supply import estimate


def _scenario(tmp_path, capacity_t=100.0, radius_m=3000):
    (tmp_path / "county").mkdir()
    tier = (f'{{ candidates = ["village", "agro_store", "township_seat", "recycling_centre"], '
            f'radius_m = {radius_m}, capacity_t = {capacity_t}, capex_cny = 10000, lifetime_yr = 10, '
            f'opex_share = 0.1, rate_cny_per_tkm = 2 }}')
    text = (f'name = "t"\ncounty = "county"\n[targets]\nfilm.village_coverage = 1.0\n'
            f'film.recovery_rate = 0.5\n[streams.film]\ncapture_rate = 1.0\n'
            f'village_point = {tier}\ntownship_station = {tier}\ncounty_center = {tier}\n')
    p = tmp_path / "s.toml"
    p.write_text(text, encoding="utf-8")
    return load_scenario(p)


def _layout(cap_point=100.0):
    sites = pd.DataFrame([
        {"site_id": "S1", "stream": "film", "tier": "village_point", "status": "existing",
         "capacity_t": cap_point, "parent_id": "T411723101"},
        {"site_id": "T411723101", "stream": "film", "tier": "township_station", "status": "new",
         "capacity_t": 100.0, "parent_id": "S3"},
        {"site_id": "S3", "stream": "film", "tier": "county_center", "status": "existing",
         "capacity_t": 100.0, "parent_id": None},
    ])
    dp = pd.DataFrame([
        {"stream": "film", "demand_id": "v1", "point_id": "S1", "dist_m": 1000.0},
        {"stream": "film", "demand_id": "v2", "point_id": "S1", "dist_m": 500.0},
        {"stream": "film", "demand_id": "v3", "point_id": None, "dist_m": float("nan")},
    ])
    return Layout(sites=sites, demand_point=dp, source="hand-made")


def _kpi(ev, ind):
    k = ev.kpis.set_index(["stream", "indicator"])
    return k.loc[("film", ind)]


def test_coverage_and_recovery_by_hand(tmp_path, county):
    """v1 (0.4 t used) and v2 (0.5 t greenhouse + 0.12 t spring-peanut mulch) reach S1 within 3 km;
    v3 (0.2 t) is unserved; v4 makes no film. The network takes the recoverable 90 % of the film used
    (0.36 + 0.558 t); recovery divides by the film used (1.22 t), the official 地膜回收率."""
    sc = _scenario(tmp_path)
    sup = estimate(county, load_coefficients(), sc.stream_ids)
    ev = evaluate(sc, county, sup, _layout())
    assert _kpi(ev, "village_coverage")["value"] == pytest.approx(2 / 3, abs=1e-6)
    assert _kpi(ev, "tonnage_coverage")["value"] == pytest.approx(0.918 / 1.098, abs=1e-6)
    assert _kpi(ev, "recovery_rate")["value"] == pytest.approx(0.918 / 1.22, abs=1e-6)
    assert bool(_kpi(ev, "recovery_rate")["met"]) is True
    assert bool(_kpi(ev, "village_coverage")["met"]) is False
    assert _kpi(ev, "township_coverage")["value"] == 1.0
    loads = ev.site_loads.set_index("site_id")["load_t"]
    assert loads["S1"] == pytest.approx(0.918) and loads["S3"] == pytest.approx(0.918)
    # transport into the point: 0.36 t × 1 km + 0.558 t × 0.5 km = 0.639 t·km at 2 CNY
    assert _kpi(ev, "transport_tkm_yr")["value"] == pytest.approx(0.639)
    assert _kpi(ev, "transport_cost_cny_yr")["value"] == pytest.approx(1.278)


def test_capacity_scales_what_is_served(tmp_path, county):
    """A point with 0.45 t/yr capacity receiving 0.918 t serves 0.45 t."""
    sc = _scenario(tmp_path)
    sup = estimate(county, load_coefficients(), sc.stream_ids)
    ev = evaluate(sc, county, sup, _layout(cap_point=0.45))
    assert _kpi(ev, "recovery_rate")["value"] == pytest.approx(0.45 / 1.22, abs=1e-6)
    assert _kpi(ev, "village_coverage")["value"] == pytest.approx(2 / 3, abs=1e-6)


def test_radius_and_broken_chain_uncover(tmp_path, county):
    """Beyond the radius, or behind a station with no open centre, a village is not covered."""
    sc = _scenario(tmp_path, radius_m=800)
    sup = estimate(county, load_coefficients(), sc.stream_ids)
    ev = evaluate(sc, county, sup, _layout())
    assert _kpi(ev, "village_coverage")["value"] == pytest.approx(1 / 3, abs=1e-6)
    lay = _layout()
    broken = Layout(sites=lay.sites[lay.sites["tier"] != "county_center"], demand_point=lay.demand_point)
    ev2 = evaluate(sc, county, sup, broken)
    assert _kpi(ev2, "village_coverage")["value"] == 0.0
    assert _kpi(ev2, "recovery_rate")["value"] == 0.0
