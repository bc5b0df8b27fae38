"""The large-neighbourhood search of single-source three-tier blocks (``_tt_lns``, issue 16)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netplan.siting import StreamModel, Tier, three_tier
from netplan.siting._mip import Budget, clock
from netplan.siting._tt_heur import heuristic
from netplan.siting._tt_lns import _hood, _lower, _sweep, _upper, cost, improve, region, restrict
from netplan.siting._tt_plan import StreamPlan, plan_problem
from netplan.siting._tt_prep import prepare

KM = 1000.0


def _tiny() -> StreamModel:
    """Four demands of 10 t/yr; points P0 (demands 0, 1 at 1 km, 2, 3 at 5 km) and P1 (the
    mirror), 10 CNY/yr each; stations S0 (1 km from both points) and S1 (2 km), 100 CNY/yr;
    centres C0 (1,000 CNY/yr) and C1 (5,000 CNY/yr), 1 km from both stations; every
    capacity 100 t/yr, 1 CNY/(t·km) on every link, every demand must be served.

    Optimum (by hand): both points (a single one costs 2 x 10 t x 4 km = 80 extra transport
    for 10 saved), S0, C0: fixed 20 + 100 + 1,000, transport 40 t x 1 km at each of the three
    links = 120; total 1,240 CNY/yr."""
    d0 = np.array([[1, 5], [1, 5], [5, 1], [5, 1]]) * KM
    d1 = np.array([[1, 2], [1, 2]]) * KM
    d2 = np.array([[1, 1], [1, 1]]) * KM
    return StreamModel("straw", np.full(4, 10.0), (
        Tier(cost=d0, capacity=100.0, fixed_cost=10.0, rate_per_t_per_km=1.0),
        Tier(cost=d1, capacity=100.0, fixed_cost=100.0, rate_per_t_per_km=1.0),
        Tier(cost=d2, capacity=100.0, fixed_cost=np.array([1000.0, 5000.0]),
             rate_per_t_per_km=1.0),
    ), coverage_target=1.0, coverage_on="weight")


def _bad_start() -> StreamPlan:
    """Every demand through P0 (demands 2, 3 over 5 km), P0 to S1, S1 to the dear C1 (plus P1
    open and idle): 20 + 100 + 5,000 fixed, 20 + 100 + 80 + 40 transport = 5,360 CNY/yr."""
    return StreamPlan(
        opens=[np.array([True, True]), np.array([False, True]), np.array([False, True])],
        assigns=[np.zeros(4, dtype=int), np.array([1, 1]), np.array([-1, 1])])


def test_tiny_instance_reaches_the_hand_checked_optimum_from_a_bad_start():
    sd = prepare(_tiny())[0]
    start = _bad_start()
    assert plan_problem(sd, start) is None
    assert cost(sd, start) == 5360.0
    got = improve(sd, start, Budget(5.0, clock() + 60.0), seed=0)
    assert got is not None and plan_problem(sd, got) is None
    assert abs(cost(sd, got) - 1240.0) < 1e-6
    assert [np.flatnonzero(o).tolist() for o in got.opens] == [[0, 1], [0], [0]]
    assert got.assigns[0].tolist() == [0, 0, 1, 1]
    # the whole model agrees (proven optimal)
    assert abs(three_tier([_tiny()], time_limit_s=20.0).objective - 1240.0) < 1e-6


def test_restricted_model_keeps_the_incumbent_and_fixes_the_rest():
    """A region around S0 alone frees S0, every centre and S1's link up; P0, P1 (served by
    S1, outside the region) stay open and keep their demands and their links."""
    sd = prepare(_tiny())[0]
    start = _bad_start()
    fo, fs = region(sd, start, 1, np.array([True, False]), top_free=True)
    sub = restrict(sd, start, fo, fs)
    assert plan_problem(sub, start) is None
    assert sub.tiers[1].forced.tolist() == [False, True]        # S1 open, not free
    assert sub.tiers[0].forced.tolist() == [True, True]
    assert len(sub.tiers[0].pa) == 4                             # one link per demand
    assert sub.tiers[1].pa.tolist() == [0, 1] and sub.tiers[1].pb.tolist() == [1, 1]
    assert len(sub.tiers[2].pa) == 4                             # the top tier is free


def _random_model(seed: int) -> StreamModel:
    rng = np.random.default_rng(seed)
    n_dem, n_pt, n_st, n_c = 24, 10, 5, 3
    dem, pt, st_, ce = (rng.random((n, 2)) * 10_000 for n in (n_dem, n_pt, n_st, n_c))

    def dist(a, b, radius=None):
        d = np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1))
        return np.where(d <= radius, d, np.inf) if radius else d

    return StreamModel("straw", rng.uniform(5, 40, n_dem), (
        Tier(cost=dist(dem, pt, 5000), capacity=200.0, fixed_cost=rng.uniform(300, 600, n_pt),
             rate_per_t_per_km=2.0),
        Tier(cost=dist(pt, st_, 8000), capacity=400.0, fixed_cost=rng.uniform(2000, 4000, n_st),
             rate_per_t_per_km=1.2),
        Tier(cost=dist(st_, ce), capacity=700.0, fixed_cost=rng.uniform(8000, 12000, n_c),
             rate_per_t_per_km=0.6),
    ), coverage_target=float(rng.choice([0.7, 0.9, 1.0])), coverage_on="weight",
        unserved_penalty_per_t=60.0)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), lns_seed=st.integers(0, 3))
def test_improve_returns_a_feasible_plan_never_dearer_than_its_start(seed, lns_seed):
    sd = prepare(_random_model(seed))[0]
    start = heuristic(sd, "scip", Budget(0.2, clock() + 30.0), seed=0)
    if start is None:   # no start plan: nothing to improve
        return
    got = improve(sd, start, Budget(1.0, clock() + 30.0), seed=lns_seed)
    if got is None:
        return
    assert plan_problem(sd, got) is None
    assert cost(sd, got) < cost(sd, start)


def test_same_inputs_and_seed_give_the_same_plan():
    sd = prepare(_random_model(7))[0]
    start = heuristic(sd, "scip", Budget(0.2, clock() + 30.0), seed=0)
    plans = [improve(sd, start, Budget(1.5, clock() + 60.0), seed=1) for _ in range(2)]
    if plans[0] is None:
        assert plans[1] is None
        return
    for a, b in zip(plans[0].opens + plans[0].assigns, plans[1].opens + plans[1].assigns,
                    strict=True):
        assert np.array_equal(a, b)


def test_lower_tiers_neighbourhood_fixes_the_upper_tiers_and_reaches_the_optimum():
    """Stations and centres already optimal (S0, C0), every demand through P0 (demands 2, 3
    over 5 km, P1 closed): the lower-tiers neighbourhood (points free, S0 and C0 fixed) opens
    P1 and reaches the hand-checked optimum 1,240 CNY/yr without touching the tiers above."""
    sd = prepare(_tiny())[0]
    start = StreamPlan(
        opens=[np.array([True, False]), np.array([True, False]), np.array([True, False])],
        assigns=[np.zeros(4, dtype=int), np.array([0, -1]), np.array([0, -1])])
    assert plan_problem(sd, start) is None
    c0 = cost(sd, start)
    assert c0 == 10 + 100 + 1000 + (20 + 100) + 40 + 40
    fo, fs = _lower(sd)
    sub = restrict(sd, start, fo, fs, nearest=1)
    assert sub.tiers[1].forced.tolist() == [True, False] and not sub.tiers[1].alive[1]
    assert sub.tiers[2].forced.tolist() == [True, False] and not sub.tiers[2].alive[1]
    got, c = _hood(sd, start, c0, fo, fs, 5.0, Budget(5.0, clock() + 60.0), seed=0)
    assert abs(c - 1240.0) < 1e-6 and plan_problem(sd, got) is None
    assert [np.flatnonzero(o).tolist() for o in got.opens] == [[0, 1], [0], [0]]


def test_restricted_links_keep_every_open_candidate_beyond_the_nearest():
    """With ``nearest=1`` a freed station keeps its nearest centre and, with ``open_links``, its
    link to every centre open in the plan (domestic waste's one centre is the 7th-14th nearest
    of most stations on the demo county)."""
    sd = prepare(_tiny())[0]
    start = _bad_start()                         # C1 open; S0 closed and freed below
    fo, fs = _upper(sd)
    top = restrict(sd, start, fo, fs, nearest=1, open_links=True).tiers[2]
    assert top.pb[top.pa == 0].tolist() == [0, 1]    # S0: nearest C0 and the open C1
    assert top.pb[top.pa == 1].tolist() == [0, 1]    # S1: nearest C0 and its own link to C1
    top = restrict(sd, start, fo, fs, nearest=1).tiers[2]
    assert top.pb[top.pa == 0].tolist() == [0]


def test_sweep_from_a_bad_start_reaches_the_optimum():
    """The tier sweeps alone (lower, upper, ... until both fail) reach 1,240 CNY/yr from the
    5,360 CNY/yr start."""
    sd = prepare(_tiny())[0]
    start = _bad_start()
    got, c = _sweep(sd, start, cost(sd, start), Budget(5.0, clock() + 60.0), seed=0)
    assert abs(c - 1240.0) < 1e-6 and plan_problem(sd, got) is None
