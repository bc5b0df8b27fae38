"""The top-tier branch-and-bound bound (``_tt_topbb``) and the first tier's 0-1 knapsacks of the
Lagrangian bound (``_tt_lagr._knapsack01``) are valid: checked against the optimum by full
enumeration of tiny three-tier models (generator and enumeration of test_tt_bound_lagr)."""

from __future__ import annotations

import itertools
import math
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_tt_bound_lagr import _model, _optimum, _spread_model, enumerated_case

from netplan.siting import StreamModel, Tier, _tt_lagr
from netplan.siting._mip import clock, make_solver
from netplan.siting._tt_bound import lp_bound, single_source_bound
from netplan.siting._tt_build import build
from netplan.siting._tt_prep import prepare
from netplan.siting._tt_topbb import fixed_cover_rows, node_cover, top_tier_bound


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_dem=st.integers(2, 4), n1=st.integers(1, 3),
       n2=st.integers(1, 2), n3=st.integers(1, 3), target=st.sampled_from([0.0, 0.6, 1.0]),
       nodes=st.integers(1, 40), branching=st.sampled_from(["var", "count", "sets"]),
       path_links=st.booleans(), n_tiers=st.sampled_from([1, 2, None]))
def test_top_tier_bound_never_exceeds_the_enumerated_optimum(seed, n_dem, n1, n2, n3, target,
                                                             nodes, branching, path_links,
                                                             n_tiers):
    """At any node budget, with every branching rule, over the top tier or more tiers, and on
    either LP, the top-tier bound (and
    ``single_source_bound`` with work, and the Lagrangian bound with the 0-1 knapsacks always
    on) is at most the optimum found by trying every assignment, and at least the root LP."""
    case = enumerated_case(seed, n_dem, n1, n2, n3, target)
    if case is None:
        return
    sd, opt, tol = case
    inc = opt * 1.3 + 1.0
    r = top_tier_bound(sd, [], None, inc, max_nodes=nodes, branching=branching,
                       path_links=path_links, n_tiers=n_tiers)
    assert r.bound <= opt + tol
    assert r.bound >= min(r.root, inc) - tol
    assert list(r.trail) == sorted(r.trail)          # the bound never falls as nodes are solved
    if r.closed:                                     # a finished tree: the relaxation's optimum
        assert r.bound == pytest.approx(min(r.trail[-1], inc))
    assert single_source_bound([sd], [], None, inc, clock() + 60.0, work=0.05) <= opt + tol
    with mock.patch.object(_tt_lagr, "EXACT_LIFT", -math.inf):
        assert _tt_lagr.lagrangian_bound(sd, inc, iters=40, exact_iters=20) <= opt + tol


def test_top_tier_bound_closes_the_gap_the_lp_leaves_where_it_splits_a_centre():
    """Hand check (test_tt_bound_lagr's two-village model): the LP opens each centre half and
    hauls nothing far (under 1,150 CNY/yr); the optimum opens one centre for both villages,
    1,200; branching on the centres' ``y`` proves it in a few node LPs."""
    m = _spread_model()
    sd, _ = prepare(m)
    opt = _optimum(m)
    assert opt == 1200.0
    lp = lp_bound([sd], [], None)
    assert lp < 1150.0
    for branching in ("var", "count", "sets"):
        r = top_tier_bound(sd, [], None, 5_000.0, branching=branching)
        assert r.root == pytest.approx(lp)
        assert r.closed and r.bound == pytest.approx(opt)
        assert r.nodes <= 5
    # with the best plan as incumbent every node at its cost is pruned: the bound is the plan's
    assert top_tier_bound(sd, [], None, opt).bound == pytest.approx(opt)
    # one node LP (the root) is all a tiny work budget buys: the bound is then the LP's
    one = top_tier_bound(sd, [], None, 5_000.0, work=1e-9)
    assert one.nodes == 1 and one.bound == pytest.approx(lp)


def test_top_tier_bound_is_deterministic():
    """Same inputs and node budget, same bound and trail (work is a node count)."""
    m = _model(7, 4, 3, 2, 3, 0.6)
    sd, _ = prepare(m)
    a = top_tier_bound(sd, [], None, 10_000.0, max_nodes=6)
    b = top_tier_bound(sd, [], None, 10_000.0, max_nodes=6)
    assert (a.bound, a.root, a.nodes, a.closed, a.trail) == (b.bound, b.root, b.nodes, b.closed,
                                                             b.trail)


def test_knapsack01_is_valid_and_never_weaker_than_the_lp_knapsack():
    """Per site, the rounded-down 0-1 knapsack's profit is at least the exact 0-1 optimum (found
    by enumeration), the site value never below the LP knapsack's, and the take adds up to the
    profit."""
    rng = np.random.default_rng(5)
    for _ in range(60):
        n_dem, n_site = int(rng.integers(1, 7)), int(rng.integers(1, 4))
        dem, site = (a.ravel() for a in np.meshgrid(np.arange(n_dem), np.arange(n_site)))
        keep = rng.random(len(dem)) < 0.8
        dem, site = dem[keep], site[keep]
        q = rng.integers(1, 40, n_dem).astype(float)
        cap = rng.integers(20, 60, n_site).astype(float)
        ok = q[dem] <= cap[site]
        dem, site = dem[ok], site[ok]
        tr = _tt_lagr._Tier(dem=dem, site=site, cost=rng.random(len(dem)) * 30, q=q[dem],
                            fixed=np.full(n_site, 50.0), cap=cap,
                            forced=np.zeros(n_site, bool), group=None, gmax=None, n=n_site)
        lam = rng.random(n_dem) * 40
        v01, take = _tt_lagr._knapsack01(tr, lam, grid=int(rng.integers(3, 50)))
        v_lp, _ = _tt_lagr._site_values(tr, lam)
        prof = lam[dem] - tr.cost
        for k in range(n_site):
            pos = np.flatnonzero(site == k)
            best = max(prof[pos][np.array(c, bool)].sum()
                       for c in itertools.product([0, 1], repeat=len(pos))
                       if q[dem[pos]][np.array(c, bool)].sum() <= cap[k])
            assert 50.0 - v01[k] >= best - 1e-9          # valid: no 0-1 packing gains more
            assert v01[k] >= v_lp[k] - 1e-9              # and never weaker than the LP's
            assert (take[pos] * prof[pos]).sum() == pytest.approx(50.0 - v01[k])
            if v01[k] > v_lp[k] + 1e-9:                  # the 0-1 packing: whole items
                assert np.all((take[pos] == 0) | (take[pos] == 1))


@pytest.mark.parametrize("seed", range(8))
def test_projecting_out_the_upper_links_keeps_the_lp_value(seed):
    """The node LP without the upper tiers' ``u`` (``_projected_links``) has the value of the
    LP with them, at the root and with a centre forced open or shut."""
    from netplan.siting._tt_topbb import _NodeLP

    m = _model(seed, 5, 3, 3, 3, [0.0, 0.6, 1.0][seed % 3])
    sd, problems = prepare(m)
    if problems:
        return
    for path_links in (False, True):
        full = _NodeLP(sd, [], None, path_links, project=False)
        proj = _NodeLP(sd, [], None, path_links, project=True)
        assert proj.hs.getNumNz() < full.hs.getNumNz()
        for cons in ((), ((frozenset([0]), 1, 1),), ((frozenset([0]), 0, 0),)):
            a, b = full.solve(cons, math.inf)[0], proj.solve(cons, math.inf)[0]
            assert a == pytest.approx(b, rel=1e-7, abs=1e-6) or (math.isinf(a) and math.isinf(b))


def test_fixed_cover_row_lifts_the_lp_to_the_cheapest_cover():
    """Two villages (35 t/yr each, must be served), two free points and stations, three centres,
    all at zero distance: two of 40 t/yr at 400 CNY/yr (10 CNY/t) and one of 100 t/yr at 1,500.
    The LP opens the small ones to 1.75 in all (700 of fixed cost); every plan pays at least 800
    (both small ones; the large one alone costs 1,500): the row sum F y >= 800 lifts the root LP
    by 100 to the optimum, and the bound stays at most the enumerated optimum."""
    tiers = (Tier(cost=np.zeros((2, 2)), capacity=100.0, fixed_cost=0.0, rate_per_t_per_km=1.0),
             Tier(cost=np.zeros((2, 2)), capacity=100.0, fixed_cost=0.0, rate_per_t_per_km=1.0),
             Tier(cost=np.zeros((2, 3)), capacity=np.array([40.0, 40.0, 100.0]),
                  fixed_cost=np.array([400.0, 400.0, 1500.0]), rate_per_t_per_km=1.0))
    m = StreamModel(name="cover", weights=np.array([35.0, 35.0]), tiers=tiers,
                    coverage_target=1.0)
    sd, problems = prepare(m)
    assert not problems
    opt = _optimum(m)
    assert opt == pytest.approx(800.0)
    plain = top_tier_bound(sd, [], None, 5_000.0, max_nodes=1, cover_cuts=False)
    cut = top_tier_bound(sd, [], None, 5_000.0, max_nodes=1)
    assert plain.root == pytest.approx(700.0)
    assert cut.root == pytest.approx(800.0) and cut.bound <= opt + 1e-6
    h = build(make_solver("highs"), [sd], [], None)
    rows = fixed_cover_rows(sd, h.streams[0].y)
    assert [r[0] for r in rows] == [pytest.approx(800.0)]    # tiers 1-2 have no fixed cost


def test_node_cover_is_a_relaxation_of_the_node_and_exact_on_what_it_keeps():
    """Against enumeration of every 0-1 opening: the node's cover value is at most the least
    fixed cost of a cover satisfying all the node's rows, and equal to it when the rows are only
    of the kinds it keeps (whole-tier counts, sets shut or opened)."""
    rng = np.random.default_rng(3)
    for _ in range(300):
        n = int(rng.integers(1, 7))
        fixed = rng.integers(1, 50, n).astype(float)
        units = rng.integers(1, 5, n)
        r = int(rng.integers(1, int(units.sum()) + 2))
        pos = rng.permutation(20)[:n]
        cons, kept = [], True
        for _ in range(int(rng.integers(0, 4))):
            kind = int(rng.integers(0, 4))
            if kind == 0:
                lo = int(rng.integers(0, n + 1))
                cons.append((frozenset(pos.tolist()), lo, int(rng.integers(lo, n + 1))))
            else:
                mem = rng.choice(n, int(rng.integers(1, n + 1)), replace=False)
                if kind == 1:
                    cons.append((frozenset(pos[mem].tolist()), 0, 0))
                elif kind == 2:
                    cons.append((frozenset(pos[mem].tolist()), len(mem), len(mem)))
                else:
                    a = int(rng.integers(0, len(mem) + 1))
                    cons.append((frozenset(pos[mem].tolist()), a, len(mem)))
                    kept = kept and (a == 0 or a == len(mem))
        best = math.inf
        for ys in itertools.product([0, 1], repeat=n):
            y = np.array(ys)
            at = dict(zip(pos.tolist(), y.tolist(), strict=True))
            if units @ y < r or any(not lo <= sum(at[m] for m in mem) <= hi
                                    for mem, lo, hi in cons):
                continue
            best = min(best, float(fixed @ y))
        got = node_cover(fixed, units, r, pos, tuple(cons))
        assert got <= best + 1e-9
        if kept:
            assert got == pytest.approx(best) if math.isfinite(best) else got == math.inf
