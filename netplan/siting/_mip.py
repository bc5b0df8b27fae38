"""OR-Tools solver choice, parameters and the status/bound/gap bookkeeping shared by every model.

All models are built with :mod:`ortools.linear_solver.pywraplp` through the ``Constraint`` /
``SetCoefficient`` API (much faster from Python than expression objects) on sparse pair lists.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ortools.linear_solver import pywraplp

from netplan.errors import InputError

#: netplan solver name -> pywraplp backend id.
SOLVERS: dict[str, str] = {"scip": "SCIP", "highs": "HIGHS", "cbc": "CBC", "cp-sat": "CP_SAT"}


def clock() -> float:
    """CPU seconds of this process: the clock siting time limits count.

    SCIP is told the same (``timing/clocktype = 1``), so a limit buys the same search on an idle
    and on a loaded machine (two batch workers on two cores, other jobs), and plans stopped by it
    do not depend on machine load.
    """
    return time.process_time()


def make_solver(name: str) -> pywraplp.Solver:
    """Create a pywraplp solver for one of :data:`SOLVERS` (case-insensitive)."""
    key = name.lower().replace("_", "-")
    if key == "cpsat":
        key = "cp-sat"
    if key not in SOLVERS:
        msg = f"unknown solver {name!r}; expected one of {', '.join(SOLVERS)}"
        raise InputError(msg, field="solver")
    solver = pywraplp.Solver.CreateSolver(SOLVERS[key])
    if solver is None:  # pragma: no cover - depends on the OR-Tools build
        msg = f"solver {name!r} is not available in this OR-Tools build"
        raise InputError(msg, field="solver")
    return solver


@dataclass(frozen=True)
class RunResult:
    """Outcome of one solver call: netplan status, objective, bound, relative gap, seconds."""

    status: str
    objective: float
    bound: float
    gap: float
    solve_time_s: float
    has_solution: bool


def rel_gap(objective: float, bound: float) -> float:
    """Relative gap ``|objective - bound| / max(|objective|, 1e-9)``; 0 when both are 0."""
    if not (math.isfinite(objective) and math.isfinite(bound)):
        return math.inf
    den = max(abs(objective), 1e-9)
    if abs(objective - bound) <= 1e-9:
        return 0.0
    return abs(objective - bound) / den


def run(
    solver: pywraplp.Solver,
    *,
    solver_name: str,
    time_limit_s: float,
    mip_gap: float = 1e-4,
    seed: int = 0,
    hint: tuple[Sequence[pywraplp.Variable], Sequence[float]] | None = None,
    progress: bool = False,
    threads: int = 1,
    offset: float = 0.0,
) -> RunResult:
    """Solve ``solver`` under a time limit and map the outcome to netplan's status words.

    Parameters
    ----------
    time_limit_s
        Limit in seconds: CPU seconds for SCIP (see :func:`clock`), wall-clock for the others.
    mip_gap
        Relative gap at which the solver may stop and call the solution optimal.
    seed
        Random seed passed to the backend where it accepts one (SCIP, CP-SAT).
    offset
        Constant added to the objective and bound (kept out of the backend, whose handling of
        objective offsets in the reported bound differs).
    hint
        Variables and values of a known feasible solution (used by SCIP and CP-SAT; HiGHS
        through pywraplp crashes on hints, so it gets none).

    Returns
    -------
    RunResult
        ``status`` is "optimal" (proven within ``mip_gap``), "feasible" (stopped early for another
        reason), "time_limit" (limit reached with a solution), "infeasible" or "no_solution"
        (limit reached without any solution).
    """
    key = solver_name.lower().replace("_", "-")
    solver.SetTimeLimit(max(1, int(time_limit_s * 1000)))
    if progress:
        solver.EnableOutput()
    else:
        solver.SuppressOutput()
    if key == "scip":
        solver.SetSolverSpecificParametersAsString(
            f"randomization/randomseedshift = {int(seed)}\nlp/threads = {threads}\n"
            "timing/clocktype = 1\n")
    elif key == "cp-sat":
        solver.SetSolverSpecificParametersAsString(
            f"random_seed:{int(seed)} num_workers:{max(1, threads)} "
            f"relative_gap_limit:{mip_gap}")
    if hint is not None and key in ("scip", "cp-sat", "cbc") and len(hint[0]):
        solver.SetHint(list(hint[0]), [float(v) for v in hint[1]])
    params = pywraplp.MPSolverParameters()
    params.SetDoubleParam(pywraplp.MPSolverParameters.RELATIVE_MIP_GAP, mip_gap)
    t0 = clock() if key == "scip" else time.perf_counter()
    code = solver.Solve(params)
    elapsed = (clock() if key == "scip" else time.perf_counter()) - t0
    if code in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        obj = solver.Objective().Value() + offset
        try:
            raw = solver.Objective().BestBound()
            bound = raw + offset if math.isfinite(raw) and abs(raw) < 1e19 else -math.inf
        except Exception:  # pragma: no cover - backend without bound
            bound = -math.inf
        if code == pywraplp.Solver.OPTIMAL and not math.isfinite(bound):
            bound = obj
        gap = rel_gap(obj, bound)
        if code == pywraplp.Solver.OPTIMAL:
            status = "optimal"
        elif elapsed >= 0.95 * time_limit_s:
            status = "time_limit"
        else:
            status = "feasible"
        return RunResult(status, obj, bound, gap, elapsed, True)
    if code == pywraplp.Solver.INFEASIBLE:
        return RunResult("infeasible", math.nan, math.nan, math.nan, elapsed, False)
    # without a solution pywraplp's bound is not reliable across backends (HiGHS reports 0)
    return RunResult("no_solution", math.nan, -math.inf, math.inf, elapsed, False)
