"""HiGHS (highspy) for multi-source blocks of :func:`three_tier`.

With ``StreamModel.single_source=False`` a demand's share ``x_ij`` is continuous in [0, 1] and the
links above tier 1 carry continuous flows without the binary ``u_jk`` (built by ``_tt_build``).
Such blocks are solved by HiGHS on the model without the per-pair rows a capacity row implies
for integer ``y`` (:func:`weak_links`), from a MIP start, under a CPU-second limit.
"""

from __future__ import annotations

import math

import highspy
import numpy as np
from ortools.linear_solver import linear_solver_pb2

from netplan.siting._mip import RunResult, clock, rel_gap
from netplan.siting._tt_build import Handles, StreamVars, read
from netplan.siting._tt_prep import StreamData

INF = math.inf
#: Interrupt-callback calls allowed per node of the node limit (see :func:`solve_highs`). With
#: ``_mip.Budget.nodes`` (80 k nonzero-nodes per work unit) this is ~80 k nonzero-calls per unit;
#: measured on the demo county's full MIPs: 79 k (manure), 92 k (recyclables), 142 k (domestic
#: waste), 395 k (straw) nonzero-calls per CPU s, so a unit costs at most ~1 CPU s
CALLS_PER_NODE = 1.5


class _Val:
    """A stand-in for a solved pywraplp variable: ``solution_value()`` from a value vector."""

    __slots__ = ("_v",)

    def __init__(self, v: float) -> None:
        self._v = v

    def solution_value(self) -> float:
        return self._v


def highs_engine(solver: str) -> bool:
    """True when a block's MIPs (full and restricted) go to HiGHS (highspy) also for
    single-source streams: for ``solver`` "scip" (the default) and "highs". Measured on the demo
    county (BENCHMARKS.md, issue 16): HiGHS's root closes more gap per CPU second than SCIP's on
    these models and its node limit stops deterministically; "cbc" and "cp-sat" keep their
    backend through pywraplp."""
    return solver.lower().replace("_", "-") in ("scip", "highs")


def weak_links(datas: list[StreamData]) -> list:
    """``links`` for ``_tt_build.build`` without any per-pair row a capacity row implies."""
    return [None if sd.single_source else [np.zeros(len(td.pa), dtype=bool) for td in sd.tiers]
            for sd in datas]


def solve_highs(mip, h: Handles, datas: list[StreamData], time_limit_s: float, mip_gap: float, *,
                hint: tuple[list, list] | None = None, seed: int = 0,
                node_limit: int | None = None):
    """Solve a built multi-source block with HiGHS (highspy), from an optional MIP start.

    HiGHS proves the two-stage CFLP of Fernandes 2014 on the model without implied per-pair
    rows (:func:`weak_links`) several times faster than SCIP on any variant (bench_two_stage).
    ``time_limit_s`` counts CPU seconds (``_mip.clock``, checked in HiGHS's MIP interrupt
    callback), with a wall-clock backstop of 20x + 60 s (a loaded machine stretches wall time
    several-fold; the backstop must not be what stops a run); ``hint`` = (variables, values) of a
    feasible plan (as for ``_mip.run``); ``node_limit`` = HiGHS ``mip_max_nodes``, a
    deterministic stop (single thread, fixed seed), the CPU limit then being only a safety stop.
    A node limit also bounds the root: HiGHS's root (cut rounds, heuristics) is not counted in
    nodes and on the demo county runs 15-40 CPU s, so the run is also interrupted after
    ``CALLS_PER_NODE * node_limit`` calls of its MIP interrupt callback — HiGHS calls it at fixed
    points of its (single-threaded, seeded) search, so the count is work, not time: the same
    inputs stop at the same point on an idle and on a loaded machine.

    Returns ``(RunResult, plans or None)``; status "optimal" only when HiGHS proved the gap.
    """
    t0 = clock()
    lp = highs_lp(mip, relax=False)
    hs = highspy.Highs()
    hs.silent()
    hs.passModel(lp)
    hs.setOptionValue("mip_rel_gap", float(mip_gap))
    hs.setOptionValue("random_seed", int(seed))
    hs.setOptionValue("threads", 1)
    hs.setOptionValue("time_limit", 20.0 * max(0.5, time_limit_s) + 60.0)
    if node_limit is not None:
        hs.setOptionValue("mip_max_nodes", max(1, int(node_limit)))
    if hint is not None and len(hint[0]):
        idx = np.array([v.index() for v in hint[0]], dtype=np.int32)
        hs.setSolution(len(idx), idx, np.asarray(hint[1], dtype=float))
    stop_at = t0 + max(0.5, time_limit_s)
    max_calls = (math.inf if node_limit is None
                 else max(3, math.ceil(CALLS_PER_NODE * max(1, int(node_limit)))))
    stopped = [False]
    calls = [0]

    def _interrupt(e) -> None:
        calls[0] += 1
        if calls[0] >= max_calls:
            e.interrupt()          # work spent (deterministic stop)
        elif clock() >= stop_at:
            stopped[0] = True      # CPU safety stop
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
        return RunResult(status, math.nan, bound, math.inf, elapsed, False,
                         _node_equivalents(int(info.mip_node_count), calls[0])), None
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
    plans = read(Handles(streams=shim, z=h.z, groups=h.groups, offset=h.offset), datas)
    if status != "optimal" and not stopped[0] and ms != highspy.HighsModelStatus.kTimeLimit:
        status = "feasible"   # stopped by the node limit (deterministic), not a time limit
    return RunResult(status, obj, bound, rel_gap(obj, bound), elapsed, True,
                     _node_equivalents(int(info.mip_node_count), calls[0])), plans


def _node_equivalents(nodes: int, calls: int) -> int:
    """Work of a HiGHS run in nodes of the node limit: its nodes, or its interrupt-callback calls
    over :data:`CALLS_PER_NODE` when the root took more (callers charge ``nodes / node_limit`` of
    the work they gave it)."""
    return max(nodes, int(calls / CALLS_PER_NODE))


def highs_lp(mip, *, relax: bool = False, drop: np.ndarray | None = None,
             extra: list[tuple[float, float, list[int], list[float]]] = ()) -> highspy.HighsLp:
    """The model built in ``mip`` (pywraplp) as a ``highspy.HighsLp``, columns in
    ``Variable.index()`` order. ``relax``: every column continuous (else the integers stay
    integer); ``drop``: columns whose rows are left out (the columns stay, fixed at their lower
    bound); ``extra``: rows ``(lower, upper, column indices, coefficients)`` added."""
    pr = linear_solver_pb2.MPModelProto()
    mip.ExportModelToProto(pr)
    var = pr.variable
    n = len(var)
    gone = np.zeros(n, dtype=bool) if drop is None else np.isin(np.arange(n), drop)
    cols, vals, r_lo, r_hi = [], [], [], []
    for con in pr.constraint:
        idx = np.asarray(con.var_index, dtype=np.int64)
        if gone[idx].any():
            continue
        cols.append(idx)
        vals.append(np.asarray(con.coefficient, dtype=float))
        r_lo.append(con.lower_bound)
        r_hi.append(con.upper_bound)
    for lo, hi, idx, val in extra:
        cols.append(np.asarray(idx, dtype=np.int64))
        vals.append(np.asarray(val, dtype=float))
        r_lo.append(lo)
        r_hi.append(hi)
    rows = [np.full(len(c), r, dtype=np.int64) for r, c in enumerate(cols)]
    cols_a = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    order = np.argsort(cols_a, kind="stable")
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, len(cols)
    lp.col_cost_ = np.array([v.objective_coefficient for v in var])
    lp.col_lower_ = np.array([v.lower_bound for v in var])
    lp.col_upper_ = np.where(gone, lp.col_lower_, np.array([v.upper_bound for v in var]))
    lp.row_lower_ = np.array(r_lo, dtype=float)
    lp.row_upper_ = np.array(r_hi, dtype=float)
    lp.a_matrix_.start_ = np.searchsorted(cols_a[order], np.arange(n + 1)).astype(np.int32)
    lp.a_matrix_.index_ = (np.concatenate(rows)[order] if rows else cols_a).astype(np.int32)
    lp.a_matrix_.value_ = np.concatenate(vals)[order] if vals else np.zeros(0)
    if not relax:
        lp.integrality_ = [highspy.HighsVarType.kInteger if v.is_integer
                           else highspy.HighsVarType.kContinuous for v in var]
    return lp
