"""Which demands any layout could serve: the reach of the county's candidate sites.

The siting ceiling (:func:`netplan.risk.engine._ceiling`) serves every demand some layout could
serve. A demand is served by no layout when no first-tier (``village_point``) candidate of its
stream is within the tier's radius by road, or — single-sourced streams, the default — when none of
those candidates can hold its whole nominal tonnage (plans are made at the nominal values; on the
demo, 3 large manure farms with 8 % of the off-site manure each produce more than a point's
8,000 t/yr). Counting such demands would overstate what siting can do.

The test is deliberately loose, so the ceiling stays an upper bound: it uses the siting adapter's
own candidate rules, capacities and road distances for the first tier
(:func:`netplan.siting_adapter.build_stream_models`) but not whether that point reaches a station
and a centre, nor capacity shared between demands or streams.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netplan.scenario import Scenario
from netplan.supply import Supply


def candidate_reach(scenario: Scenario, county: Any, supply: Supply, cands: Any, mats: Any,
                    fix: Any = None) -> dict[str, np.ndarray]:
    """Per stream, a (D,) bool over ``supply.demands``: some first-tier candidate of the stream is
    within the tier's radius by road (any distance when the tier has no radius) and, for a
    single-sourced stream, can hold the demand's nominal tonnage.

    Parameters
    ----------
    cands, mats
        The candidate sites and travel matrices of :mod:`netplan.planner` (metres).
    fix
        The ``--fix`` layout table, whose open sites are candidates too.
    """
    from netplan.siting_adapter import build_stream_models

    models, index = build_stream_models(scenario, county, supply, cands, mats, fix=fix)
    n = len(supply.demands)
    out = {sid: np.zeros(n, dtype=bool) for sid in scenario.stream_ids}
    for m in models:
        t0 = m.tiers[0]
        cost = np.asarray(t0.cost, dtype=float)
        ok = np.isfinite(cost) if not t0.radius else cost <= float(t0.radius) + 1e-9
        if getattr(m, "single_source", True):
            cap = np.asarray(t0.capacity, dtype=float)
            ok &= cap[None, :] >= np.asarray(m.weights, dtype=float)[:, None] - 1e-9
        out[m.name][index[m.name]["demands"]] = ok.any(axis=1)
    return out


def plan_reach(scenario: Scenario, county: Any, supply: Supply) -> dict[str, np.ndarray] | None:
    """:func:`candidate_reach` for a run folder's plan (``netplan risk``): the county's candidates
    on the scenario's road network. None (every demand counts) when the county's candidates do not
    cover every tier — a layout's own sites (``netplan evaluate``) are then the only candidates
    known; :func:`netplan.risk.engine.build_model` always adds the plan's covered demands."""
    from netplan.candidates import build_candidates
    from netplan.errors import InputError
    from netplan.planner import road_network, travel_matrices

    cands = build_candidates(county)
    mats = travel_matrices(road_network(scenario, county), supply, cands, scenario)
    try:
        return candidate_reach(scenario, county, supply, cands, mats)
    except InputError:
        return None
