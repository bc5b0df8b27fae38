"""three_tier(start=...): warm starts from a previous plan (same candidates, another target)."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from netplan.siting import StreamModel, Tier, three_tier
from netplan.siting._tt_plan import plan_from_start, plan_problem
from netplan.siting._tt_prep import prepare


def _county(seed: int = 3, n: int = 25, target: float = 0.8, single: bool = True) -> StreamModel:
    """``n`` demands, 12 village points (capacity 60 t), 5 stations (200 t), 2 centres on a
    20 km square; coverage ``target`` of the tonnage, 30 CNY/t unserved penalty."""
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 20_000, (n + 12 + 5 + 2, 2))
    d = np.linalg.norm(pts[:, None] - pts[None], axis=2)
    a, b, c = n, n + 12, n + 17
    w = rng.uniform(1, 12, n)
    return StreamModel("s", w, (
        Tier(cost=d[:a, a:b], capacity=60.0, fixed_cost=rng.uniform(300, 600, 12), radius=9_000.0,
             rate_per_t_per_km=2.0),
        Tier(cost=d[a:b, b:c], capacity=200.0, fixed_cost=rng.uniform(1500, 3000, 5),
             rate_per_t_per_km=1.0),
        Tier(cost=d[b:c, c:], fixed_cost=rng.uniform(3000, 5000, 2), rate_per_t_per_km=0.5),
    ), coverage_target=target, unserved_penalty_per_t=30.0, single_source=single)


def test_optimal_start_is_proven_optimal_and_kept():
    """A proven-optimal plan given back as the start: the block is proven optimal again, at the
    same cost, within a few CPU seconds (the cold solve takes ~2 s, the warm one 2-10 s: SCIP's
    root differs with the hint, the plan does not)."""
    m = _county()
    first = three_tier(m, time_limit_s=60, work=20.0)
    assert first.status == "optimal"
    t0 = time.process_time()
    warm = three_tier(m, time_limit_s=60, work=20.0, start=first)
    warm_s = time.process_time() - t0
    assert warm.status == "optimal" and warm.blocks[0].status == "optimal"
    assert warm.objective == pytest.approx(first.objective, rel=1e-6)
    assert warm_s <= 30.0


def test_neighbour_target_start_is_used_and_never_worse():
    """The 85 % plan is feasible at 75 %: as the start it bounds the 75 % plan's cost from above
    (a per-name mapping and a list of stream solutions work alike)."""
    hi = three_tier(_county(target=0.85), time_limit_s=30, work=0.5)
    lo_model = _county(target=0.75)
    sd, _ = prepare(lo_model)
    assert plan_problem(sd, plan_from_start(sd, hi.stream("s"))) is None
    for start in ({"s": hi.stream("s")}, list(hi.streams)):
        lo = three_tier(lo_model, time_limit_s=30, work=0.5, start=start)
        assert lo.objective <= hi.stream("s").fixed_cost_cny + hi.stream("s").transport_cost_cny \
            + 30.0 * float(lo_model.weights[~hi.stream("s").served].sum()) + 1e-6


def test_infeasible_or_misfit_start_is_ignored_not_an_error():
    """A start below the new target, and one over other candidates, are ignored: the solve gives
    the same plan as without a start."""
    m_hi = _county(target=0.95)
    cold = three_tier(m_hi, time_limit_s=30, work=0.5)
    low = three_tier(_county(target=0.5), time_limit_s=30, work=0.5)
    sd, _ = prepare(m_hi)
    assert plan_problem(sd, plan_from_start(sd, low.stream("s"))) == "below the coverage target"
    other = three_tier(_county(seed=4, n=20, target=0.5), time_limit_s=30, work=0.5)
    assert plan_from_start(sd, other.stream("s")) is None
    for bad in (low, other):
        sol = three_tier(m_hi, time_limit_s=30, work=0.5, start=bad)
        assert sol.objective == pytest.approx(cold.objective, rel=1e-9)
        for t in range(3):
            assert np.array_equal(sol.stream("s").assignment[t], cold.stream("s").assignment[t])


def test_plan_problem_names_what_breaks():
    """The feasibility check accepts solved plans (single- and multi-source) and names a closed
    forced site, an over-full site and an open site that forwards nowhere."""
    sols = {}
    for single in (True, False):
        m = _county(single=single)
        sols[single] = three_tier(m, time_limit_s=30, work=0.5)
        sd, _ = prepare(m)
        plan = plan_from_start(sd, sols[single].stream("s"))
        assert plan_problem(sd, plan) is None
    sd, _ = prepare(_county())
    plan = plan_from_start(sd, sols[True].stream("s"))
    forced = dataclasses.replace(sd.tiers[2], forced=~plan.opens[2] & sd.tiers[2].alive)
    if forced.forced.any():
        sd_f = dataclasses.replace(sd, tiers=[sd.tiers[0], sd.tiers[1], forced])
        assert plan_problem(sd_f, plan) == "tier 2: a forced candidate is closed"
    small = dataclasses.replace(sd.tiers[1], cap=np.full(sd.tiers[1].n, 1.0))
    sd_c = dataclasses.replace(sd, tiers=[sd.tiers[0], small, sd.tiers[2]])
    assert plan_problem(sd_c, plan) == "tier 1: over capacity"
    j = int(np.flatnonzero(plan.opens[1])[0])
    cut = plan.assigns[2].copy()
    cut[j] = -1
    broken = plan._replace(assigns=[plan.assigns[0], plan.assigns[1], cut])
    assert plan_problem(sd, broken) is not None


def test_same_start_same_plan():
    """Warm-started solves stop on work too: the same start gives the same plan twice."""
    m = _county(seed=5, n=30, target=0.9)
    start = three_tier(_county(seed=5, n=30, target=0.95), time_limit_s=30, work=1.0)
    a = three_tier(m, time_limit_s=60, work=1.0, start=start)
    b = three_tier(m, time_limit_s=60, work=1.0, start=start)
    assert a.objective == b.objective and a.bound == b.bound
    for t in range(3):
        assert np.array_equal(a.stream("s").assignment[t], b.stream("s").assignment[t])


def test_planner_start_layout_round_trips(tmp_path):
    """A plan's Layout, read back by ``siting_adapter.start_plans``, is a feasible plan of every
    stream's model with the same open sites, and ``run_plan(start_layout=...)`` keeps its cost."""
    from netplan._paths import data_file
    from netplan.planner import run_plan
    from netplan.scenario import load_scenario
    from netplan.siting_adapter import build_stream_models, start_plans
    from netplan.synth import generate_county

    county_dir = tmp_path / "county"
    generate_county("411723", county_dir, seed=3, n_villages=20)
    sc = load_scenario(data_file("scenarios", "demo.toml"))
    light = {}
    for k, v in sc.streams.items():   # the light streams, as in test_determinism
        if k in ("film", "pesticide_packaging"):
            tiers = {t: dataclasses.replace(tp, capacity_t=tp.capacity_t * 20)
                     for t, tp in v.tiers.items()}
            light[k] = dataclasses.replace(v, tiers=tiers, coverage_target=min(v.coverage_target, 0.9))
    sc = dataclasses.replace(sc, county_dir=county_dir, time_limit_s=30.0, routing_time_limit_s=1.0,
                             streams=light, targets={k: v for k, v in sc.targets.items()
                                                     if k[0] in light})
    plan = run_plan(sc)
    models, index = build_stream_models(sc, plan.county, plan.supply, plan.candidates, plan.matrices)
    warm = start_plans(plan.layout, models, index, plan.candidates, plan.supply)
    assert set(warm) == {m.name for m in models}
    for m in models:
        sd, _ = prepare(m)
        assert plan_problem(sd, warm[m.name]) is None
        n_open = sum(int(o.sum()) for o in warm[m.name].opens)
        assert n_open == len(plan.layout.sites.query("stream == @m.name"))
    again = run_plan(sc, start_layout=plan.layout)
    for sid, facts in plan.layout.solve.items():
        assert again.layout.solve[sid]["objective"] <= facts["objective"] * (1 + 1e-9)
