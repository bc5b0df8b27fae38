"""The demo county: the county's own proposal (data/demo/layout_proposed.csv) scored end to end on
the real road file, and every indicator of kpis.csv recomputed from plan.gpkg independently."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from netplan._paths import data_file
from netplan.scenario import Scenario, crf, load_scenario
from netplan.streams import load_coefficients


def recompute(run: Path, sc: Scenario) -> dict[tuple[str, str], float]:
    """Every stream indicator and the capital cost, from plan.gpkg alone plus the scenario."""
    v = gpd.read_file(run / "plan.gpkg", layer="villages")
    towns = gpd.read_file(run / "plan.gpkg", layer="townships")
    sites = gpd.read_file(run / "plan.gpkg", layer="sites")
    asg = gpd.read_file(run / "plan.gpkg", layer="assignments")
    try:
        farms = gpd.read_file(run / "plan.gpkg", layer="farms")
    except Exception:  # noqa: BLE001 - the layer is absent when the county has no farms
        farms = gpd.GeoDataFrame()
    farming = set(towns.loc[towns["farming"].astype(bool), "township_code"].astype(str))
    out = {}
    def col(df: pd.DataFrame, name: str) -> pd.Series:
        return df[name].astype(float) if name in df else pd.Series(dtype=float)

    for s, sp in sc.streams.items():
        t = v[f"{s}_t_yr"].astype(float)              # what the network can take (N)
        tot = v[f"{s}_total_t_yr"].astype(float)      # the official denominator (T)
        cov = v[f"{s}_covered"].astype(bool)
        tf, totf = col(farms, f"{s}_t_yr"), col(farms, f"{s}_total_t_yr")
        cf = farms[f"{s}_covered"].astype(bool) if f"{s}_covered" in farms else pd.Series(dtype=bool)
        net = t.sum() + tf.sum()
        gen = tot.sum() + totf.sum()
        u_on = v[f"{s}_used_onsite_t_yr"].astype(float).sum() + col(farms, f"{s}_used_onsite_t_yr").sum()
        u_off = v[f"{s}_used_offsite_t_yr"].astype(float).sum() + col(farms, f"{s}_used_offsite_t_yr").sum()
        a = asg[(asg["stream"] == s) & asg["from_tier"].isin(["village", "farm"])]
        served = a["mass_t"].sum()
        live = tot > 0
        out[(s, "village_coverage")] = cov[live].mean() if live.any() else 1.0
        out[(s, "tonnage_coverage")] = (t[cov].sum() + tf[cf].sum()) / net
        out[(s, "recovery_rate")] = served / gen
        b = sp.baseline_use_share
        out[(s, "utilisation_rate")] = min(1.0, (u_on + u_off + served + b * (net - served)) / gen)
        out[(s, "offsite_use_rate")] = (u_off + served) / gen
        here = set(v["township_code"].astype(str)) & farming
        hit = set(v.loc[cov, "township_code"].astype(str))
        out[(s, "township_coverage")] = len(here & hit) / len(here) if here else 1.0
        ss = sites[sites["stream"] == s]
        # storage yards of straw stations: 亩 × 666.67 m² × the hardening cost (data/coefficients.toml)
        yard_cny_m2 = load_coefficients().get(s, {}).get("storage", {}).get("yard_cny_per_m2", 0.0)
        yard = ss["yard_mu"].fillna(0).sum() * 10000 / 15 * yard_cny_m2 if "yard_mu" in ss else 0.0
        out[(s, "capex_cny")] = sum(
            sp.tiers[r.tier].capex_cny * (sc.existing_capex_share if r.status == "existing" else 1)
            for r in ss.itertuples()) + yard
        out[(s, "capex_cny_yr")] = sum(
            sp.tiers[r.tier].capex_cny * (sc.existing_capex_share if r.status == "existing" else 1)
            * crf(sc.discount_rate, sp.tiers[r.tier].lifetime_yr) for r in ss.itertuples())
        out[(s, "served_t_yr")] = served
        out[(s, "generation_t_yr")] = gen
    return out
def shared_run(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder built once per test session even under pytest-xdist: the workers share the parent of
    their base temp dirs and take a file lock; the first builds, the others reuse."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out = root / f"shared-{name}"
    with open(root / f"shared-{name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        if not (out / ".done").exists():
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            build(out)
            (out / ".done").touch()
    return out


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """Score the shipped proposal on the demo county over its road file and write the outputs.

    The stages are those of ``run_plan`` minus collection routing (routes do not enter any indicator
    and take most of the time; `netplan evaluate` runs them): inputs, supply, candidates + layout
    sites, road distances, nearest-point assignment, evaluation, layers, atomic export.
    """
    from netplan.candidates import build_candidates
    from netplan.evaluate import evaluate
    from netplan.export import write_outputs
    from netplan.layers import build_layers
    from netplan.layout_io import read_layout
    from netplan.planner import estimate_supply, load_inputs, road_network
    from netplan.siting_adapter import layout_from_table, merge_candidates, travel_matrices

    sc = load_scenario(data_file("scenarios", "demo.toml"))

    def build(tmp: Path) -> None:
        table = read_layout(data_file("demo", "layout_proposed.csv"), streams=sc.stream_ids)
        county = load_inputs(sc)
        supply = estimate_supply(sc, county)
        cands = merge_candidates(build_candidates(county), table, county)
        mats = travel_matrices(road_network(sc, county), supply, cands, sc)
        lay = layout_from_table(table, sc, supply.demands, cands, mats.dem_site_m, mats.site_site_m)
        ids = cands["site_id"].to_numpy()
        ev = evaluate(sc, county, supply, lay, pd.DataFrame(mats.site_site_m, index=ids, columns=ids))
        routes = gpd.GeoDataFrame({"stream": [], "kind": [], "distance_m": [], "trips_per_year": []},
                                  geometry=[], crs="EPSG:4326")
        layers = build_layers(county, supply, lay, ev, cands, routes, sc.stream_ids)
        write_outputs(tmp / "run", layers, ev.kpis)
        pd.DataFrame(ev.townships).to_csv(tmp / "run" / "kpis_township.csv", index=False)

    return shared_run(tmp_path_factory, "demo", build) / "run", sc


def test_demo_indicators_recomputed_from_gpkg(demo_run):
    """Every stream indicator, the served and generated tonnage and the capital cost in kpis.csv
    match their recomputation from plan.gpkg and the scenario alone."""
    run, sc = demo_run
    k = pd.read_csv(run / "kpis.csv", encoding="utf-8-sig").set_index(["stream", "indicator"])
    got = recompute(run, sc)
    assert len(got) == 10 * len(sc.streams)
    for key, val in got.items():
        assert k.loc[key, "value"] == pytest.approx(val, abs=2e-3, rel=1e-5), key


def test_demo_proposal_shape(demo_run):
    """The proposal is what a county writes: stations at all 19 township seats, points only where a
    co-op outlet is — so it reaches few villages and misses the village-coverage targets."""
    run, _ = demo_run
    sites = gpd.read_file(run / "plan.gpkg", layer="sites")
    st = sites[sites["tier"] == "township_station"]
    assert st["site_id"].nunique() == 19 and st["site_id"].str.startswith("T").all()
    k = pd.read_csv(run / "kpis.csv", encoding="utf-8-sig")
    missed = k[k["target"].notna() & (k["met"].astype(str) == "False")]
    assert ("pesticide_packaging", "villages_with_point") in set(zip(missed["stream"], missed["indicator"],
                                                                  strict=True))
    t = pd.read_csv(run / "kpis_township.csv", dtype={"township_code": str})
    assert t["township_code"].nunique() == 19
    assert ((t["unit"] != "fraction") | t["value"].between(0, 1)).all()
