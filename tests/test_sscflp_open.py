"""Open-set tabu search of the SSCFLP engine (netplan.siting._sscflp_open)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from netplan.siting import _sscflp_heur as heur
from netplan.siting import sscflp
from netplan.siting._mip import clock
from netplan.siting._sscflp_lns import site_distance
from netplan.siting._sscflp_open import gap_fill, open_search


def _instance(seed: int, n: int, m: int):
    rng = np.random.default_rng(seed)
    xy_c, xy_f = rng.random((n, 2)), rng.random((m, 2))
    q = rng.integers(1, 10, n).astype(float)
    cap = np.full(m, np.ceil(1.6 * q.sum() / (m / 2)))
    cost = np.round(100 * np.linalg.norm(xy_c[:, None] - xy_f[None], axis=2) * q[:, None])
    fixed = rng.integers(50, 150, m).astype(float)
    return fixed, cap, q, cost


def test_gap_fill_hand_checked():
    """Site 1 opens and takes the customer it serves cheaper; site 0 closes and its customer
    moves to the only open site with room."""
    cost = np.array([[1.0, 5.0, 9.0], [6.0, 2.0, 9.0], [4.0, 9.0, 3.0]])
    q = np.array([2.0, 2.0, 2.0])
    cap = np.array([4.0, 4.0, 4.0])
    ok = np.ones((3, 3), dtype=bool)
    a0 = np.array([0, 0, 2])
    b = gap_fill(a0, np.array([False, True, True]), cost, q, cap, ok)
    assert b.tolist() == [1, 1, 2]
    # opening site 1 beside 0 and 2: customer 1 moves there (saving 4), nothing else does
    b = gap_fill(a0, np.array([True, True, True]), cost, q, cap, ok)
    assert b.tolist() == [0, 1, 2]
    # one site of capacity 4 cannot take 6 units
    assert gap_fill(a0, np.array([False, True, False]), cost, q, cap, ok) is None


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(6, 25), st.integers(3, 8), st.data())
def test_gap_fill_feasible_on_open_sites(seed, n, m, data):
    fixed, cap, q, cost = _instance(seed, n, m)
    ok = np.ones_like(cost, dtype=bool)
    a0 = heur.regret_fill(np.full(n, -1), np.ones(m, dtype=bool), cost, q, cap, ok)
    open_ = np.array(data.draw(st.lists(st.booleans(), min_size=m, max_size=m)))
    b = gap_fill(a0, open_, cost, q, cap, ok)
    if b is not None:
        assert heur.feasible(b, q, cap, ok)
        assert open_[b].all()
    elif cap[open_].sum() >= 2 * q.sum():   # plenty of room: regret fill always finds a plan
        raise AssertionError("no plan despite twice the capacity needed")


def _search(seed: int, n: int, m: int):
    fixed, cap, q, cost = _instance(seed, n, m)
    ins = sscflp._check(fixed, cap, q, cost, None, None)
    best = sscflp._Best(ins, clock())
    start = heur.regret_fill(np.full(n, -1), np.ones(m, dtype=bool), ins.cost, q, cap, ins.ok)
    best.offer(start)
    before = best.value
    bud = sscflp._budget(1.0, n, m)
    work: dict = {}
    sets = open_search(ins, best, np.ones(m, dtype=bool), site_distance(ins), bud, clock(),
                       60.0, work)
    return ins, best, before, sets, work


def test_open_search_improves_and_is_deterministic():
    ins, best, before, sets, work = _search(3, 40, 10)
    assert heur.feasible(best.assign, ins.q, ins.cap, ins.ok)
    assert best.value < before            # all sites open at the start: closing some pays
    assert 1 <= len(sets) <= 5 and sets[0].dtype == bool
    used = np.zeros(10, dtype=bool)
    used[best.assign] = True
    assert (sets[0] == used).all()        # the best open set comes first
    assert 0 < work["open_iters"] <= 30
    _, best2, _, sets2, work2 = _search(3, 40, 10)
    assert (best2.assign == best.assign).all() and work2["open_evals"] == work["open_evals"]
    assert all((a == b).all() for a, b in zip(sets, sets2, strict=True))
