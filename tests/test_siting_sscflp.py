"""Single-source CFLP engine (netplan.siting.sscflp): hand-checked, brute force, published, determinism."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netplan.errors import InputError
from netplan.siting import capacitated
from netplan.siting.instances import read_holmberg
from netplan.siting.sscflp import solve_sscflp

DATA = Path(__file__).parent / "data" / "siting"


def _brute(fixed, cap, q, cost, forced=None):
    """Cheapest feasible assignment by enumeration: (value, assign) or (inf, None)."""
    n, m = cost.shape
    forced = np.zeros(m, dtype=bool) if forced is None else forced
    best, arg = np.inf, None
    for a in itertools.product(range(m), repeat=n):
        a = np.array(a)
        if not np.isfinite(cost[np.arange(n), a]).all():
            continue
        if (np.bincount(a, weights=q, minlength=m) > cap + 1e-9).any():
            continue
        used = np.zeros(m, dtype=bool)
        used[a] = True
        val = fixed[used | forced].sum() + cost[np.arange(n), a].sum()
        if val < best - 1e-9:
            best, arg = val, a
    return best, arg


def _recost(r, fixed, cost, forced=None):
    used = np.zeros(len(fixed), dtype=bool)
    used[r.assign] = True
    if forced is not None:
        used |= forced
    return fixed[used].sum() + cost[np.arange(len(r.assign)), r.assign].sum()


def test_hand_checked_instance():
    """Two sites of capacity 10; demands 6, 5, 4. Site 0 is cheap to open but cannot take all.

    Plans: {0: c0, c2 | 1: c1} = 10 + 20 + (1 + 2 + 3) = 36 is the optimum (site 1 alone
    cannot hold 15, site 0 alone neither).
    """
    fixed = np.array([10.0, 20.0])
    cap = np.array([10.0, 10.0])
    q = np.array([6.0, 5.0, 4.0])
    cost = np.array([[1.0, 5.0], [4.0, 3.0], [2.0, 6.0]])
    r = solve_sscflp(fixed, cap, q, cost, time_limit_s=10)
    assert r.status == "optimal"
    assert r.objective == pytest.approx(36.0)
    assert list(r.assign) == [0, 1, 0]
    assert list(r.open) == [0, 1]
    assert r.bound == pytest.approx(36.0)
    assert r.gap == 0.0


def test_forced_forbidden_and_pairs():
    """Forced sites pay their fixed cost, forbidden sites and inf pairs are never used."""
    fixed = np.array([10.0, 20.0, 1.0])
    cap = np.array([20.0, 20.0, 20.0])
    q = np.array([6.0, 5.0, 4.0])
    cost = np.array([[1.0, 5.0, 0.0], [4.0, 3.0, 0.0], [np.inf, 6.0, 0.0]])
    forced = np.array([False, True, False])
    banned = np.array([False, False, True])
    r = solve_sscflp(fixed, cap, q, cost, forced_open=forced, forbidden=banned, time_limit_s=10)
    best, _ = _brute(fixed, cap, q, np.where(banned[None, :], np.inf, cost), forced)
    assert r.status == "optimal"
    assert r.objective == pytest.approx(best)
    assert 1 in r.open and 2 not in r.assign and r.assign[2] != 0
    with pytest.raises(InputError):
        solve_sscflp(fixed, cap, q, cost, forced_open=forced, forbidden=forced)


def test_infeasible_gives_no_solution():
    """Capacity short of the demand: no plan, status says so."""
    r = solve_sscflp(np.array([1.0]), np.array([5.0]), np.array([3.0, 3.0]),
                     np.array([[1.0], [1.0]]), time_limit_s=5)
    assert r.status == "no_solution" and np.all(r.assign == -1)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 100_000), n=st.integers(2, 6), m=st.integers(1, 3))
def test_matches_brute_force(seed, n, m):
    """Plan feasible, objective = recomputed cost, bound <= optimum <= objective, optimal = brute."""
    rng = np.random.default_rng(seed)
    q = rng.integers(1, 10, n).astype(float)
    cap = rng.integers(5, 25, m).astype(float)
    fixed = rng.integers(0, 40, m).astype(float)
    cost = rng.integers(0, 30, (n, m)).astype(float)
    cost[rng.random((n, m)) < 0.15] = np.inf
    best, _ = _brute(fixed, cap, q, cost)
    r = solve_sscflp(fixed, cap, q, cost, time_limit_s=10, seed=seed % 7)
    if not np.isfinite(best):
        assert r.status == "no_solution"
        return
    assert r.status != "no_solution"
    assert np.isfinite(cost[np.arange(n), r.assign]).all()
    assert (np.bincount(r.assign, weights=q, minlength=m) <= cap + 1e-9).all()
    assert r.objective == pytest.approx(_recost(r, fixed, cost))
    assert r.bound <= best + 1e-6 <= r.objective + 2e-6
    if r.status == "optimal":
        assert r.objective == pytest.approx(best)


def test_holmberg_p1_p5_proven_and_deterministic():
    """Published optima 8848 (p1) and 8838 (p5) proven; two runs give the same plan."""
    for name, opt in (("p1", 8848), ("p5", 8838)):
        cost, q, cap, fixed = read_holmberg(DATA / f"{name}.txt.gz")
        r = solve_sscflp(fixed, cap, q, cost, time_limit_s=30, seed=3)
        assert r.status == "optimal"
        assert r.objective == pytest.approx(opt)
        assert r.bound == pytest.approx(opt)
        r2 = solve_sscflp(fixed, cap, q, cost, time_limit_s=30, seed=3)
        assert np.array_equal(r.assign, r2.assign)
        assert r.work == {**r2.work, **{k: r.work[k] for k in r.work if k.startswith("cpu")}}


def test_budget_bound_run_is_deterministic_and_warm_start_is_used():
    """A small work budget stops the search (not the clock): identical plans and work twice;
    a warm start at the optimum is returned at least as good."""
    cost, q, cap, fixed = read_holmberg(DATA / "p5.txt.gz")
    runs = [solve_sscflp(fixed, cap, q, cost, time_limit_s=60, work_limit=0.05)
            for _ in range(2)]
    assert np.array_equal(runs[0].assign, runs[1].assign)
    assert runs[0].objective == runs[1].objective and runs[0].bound == runs[1].bound
    w = solve_sscflp(fixed, cap, q, cost, time_limit_s=60, work_limit=0.05,
                     warm_start=runs[0].assign)
    assert w.objective <= runs[0].objective


def test_capacitated_single_source_routes_to_engine():
    """capacitated(single_source=True) uses the engine on w_i * c_ij and reports its work."""
    cost, q, cap, fixed = read_holmberg(DATA / "p1.txt.gz")
    s = capacitated(cost, q, cap, fixed, weights=np.ones(len(q)), time_limit_s=30)
    assert s.status == "optimal" and s.objective == pytest.approx(8848)
    assert "lagr_iters" in s.info["work"]


def test_call_budget_scales_with_model_size():
    """Iteration budgets become callback calls (HiGHS reports no iterations in the MIP callback):
    ITERS_PER_CALL per call up to REF_COLS columns, fewer calls (size squared) on larger models."""
    from netplan.siting._sscflp_mip import ITERS_PER_CALL, REF_COLS, call_budget
    assert call_budget(20_000, 500) == math.ceil(20_000 / ITERS_PER_CALL)
    assert call_budget(20_000, 2 * REF_COLS) == math.ceil(20_000 / ITERS_PER_CALL / 4)
    assert call_budget(0, 10**6) == 3


def test_no_heuristic_plan_is_not_called_proven():
    """Total capacity = total demand (42): the Lagrangian heuristic finds no plan; the engine must
    go on to the MIP (it returned "no_solution" here: inf - bound <= 1e-9 * inf held)."""
    q = np.array([2.0, 9, 9, 9, 6, 7])
    cap = np.array([16.0, 6, 20])
    fixed = np.array([39.0, 22, 12])
    cost = np.array([[10, 6, 18], [18, 16, 13], [24, np.inf, 21], [5, 19, 5], [25, 3, 2],
                     [25, 27, 17]], dtype=float)
    best, _ = _brute(fixed, cap, q, cost)
    r = solve_sscflp(fixed, cap, q, cost, time_limit_s=10)
    assert r.status == "optimal"
    assert r.objective == pytest.approx(best) == pytest.approx(158)
