"""CLI messages: no traceback, the right exit code, and the truth about what was written."""

import shutil

from test_inputs_cli import DATA, scenario_for
from typer.testing import CliRunner

from netplan.cli import app


def test_bad_background_is_an_input_error(tmp_path):
    """An unknown map background exits 2 naming the choices, before any work is done."""
    r = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "o"), "--background", "satellite"])
    assert r.exit_code == 2
    assert "satellite" in r.output and "offline" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o").exists()


def test_database_failure_says_the_files_were_written(tmp_path):
    """When the files are complete but the database is unreachable, the message says both."""
    county = tmp_path / "county"
    shutil.copytree(DATA / "planner", county)
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["plan", str(scenario_for(tmp_path, county)), "--out", str(out),
                                 "--no-maps", "--db", "postgresql://nobody@127.0.0.1:9/none"])
    text = " ".join(r.output.split())
    assert r.exit_code == 1, r.output
    assert "the outputs were written to" in text and "database" in text
    assert "Traceback" not in r.output
    assert (out / "plan.gpkg").exists() and (out / "kpis.csv").exists()


def test_relax_unreachable_plans_for_the_reachable_and_says_so(tmp_path):
    """Recyclables' stations reach 4 km only: `plan` stops naming the villages (exit 3); with
    `--relax-unreachable` it plans, prints the shortfall and run.json names the villages left out."""
    import json
    import re

    county = tmp_path / "county"
    shutil.copytree(DATA / "planner", county)
    sc = scenario_for(tmp_path, county)
    text = sc.read_text(encoding="utf-8")
    old = "radius_m = 25000, capacity_t = 20000,"   # recyclables' stations
    text, n = re.subn(re.escape(old), "radius_m = 4000, capacity_t = 20000,", text)
    assert n == 1
    sc.write_text(text, encoding="utf-8")
    r = CliRunner().invoke(app, ["plan", str(sc), "--out", str(tmp_path / "a"), "--no-maps"])
    assert r.exit_code == 3, r.output
    assert "No feasible plan" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(app, ["plan", str(sc), "--out", str(tmp_path / "b"), "--no-maps",
                                 "--relax-unreachable"])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "recyclables: coverage target 100.0% of the villages lies beyond reach: planned for" in text
    rec = json.loads((tmp_path / "b" / "run.json").read_text(encoding="utf-8"))["solve"]["recyclables"]
    assert 0 < rec["coverage_planned"] < 1.0
    assert "village" in rec["left_out"] and "forward" in rec["left_out"]
    assert "not reachable" in rec["worth"]


def test_relax_builds_a_point_of_several_units_for_villages_heavier_than_one(tmp_path):
    """Household-waste points hold 50 t/yr only (every village gives more): with
    `--relax-unreachable` each village's point is built as several units, and sites.csv and
    costs.csv carry the units' capacity and capital cost (30,000 CNY each)."""
    import json
    import math
    import re

    import pandas as pd

    county = tmp_path / "county"
    shutil.copytree(DATA / "planner", county)
    sc = scenario_for(tmp_path, county)
    text = sc.read_text(encoding="utf-8")
    old = "radius_m = 1000, capacity_t = 5000, capex_cny = 30000,"
    text, n = re.subn(re.escape(old), "radius_m = 1000, capacity_t = 50, capex_cny = 30000,", text)
    assert n == 1
    sc.write_text(text, encoding="utf-8")
    r = CliRunner().invoke(app, ["plan", str(sc), "--out", str(tmp_path / "b"), "--no-maps",
                                 "--relax-unreachable"])
    assert r.exit_code == 0, r.output
    assert "built as several units" in " ".join(r.output.split())
    dw = json.loads((tmp_path / "b" / "run.json").read_text(encoding="utf-8"))["solve"]["domestic_waste"]
    assert "points of several units" in dw["worth"] and "not reachable" not in dw["worth"]
    costs = pd.read_csv(tmp_path / "b" / "costs.csv")
    sites = pd.read_csv(tmp_path / "b" / "layout.csv")
    pts = costs[(costs["stream"] == "domestic_waste") & (costs["tier"] == "village_point")]
    assert len(pts) and (pts["capex_cny"] >= 60000).all()
    for row in pts.itertuples():
        cell = str(sites.loc[sites["site_id"] == row.site_id, "capacity_t"].iloc[0])
        cap = float(dict(x.split("=") for x in cell.split(";"))["domestic_waste"]) if "=" in cell \
            else float(cell)
        assert row.capex_cny == 30000 * math.ceil(cap / 50 - 1e-9)


def test_relax_reports_a_target_the_backoff_lowered(tmp_path, monkeypatch):
    """When the coverage back-off lowered a block's target (single sourcing against capacities),
    run.json says what was planned and the worth line says the target was not reachable."""
    import dataclasses
    import json

    import netplan.siting as siting

    real = siting.three_tier
    seen = {}

    def lowered(*a, **k):
        seen["backoff"] = k.get("coverage_backoff")
        sol = real(*a, **k)
        blocks = tuple(dataclasses.replace(b, targets=tuple(0.5 for _ in b.streams))
                       if b.streams == ("manure",) else b for b in sol.blocks)
        return dataclasses.replace(sol, blocks=blocks)

    monkeypatch.setattr(siting, "three_tier", lowered)
    county = tmp_path / "county"
    shutil.copytree(DATA / "planner", county)
    r = CliRunner().invoke(app, ["plan", str(scenario_for(tmp_path, county)), "--out",
                                 str(tmp_path / "b"), "--no-maps", "--relax-unreachable"])
    assert r.exit_code == 0, r.output
    assert seen["backoff"] == 0.02
    solve = json.loads((tmp_path / "b" / "run.json").read_text(encoding="utf-8"))["solve"]
    assert solve["manure"]["coverage_planned"] == 0.5
    assert "single-sourced sites" in solve["manure"]["relaxed"]
    assert "target 91.0% not reachable" in solve["manure"]["worth"]
    assert "coverage_planned" not in solve["straw"]
    assert "manure: no plan holds coverage 91.0%" in " ".join(r.output.split())
