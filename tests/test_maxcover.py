"""netplan.analysis.maxcover: the max-coverage form of the three-tier model against brute force
on a tiny instance, and the budget rows of netplan.frontier end to end."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from netplan.analysis.maxcover import StreamExtras, max_coverage
from netplan.siting import StreamModel, Tier

W = np.array([12.0, 30.0, 7.0, 21.0, 16.0])          # t/yr
COUNTED = np.array([True, True, True, True, False])    # the last demand is a farm
D1 = np.array([[1000, 4000, np.inf], [3000, 1500, np.inf], [np.inf, 2500, 900],
               [np.inf, 1200, 2600], [5000, np.inf, 800]], dtype=float)   # demand -> point, m
D2 = np.array([[2000, 9000], [4000, 3000], [8000, 1500]], dtype=float)     # point -> station
D3 = np.array([[5000], [7000]], dtype=float)                               # station -> centre
F = ([300.0, 260.0, 280.0], [900.0, 700.0], [1500.0])                      # CNY/yr
CAP = ([45.0, 50.0, 40.0], [70.0, 80.0], [np.inf])
RATE = (4.0, 1.0, 0.5)                                                     # CNY/(t·km)
ITEM = 2.5                                                                  # CNY/t served


def _model(force_centre: bool = False) -> StreamModel:
    tiers = tuple(Tier(cost=d, capacity=np.array(c), fixed_cost=np.array(f), rate_per_t_per_km=r,
                       force_open=np.array([0]) if force_centre and t == 2 else None)
                  for t, (d, c, f, r) in enumerate(zip((D1, D2, D3), CAP, F, RATE, strict=True)))
    return StreamModel(name="s", weights=W, tiers=tiers, coverage_target=0.9, coverage_on="count",
                       count_mask=COUNTED, unserved_penalty_per_t=1e4)


def _plans(ex: StreamExtras):
    """Every single-source plan: (villages served, tonnage served, cost CNY/yr)."""
    out = []
    for y in itertools.product(*[itertools.product((0, 1), repeat=len(f)) for f in F]):
        pts = [j for j in range(3) if y[0][j]]
        sts = [k for k in range(2) if y[1][k]]
        fixed = sum(F[t][j] for t in range(3) for j in range(len(F[t])) if y[t][j])
        for up in itertools.product(sts, repeat=len(pts)):      # each open point -> an open station
            if (pts and not sts) or (sts and not y[2][0]):
                continue
            opts = [[-1] + [j for j in pts if np.isfinite(D1[i, j])] for i in range(len(W))]
            for a in itertools.product(*opts):
                load1 = [sum(W[i] for i in range(len(W)) if a[i] == j) for j in range(3)]
                if any(load1[j] > CAP[0][j] + 1e-9 for j in range(3)):
                    continue
                load2 = [0.0, 0.0]
                for j, k in zip(pts, up, strict=True):
                    load2[k] += load1[j]
                if any(load2[k] > CAP[1][k] + 1e-9 for k in range(2)):
                    continue
                served = [i for i in range(len(W)) if a[i] >= 0]
                tr = sum(RATE[0] * W[i] * D1[i, a[i]] / 1000 for i in served)
                tr += sum(RATE[1] * load1[j] * D2[j, k] / 1000 for j, k in zip(pts, up, strict=True))
                tr += sum(RATE[2] * load2[k] * D3[k, 0] / 1000 for k in sts)
                tons = float(sum(W[i] for i in served))
                kap = ex.capture   # what arrives: transport, items and storage scale with it
                blocks = sum(math.ceil(ex.block_per_t * kap * load2[k] - 1e-9) for k in sts)
                cost = fixed + kap * (tr + ex.item_cny_per_t * tons) + ex.block_cny_yr * blocks
                out.append((int(sum(COUNTED[i] for i in served)), tons, cost))
    return out


@pytest.mark.parametrize("on", ["count", "weight"])
@pytest.mark.parametrize("stored", [False, True])
def test_max_coverage_matches_brute_force(on, stored):
    """For budgets across the whole range, the MIP's coverage is the best any plan within the
    budget reaches (proven: status optimal), and its cost row is the plan's true cost."""
    ex = StreamExtras(item_cny_per_t=ITEM, block_per_t=0.05 if stored else 0.0,
                      block_cny_yr=400.0 if stored else 0.0, capture=0.9 if stored else 1.0)
    plans = _plans(ex)
    key = 0 if on == "count" else 1
    cheapest = min(p[2] for p in plans if p[key] > 0)
    full = min(p[2] for p in plans if p[key] == max(q[key] for q in plans))
    for budget in np.linspace(cheapest * 0.9, full * 1.05, 7):
        best = max(p[key] for p in plans if p[2] <= budget)
        res = max_coverage([_model()], stream="s", on=on, budget_cny_yr=float(budget),
                           extras={"s": ex}, time_limit_s=20)
        assert res.status == "optimal"
        assert res.covered == pytest.approx(best)
        assert res.covered_bound == pytest.approx(best, abs=1e-6)
        assert res.cost_cny_yr <= budget + 1e-6
        # the cost row equals the brute-force cost of the plan found
        ss = res.solution.stream("s")
        mine = [p for p in plans if p[key] == pytest.approx(res.covered)
                and p[2] == pytest.approx(res.cost_cny_yr, rel=1e-7)]
        assert mine, (budget, res.covered, res.cost_cny_yr)
        # phase 2: the cheapest plan of that coverage (within the MIP gap)
        low = min(p[2] for p in plans if p[key] == pytest.approx(best))
        assert res.cost_cny_yr <= low * (1 + 1e-4) + 1e-6
        assert res.share == pytest.approx(best / (COUNTED.sum() if on == "count" else W.sum()))
        assert len(ss.open[2]) == (1 if res.covered > 0 else 0)


def test_budget_below_every_plan_is_infeasible_and_bad_input_named():
    """A budget below the forced centre's cost gives no solution (status infeasible); bad
    arguments are input errors."""
    from netplan.errors import InputError

    res = max_coverage([_model(force_centre=True)], stream="s", on="count", budget_cny_yr=100.0, time_limit_s=10)
    assert res.solution is None and res.status == "infeasible"
    with pytest.raises(InputError, match="stream"):
        max_coverage([_model()], stream="x", on="count", budget_cny_yr=1e4)
    with pytest.raises(InputError, match="budget"):
        max_coverage([_model()], stream="s", on="count", budget_cny_yr=0.0)


def test_start_plan_is_used_within_budget_and_ignored_over_it():
    """A start plan within the budget starts phase 1 (the coverage found is at least its, even
    with a one-node search); one over the budget is left out, not an error."""
    from netplan.siting._tt_plan import StreamPlan

    start = {"s": StreamPlan(
        [np.array([True, False, False]), np.array([True, False]), np.array([True])],
        [np.array([0, 0, -1, -1, -1]), np.array([0, -1, -1]), np.array([0, -1])], None)}
    for budget in (4000.0, 100.0):
        res = max_coverage([_model()], stream="s", on="weight", budget_cny_yr=budget,
                           extras={"s": StreamExtras(item_cny_per_t=ITEM)}, time_limit_s=10,
                           work=1e-6, start=start)
        assert res.cost_cny_yr <= budget
        if budget > 3000:
            assert res.covered >= W[[0, 1]].sum() - 1e-9   # 42 t within point 0's 45 t
