"""netplan risk on the tiny county: p_met by hand, the nominal draw equals evaluate(), determinism,
and the uncertainty file's checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_evaluate import _layout  # the same hand-made three-site film layout

from netplan.errors import InputError
from netplan.evaluate import evaluate
from netplan.layout import Layout
from netplan.risk import build_model, load_uncertainty, write_risk
from netplan.risk.sampling import nominal_samples, run_samples, summarise, tornado
from netplan.scenario import load_scenario
from netplan.streams import load_coefficients
from netplan.supply import estimate

TIER = ('{ candidates = ["village", "agro_store", "township_seat", "recycling_centre"], radius_m = 3000, '
        'capacity_t = 100, capex_cny = 10000, lifetime_yr = 10, opex_share = 0.1, rate_cny_per_tkm = 2 }')


def _scenario(tmp_path):
    (tmp_path / "county").mkdir(exist_ok=True)
    text = (f'name = "t"\ncounty = "county"\n[targets]\nfilm.village_coverage = 0.6\n'
            f'film.recovery_rate = 0.5\n[streams.film]\ncapture_rate = 0.8\n'
            f'village_point = {TIER}\ntownship_station = {TIER}\ncounty_center = {TIER}\n')
    p = tmp_path / "s.toml"
    p.write_text(text, encoding="utf-8")
    return load_scenario(p)


DIST = {("S1", "T411723101"): 2000.0, ("T411723101", "S3"): 5000.0}

UNC = """
["scenario.streams.film.capture_rate"]
dist = "uniform"
low = 0.6
high = 1.0
tag = "E"
source = "test"
["coefficients.film.mulch.0.kg_per_mu"]
dist = "triangular"
low = 2.0
high = 8.0
tag = "E"
source = "test"
"""


def _model(tmp_path, county, unc=UNC, cap_point=100.0):
    sc = _scenario(tmp_path)
    coef = load_coefficients(overrides=sc.coefficients)
    f = tmp_path / "unc.toml"
    f.write_text(unc, encoding="utf-8")
    params = load_uncertainty(sc, coef, f)
    sup = estimate(county, coef, sc.stream_ids)
    return build_model(sc, county, sup, _layout(cap_point), coef, params, DIST)


def test_nominal_draw_equals_evaluate(tmp_path, county):
    """At the nominal values every indicator and the transport cost equal evaluate()'s kpis."""
    m = _model(tmp_path, county)
    assert not m.exact and m.mismatch == ()
    nom = nominal_samples(m)
    ids = ["S1", "T411723101", "S3"]
    ss = pd.DataFrame(np.nan, index=ids, columns=ids)
    for (a, b), d in DIST.items():
        ss.at[a, b] = d
    k = evaluate(m.scenario, county, m.supply, m.layout, ss).kpis.set_index(["stream", "indicator"])["value"]
    for (sid, ind), v in nom.indicators.items():
        assert v[0] == pytest.approx(k[(sid, ind)], abs=1e-9), ind
    for fig in ("served_t_yr", "transport_cost_cny_yr", "total_cost_cny_yr"):
        assert nom.figures[("film", fig)][0] == pytest.approx(k[("film", fig)], abs=1e-3), fig


def test_p_met_by_hand(tmp_path, county):
    """film used: v1 = 100 mulched mu × m kg, v2 = 10 greenhouse mu × 50 kg + 200 peanut mu × 0.2
    × 3 kg (0.62 t), v3 = 50 mu × m (unserved); 90 % of it is recoverable: recovery = capture × 0.9
    × (0.1 m + 0.62) / (0.15 m + 0.62); met iff >= 0.5. Village coverage is 2/3 in every draw
    (target 0.6: always met)."""
    m = _model(tmp_path, county)
    s = run_samples(m, 400, seed=11)
    cap, mulch = s.values[:, 0], s.values[:, 1]
    rec = cap * 0.9 * (0.1 * mulch + 0.62) / (0.15 * mulch + 0.62)
    assert s.indicators[("film", "recovery_rate")] == pytest.approx(rec, abs=3e-6)  # estimate rounds t to 6 places
    risk = summarise(m, s, nominal_samples(m)).set_index(["kind", "stream", "indicator"])
    assert risk.loc[("indicator", "film", "recovery_rate"), "p_met"] == pytest.approx(
        float((rec >= 0.5).mean()))
    assert risk.loc[("indicator", "film", "village_coverage"), "p_met"] == 1.0
    assert risk.loc[("indicator", "film", "recovery_rate"), "p50"] == pytest.approx(
        np.quantile(rec, 0.5), abs=3e-6)


def test_p_met_analytic_one_number(tmp_path, county):
    """Capture ~ U(0.6, 1.0) alone at the nominal 4 kg/mu: recovery = capture × 0.9 × 1.02 / 1.22,
    met iff capture >= 0.6645, i.e. with probability 0.8388; 2000 draws (sd 0.008, 3 sd)."""
    unc = UNC.split('["coefficients')[0]
    m = _model(tmp_path, county, unc)
    s = run_samples(m, 2000, seed=3)
    risk = summarise(m, s, nominal_samples(m)).set_index(["kind", "stream", "indicator"])
    assert risk.loc[("indicator", "film", "recovery_rate"), "p_met"] == pytest.approx(
        (1.0 - 0.5 * 1.22 / (0.9 * 1.02)) / 0.4, abs=0.025)


def test_overloaded_point_share(tmp_path, county):
    """A point of 0.45 t/yr receives capture × 0.9 × (0.1 m + 0.62) t: over capacity in that share
    of draws."""
    m = _model(tmp_path, county, cap_point=0.45)
    s = run_samples(m, 200, seed=5)
    inflow = s.values[:, 0] * 0.9 * (0.1 * s.values[:, 1] + 0.62)
    risk = summarise(m, s, nominal_samples(m))
    row = risk[(risk["kind"] == "site") & (risk["site_id"] == "S1")].iloc[0]
    assert row["tier"] == "village_point" and row["target"] == 0.45
    assert 1 - row["p_met"] == pytest.approx(float((inflow > 0.45 * (1 + 1e-9)).mean()))


def test_same_seed_same_files_any_chunking(tmp_path, county):
    """Same seed → byte-identical risk.csv; in-process and on 2 Dask workers give the same draws."""
    m = _model(tmp_path, county)
    nom = nominal_samples(m)
    outs = []
    for k, client in enumerate((None, None)):
        s = run_samples(m, 60, seed=7, client=client)
        d = tmp_path / f"out{k}"
        write_risk(d, m, summarise(m, s, nom), tornado(m, nom), s, {"samples": 60, "seed": 7})
        outs.append((d / "risk.csv").read_bytes())
    assert outs[0] == outs[1]
    from netplan.batch.runner import start_client

    client, cluster = start_client(workers=2)
    try:
        sd = run_samples(m, 60, seed=7, client=client)
    finally:
        client.close()
        cluster.close()
    s1 = run_samples(m, 60, seed=7)
    assert np.array_equal(sd.values, s1.values)
    assert all(np.array_equal(sd.indicators[k], s1.indicators[k]) for k in s1.indicators)
    assert not np.array_equal(run_samples(m, 60, seed=8).values, s1.values)


def test_tornado_ranks_capture_first(tmp_path, county):
    """The capture swing (0.62 → 0.98: ×1.58) moves recovery more than mulch (2 → 8 kg/mu)."""
    m = _model(tmp_path, county)
    t = tornado(m, nominal_samples(m))
    rec = t[(t["indicator"] == "recovery_rate")]
    assert rec.iloc[0]["param"] == "scenario.streams.film.capture_rate"
    assert rec.iloc[0]["swing"] > rec.iloc[1]["swing"] > 0


def test_shipped_uncertainty_file_matches_coefficients():
    """Every key of data/uncertainty.toml resolves in data/coefficients.toml and the demo scenario
    (a renamed coefficient fails here), and every range has a tag and a source."""
    from netplan._paths import data_file

    sc = load_scenario(data_file("scenarios", "demo.toml"))
    coef = load_coefficients(overrides=sc.coefficients)
    params = load_uncertainty(sc, coef)
    assert len(params) >= 30
    assert all(p.source and p.tag in "ABCE" for p in params)
    assert all(p.low <= p.nominal <= p.high for p in params)
    by_key = {p.key: p for p in params}

    def ranges(node, path):
        for k, v in node.items():
            if isinstance(v, dict):
                yield from ranges(v, [*path, k])
            elif k.endswith("_range") and isinstance(v, list) and len(v) == 2:
                yield ".".join(["coefficients", *path, k.removesuffix("_range")]), v

    found = list(ranges(coef, []))
    assert found  # coefficients.toml carries some ranges of its own: the file must agree with them
    for key, (lo, hi) in found:
        assert key in by_key, f"{key} has a range in coefficients.toml but none in uncertainty.toml"
        assert (by_key[key].low, by_key[key].high) == pytest.approx((lo, hi)), key


@pytest.mark.parametrize(("text", "needle"), [
    ('["coefficients.straw.crops.wheat.grain_ratio"]\ndist = "uniform"\nlow = 1\nhigh = 2\ntag = "E"\n'
     'source = "x"\n', "coefficients.straw.crops.wheat.grain_ratio"),
    ('["scenario.streams.film.capture_rat"]\ndist = "uniform"\nlow = 0.5\nhigh = 1\ntag = "E"\n'
     'source = "x"\n', "capture_rat"),
    ('["coefficients.film.mulch.0.kg_per_mu"]\ndist = "uniform"\nlow = 5\nhigh = 6\ntag = "E"\nsource = "x"\n',
     "outside"),
    ('["coefficients.film.mulch.0.kg_per_mu"]\ndist = "uniform"\nlow = 3\nhigh = 6\ntag = "E"\n', "source"),
    ('["coefficients.film.mulch.0.kg_per_mu"]\ndist = "beta"\nlow = 3\nhigh = 6\ntag = "E"\nsource = "x"\n',
     "dist"),
])
def test_bad_uncertainty_entries_are_named(tmp_path, county, text, needle):
    """An unknown key, a range that misses the nominal value, no source, an unknown dist: InputError
    naming the key."""
    with pytest.raises(InputError) as exc:
        _model(tmp_path, county, text)
    assert needle in str(exc.value)


def test_array_code_equals_library_with_shared_capacity(tmp_path, county):
    """Film and packaging share S1 (0.5 t/yr, one capacity per physical site): on 20 random draws the
    array code gives what stream_flow + share_capacity + rates give draw by draw (the exact path)."""
    from dataclasses import replace

    from netplan.risk.engine import evaluate_draws
    from netplan.risk.params import draw_samples

    (tmp_path / "county").mkdir(exist_ok=True)
    text = (f'name = "t"\ncounty = "county"\n[targets]\nfilm.recovery_rate = 0.5\n'
            f'pesticide_packaging.recovery_rate = 0.5\n[sharing]\nvillage_point = [["film", "pesticide_packaging"]]\n'
            f'[streams.film]\ncapture_rate = 0.8\nvillage_point = {TIER}\ntownship_station = {TIER}\n'
            f'county_center = {TIER}\n[streams.pesticide_packaging]\ncapture_rate = 0.9\n'
            f'village_point = {TIER}\ntownship_station = {TIER}\ncounty_center = {TIER}\n')
    (tmp_path / "s2.toml").write_text(text, encoding="utf-8")
    sc = load_scenario(tmp_path / "s2.toml")
    lay = _layout(cap_point=0.5)
    both = pd.concat([lay.sites, lay.sites.assign(stream="pesticide_packaging")], ignore_index=True)
    dp = pd.concat([lay.demand_point, lay.demand_point.assign(stream="pesticide_packaging")],
                   ignore_index=True)
    layout = Layout(sites=both, demand_point=dp, source="hand-made")
    unc = UNC + ('["coefficients.pesticide_packaging.kg_per_sown_mu"]\ndist = "uniform"\nlow = 0.03\n'
                 'high = 0.5\ntag = "E"\nsource = "test"\n')
    (tmp_path / "u2.toml").write_text(unc, encoding="utf-8")
    coef = load_coefficients(overrides=sc.coefficients)
    params = load_uncertainty(sc, coef, tmp_path / "u2.toml")
    m = build_model(sc, county, estimate(county, coef, sc.stream_ids), layout, coef, params, DIST)
    assert not m.exact and ("village_point", "S1") in {(s.tier, s.site_id) for s in m.shared}
    vals = draw_samples(m.params, np.random.SeedSequence(1).spawn(20))
    fast, slow = evaluate_draws(m, vals), evaluate_draws(replace(m, exact=True), vals)
    assert fast["indicators"].keys() == slow["indicators"].keys()
    for k, v in slow["indicators"].items():
        assert fast["indicators"][k] == pytest.approx(v, abs=1e-9), k
    for k, v in slow["figures"].items():
        assert fast["figures"][k] == pytest.approx(v, rel=1e-9), k
    served = fast["figures"][("film", "served_t_yr")] + fast["figures"][("pesticide_packaging", "served_t_yr")]
    assert served.max() <= 0.5 + 1e-9 and (served > 0.5 - 1e-6).any()  # the shared cap binds


def test_site_at_two_tiers(tmp_path, county):
    """A township seat that is both the station and the centre of a stream (its own parent): the
    nominal draw still equals evaluate() (regression: duplicate site ids in a stream's sites)."""
    sc = _scenario(tmp_path)
    coef = load_coefficients(overrides=sc.coefficients)
    (tmp_path / "u.toml").write_text(UNC, encoding="utf-8")
    params = load_uncertainty(sc, coef, tmp_path / "u.toml")
    lay = _layout()
    sites = lay.sites.copy()
    sites.loc[sites["tier"] == "township_station", "parent_id"] = "T411723101"
    sites.loc[sites["tier"] == "county_center", ["site_id", "status"]] = ["T411723101", "new"]
    layout = Layout(sites=sites, demand_point=lay.demand_point, source="hand-made")
    sup = estimate(county, coef, sc.stream_ids)
    m = build_model(sc, county, sup, layout, coef, params, {("S1", "T411723101"): 2000.0,
                                                             ("T411723101", "T411723101"): 0.0})
    assert not m.exact
    ids = ["S1", "T411723101"]
    ss = pd.DataFrame([[0.0, 2000.0], [2000.0, 0.0]], index=ids, columns=ids)
    k = evaluate(sc, county, sup, layout, ss).kpis.set_index(["stream", "indicator"])["value"]
    nom = nominal_samples(m)
    assert nom.figures[("film", "total_cost_cny_yr")][0] == pytest.approx(k[("film", "total_cost_cny_yr")],
                                                                          abs=1e-3)
    assert nom.indicators[("film", "recovery_rate")][0] == pytest.approx(k[("film", "recovery_rate")])


def test_tighten_scales_coverage_by_the_quantile_shortfall(tmp_path, county):
    """Recovery 0.45 in every draw against a 0.5 target: served must rise by (0.5 − 0.45) / 0.45 =
    11.1 %, so the weight coverage the plan reaches (0.7) becomes 0.7 × 1.111 = 0.7778; with the
    coverage already at 100 % the target is reported as not reachable by siting."""
    from dataclasses import replace

    from netplan.risk.robust import tighten
    from netplan.risk.sampling import Samples

    m = _model(tmp_path, county)
    sp = replace(m.scenario.streams["film"], coverage_on="weight", coverage_target=0.6)
    sc = replace(m.scenario, streams={"film": sp})
    n = 50
    ind = {("film", "recovery_rate"): np.full(n, 0.45), ("film", "tonnage_coverage"): np.full(n, 0.7),
           ("film", "village_coverage"): np.full(n, 2 / 3)}
    s = Samples(values=np.zeros((n, 2)), indicators=ind, figures={}, inflow={}, seed=0)
    out, stuck = tighten(sc, replace(m, scenario=sc), s, 0.9)
    assert out.streams["film"].coverage_target == pytest.approx(0.7 * (1 + 0.05 / 0.45), abs=1e-4)
    assert stuck == []
    full = replace(sc, streams={"film": replace(sp, coverage_target=1.0)})
    out2, stuck2 = tighten(full, replace(m, scenario=full), s, 0.9)
    assert out2.streams == full.streams and len(stuck2) == 1 and "film.recovery_rate" in stuck2[0]


def test_infeasible_coverage_blames_the_named_stream(tmp_path, county):
    """A raised coverage with no plan is halved back only for the streams the error names."""
    from dataclasses import replace

    from netplan.errors import InfeasibleError, Unservable
    from netplan.risk.robust import _blamed, _halfway

    sc = _scenario(tmp_path)
    sp = sc.streams["film"]
    good = replace(sc, streams={"film": replace(sp, coverage_target=0.8),
                                "straw": replace(sp, id="straw", coverage_target=0.8)})
    tried = replace(good, streams={"film": replace(sp, coverage_target=1.0),
                                   "straw": replace(sp, id="straw", coverage_target=0.9)})
    exc = InfeasibleError("x", unservable=[Unservable(0, "too big", label="film: village v1 张庄")])
    assert _blamed(exc, good, tried) == {"film"}
    assert _blamed(InfeasibleError("x"), good, tried) == {"film", "straw"}
    half = _halfway(good, tried, {"film"})
    assert half.streams["film"].coverage_target == 0.9 and half.streams["straw"].coverage_target == 0.9


def test_siting_ceiling_by_hand(tmp_path, county):
    """The siting ceiling serves every village at the drawn capture rate: film recovery =
    capture × 0.9 (the recoverable share) whatever the layout. Against a 0.8 target it is met iff
    capture >= 0.8 / 0.9, i.e. with probability (1 − 0.8889) / 0.4 = 0.2778 for capture ~ U(0.6, 1.0):
    p_met_max is that share of the draws (no layout can do better), and the plan's own recovery
    (v3 unserved) never exceeds its ceiling."""
    from dataclasses import replace

    m = _model(tmp_path, county)
    m = replace(m, scenario=replace(m.scenario, targets={("film", "recovery_rate"): 0.8,
                                                         ("film", "village_coverage"): 0.6}))
    s = run_samples(m, 2000, seed=17)
    cap = s.values[:, 0]
    ceil = s.ceiling[("film", "recovery_rate")]
    assert ceil == pytest.approx(cap * 0.9, abs=3e-6)
    assert (s.indicators[("film", "recovery_rate")] <= ceil + 1e-9).all()
    assert (s.ceiling[("film", "village_coverage")] == 1.0).all()
    risk = summarise(m, s, nominal_samples(m)).set_index(["kind", "stream", "indicator"])
    row = risk.loc[("indicator", "film", "recovery_rate")]
    assert row["p_met_max"] == pytest.approx(float((np.round(cap * 0.9, 6) >= 0.8 - 1e-9).mean()))
    assert row["p_met_max"] == pytest.approx((1 - 0.8 / 0.9) / 0.4, abs=0.03)
    assert row["p_met"] <= row["p_met_max"]
    assert risk.loc[("indicator", "film", "village_coverage"), "p_met_max"] == 1.0


def test_uncontrollable_target_is_reported_not_tightened(tmp_path, county):
    """A target whose p_met at the siting ceiling is below the share is not tightened (coverage
    unchanged, no re-plan for it) and is reported per target as "not controllable by siting: p_met ≤
    X at any layout" in the status, robust.csv and the report section — not dropped, not met; the
    robust search counts as met when every other target is."""
    from dataclasses import replace

    from netplan.risk.robust import RobustResult, RobustRound, robust_html, tighten
    from netplan.risk.sampling import Samples, p_met_max

    m = _model(tmp_path, county)
    sp = replace(m.scenario.streams["film"], coverage_on="weight", coverage_target=0.6)
    key, cov = ("film", "recovery_rate"), ("film", "village_coverage")
    sc = replace(m.scenario, streams={"film": sp}, targets={key: 0.8, cov: 0.6})
    m = replace(m, scenario=sc)
    n = 40
    rec = np.full(n, 0.6)
    ceil = np.r_[np.full(10, 0.85), np.full(30, 0.7)]  # the ceiling meets 0.8 in 10 of 40 draws
    s = Samples(values=np.zeros((n, 2)), indicators={key: rec, cov: np.full(n, 2 / 3),
                                                     ("film", "tonnage_coverage"): np.full(n, 0.7)},
                figures={}, inflow={}, seed=0, ceiling={key: ceil, cov: np.ones(n)})
    assert p_met_max(s, key, 0.8) == 0.25
    out, stuck = tighten(sc, m, s, 0.9)
    assert out.streams == sc.streams and stuck == []
    r = RobustRound(round=0, seed=1, coverage_target={"film": 0.6}, p_met={key: 0.0, cov: 1.0},
                    cost_cny_yr=100.0, mean_cost_cny_yr=101.0, p_max={key: 0.25, cov: 1.0})
    res = RobustResult(share=0.9, samples=n, rounds=(r,), unreachable=(), model=m)
    assert res.met and res.uncontrollable == {key: 0.25}
    assert res.status(key) == "not controllable by siting: p_met ≤ 25.0% at any layout"
    assert res.status(cov) == "met"
    tab = res.table().set_index(["stream", "indicator"])
    assert tab.loc[key, "controllable_by_siting"] == "no" and tab.loc[key, "p_met_max"] == 0.25
    assert tab.loc[key, "p_met"] == 0.0 and tab.loc[cov, "controllable_by_siting"] == "yes"
    page = robust_html(res)
    assert "not controllable by siting: p_met ≤ 25.0% at any layout" in page
    assert "Cost of robustness: <b>+0 CNY/yr (+0.0%)</b>" in page


def test_ceiling_counts_only_demands_some_layout_can_serve(tmp_path, county):
    """With no demand in any candidate's reach but those the plan covers (v1, v2; build_model always
    adds them), the ceiling serves v1 and v2 only:
    recovery = capture × 0.9 × (0.1 m + 0.62) / (0.15 m + 0.62) — exactly what the plan serving v1
    and v2 gets, so p_met_max equals p_met (the siting cannot do better than this plan)."""
    from dataclasses import replace

    from netplan.risk.engine import build_model as bm

    m = _model(tmp_path, county)
    m = bm(m.scenario, county, m.supply, m.layout, m.coefficients, m.params, DIST,
           reach={"film": np.zeros(len(m.supply.demands), dtype=bool)})  # + the plan's covered
    m = replace(m, scenario=replace(m.scenario, targets={("film", "recovery_rate"): 0.5}))
    s = run_samples(m, 300, seed=23)
    cap, mulch = s.values[:, 0], s.values[:, 1]
    assert s.ceiling[("film", "recovery_rate")] == pytest.approx(
        cap * 0.9 * (0.1 * mulch + 0.62) / (0.15 * mulch + 0.62), abs=3e-6)
    risk = summarise(m, s, nominal_samples(m)).set_index(["kind", "stream", "indicator"])
    row = risk.loc[("indicator", "film", "recovery_rate")]
    assert row["p_met_max"] == row["p_met"]
