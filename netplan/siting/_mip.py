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


@dataclass
class Budget:
    """What a solve may spend: a deterministic work budget and a CPU-second safety stop.

    Every phase that can change the plan stops on work (MIP nodes, heuristic iterations), so the
    same inputs give the same plan on an idle and on a loaded machine; ``deadline`` (CPU seconds
    of this process, :func:`clock`) only stops a phase that overruns its work estimate.

    Attributes
    ----------
    work
        Work units left; one unit is about one CPU second of MIP search on a model of
        :data:`REF_NONZEROS` coefficients (see :meth:`nodes`).
    deadline
        :func:`clock` value at which everything stops (the safety stop).
    """

    work: float
    deadline: float

    @classmethod
    def cpu(cls, time_limit_s: float, work: float | None = None, *, load: float = 0.75) -> Budget:
        """A budget for ``time_limit_s`` CPU seconds; work defaults to ``load`` of it (headroom
        for slower CPU seconds on a busy machine before the safety stop would cut in)."""
        return cls(work=load * time_limit_s if work is None else work,
                   deadline=clock() + time_limit_s)

    def left_s(self) -> float:
        """CPU seconds left before the safety stop."""
        return max(0.0, self.deadline - clock())

    def split(self, share: float) -> Budget:
        """A sub-budget of ``share`` of the work left (same deadline); spend it with :meth:`spent`."""
        return Budget(work=max(0.0, share * self.work), deadline=self.deadline)

    def spent(self, units: float) -> None:
        """Record ``units`` of work done."""
        self.work = max(0.0, self.work - units)

    def nodes(self, nonzeros: int, units: float | None = None) -> int:
        """MIP node limit worth ``units`` (default: all the work left) on a model of ``nonzeros``
        coefficients (node cost grows about linearly with the model's size)."""
        u = self.work if units is None else units
        return max(1, int(u * NODES_PER_UNIT * REF_NONZEROS / max(nonzeros, 1000)))


#: Calibration of :meth:`Budget.nodes`: SCIP nodes per work unit on a model of REF_NONZEROS
#: coefficients (demo county straw block, 27 k coefficients: 200 nodes took 81 CPU s of which
#: ~15 s root, i.e. ~3 nodes per CPU s; the root's work is on top and not limited by nodes).
NODES_PER_UNIT = 1.6
REF_NONZEROS = 50_000


def nonzeros(solver: pywraplp.Solver) -> int:
    """Number of constraint coefficients of a built pywraplp model (its size for :meth:`Budget.nodes`)."""
    from ortools.linear_solver import linear_solver_pb2

    proto = linear_solver_pb2.MPModelProto()
    solver.ExportModelToProto(proto)
    return sum(len(c.var_index) for c in proto.constraint)


@dataclass(frozen=True)
class RunResult:
    """Outcome of one solver call: netplan status, objective, bound, relative gap, seconds."""

    status: str
    objective: float
    bound: float
    gap: float
    solve_time_s: float
    has_solution: bool
    nodes: int = 0


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
    node_limit: int | None = None,
    scip_params: str = "",
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
    node_limit
        Branch-and-bound node limit (SCIP): a deterministic stop, so a plan stopped by it does not
        depend on machine load; the time limit is then only a safety stop.
    scip_params
        More SCIP parameters (``name = value`` lines), e.g. deterministic root limits.
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
            "timing/clocktype = 1\n"
            + (f"limits/nodes = {int(node_limit)}\n" if node_limit is not None else "")
            + scip_params)
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
    try:
        n_nodes = int(solver.nodes())
    except Exception:  # pragma: no cover - backend without a node count
        n_nodes = 0
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
        return RunResult(status, obj, bound, gap, elapsed, True, n_nodes)
    if code == pywraplp.Solver.INFEASIBLE:
        return RunResult("infeasible", math.nan, math.nan, math.nan, elapsed, False, n_nodes)
    # without a solution pywraplp's bound is not reliable across backends (HiGHS reports 0)
    return RunResult("no_solution", math.nan, -math.inf, math.inf, elapsed, False, n_nodes)
