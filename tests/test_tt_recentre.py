"""The top-tier re-choice of ``_tt_recentre``: only ever a cheaper feasible plan with the start's
first tier, never below the enumerated optimum, deterministic, and it finds the cheaper centre
where the start opened a far one (or two small ones where one large one does)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_tt_bound_lagr import enumerated_case

from netplan.siting import StreamModel, Tier
from netplan.siting._mip import Budget, clock
from netplan.siting._tt_heur import heuristic
from netplan.siting._tt_lns import cost
from netplan.siting._tt_plan import StreamPlan, plan_problem
from netplan.siting._tt_prep import prepare
from netplan.siting._tt_recentre import moves, recentre


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_dem=st.integers(2, 4), n1=st.integers(1, 3),
       n2=st.integers(1, 2), n3=st.integers(1, 3), target=st.sampled_from([0.0, 0.6, 1.0]),
       work=st.sampled_from([0.01, 1.0]), tier=st.sampled_from([None, 1]))
def test_recentre_gives_a_cheaper_feasible_plan_or_none(seed, n_dem, n1, n2, n3, target, work,
                                                        tier):
    """From the tier heuristic's plan of a tiny random model, searching the centres' or the
    stations' set: None, or a feasible plan strictly cheaper than the start, with the start's
    first tier, never below the enumerated optimum."""
    case = enumerated_case(seed, n_dem, n1, n2, n3, target)
    if case is None:
        return
    sd, opt, tol = case
    start = heuristic(sd, "scip", Budget(5.0, clock() + 60.0))
    if start is None:
        return
    c0 = cost(sd, start)
    b = Budget(work, clock() + 60.0)
    p = recentre(sd, start, b, tier=tier)
    assert b.work <= work
    if p is None:
        return
    assert plan_problem(sd, p) is None
    assert cost(sd, p) < c0
    assert cost(sd, p) >= opt - tol
    assert np.array_equal(p.opens[0], start.opens[0])
    assert np.array_equal(p.assigns[0], start.assigns[0])


def _two_centres(cap: list[float], fixed: list[float], far_m: list[float]) -> StreamModel:
    """Two villages (10 t/yr each) at one point and one station; centres ``far_m`` metres from
    the station."""
    tiers = (Tier(cost=np.zeros((2, 1)), capacity=100.0, fixed_cost=1.0, rate_per_t_per_km=1.0),
             Tier(cost=np.zeros((1, 1)), capacity=100.0, fixed_cost=1.0, rate_per_t_per_km=1.0),
             Tier(cost=np.array([far_m]), capacity=np.array(cap), fixed_cost=np.array(fixed),
                  rate_per_t_per_km=1.0))
    return StreamModel(name="c", weights=np.array([10.0, 10.0]), tiers=tiers,
                       coverage_target=1.0)


def _plan(centre: int, n_centres: int) -> StreamPlan:
    opens = [np.array([True]), np.array([True]), np.arange(n_centres) == centre]
    return StreamPlan(opens=opens, assigns=[np.array([0, 0]), np.array([0]), np.array([centre])])


def test_recentre_moves_the_centre_next_to_the_station():
    """Start at the centre 50 km away (1,000 CNY/yr of haulage); the one at the station costs
    the same to build: the re-choice swaps them, and does so the same way twice."""
    sd, problems = prepare(_two_centres([100.0, 100.0], [500.0, 500.0], [50_000.0, 0.0]))
    assert not problems
    start = _plan(0, 2)
    assert plan_problem(sd, start) is None
    p = recentre(sd, start, Budget(1.0, clock() + 60.0))
    assert p is not None and p.opens[2].tolist() == [False, True]
    assert cost(sd, p) == cost(sd, start) - 1000.0
    q = recentre(sd, start, Budget(1.0, clock() + 60.0))
    assert all(np.array_equal(a, b) for a, b in zip(p.opens + p.assigns, q.opens + q.assigns,
                                                    strict=True))


def test_moves_keep_forced_sites_and_list_each_set_once():
    """Single moves: swaps, closings, openings; wide: two-for-one; a forced site never leaves."""
    alive = np.array([True, True, True, True, False])
    forced = np.array([True, False, False, False, False])
    single = moves(frozenset({0, 1}), alive, forced)
    assert frozenset({0, 2}) in single and frozenset({0}) in single
    assert frozenset({0, 1, 3}) in single and frozenset({1}) not in single
    assert all(4 not in s for s in single) and len(single) == len(set(single))
    wide = moves(frozenset({0, 1, 2}), alive, forced, wide=True)
    assert wide == [frozenset({0, 3})]


def test_recentre_of_the_stations_moves_the_far_station():
    """Two stations, the start's 50 km from the point (1,000 CNY/yr of haulage), the other at
    it, both as dear to build: the stations' re-choice (``tier=1``) swaps them; the centres'
    (default) finds nothing to gain."""
    tiers = (Tier(cost=np.zeros((2, 1)), capacity=100.0, fixed_cost=1.0, rate_per_t_per_km=1.0),
             Tier(cost=np.array([[50_000.0, 0.0]]), capacity=100.0, fixed_cost=500.0,
                  rate_per_t_per_km=1.0),
             Tier(cost=np.zeros((2, 1)), capacity=100.0, fixed_cost=1.0, rate_per_t_per_km=1.0))
    sd, problems = prepare(StreamModel(name="s", weights=np.array([10.0, 10.0]), tiers=tiers,
                                       coverage_target=1.0))
    assert not problems
    start = StreamPlan(opens=[np.array([True]), np.array([True, False]), np.array([True])],
                       assigns=[np.array([0, 0]), np.array([0]), np.array([0, -1])])
    assert plan_problem(sd, start) is None
    assert recentre(sd, start, Budget(1.0, clock() + 60.0)) is None
    p = recentre(sd, start, Budget(1.0, clock() + 60.0), tier=1)
    assert p is not None and p.opens[1].tolist() == [False, True]
    assert cost(sd, p) == cost(sd, start) - 1000.0
