"""Siting engine: facility-location models on cost arrays (the array core of netplan).

Every function takes numpy arrays (``cost`` of shape (n_demand, n_candidate), metres or seconds,
``inf`` = not allowed), solver controls ``time_limit_s``, ``solver`` ("scip", "highs", "cbc",
"cp-sat") and ``seed``, and returns an immutable result with ``open``, ``assignment``,
``objective``, ``bound``, ``gap``, ``status`` ("optimal", "feasible", "infeasible",
"time_limit") and ``solve_time_s``. Infeasible inputs raise
:class:`~netplan.errors.InfeasibleError` naming the demands and why.

- :func:`set_cover` (LSCP, partial coverage), :func:`max_cover` (MCLP)
- :func:`p_median`, :func:`p_center`
- :func:`capacitated` (CFLP, single- or multi-source)
- :func:`solve_sscflp` → :class:`SSCFLPResult` (single-source CFLP engine on pair costs: Lagrangian
  bound and heuristic, MIP neighbourhood search, strong HiGHS MIP; deterministic work budget)
- :func:`three_tier` with :class:`Tier`, :class:`StreamModel` → :class:`ThreeTierSolution`
  (the planner's model: village point → township station → county centre)
"""

from netplan.siting.cflp import capacitated
from netplan.siting.coverage import max_cover, set_cover
from netplan.siting.median import p_center, p_median
from netplan.siting.solution import BlockResult, Solution, StreamSolution, ThreeTierSolution
from netplan.siting.sscflp import SSCFLPResult, solve_sscflp
from netplan.siting.three_tier import StreamModel, Tier, three_tier

__all__ = [
    "BlockResult",
    "SSCFLPResult",
    "Solution",
    "StreamModel",
    "StreamSolution",
    "ThreeTierSolution",
    "Tier",
    "capacitated",
    "max_cover",
    "p_center",
    "p_median",
    "set_cover",
    "solve_sscflp",
    "three_tier",
]
