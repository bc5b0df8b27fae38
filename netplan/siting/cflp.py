r"""Capacitated facility location (CFLP), single- or multi-source.

.. math::

    \min \sum_j F_j y_j + \sum_{ij} w_i d_{ij} x_{ij}
    \;\text{s.t.}\; \sum_j x_{ij} = 1,\; x_{ij} \le y_j,\;
    \sum_i q_i x_{ij} \le C_j y_j,\; \sum_j C_j y_j \ge \sum_i q_i

with :math:`x_{ij} \in \{0,1\}` (single source) or :math:`[0,1]` (split demand), :math:`y` binary.
Single sourcing is solved by :func:`netplan.siting.sscflp.solve_sscflp` (Lagrangian bound and
heuristic, MIP neighbourhood search, strong HiGHS MIP; ``solver`` and ``mip_gap`` do not apply);
split demand by the model below with ``solver``.
The strong linking :math:`x_{ij} \le y_j` and the aggregate capacity cut tighten the LP; pairs with
infinite cost (or, single source, :math:`q_i > C_j`) are never built.
"""

from __future__ import annotations

import math
import time

import numpy as np

from netplan.errors import InfeasibleError, InputError, SolverTimeout, Unservable
from netplan.siting._mip import make_solver, run
from netplan.siting.reduce import check_cost
from netplan.siting.solution import Solution
from netplan.siting.sscflp import solve_sscflp

INF = math.inf


def capacitated(
    cost: np.ndarray,
    demand: np.ndarray,
    capacity: np.ndarray | float,
    fixed_cost: np.ndarray | float,
    *,
    single_source: bool = True,
    weights: np.ndarray | None = None,
    time_limit_s: float = 60.0,
    solver: str = "scip",
    seed: int = 0,
    mip_gap: float = 1e-6,
) -> Solution:
    """Open sites and assign demands under capacities, minimising fixed + transport cost.

    Parameters
    ----------
    cost
        (n_demand, n_candidate) cost unit per unit of ``weights`` (e.g. CNY per t); inf = not allowed.
    demand
        (n_demand,) t/yr that uses capacity.
    capacity, fixed_cost
        (n_candidate,) or scalar: t/yr and CNY/yr.
    weights
        Multiplier of ``cost`` per demand; default ``demand`` (cost per t). Pass ones when
        ``cost`` is already the cost of serving the whole demand (OR-Library format).
    single_source
        Each demand served by one site (True) or split (False).

    Returns
    -------
    Solution
        objective in cost units; assignment = main serving site (largest share when split).

    Raises
    ------
    InfeasibleError
        Demands with no usable site (none reachable, or larger than every reachable capacity
        under single sourcing), or total capacity short of total demand.
    """
    t0 = time.perf_counter()
    c, q = check_cost(cost, demand)
    n, m = c.shape
    cap = np.broadcast_to(np.asarray(capacity, dtype=float), (m,)).copy()
    fixed = np.broadcast_to(np.asarray(fixed_cost, dtype=float), (m,)).copy()
    w = q.copy() if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (n,):
        msg = f"weights must have {n} entries"
        raise InputError(msg, field="weights")
    ok = _usable_pairs(c, q, cap, single_source=single_source)
    if single_source:
        return _single_source(c, q, cap, fixed, w, ok, time_limit_s, seed, t0)
    return _split_demand(c, q, cap, fixed, w, ok, solver=solver, time_limit_s=time_limit_s,
                         mip_gap=mip_gap, seed=seed, t0=t0)


def _single_source(c, q, cap, fixed, w, ok, time_limit_s, seed, t0) -> Solution:
    """Single sourcing: :func:`netplan.siting.sscflp.solve_sscflp` on the pair costs w_i c_ij."""
    pair = np.where(ok, w[:, None] * np.where(ok, c, 0.0), np.inf)
    r = solve_sscflp(fixed, cap, q, pair, time_limit_s=time_limit_s, seed=seed)
    if r.status == "no_solution":
        if r.work.get("reason") == "infeasible input":
            msg = "no assignment satisfies every capacity under single sourcing"
            raise InfeasibleError(msg, unservable=[Unservable(int(i), f"demand {q[i]:g}")
                                                   for i in np.argsort(-q)[:20]])
        msg = f"no feasible single-source CFLP plan within {time_limit_s:g} CPU s"
        raise SolverTimeout(msg)
    status = r.status if r.status == "optimal" else (
        "time_limit" if r.cpu_s >= 0.95 * time_limit_s else "feasible")
    return Solution(open=r.open, assignment=r.assign, objective=r.objective, bound=r.bound,
                    gap=r.gap, status=status, solve_time_s=time.perf_counter() - t0,
                    info={"pairs": int(ok.sum()), "share": None, "work": r.work})


def _usable_pairs(c: np.ndarray, q: np.ndarray, cap: np.ndarray, *,
                  single_source: bool) -> np.ndarray:
    """(n, m) bool of usable pairs; raise InfeasibleError for unservable demands or short capacity."""
    n = c.shape[0]
    ok = np.isfinite(c)
    if single_source:
        ok &= q[:, None] <= cap[None, :] + 1e-9
    bad = np.flatnonzero(~ok.any(axis=1))
    if len(bad):
        msg = f"{len(bad)} demand(s) have no usable site"
        raise InfeasibleError(msg, unservable=[Unservable(
            int(i), "no reachable site" if not np.isfinite(c[i]).any() else
            f"demand {q[i]:g} exceeds every reachable capacity (largest "
            f"{cap[np.isfinite(c[i])].max():g})") for i in bad])
    if cap.sum() < q.sum() - 1e-9:
        msg = f"total capacity {cap.sum():g} is short of total demand {q.sum():g}"
        raise InfeasibleError(msg, unservable=[Unservable(int(i), "capacity short in total")
                                               for i in range(n)])
    return ok


def _split_demand(c, q, cap, fixed, w, ok, *, solver: str, time_limit_s: float, mip_gap: float,
                  seed: int, t0: float) -> Solution:
    """Split demand: the strong CFLP MIP above, solved with ``solver``."""
    n, m = c.shape
    mip = make_solver(solver)
    y = [mip.BoolVar(f"y{j}") for j in range(m)]
    obj = mip.Objective()
    for j in range(m):
        obj.SetCoefficient(y[j], float(fixed[j]))
    rows, cols = np.nonzero(ok)
    x = {}
    capc = [mip.Constraint(-INF, 0.0) for _ in range(m)]
    for j in range(m):
        capc[j].SetCoefficient(y[j], -float(cap[j]))
    assign_c = [mip.Constraint(1.0, 1.0) for _ in range(n)]
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        v = mip.NumVar(0.0, 1.0, "")
        x[i, j] = v
        obj.SetCoefficient(v, float(w[i] * c[i, j]))
        assign_c[i].SetCoefficient(v, 1.0)
        capc[j].SetCoefficient(v, float(q[i]))
        link = mip.Constraint(-INF, 0.0)
        link.SetCoefficient(v, 1.0)
        link.SetCoefficient(y[j], -1.0)
    agg = mip.Constraint(float(q.sum()), INF)
    for j in range(m):
        agg.SetCoefficient(y[j], float(cap[j]))
    obj.SetMinimization()
    res = run(mip, solver_name=solver, time_limit_s=time_limit_s, mip_gap=mip_gap, seed=seed)
    if res.status == "infeasible":
        msg = ("no assignment satisfies every capacity (single sourcing packs demands badly); "
               "largest demands first")
        raise InfeasibleError(msg, unservable=[Unservable(int(i), f"demand {q[i]:g}")
                                               for i in np.argsort(-q)[:20]])
    if not res.has_solution:
        msg = f"no feasible CFLP solution within {time_limit_s:g} s ({solver})"
        raise SolverTimeout(msg)
    share = np.zeros((n, m))
    for (i, j), v in x.items():
        share[i, j] = v.solution_value()
    assign = np.argmax(share, axis=1)
    open_ = np.array([j for j in range(m) if y[j].solution_value() > 0.5], dtype=int)
    return Solution(open=open_, assignment=assign, objective=res.objective, bound=res.bound,
                    gap=res.gap, status=res.status, solve_time_s=time.perf_counter() - t0,
                    info={"pairs": len(x), "share": share})

