"""The second pass of three_tier (``_tt_topup``, issue 16): the work a block keeps for its bound,
and what a proven block leaves, go to the unproven blocks by their gap after every block has a
plan; the plans it returns are never dearer, its bounds never lower, and it depends on work only."""

from __future__ import annotations

import math

import pytest
from test_determinism import _random_three_tier

from netplan.siting import _tt_topup, three_tier
from netplan.siting._mip import Budget, clock, rel_gap
from netplan.siting._tt_block import BOUND_SHARE, Options, solve_block
from netplan.siting._tt_prep import prepare
from netplan.siting.solution import BlockResult


@pytest.fixture(scope="module")
def sd():
    """A random single-source three-tier stream (45 villages, 20 points, 6 stations, 3 centres)."""
    data, problems = prepare(_random_three_tier(7))
    assert not problems
    return data


@pytest.fixture(scope="module")
def solved(sd):
    """The block solved on 1 work unit with a pool (its bound reserve moved there)."""
    return solve_block([sd], "t", Options(solver="highs"),
                       Budget(work=1.0, deadline=clock() + 120.0),
                       pool=Budget(work=0.0, deadline=math.inf))


def test_bound_reserve_goes_to_the_pool(sd):
    """With a pool, a one-stream single-source block's bound reserve is moved there, not spent."""
    pool = Budget(work=0.0, deadline=math.inf)
    budget = Budget(work=2.0, deadline=clock() + 120.0)
    out = solve_block([sd], "t", Options(solver="highs"), budget, pool=pool)
    assert pool.work == pytest.approx(BOUND_SHARE * 2.0)
    assert math.isfinite(out.bound) and out.bound <= out.best.total_cny + 1e-6


def test_top_up_never_worsens_and_skips_proven_blocks(sd):
    opts = Options(solver="highs")
    pool = Budget(work=0.0, deadline=math.inf)
    out = solve_block([sd], "t", opts, Budget(work=1.0, deadline=clock() + 120.0), pool=pool)
    res = BlockResult(streams=("s",), objective=out.best.total_cny, bound=out.bound,
                      gap=rel_gap(out.best.total_cny, out.bound), status=out.status,
                      solve_time_s=1.0)
    outcomes, block_out = {0: out}, [res]
    _tt_topup.top_up({0: [sd]}, outcomes, block_out, opts,
                     Budget(work=pool.work + 1.5, deadline=clock() + 120.0))
    new = outcomes[0]
    assert new.best.total_cny <= out.best.total_cny + 1e-6
    assert new.bound >= out.bound - 1e-6 and new.bound <= new.best.total_cny + 1e-6
    assert block_out[0].objective == new.best.total_cny and block_out[0].bound == new.bound
    assert block_out[0].solve_time_s >= 1.0
    # a proven block is left alone
    proven = {0: type(new)(best=new.best, bound=new.best.total_cny, status="optimal", mip=new.mip)}
    before = proven[0]
    _tt_topup.top_up({0: [sd]}, proven, list(block_out), opts,
                     Budget(work=5.0, deadline=clock() + 120.0))
    assert proven[0] is before


def test_three_tier_with_top_up_is_deterministic():
    """The whole model twice, same seed and work: the same plan and bound (the top-up's shares
    come from gaps, which come from work-stopped phases)."""
    m = _random_three_tier(11)
    a = three_tier([m], time_limit_s=60.0, work=2.0, seed=0, solver="highs")
    b = three_tier([m], time_limit_s=60.0, work=2.0, seed=0, solver="highs")
    assert a.objective == b.objective and a.bound == b.bound
    for sa, sb in zip(a.streams, b.streams, strict=True):
        for oa, ob in zip(sa.open, sb.open, strict=True):
            assert list(oa) == list(ob)


def test_path_mip_from_the_plan_is_feasible_and_no_dearer(sd, solved):
    """The second pass's path-link MIP, warm-started from a block plan, returns a feasible plan
    no dearer than it (HiGHS keeps the start as its incumbent)."""
    from netplan.siting._tt_plan import plan_problem

    opts = Options(solver="highs")
    out = solved
    assert _tt_topup._path_fits([sd], 2.0)
    got = _tt_topup._path_mip([sd], out.best, opts, Budget(work=2.0, deadline=clock() + 120.0))
    assert got is not None
    assert got.total_cny <= out.best.total_cny + 1e-6 * out.best.total_cny
    assert plan_problem(sd, got.plans[0]) is None


def test_fixed_top_mip_keeps_the_top_tier_and_is_no_dearer(sd, solved):
    """The MIP with the top tier fixed to the plan's returns a feasible plan no dearer than its
    start that opens exactly the start's top-tier sites."""
    from netplan.siting._tt_plan import plan_problem

    opts = Options(solver="highs")
    out = solved
    budget = Budget(work=2.0, deadline=clock() + 120.0)
    got = _tt_topup._fixed_top_mip([sd], out.best, opts, budget)
    assert got is not None
    assert got.total_cny <= out.best.total_cny + 1e-6 * out.best.total_cny
    assert plan_problem(sd, got.plans[0]) is None
    assert list(got.plans[0].opens[-1]) == list(out.best.plans[0].opens[-1])
    assert 0.0 <= budget.work < 2.0


def test_fixed_round_pays_whole_runs_only(sd, solved, monkeypatch):
    """The fixed-top round runs a block only when its budget pays a whole run
    (FIXED_TOP_UNITS) and the block's root is small; it never makes a plan dearer."""
    opts = Options(solver="highs")
    out = solved
    if rel_gap(out.best.total_cny, out.bound) <= opts.mip_gap:
        pytest.skip("the block is proven: nothing for the round to do")
    calls = []

    def fake(sub, best, o, budget, **kw):
        calls.append(budget.work)
        budget.spent(budget.work / 2)
        return None

    monkeypatch.setattr(_tt_topup, "_fixed_top_mip", fake)
    outcomes = {0: out}
    short = Budget(work=_tt_topup.FIXED_TOP_UNITS - 0.1, deadline=math.inf)
    _tt_topup._fixed_round({0: [sd]}, outcomes, opts, short, {0: 0.0})
    assert calls == [] and outcomes[0] is out
    enough = Budget(work=_tt_topup.FIXED_TOP_UNITS + 1.0, deadline=math.inf)
    _tt_topup._fixed_round({0: [sd]}, outcomes, opts, enough, {0: 0.0})
    assert calls == [_tt_topup.FIXED_TOP_UNITS]
    assert enough.work == pytest.approx(1.0 + _tt_topup.FIXED_TOP_UNITS / 2)
    monkeypatch.setattr(_tt_topup, "FIXED_TOP_MAX_ROOT", 0.0)
    _tt_topup._fixed_round({0: [sd]}, outcomes, opts, enough, {0: 0.0})
    assert len(calls) == 1


def test_share_floor_gives_a_block_its_minimum_while_the_work_pays(sd, solved):
    """Shares follow the weights; a floor lifts a block's share while the work left pays for it,
    and the blocks after it share what is left."""
    import dataclasses

    opts = Options(solver="highs")
    out = solved
    cost = out.best.total_cny
    outcomes = {0: dataclasses.replace(out, bound=0.99 * cost, status="feasible"),
                1: dataclasses.replace(out, bound=0.91 * cost, status="feasible")}
    got = {}

    def phase(bi, o, b):
        got[bi] = b.work
        b.spent(b.work)
        return o

    def run(floor):
        got.clear()
        _tt_topup._share({0: [sd], 1: [sd]}, dict(outcomes), opts,
                         Budget(work=10.0, deadline=clock() + 60.0),
                         lambda o: rel_gap(o.best.total_cny, o.bound), phase, {0: 0.0, 1: 0.0},
                         floor=floor)
        return dict(got)

    plain = run(None)
    assert plain[0] == pytest.approx(1.0, rel=1e-6) and plain[1] == pytest.approx(9.0, rel=1e-6)
    lifted = run(lambda bi: 4.0)
    assert lifted[0] == pytest.approx(4.0) and lifted[1] == pytest.approx(6.0)
    capped = run(lambda bi: 50.0)
    assert capped[0] == pytest.approx(10.0) and 1 not in capped
