"""Multi-source three_tier (``StreamModel.single_source=False``): split demand and flows, checked
by hand, against a brute force over open sets, and on Fernandes et al. (2014) two-stage CFLP
instances with proven optimal values (tests/data/tscflp/PROVENANCE.md)."""

from __future__ import annotations

import importlib
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from netplan.errors import InfeasibleError
from netplan.siting import StreamModel, Tier, three_tier
from netplan.siting.instances import read_tscflp, tscflp_model

DATA = Path(__file__).parent / "data" / "tscflp"


def _split_model(single_source: bool) -> StreamModel:
    """Three demands of 6 t/yr; village points 0 and 1 hold 10 t/yr for 100 CNY/yr each, point 2
    holds 10 t/yr for 1000 CNY/yr; all links 1 km at 1 CNY/(t·km); one free centre 0 m away."""
    w = np.array([6.0, 6.0, 6.0])
    return StreamModel("s", w, (
        Tier(cost=np.full((3, 3), 1000.0), capacity=np.full(3, 10.0),
             fixed_cost=np.array([100.0, 100.0, 1000.0]), rate_per_t_per_km=1.0),
        Tier(cost=np.zeros((3, 1)), rate_per_t_per_km=1.0),
    ), single_source=single_source)


def test_multi_source_splits_a_demand_where_single_source_must_open_a_third_point():
    """Single source fits one 6 t demand per 10 t point, so all three points open:
    1200 + 18 = 1218 CNY/yr. Split, points 0 and 1 hold the 18 t (one demand split 4 + 2):
    200 + 18 = 218 CNY/yr; the split demand's assignment is its larger share."""
    single = three_tier(_split_model(True), time_limit_s=10, mip_gap=1e-9)
    multi = three_tier(_split_model(False), time_limit_s=10, mip_gap=1e-9)
    assert single.status == "optimal" and single.objective == pytest.approx(1218.0)
    assert multi.status == "optimal" and multi.objective == pytest.approx(218.0)
    ss = multi.streams[0]
    assert list(ss.open[0]) == [0, 1]
    src, dst, amt = ss.flow_t[0]
    assert np.bincount(src, weights=amt, minlength=3) == pytest.approx([6.0, 6.0, 6.0])
    counts = np.bincount(src, minlength=3)
    assert counts.max() == 2 and counts.sum() == 4          # exactly one demand is split
    i = int(np.argmax(counts))
    big = dst[src == i][np.argmax(amt[src == i])]
    assert ss.assignment[0][i] == big
    assert ss.load_t[0][:2] == pytest.approx(np.bincount(dst, weights=amt, minlength=3)[:2])
    assert ss.load_t[0].max() <= 10.0 + 1e-6
    assert ss.served.all() and ss.coverage_weight == pytest.approx(1.0)


def test_single_source_flows_match_assignments():
    """With single sourcing each demand appears once in ``flow_t[0]``, carrying its whole weight
    to its assigned point, and tier-2 flows carry the points' loads."""
    sol = three_tier(_split_model(True), time_limit_s=10, mip_gap=1e-9)
    ss = sol.streams[0]
    src, dst, amt = ss.flow_t[0]
    assert sorted(src.tolist()) == [0, 1, 2]
    assert (ss.assignment[0][src] == dst).all() and amt == pytest.approx([6.0, 6.0, 6.0])
    src2, _, amt2 = ss.flow_t[1]
    assert amt2 == pytest.approx(ss.load_t[0][src2])


def test_multi_source_demand_heavier_than_every_point_is_split_and_too_heavy_is_infeasible():
    """A 15 t/yr demand fits no 10 t/yr point whole: single sourcing is infeasible, splitting
    over two points serves it; 25 t/yr exceeds their 20 t/yr together and is reported."""
    def model(w: float, single: bool) -> StreamModel:
        return StreamModel("s", np.array([w]), (
            Tier(cost=np.array([[1000.0, 2000.0]]), capacity=np.array([10.0, 10.0]),
                 fixed_cost=5.0, rate_per_t_per_km=1.0),
            Tier(cost=np.zeros((2, 1)), rate_per_t_per_km=1.0),
        ), single_source=single)

    with pytest.raises(InfeasibleError):
        three_tier(model(15.0, True), time_limit_s=5)
    sol = three_tier(model(15.0, False), time_limit_s=5, mip_gap=1e-9)
    # 10 t over 1 km + 5 t over 2 km + two fixed costs of 5
    assert sol.objective == pytest.approx(10.0 + 10.0 + 10.0)
    assert sol.streams[0].assignment[0][0] == 0
    with pytest.raises(InfeasibleError) as exc:
        three_tier(model(25.0, False), time_limit_s=5)
    assert "summed capacity" in str(exc.value.unservable[0].reason)


def _lp_price(o1a, o2a, w, c1, c2, f1, f2, cap1, cap2, rates, target, penalty) -> float:
    """Cost of the open sets ``o1a``, ``o2a`` (bool masks): fixed costs plus flows by LP
    (linprog); inf when they cannot carry the demand."""
    n, m1, m2 = len(w), len(f1), len(f2)
    # variables: x (n*m1) tonnes demand->point, f (m1*m2) tonnes point->centre, u (n) unserved
    nx, nf = n * m1, m1 * m2
    cost = np.concatenate([(rates[0] * c1 / 1000.0).ravel(),
                           (rates[1] * c2 / 1000.0).ravel(), np.full(n, penalty)])
    ub = np.concatenate([np.repeat(o1a[None, :], n, 0).ravel() * np.repeat(w, m1),
                         np.repeat(o2a[None, :], m1, 0).ravel() * 1e9, w])
    a_eq, b_eq = [], []
    for i in range(n):   # served + unserved = w
        row = np.zeros(nx + nf + n)
        row[i * m1:(i + 1) * m1] = 1.0
        row[nx + nf + i] = 1.0
        a_eq.append(row)
        b_eq.append(w[i])
    for j in range(m1):  # point inflow = outflow
        row = np.zeros(nx + nf + n)
        row[j:nx:m1] = 1.0
        row[nx + j * m2:nx + (j + 1) * m2] = -1.0
        a_eq.append(row)
        b_eq.append(0.0)
    a_ub, b_ub = [], []
    for j in range(m1):
        row = np.zeros(nx + nf + n)
        row[j:nx:m1] = 1.0
        a_ub.append(row)
        b_ub.append(cap1[j])
    for k in range(m2):
        row = np.zeros(nx + nf + n)
        row[nx + k:nx + nf:m2] = 1.0
        a_ub.append(row)
        b_ub.append(cap2[k])
    row = np.zeros(nx + nf + n)   # coverage: unserved <= (1 - target) * total
    row[nx + nf:] = 1.0
    a_ub.append(row)
    b_ub.append((1.0 - target) * w.sum())
    r = linprog(cost, A_ub=np.array(a_ub), b_ub=b_ub, A_eq=np.array(a_eq), b_eq=b_eq,
                bounds=list(zip(np.zeros(len(ub)), ub, strict=True)), method="highs")
    if r.status != 0:
        return math.inf
    return r.fun + float(np.dot(f1, o1a)) + float(np.dot(f2, o2a))


def _open_sets(m1: int, m2: int):
    for o1 in itertools.product([0, 1], repeat=m1):
        for o2 in itertools.product([0, 1], repeat=m2):
            yield np.array(o1, bool), np.array(o2, bool)


def _brute_multi(w, c1, c2, f1, f2, cap1, cap2, rates, target, penalty) -> float:
    """Optimum of the two-tier multi-source model: every open set, flows by LP (linprog)."""
    return min(_lp_price(o1a, o2a, w, c1, c2, f1, f2, cap1, cap2, rates, target, penalty)
               for o1a, o2a in _open_sets(len(f1), len(f2)))


def _tiny_multi(seed: int):
    """A random two-tier instance: 4 demands, 3 village points, 2 centres (coordinates in m)."""
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 10_000, (4 + 3 + 2, 2))
    d = np.linalg.norm(pts[:, None] - pts[None], axis=2)
    c1, c2 = d[:4, 4:7], d[4:7, 7:9]
    w = rng.uniform(1, 10, 4).round(1)
    f1, f2 = rng.uniform(0, 50, 3).round(), rng.uniform(0, 200, 2).round()
    cap1 = rng.uniform(6, 20, 3).round()
    cap2 = np.full(2, 25.0)
    return w, c1, c2, f1, f2, cap1, cap2, (2.0, 1.0)


def _tiny_model(inst, single: bool) -> StreamModel:
    w, c1, c2, f1, f2, cap1, cap2, rates = inst
    return StreamModel("s", w, (
        Tier(cost=c1, capacity=cap1, fixed_cost=f1, rate_per_t_per_km=rates[0]),
        Tier(cost=c2, capacity=cap2, fixed_cost=f2, rate_per_t_per_km=rates[1]),
    ), single_source=single)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_multi_source_matches_brute_force_and_never_costs_more_than_single_source(seed):
    """On tiny random two-tier instances with every demand to be served, the multi-source optimum
    equals a brute force (every open set, flows by LP) and is never dearer than single sourcing."""
    inst = _tiny_multi(seed)
    w, c1, c2, f1, f2, cap1, cap2, rates = inst
    expected = _brute_multi(w, c1, c2, f1, f2, cap1, cap2, rates, 1.0, 0.0)
    if not math.isfinite(expected):
        with pytest.raises(InfeasibleError):
            three_tier(_tiny_model(inst, False), time_limit_s=10)
        return
    multi = three_tier(_tiny_model(inst, False), time_limit_s=10, mip_gap=1e-9)
    assert multi.status == "optimal"
    assert multi.objective == pytest.approx(expected, rel=1e-6, abs=1e-6)
    ss = multi.streams[0]
    assert ss.load_t[0].max() <= cap1.max() + 1e-6 and (ss.load_t[0] <= cap1 + 1e-6).all()
    assert ss.transport_cost_cny + ss.fixed_cost_cny == pytest.approx(multi.objective, rel=1e-6)
    try:
        single = three_tier(_tiny_model(inst, True), time_limit_s=10, mip_gap=1e-9)
    except InfeasibleError:
        return
    assert multi.objective <= single.objective + 1e-6


def _bks() -> dict[str, float]:
    out = {}
    for line in (DATA / "bks-50.txt").read_text().split("\n"):
        tok = line.split()
        if len(tok) >= 3:
            out[f"PSC{tok[1]}-C{tok[0]}"] = float(tok[2])
    return out


def test_read_tscflp_shapes_and_mapping_to_two_tiers():
    """read_tscflp returns the 200 demands, 50 plants and 100 satellites of PSC1-C1; the model maps
    satellite→customer unit costs (transposed) onto tier 1 and plant→satellite onto tier 2, with
    rate 1000 so that a cost d of the file is d / 1000 · 1000 per unit of flow."""
    data = read_tscflp(DATA / "PSC1-C1-50.txt.gz")
    demand, pcap, pfix, c_ps, scap, sfix, c_sc = data
    assert demand.shape == (200,) and pcap.shape == pfix.shape == (50,)
    assert c_ps.shape == (50, 100) and scap.shape == sfix.shape == (100,) and c_sc.shape == (100, 200)
    assert demand.sum() == 3008.0 and (pcap[0], pfix[0]) == (298.0, 27022.0)
    m = tscflp_model(data)
    assert not m.single_source and m.coverage_target == 1.0
    assert (m.tiers[0].cost == c_sc.T).all() and (m.tiers[1].cost == c_ps.T).all()
    assert m.tiers[0].rate_per_t_per_km == m.tiers[1].rate_per_t_per_km == 1000.0


def test_psc1_c1_reaches_and_proves_its_optimum():
    """PSC1-C1 (Fernandes et al. 2014): multi-source three_tier returns the proven optimum
    722178 with status optimal (HiGHS on the model without implied per-pair rows, ~6 CPU s)."""
    data = read_tscflp(DATA / "PSC1-C1-50.txt.gz")
    sol = three_tier(tscflp_model(data), time_limit_s=30, mip_gap=1e-6, heuristic_share=0.0)
    assert sol.objective == pytest.approx(_bks()["PSC1-C1"], abs=0.5)
    assert sol.status == "optimal" and sol.bound == pytest.approx(sol.objective, abs=0.5)
    ss = sol.streams[0]
    assert (ss.load_t[0] <= data[4] + 1e-6).all()
    assert (ss.load_t[1] <= data[1] + 1e-6).all()
    assert ss.served.all()


def test_psc2_c1_reaches_and_proves_its_optimum():
    """PSC2-C1: multi-source three_tier proves the optimum 732194 (~15 CPU s with HiGHS on the
    model without implied per-pair rows; SCIP on the model with all 25 k rows did not in 40 s),
    and the plan is feasible."""
    data = read_tscflp(DATA / "PSC2-C1-50.txt.gz")
    sol = three_tier(tscflp_model(data), time_limit_s=30, mip_gap=1e-6, heuristic_share=0.0)
    assert sol.objective == pytest.approx(_bks()["PSC2-C1"], abs=0.5)
    assert sol.status == "optimal" and sol.bound == pytest.approx(sol.objective, abs=0.5)
    ss = sol.streams[0]
    assert ss.served.all()
    assert (ss.load_t[0] <= data[4] + 1e-6).all() and (ss.load_t[1] <= data[1] + 1e-6).all()
    assert ss.fixed_cost_cny + ss.transport_cost_cny == pytest.approx(sol.objective, rel=1e-9)


def test_psc2_c1_bound_and_plan_bracket_the_proven_optimum_under_a_short_limit():
    """PSC2-C1 stopped after 6 s: the reported bound (LP, reduced-cost restriction) stays below the
    proven optimum 732194 and the returned plan, feasible (every customer served, capacities
    held), costs no less."""
    data = read_tscflp(DATA / "PSC2-C1-50.txt.gz")
    opt = _bks()["PSC2-C1"]
    sol = three_tier(tscflp_model(data), time_limit_s=6, heuristic_share=0.9)
    assert sol.bound <= opt + 0.5 <= sol.objective + 1.0
    ss = sol.streams[0]
    assert ss.served.all()
    assert (ss.load_t[0] <= data[4] + 1e-6).all() and (ss.load_t[1] <= data[1] + 1e-6).all()


def test_truncated_tscflp_file_is_named_in_an_input_error(tmp_path):
    """A Fernandes file shorter than its header promises raises InputError naming the file and
    the count expected, not a numpy reshape error."""
    from netplan.errors import InputError
    from netplan.siting.instances import read_tscflp

    f = tmp_path / "short.txt"
    f.write_text("2 3 4\n1\n2\n", encoding="utf-8")
    with pytest.raises(InputError) as ei:
        read_tscflp(f)
    assert "short.txt" in str(ei.value) and "expected 35 numbers" in str(ei.value)


def test_single_source_must_be_a_bool():
    """single_source='no' (truthy!) is rejected with the field named instead of read as True."""
    from netplan.errors import InputError

    m = StreamModel("s", np.array([1.0]), (Tier(cost=np.zeros((1, 1))),), single_source="no")
    with pytest.raises(InputError, match="single_source"):
        three_tier(m, time_limit_s=2)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_flow_pricer_prices_every_open_set_like_an_lp_and_its_plan_is_feasible(seed):
    """The iterated local search prices an open set by min-cost flow: on tiny random instances
    that price equals fixed costs plus an LP's flows (linprog) for every one of the 32 open sets,
    and the plan of each priced set serves every demand within the capacities at that cost."""
    from netplan.siting._tt_ils import FlowPricer
    from netplan.siting._tt_plan import plan_flows
    from netplan.siting._tt_prep import prepare
    inst = _tiny_multi(seed)
    w, c1, c2, f1, f2, cap1, cap2, rates = inst
    sd, _ = prepare(_tiny_model(inst, False), None)
    pr = FlowPricer(sd)
    for o1, o2 in _open_sets(3, 2):
        want = _lp_price(o1, o2, w, c1, c2, f1, f2, cap1, cap2, rates, 1.0, 0.0)
        got = pr.price([o1, o2])
        if not math.isfinite(want):
            assert got == math.inf
            continue
        assert got == pytest.approx(want, rel=1e-6)
        plan = pr.plan([o1, o2])
        (s0, d0, a0), (s1, d1, a1) = plan_flows(sd, plan)
        assert np.bincount(s0, weights=a0, minlength=4) == pytest.approx(w)
        load1 = np.bincount(d0, weights=a0, minlength=3)
        assert (load1 <= cap1 + 1e-6).all() and not (load1 > 1e-9)[~o1].any()
        assert np.bincount(s1, weights=a1, minlength=3) == pytest.approx(load1, abs=1e-6)
        load2 = np.bincount(d1, weights=a1, minlength=2)
        assert (load2 <= cap2 + 1e-6).all() and not (load2 > 1e-9)[~o2].any()
        transport = (float(np.dot(a0, c1[s0, d0])) * rates[0]
                     + float(np.dot(a1, c2[s1, d1])) * rates[1]) / 1000.0
        fixed = float(f1[o1].sum() + f2[o2].sum())
        assert fixed + transport == pytest.approx(want, rel=1e-6)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_local_search_from_all_open_reaches_the_brute_force_optimum(seed):
    """From every site open, the iterated local search (flip and swap descent, random swaps)
    ends at the brute-force optimum of a tiny instance (32 open sets)."""
    from netplan.siting._mip import clock
    from netplan.siting._tt_ils import FlowPricer, improve
    from netplan.siting._tt_prep import prepare
    inst = _tiny_multi(seed)
    w, c1, c2, f1, f2, cap1, cap2, rates = inst
    expected = _brute_multi(w, c1, c2, f1, f2, cap1, cap2, rates, 1.0, 0.0)
    sd, _ = prepare(_tiny_model(inst, False), None)
    plan = improve(sd, [np.ones(3, bool), np.ones(2, bool)], clock() + 30, seed=seed)
    if not math.isfinite(expected):
        assert plan is None
        return
    assert FlowPricer(sd).price(plan[0]) == pytest.approx(expected, rel=1e-6)


def test_three_tier_improves_a_time_limited_multi_source_plan_by_local_search(monkeypatch):
    """When the MIP of a multi-source block stops at its time limit (here: made to stop at once,
    with no plan, and the LP-guided start left out), three_tier searches the open sets around the
    tier heuristic's plan; the plan it returns is the brute-force optimum and the search ran once."""
    tt = importlib.import_module("netplan.siting._tt_block")   # the block's phases
    from netplan.siting import _tt_ils, three_tier
    from netplan.siting._mip import RunResult
    from netplan.siting._tt_prep import prepare
    inst = _tiny_multi(8)      # the tier heuristic's plan costs 486.4, the optimum 432.1
    expected = _brute_multi(*inst, 1.0, 0.0)
    calls = []
    real = _tt_ils.improve

    def spy(*args, **kw):
        calls.append(args[1])
        return real(*args, **kw)

    monkeypatch.setattr(tt, "solve_highs", lambda *a, **k: (
        RunResult("time_limit", math.nan, -math.inf, math.inf, 0.0, False), None))
    monkeypatch.setattr(tt, "lp_guided", lambda *a, **k: (None, -math.inf))
    monkeypatch.setattr(_tt_ils, "improve", spy)
    sol = three_tier(_tiny_model(inst, False), time_limit_s=10, mip_gap=1e-9,
                        heuristic_share=0.3)
    assert len(calls) == 1
    sd, _ = prepare(_tiny_model(inst, False), None)
    assert _tt_ils.FlowPricer(sd).price(calls[0]) > 1.1 * expected
    assert sol.status == "time_limit"
    assert sol.objective == pytest.approx(expected, rel=1e-6)


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_merge_step_solves_the_mip_restricted_to_the_kept_candidates(seed):
    """The local search's merge step (HiGHS on the MIP restricted to kept candidates) returns
    the cheapest plan among open sets within the kept candidates: the brute force over them."""
    from netplan.siting._tt_ils import FlowPricer, _merge
    from netplan.siting._tt_prep import prepare
    inst = _tiny_multi(seed)
    keep = [np.array([True, True, seed % 2 == 0]), np.array([True, seed % 3 != 0])]
    want = min(_lp_price(o1, o2, *inst, 1.0, 0.0) for o1, o2 in _open_sets(3, 2)
               if not (o1 & ~keep[0]).any() and not (o2 & ~keep[1]).any())
    sd, _ = prepare(_tiny_model(inst, False), None)
    pr = FlowPricer(sd)
    if not math.isfinite(want):
        return
    start = next([o1, o2] for o1, o2 in _open_sets(3, 2)
                 if np.array_equal(o1, keep[0]) and np.array_equal(o2, keep[1]))
    got = _merge(pr, keep, start, 10.0, seed, 1e-9)
    assert got is not None and not (got[0] & ~keep[0]).any() and not (got[1] & ~keep[1]).any()
    assert pr.price(got) == pytest.approx(want, rel=1e-6)
