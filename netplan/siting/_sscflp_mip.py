r"""HiGHS models of the single-source CFLP on a subset of facilities and assignment pairs.

Strong formulation: :math:`\sum_j x_{ij} = 1`, :math:`x_{ij} \le y_j`,
:math:`\sum_i q_i x_{ij} \le C_j y_j`, :math:`\sum_j C_j y_j \ge \sum_i q_i` (optional), with
``y`` and ``x`` binary. Solved by highspy single-threaded from a MIP start. Stops:

- **work** (deterministic): branch-and-bound nodes (``mip_max_nodes``) and a simplex-iteration
  budget counted in calls of HiGHS's MIP interrupt callback. HiGHS 1.16 reports
  ``simplex_iteration_count = -1`` inside that callback (and never calls the simplex callback in
  a MIP), but it calls the MIP callback at fixed points of its single-threaded seeded search, so
  the call count is work, not time (as in ``_tt_split.solve_highs``): a run stops after
  ``lp_iter_limit / ITERS_PER_CALL`` calls, the same point on an idle and on a loaded machine.
  :data:`ITERS_PER_CALL` is calibrated on Yang instances (BENCHMARKS.md, issue 16). A long root
  LP (no callback calls inside it) is not cut short by this budget;
- **CPU seconds** (``_mip.clock``): a safety stop only, plus a wall-clock backstop of 20x + 60 s
  (generous: on a machine shared by many jobs a CPU second can take several wall seconds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from netplan.siting._mip import clock

#: Simplex iterations per MIP interrupt-callback call: an iteration budget ``it`` becomes
#: ``it / ITERS_PER_CALL * min(1, (REF_COLS / columns)**2)`` calls. HiGHS 1.16 measured on Yang
#: instances (final ``simplex_iteration_count`` over calls): 9-17 in Y1_p1's kernel MIP
#: (~3,100 columns, 8 CPU ms a call), 72 in Y2_p1's (~4,800 columns, 34 ms a call), 139 in
#: Y4_p1's (~7,200 columns, 170 ms a call: the root with its sub-MIPs); region MIPs 8-14. A call
#: costs about the square of the model's size, hence the second factor, so that a budget costs
#: about the same CPU time on any model.
ITERS_PER_CALL = 20.0
REF_COLS = 3000


@dataclass
class MipOut:
    """One HiGHS solve: plan (or None), objective, dual bound, proof flag, work and trace."""

    assign: np.ndarray | None
    objective: float
    bound: float
    optimal: bool
    stopped_by_time: bool
    lp_iters: int
    nodes: int
    trace: list = field(default_factory=list)


def build(fac: np.ndarray, pi: np.ndarray, pj: np.ndarray, fixed: np.ndarray, cap: np.ndarray,
          q: np.ndarray, cost: np.ndarray, *, links: bool = True, aggregate: bool = True,
          forced: np.ndarray | None = None, at_least_one: np.ndarray | None = None):
    """HighsLp with columns ``y[fac]`` then ``x`` over pairs ``(pi, pj)`` (pj in ``fac``).

    ``at_least_one`` (bool over ``fac``): add :math:`\\sum y \\ge 1` over those sites (kernel
    search buckets). Returns ``(lp, col_of_fac)``.
    """
    import highspy
    n = len(q)
    k = len(fac)
    pos = np.full(cost.shape[1], -1)
    pos[fac] = np.arange(k)
    p = len(pi)
    yc = pos[pj]
    xcol = k + np.arange(p)
    rows, cols, vals = [], [], []
    # assignment rows 0..n-1
    rows.append(pi)
    cols.append(xcol)
    vals.append(np.ones(p))
    # capacity rows n..n+k-1
    rows += [n + yc, n + np.arange(k)]
    cols += [xcol, np.arange(k)]
    vals += [q[pi], -cap[fac]]
    r = n + k
    lo = [np.ones(n), np.full(k, -np.inf)]
    hi = [np.ones(n), np.zeros(k)]
    if links:
        rows += [r + np.arange(p), r + np.arange(p)]
        cols += [xcol, yc]
        vals += [np.ones(p), -np.ones(p)]
        lo.append(np.full(p, -np.inf))
        hi.append(np.zeros(p))
        r += p
    if aggregate:
        rows.append(np.full(k, r))
        cols.append(np.arange(k))
        vals.append(cap[fac].astype(float))
        lo.append([float(q.sum())])
        hi.append([np.inf])
        r += 1
    if at_least_one is not None and at_least_one.any():
        sel = np.flatnonzero(at_least_one)
        rows.append(np.full(len(sel), r))
        cols.append(sel)
        vals.append(np.ones(len(sel)))
        lo.append([1.0])
        hi.append([np.inf])
        r += 1
    a = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(r, k + p))
    a.sort_indices()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = k + p, r
    lp.col_cost_ = np.concatenate([fixed[fac], cost[pi, pj]]).astype(float)
    ylo = np.zeros(k) if forced is None else forced[fac].astype(float)
    lp.col_lower_ = np.concatenate([ylo, np.zeros(p)])
    lp.col_upper_ = np.ones(k + p)
    lp.row_lower_ = np.concatenate([np.asarray(x, dtype=float) for x in lo])
    lp.row_upper_ = np.concatenate([np.asarray(x, dtype=float) for x in hi])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * (k + p)
    return lp, pos


def call_budget(lp_iter_limit: int, num_col: int) -> int:
    """MIP interrupt-callback calls that a budget of ``lp_iter_limit`` simplex iterations buys on
    a model of ``num_col`` columns (:data:`ITERS_PER_CALL`, :data:`REF_COLS`); at least 3."""
    scale = min(1.0, (REF_COLS / max(1, num_col)) ** 2)
    return max(3, math.ceil(max(1, lp_iter_limit) / ITERS_PER_CALL * scale))


def solve(lp, fac: np.ndarray, pi: np.ndarray, pj: np.ndarray, n: int, *,
          start: np.ndarray | None, time_limit_s: float, lp_iter_limit: int,
          node_limit: int, seed: int, cutoff: float = math.inf, mip_gap: float = 1e-6,
          t_origin: float | None = None) -> MipOut:
    """Run HiGHS on a model from :func:`build`; ``start`` = assignment (n,) over pair facilities.

    ``cutoff``: only plans cheaper than it are of interest (HiGHS ``objective_bound``).
    ``t_origin``: CPU clock origin of the trace times (default: this call's start).
    """
    import highspy
    t0 = clock()
    org = t0 if t_origin is None else t_origin
    k = len(fac)
    hs = highspy.Highs()
    hs.silent()
    hs.passModel(lp)
    hs.setOptionValue("threads", 1)
    hs.setOptionValue("random_seed", int(seed))
    hs.setOptionValue("mip_rel_gap", float(mip_gap))
    hs.setOptionValue("mip_abs_gap", 1e-6)
    hs.setOptionValue("time_limit", 20.0 * max(0.5, time_limit_s) + 60.0)   # wall backstop
    hs.setOptionValue("mip_max_nodes", int(max(1, node_limit)))
    if math.isfinite(cutoff):
        hs.setOptionValue("objective_bound", float(cutoff))
    if start is not None:
        key = {(int(i), int(j)): t for t, (i, j) in enumerate(zip(pi, pj, strict=True))}
        val = np.zeros(lp.num_col_)
        cost_cols = lp.num_col_
        used = np.zeros(k, dtype=bool)
        okay = True
        for i, j in enumerate(start):
            t = key.get((i, int(j)))
            if t is None:
                okay = False
                break
            val[k + t] = 1.0
        if okay:
            pos = {int(f): c for c, f in enumerate(fac)}
            for j in set(start.tolist()):
                used[pos[j]] = True
            val[:k] = np.maximum(used, lp.col_lower_[:k])
            hs.setSolution(cost_cols, np.arange(cost_cols, dtype=np.int32), val)
    stop_at = t0 + max(0.1, time_limit_s)
    flags = {"time": False}
    max_calls = call_budget(lp_iter_limit, lp.num_col_)
    work = {"calls": 0, "nodes": 0}
    trace: list = []

    def _interrupt(e) -> None:
        work["calls"] += 1
        work["nodes"] = max(work["nodes"], int(e.data_out.mip_node_count))
        if work["calls"] >= max_calls:
            e.interrupt()          # work spent (deterministic stop)
        elif clock() >= stop_at:
            flags["time"] = True   # CPU safety stop
            e.interrupt()

    def _improved(e) -> None:
        trace.append((clock() - org, float(e.data_out.objective_function_value)))

    hs.cbMipInterrupt.subscribe(_interrupt)
    hs.cbMipImprovingSolution.subscribe(_improved)
    hs.run()
    info = hs.getInfo()
    ms = hs.getModelStatus()
    has = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    bound = float(info.mip_dual_bound)
    bound = bound if math.isfinite(bound) and abs(bound) < 1e19 else -math.inf
    # work charged: the iterations run, at least the calls' equivalent (both deterministic)
    it = max(int(info.simplex_iteration_count),
             math.ceil(lp_iter_limit * min(1.0, work["calls"] / max_calls)))
    nodes = max(work["nodes"], int(info.mip_node_count))
    if not has:
        return MipOut(None, math.inf, bound, False, flags["time"], it, nodes, trace)
    x = np.asarray(hs.getSolution().col_value, dtype=float)[k:]
    sel = x > 0.5
    assign = np.full(n, -1)
    assign[pi[sel]] = pj[sel]
    obj = float(info.objective_function_value)
    optimal = ms == highspy.HighsModelStatus.kOptimal
    return MipOut(assign, obj, bound if not optimal or math.isfinite(bound) else obj, optimal,
                  flags["time"], it, nodes, trace)
