"""The bound of ``_tt_decomp`` (points' part + the upper model's top-tier tree) is valid: never
above the optimum found by enumerating every assignment of tiny three-tier models (generator
and enumeration of test_tt_bound_lagr), and it lifts a hand-made case where the LP spreads the
stations."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_tt_bound_lagr import _optimum, enumerated_case

from netplan.siting import StreamModel, Tier
from netplan.siting._mip import Budget, clock
from netplan.siting._tt_bound import lp_bound, single_source_bound
from netplan.siting._tt_decomp import points_bound, points_part, split_bound, upper_model
from netplan.siting._tt_heur import heuristic
from netplan.siting._tt_lns import cost
from netplan.siting._tt_prep import prepare


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_dem=st.integers(2, 4), n1=st.integers(1, 3),
       n2=st.integers(1, 2), n3=st.integers(1, 3), target=st.sampled_from([0.0, 0.6, 1.0]),
       work=st.sampled_from([0.001, 0.05, 5.0]), lift=st.sampled_from([1.0, 1.3]))
def test_split_bound_never_exceeds_the_enumerated_optimum(seed, n_dem, n1, n2, n3, target,
                                                          work, lift):
    """At any work, with the optimum or a dearer value as incumbent and a plan's points part
    (or none) as the Lagrangian's target: the split bound, its points part and
    ``single_source_bound(split=...)`` are at most the enumerated optimum."""
    case = enumerated_case(seed, n_dem, n1, n2, n3, target)
    if case is None:
        return
    sd, opt, tol = case
    inc = opt * lift + 1.0
    plan = heuristic(sd, "scip", Budget(5.0, clock() + 60.0))
    pts = points_part(sd, plan) if plan is not None else 0.0
    b = split_bound(sd, inc, pts, work, clock() + 60.0)
    assert b <= opt + tol
    assert points_bound(sd, pts) <= opt + tol
    assert single_source_bound([sd], [], None, inc, clock() + 60.0, split_work=work,
                               points_cny=pts) <= opt + tol
    up = upper_model(sd)
    assert len(up.tiers) == len(sd.tiers) - 1


def _far_stations() -> StreamModel:
    """Two villages (10 t/yr) 40 km apart, each at its own point; a station by each point (100
    CNY/yr, 20 t/yr) and one centre by the first station. Each station holds both villages;
    every plan opens one station or both (a village sent 40 km to the other's station costs
    400 CNY/yr, as the second station's 100 does not)."""
    far = 40_000.0
    tiers = (Tier(cost=np.array([[0.0, np.inf], [np.inf, 0.0]]), capacity=100.0, fixed_cost=0.0,
                  rate_per_t_per_km=1.0),
             Tier(cost=np.array([[0.0, far], [far, 0.0]]), capacity=20.0, fixed_cost=100.0,
                  rate_per_t_per_km=1.0),
             Tier(cost=np.array([[0.0], [0.0]]), capacity=100.0, fixed_cost=0.0,
                  rate_per_t_per_km=1.0))
    return StreamModel(name="far", weights=np.array([10.0, 10.0]), tiers=tiers)


def test_split_bound_proves_the_optimum_of_a_hand_case():
    """Hand check: the optimum opens both stations (200 CNY/yr); the split bound (the points'
    part is free here, the upper model's tree closes) proves 200, as the block LP does."""
    m = _far_stations()
    sd, problems = prepare(m)
    assert not problems
    opt = _optimum(m)
    assert math.isclose(opt, 200.0)
    assert lp_bound([sd], [], None) <= opt + 1e-6
    plan = heuristic(sd, "scip", Budget(5.0, clock() + 60.0))
    assert plan is not None and math.isclose(cost(sd, plan), opt)
    b = split_bound(sd, opt + 50.0, points_part(sd, plan), 1.0, clock() + 60.0)
    assert math.isclose(b, opt, rel_tol=1e-6)
