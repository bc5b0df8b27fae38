r"""Covering models on a cost array: LSCP (``set_cover``, also partial) and MCLP (``max_cover``).

LSCP
    .. math:: \min \sum_j y_j \;\text{s.t.}\; \sum_{j \in N_i} y_j \ge 1 \;\forall i

    with :math:`N_i = \{j : d_{ij} \le R\}`. Partial form (``target`` < 1):
    :math:`c_i \le \sum_{j \in N_i} y_j`, :math:`c_i \le 1`, :math:`\sum_i w_i c_i \ge
    \text{target} \sum_i w_i`.

MCLP
    .. math:: \max \sum_i w_i c_i \;\text{s.t.}\; c_i \le \sum_{j \in N_i} y_j,\; c_i \le 1,\;
              \sum_j y_j = p

Reductions before solving: pairs beyond the radius are never built; a candidate whose covered set
is contained in another's is removed (its removal cannot worsen either model); for full cover a
demand whose set contains another demand's is dropped (covering the smaller covers it). A greedy
solution is the MIP start.
"""

from __future__ import annotations

import math
import time

import numpy as np
import scipy.sparse as sp

from netplan.errors import InfeasibleError, InputError, Unservable
from netplan.siting._mip import make_solver, rel_gap, run
from netplan.siting.reduce import (
    check_cost,
    coverage_matrix,
    dominated_candidates,
    dominated_demands,
    nearest_open,
)
from netplan.siting.solution import Solution

INF = math.inf


def _greedy_cover(a: sp.csr_matrix, w: np.ndarray, need: float, p: int | None = None) -> list[int]:
    """Greedy: open the candidate covering the most uncovered weight until ``need`` (or p sites)."""
    ac = a.tocsc()
    covered = np.zeros(a.shape[0], dtype=bool)
    sites: list[int] = []
    got = 0.0
    while (p is None and got < need - 1e-9) or (p is not None and len(sites) < p):
        gain = ac.T @ (w * ~covered)
        gain[sites] = -1
        j = int(np.argmax(gain))
        if gain[j] <= 0 and p is None:
            break
        sites.append(j)
        rows = ac.indices[ac.indptr[j]:ac.indptr[j + 1]]
        covered[rows] = True
        got = float(w[covered].sum())
    return sites


def _solve_cover(a: sp.csr_matrix, w: np.ndarray, target: float, *, solver: str, seed: int,
                 time_limit_s: float, mip_gap: float, cap: int | None = None):
    """Min-sites cover of ``target`` share of weight on reduced matrix ``a``. Returns (sites, res)."""
    n, m = a.shape
    full = target >= 1.0 - 1e-12
    mip = make_solver(solver)
    y = [mip.BoolVar(f"y{j}") for j in range(m)]
    obj = mip.Objective()
    for v in y:
        obj.SetCoefficient(v, 1.0)
    obj.SetMinimization()
    if cap is not None:
        c = mip.Constraint(0.0, float(cap))
        for v in y:
            c.SetCoefficient(v, 1.0)
    ar = a.tocsr()
    cov = []
    for i in range(n):
        cols = ar.indices[ar.indptr[i]:ar.indptr[i + 1]]
        if full:
            c = mip.Constraint(1.0, INF)
            for j in cols:
                c.SetCoefficient(y[j], 1.0)
        else:
            ci = mip.NumVar(0.0, 1.0, "")
            c = mip.Constraint(0.0, INF)
            c.SetCoefficient(ci, -1.0)
            for j in cols:
                c.SetCoefficient(y[j], 1.0)
            cov.append(ci)
    if not full:
        c = mip.Constraint(target * float(w.sum()) - 1e-9, INF)
        for i, ci in enumerate(cov):
            c.SetCoefficient(ci, float(w[i]))
    g = _greedy_cover(a, w, target * float(w.sum()))
    hint = ([*y], [1.0 if j in set(g) else 0.0 for j in range(m)])
    res = run(mip, solver_name=solver, time_limit_s=time_limit_s, mip_gap=mip_gap, seed=seed,
              hint=hint)
    if not res.has_solution:
        return None, res
    return [j for j in range(m) if y[j].solution_value() > 0.5], res


def min_cover_sites(c: np.ndarray, radius: float, p: int, *, solver: str, seed: int,
                    time_limit_s: float):
    """Fewest sites covering every demand within ``radius`` (for p-center bisection).

    Returns (sites or None, exact): None when more than ``p`` sites are needed (or none found).
    """
    a = coverage_matrix(c, radius)
    if (np.asarray(a.sum(axis=1)).ravel() == 0).any():
        return None, True
    dom_c = dominated_candidates(a)
    cols = np.flatnonzero(~dom_c)
    a2 = a[:, cols]
    rows = np.flatnonzero(~dominated_demands(a2))
    a2 = a2[rows]
    sites, res = _solve_cover(a2, np.ones(a2.shape[0]), 1.0, solver=solver, seed=seed,
                              time_limit_s=time_limit_s, mip_gap=0.0, cap=p)
    if res.status == "infeasible":
        return None, True
    if sites is None:
        return None, False
    return cols[sites], res.status == "optimal"


def set_cover(
    cost: np.ndarray,
    radius: float,
    *,
    weights: np.ndarray | None = None,
    target: float = 1.0,
    time_limit_s: float = 60.0,
    solver: str = "scip",
    seed: int = 0,
    mip_gap: float = 0.0,
) -> Solution:
    """Fewest sites so that every demand (or ``target`` share of weight) is within ``radius``.

    Parameters
    ----------
    cost
        (n_demand, n_candidate) metres or seconds; inf = not allowed.
    radius
        Coverage radius in the cost unit.
    weights
        (n_demand,) t/yr, for the partial form; default 1 per demand.
    target
        Share (0–1] of total weight that must be covered.

    Returns
    -------
    Solution
        objective = number of open sites; assignment = nearest open site within radius or -1.

    Raises
    ------
    InfeasibleError
        Naming demands with no candidate within the radius (full cover), or when the coverable
        weight is below the target.
    """
    t0 = time.perf_counter()
    c, w = check_cost(cost, weights)
    if not 0.0 < target <= 1.0:
        msg = f"target must be in (0, 1], got {target}"
        raise InputError(msg, field="target")
    a = coverage_matrix(c, radius)
    reach = np.asarray(a.sum(axis=1)).ravel() > 0
    full = target >= 1.0 - 1e-12
    if full and not reach.all():
        msg = f"{int((~reach).sum())} demand(s) have no candidate within radius {radius:g}"
        raise InfeasibleError(msg, unservable=[
            Unservable(int(i), f"nearest candidate is {np.min(c[i]):g} away (radius {radius:g})")
            for i in np.flatnonzero(~reach)])
    if not full and float(w[reach].sum()) < target * float(w.sum()) - 1e-9:
        msg = (f"only {w[reach].sum() / w.sum():.1%} of the weight can be covered within radius "
               f"{radius:g}; the target is {target:.1%}")
        raise InfeasibleError(msg, unservable=[
            Unservable(int(i), f"no candidate within radius {radius:g}") for i in np.flatnonzero(~reach)])
    cols = np.flatnonzero(~dominated_candidates(a))
    a2 = a[:, cols]
    rows = np.arange(c.shape[0])
    if full:
        rows = np.flatnonzero(~dominated_demands(a2))
    sites, res = _solve_cover(a2[rows], w[rows], target, solver=solver, seed=seed,
                              time_limit_s=time_limit_s, mip_gap=mip_gap)
    if sites is None:
        raise _timeout(time_limit_s, solver)
    open_ = np.sort(cols[sites])
    obj = float(len(open_))
    bound = math.ceil(res.bound - 1e-6) if math.isfinite(res.bound) else -INF
    return Solution(open=open_, assignment=nearest_open(c, open_, radius), objective=obj,
                    bound=float(bound), gap=rel_gap(obj, bound), status=res.status,
                    solve_time_s=time.perf_counter() - t0,
                    info={"candidates_kept": len(cols), "demands_kept": len(rows)})


def _timeout(limit: float, solver: str):
    from netplan.errors import SolverTimeout
    return SolverTimeout(f"no feasible solution within {limit:g} s ({solver})")


def max_cover(
    cost: np.ndarray,
    radius: float,
    p: int,
    *,
    weights: np.ndarray | None = None,
    time_limit_s: float = 60.0,
    solver: str = "scip",
    seed: int = 0,
    mip_gap: float = 0.0,
) -> Solution:
    """Open ``p`` sites covering the most demand weight within ``radius`` (MCLP).

    Returns
    -------
    Solution
        objective = covered weight (weight unit); bound = proven upper bound; assignment = nearest
        open site within radius or -1 (uncovered).
    """
    t0 = time.perf_counter()
    c, w = check_cost(cost, weights)
    m = c.shape[1]
    if not 1 <= int(p) <= m:
        msg = f"p must be between 1 and {m}, got {p}"
        raise InputError(msg, field="p")
    a = coverage_matrix(c, radius)
    reach = np.flatnonzero(np.asarray(a.sum(axis=1)).ravel() > 0)
    dom = dominated_candidates(a)
    cols = np.flatnonzero(~dom)
    if len(cols) < p:   # fewer useful candidates than p: pad with dominated ones
        cols = np.sort(np.r_[cols, np.flatnonzero(dom)[:p - len(cols)]])
    a2 = a[reach][:, cols].tocsr()
    wr = w[reach]
    mip = make_solver(solver)
    y = [mip.BoolVar(f"y{j}") for j in range(len(cols))]
    card = mip.Constraint(float(p), float(p))
    for v in y:
        card.SetCoefficient(v, 1.0)
    obj = mip.Objective()
    for i in range(a2.shape[0]):
        ci = mip.NumVar(0.0, 1.0, "")
        obj.SetCoefficient(ci, float(wr[i]))
        con = mip.Constraint(0.0, INF)
        con.SetCoefficient(ci, -1.0)
        for j in a2.indices[a2.indptr[i]:a2.indptr[i + 1]]:
            con.SetCoefficient(y[j], 1.0)
    obj.SetMaximization()
    g = set(_greedy_cover(a2, wr, 0.0, p=p))
    res = run(mip, solver_name=solver, time_limit_s=time_limit_s, mip_gap=mip_gap, seed=seed,
              hint=([*y], [1.0 if j in g else 0.0 for j in range(len(cols))]))
    if not res.has_solution:
        raise _timeout(time_limit_s, solver)
    open_ = np.sort(cols[[j for j in range(len(cols)) if y[j].solution_value() > 0.5]])
    assign = nearest_open(c, open_, radius)
    covered = float(w[assign >= 0].sum())
    bound = res.bound if math.isfinite(res.bound) else INF
    return Solution(open=open_, assignment=assign, objective=covered, bound=bound,
                    gap=rel_gap(covered, bound), status=res.status,
                    solve_time_s=time.perf_counter() - t0, info={"candidates_kept": len(cols)})
