"""The official indicator definitions (docs/indicators.md) on the tiny county, computed by hand.

Tiny county (tests/conftest.py): v1 wheat 1000 + maize 600 mu, 100 vegetable-film mu, 100 pigs;
v2 wheat 500 + peanut 200 mu, 10 greenhouse mu, 10 cattle; v3 50 vegetable-film mu, 1000 poultry;
v4 (a 街道 community) nothing but 1500 residents; farm f1 1000 pigs. Coefficients: data/coefficients.toml.
"""

import math

import pandas as pd
import pytest

from netplan.costs import item_costs, load_vehicle_costs
from netplan.evaluate import evaluate
from netplan.indicators import host_villages
from netplan.layout import Layout
from netplan.scenario import load_scenario
from netplan.storage import M2_PER_MU, StorageParams, stock_share, yard
from netplan.streams import load_coefficients
from netplan.supply import estimate

TIER = ('{ candidates = ["village", "agro_store", "township_seat", "recycling_centre", "biomass_plant"], '
        'radius_m = 3000, capacity_t = 1000, capex_cny = 0, lifetime_yr = 10, opex_share = 0, '
        'rate_cny_per_tkm = 0 }')


def _scenario(tmp_path, streams, targets=""):
    (tmp_path / "county").mkdir(exist_ok=True)
    body = "".join(f"[streams.{s}]\ncapture_rate = 1.0\nbaseline_use_share = 0.0\nvillage_point = {TIER}\n"
                   f"township_station = {TIER}\ncounty_center = {TIER}\n" for s in streams)
    p = tmp_path / "s.toml"
    p.write_text(f'name = "t"\ncounty = "county"\n[targets]\n{targets}\n{body}', encoding="utf-8")
    return load_scenario(p)


def _chain(stream, points, centre="S2", centre_status="existing", cap=1000.0):
    """Open points (each to station T411723101 → ``centre``) and the demands they take."""
    rows = [{"site_id": p, "stream": stream, "tier": "village_point", "status": "new", "capacity_t": cap,
             "parent_id": "T411723101"} for p in sorted({p for p, _ in points.values()})]
    rows += [{"site_id": "T411723101", "stream": stream, "tier": "township_station", "status": "new",
              "capacity_t": cap, "parent_id": centre},
             {"site_id": centre, "stream": stream, "tier": "county_center", "status": centre_status,
              "capacity_t": cap, "parent_id": None}]
    dp = [{"stream": stream, "demand_id": d, "point_id": p, "dist_m": m} for d, (p, m) in points.items()]
    return pd.DataFrame(rows), pd.DataFrame(dp)


def _run(tmp_path, county, streams, layouts, targets=""):
    sc = _scenario(tmp_path, streams, targets)
    sup = estimate(county, load_coefficients(), sc.stream_ids)
    sites = pd.concat([s for s, _ in layouts], ignore_index=True)
    dp = pd.concat([d for _, d in layouts], ignore_index=True)
    ev = evaluate(sc, county, sup, Layout(sites=sites, demand_point=dp, source="hand-made"))
    return ev, ev.kpis.set_index(["stream", "indicator"])


def test_villages_with_point_counts_hosts_not_reach(tmp_path, county):
    """Points at v1's centre and the agro store S1 (467 m from v2, 1.4 km from v1): v1 and v2 host a
    point, v3 does not — 2 of the 3 film villages — while all 3 are within the 3 km reach."""
    assert host_villages(county, ["Vv1", "S1"]) == {"v1", "v2"}
    lay = _chain("film", {"v1": ("Vv1", 0.0), "v2": ("S1", 500.0), "v3": ("S1", 2000.0)})
    ev, k = _run(tmp_path, county, ["film"], [lay], "film.villages_with_point = 1.0")
    assert k.loc[("film", "village_coverage"), "value"] == 1.0
    assert k.loc[("film", "villages_with_point"), "value"] == pytest.approx(2 / 3, abs=1e-6)
    assert bool(k.loc[("film", "villages_with_point"), "met"]) is False


def test_film_recovery_is_over_film_used_and_capped(tmp_path, county):
    """地膜回收率 = 回收量 ÷ 使用量: every village served at capture 1 recovers the recoverable 90 %
    of the 1.22 t used (v1 0.4, v2 0.5 + 0.12 spring-peanut mulch, v3 0.2) — never 100 %."""
    lay = _chain("film", {"v1": ("Vv1", 0.0), "v2": ("Vv2", 0.0), "v3": ("Vv3", 0.0)})
    _, k = _run(tmp_path, county, ["film"], [lay], "film.recovery_rate = 0.96")
    assert k.loc[("film", "generation_t_yr"), "value"] == pytest.approx(1.22, abs=1e-3)
    assert k.loc[("film", "recovery_rate"), "value"] == pytest.approx(0.9, abs=1e-6)
    assert bool(k.loc[("film", "recovery_rate"), "met"]) is False
    assert k.loc[("film", "villages_with_point"), "value"] == 1.0


def test_manure_utilisation_over_total_production(tmp_path, county):
    """粪污综合利用率 = 利用量 ÷ 产生量. Production: v1 100 pigs × 2 kg (73 t), v2 10 cattle × 10 kg
    (36.5 t), v3 1000 poultry × 0.12 kg (43.8 t), f1 1000 pigs (730 t) = 883.3 t. On-farm use: small
    holders 20 % kept × 0.65, the farm 60 % kept × 0.90. The network serves only f1's off-site 292 t."""
    lay = _chain("manure", {"f1": ("Vv1", 600.0)})
    _, k = _run(tmp_path, county, ["manure"], [lay], "manure.utilisation_rate = 0.85")
    total = 73 + 36.5 + 43.8 + 730
    onsite = 0.2 * 0.65 * (73 + 36.5 + 43.8) + 0.6 * 0.9 * 730
    assert k.loc[("manure", "generation_t_yr"), "value"] == pytest.approx(total, abs=1e-3)
    assert k.loc[("manure", "used_onsite_t_yr"), "value"] == pytest.approx(onsite, abs=1e-3)
    assert k.loc[("manure", "network_t_yr"), "value"] == pytest.approx(0.8 * 153.3 + 0.4 * 730, abs=1e-3)
    assert k.loc[("manure", "utilisation_rate"), "value"] == pytest.approx((onsite + 292) / total, abs=1e-6)
    assert k.loc[("manure", "recovery_rate"), "value"] == pytest.approx(292 / total, abs=1e-6)
    assert bool(k.loc[("manure", "utilisation_rate"), "met"]) is False


def test_straw_uses_counted_once(tmp_path, county):
    """秸秆综合利用率 = (还田 + 农户分散 + 市场主体) ÷ 可收集量. Collectable: v1 631.713 t, v2 265.128 t;
    55 % 还田 and 5 % household are used without the network; the network takes v1's other 40 %.
    离田利用率 = (household + network) ÷ collectable."""
    v1 = 1000 * 447 * 1.15 * 0.8 / 1000 + 600 * 393 * 1.1 * 0.85 / 1000
    v2 = 500 * 447 * 1.15 * 0.8 / 1000 + 200 * 290 * 1.14 * 0.9 / 1000
    lay = _chain("straw", {"v1": ("Vv1", 0.0)})
    _, k = _run(tmp_path, county, ["straw"], [lay], "straw.utilisation_rate = 0.93\nstraw.offsite_use_rate = 0.35")
    total = v1 + v2
    assert k.loc[("straw", "generation_t_yr"), "value"] == pytest.approx(total, abs=1e-3)
    assert k.loc[("straw", "served_t_yr"), "value"] == pytest.approx(0.4 * v1, abs=1e-3)
    assert k.loc[("straw", "utilisation_rate"), "value"] == pytest.approx(0.6 + 0.4 * v1 / total, abs=1e-6)
    assert k.loc[("straw", "offsite_use_rate"), "value"] == pytest.approx(0.05 + 0.4 * v1 / total, abs=1e-6)


def test_shared_existing_site_has_one_capacity(tmp_path, county):
    """Straw (252.685 t) and manure (292 t) both delivered to the existing plant S2 with 300 t/yr:
    each stream keeps 300 / 544.685 of what it sent."""
    v1 = 1000 * 447 * 1.15 * 0.8 / 1000 + 600 * 393 * 1.1 * 0.85 / 1000
    straw = _chain("straw", {"v1": ("Vv1", 0.0)}, cap=300.0)
    manure = _chain("manure", {"f1": ("Vv1", 600.0)}, cap=300.0)
    ev, k = _run(tmp_path, county, ["straw", "manure"], [straw, manure])
    ratio = 300 / (0.4 * v1 + 292)
    assert k.loc[("straw", "served_t_yr"), "value"] == pytest.approx(0.4 * v1 * ratio, abs=1e-3)
    assert k.loc[("manure", "served_t_yr"), "value"] == pytest.approx(292 * ratio, abs=1e-3)
    loads = ev.site_loads[ev.site_loads["site_id"] == "S2"]["load_t"].sum()
    assert loads == pytest.approx(300.0, abs=1e-3)


def test_station_per_township_row(tmp_path, county):
    """The township row 'station_in_township' is 1 for 甲镇, which hosts T411723101."""
    lay = _chain("film", {"v1": ("Vv1", 0.0)})
    ev, _ = _run(tmp_path, county, ["film"], [lay])
    t = ev.townships.set_index(["township_code", "indicator"])
    assert t.loc[("411723101", "station_in_township"), "value"] == 1.0


def test_storage_stock_and_yard_by_hand():
    """One 10-day harvest window, even release: the stock peaks at 1 − 10/365 of the year's load.
    10,000 t at that share, 0.15 t/m³, 5 m stacks, 500 m² blocks, 12 m spacing."""
    p = StorageParams(inflow_windows={"w": 1.0}, window_start_day={"w": 150}, window_days={"w": 10},
                      bale_density_t_m3=0.15, stack_height_m=5.0, group_m2=500.0, fire_spacing_m=12.0,
                      yard_cny_per_m2=100.0, yard_lifetime_yr=15.0, land_cny_per_mu_yr=1000.0)
    share = stock_share(p)
    assert share == pytest.approx(1 - 10 / 365, abs=1e-9)
    y = yard(10000 * share, p)
    foot = 10000 * share / 0.15 / 5.0
    blocks = math.ceil(foot / 500)
    assert y["stack_blocks"] == blocks
    assert y["yard_mu"] == pytest.approx(blocks * (math.sqrt(500) + 12) ** 2 / M2_PER_MU)


def test_volume_limits_the_flatbed_and_items_cost():
    """A flatbed of straw bales fills by volume (85 m³ × 0.15 t/m³ = 12.75 t < 15 t); per-item
    packaging incentives: 0.088 CNY per 8.7 g item = 10,115 CNY/t."""
    v = load_vehicle_costs()
    assert v["flatbed"].payload_for("straw") == pytest.approx(12.75)
    assert v["manure_truck"].payload_for("manure") == pytest.approx(10.0)
    c = item_costs({"incentive_cny_per_item": 0.088, "treatment_cny_per_t": 3000.0}, 2.0, kg_per_item=0.0087)
    assert c["incentive_cost_cny_yr"] == pytest.approx(2 * 0.088 * 1000 / 0.0087)
    assert c["treatment_cost_cny_yr"] == 6000.0
    s = item_costs({"purchase_cny_per_t": 50, "baling_cny_per_t": 80, "loading_cny_per_t": 20,
                    "storage_loss_share": 0.05}, 100.0, stored_t=40.0)
    assert s["storage_loss_cost_cny_yr"] == pytest.approx(0.05 * 40 * 150)


def test_plan_tables_on_the_tiny_county(tmp_path, county):
    """The county-plan tables: investment phased by tier, baseline → target, roster with hosts, the
    straw uses summing to the collectable straw, and HTML for the report."""
    from netplan.plan_tables import TITLES, tables_html

    straw = _chain("straw", {"v1": ("Vv1", 0.0)})
    ev, _ = _run(tmp_path, county, ["straw"], [straw], "straw.utilisation_rate = 0.93")
    t = ev.plan_tables
    assert set(t) == set(TITLES)
    inv = t["investment"].set_index("site_id")
    assert inv.at["S2", "year"] == 2025 and inv.at["T411723101", "year"] == 2026 and inv.at["Vv1", "year"] == 2027
    bt = t["baseline_target"].set_index("indicator")
    # baseline: 60 % used without the network + what the existing plant S2 (100,000 t/yr) could take of
    # the 358.7 t off-field straw: an upper bound, the existing plant's actual intake is not known
    assert bt.at["utilisation_rate", "baseline_no_network"] == pytest.approx(0.6, abs=1e-4)
    assert bt.at["utilisation_rate", "baseline_max_existing"] == pytest.approx(1.0, abs=1e-4)
    roster = t["village_roster"].set_index("village_id")
    assert roster.at["v1", "straw_hosts"] == "Vv1" and roster.at["v1", "straw_uses"] == "Vv1"
    uses = t["straw_uses"]
    assert uses["t_yr"].sum() == pytest.approx(896.841, abs=2)
    assert "<h2>" in tables_html(t) and "&lt;" not in tables_html({"investment": t["investment"]})[:5]


def test_plan_table_sheets_are_in_the_run_folder_contract():
    """Every county-plan table is a plan.xlsx sheet named in netplan.runfolder.XLSX_SHEETS."""
    from netplan.plan_tables import TITLES
    from netplan.runfolder import XLSX_SHEETS

    assert set(TITLES) <= set(XLSX_SHEETS)
