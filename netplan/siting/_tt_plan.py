"""Plans of :func:`~netplan.siting.three_tier` and their price, independent of any solver.

A :class:`StreamPlan` is one stream's open sites, assignments and (multi-source) split flows; a
block's plan is a list of them, one per stream. :func:`price` turns a block plan into a
:class:`PricedPlan` (per-stream loads and cost parts, shared sites) with the co-location groups
of :func:`colocation_groups`, the same groups the MIP builder (``_tt_build``) adds ``z`` for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from netplan.siting._tt_prep import StreamData
from netplan.siting.solution import StreamSolution

Flows = tuple[np.ndarray, np.ndarray, np.ndarray]   # (src, dst, t_per_yr) of one tier's links


class StreamPlan(NamedTuple):
    """One stream's plan.

    Attributes
    ----------
    opens
        Per tier, bool flags over the tier's candidates: open.
    assigns
        Per tier, over the items of the previous level (demands for tier 0): the candidate they
        send to, -1 = none (multi-source: the destination of the largest share).
    flows
        Multi-source streams: per tier the split flows ``(src, dst, t_per_yr)``; None for
        single-source plans, whose flows follow from the assignments.
    """

    opens: list[np.ndarray]
    assigns: list[np.ndarray]
    flows: list[Flows] | None = None


@dataclass(frozen=True)
class CoGroup:
    """Candidates of several streams at one physical site and tier paying one fixed cost."""

    tier: int
    site: int
    cost_cny: float                         # CNY/yr, paid once when any member opens
    members: tuple[tuple[int, int], ...]    # (stream position in the block, candidate)


@dataclass(frozen=True)
class PricedPlan:
    """A block plan with its loads and cost parts (CNY/yr)."""

    plans: tuple[StreamPlan, ...]
    streams: tuple[StreamSolution, ...]
    fixed_cny: float
    transport_cny: float
    penalty_cny: float
    shared: tuple[np.ndarray, ...]          # per tier, physical sites shared by 2+ streams

    @property
    def total_cny(self) -> float:
        """Objective of the plan, CNY/yr."""
        return self.fixed_cny + self.transport_cny + self.penalty_cny


def colocation_groups(datas: list[StreamData], comps: list[list[int]],
                      site_fixed_cost: np.ndarray | None) -> list[CoGroup]:
    """The sites where two or more streams of a ``comps`` component have a candidate, per tier;
    cost = ``site_fixed_cost`` (per site, or per tier and site) or the largest member's."""
    out = []
    sfc = None if site_fixed_cost is None else np.asarray(site_fixed_cost, dtype=float)
    for comp in comps:
        for t in range(max(len(datas[s].tiers) for s in comp)):
            members: dict[int, list[tuple[int, int]]] = {}
            for s in comp:
                if t >= len(datas[s].tiers):
                    continue
                td = datas[s].tiers[t]
                for j in np.flatnonzero(td.alive & (td.site >= 0)):
                    members.setdefault(int(td.site[j]), []).append((s, int(j)))
            for sigma, mem in members.items():
                if len({s for s, _ in mem}) < 2:
                    continue
                if sfc is not None:
                    cost = float(sfc[sigma] if sfc.ndim == 1 else sfc[t, sigma])
                else:
                    cost = max(float(datas[s].tiers[t].fixed[j]) for s, j in mem)
                out.append(CoGroup(t, sigma, cost, tuple(mem)))
    return out


def shared_masks(datas: list[StreamData], groups: list[CoGroup]) -> list[list[np.ndarray]]:
    """Per stream and tier, bool over candidates: fixed cost paid by a co-location group."""
    out = [[np.zeros(td.n, dtype=bool) for td in sd.tiers] for sd in datas]
    for g in groups:
        for s, j in g.members:
            out[s][g.tier][j] = True
    return out


def plan_flows(sd: StreamData, plan: StreamPlan) -> list[Flows]:
    """Per tier, the flows ``(src, dst, t_per_yr)`` of a plan (derived from the assignments of a
    single-source plan, whose ``flows`` entry is None)."""
    if plan.flows is not None:
        return plan.flows
    a0 = plan.assigns[0]
    src = np.flatnonzero(a0 >= 0)
    out = [(src, a0[src], sd.w[src])]
    load = np.bincount(a0[src], weights=sd.w[src], minlength=sd.tiers[0].n)
    for t in range(1, len(sd.tiers)):
        a = plan.assigns[t]
        src = np.flatnonzero((a >= 0) & (load > 0))
        out.append((src, a[src], load[src]))
        load = np.bincount(a[src], weights=load[src], minlength=sd.tiers[t].n)
    return out


def pair_index(td, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Positions in ``td``'s pair lists of the pairs ``(src, dst)`` (-1 where absent)."""
    keys = td.pa.astype(np.int64) * td.n + td.pb
    order = np.argsort(keys, kind="stable")
    want = np.asarray(src, dtype=np.int64) * td.n + np.asarray(dst, dtype=np.int64)
    if len(keys) == 0:
        return np.full(len(want), -1, dtype=int)
    pos = np.minimum(np.searchsorted(keys[order], want), len(keys) - 1)
    return np.where(keys[order][pos] == want, order[pos], -1)


def transport(sd: StreamData, flows: list[Flows]) -> tuple[float, list[np.ndarray]]:
    """Transport cost (CNY/yr) and per-tier loads (t/yr) of a plan's flows."""
    cost, loads = 0.0, []
    for td, (src, dst, amt) in zip(sd.tiers, flows, strict=True):
        pos = pair_index(td, src, dst)
        if (pos < 0).any():
            msg = "a plan sends flow over a link the model does not have"
            raise ValueError(msg)
        cost += float((td.rate * td.pd[pos] / 1000.0 * amt).sum())
        loads.append(np.bincount(dst, weights=amt, minlength=td.n))
    return cost, loads


def price(datas: list[StreamData], groups: list[CoGroup], plans: list[StreamPlan]) -> PricedPlan:
    """Loads and the cost split of a block plan (from a MIP, a heuristic or a local search)."""
    plans = [p if isinstance(p, StreamPlan) else StreamPlan(*p) for p in plans]
    shared_by = shared_masks(datas, groups)
    fixed_by_stream = [0.0] * len(datas)
    shared_by_tier: dict[int, list[int]] = {}
    for g in groups:
        openers = sorted({s for s, j in g.members if plans[s].opens[g.tier][j]})
        if len(openers) >= 2:
            shared_by_tier.setdefault(g.tier, []).append(g.site)
        for s in openers:
            fixed_by_stream[s] += g.cost_cny / len(openers)
    out = []
    tot_t = tot_p = 0.0
    for s, (sd, plan) in enumerate(zip(datas, plans, strict=True)):
        flows = plan_flows(sd, plan)
        opens = []
        for t, td in enumerate(sd.tiers):
            opens.append(np.flatnonzero(plan.opens[t]))
            fixed_by_stream[s] += float(td.fixed[plan.opens[t] & ~shared_by[s][t]].sum())
        served = plan.assigns[0] >= 0
        cost_t, loads = transport(sd, flows)
        penalty = sd.penalty * float(sd.w[~served].sum())
        wt = float(sd.w.sum())
        cm = sd.count_mask
        out.append(StreamSolution(
            name=sd.name, open=tuple(opens), assignment=tuple(plan.assigns), load_t=tuple(loads),
            served=served, coverage_weight=float(sd.w[served].sum()) / wt if wt > 0 else 1.0,
            coverage_count=float(served[cm].mean()) if cm.any() else 1.0,
            fixed_cost_cny=fixed_by_stream[s], transport_cost_cny=cost_t, penalty_cny=penalty,
            flow_t=tuple(flows)))
        tot_t += cost_t
        tot_p += penalty
    n_t = max(len(sd.tiers) for sd in datas)
    shared = tuple(np.array(sorted(shared_by_tier.get(t, [])), dtype=int) for t in range(n_t))
    return PricedPlan(plans=tuple(plans), streams=tuple(out), fixed_cny=sum(fixed_by_stream),
                      transport_cny=tot_t, penalty_cny=tot_p, shared=shared)


def plan_from_start(sd: StreamData, start) -> StreamPlan | None:
    """A :class:`StreamPlan` over ``sd``'s candidates from a previous solve's
    :class:`~netplan.siting.solution.StreamSolution` (``open`` indices, ``assignment``,
    ``flow_t``) or a StreamPlan; None when its shapes do not fit ``sd`` (other candidates)."""
    if isinstance(start, StreamPlan):
        opens, assigns, flows = start.opens, start.assigns, start.flows
    else:
        opens, assigns = start.open, start.assignment
        flows = list(start.flow_t) if start.flow_t and not sd.single_source else None
    T = len(sd.tiers)
    if len(opens) != T or len(assigns) != T:
        return None
    out_o, out_a = [], []
    for t, td in enumerate(sd.tiers):
        o = np.asarray(opens[t])
        if o.dtype != bool:
            idx = o.astype(int)
            if len(idx) and (idx.min() < 0 or idx.max() >= td.n):
                return None
            o = np.zeros(td.n, dtype=bool)
            o[idx] = True
        a = np.asarray(assigns[t], dtype=int)
        n_prev = len(sd.w) if t == 0 else sd.tiers[t - 1].n
        if len(o) != td.n or len(a) != n_prev or (a >= td.n).any():
            return None
        if t > 0:   # a closed site sends nothing
            a = np.where(out_o[t - 1], a, -1)
        out_o.append(o.copy())
        out_a.append(a.copy())
    # a multi-source stream without flows: derived from the assignments (a single-source plan
    # is a split plan too)
    return StreamPlan(out_o, out_a, None if flows is None else [tuple(map(np.asarray, f))
                                                                for f in flows])


def plan_problem(sd: StreamData, plan: StreamPlan, tol: float = 1e-6) -> str | None:
    """Why ``plan`` is not a feasible plan of ``sd`` (the model of ``_tt_build``), or None.

    Checks open sites (alive, forced, township limits), links (pairs of the model, open ends,
    every open site below the top forwarding), capacities, must-serve demands and coverage.
    """
    try:
        flows = plan_flows(sd, plan)
        _, loads = transport(sd, flows)
    except (ValueError, IndexError):
        return "a link the model does not have"
    for t, td in enumerate(sd.tiers):
        o = plan.opens[t]
        if (o & ~td.alive).any():
            return f"tier {t}: opens a candidate the model forbids"
        if (td.forced & ~o).any():
            return f"tier {t}: a forced candidate is closed"
        if (loads[t] > td.cap * (1 + tol) + tol).any():
            return f"tier {t}: over capacity"
        src, dst, _ = flows[t]
        if len(dst) and not o[dst].all():
            return f"tier {t}: sends to a closed candidate"
        if t > 0:
            sent = np.zeros(sd.tiers[t - 1].n, dtype=bool)
            sent[src] = True
            prev_open = plan.opens[t - 1]
            if sd.single_source and (plan.assigns[t][prev_open] < 0).any():
                return f"tier {t - 1}: an open site forwards nowhere"
            out = np.bincount(src, weights=flows[t][2], minlength=len(loads[t - 1]))
            if not np.allclose(out, loads[t - 1], rtol=tol, atol=1e-3):
                return f"tier {t - 1}: inflow and outflow differ"
        if td.group is not None:
            cnt = np.bincount(td.group[o & (td.group >= 0)],
                              minlength=max(len(td.gmin) if td.gmin is not None else 0,
                                            len(td.gmax) if td.gmax is not None else 0))
            if td.gmin is not None and (cnt[:len(td.gmin)] < td.gmin).any():
                return f"tier {t}: a township has too few sites"
            if td.gmax is not None and (cnt[:len(td.gmax)] > td.gmax).any():
                return f"tier {t}: a township has too many sites"
    served = plan.assigns[0] >= 0
    if (sd.must & ~served).any():
        return "a demand that must be served is not"
    sent0 = np.bincount(flows[0][0], weights=flows[0][2], minlength=len(sd.w))
    if not np.allclose(sent0[served], sd.w[served], rtol=tol, atol=1e-3):
        return "a served demand is not delivered in full"
    if sd.on == "weight":
        short = float(sd.w[served].sum()) < sd.target * float(sd.w.sum()) - 1e-6
    else:
        need = np.ceil(sd.target * int(sd.count_mask.sum()) - 1e-9)
        short = int((served & sd.count_mask).sum()) < need
    return "below the coverage target" if short else None
