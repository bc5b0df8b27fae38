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

from netplan.siting._tt_prep import StreamData, prepare
from netplan.siting.three_tier import StreamModel


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
    modular: tuple[tuple[int, int, int], ...] = ()

    def summary(self) -> str:
        """One line: what was asked, what is planned, how much lies out of reach."""
        what = "of the tonnage" if self.coverage_on == "weight" else "of the villages"
        parts = []
        if self.modular:
            m = len(self.modular)
            parts.append(f"{m} village point{'s' if m != 1 else ''} may be built as several units for "
                         "villages heavier than one point holds")
        n = len(self.left_out)
        if self.planned < self.target:
            parts.append(f"coverage target {self.target:.1%} {what} lies beyond reach: planned for "
                         f"{self.planned:.1%} ({n} demand{'s' if n != 1 else ''}, "
                         f"{self.left_out_t:,.0f} t/yr cannot be served by any candidate within the "
                         "radii and capacities)")
        return "; ".join(parts)


def relax_unreachable(model: StreamModel) -> tuple[StreamModel, Relaxation | None]:
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
    asked_ok, planned, out = _reachable(model, sd)
    if asked_ok:
        return model, None
    modular: tuple[tuple[int, int, int], ...] = ()
    if sd.single_source:   # villages heavier than one point: that point built as several units
        model_m, modular = modular_points(model, sd)
        if modular:
            model, (sd, problems) = model_m, prepare(model_m)
            asked_ok, planned, out = _reachable(model, sd)
    target = float(model.coverage_target)
    if not asked_ok:
        model = dataclasses.replace(model, coverage_target=float(planned))
    why = {p.index: p.reason for p in problems
           if p.index >= 0 and (p.label or "").startswith(f"{model.name} demand ")}
    left = np.flatnonzero(out) if not asked_ok else np.zeros(0, dtype=int)
    reasons = tuple(why.get(int(i), _reason(sd, model, int(i))) for i in left)
    return model, Relaxation(stream=model.name, coverage_on=model.coverage_on, target=target,
                             planned=float(model.coverage_target),
                             left_out=tuple(int(i) for i in left), reasons=reasons,
                             left_out_t=float(sd.w[left].sum()), modular=modular)


def _reachable(model: StreamModel, sd: StreamData) -> tuple[bool, float, np.ndarray]:
    """Whether the coverage target can be reached, the reachable share (rounded down to 1e-6 for
    tonnage) and the demands out of reach that count for it."""
    w = sd.w
    reach = np.zeros(len(w), dtype=bool)
    reach[sd.tiers[0].pa] = True
    if model.coverage_on == "weight":
        total = float(w.sum())
        share = float(w[reach].sum()) / total if total > 0 else 1.0
        return (model.coverage_target <= share + 1e-12, math.floor(share * 1e6) / 1e6,
                ~reach & (w > 0))
    counted = sd.count_mask
    n = int(counted.sum())
    k = int((counted & reach).sum())
    ok = n == 0 or math.ceil(model.coverage_target * n - 1e-9) <= k
    return ok, (k / n if n else 1.0), counted & ~reach


def modular_points(model: StreamModel, sd: StreamData
                   ) -> tuple[StreamModel, tuple[tuple[int, int, int], ...]]:
    """Let the village point nearest a demand heavier than every point within its reach be built as
    ``k`` units (capacity and fixed cost × ``k``, ``k`` = the fewest that hold the heavy demands
    choosing it): an urban 居委会 gets several collection houses, a large farm a larger store.

    Only new candidates (not forced open) within the radius that can forward to the tier above
    are used. Returns the model and ``(demand, candidate, units)`` per heavy demand given one."""
    t0 = model.tiers[0]
    cost = np.asarray(t0.cost, dtype=float)
    n_c = cost.shape[1]
    cap = np.broadcast_to(np.asarray(t0.capacity, dtype=float), (n_c,)).astype(float)
    fixed = np.broadcast_to(np.asarray(t0.fixed_cost, dtype=float), (n_c,)).astype(float)
    td = sd.tiers[0]
    usable = td.alive & ~td.forced & np.isfinite(cap) & (cap > 0)
    reach = np.zeros(len(sd.w), dtype=bool)
    reach[td.pa] = True
    chosen: dict[int, list[int]] = {}
    for i in np.flatnonzero(~reach & (sd.w > 0)):
        near = usable & np.isfinite(cost[i]) & (cost[i] >= 0)
        if t0.radius is not None:
            near &= cost[i] <= t0.radius
        if not near.any():
            continue
        cand = np.flatnonzero(near)
        j = int(cand[np.lexsort((-cap[cand], cost[i, cand]))[0]])   # nearest, then largest
        chosen.setdefault(j, []).append(int(i))
    if not chosen:
        return model, ()
    out = []
    for j, heavy in sorted(chosen.items()):
        k = max(1, math.ceil(float(sd.w[heavy].sum()) / cap[j] - 1e-9))
        out += [(i, j, k) for i in heavy]
        cap[j] *= k
        fixed[j] *= k
    tiers = (dataclasses.replace(t0, capacity=cap, fixed_cost=fixed), *model.tiers[1:])
    return dataclasses.replace(model, tiers=tiers), tuple(out)


def _reason(sd: StreamData, model: StreamModel, i: int) -> str:
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
