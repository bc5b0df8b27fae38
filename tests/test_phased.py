"""Phased build-out (issue 21): the multi-year model against brute force, the scenario's
[[phases]] tables, and the CLI end to end."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from netplan.cli import app
from netplan.errors import InputError
from netplan.layout_io import read_layout
from netplan.runfolder import PHASE_KEYS, PHASED_KPI_COLUMNS, read_run
from netplan.scenario import load_scenario
from netplan.siting import StreamModel, Tier
from netplan.siting.phased import Need, Phase, PhaseInfeasible, phase_weights, phased

# ------------------------------------------------------------------ tiny instance + brute force
W = np.array([3.0, 2.0, 4.0, 1.0, 2.5])
D1 = np.array([[1000, 2500, np.inf], [1500, 900, 4000], [np.inf, 1200, 800],
               [2500, np.inf, 1100], [800, 3000, 2000]], dtype=float)   # demand -> point (m)
D2 = np.array([[3000, 9000], [5000, 4000], [9000, 2500]], dtype=float)   # point -> station
D3 = np.array([[7000], [6000]], dtype=float)                              # station -> centre
FIX = [np.array([40.0, 55.0, 45.0]), np.array([120.0, 100.0]), np.array([300.0])]   # CNY/yr
CAPEX = [np.array([400.0, 500.0, 450.0]), np.array([1000.0, 900.0]), np.array([0.0])]  # CNY
CAP1 = np.array([6.0, 7.0, 6.0])
RATES = (3.0, 2.0, 1.0)


def _model() -> StreamModel:
    return StreamModel(name="s", weights=W, tiers=(
        Tier(cost=D1, capacity=CAP1, fixed_cost=FIX[0], radius=3000, rate_per_t_per_km=RATES[0]),
        Tier(cost=D2, fixed_cost=FIX[1], rate_per_t_per_km=RATES[1]),
        Tier(cost=D3, fixed_cost=FIX[2], rate_per_t_per_km=RATES[2], force_open=[0]),
    ), count_mask=np.array([True, True, True, True, False]), unserved_penalty_per_t=5.0)


def _year_cost(opens: tuple[np.ndarray, ...], need: Need) -> float:
    """Cheapest annual cost of one year's open sets by enumerating every assignment (inf if none)."""
    o1, o2, o3 = opens
    if not o3[0]:
        return math.inf
    pts, sts = np.flatnonzero(o1), np.flatnonzero(o2)
    if len(pts) and not len(sts):
        return math.inf
    fixed = sum(float(FIX[t][o].sum()) for t, o in enumerate(opens))
    best = math.inf
    opts_d = [[-1] + [j for j in pts if D1[i, j] <= 3000 and W[i] <= CAP1[j]] for i in range(len(W))]
    for a in itertools.product(*opts_d):
        a = np.array(a)
        served = a >= 0
        if W[served].sum() < need.weight * W.sum() - 1e-9:
            continue
        mask = np.array([True, True, True, True, False])
        if served[mask].sum() < math.ceil(need.count * mask.sum() - 1e-9):
            continue
        load = np.bincount(a[served], weights=W[served], minlength=3)
        if (load > CAP1 + 1e-9).any():
            continue
        t1 = sum(RATES[0] * W[i] * D1[i, a[i]] / 1000 for i in np.flatnonzero(served))
        pen = 5.0 * W[~served].sum()
        for b in itertools.product(sts, repeat=len(pts)):
            t2 = sum(RATES[1] * load[j] * D2[j, k] / 1000 for j, k in zip(pts, b, strict=True))
            st_load = np.zeros(2)
            for j, k in zip(pts, b, strict=True):
                st_load[k] += load[j]
            t3 = sum(RATES[2] * st_load[k] * D3[k, 0] / 1000 for k in sts)
            best = min(best, fixed + t1 + pen + t2 + t3)
    return best


def _brute(phases: list[Phase], weights: np.ndarray) -> tuple[float, list]:
    """Best discounted cost over every monotone open schedule (each site: never or a year)."""
    sizes = [3, 2, 1]
    cands = [(t, j) for t, n in enumerate(sizes) for j in range(n)]
    P = len(phases)
    cache: dict = {}
    best, arg = math.inf, None
    for sched in itertools.product(range(P + 1), repeat=len(cands)):   # P = never
        total, ok = 0.0, True
        for p, ph in enumerate(phases):
            opens = tuple(np.array([sched[cands.index((t, j))] <= p for j in range(n)])
                          for t, n in enumerate(sizes))
            new_capex = sum(CAPEX[t][j] for (t, j), y in zip(cands, sched, strict=True) if y == p)
            if new_capex > ph.capex_budget_cny + 1e-9:
                ok = False
                break
            key = (tuple(tuple(o) for o in opens), p)
            if key not in cache:
                cache[key] = _year_cost(opens, ph.needs["s"])
            total += weights[p] * cache[key]
            if not math.isfinite(total):
                ok = False
                break
        if ok and total < best - 1e-9:
            best, arg = total, sched
    return best, arg


PHASES = [Phase(2025, {"s": Need(weight=0.4)}, capex_budget_cny=1500.0),
          Phase(2026, {"s": Need(weight=0.7, count=0.75)}, capex_budget_cny=1000.0),
          Phase(2027, {"s": Need(weight=1.0)}, capex_budget_cny=1000.0)]


def _solve(phases: list[Phase], **kw):
    return phased(_model(), phases, capex={"s": CAPEX}, discount_rate=0.06, time_limit_s=30,
                  horizon_year=2030, **kw)


PREBUILD = [dataclasses.replace(PHASES[0], capex_budget_cny=2300.0),
            dataclasses.replace(PHASES[1], capex_budget_cny=0.0), PHASES[2]]


@pytest.mark.parametrize("phases", [PHASES, PREBUILD], ids=["budgets", "prebuild"])
def test_tiny_instance_matches_brute_force(phases: list[Phase]) -> None:
    """The phased MIP's discounted cost equals the best monotone schedule found by enumeration,
    and its plan meets every year's needs and budget with sites opening in more than one year
    (``prebuild``: nothing may be built in 2026, so what 2026 needs is built in 2025)."""
    weights = phase_weights([p.year for p in phases], 0.06, 2030)
    best, _ = _brute(phases, weights)
    sol = _solve(phases)
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(best, rel=1e-6)
    prev = None
    for yr, ph in zip(sol.years, phases, strict=True):
        ss = yr.solution.streams[0]
        need = ph.needs["s"]
        assert ss.coverage_weight >= need.weight - 1e-9
        assert ss.coverage_count >= need.count - 1e-9
        assert yr.capex_cny <= ph.capex_budget_cny + 1e-6
        opens = [set(o.tolist()) for o in ss.open]
        if prev is not None:
            assert all(a <= b for a, b in zip(prev, opens, strict=True))   # sites stay open
        prev = opens
    years = {int(y) for t in range(3) for y in sol.open_year(0, t) if y >= 0}
    assert len(years) >= 2


def test_weights_discount_each_phase_until_the_next() -> None:
    """2025 counts one year, 2026 one year (1/1.06), 2027 the rest up to the horizon."""
    w = phase_weights([2025, 2026, 2027], 0.06, 2028)
    assert w == pytest.approx([1.0, 1 / 1.06, 1 / 1.06**2 + 1 / 1.06**3])


def test_budget_too_small_names_year_and_shortfall() -> None:
    """A 2025 budget below the cheapest network for its need: PhaseInfeasible names 2025 and
    how much capital is missing (the cheapest network needs a point and a station: 1,300 CNY)."""
    bad = [Phase(2025, {"s": Need(weight=0.4)}, capex_budget_cny=1000.0), PHASES[1]]
    with pytest.raises(PhaseInfeasible) as ei:
        _solve(bad)
    assert ei.value.year == 2025
    assert ei.value.shortfall_cny == pytest.approx(300.0)
    assert "2025" in str(ei.value) and "300" in str(ei.value)


def test_unreachable_need_names_the_year() -> None:
    """A need no network can meet (a demand beyond every point's radius that must be served) is
    refused before solving, naming the year and the demand."""
    ok = [PHASES[0], Phase(2026, {"s": Need(count=1.0)}, capex_budget_cny=1e9)]
    sol = _solve(ok)   # every counted demand has a point within 3 km
    assert sol.years[1].solution.streams[0].coverage_count == 1.0
    m = _model()
    short = dataclasses.replace(m, tiers=(dataclasses.replace(m.tiers[0], radius=900.0),
                                          *m.tiers[1:]))
    with pytest.raises(PhaseInfeasible) as ei:
        phased(short, ok, capex={"s": CAPEX}, time_limit_s=10)
    assert ei.value.year == 2026 and math.isinf(ei.value.shortfall_cny)
    assert any(u.label == "s demand 0" for u in ei.value.unservable)


def test_bad_phases_are_input_errors() -> None:
    """Years not increasing, a negative budget, needs for an unknown stream."""
    for bad in ([PHASES[1], PHASES[0]], [Phase(2025, {"s": Need()}, capex_budget_cny=-1.0)],
                [Phase(2025, {"x": Need()})]):
        with pytest.raises(InputError):
            _solve(bad)


# ------------------------------------------------------------------ scenario [[phases]]
SCENARIO = Path(__file__).parents[1] / "data" / "scenarios" / "demo_phased.toml"
PLANNER = Path(__file__).parent / "data" / "inputs" / "planner"


def _phased_text(phases: str, *, county: Path = PLANNER, streams: tuple[str, ...] = ("straw",)
                 ) -> str:
    """demo_phased.toml on ``county`` (crow-fly, 20 s), only ``streams``, with ``phases``."""
    text = SCENARIO.read_text(encoding="utf-8")
    text = re.sub(r"^county = .*$", f'county = "{county.as_posix()}"', text, flags=re.M)
    text = re.sub(r"^time_limit_s = .*$", "time_limit_s = 20", text, flags=re.M)
    text = re.sub(r"^horizon_year = .*$", "", text, flags=re.M)
    text = text.replace('[roads]\n', '[roads]\nfile = "none"\n', 1)
    a = text.index("# ---------------------------------------------------------------- targets")
    b = text.index("# ---------------------------------------------------------------- streams")
    text = text[:a] + phases + "\n" + text[b:]
    for sid in ("straw", "film", "pesticide_packaging", "manure"):
        if sid not in streams:
            text = text.replace(f"[streams.{sid}]\n", f"[streams.{sid}]\nenabled = false\n", 1)
    return text


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "phased.toml"
    p.write_text(text, encoding="utf-8")
    return p


GOOD = """
[[phases]]
year = 2025
capex_budget_cny = 4_300_000
targets.straw = { village_coverage = 0.5 }

[[phases]]
year = 2026
capex_budget_cny = 500_000
targets.straw = { village_coverage = 1.0, utilisation_rate = 0.8 }
"""


def test_scenario_reads_phases(tmp_path: Path) -> None:
    """[[phases]] tables become Scenario.phases: years, targets keyed like [targets], budgets."""
    sc = load_scenario(_write(tmp_path, _phased_text(GOOD)))
    assert [p.year for p in sc.phases] == [2025, 2026]
    assert sc.phases[1].targets == {("straw", "village_coverage"): 1.0,
                                    ("straw", "utilisation_rate"): 0.8}
    assert sc.phases[0].capex_budget_cny == 4_300_000
    assert load_scenario(SCENARIO).horizon_year == 2031


@pytest.mark.parametrize(("phases", "key"), [
    ("[[phases]]\nyear = 2025\n[[phases]]\nyear = 2025\n", "phases[1].year"),
    ("[[phases]]\nyear = 2026\n[[phases]]\nyear = 2025\n", "phases[1].year"),
    ("[[phases]]\nyear = 25.5\n", "phases[0].year"),
    ("[[phases]]\nyear = 2025\ncapex_budget_cny = -1\n", "phases[0].capex_budget_cny"),
    ("[[phases]]\nyear = 2025\ncapex_budget_cny = \"lots\"\n", "phases[0].capex_budget_cny"),
    ("[[phases]]\nyear = 2025\ntargets.straw = { village_coverage = 1.5 }\n",
     "phases[0].targets.straw.village_coverage"),
    ("[[phases]]\nyear = 2025\ntargets.straw = { coverage = 0.5 }\n",
     "phases[0].targets.straw.coverage"),
    ("[[phases]]\nyear = 2025\ntargets.glass = { village_coverage = 0.5 }\n",
     "phases[0].targets.glass"),
    ("[[phases]]\nyear = 2025\nbudget = 3\n", "phases[0].budget"),
    ("phases = 3\n", "phases"),
    ("[finance]\nhorizon_year = 2020\n[[phases]]\nyear = 2025\n", "finance.horizon_year"),
])
def test_bad_phases_name_file_and_key(tmp_path: Path, phases: str, key: str) -> None:
    """Each bad [[phases]] value is an InputError naming the scenario file and the key."""
    text = _phased_text(phases) if phases.startswith("[") else phases + _phased_text("")
    if "[finance]" in phases:   # drop the file's own [finance] table
        text = re.sub(r"^\[finance\]\ndiscount_rate = .*$", "", text, count=1, flags=re.M)
    p = _write(tmp_path, text)
    with pytest.raises(InputError) as ei:
        load_scenario(p)
    msg = str(ei.value)
    assert str(p) in msg and f"'{key}'" in msg, msg


def test_cli_plans_a_phased_scenario(tmp_path: Path) -> None:
    """`netplan plan` on a two-year scenario (the planner fixture, straw only): kpis.csv has a
    block per year meeting that year's targets, sites.csv an open_year, no year's new capital
    over its budget, sites opening in both years, report.html a year table and index.html a
    layer per year."""
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["plan", str(_write(tmp_path, _phased_text(GOOD))), "--out",
                                 str(out)])
    assert r.exit_code == 0, r.output
    # the console labels each target row with its year and the objective as discounted CNY
    assert "year" in r.output and "CNY discounted over the horizon" in r.output
    assert r.output.count("2026") >= 2
    k = pd.read_csv(out / "kpis.csv")
    assert list(k.columns) == list(PHASED_KPI_COLUMNS)
    assert sorted(k["year"].unique()) == [2025, 2026]
    tg = k[k["target"].notna()]
    assert tg["met"].astype(bool).all(), tg
    assert set(tg.loc[tg["year"] == 2026, "indicator"]) == {"village_coverage", "utilisation_rate"}
    sites = pd.read_csv(out / "sites.csv")
    assert set(sites["open_year"]) == {2025, 2026}
    rec = read_run(out)   # compare and the analyses see the last year; every block stays readable
    assert "year" not in rec.kpis.columns and len(rec.year_kpis) == len(k)
    meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
    for ph in meta["phases"]:
        assert set(ph) == set(PHASE_KEYS)
        assert ph["capex_cny"] <= ph["capex_budget_cny"] + 0.5
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Build-out by year" in html and "2026" in html
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "Network 2025" in index and "Network 2026" in index
    # the plan's layout.csv carries open_year; `netplan evaluate` scores it year by year the same
    lay = pd.read_csv(out / "layout.csv")
    assert set(lay["open_year"]) == {2025, 2026}
    ev_out = tmp_path / "ev"
    r = CliRunner().invoke(app, ["evaluate", str(out / "layout.csv"), "--scenario",
                                 str(tmp_path / "phased.toml"), "--out", str(ev_out), "--no-maps"])
    assert r.exit_code == 0, r.output
    k2 = pd.read_csv(ev_out / "kpis.csv")
    assert sorted(k2["year"].unique()) == [2025, 2026]
    cols = ["year", "stream", "indicator", "value", "met"]
    pd.testing.assert_frame_equal(
        k2[k2["target"].notna()][cols].reset_index(drop=True),
        k[k["target"].notna()][cols].reset_index(drop=True))
    assert "Build-out by year" in (ev_out / "report.html").read_text(encoding="utf-8")


def test_layout_open_year_cells_are_checked(tmp_path: Path) -> None:
    """A layout table's open_year must be a year or blank: a bad cell names file, row, field."""
    p = tmp_path / "lay.csv"
    p.write_text("site_id,streams,tier,lon,lat,capacity_t,status,parent_id,open_year\n"
                 "S1,straw,county_center,114.66,32.97,,existing,,\n"
                 "T1,straw,township_station,114.62,33.0,,new,S1,2026.5\n", encoding="utf-8")
    with pytest.raises(InputError) as ei:
        read_layout(p, streams=("straw",))
    assert f"{p}, row 2, field 'open_year'" in str(ei.value)


def test_cli_budget_too_small_exits_3_naming_the_year(tmp_path: Path) -> None:
    """A 2025 budget below the cheapest network for its target: exit 3, the message names the
    year, its target and the capital short."""
    bad = GOOD.replace("capex_budget_cny = 4_300_000", "capex_budget_cny = 10_000", 1)
    r = CliRunner().invoke(app, ["plan", str(_write(tmp_path, _phased_text(bad))), "--out",
                                 str(tmp_path / "out")])
    assert r.exit_code == 3, r.output
    out = " ".join(r.output.split())
    assert "year 2025" in out and "straw.village_coverage" in out and "CNY more than" in out
    assert "Traceback" not in r.output


def test_prebuild_repairs_a_start_over_a_later_budget() -> None:
    """The year-by-year start builds what 2026 needs in 2026 (over its zero budget); the repair
    opens those sites in 2025 instead, within 2025's budget, and every year's plan stays a plan."""
    from netplan.siting import _ph_start as st
    from netplan.siting import _tt_plan
    from netplan.siting import phased as ph
    from netplan.siting._mip import Budget

    models = [_model()]
    spec = st._Spec([ph._phase_datas(models, p) for p in PREBUILD], [],
                    [ph._capex_arrays(models[0], {"s": CAPEX}, ph._phase_datas(models, PREBUILD[0])[0])],
                    [p.capex_budget_cny for p in PREBUILD], np.ones(3), None,
                    [[p.needs["s"]] for p in PREBUILD])
    start = st._forward(spec, models, PREBUILD, (), "scip", 0, 1e-4, Budget.cpu(20))
    assert st._capex_of(spec, start, 1) > 0.5          # the myopic start spends in 2026
    fixed = st._prebuild(spec, start)
    for p in range(3):
        assert st._capex_of(spec, fixed, p) <= PREBUILD[p].capex_budget_cny + 0.5
        assert _tt_plan.plan_problem(spec.datas[p][0], fixed[p][0]) is None
