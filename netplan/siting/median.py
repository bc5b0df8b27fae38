r"""p-median and p-center on a cost array.

p-median (``p_median``)
    .. math:: \min \sum_i w_i \sum_j d_{ij} x_{ij} \;\text{s.t.}\; \sum_j x_{ij} = 1,\;
              x_{ij} \le y_j,\; \sum_j y_j = p,\; y \in \{0,1\},\; x \ge 0

    Every solve starts with greedy + interchange, then a Lagrangian bound (assignment rows
    relaxed, subgradient ascent, interchange from the best relaxed plan) that alone proves many
    instances; its reduction tests close sites that cannot be in a better plan
    (:mod:`netplan.siting._median_lagr`). Then, by ``method``:

    - "lagrangian" (default when there are ≥ 8 candidates per site to open): best-bound
      Lagrangian branch-and-bound on the sites, with the reduction tests fixing sites open and
      closed at every node and exact enumeration when one or two sites are left to choose.
      Proves OR-Library pmed1–40 optimal (see BENCHMARKS.md). On ≥ 2 M pairs the Lagrangian
      sums each demand's nearest sites only (multipliers capped, still a valid bound).
    - "mip" (default otherwise): the restricted MIP below, solved by ``solver``.

    Restricted MIP: a *restricted pair set* with a "far" variable per demand: demand i keeps the
    pairs with :math:`d_{ij}` up to its distance in the greedy + interchange solution (plus a few
    more), and :math:`\phi_i \in [0,1]` stands for "served beyond them" at cost
    :math:`w_i D_i`, :math:`D_i` the next larger distance. That model is a relaxation (its bound is
    valid for the full problem); when its optimum uses no :math:`\phi_i`, it is optimal for the full
    problem, otherwise the pair sets of those demands grow and it is solved again. The heuristic
    solution is the MIP start.

p-center (``p_center``)
    :math:`\min D` such that :math:`p` sites cover every demand within :math:`D`: bisection over the
    distinct distances, each step a set-cover MIP (:func:`netplan.siting.set_cover`) — exact.
"""

from __future__ import annotations

import math
import time

import numpy as np
from ortools.linear_solver import pywraplp

from netplan.errors import InfeasibleError, InputError, SolverTimeout
from netplan.siting._median_lagr import LagrangianState, branch_and_bound, reduce_sites, root_bound
from netplan.siting._mip import make_solver, rel_gap, run
from netplan.siting.heuristics import greedy_median, interchange, median_objective
from netplan.siting.reduce import check_cost, nearest_open, require_reachable
from netplan.siting.solution import Solution

INF = math.inf


def _check_p(p: int, m: int) -> int:
    if not 1 <= int(p) <= m:
        msg = f"p must be between 1 and the number of candidates ({m}), got {p}"
        raise InputError(msg, field="p")
    return int(p)


def _integral(c: np.ndarray, w: np.ndarray) -> bool:
    fin = c[np.isfinite(c)]
    return bool(np.all(fin == np.round(fin)) and np.all(w == np.round(w)))


def p_median(
    cost: np.ndarray,
    p: int,
    *,
    weights: np.ndarray | None = None,
    time_limit_s: float = 60.0,
    solver: str = "scip",
    seed: int = 0,
    mip_gap: float = 1e-7,
    extra_pairs: int = 5,
    full_pairs: int = 0,
    method: str = "auto",
) -> Solution:
    """Open ``p`` candidates minimising Σ weight × cost to the nearest open one.

    Parameters
    ----------
    cost
        (n_demand, n_candidate) metres or seconds; inf = not allowed.
    p
        Number of sites to open.
    weights
        (n_demand,) t/yr (or any demand weight); default 1.
    time_limit_s, solver, seed, mip_gap
        Solver controls (see :mod:`netplan.siting`); ``solver`` is used by the restricted MIP.
    extra_pairs
        Pairs kept per demand beyond its heuristic distance in the first restricted model.
    full_pairs
        Instances with at most this many (demand, candidate) pairs are built in full at once.
    method
        "lagrangian" (Lagrangian branch-and-bound), "mip" (restricted MIP) or "auto": the
        branch-and-bound when there are at least 8 candidates per site to open, else the MIP.

    Returns
    -------
    Solution
        objective = Σ w·d (cost unit × weight unit); bound is a proven lower bound.
    """
    t0 = time.perf_counter()
    c, w = check_cost(cost, weights)
    n, m = c.shape
    p = _check_p(p, m)
    require_reachable(c)
    if method not in ("auto", "lagrangian", "mip"):
        msg = f"method must be 'auto', 'lagrangian' or 'mip', got {method!r}"
        raise InputError(msg, field="method")
    start = interchange(c, greedy_median(c, p, w), w)
    integral = _integral(c, w)
    # large instances: the Lagrangian sums each demand's nearest pairs only (see _median_lagr)
    k_near = min(m, max(40, 5 * math.ceil(m / p))) if n * m >= 2_000_000 else 0
    st = LagrangianState(c, w, p, median_objective(c, start, w), start, integral, mip_gap,
                         k_nearest=k_near)
    use_bb = method == "lagrangian" or (method == "auto" and m >= 8 * p)
    share = 0.6 if use_bb else 0.15
    raw_lb, lam, cj, _ = root_bound(st, deadline=t0 + share * time_limit_s)
    lb = _round_bound(raw_lb, integral)
    info: dict = {"method": "lagrangian" if use_bb else "mip"}
    if st.ub - lb <= max(mip_gap * abs(st.ub), 1e-9):
        info.update(proof="lagrangian", rounds=0)
        return _solution(c, st.best_open, st.ub, min(lb, st.ub), "optimal", t0, info)
    closed, _ = reduce_sites(st, raw_lb, cj, p)
    closed[st.best_open] = False
    info["closed_by_lagrange"] = int(closed.sum())
    if use_bb:
        res = branch_and_bound(st, lam, raw_lb, closed=closed, deadline=t0 + time_limit_s)
        info["nodes"] = res.nodes
        if res.complete:
            bound = st.ub if integral else min(res.bound, st.ub)
            status = "optimal"
        else:
            bound, status = _round_bound(res.bound, integral), "time_limit"
        gap = rel_gap(st.ub, bound)
        if status == "optimal" and math.isfinite(st.ub) and gap > max(mip_gap, 1e-9) * 10 + 1e-9:
            status = "feasible"
        return _solution(c, st.best_open, st.ub, bound, status, t0, info)
    best_open, best_obj, bound, status, mip_info = _restricted_mip(
        c, w, p, st.best_open, st.ub, closed, float(lb), t0=t0, time_limit_s=time_limit_s,
        solver=solver, seed=seed, mip_gap=mip_gap, extra_pairs=extra_pairs, full_pairs=full_pairs)
    info.update(mip_info)
    bound = _round_bound(bound, integral)
    gap = rel_gap(best_obj, bound) if math.isfinite(bound) else INF
    if status == "optimal" and math.isfinite(best_obj) and gap > max(mip_gap, 1e-9) * 10 + 1e-9:
        status = "feasible"
    return _solution(c, best_open, best_obj, bound if math.isfinite(bound) else -INF, status, t0, info)


def _round_bound(value: float, integral: bool) -> float:
    """A lower bound rounded up to the next integer when every objective value is an integer."""
    if integral and math.isfinite(value):
        return float(math.ceil(value - 1e-9 * max(1.0, abs(value)) - 1e-6))
    return value


def _solution(c: np.ndarray, open_: np.ndarray, obj: float, bound: float, status: str, t0: float,
              info: dict) -> Solution:
    if not math.isfinite(obj):
        if status in ("optimal", "infeasible"):
            msg = "no set of p candidates reaches every demand (too many inf costs for this p)"
            raise InfeasibleError(msg)
        msg = "no p-median solution found within the time limit"
        raise SolverTimeout(msg)
    return Solution(open=np.sort(open_), assignment=nearest_open(c, open_), objective=obj,
                    bound=bound, gap=rel_gap(obj, bound), status=status,
                    solve_time_s=time.perf_counter() - t0, info=info)


def _restricted_mip(c: np.ndarray, w: np.ndarray, p: int, best_open: np.ndarray, best_obj: float,
                    closed: np.ndarray, lb: float, *, t0: float, time_limit_s: float, solver: str,
                    seed: int, mip_gap: float, extra_pairs: int, full_pairs: int
                    ) -> tuple[np.ndarray, float, float, str, dict]:
    """The restricted classic model with a "far" variable per demand (see the module docstring),
    grown until no far variable is used. Returns (open, objective, bound, status, info)."""
    n, m = c.shape
    order = np.argsort(np.where(closed[None, :], np.inf, c), axis=1, kind="stable")
    c = np.where(closed[None, :], np.inf, c)
    sorted_c = np.take_along_axis(c, order, axis=1)
    d_h = c[np.arange(n), nearest_open(c, best_open)]
    keep = (sorted_c <= d_h[:, None] + 1e-12).sum(axis=1) + extra_pairs
    if n * m <= full_pairs:
        keep = np.full(n, m)
    keep = np.minimum(keep, np.isfinite(sorted_c).sum(axis=1))
    keep = np.minimum(keep, m - p + 1)   # the nearest open site is among the m-p+1 nearest
    bound = float(lb)
    status = "time_limit"
    rounds = 0
    while True:
        rounds += 1
        left = time_limit_s - (time.perf_counter() - t0)
        if left <= 0.05:
            break
        mip = make_solver(solver)
        y = [mip.BoolVar(f"y{j}") for j in range(m)]
        for j in np.flatnonzero(closed):
            y[j].SetUb(0.0)
        card = mip.Constraint(p, p)
        for v in y:
            card.SetCoefficient(v, 1.0)
        obj = mip.Objective()
        xs: list[tuple[int, int, pywraplp.Variable]] = []
        fars = []
        for i in range(n):
            row = mip.Constraint(1.0, 1.0)
            for r in range(int(keep[i])):
                j = int(order[i, r])
                v = mip.NumVar(0.0, 1.0, "")
                obj.SetCoefficient(v, float(w[i] * c[i, j]))
                row.SetCoefficient(v, 1.0)
                link = mip.Constraint(-INF, 0.0)
                link.SetCoefficient(v, 1.0)
                link.SetCoefficient(y[j], -1.0)
                xs.append((i, j, v))
            if keep[i] < m - p + 1 and keep[i] < m and np.isfinite(sorted_c[i, keep[i]]):
                f = mip.NumVar(0.0, 1.0, "")
                obj.SetCoefficient(f, float(w[i] * sorted_c[i, keep[i]]))
                row.SetCoefficient(f, 1.0)
                fars.append((i, f))
        obj.SetMinimization()
        near = nearest_open(c, best_open)
        is_open = np.zeros(m, dtype=bool)
        is_open[best_open] = True
        hint_vars = list(y) + [v for _, _, v in xs] + [f for _, f in fars]
        hint_vals = ([float(b) for b in is_open] + [1.0 if near[i] == j else 0.0 for i, j, _ in xs]
                     + [0.0] * len(fars))
        res = run(mip, solver_name=solver, time_limit_s=left, mip_gap=mip_gap, seed=seed,
                  hint=(hint_vars, hint_vals))
        if not res.has_solution:
            status = res.status
            break
        bound = max(bound, res.bound)
        opened = np.array([j for j in range(m) if y[j].solution_value() > 0.5], dtype=int)
        obj_true = median_objective(c, opened, w)
        if obj_true < best_obj - 1e-9:
            best_obj, best_open = obj_true, opened
        used_far = [i for i, f in fars if f.solution_value() > 1e-6]
        if res.status != "optimal":
            status = res.status
            break
        if not used_far:
            status = "optimal"
            break
        for i in used_far:   # grow those demands' pair sets and solve again
            keep[i] = min(max(3 * keep[i], keep[i] + 10), m - p + 1, m)
    return best_open, best_obj, bound, status, {"rounds": rounds, "pairs": int(keep.sum())}


def p_center(
    cost: np.ndarray,
    p: int,
    *,
    time_limit_s: float = 60.0,
    solver: str = "scip",
    seed: int = 0,
) -> Solution:
    """Open ``p`` candidates minimising the largest cost from a demand to its nearest open site.

    Returns
    -------
    Solution
        objective = the largest assigned cost (cost unit); exact by bisection over distances.
    """
    from netplan.siting.coverage import min_cover_sites

    t0 = time.perf_counter()
    c, _ = check_cost(cost)
    n, m = c.shape
    p = _check_p(p, m)
    require_reachable(c)
    start = interchange(c, greedy_median(c, p), None)
    # a p-center start: best of the median heuristic and a farthest-first pass
    best_open = start
    best = float(c[np.arange(n), nearest_open(c, best_open)].max())
    values = np.unique(c[np.isfinite(c)])
    lo_val = float(np.max(np.min(c, axis=1)))   # no radius below every demand's nearest site works
    values = values[(values >= lo_val) & (values <= best)]
    lo, hi = 0, len(values) - 1   # answer is values[k] for the smallest feasible k; values[hi] feasible
    proven = True
    while lo < hi:
        mid = (lo + hi) // 2
        left = time_limit_s - (time.perf_counter() - t0)
        if left <= 0.05:
            proven = False
            break
        sites, exact = min_cover_sites(c, float(values[mid]), p, solver=solver, seed=seed,
                                        time_limit_s=left)
        if sites is not None and len(sites) <= p:
            hi = mid
            extra = [j for j in np.argsort(c.min(axis=0)) if j not in set(sites)]
            cand = np.array(sorted(list(sites) + extra[:p - len(sites)]), dtype=int)
            val = float(c[np.arange(n), nearest_open(c, cand)].max())
            if val <= best:
                best, best_open = val, cand
        else:
            if not exact:
                proven = False
                break
            lo = mid + 1
    bound = float(values[lo])   # every smaller distance was proven infeasible
    gap = rel_gap(best, bound)
    status = "optimal" if proven and gap <= 1e-12 else "time_limit"
    return Solution(open=np.sort(best_open), assignment=nearest_open(c, best_open), objective=best,
                    bound=bound, gap=gap, status=status, solve_time_s=time.perf_counter() - t0)
