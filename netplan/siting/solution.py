"""Immutable result types of the siting engine."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Solution:
    """Result of a single-level location model.

    Attributes
    ----------
    open
        Sorted indices of the opened candidates.
    assignment
        Per demand, the candidate index serving it, or -1 where unserved / uncovered.
    objective
        Objective value in the model's own unit (number of sites, covered weight, weighted
        cost, maximum cost or CNY/yr; see each function).
    bound
        Best proven bound on the objective (lower bound when minimising, upper when maximising).
    gap
        Relative gap ``|objective - bound| / |objective|`` (0 when proven optimal).
    status
        "optimal", "feasible", "infeasible" or "time_limit".
    solve_time_s
        Wall-clock seconds spent (reduction, heuristics and solver).
    """

    open: np.ndarray
    assignment: np.ndarray
    objective: float
    bound: float
    gap: float
    status: str
    solve_time_s: float
    info: dict = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        return (f"Solution(status={self.status!r}, objective={self.objective:.6g}, "
                f"bound={self.bound:.6g}, gap={self.gap:.2e}, open={len(self.open)} sites, "
                f"unserved={int((self.assignment < 0).sum())}, time={self.solve_time_s:.2f}s)")


@dataclass(frozen=True)
class StreamSolution:
    """One stream's part of a :class:`ThreeTierSolution`.

    Attributes
    ----------
    name
        Stream name.
    open
        Per tier, sorted indices of the opened candidates of that tier.
    assignment
        Per tier ``t``, an array over the items of the previous level (demands for tier 0,
        tier ``t-1`` candidates otherwise) giving the tier-``t`` candidate they send to, or -1
        (unserved demand, or candidate not open).
    load_t
        Per tier, inflow in t/yr of every candidate of that tier (0 where closed).
    served
        Boolean per demand.
    coverage_weight, coverage_count
        Share of tonnage served; share of counted demands (``count_mask``) served.
    fixed_cost_cny, transport_cost_cny, penalty_cny
        This stream's split of the objective, CNY/yr. A fixed cost shared by co-located streams
        is split evenly between the streams that open the site.
    flow_t
        Per tier ``t``, the flows into that tier as ``(src, dst, t_per_yr)`` arrays: item ``src``
        of the previous level (demand for tier 0) sends ``t_per_yr`` t/yr to tier-``t``
        candidate ``dst``; only positive flows. With ``single_source=False`` an item may appear
        several times (split demand or flow; ``assignment`` then names its largest share);
        with single sourcing each item appears at most once. Empty tuple when not computed.
    """

    name: str
    open: tuple[np.ndarray, ...]
    assignment: tuple[np.ndarray, ...]
    load_t: tuple[np.ndarray, ...]
    served: np.ndarray
    coverage_weight: float
    coverage_count: float
    fixed_cost_cny: float
    transport_cost_cny: float
    penalty_cny: float
    flow_t: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...] = ()


def plan_worth(status: str | None, gap: float | None) -> str:
    """What a plan is worth, in words: "proven optimal" or "within X % of the lower bound".

    ``gap`` is the relative gap to the proven lower bound (:attr:`Solution.gap`); a gap of at
    most 0.01 % counts as proven (the solvers' default optimality tolerance).
    """
    if gap is None or gap != gap:
        return "optimality unknown (no bound)"
    if status == "optimal" or gap <= 1e-4:
        return "proven optimal"
    if gap == float("inf"):
        return "no lower bound"
    return f"within {100 * gap:.2f} % of the lower bound"


@dataclass(frozen=True)
class BlockResult:
    """One independently solved model of :func:`netplan.siting.three_tier`: a stream, or the
    streams coupled by shared sites.

    Attributes
    ----------
    streams
        Names of the streams solved together.
    objective, bound, gap, status, solve_time_s
        As in :class:`Solution`, for this block alone; CNY/yr, wall seconds.
    targets
        Coverage target planned per stream (0–1), lower than the model's where
        ``three_tier(coverage_backoff=...)`` lowered it; empty = not recorded.
    """

    streams: tuple[str, ...]
    objective: float
    bound: float
    gap: float
    status: str
    solve_time_s: float
    targets: tuple[float, ...] = ()


@dataclass(frozen=True)
class ThreeTierSolution:
    """Result of :func:`netplan.siting.three_tier`.

    Attributes
    ----------
    streams
        One :class:`StreamSolution` per stream, in input order.
    objective, bound, gap, status, solve_time_s
        As in :class:`Solution`; objective and bound in CNY/yr.
    fixed_cost_cny, transport_cost_cny, penalty_cny
        Objective split, CNY/yr (sum equals ``objective`` up to solver tolerance).
    shared_sites
        Per tier, the physical site indices whose fixed cost is paid once for several streams.
    blocks
        The independently solved models (streams not coupled by ``share`` are solved one after
        another), each with its own status, objective, bound and gap.
    """

    streams: tuple[StreamSolution, ...]
    objective: float
    bound: float
    gap: float
    status: str
    solve_time_s: float
    fixed_cost_cny: float
    transport_cost_cny: float
    penalty_cny: float
    shared_sites: tuple[np.ndarray, ...] = ()
    blocks: tuple[BlockResult, ...] = ()

    def stream(self, name: str) -> StreamSolution:
        """The :class:`StreamSolution` of stream ``name``."""
        for s in self.streams:
            if s.name == name:
                return s
        raise KeyError(name)

    def __repr__(self) -> str:
        lines = [f"ThreeTierSolution(status={self.status!r}, objective={self.objective:,.0f} CNY/yr, "
                 f"bound={self.bound:,.0f}, gap={self.gap:.2e}, time={self.solve_time_s:.2f}s)"]
        for s in self.streams:
            opened = "/".join(str(len(o)) for o in s.open)
            lines.append(f"  {s.name}: open {opened}, coverage {s.coverage_weight:.1%} t, "
                         f"{s.coverage_count:.1%} villages")
        return "\n".join(lines)
