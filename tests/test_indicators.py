"""Indicators per stream, township and county; target presets of the seed plans."""

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netplan.evaluate import evaluate
from netplan.layout import Layout
from netplan.scenario import load_scenario
from netplan.streams import load_coefficients
from netplan.supply import estimate

TIER = ('{ candidates = ["village", "agro_store", "township_seat", "recycling_centre"], radius_m = 3000, '
        'capacity_t = 100, capex_cny = 10000, lifetime_yr = 10, opex_share = 0.1, rate_cny_per_tkm = 2 }')


def _scenario(tmp_path, targets='[targets]\nfilm.village_coverage = 1.0\nfilm.township_coverage = 1.0\n',
              baseline=0.0):
    (tmp_path / "county").mkdir(exist_ok=True)
    p = tmp_path / "s.toml"
    p.write_text(f'name = "t"\ncounty = "county"\n{targets}[streams.film]\ncapture_rate = 1.0\n'
                 f'baseline_use_share = {baseline}\nvillage_point = {TIER}\ntownship_station = {TIER}\n'
                 f'county_center = {TIER}\n', encoding="utf-8")
    return load_scenario(p)


def _layout(points):
    """S1 as the only point; ``points`` maps demand -> (point, dist_m)."""
    sites = pd.DataFrame([
        {"site_id": "S1", "stream": "film", "tier": "village_point", "status": "existing",
         "capacity_t": 100.0, "parent_id": "T411723101"},
        {"site_id": "T411723101", "stream": "film", "tier": "township_station", "status": "new",
         "capacity_t": 100.0, "parent_id": "S3"},
        {"site_id": "S3", "stream": "film", "tier": "county_center", "status": "existing",
         "capacity_t": 100.0, "parent_id": None},
    ])
    dp = pd.DataFrame([{"stream": "film", "demand_id": d, "point_id": p, "dist_m": m}
                       for d, (p, m) in points.items()])
    return Layout(sites=sites, demand_point=dp, source="hand-made")


ALL = {"v1": ("S1", 1000.0), "v2": ("S1", 500.0), "v3": ("S1", 2000.0)}


def test_township_rows_by_hand(tmp_path, county):
    """Township 甲镇 (v1–v3, farming) is fully covered; 乙街道 makes no film and gets no row."""
    sc = _scenario(tmp_path)
    sup = estimate(county, load_coefficients(), sc.stream_ids)
    ev = evaluate(sc, county, sup, _layout({"v1": ALL["v1"], "v2": ALL["v2"]}))
    t = ev.townships.set_index(["township_code", "indicator"])
    assert set(ev.townships["township_code"]) == {"411723101"}
    assert t.loc[("411723101", "village_coverage"), "value"] == pytest.approx(2 / 3, abs=1e-6)
    assert t.loc[("411723101", "township_coverage"), "value"] == 1.0
    assert bool(t.loc[("411723101", "village_coverage"), "met"]) is False
    assert t.loc[("411723101", "generation_t_yr"), "value"] == pytest.approx(1.22, abs=1e-3)
    assert t.loc[("411723101", "served_t_yr"), "value"] == pytest.approx(0.918, abs=1e-3)


def test_township_coverage_counts_only_farming_townships(tmp_path, county):
    """With no village covered, film's township coverage is 0 of 1 farming township."""
    sc = _scenario(tmp_path)
    sup = estimate(county, load_coefficients(), sc.stream_ids)
    ev = evaluate(sc, county, sup, _layout({"v1": (None, float("nan"))}))
    k = ev.kpis.set_index(["stream", "indicator"])
    assert k.loc[("film", "township_coverage"), "value"] == 0.0
    assert k.loc[("all", "targets_missed"), "value"] == 2


def test_county_rows_sum_the_streams(tmp_path, county):
    """County rows: costs summed over streams, physical sites counted once, targets met counted."""
    sc = _scenario(tmp_path)
    sup = estimate(county, load_coefficients(), sc.stream_ids)
    ev = evaluate(sc, county, sup, _layout(ALL))
    k = ev.kpis.set_index(["stream", "indicator"])["value"]
    assert k[("all", "total_cost_cny_yr")] == pytest.approx(k[("film", "total_cost_cny_yr")], abs=1e-3)
    assert k[("all", "sites_village_point")] == 1
    assert k[("all", "targets_met")] == 2 and k[("all", "targets_missed")] == 0
    # fixed: 3 sites × (10000 × crf(6 %, 10 yr) [× 0.2 if existing] + 1000 opex)
    crf = 0.1358679582
    fixed = 10000 * crf * (0.2 + 1 + 0.2) + 3 * 1000
    assert k[("film", "fixed_cost_cny_yr")] == pytest.approx(fixed, abs=0.01)
    assert k[("film", "cost_cny_per_t")] == pytest.approx(k[("film", "total_cost_cny_yr")] / 1.098, rel=1e-3)


def test_utilisation_adds_the_baseline(tmp_path, county):
    """Utilisation = (served + baseline × the network's uncollected tonnage) / film used:
    (0.918 + 0.5 × 0.18) / 1.22."""
    sc = _scenario(tmp_path, baseline=0.5)
    sup = estimate(county, load_coefficients(), sc.stream_ids)
    ev = evaluate(sc, county, sup, _layout({"v1": ALL["v1"], "v2": ALL["v2"]}))
    k = ev.kpis.set_index(["stream", "indicator"])["value"]
    assert k[("film", "utilisation_rate")] == pytest.approx((0.918 + 0.5 * 0.18) / 1.22, abs=1e-6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from([None, 300.0, 2500.0, 5000.0]), min_size=3, max_size=3),
       st.floats(0.01, 5.0))
def test_indicator_bounds(tmp_path_factory, county, dists, cap):
    """Rates stay in [0, 1]; recovery ≤ tonnage coverage (capture 1); served ≤ generated (property).
    The county fixture is read-only here, so sharing it across examples is safe."""
    sc = _scenario(tmp_path_factory.mktemp("p"))
    sup = estimate(county, load_coefficients(), sc.stream_ids)
    pts = {d: ("S1" if m is not None else None, m if m is not None else float("nan"))
           for d, m in zip(("v1", "v2", "v3"), dists, strict=True)}
    lay = _layout(pts)
    lay.sites.loc[0, "capacity_t"] = cap
    k = evaluate(sc, county, sup, lay).kpis.set_index(["stream", "indicator"])["value"]
    for ind in ("village_coverage", "tonnage_coverage", "recovery_rate", "township_coverage"):
        assert 0.0 <= k[("film", ind)] <= 1.0
    assert k[("film", "recovery_rate")] <= k[("film", "tonnage_coverage")] + 1e-9
    assert k[("film", "served_t_yr")] <= k[("film", "generation_t_yr")] + 5e-4
    assert k[("film", "served_t_yr")] <= cap + 5e-4  # kpis.csv rounds tonnage to 1 kg


@pytest.mark.parametrize("name,stream,indicator,value", [
    ("zhumadian-2027", "straw", "village_coverage", 0.82),
    ("zhumadian-2027", "pesticide_packaging", "recovery_rate", 0.80),
    ("pingdingshan-2027", "manure", "utilisation_rate", 0.85),
    ("pingdingshan-2027", "pesticide_packaging", "villages_with_point", 1.0),
    ("anyang-2027", "straw", "villages_with_point", 1.0),
    ("anyang-2027", "film", "recovery_rate", 0.96),
    ("anyang-2027", "pesticide_packaging", "recovery_rate", 0.92),
    ("xingtai-2025", "recyclables", "village_coverage", 1.0),
    ("jianan-2020", "film", "township_coverage", 1.0),
    ("jianan-2020", "manure", "utilisation_rate", 0.75),
])
def test_target_presets_by_name(tmp_path, name, stream, indicator, value):
    """`targets = "<preset>"` loads the seed plan's value, as quoted in data/targets.toml."""
    sc = _scenario(tmp_path, targets=f'targets = "{name}"\n')
    assert sc.targets[(stream, indicator)] == pytest.approx(value)


def test_preset_with_overrides(tmp_path):
    """A [targets] table with preset = … takes the preset and lets its own lines win."""
    sc = _scenario(tmp_path, targets='[targets]\npreset = "anyang-2027"\nfilm.recovery_rate = 0.5\n')
    assert sc.targets[("film", "recovery_rate")] == 0.5
    assert sc.targets[("straw", "utilisation_rate")] == 0.95
