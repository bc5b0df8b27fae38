"""Coverage targets beyond reach: ``relax_unreachable`` plans for exactly what can be reached."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netplan.errors import InfeasibleError
from netplan.siting import StreamModel, Tier, three_tier
from netplan.siting.relax import relax_unreachable


def _model(w, d0, *, target=1.0, on="count", cap0=100.0, radius0=10.0, d1=None, radius1=50.0):
    """Demands → points (cost ``d0``, radius ``radius0``) → one station (``d1``) → one centre."""
    w = np.asarray(w, dtype=float)
    d0 = np.asarray(d0, dtype=float)
    n_p = d0.shape[1]
    d1 = np.full((n_p, 1), 5.0) if d1 is None else np.asarray(d1, dtype=float)
    return StreamModel(
        name="film", weights=w, coverage_target=target, coverage_on=on,
        unserved_penalty_per_t=1000.0,
        tiers=(Tier(cost=d0, capacity=cap0, fixed_cost=10.0, radius=radius0, rate_per_t_per_km=1.0),
               Tier(cost=d1, capacity=1e6, fixed_cost=100.0, radius=radius1, rate_per_t_per_km=1.0),
               Tier(cost=np.array([[1.0]]), capacity=1e6, fixed_cost=0.0, rate_per_t_per_km=1.0)))


def test_reachable_target_is_kept():
    m = _model([1, 2], [[1, 50], [50, 1]])
    m2, r = relax_unreachable(m)
    assert r is None and m2 is m


def test_count_target_lowered_to_reachable_villages_and_plan_serves_them():
    """Village 2 is 50 m away from every point (radius 10): 2 of 3 villages can be served."""
    m = _model([1, 2, 4], [[1, 50], [50, 1], [50, 60]])
    with pytest.raises(InfeasibleError):
        three_tier(m, time_limit_s=10)
    m2, r = relax_unreachable(m)
    assert r is not None
    assert r.planned == pytest.approx(2 / 3) and r.target == 1.0
    assert r.left_out == (2,) and r.left_out_t == pytest.approx(4.0)
    assert "radius" in r.reasons[0]
    assert "planned for 66.7%" in r.summary()
    sol = three_tier(m2, time_limit_s=10)
    a = sol.stream("film").assignment[0]
    assert a[0] >= 0 and a[1] >= 0 and a[2] == -1


def test_heavy_village_gets_a_point_built_as_several_units():
    """Demand 1 (300 t) is heavier than any point (capacity 100, single source): the point nearest
    it may be built as 3 units (capacity 300, fixed cost 3 × 10); the target stays."""
    m = _model([100, 300], [[1, 2], [2, 1]], target=0.9, on="weight")
    with pytest.raises(InfeasibleError):
        three_tier(m, time_limit_s=10)
    m2, r = relax_unreachable(m)
    assert r is not None and r.modular == ((1, 1, 3),) and r.left_out == ()
    assert r.planned == r.target == 0.9
    assert "built as several units" in r.summary() and "beyond reach" not in r.summary()
    assert list(m2.tiers[0].capacity) == [100.0, 300.0] and list(m2.tiers[0].fixed_cost) == [10.0, 30.0]
    sol = three_tier(m2, time_limit_s=10)
    assert sol.stream("film").assignment[0].tolist() == [0, 1]


def test_weight_target_lowered_when_the_heavy_village_has_no_point_within_reach():
    """Demand 1 (300 t) reaches only point 1, which is forced open (existing): no units can be added,
    so the target is lowered to demand 0's share and demand 1 is named."""
    m = _model([100, 300], [[1, 50], [50, 1]], target=0.9, on="weight")
    m = dataclasses.replace(m, tiers=(dataclasses.replace(m.tiers[0], force_open=np.array([1])),
                                      *m.tiers[1:]))
    m2, r = relax_unreachable(m)
    assert r is not None and r.left_out == (1,) and r.modular == ()
    assert r.planned == pytest.approx(0.25)
    assert "exceeds the capacity" in r.reasons[0]
    assert three_tier(m2, time_limit_s=10).stream("film").assignment[0][0] >= 0


def test_points_that_cannot_forward_leave_their_villages_out():
    """Point 1 is beyond the station radius: its only village cannot be served."""
    m = _model([1, 1], [[1, 50], [50, 1]], d1=[[5.0], [500.0]])
    m2, r = relax_unreachable(m)
    assert r is not None and r.left_out == (1,)
    assert "forward" in r.reasons[0]
    assert three_tier(m2, time_limit_s=10).stream("film").assignment[0][1] == -1


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), on=st.sampled_from(["weight", "count"]),
       target=st.floats(0.3, 1.0))
def test_relaxed_model_always_has_a_plan_meeting_its_target(seed, on, target):
    """Random villages on a line, points within a short radius (capacities not binding): the
    relaxed model always plans, and its plan serves at least the planned share."""
    rng = np.random.default_rng(seed)
    n, k = 8, 3
    xv, xp = rng.uniform(0, 100, n), rng.uniform(0, 100, k)
    d0 = np.abs(xv[:, None] - xp[None, :])
    w = rng.uniform(1, 60, n)
    m = _model(w, d0, target=target, on=on, cap0=float(w.sum()), radius0=15.0)
    m2, r = relax_unreachable(m)
    sol = three_tier(m2, time_limit_s=10)
    served = sol.stream("film").assignment[0] >= 0
    share = w[served].sum() / w.sum() if on == "weight" else served.mean()
    assert share >= m2.coverage_target - 1e-9
    if r is not None:
        assert r.planned < r.target
        assert not served[list(r.left_out)].any()
