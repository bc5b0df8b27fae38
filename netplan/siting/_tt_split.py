"""Split (multi-source) plans of :func:`three_tier`: flow variables, reading, MIP starts, costs.

With ``StreamModel.single_source=False`` a demand's share ``x_ij`` is continuous in [0, 1] and the
links above tier 1 carry continuous flows ``f_jk <= min(C_k, M_j) y_k`` without the binary
``u_jk``. A plan then carries, per tier, its flows ``(src, dst, t_per_yr)``; the assignment of
an item is the destination of its largest share.
"""

from __future__ import annotations

import math

import numpy as np

from netplan.siting._tt_prep import StreamData

INF = math.inf


def flows_multi(mip, obj, s: int, t: int, td, prev, ys, mask: np.ndarray | None = None) -> list:
    """Multi-source flow variables into tier ``t``: ``0 <= f_jk <= min(C_k, M_j) y_k``.

    ``mask``: the pairs whose linking row to add (None: all); a row is always added where the
    candidate has no capacity row binding its inflow (then it is not implied).
    """
    fs = []
    if mask is not None:
        ub_in = np.bincount(td.pb, weights=prev.flow_ub[td.pa], minlength=td.n)
        mask = mask | ~(np.isfinite(td.cap) & (td.cap < ub_in - 1e-9))[td.pb]
    for p, (a, b, d) in enumerate(zip(td.pa.tolist(), td.pb.tolist(), td.pd.tolist(),
                                      strict=True)):
        m = float(min(prev.flow_ub[a], td.cap[b]))
        f = mip.NumVar(0.0, m, f"f{s}_{t}_{a}_{b}")
        obj.SetCoefficient(f, td.rate * d / 1000.0)
        fs.append(f)
        if not td.forced[b] and (mask is None or mask[p]):
            c = mip.Constraint(-INF, 0.0)
            c.SetCoefficient(f, 1.0)
            c.SetCoefficient(ys[t][b], -m)
    return fs


def _largest(src: np.ndarray, dst: np.ndarray, val: np.ndarray, n: int) -> np.ndarray:
    """Per source 0..n-1, the destination of its largest positive ``val`` (-1 where none)."""
    out = np.full(n, -1, dtype=int)
    pos = val > 0
    src, dst, val = src[pos], dst[pos], val[pos]
    order = np.lexsort((dst, -val, src))      # per source: largest value first, then lowest dst
    first = np.ones(len(order), dtype=bool)
    first[1:] = src[order][1:] != src[order][:-1]
    out[src[order][first]] = dst[order][first]
    return out


def read_multi(sd: StreamData, sv, opens: list) -> tuple[list, list, list]:
    """Plan of a multi-source stream: shares and flows from x and f, assignment = largest share."""
    t0 = sd.tiers[0]
    xv = np.array([v.solution_value() for v in sv.x], dtype=float)
    xv[xv < 1e-9] = 0.0
    share = np.bincount(t0.pa, weights=xv, minlength=len(sd.w))
    a0 = _largest(t0.pa, t0.pb, xv, len(sd.w))
    a0[share < 0.5] = -1                      # served fully or not at all (s_i binary)
    amt = sd.w[t0.pa] * xv
    on = (amt > 1e-9) & (a0[t0.pa] >= 0)
    assigns, flows = [a0], [(t0.pa[on].copy(), t0.pb[on].copy(), amt[on])]
    for t in range(1, len(sd.tiers)):
        td, prev = sd.tiers[t], sd.tiers[t - 1]
        fv = np.array([v.solution_value() for v in sv.f[t - 1]], dtype=float)
        on = fv > 1e-9
        assigns.append(_largest(td.pa, td.pb, np.where(on, fv, 0.0), prev.n))
        flows.append((td.pa[on].copy(), td.pb[on].copy(), fv[on]))
    return opens, assigns, flows


def plan_flows(sd: StreamData, plan: tuple) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per tier, the flows ``(src, dst, t_per_yr)`` of a plan (derived from the assignments of a
    single-source plan, whose ``flows`` entry is None)."""
    if len(plan) > 2 and plan[2] is not None:
        return plan[2]
    assigns = plan[1]
    a0 = assigns[0]
    src = np.flatnonzero(a0 >= 0)
    out = [(src, a0[src], sd.w[src])]
    load = np.bincount(a0[src], weights=sd.w[src], minlength=sd.tiers[0].n)
    for t in range(1, len(sd.tiers)):
        a = assigns[t]
        src = np.flatnonzero((a >= 0) & (load > 0))
        out.append((src, a[src], load[src]))
        load = np.bincount(a[src], weights=load[src], minlength=sd.tiers[t].n)
    return out


def pair_index(td, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Positions in ``td``'s pair lists of the pairs ``(src, dst)`` (-1 where absent)."""
    keys = td.pa.astype(np.int64) * td.n + td.pb
    order = np.argsort(keys, kind="stable")
    want = np.asarray(src, dtype=np.int64) * td.n + np.asarray(dst, dtype=np.int64)
    if len(keys) == 0:
        return np.full(len(want), -1, dtype=int)
    pos = np.minimum(np.searchsorted(keys[order], want), len(keys) - 1)
    return np.where(keys[order][pos] == want, order[pos], -1)


def hint_multi(sd: StreamData, sv, plan: tuple, vs: list, vals: list) -> None:
    """Append the x, s and f values of a plan to a multi-source stream's MIP start."""
    flows = plan_flows(sd, plan)
    a0 = plan[1][0]
    t0 = sd.tiers[0]
    xv = np.zeros(len(t0.pa))
    src, dst, amt = flows[0]
    pos = pair_index(t0, src, dst)
    ok = (pos >= 0) & (sd.w[src] > 0)
    xv[pos[ok]] = amt[ok] / sd.w[src[ok]]
    light = (sd.w[t0.pa] <= 0) & (a0[t0.pa] == t0.pb)   # weightless demands: their assignment
    xv[light] = 1.0
    vs.extend(sv.x)
    vals.extend(xv.tolist())
    for i, v in enumerate(sv.s):
        if v is not None:
            vs.append(v)
            vals.append(1.0 if a0[i] >= 0 else 0.0)
    for t in range(1, len(sd.tiers)):
        td = sd.tiers[t]
        fv = np.zeros(len(td.pa))
        src, dst, amt = flows[t]
        pos = pair_index(td, src, dst)
        fv[pos[pos >= 0]] = amt[pos >= 0]
        vs.extend(sv.f[t - 1])
        vals.extend(fv.tolist())


def transport_multi(sd: StreamData, flows: list) -> tuple[float, list]:
    """Transport cost (CNY/yr) and per-tier loads (t/yr) of split flows."""
    transport, loads = 0.0, []
    for td, (src, dst, amt) in zip(sd.tiers, flows, strict=True):
        pos = pair_index(td, src, dst)
        if (pos < 0).any():
            msg = "a plan sends flow over a link the model does not have"
            raise ValueError(msg)
        transport += float((td.rate * td.pd[pos] / 1000.0 * amt).sum())
        loads.append(np.bincount(dst, weights=amt, minlength=td.n))
    return transport, loads


class _Val:
    """A stand-in for a solved pywraplp variable: ``solution_value()`` from a value vector."""

    __slots__ = ("_v",)

    def __init__(self, v: float) -> None:
        self._v = v

    def solution_value(self) -> float:
        return self._v


def weak_links(datas: list[StreamData]) -> list:
    """``links`` for ``_tt_build.build`` without any per-pair row a capacity row implies."""
    return [None if sd.single_source else [np.zeros(len(td.pa), dtype=bool) for td in sd.tiers]
            for sd in datas]


def solve_highs(mip, h, datas: list[StreamData], time_limit_s: float, mip_gap: float, *,
                hint: tuple[list, list] | None = None, seed: int = 0):
    """Solve a built multi-source block with HiGHS (highspy), from an optional MIP start.

    HiGHS proves the two-stage CFLP of Fernandes 2014 on the model without implied per-pair
    rows (:func:`weak_links`) several times faster than SCIP on any variant (bench_two_stage).
    ``time_limit_s`` counts CPU seconds (``_mip.clock``, checked in HiGHS's MIP interrupt
    callback), with a wall-clock backstop of 4x + 10 s; ``hint`` = (variables, values) of a
    feasible plan (as for ``_mip.run``).

    Returns ``(RunResult, plans or None)``; status "optimal" only when HiGHS proved the gap.
    """
    import highspy
    from ortools.linear_solver import linear_solver_pb2

    from netplan.siting._mip import RunResult, clock, rel_gap
    from netplan.siting._tt_build import StreamVars, read
    t0 = clock()
    pr = linear_solver_pb2.MPModelProto()
    mip.ExportModelToProto(pr)
    var = pr.variable
    n = len(var)
    cols, rows, vals = [], [], []
    for r, con in enumerate(pr.constraint):
        cols.append(np.asarray(con.var_index, dtype=np.int64))
        rows.append(np.full(len(con.var_index), r, dtype=np.int64))
        vals.append(np.asarray(con.coefficient, dtype=float))
    cols_a = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    order = np.argsort(cols_a, kind="stable")
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, len(pr.constraint)
    lp.col_cost_ = np.array([v.objective_coefficient for v in var])
    lp.col_lower_ = np.array([v.lower_bound for v in var])
    lp.col_upper_ = np.array([v.upper_bound for v in var])
    lp.row_lower_ = np.array([c.lower_bound for c in pr.constraint])
    lp.row_upper_ = np.array([c.upper_bound for c in pr.constraint])
    lp.a_matrix_.start_ = np.searchsorted(cols_a[order], np.arange(n + 1)).astype(np.int32)
    lp.a_matrix_.index_ = np.concatenate(rows)[order].astype(np.int32)
    lp.a_matrix_.value_ = np.concatenate(vals)[order]
    lp.integrality_ = [highspy.HighsVarType.kInteger if v.is_integer
                       else highspy.HighsVarType.kContinuous for v in var]
    hs = highspy.Highs()
    hs.silent()
    hs.passModel(lp)
    hs.setOptionValue("mip_rel_gap", float(mip_gap))
    hs.setOptionValue("random_seed", int(seed))
    hs.setOptionValue("threads", 1)
    hs.setOptionValue("time_limit", 4.0 * max(0.5, time_limit_s) + 10.0)
    if hint is not None and len(hint[0]):
        idx = np.array([v.index() for v in hint[0]], dtype=np.int32)
        hs.setSolution(len(idx), idx, np.asarray(hint[1], dtype=float))
    stop_at = t0 + max(0.5, time_limit_s)
    stopped = [False]

    def _interrupt(e) -> None:
        if clock() >= stop_at:
            stopped[0] = True
            e.interrupt()

    hs.cbMipInterrupt.subscribe(_interrupt)
    hs.run()
    elapsed = clock() - t0
    info = hs.getInfo()
    ms = hs.getModelStatus()
    has = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    bound = float(info.mip_dual_bound)
    bound = bound + h.offset if np.isfinite(bound) and abs(bound) < 1e19 else -INF
    if not has:
        status = "infeasible" if ms == highspy.HighsModelStatus.kInfeasible else "no_solution"
        return RunResult(status, math.nan, bound, math.inf, elapsed, False), None
    obj = float(info.objective_function_value) + h.offset
    status = "optimal" if ms == highspy.HighsModelStatus.kOptimal else "time_limit"
    if status == "optimal" and not np.isfinite(bound):
        bound = obj
    x = np.asarray(hs.getSolution().col_value, dtype=float)

    def val(v):
        return None if v is None else _Val(float(x[v.index()]))

    shim = [StreamVars(y=[[val(v) for v in row] for row in sv.y], x=[val(v) for v in sv.x],
                       u=[[val(v) for v in r] for r in sv.u],
                       f=[[val(v) for v in r] for r in sv.f], s=sv.s, shared=sv.shared)
            for sv in h.streams]
    plans = read(type(h)(streams=shim, z=h.z, offset=h.offset), datas)
    return RunResult(status, obj, bound, rel_gap(obj, bound), elapsed, True), plans
