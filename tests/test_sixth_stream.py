"""A sixth stream is a data change: used farm-machinery oil (废机油) added to copies of
data/streams.toml and data/coefficients.toml (the ``NETPLAN_DATA`` overlay) and to a copy of the
demo scenario is planned, scored, written and drawn with no code change."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from test_inputs_cli import DATA

from netplan._paths import data_file

STREAM = """
[streams.machinery_oil]
name_zh = "废机油"
name_en = "used farm-machinery oil"
demand_sources = ["villages"]
seasonal = false
color = "#6a4c93"
tier_names_zh = { village_point = "村级暂存点", township_station = "乡镇收集站", county_center = "县级危废处置中心" }
tier_names_en = { village_point = "village holding point", township_station = "township collection station", county_center = "county hazardous-waste centre" }
"""

COEFFICIENTS = """
[machinery_oil]
rule = "per_sown_area"
# illustrative test value (E): oil changes of tractors and harvesters per mu of sown land
kg_per_sown_mu = 0.05
recoverable_share = 0.8
sown_columns = ["wheat_mu", "maize_mu", "rice_mu", "soybean_mu", "peanut_mu"]

[machinery_oil.costs]
treatment_cny_per_t = 2500.0
"""

SCENARIO_STREAM = """
[streams.machinery_oil]
capture_rate = 0.9
baseline_use_share = 0.0
coverage_on = "weight"
coverage_target = 0.9
unserved_penalty_cny_per_t = 3000
collection_vehicle = "light_truck"
haul_vehicle = "light_truck"
rounds_per_year = 4
village_point = { candidates = ["village"], radius_m = 5000, capacity_t = 50, capex_cny = 5000, lifetime_yr = 10, opex_share = 0.10, rate_cny_per_tkm = 5.0 }
township_station = { candidates = ["township_seat"], radius_m = 30000, capacity_t = 500, capex_cny = 100000, lifetime_yr = 15, opex_share = 0.08, rate_cny_per_tkm = 3.0, max_per_township = 1 }
county_center = { candidates = ["recycling_centre", "township_seat"], capacity_t = 5000, capex_cny = 0, lifetime_yr = 20, opex_share = 0.0, rate_cny_per_tkm = 1.5 }
"""


@pytest.fixture
def sixth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data overlay with the sixth stream, and a scenario over the small planner county."""
    overlay = tmp_path / "data"
    overlay.mkdir()
    for name, extra in (("streams.toml", STREAM), ("coefficients.toml", COEFFICIENTS)):
        text = data_file(name).read_text(encoding="utf-8")
        (overlay / name).write_text(text + extra, encoding="utf-8")
    monkeypatch.setenv("NETPLAN_DATA", str(overlay))
    county = tmp_path / "county"
    shutil.copytree(DATA / "planner", county)
    text = data_file("scenarios", "demo.toml").read_text(encoding="utf-8")
    text = re.sub(r"^county = .*$", f'county = "{county.as_posix()}"', text, flags=re.M)
    text = re.sub(r"^time_limit_s = .*$", "time_limit_s = 5", text, flags=re.M)
    text = text.replace('# file = "roads.osm"', 'file = "none"')
    text = text.replace("[targets]\n", "[targets]\nmachinery_oil.recovery_rate = 0.7\n", 1)
    scen = tmp_path / "scenario.toml"
    scen.write_text(text + SCENARIO_STREAM, encoding="utf-8")
    return scen


def test_a_sixth_stream_is_planned_from_toml_only(sixth: Path, tmp_path: Path) -> None:
    """The new stream is sited on all three tiers, scored against its target, written to the run
    folder's layers and tables, and drawn in its own colour and Chinese name from streams.toml."""
    from netplan import load_scenario, run_plan, write_plan
    from netplan.runfolder import read_run

    sc = load_scenario(sixth)
    assert "machinery_oil" in sc.stream_ids
    plan = run_plan(sc)
    assert plan.supply.totals()["machinery_oil"] > 0
    sites = plan.layers["sites"]
    oil = sites[sites["stream"] == "machinery_oil"]
    assert set(oil["tier"]) == {"village_point", "township_station", "county_center"}
    assert set(oil["tier_name"]) <= {"村级暂存点", "乡镇收集站", "县级危废处置中心"}
    assert "machinery_oil_covered" in plan.layers["villages"].columns
    out = tmp_path / "run"
    write_plan(plan, out)
    run = read_run(out)
    k = run.kpis[run.kpis["stream"] == "machinery_oil"]
    rec = k[k["indicator"] == "recovery_rate"].iloc[0]
    assert rec["target"] == pytest.approx(0.7) and rec["met"] in (True, False)
    assert "machinery_oil" in pd.read_csv(out / "sites.csv", encoding="utf-8-sig")["stream"].tolist()
    page = (out / "machinery_oil.html").read_text(encoding="utf-8")
    assert "#6a4c93" in page and "废机油" in page
    assert "废机油" in (out / "report.html").read_text(encoding="utf-8")
