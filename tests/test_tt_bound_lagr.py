"""The Lagrangian lower bound of a single-source three-tier stream (``_tt_lagr``) is valid and
can be stronger than the LP: checked against the optimum by full enumeration of tiny models."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netplan.siting import StreamModel, Tier
from netplan.siting._mip import clock
from netplan.siting._tt_bound import lp_bound, single_source_bound
from netplan.siting._tt_lagr import lagrangian_bound
from netplan.siting._tt_prep import prepare


def _optimum(m: StreamModel) -> float:
    """Cheapest plan of a one-stream single-source model by enumerating every assignment
    (demand -> point or unserved, point -> station, station -> centre); inf if none."""
    w = np.asarray(m.weights, float)
    t1, t2, t3 = m.tiers
    n_dem, n1, n2 = len(w), t1.cost.shape[1], t2.cost.shape[1]
    n3 = t3.cost.shape[1]
    cap = [np.broadcast_to(np.asarray(t.capacity, float), (t.cost.shape[1],)) for t in m.tiers]
    fix = [np.broadcast_to(np.asarray(t.fixed_cost, float), (t.cost.shape[1],)) for t in m.tiers]
    ok = [np.isfinite(t.cost) & (t.cost <= (np.inf if t.radius is None else t.radius))
          for t in m.tiers]
    must = w > 0 if m.coverage_target >= 1 else np.zeros(n_dem, bool)
    best = math.inf
    for a0 in itertools.product(range(-1, n1), repeat=n_dem):
        a0 = np.array(a0)
        if any(a0[i] < 0 and must[i] for i in range(n_dem)):
            continue
        if any(a0[i] >= 0 and not ok[0][i, a0[i]] for i in range(n_dem)):
            continue
        served = a0 >= 0
        if w[served].sum() < m.coverage_target * w.sum() - 1e-6:
            continue
        load1 = np.bincount(a0[served], weights=w[served], minlength=n1)
        open1 = np.zeros(n1, bool)
        open1[a0[served]] = True
        if (load1 > cap[0] + 1e-9).any():
            continue
        base = (fix[0][open1].sum() + m.unserved_penalty_per_t * w[~served].sum()
                + t1.rate_per_t_per_km * sum(w[i] * t1.cost[i, a0[i]] for i in np.flatnonzero(served)) / 1000)
        for a1 in itertools.product(range(n2), repeat=int(open1.sum())):
            js = np.flatnonzero(open1)
            if any(not ok[1][j, k] for j, k in zip(js, a1, strict=True)):
                continue
            load2 = np.zeros(n2)
            c1 = 0.0
            for j, k in zip(js, a1, strict=True):
                load2[k] += load1[j]
                c1 += t2.rate_per_t_per_km * load1[j] * t2.cost[j, k] / 1000
            open2 = np.zeros(n2, bool)
            open2[list(a1)] = True
            if (load2 > cap[1] + 1e-9).any():
                continue
            for a2 in itertools.product(range(n3), repeat=int(open2.sum())):
                ks = np.flatnonzero(open2)
                if any(not ok[2][k, c] for k, c in zip(ks, a2, strict=True)):
                    continue
                load3 = np.zeros(n3)
                c2 = 0.0
                for k, c in zip(ks, a2, strict=True):
                    load3[c] += load2[k]
                    c2 += t3.rate_per_t_per_km * load2[k] * t3.cost[k, c] / 1000
                if (load3 > cap[2] + 1e-9).any():
                    continue
                open3 = np.zeros(n3, bool)
                open3[list(a2)] = True
                best = min(best, base + c1 + c2 + fix[1][open2].sum() + fix[2][open3].sum())
    return best


def _model(seed: int, n_dem: int, n1: int, n2: int, n3: int, target: float) -> StreamModel:
    rng = np.random.default_rng(seed)
    pts = [rng.uniform(0, 10_000, (k, 2)) for k in (n_dem, n1, n2, n3)]

    def dist(a, b):
        return np.linalg.norm(a[:, None] - b[None], axis=2).round()

    w = rng.integers(1, 10, n_dem).astype(float)
    tiers = (
        Tier(cost=dist(pts[0], pts[1]), capacity=rng.integers(8, 20, n1).astype(float),
             fixed_cost=rng.integers(10, 60, n1).astype(float), rate_per_t_per_km=2.0,
             radius=8_000.0),
        Tier(cost=dist(pts[1], pts[2]), capacity=rng.integers(15, 35, n2).astype(float),
             fixed_cost=rng.integers(30, 150, n2).astype(float), rate_per_t_per_km=1.0),
        Tier(cost=dist(pts[2], pts[3]), capacity=rng.integers(20, 50, n3).astype(float),
             fixed_cost=rng.integers(100, 400, n3).astype(float), rate_per_t_per_km=0.5),
    )
    return StreamModel(name="s", weights=w, tiers=tiers, coverage_target=target,
                       unserved_penalty_per_t=float(rng.integers(0, 30)))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_dem=st.integers(2, 4), n1=st.integers(1, 3),
       n2=st.integers(1, 2), n3=st.integers(1, 2), target=st.sampled_from([0.0, 0.6, 1.0]))
def test_lagrangian_and_block_bounds_never_exceed_the_enumerated_optimum(seed, n_dem, n1, n2,
                                                                          n3, target):
    """On random tiny three-tier models the Lagrangian bound, the extra single-source bound and
    the LP are each at most the optimum found by trying every assignment."""
    case = enumerated_case(seed, n_dem, n1, n2, n3, target)
    if case is None:
        return
    sd, opt, tol = case
    assert lagrangian_bound(sd, opt * 1.3 + 1.0) <= opt + tol
    assert single_source_bound([sd], [], None, opt * 1.3 + 1.0, clock() + 60.0) <= opt + tol
    assert lp_bound([sd], [], None) <= opt + tol


def enumerated_case(seed: int, n_dem: int, n1: int, n2: int, n3: int, target: float):
    """A random tiny model (:func:`_model`) prepared, with its optimum by enumeration and the
    comparison tolerance: ``(StreamData, optimum CNY/yr, tol)``; None when it has no plan."""
    m = _model(seed, n_dem, n1, n2, n3, target)
    sd, problems = prepare(m)
    opt = _optimum(m)
    if problems or not math.isfinite(opt):
        return None
    return sd, opt, 1e-6 * max(1.0, opt)


def _spread_model() -> StreamModel:
    """Two villages 20 km apart, a point, a station and a centre at each; either station can take
    either point's straw and each centre holds both villages: the LP opens each centre half
    (its flow bound lets a half-open link carry a whole village) and hauls nothing far; every
    plan opens one centre for both villages (or pays both fixed costs)."""
    far = 20_000.0
    d01 = np.array([[0.0, np.inf], [np.inf, 0.0]])
    d12 = np.array([[0.0, far], [far, 0.0]])
    d23 = np.array([[0.0, far], [far, 0.0]])
    tiers = (Tier(cost=d01, capacity=100.0, fixed_cost=0.0, rate_per_t_per_km=1.0),
             Tier(cost=d12, capacity=100.0, fixed_cost=0.0, rate_per_t_per_km=1.0),
             Tier(cost=d23, capacity=np.array([20.0, 20.0]), fixed_cost=1000.0,
                  rate_per_t_per_km=1.0))
    return StreamModel(name="spread", weights=np.array([10.0, 10.0]), tiers=tiers)


def test_lagrangian_bound_is_strictly_stronger_than_the_lp_where_the_lp_splits_a_centre():
    """Hand check: optimum 1200 CNY/yr (one centre, 1000, plus 10 t hauled 20 km at 1 CNY/t·km);
    the LP pays 1000 for two half-open centres and far less haulage; the Lagrangian bound
    (every site opens whole) reaches the optimum."""
    m = _spread_model()
    sd, problems = prepare(m)
    assert not problems
    opt = _optimum(m)
    assert opt == 1200.0
    lp = lp_bound([sd], [], None)
    lag = lagrangian_bound(sd, opt)
    assert lp < opt - 50
    assert lag > lp + 50
    assert lag <= opt + 1e-6


def test_lagrangian_bound_is_deterministic_and_skips_multi_source():
    """Same inputs, same bound (work is an iteration count); multi-source streams get none."""
    m = _model(3, 5, 3, 2, 2, 0.6)
    sd, _ = prepare(m)
    assert lagrangian_bound(sd, 5_000.0) == lagrangian_bound(sd, 5_000.0)
    ms = StreamModel(name="m", weights=m.weights, tiers=m.tiers, coverage_target=0.6,
                     single_source=False)
    sdm, _ = prepare(ms)
    assert lagrangian_bound(sdm, 5_000.0) == -math.inf


def test_min_cover_dp_matches_enumeration():
    """The shared 0-1 cover DP (SSCFLP and three-tier Lagrangian bounds) equals brute force."""
    from netplan.siting._sscflp_lagr import min_cover_dp

    rng = np.random.default_rng(1)
    for _ in range(200):
        n = int(rng.integers(1, 7))
        v, u, r = rng.random(n) * 10, rng.integers(1, 6, n), int(rng.integers(1, 15))
        best = min((v[np.array(ys, bool)].sum() for ys in itertools.product([0, 1], repeat=n)
                    if u[np.array(ys, bool)].sum() >= r), default=math.inf)
        cost, chosen = min_cover_dp(v, u, r)
        if math.isfinite(best):
            assert cost == pytest.approx(best)
        else:
            assert math.isinf(cost)
        if math.isfinite(cost):
            assert u[chosen].sum() >= r and v[chosen].sum() == pytest.approx(cost)
