"""three_tier(): hand-checked instances, brute force on tiny random ones, infeasibility reports."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netplan.errors import InfeasibleError, InputError
from netplan.siting import StreamModel, Tier, three_tier


def _line_model(name: str = "a", **kw) -> StreamModel:
    """Two demands at x=0 and x=10 km, village points at 0 and 10 km, one station at 5 km,
    one centre at 5 km; village points cost 100, station 1000, centre 0."""
    dem = np.array([0.0, 10_000.0])
    vp = np.array([0.0, 10_000.0])
    cost1 = np.abs(dem[:, None] - vp[None, :])
    cost2 = np.abs(vp[:, None] - np.array([5_000.0])[None, :])
    cost3 = np.zeros((1, 1))
    tiers = (
        Tier(cost=cost1, fixed_cost=100.0, rate_per_t_per_km=1.0, radius=kw.pop("radius", None)),
        Tier(cost=cost2, fixed_cost=1000.0, rate_per_t_per_km=2.0),
        Tier(cost=cost3, fixed_cost=0.0, rate_per_t_per_km=1.0),
    )
    return StreamModel(name=name, weights=np.array([10.0, 30.0]), tiers=tiers, **kw)


def test_hand_checked_line_instance():
    """Both villages get their own point (moving 10 t over 10 km costs 100 = one point's fixed
    cost, so it is a tie; 30 t would cost 300): objective = 2*100 + 1000 + 40 t * 5 km * 2."""
    sol = three_tier(_line_model(), time_limit_s=10)
    s = sol.stream("a")
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(200 + 1000 + 400, rel=1e-6)
    assert sol.gap <= 1e-4
    assert list(s.open[1]) == [0] and list(s.open[2]) == [0]
    assert s.load_t[1][0] == pytest.approx(40.0)
    assert sol.fixed_cost_cny + sol.transport_cost_cny + sol.penalty_cny == pytest.approx(sol.objective)


def test_radius_beyond_reach_raises_naming_demand():
    """A demand with no village point within the radius is named in the InfeasibleError."""
    dem_cost = np.array([[0.0], [5_000.0]])
    m = StreamModel("film", np.array([1.0, 2.0]), (
        Tier(cost=dem_cost, radius=3_000.0),
        Tier(cost=np.zeros((1, 1))),
    ))
    with pytest.raises(InfeasibleError) as ei:
        three_tier(m, time_limit_s=5)
    bad = [u.index for u in ei.value.unservable]
    assert bad == [1]
    assert "5000 away" in str(ei.value) and "3000" in str(ei.value)


def test_capacity_short_raises():
    """Total capacity below the tonnage that must be served is reported, not a bare 'infeasible'."""
    m = StreamModel("straw", np.array([5.0, 5.0]), (
        Tier(cost=np.zeros((2, 2)), capacity=np.array([4.0, 5.0])),
        Tier(cost=np.zeros((2, 1))),
    ))
    with pytest.raises(InfeasibleError) as ei:
        three_tier(m, time_limit_s=5)
    assert "capacity" in str(ei.value)


def test_group_min_unmeetable_raises():
    """A township that must get a station but has no usable candidate is named."""
    m = StreamModel("manure", np.array([1.0]), (
        Tier(cost=np.zeros((1, 1))),
        Tier(cost=np.zeros((1, 2)), group=np.array([0, 0]), min_per_group=np.array([1, 1])),
        Tier(cost=np.zeros((2, 1))),
    ))
    with pytest.raises(InfeasibleError) as ei:
        three_tier(m, time_limit_s=5)
    assert any("group 1" in (u.label or "") for u in ei.value.unservable)


def test_partial_coverage_uses_penalty_tradeoff():
    """With a 50 % weight target and no penalty only the heavy demand is served; with a penalty
    larger than a point's cost both are served."""
    base = _line_model(coverage_target=0.5)
    s0 = three_tier(base, time_limit_s=10).stream("a")
    assert list(s0.served) == [False, True]
    pen = _line_model(coverage_target=0.5, unserved_penalty_per_t=50.0)
    s1 = three_tier(pen, time_limit_s=10).stream("a")
    assert s1.served.all()


def test_count_coverage_counts_villages_only():
    """'count' coverage counts only count_mask demands: a farm may stay unserved at target 1."""
    m = _line_model(coverage_target=1.0, coverage_on="count", count_mask=np.array([True, False]))
    s = three_tier(m, time_limit_s=10).stream("a")
    assert s.served[0]
    assert s.coverage_count == 1.0


def test_force_open_and_forbidden():
    """A forced station opens even if useless; a forbidden village point never opens."""
    dem = np.zeros((1, 2))
    m = StreamModel("a", np.array([1.0]), (
        Tier(cost=dem, fixed_cost=np.array([1.0, 0.0]), forbidden=[1]),
        Tier(cost=np.zeros((2, 2)), fixed_cost=np.array([0.0, 5.0]), force_open=[1]),
        Tier(cost=np.zeros((2, 1))),
    ))
    sol = three_tier(m, time_limit_s=10)
    s = sol.stream("a")
    assert list(s.open[0]) == [0]
    assert list(s.open[1]) == [0, 1]
    assert s.assignment[2][1] == 0  # the forced station still sends to a centre
    assert sol.objective == pytest.approx(6.0)


def test_max_per_group_limits_stations():
    """At most one station per township: the second cheap station in township 0 stays closed."""
    dem_cost = np.array([[0.0, 100.0], [100.0, 0.0]])
    m = StreamModel("a", np.array([1.0, 1.0]), (
        Tier(cost=dem_cost, fixed_cost=1.0),
        Tier(cost=np.array([[0.0, 9e3], [9e3, 0.0]]), fixed_cost=1.0, rate_per_t_per_km=10.0,
             group=np.array([0, 0]), max_per_group=1),
        Tier(cost=np.zeros((2, 1))),
    ))
    s = three_tier(m, time_limit_s=10).stream("a")
    assert len(s.open[1]) == 1


def test_colocated_streams_pay_once():
    """film and pesticide_packaging at the same physical station pay its fixed cost once."""
    def model(name):
        return StreamModel(name, np.array([1.0]), (
            Tier(cost=np.zeros((1, 1)), site=np.array([0])),
            Tier(cost=np.zeros((1, 2)), fixed_cost=np.array([100.0, 60.0]), site=np.array([7, 8])),
            Tier(cost=np.zeros((2, 1)), site=np.array([9])),
        ))
    apart = three_tier([model("film"), model("pesticide_packaging")], time_limit_s=10)
    assert apart.objective == pytest.approx(120.0)
    shared = three_tier([model("film"), model("pesticide_packaging")],
                        share=[("film", "pesticide_packaging")], time_limit_s=10)
    assert shared.objective == pytest.approx(60.0)  # one site of 60 serves both streams
    assert list(shared.shared_sites[1]) == [8]
    assert shared.stream("film").fixed_cost_cny == pytest.approx(30.0)
    assert shared.fixed_cost_cny == pytest.approx(60.0)


def _brute_force(w, c1, c2, c3, f1, f2, f3, cap1, cap2, r1, rates, target, pen):
    """Enumerate every single-source plan of a tiny instance; return the least cost."""
    nd, n1 = c1.shape
    n2, n3 = c2.shape[1], c3.shape[1]
    best = math.inf
    for x in itertools.product(range(-1, n1), repeat=nd):
        if any(j >= 0 and c1[i, j] > r1 for i, j in enumerate(x)):
            continue
        served = np.array([j >= 0 for j in x])
        if w[served].sum() < target * w.sum() - 1e-9:
            continue
        load1 = np.zeros(n1)
        for i, j in enumerate(x):
            if j >= 0:
                load1[j] += w[i]
        if (load1 > cap1 + 1e-9).any():
            continue
        open1 = sorted({j for j in x if j >= 0})
        cost_a = (sum(f1[j] for j in open1) + pen * w[~served].sum()
                  + sum(rates[0] * w[i] * c1[i, j] / 1000 for i, j in enumerate(x) if j >= 0))
        for u in itertools.product(range(n2), repeat=len(open1)):
            load2 = np.zeros(n2)
            for j, k in zip(open1, u, strict=True):
                load2[k] += load1[j]
            if (load2 > cap2 + 1e-9).any():
                continue
            open2 = sorted(set(u))
            cost_b = cost_a + sum(f2[k] for k in open2) + sum(
                rates[1] * load1[j] * c2[j, k] / 1000 for j, k in zip(open1, u, strict=True))
            for v in itertools.product(range(n3), repeat=len(open2)):
                cost_c = cost_b + sum(f3[m] for m in set(v)) + sum(
                    rates[2] * load2[k] * c3[k, m] / 1000 for k, m in zip(open2, v, strict=True))
                best = min(best, cost_c)
    return best


def _tiny_random(seed: int, target: float) -> tuple[StreamModel, float]:
    """A 4-demand / 3-point / 2-station / 2-centre instance with capacities, a 7 km point radius,
    coverage ``target`` and a 5 CNY/t penalty, and its optimum by exhaustive enumeration."""
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 10_000, (4 + 3 + 2 + 2, 2))
    d = np.linalg.norm(pts[:, None] - pts[None], axis=2)
    c1, c2, c3 = d[:4, 4:7], d[4:7, 7:9], d[7:9, 9:11]
    w = rng.uniform(1, 10, 4)
    f1, f2, f3 = rng.uniform(0, 50, 3), rng.uniform(0, 200, 2), rng.uniform(0, 300, 2)
    cap1 = rng.uniform(10, 30, 3)
    cap2 = np.full(2, 25.0)
    r1, rates, pen = 7_000.0, (2.0, 1.0, 0.5), 5.0
    expected = _brute_force(w, c1, c2, c3, f1, f2, f3, cap1, cap2, r1, rates, target, pen)
    m = StreamModel("s", w, (
        Tier(cost=c1, capacity=cap1, fixed_cost=f1, radius=r1, rate_per_t_per_km=rates[0]),
        Tier(cost=c2, capacity=cap2, fixed_cost=f2, rate_per_t_per_km=rates[1]),
        Tier(cost=c3, fixed_cost=f3, rate_per_t_per_km=rates[2]),
    ), coverage_target=target, unserved_penalty_per_t=pen)
    return m, expected


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), target=st.sampled_from([1.0, 0.6]))
def test_matches_brute_force_on_tiny_instances(seed, target):
    """On random 4-demand / 3-point / 2-station / 2-centre instances with capacities, radius,
    partial coverage and penalties, the MIP optimum equals exhaustive enumeration."""
    m, expected = _tiny_random(seed, target)
    if not math.isfinite(expected):
        with pytest.raises(InfeasibleError):
            three_tier(m, time_limit_s=10, mip_gap=1e-9)
        return
    sol = three_tier(m, time_limit_s=10, mip_gap=1e-9)
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(expected, rel=1e-6, abs=1e-6)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), target=st.sampled_from([1.0, 0.6]))
def test_lp_guided_plan_is_feasible_and_lp_bounds_optimum(seed, target):
    """The LP-guided restricted MIP returns a plan no cheaper than the brute-force optimum and an
    LP value no dearer than it (a valid bound), on the same tiny random instances."""
    from netplan.siting._mip import Budget
    from netplan.siting._tt_heur import lp_guided
    from netplan.siting._tt_plan import price
    from netplan.siting._tt_prep import prepare

    m, expected = _tiny_random(seed, target)
    if not math.isfinite(expected):
        return
    sd, problems = prepare(m)
    assert not problems
    plans, lp_bound = lp_guided([sd], [], None, "scip", Budget.cpu(10.0, 5.0))
    assert lp_bound <= expected + 1e-6
    if plans is not None:
        assert price([sd], [], plans).total_cny >= expected - 1e-6


def test_min_open_counts_fewest_sites_holding_the_must_serve_tonnage():
    """min_open: must-serve 8 t/yr over capacities 5, 4, 3 needs 2 open sites; 10 t/yr over an
    uncapacitated tier needs 1; nothing to serve needs 0."""
    from netplan.siting._tt_build import min_open
    from netplan.siting._tt_prep import prepare

    c1 = np.array([[100.0, 200.0, 300.0], [100.0, 200.0, 300.0]])
    m = StreamModel("s", np.array([4.0, 4.0]), (
        Tier(cost=c1, capacity=np.array([5.0, 4.0, 3.0]), fixed_cost=1.0),
        Tier(cost=np.ones((3, 1)), fixed_cost=1.0),
    ))
    sd, problems = prepare(m)
    assert not problems
    assert min_open(sd) == [2, 1]
    m0 = StreamModel("s", np.array([4.0, 4.0]), m.tiers, coverage_target=0.0)
    assert min_open(prepare(m0)[0]) == [0, 0]
    sol = three_tier(m, time_limit_s=10, mip_gap=1e-9)
    assert sol.status == "optimal" and len(sol.streams[0].open[0]) == 2


def test_capacity_precheck_respects_at_most_per_group():
    """Two stations of 10 t in one township with at most one open hold 10 t, not 20: serving
    15 t is reported as a capacity shortfall before any solve."""
    import numpy as np
    import pytest as _pytest

    from netplan.errors import InfeasibleError
    from netplan.siting import StreamModel, Tier, three_tier

    w = np.array([5.0, 5.0, 5.0])
    t1 = Tier(cost=np.zeros((3, 3)), capacity=np.full(3, 100.0))
    t2 = Tier(cost=np.zeros((3, 2)), capacity=np.array([10.0, 10.0]), group=np.array([0, 0]),
              max_per_group=1)
    t3 = Tier(cost=np.zeros((2, 1)), capacity=np.array([100.0]))
    m = StreamModel(name="x", weights=w, tiers=(t1, t2, t3), coverage_target=1.0)
    with _pytest.raises(InfeasibleError, match="at-most-per-group"):
        three_tier(m, time_limit_s=5)


def _bin_packing_model() -> StreamModel:
    """Three 6 t villages, two points of 10 t each, all within reach: total capacity (20 t) holds
    the 18 t and every village fits a point, but single-sourced no point takes two villages."""
    return StreamModel("straw", np.array([6.0, 6.0, 6.0]), (
        Tier(cost=np.zeros((3, 2)), capacity=10.0, fixed_cost=1.0),
        Tier(cost=np.zeros((2, 1))),
    ))


def test_infeasible_beyond_the_prechecks_is_proven_not_timed_out():
    """A conflict the pre-checks cannot see (single sourcing against capacity) raises
    InfeasibleError saying what conflicts, instead of a time-out."""
    with pytest.raises(InfeasibleError) as ei:
        three_tier(_bin_packing_model(), time_limit_s=10)
    assert "single sourcing" in str(ei.value)
    assert "a plan exists if loads could split between sites" in str(ei.value)


def test_coverage_backoff_lowers_the_target_until_single_sourcing_fits():
    """The bin-packing model (3 × 6 t, two 10 t points) holds only 12 of 18 t single-sourced:
    with a back-off of 0.2 the target goes 1.0 → 0.8 (14.4 t, still none) → 0.6 (10.8 t) and two
    villages are served; the block records the planned target. Without it: InfeasibleError."""
    sol = three_tier(_bin_packing_model(), time_limit_s=10, coverage_backoff=0.2)
    assert sol.blocks[0].targets == pytest.approx((0.6,))
    assert (sol.stream("straw").assignment[0] >= 0).sum() == 2
    assert sorted(sol.stream("straw").open[0].tolist()) == [0, 1]
    for bad in (-0.1, 1.5):
        with pytest.raises(InputError, match="coverage_backoff"):
            three_tier(_bin_packing_model(), time_limit_s=10, coverage_backoff=bad)


def test_feasibility_phase_starts_the_mip_when_the_heuristic_fails(monkeypatch):
    """When the tier-by-tier heuristic finds no plan, a zero-objective solve supplies one and the
    costed MIP still reaches the optimum (two 5 t villages share one 10 t point: cost 1)."""
    import importlib

    tt = importlib.import_module("netplan.siting._tt_block")   # the block's phases
    calls = []

    def failing(*a, **k):
        calls.append(1)
        return None

    monkeypatch.setattr(tt, "heuristic", failing)
    m = StreamModel("straw", np.array([5.0, 5.0]), (
        Tier(cost=np.zeros((2, 2)), capacity=10.0, fixed_cost=1.0),
        Tier(cost=np.zeros((2, 1))),
    ))
    sol = three_tier(m, time_limit_s=10, lp_start=False)
    assert calls and sol.status == "optimal"
    assert sol.objective == pytest.approx(1.0)
    assert sorted(sol.stream("straw").assignment[0].tolist()) in ([0, 0], [1, 1])


def test_last_resort_finds_a_plan_when_every_phase_ran_out(monkeypatch):
    """A block whose phases end with no plan (a late block after others overran its safety stop:
    Xiping's household waste in bench_batch) still gets one: the tier-by-tier heuristic on its own
    work, past the safety stop; the plan is feasible and priced like any other."""
    import importlib

    from netplan.siting._mip import RunResult

    tt = importlib.import_module("netplan.siting._tt_block")
    monkeypatch.setattr(tt, "find_starts", lambda *a, **k: ([], -math.inf))
    monkeypatch.setattr(tt, "full_mip", lambda *a, **k: (
        RunResult("no_solution", math.nan, 0.0, math.inf, 0.0, False), []))
    m = StreamModel("straw", np.array([5.0, 5.0]), (
        Tier(cost=np.zeros((2, 2)), capacity=10.0, fixed_cost=1.0),
        Tier(cost=np.zeros((2, 1))),
    ))
    sol = three_tier(m, time_limit_s=5)
    assert sol.objective == pytest.approx(1.0)   # the heuristic puts both villages on one point
    assert (sol.stream("straw").assignment[0] >= 0).all()


def test_blocks_report_each_independent_model():
    """Streams not coupled by ``share`` are separate blocks, each with its own objective, bound
    and status; shared streams form one block; block objectives add up to the model's."""
    a, b, c = _line_model("a"), _line_model("b"), _line_model("c")
    sol = three_tier([a, b, c], share=[("b", "c")], time_limit_s=20)
    assert [blk.streams for blk in sol.blocks] == [("a",), ("b", "c")]
    assert all(blk.status == "optimal" and blk.gap <= 1e-4 for blk in sol.blocks)
    assert sum(blk.objective for blk in sol.blocks) == pytest.approx(sol.objective)
    assert sol.blocks[0].objective == pytest.approx(200 + 1000 + 400, rel=1e-6)


def test_what_would_help_names_the_binding_rules():
    """On the bin-packing conflict (three 6 t villages, two 10 t points), splitting loads or
    unlimited point capacity each gives a plan; the (uncapacitated) upper tier is not named."""
    from netplan.siting._tt_diag import what_would_help
    from netplan.siting._tt_prep import prepare

    sd, probs = prepare(_bin_packing_model())
    assert not probs
    helps = what_would_help([sd], [], None, "scip", 0, probe_s=5.0)
    assert any("split" in h for h in helps)
    assert any("tier 1 capacities were unlimited" in h for h in helps)
    assert not any("tier 2" in h for h in helps)
