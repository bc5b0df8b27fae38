"""Work budget of the SSCFLP engine (kernel MIP skipped on large instances) and the swap move."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from netplan.siting import _sscflp_heur as heur
from netplan.siting import sscflp


def _brute_swap(a, cost, q, cap, ok):
    """Best customer swap between two facilities by enumeration: (gain, i1, i2) or (0, -1, -1)."""
    load = np.bincount(a, weights=q, minlength=len(cap))
    best = (0.0, -1, -1)
    for i1, i2 in itertools.combinations(range(len(a)), 2):
        j1, j2 = a[i1], a[i2]
        if j1 == j2 or not (ok[i1, j2] and ok[i2, j1]):
            continue
        if load[j2] - q[i2] + q[i1] > cap[j2] + 1e-9 or load[j1] - q[i1] + q[i2] > cap[j1] + 1e-9:
            continue
        gain = cost[i1, j1] + cost[i2, j2] - cost[i1, j2] - cost[i2, j1]
        if gain > best[0] + 1e-9:
            best = (gain, i1, i2)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_swap_matches_enumeration(seed):
    rng = np.random.default_rng(seed)
    n, m = 9, 4
    cost = rng.integers(1, 50, (n, m)).astype(float)
    q = rng.integers(1, 6, n).astype(float)
    ok = rng.random((n, m)) < 0.85
    a = np.array([int(rng.choice(np.flatnonzero(r))) if r.any() else 0 for r in ok])
    ok[np.arange(n), a] = True
    load = np.bincount(a, weights=q, minlength=m)
    cap = load + rng.integers(0, 4, m)
    g, i1, i2 = heur._swap(a, cost, q, cap, ok, load, np.arange(n))
    bg, _, _ = _brute_swap(a, cost, q, cap, ok)
    if bg <= 1e-9:
        assert g <= 1e-9
    else:
        assert g == pytest.approx(bg)
        b = a.copy()
        b[i1], b[i2] = a[i2], a[i1]
        assert heur.feasible(b, q, cap, ok)


def test_budget_skips_kernel_on_large_instances():
    small = sscflp._budget(1.0, 200, 30)
    large = sscflp._budget(1.0, 400, 80)
    assert small["kernel"] and not large["kernel"]
    assert large["open_iters"] == sscflp.TABU_NO_KERNEL
    assert small["lns_lp_total"] < large["lns_lp_total"]
    assert small["lns_lp_min"] <= small["lns_lp_total"]


def _instance(seed=0, n=50, m=12):
    rng = np.random.default_rng(seed)
    xy, fxy = rng.random((n, 2)), rng.random((m, 2))
    q = rng.integers(5, 30, n).astype(float)
    cost = np.round(np.linalg.norm(xy[:, None] - fxy[None], axis=2) * q[:, None] * 10)
    cap = np.full(m, round(q.sum() / 4.0))
    fixed = rng.integers(150, 300, m).astype(float)
    return fixed, cap, q, cost


@pytest.mark.parametrize("max_pairs", [0, 10**9])
def test_kernel_mip_runs_only_up_to_max_pairs(monkeypatch, max_pairs):
    fixed, cap, q, cost = _instance()
    n, m = cost.shape
    orig = sscflp._budget

    def no_probe(w, n_, m_):   # skip the direct proof so that the later phases run
        return {**orig(w, n_, m_), "probe_pairs": 0, "final_pairs": 0}

    monkeypatch.setattr(sscflp, "_budget", no_probe)
    monkeypatch.setattr(sscflp, "KERNEL_MAX_PAIRS", max_pairs)
    r1 = sscflp.solve_sscflp(fixed, cap, q, cost, time_limit_s=60)
    r2 = sscflp.solve_sscflp(fixed, cap, q, cost, time_limit_s=60)
    assert r1.work.get("stopped_by_time") is False
    assert ("kernel_sites" in r1.work) == (max_pairs > 0)
    if "open_iters" in r1.work and max_pairs == 0:
        assert r1.work["open_iters"] <= sscflp.TABU_NO_KERNEL
    assert heur.feasible(r1.assign, q, cap, np.ones((n, m), dtype=bool))
    assert r1.bound <= r1.objective + 1e-6
    assert np.array_equal(r1.assign, r2.assign)
    assert {k: v for k, v in r1.work.items() if not k.startswith("cpu")} == \
        {k: v for k, v in r2.work.items() if not k.startswith("cpu")}
