"""Infeasibility diagnosis of a :func:`three_tier` block: any feasible plan, or which rule binds.

:func:`feasible_plan` solves the block with a zero objective (solvers' primal heuristics find
plans on tight models far sooner without costs to chase); :func:`what_would_help` names the
relaxations (split loads, a tier's capacities, a per-township maximum) that alone give a plan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from netplan.errors import InfeasibleError
from netplan.siting._mip import Budget, make_solver, run
from netplan.siting._tt_build import build, read
from netplan.siting._tt_plan import StreamPlan
from netplan.siting._tt_prep import tier_label


def infeasible_msg(label: str, helps: Sequence[str] = ()) -> str:
    """The message of a block proven to have no plan, naming the rules whose relaxation helps."""
    msg = (f"the siting model of {label} has no feasible plan: each demand can reach a "
           "site and capacities suffice in total, so the conflict is between capacities, "
           "single sourcing, township rules and the coverage target together")
    if helps:
        return msg + "; a plan exists if " + ", or if ".join(helps) + ": relax that rule"
    return msg + "; relax one of them"


def feasible_plan(sub, local, site_fixed_cost, solver: str, budget: Budget, seed: int,
                  label: str, *, diagnose: bool = True) -> list[StreamPlan] | None:
    """Any feasible plan of a block: the model with a zero objective (the solver's primal
    heuristics find plans on tight models far sooner without costs to chase).

    Stops at its first plan (deterministic) or at the budget's CPU deadline (then None); raises
    :class:`~netplan.errors.InfeasibleError` when the solver proves there is none (naming the
    rules whose relaxation helps, unless ``diagnose`` is False).
    """
    mip = make_solver(solver)
    handles = build(mip, sub, local, site_fixed_cost)
    mip.Objective().Clear()
    # a zero objective: the first plan found is optimal, so the solve ends there (deterministic)
    res = run(mip, solver_name=solver, time_limit_s=max(1.0, budget.left_s()), mip_gap=1.0,
              seed=seed)
    if res.status == "infeasible":
        helps = what_would_help(sub, local, site_fixed_cost, solver, seed) if diagnose else []
        raise InfeasibleError(infeasible_msg(label, helps), unservable=[])
    return read(handles, sub) if res.has_solution else None


def what_would_help(sub, local, site_fixed_cost, solver: str, seed: int,
                    probe_s: float = 5.0) -> list[str]:
    """Relaxations that each, alone, give a block a feasible plan within ``probe_s`` CPU s.

    Tried when no plan was found at all: loads split between sites (no single sourcing), each
    tier's capacities unlimited, each tier's per-township maximum lifted. The answer names the
    rule a planner should look at; a relaxation not listed may still help given more time.
    """
    n_t = max(len(sd.tiers) for sd in sub)

    def uncapped(sd, t):
        if t >= len(sd.tiers):
            return sd
        td = sd.tiers[t]
        tiers = list(sd.tiers)
        tiers[t] = dataclasses.replace(td, cap=np.full(td.n, np.inf),
                                       flow_ub=np.full(td.n, float(sd.w.sum())))
        return dataclasses.replace(sd, tiers=tiers)

    def no_township_max(sd, t):
        if t >= len(sd.tiers):
            return sd
        tiers = list(sd.tiers)
        tiers[t] = dataclasses.replace(sd.tiers[t], gmax=None)
        return dataclasses.replace(sd, tiers=tiers)

    def name(t):
        return tier_label(t, n_t).replace("_", " ")

    probes = []
    if any(sd.single_source for sd in sub):
        probes.append(("loads could split between sites (no single sourcing)",
                       lambda sd: dataclasses.replace(sd, single_source=False)))
    for t in range(n_t):
        if any(t < len(sd.tiers) and np.isfinite(sd.tiers[t].cap).any() for sd in sub):
            probes.append((f"{name(t)} capacities were unlimited",
                           lambda sd, t=t: uncapped(sd, t)))
        if any(t < len(sd.tiers) and sd.tiers[t].gmax is not None for sd in sub):
            probes.append((f"a township could have more {name(t)}s than its maximum",
                           lambda sd, t=t: no_township_max(sd, t)))
    helped = []
    for text, relax in probes:
        trial = [relax(sd) for sd in sub]
        mip = make_solver(solver)
        build(mip, trial, local, site_fixed_cost)
        mip.Objective().Clear()
        if run(mip, solver_name=solver, time_limit_s=probe_s, mip_gap=1.0, seed=seed).has_solution:
            helped.append(text)
    return helped
