"""Work limits of a three_tier block's phases (issue 16, demo_hills over its time limit): the
block LP and the HiGHS MIP roots are tried only when a size estimate of their work fits the
phase's work (a deterministic decision: the same model decides the same way on any machine
load), and the tier sub-MIPs' SCIP roots stop after a fixed number of separation rounds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_determinism import _random_three_tier

from netplan.siting import _tt_block, _tt_heur
from netplan.siting._mip import Budget, clock, make_solver
from netplan.siting._tt_block import Options, find_starts, full_mip, solve_block
from netplan.siting._tt_prep import prepare

#: an estimate per squared size that makes every LP and MIP root of the small instance unpayable
HUGE = 1.0


@pytest.fixture(scope="module")
def sd():
    """A random single-source three-tier stream (45 villages, 20 points, 6 stations, 3 centres)."""
    data, problems = prepare(_random_three_tier(7))
    assert not problems
    return data


def _budget(work: float) -> Budget:
    return Budget(work=work, deadline=clock() + 120.0)


def test_lp_work_is_a_size_estimate_summed_over_streams(sd):
    size = _tt_heur.stream_size(sd)
    assert size == sum(len(td.pa) for td in sd.tiers) + len(sd.w)
    one = _tt_heur.lp_work([sd])
    assert one == pytest.approx(_tt_heur.LP_UNITS_PER_SIZE2 * size**2)
    assert _tt_heur.lp_work([sd, sd]) == pytest.approx(2 * one)
    root = _tt_heur.ROOT_FACTOR * one
    assert _tt_heur.root_fits([sd], root)
    assert not _tt_heur.root_fits([sd], 0.99 * root)


def test_lp_start_runs_when_paid_and_is_skipped_otherwise(sd, monkeypatch):
    """With the work to pay for it the LP-guided start solves the LP (a finite LP value); with an
    estimate above the work it is skipped and only the tier heuristic's plan starts."""
    starts, lp_val = find_starts([sd], [], "t", Options(), _budget(5.0))
    assert math.isfinite(lp_val) and len(starts) == 2
    monkeypatch.setattr(_tt_heur, "LP_UNITS_PER_SIZE2", HUGE)
    starts2, lp_val2 = find_starts([sd], [], "t", Options(), _budget(5.0))
    assert lp_val2 == -math.inf and len(starts2) == 1
    np.testing.assert_array_equal(starts2[0][0].assigns[0], starts[0][0].assigns[0])


def test_restricted_mip_root_needs_its_room(sd):
    """lp_guided's restricted MIP runs when its root fits ``root_work`` and not when it does not
    (the LP value is returned either way)."""
    plan = _tt_heur.heuristic(sd, "scip", _budget(0.5), 0)
    got, lp = _tt_heur.lp_guided([sd], [], None, "scip", _budget(2.0), 0, [plan], root_work=2.0)
    none, lp2 = _tt_heur.lp_guided([sd], [], None, "scip", _budget(2.0), 0, [plan],
                                   root_work=0.0)
    assert got is not None and none is None
    assert lp == lp2 and math.isfinite(lp)


def test_full_mip_skipped_when_its_root_cannot_be_paid(sd, monkeypatch):
    """A full MIP whose root estimate exceeds its work is not started (HiGHS is never called),
    its work is dropped and the starts stand, cheapest first."""
    starts, lp_val = find_starts([sd], [], "t", Options(), _budget(5.0))
    monkeypatch.setattr(_tt_heur, "LP_UNITS_PER_SIZE2", HUGE)

    def no_highs(*a, **k):
        raise AssertionError("the full MIP ran although its root cannot be paid")

    monkeypatch.setattr(_tt_block, "solve_highs", no_highs)
    budget = _budget(3.0)
    res, plans = full_mip([sd], [], list(reversed(starts)), lp_val, False, Options(), budget)
    assert res.status == "feasible" and res.bound == -math.inf and not res.has_solution
    assert budget.work == 0.0
    assert len(plans) == len(starts)


def test_gated_block_gives_the_same_plan_twice(sd, monkeypatch):
    """With every gate closed (LP, restricted and full MIP skipped) a block's plan is decided by
    work alone: two solves give the same plan and bound."""
    monkeypatch.setattr(_tt_heur, "LP_UNITS_PER_SIZE2", HUGE)
    a = solve_block([sd], "t", Options(), _budget(2.0))
    b = solve_block([sd], "t", Options(), _budget(2.0))
    assert a.best.total_cny == b.best.total_cny and a.bound == b.bound
    for x, y in zip(a.best.plans[0].assigns, b.best.plans[0].assigns, strict=True):
        np.testing.assert_array_equal(x, y)
    assert a.mip.nodes == 0


def test_scip_root_limit_is_a_valid_scip_setting(sd):
    """The tier sub-MIPs' root limit is accepted by SCIP (an unknown name would be refused and
    the limit silently lost), and the heuristic with it gives the same plan twice."""
    assert make_solver("scip").SetSolverSpecificParametersAsString(_tt_heur.SCIP_ROOT)
    p1 = _tt_heur.heuristic(sd, "scip", _budget(1.0), 0)
    p2 = _tt_heur.heuristic(sd, "scip", _budget(1.0), 0)
    for x, y in zip(p1.assigns, p2.assigns, strict=True):
        np.testing.assert_array_equal(x, y)
