"""Same inputs and seed → the same plan, byte for byte in the tables."""

from __future__ import annotations

import dataclasses

import pytest

from netplan._paths import data_file
from netplan.planner import run_plan, write_plan
from netplan.scenario import load_scenario
from netplan.synth import generate_county


@pytest.fixture(scope="module")
def small_county(tmp_path_factory):
    """A generated 20-village county inside Pingyu's outline, with its OSM roads."""
    out = tmp_path_factory.mktemp("small") / "county"
    generate_county("411723", out, seed=3, n_villages=20)
    return out


def _run(small_county, out):
    sc = load_scenario(data_file("scenarios", "demo.toml"))
    # the light streams: with 20 villages standing for a whole county, each village's straw and
    # manure exceed a village point (that case is the demo's, tests/test_pipeline_demo.py); points
    # and stations are scaled up for the same reason
    light = {}
    for k, v in sc.streams.items():
        # recyclables left out since the recalibration of this session: on this 20-village county
        # its block no longer proves within 30 s (a 26 % gap at 30 s), and this test pins
        # proven plans; unproven plans are pinned by the work-budget test below
        if k in ("film", "pesticide_packaging"):
            tiers = {t: dataclasses.replace(tp, capacity_t=tp.capacity_t * 20) for t, tp in v.tiers.items()}
            light[k] = dataclasses.replace(v, tiers=tiers, coverage_target=min(v.coverage_target, 0.9))
    targets = {k: v for k, v in sc.targets.items() if k[0] in light}
    sc = dataclasses.replace(sc, county_dir=small_county, time_limit_s=30.0, routing_time_limit_s=1.0,
                             streams=light, targets=targets)
    plan = run_plan(sc)
    write_plan(plan, out, maps=False)
    return plan


def test_two_runs_write_identical_tables(small_county, tmp_path):
    """Two runs of the same scenario and seed write identical sites, routes, layout and KPI tables."""
    p1 = _run(small_county, tmp_path / "a")
    _run(small_county, tmp_path / "b")
    assert all(s["status"] == "optimal" for s in p1.layout.solve.values()), p1.layout.solve
    for name in ("sites.csv", "routes.csv", "layout.csv", "kpis.csv"):
        a = (tmp_path / "a" / name).read_bytes()
        b = (tmp_path / "b" / name).read_bytes()
        assert a == b, name


def _random_three_tier(seed: int, n_dem: int = 45, n_pt: int = 20, n_st: int = 6, n_c: int = 3):
    """A random single-source three-tier stream on the unit square (metres x 10 km), tight
    enough that the MIP does not prove optimality within a small work budget."""
    import numpy as np

    from netplan.siting import StreamModel, Tier

    rng = np.random.default_rng(seed)
    dem, pt, st, ce = (rng.random((n, 2)) * 10_000 for n in (n_dem, n_pt, n_st, n_c))

    def dist(a, b, radius=None):
        d = np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1))
        return np.where(d <= radius, d, np.inf) if radius else d

    w = rng.uniform(5, 40, n_dem)
    return StreamModel("straw", w, (
        Tier(cost=dist(dem, pt, 3000), capacity=150.0, fixed_cost=rng.uniform(300, 600, n_pt),
             rate_per_t_per_km=2.0),
        Tier(cost=dist(pt, st, 6000), capacity=500.0, fixed_cost=rng.uniform(2000, 4000, n_st),
             rate_per_t_per_km=1.2),
        Tier(cost=dist(st, ce), capacity=900.0, fixed_cost=rng.uniform(8000, 12000, n_c),
             rate_per_t_per_km=0.6),
    ), coverage_target=0.8, coverage_on="weight", unserved_penalty_per_t=60.0)


def test_single_source_plan_stops_on_work_not_on_machine_load():
    """three_tier under a small work budget gives the same plan on an idle machine and with both
    cores busy (two busy-loop processes): the MIPs stop on node limits, the CPU-time limit is
    only the safety stop."""
    import subprocess
    import sys

    import numpy as np

    from netplan.siting import three_tier

    m = _random_three_tier(7)
    idle = three_tier(m, time_limit_s=120, work=1.0)
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        loaded = three_tier(m, time_limit_s=120, work=1.0)
    finally:
        for p in busy:
            p.kill()
            p.wait()
    assert idle.objective == loaded.objective and idle.bound == loaded.bound
    for a, b in zip(idle.streams[0].assignment, loaded.streams[0].assignment, strict=True):
        assert np.array_equal(a, b)
    assert idle.gap <= 0.05
