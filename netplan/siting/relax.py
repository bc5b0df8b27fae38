"""Coverage targets above what a county's geography lets the network reach: plan for the reachable.

A prefecture's targets (film recovery 98 %, a collection point for every village) meet counties
where some villages lie beyond every candidate's radius, or generate more than any single site
may take (single sourcing). :func:`three_tier` then has no plan and says why. For a region batch a
planner needs the best plan that *can* be built, with the shortfall named: :func:`relax_unreachable`
lowers a stream's coverage target to exactly what lies within reach (nothing else changes: radii,
capacities, township rules and costs stay), and returns what it did, naming every demand left out
and why. The official indicators are still scored against the scenario's targets, so a relaxed
stream shows its target as missed (docs/indicators.md); the relaxation only lets the siting plan.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from netplan.siting._tt_prep import prepare


@dataclass(frozen=True)
class Relaxation:
    """A stream's coverage target lowered to what its candidates can reach.

    Attributes
    ----------
    stream
        Stream name.
    coverage_on
        "weight" (share of tonnage) or "count" (share of the counted demands, villages).
    target
        The coverage target asked (0–1).
    planned
        The coverage target planned for: everything within reach (0–1).
    left_out
        Demand indices (of the model) that no plan can serve, with ``reasons`` (same order).
    reasons
        Why each demand of ``left_out`` cannot be served (radius, capacity, no onward site).
    left_out_t
        Generation of the demands left out (t/yr).
    """

    stream: str
    coverage_on: str
    target: float
    planned: float
    left_out: tuple[int, ...]
    reasons: tuple[str, ...]
    left_out_t: float

    def summary(self) -> str:
        """One line: what was asked, what is planned, how much lies out of reach."""
        what = "of the tonnage" if self.coverage_on == "weight" else "of the villages"
        n = len(self.left_out)
        return (f"coverage target {self.target:.1%} {what} lies beyond reach: planned for "
                f"{self.planned:.1%} ({n} demand{'s' if n != 1 else ''}, {self.left_out_t:,.0f} t/yr "
                "cannot be served by any candidate within the radii and capacities)")


def relax_unreachable(model) -> tuple[object, Relaxation | None]:
    """``model`` (a :class:`~netplan.siting.StreamModel`) with its coverage target lowered to what
    can be reached, or ``model`` itself and None when the target is reachable.

    Reachable = the demand has a tier-1 candidate within the radius whose capacity holds it
    (single sourcing) and which can forward to a candidate within the next tier's radius, up to
    the top tier (the pair reduction of :func:`three_tier`). A "weight" target is lowered to the
    reachable share of the tonnage (rounded down to 1e-6), a "count" target to the reachable share
    of the counted demands. Other infeasibilities (total capacity, township rules) are left to
    :func:`three_tier` to report.
    """
    sd, problems = prepare(model)
    w = sd.w
    reach = np.zeros(len(w), dtype=bool)
    reach[sd.tiers[0].pa] = True
    if model.coverage_on == "weight":
        total = float(w.sum())
        share = float(w[reach].sum()) / total if total > 0 else 1.0
        asked_ok = model.coverage_target <= share + 1e-12
        planned = math.floor(share * 1e6) / 1e6
        out = ~reach & (w > 0)
    else:
        counted = sd.count_mask
        n = int(counted.sum())
        k = int((counted & reach).sum())
        asked_ok = n == 0 or math.ceil(model.coverage_target * n - 1e-9) <= k
        planned = k / n if n else 1.0
        out = counted & ~reach
    if asked_ok:
        return model, None
    why = {p.index: p.reason for p in problems
           if p.index >= 0 and (p.label or "").startswith(f"{model.name} demand ")}
    left = np.flatnonzero(out)
    reasons = tuple(why.get(int(i), _reason(sd, model, int(i))) for i in left)
    relaxed = dataclasses.replace(model, coverage_target=float(planned))
    return relaxed, Relaxation(stream=model.name, coverage_on=model.coverage_on,
                               target=float(model.coverage_target), planned=float(planned),
                               left_out=tuple(int(i) for i in left), reasons=reasons,
                               left_out_t=float(w[left].sum()))


def _reason(sd, model, i: int) -> str:
    """Why demand ``i`` has no usable tier-1 pair (for demands the diagnosis did not list)."""
    cost = np.asarray(model.tiers[0].cost, dtype=float)[i]
    radius = model.tiers[0].radius
    cap = np.broadcast_to(np.asarray(model.tiers[0].capacity, dtype=float), cost.shape)
    near = np.isfinite(cost) & ((cost <= radius) if radius is not None else True)
    if not near.any():
        return "no village point candidate within the radius"
    if sd.single_source and not (cap[near] >= sd.w[i] - 1e-9).any():
        return (f"generation {sd.w[i]:,.0f} t/yr exceeds the capacity of every village point "
                f"candidate within reach (largest {cap[near].max():,.0f} t/yr)")
    return "the village point candidates within reach cannot forward to any site of the tier above"
