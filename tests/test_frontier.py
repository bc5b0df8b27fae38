"""netplan.frontier on the template county (3 villages, crow-fly): rows meet their targets, cost
never falls as the target rises, budgets give the best target within them, failures are rows."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import netplan
from netplan._paths import data_file
from netplan.analysis.curve import COLUMNS, _repair, chains, falls, target_range
from netplan.analysis.points import Engine, PointJob, variant
from netplan.errors import InputError
from netplan.scenario import load_scenario


def tiny_scenario(tmp: Path, *, limit_s: int = 10) -> Path:
    """demo.toml on a copy of the template county: crow-fly, no manure, ``limit_s`` CPU s."""
    county = tmp / "county"
    shutil.copytree(data_file("templates"), county)
    text = data_file("scenarios", "demo.toml").read_text(encoding="utf-8")
    text = re.sub(r"^county = .*$", f'county = "{county.as_posix()}"', text, flags=re.M)
    text = re.sub(r'^# file = "roads.osm".*$', 'file = "none"', text, flags=re.M)
    text = re.sub(r"^time_limit_s = .*$", f"time_limit_s = {limit_s}", text, flags=re.M)
    text = re.sub(r"^manure\..*$", "", text, flags=re.M)
    i, j = text.index("[streams.manure]"), text.index("[streams.recyclables]")
    path = tmp / "s.toml"
    path.write_text(text[:i] + text[j:], encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """A three-point straw sweep plus one budget, solved in process (no Dask)."""
    tmp = tmp_path_factory.mktemp("frontier")
    sc = tiny_scenario(tmp)
    out = tmp / "out"
    df = netplan.frontier(sc, stream="straw", indicator="village_coverage", targets=[0.3, 0.6, 1.0],
                          out_dir=out, workers=0, maps=False)
    return sc, out, df


def test_rows_meet_targets_and_cost_never_falls(sweep):
    """Every point is solved, meets its target, and costs at least the lower target's plan."""
    _, out, df = sweep
    assert list(df.columns) == COLUMNS
    assert list(pd.read_csv(out / "frontier.csv", encoding="utf-8-sig").columns) == COLUMNS
    assert (df["target"].to_numpy() == [0.3, 0.6, 1.0]).all()
    assert (df["achieved"] >= df["target"] - 1e-9).all()
    assert df["status"].str.startswith("optimal").all()
    # one chain in process: each lower target warm-started from the next higher one's plan
    assert "warm start" not in df["status"].iloc[2]
    assert df["status"].iloc[1].endswith("warm start: plan of target 1.0000")
    assert df["status"].iloc[0].endswith("warm start: plan of target 0.6000")
    cost = df["total_cost_cny_yr"].to_numpy()
    assert (cost[1:] >= cost[:-1] - 1e-6).all()
    assert cost[-1] > cost[0]   # covering every village needs a second village point
    assert df["sites_village_point"].iloc[-1] > df["sites_village_point"].iloc[0]
    assert (df["total_cost_cny_yr"] - df["opex_cny_yr"] - df["transport_cost_cny_yr"] > 0).all()
    for run in df["run"]:
        kpis = pd.read_csv(out / run / "kpis.csv", encoding="utf-8-sig")
        assert set(kpis["stream"]) == {"straw", "all"}   # straw shares no site: planned alone
    html = (out / "frontier.html").read_text(encoding="utf-8")
    assert "<script src" not in html and "http" not in html.split("<script")[0].replace(
        "http://www.w3.org", "")


def test_budget_rows_are_max_coverage_plans(sweep, tmp_path):
    """A budget row is the max-coverage model's plan: its evaluated cost is within the budget and
    equals the cost row the MIP counted (per-tonne items and storage included), its coverage is
    proven the most (at least every curve point that fits the budget), and it has a run folder."""
    sc, _, df = sweep
    lo, hi = df["total_cost_cny_yr"].iloc[0], df["total_cost_cny_yr"].iloc[-1]
    budgets = [(lo + hi) / 2, hi * 1.01, lo / 2]
    out = netplan.frontier(sc, stream="straw", indicator="village_coverage", targets=[0.3, 1.0],
                           budgets=budgets, out_dir=tmp_path / "b", workers=0, maps=False)
    rows = out[out["status"].str.startswith("budget")].reset_index(drop=True)
    assert len(rows) == 3 and rows["target"].isna().all()
    assert list(out["target"].iloc[:2]) == [0.3, 1.0]      # the curve, then the budgets (sorted)
    for b, r in zip(sorted(budgets), rows.itertuples(index=False), strict=True):
        assert f"budget {b:,.0f} CNY/yr: max-coverage model" in r.status
        if not isinstance(r.run, str) or not r.run:   # half the cheapest point: nothing fits
            assert b < lo and "buys none of the villages (proven" in r.status, r.status
            continue
        assert "proven the most" in r.status, r.status
        assert "MIP start: plan of target" in r.status   # the curve's plan that fits
        assert r.total_cost_cny_yr <= b + 1.0
        assert f"cheapest plan of that coverage: {r.total_cost_cny_yr:,.0f} CNY/yr" in r.status
        fits = df[df["total_cost_cny_yr"] <= b]
        assert (r.achieved >= fits["achieved"] - 1e-9).all()
        assert (tmp_path / "b" / r.run / "kpis.csv").exists()
    assert rows["achieved"].iloc[2] == 1.0                 # the full-coverage cost buys it all
    assert rows["achieved"].iloc[1] < rows["achieved"].iloc[2]


def test_falls_scored_plan_of_higher_target_is_taken():
    """A lower target whose plan costs more than a higher target's beyond its gap gets the
    higher plan scored at the lower target; what still falls is flagged."""
    def pt(t, cost, obj=None, bound=None, status="time limit"):
        return {"ok": True, "target": t, "total_cost_cny_yr": cost, "objective_cny_yr": obj or cost,
                "bound_cny_yr": bound or cost, "status": status, "run": f"/r/{t}", "gap": 0.0}

    points = {0.5: pt(0.5, 110.0, bound=105.0), 0.8: pt(0.8, 100.0), 0.9: pt(0.9, 120.0)}
    assert falls(points) == [(0.5, 0.8)]
    seen = []

    def run(jobs):
        seen.extend(jobs)
        return [pt(0.5, 100.0, status="scored") if j.score_layout else pt(0.5, 109.0) for j in jobs]

    def mk(t, limit=None, **kw):
        return PointJob(key=f"{t}{kw.get('tag', '')}", scenario_path=Path("s"), run_dir=Path("r"),
                        target=t, score_layout=kw.get("score"), time_limit_s=limit)

    _repair(points, run, mk, lambda m: None, 20.0)
    assert seen[0].score_layout == Path("/r/0.8/layout.csv")
    assert points[0.5]["total_cost_cny_yr"] == 100.0
    assert "plan of target 0.8000" in points[0.5]["status"]
    assert falls(points) == []
    # a fall no scored plan or longer solve removes is flagged, never hidden
    points = {0.5: pt(0.5, 110.0), 0.8: pt(0.8, 100.0)}
    seen.clear()
    _repair(points, lambda jobs: seen.extend(jobs) or [pt(0.5, 200.0) for _ in jobs], mk,
            lambda m: None, 20.0)
    assert "cost above target 0.8000" in points[0.5]["status"]
    assert [j.time_limit_s for j in seen] == [None, 20.0]   # scored, then re-solved longer
    # a re-solve that comes out cheaper replaces the point and says so
    points = {0.5: pt(0.5, 110.0), 0.8: pt(0.8, 100.0)}
    _repair(points, lambda jobs: [pt(0.5, 200.0 if j.score_layout else 99.0) for j in jobs], mk,
            lambda m: None, 20.0)
    assert points[0.5]["total_cost_cny_yr"] == 99.0 and "re-solved with 20 CPU s" in points[0.5]["status"]
    assert falls(points) == []
    # an optimal point is not re-solved: a fall that remains is flagged
    points = {0.5: pt(0.5, 110.0, status="optimal"), 0.8: pt(0.8, 100.0)}
    seen.clear()
    _repair(points, lambda jobs: seen.extend(jobs) or [pt(0.5, 200.0) for _ in jobs], mk,
            lambda m: None, 20.0)
    assert len(seen) == 1 and "cost above target 0.8000" in points[0.5]["status"]


def test_failed_point_is_a_row(tmp_path):
    """A solve that fails returns a row saying why (the sweep goes on)."""
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\ncounty = 'nowhere'\n", encoding="utf-8")
    job = PointJob(key="p", scenario_path=bad, run_dir=tmp_path / "r", stream="straw",
                   indicator="village_coverage", target=0.5)
    (row,) = Engine(workers=0).run([job])
    assert row["ok"] is False
    assert row["status"].startswith("failed: InputError") and "county" in row["status"]


def test_variant_sets_target_and_coverage_rule(tmp_path):
    """The swept indicator sets the target and the siting's coverage constraint; other
    indicators and unknown streams are input errors."""
    sc = load_scenario(tiny_scenario(tmp_path))
    v = variant(sc, "film", "village_coverage", 0.75, alone=True)
    assert v.streams["film"].coverage_target == 0.75 and v.streams["film"].coverage_on == "count"
    assert list(v.streams) == ["film"] and v.targets[("film", "village_coverage")] == 0.75
    with pytest.raises(InputError, match="cannot be swept"):
        variant(sc, "straw", "recovery_rate", 0.9)
    with pytest.raises(InputError, match="not planned"):
        variant(sc, "manure", "village_coverage", 0.9)
    assert chains([0.7, 0.82, 0.9, 0.95, 1.0], 2) == [[1.0, 0.95, 0.9], [0.82, 0.7]]
    assert chains([0.5, 1.0], 1) == [[1.0, 0.5]] and chains([0.5], 3) == [[0.5]]
    assert target_range(0.7, 1.0, 0.1) == [0.7, 0.8, 0.9, 1.0]
    assert target_range(0.7, 1.0, 0.25) == [0.7, 0.95, 1.0]


def test_cli_frontier_on_dask(tmp_path):
    """`netplan frontier` on a one-worker LocalCluster writes frontier.csv, frontier.html and a
    run folder with maps per point; a bad --targets is an input error (exit 2)."""
    from netplan.cli import app

    sc = tiny_scenario(tmp_path)
    out = tmp_path / "cli"
    r = CliRunner().invoke(app, ["frontier", str(sc), "--stream", "straw", "--targets", "0.5,1",
                                 "--workers", "1", "--out", str(out)])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out / "frontier.csv", encoding="utf-8-sig")
    assert len(df) == 2 and (df["achieved"] >= df["target"]).all()
    # the 0.5 point waited for the 1.0 point's future and started from its plan; the same chain
    # solved in process gives byte-identical plans (the plan does not depend on the engine)
    assert df["status"].iloc[0].endswith("warm start: plan of target 1.0000")
    same = netplan.frontier(sc, stream="straw", indicator="village_coverage", targets=[0.5, 1.0],
                            out_dir=tmp_path / "inproc", workers=0, maps=False)
    for run in df["run"]:
        assert (out / run / "layout.csv").read_bytes() == (tmp_path / "inproc" / run / "layout.csv").read_bytes()
    assert list(same["total_cost_cny_yr"]) == list(df["total_cost_cny_yr"])
    assert all((out / run / "index.html").exists() for run in df["run"])
    assert (out / "frontier.html").exists()
    r = CliRunner().invoke(app, ["frontier", str(sc), "--targets", "0.5,x", "--out", str(out)])
    assert r.exit_code == 2 and "--targets" in r.output
