"""Re-scoring one fixed plan under many draws of the uncertain numbers (no re-solve).

:func:`build_model` turns a plan (scenario, county, nominal supply, layout, site-to-site road
distances) into a :class:`RiskModel`: per stream, sparse matrices demand → point → station →
centre, capacities, link distances, the sites' fixed cost, and the physical sites several streams
share. :func:`evaluate_draws` scores a block of draws:

- generation per demand through :func:`netplan.supply.estimate`, one call per draw (the supply
  rules themselves, not a copy);
- served tonnage, capacity caps (per stream, then one capacity per shared physical site), the
  indicators, transport cost and the inflow offered to every site as array code over the whole
  block (demands or sites × draws) — the arithmetic of :func:`netplan.indicators.stream_flow`,
  :func:`~netplan.indicators.share_capacity` and :func:`~netplan.indicators.rates`;
- per-tonne cost items and storage through :func:`netplan.costs.item_costs` and
  :mod:`netplan.storage`, one call per draw.

Coverage, the villages hosting a point and township coverage do not depend on the draws and are
taken from ``rates()`` at the nominal values. :func:`build_model` checks the array code against
``indicators``/``evaluate`` at the nominal values; if they disagree (an indicator was redefined
or added), the model is marked ``exact`` and every draw goes through ``stream_flow``,
``share_capacity`` and ``rates`` themselves (slower, same definitions) — never silently wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from netplan.costs import item_costs, site_costs
from netplan.indicators import farming_townships, rates, share_capacity, stream_flow
from netplan.layout import Layout
from netplan.model import TIERS, County
from netplan.risk.params import Param, apply
from netplan.scenario import Scenario
from netplan.storage import station_storage, storage_params
from netplan.supply import Supply, estimate

#: indicators computed per draw by the array code; the others are fixed by the layout
VARYING = ("tonnage_coverage", "recovery_rate", "utilisation_rate", "offsite_use_rate")


@dataclass(frozen=True)
class StreamArrays:
    """One stream of a fixed plan as arrays (D demands, P points, T stations, C centres)."""

    stream: str
    covered: np.ndarray           # (D,) bool, at the nominal values
    a_point: sparse.csr_matrix    # (P, D) 1 where a demand delivers to the point
    a_station: sparse.csr_matrix  # (T, P) point → its station
    a_centre: sparse.csr_matrix   # (C, T) station → its centre
    cap_t: dict[str, np.ndarray]  # per tier, capacity (t/yr)
    site_ids: dict[str, np.ndarray]  # per tier, site ids
    link_km: tuple[np.ndarray, np.ndarray, np.ndarray]  # demand→point (D,), point→station (P,), station→centre (T,)
    fixed_cny_yr: float           # annualised capex + opex of the stream's sites (sharing applied)
    fixed_rates: dict[str, float]  # indicators that do not depend on the draws
    reach: np.ndarray | None = None  # (D,) bool: demands some layout could serve (None: all)


@dataclass(frozen=True)
class SharedSite:
    """A physical site whose capacity several streams share at one tier."""

    tier: str
    site_id: str
    members: tuple[tuple[str, int], ...]  # (stream, index of the site in that stream's tier)
    capacity_t: float


@dataclass(frozen=True)
class RiskModel:
    """Everything a worker needs to score draws of one plan (small, picklable)."""

    scenario: Scenario
    county: County
    supply: Supply               # at the nominal values
    layout: Layout
    coefficients: Mapping[str, Any]
    streams: dict[str, StreamArrays]
    params: tuple[Param, ...]
    shared: tuple[SharedSite, ...] = ()
    exact: bool = False          # score every draw through indicators.* (see the module doc)
    mismatch: tuple[str, ...] = field(default=())

    @property
    def has_coefficients(self) -> bool:
        """Whether any drawn number is a generation coefficient (else supply stays nominal)."""
        return any(p.key.startswith("coefficients.") for p in self.params)


def _onehot(rows: np.ndarray, n_rows: int, n_cols: int) -> sparse.csr_matrix:
    """(n_rows, n_cols) with a 1 at (rows[j], j) for every j with rows[j] >= 0."""
    ok = rows >= 0
    cols = np.flatnonzero(ok)
    return sparse.csr_matrix((np.ones(len(cols)), (rows[ok], cols)), shape=(n_rows, n_cols))


def _stream_arrays(flow: Any, fixed_rates: dict[str, float], site_km: Mapping[tuple[str, str], float],
                   fixed: float) -> StreamArrays:
    sites = flow.sites
    by_tier = {t: sites[(sites["tier"] == t).to_numpy()] for t in TIERS}  # a site may stand at two tiers
    ids = {t: by_tier[t].index.to_numpy() for t in TIERS}
    pos = {t: {s: i for i, s in enumerate(ids[t])} for t in TIERS}
    p_of_d = np.array([pos["village_point"].get(p, -1) if isinstance(p, str) else -1
                       for p in flow.point_id], dtype=int)
    par = {t: by_tier[t]["parent_id"].to_numpy() for t in TIERS}
    par_p = np.array([pos["township_station"].get(q, -1) for q in par["village_point"]], dtype=int)
    par_t = np.array([pos["county_center"].get(q, -1) for q in par["township_station"]], dtype=int)
    n = {t: len(ids[t]) for t in TIERS}
    km1 = np.array([site_km.get((s, q), np.nan)
                    for s, q in zip(ids["village_point"], par["village_point"], strict=True)]) / 1000.0
    km2 = np.array([site_km.get((s, q), np.nan)
                    for s, q in zip(ids["township_station"], par["township_station"], strict=True)]) / 1000.0
    return StreamArrays(
        stream=flow.stream, covered=flow.covered.to_numpy(dtype=bool),
        a_point=_onehot(p_of_d, n["village_point"], len(p_of_d)),
        a_station=_onehot(par_p, n["township_station"], n["village_point"]),
        a_centre=_onehot(par_t, n["county_center"], n["township_station"]),
        cap_t={t: by_tier[t]["capacity_t"].to_numpy(dtype=float) for t in TIERS},
        site_ids=ids, link_km=(flow.dist_m.to_numpy(dtype=float) / 1000.0, km1, km2),
        fixed_cny_yr=fixed, fixed_rates=fixed_rates)


def _shared_sites(scenario: Scenario, arrays: Mapping[str, StreamArrays], layout: Layout
                  ) -> tuple[SharedSite, ...]:
    """Sites whose capacity is shared: every row existing, or the streams within a sharing group
    (the rule of :func:`netplan.indicators.share_capacity`)."""
    out = []
    s = layout.sites
    for tier in TIERS:
        groups = [set(g) for g in scenario.sharing.get(tier, ())]
        rows = s[(s["tier"] == tier) & s["stream"].isin(list(arrays))]
        for site, g in rows.groupby("site_id", sort=True):
            if len(g) < 2:
                continue
            if not ((g["status"] == "existing").all() or any(set(g["stream"]) <= grp for grp in groups)):
                continue
            members = []
            for sid in g["stream"]:
                idx = np.flatnonzero(arrays[sid].site_ids[tier] == site)
                if len(idx):
                    members.append((str(sid), int(idx[0])))
            out.append(SharedSite(tier, str(site), tuple(members), float(g["capacity_t"].astype(float).max())))
    return tuple(out)


def _reference(scenario: Scenario, county: County, supply: Supply, layout: Layout) -> dict[str, Any]:
    """indicators.stream_flow (with the county) + share_capacity at the nominal values."""
    flows = {sid: stream_flow(sp, supply, layout, county) for sid, sp in scenario.streams.items()}
    return share_capacity(flows, dict(scenario.sharing))


def build_model(scenario: Scenario, county: County, supply: Supply, layout: Layout,
                coefficients: Mapping[str, Any], params: Sequence[Param],
                site_dist_m: Mapping[tuple[str, str], float],
                reach: Mapping[str, np.ndarray] | None = None) -> RiskModel:
    """Precompute the arrays of a fixed plan and check them against the library at the nominal values.

    Parameters
    ----------
    site_dist_m
        Road distance (m) of each (child site, parent site) link of the layout.
    reach
        Per stream, (D,) bool over ``supply.demands``: the demands some layout of the candidates
        could serve (:func:`netplan.risk.reach.candidate_reach`), for the siting ceiling; the plan's
        own covered demands are always included. None: every demand.
    """
    sc = site_costs(scenario, layout.sites)
    fixed = sc.groupby("stream")["fixed_cny_yr"].sum() if len(sc) else pd.Series(dtype=float)
    flows = _reference(scenario, county, supply, layout)
    dem = supply.demands.set_index("demand_id")
    kind, town, farming = dem["kind"], dem["township_code"].astype(str), farming_townships(county)
    ref = {sid: rates(flows[sid], sp, kind, town, farming) for sid, sp in scenario.streams.items()}
    arrays = {sid: _stream_arrays(flows[sid], {k: v for k, v in ref[sid].items() if k not in VARYING},
                                  site_dist_m, float(fixed.get(sid, 0.0)))
              for sid in scenario.stream_ids}
    for sid, a in arrays.items():
        if reach is not None and sid in reach:
            arrays[sid] = replace(a, reach=np.asarray(reach[sid], dtype=bool) | a.covered)
    model = RiskModel(scenario=scenario, county=county, supply=supply, layout=layout,
                      coefficients=coefficients, streams=arrays, params=tuple(params),
                      shared=_shared_sites(scenario, arrays, layout))
    nominal = evaluate_draws(model, np.array([[p.nominal for p in params]]))["indicators"]
    bad = tuple(f"{sid}.{k}" for sid, r in ref.items() for k, v in r.items()
                if (sid, k) not in nominal or abs(nominal[(sid, k)][0] - round(float(v), 6)) > 1e-6)
    return replace(model, exact=bool(bad), mismatch=bad)


def _ratio(cap: np.ndarray, load: np.ndarray) -> np.ndarray:
    """min(1, capacity / load) per site and draw; 1 where the load is 0 (indicators._cap_ratio)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.minimum(1.0, cap[:, None] / load)
    return np.where(load > 0, r, 1.0)


@dataclass
class _Gen:
    """Generation per draw: network tonnage per demand (D, S), and county totals (S,)."""

    w: dict[str, np.ndarray]
    total: dict[str, np.ndarray]
    u_on: dict[str, np.ndarray]
    u_off: dict[str, np.ndarray]
    coefs: list[Mapping[str, Any]]
    supplies: list[Supply]


def _generation(model: RiskModel, values: np.ndarray) -> _Gen:
    n = values.shape[0]
    streams = tuple(model.streams)
    sups, coefs = [], []
    for k in range(n):
        coef, _ = apply(model.params, values[k], model.coefficients, model.scenario)
        coefs.append(coef)
        sups.append(estimate(model.county, coef, streams) if model.has_coefficients else model.supply)
    return _Gen(w={s: np.stack([x.mass_t_yr(s) for x in sups], axis=1) for s in streams},
                total={s: np.array([x.total_t_yr(s).sum() for x in sups]) for s in streams},
                u_on={s: np.array([x.used_t_yr(s, "onsite").sum() for x in sups]) for s in streams},
                u_off={s: np.array([x.used_t_yr(s, "offsite").sum() for x in sups]) for s in streams},
                coefs=coefs, supplies=sups)


def _scenario_columns(model: RiskModel, values: np.ndarray, sid: str) -> dict[str, np.ndarray]:
    """Per-draw capture rate, baseline share and tier rates of one stream (nominal where not drawn)."""
    sp = model.scenario.streams[sid]
    n = values.shape[0]
    col = {"capture_rate": np.full(n, sp.capture_rate),
           "baseline_use_share": np.full(n, sp.baseline_use_share)}
    col.update({t: np.full(n, sp.tiers[t].rate_cny_per_tkm) for t in TIERS})
    pre = f"scenario.streams.{sid}."
    for i, p in enumerate(model.params):
        if p.key.startswith(pre):
            name = p.key[len(pre):]
            col[name.split(".")[0] if name.endswith("rate_cny_per_tkm") else name] = values[:, i]
    return col


def _loads(a: StreamArrays, served: np.ndarray) -> dict[str, np.ndarray]:
    lp = a.a_point @ served
    lt = a.a_station @ lp
    return {"village_point": lp, "township_station": lt, "county_center": a.a_centre @ lt}


def _own_caps(a: StreamArrays, w: np.ndarray, capture: np.ndarray) -> tuple[np.ndarray, dict]:
    """Served (D, S) after the stream's own point and station capacities, and the inflows."""
    arrive = w * a.covered[:, None] * capture[None, :]
    in_p = a.a_point @ arrive
    served = arrive * (a.a_point.T @ _ratio(a.cap_t["village_point"], in_p))
    in_t = a.a_station @ (a.a_point @ served)
    served = served * (a.a_point.T @ (a.a_station.T @ _ratio(a.cap_t["township_station"], in_t)))
    return served, {"village_point": in_p, "township_station": in_t}


def _share(model: RiskModel, served: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One capacity per shared physical site: scale the streams' demands down the chains through it."""
    if not model.shared:
        return served
    loads = {sid: _loads(model.streams[sid], v) for sid, v in served.items()}
    n = next(iter(served.values())).shape[1]
    f = {sid: {t: np.ones((len(a.site_ids[t]), n)) for t in TIERS} for sid, a in model.streams.items()}
    for sh in model.shared:
        load = sum(loads[sid][sh.tier][j] for sid, j in sh.members)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where((load > sh.capacity_t) & (sh.capacity_t > 0), sh.capacity_t / load, 1.0)
        for sid, j in sh.members:
            f[sid][sh.tier][j] = r
    out = {}
    for sid, v in served.items():
        a = model.streams[sid]
        up_t = a.a_station.T @ f[sid]["township_station"]
        up_c = a.a_station.T @ (a.a_centre.T @ f[sid]["county_center"])
        has = np.asarray(a.a_point.sum(axis=0)).ravel() > 0
        fac = (a.a_point.T @ f[sid]["village_point"]) * (a.a_point.T @ up_t) * (a.a_point.T @ up_c)
        out[sid] = v * np.where(has[:, None], fac, 1.0)
    return out


def _indicators(a: StreamArrays, g: _Gen, sid: str, served: np.ndarray, b: np.ndarray) -> dict:
    """The varying indicators of one stream (rates()'s formulas), per draw, rounded as kpis.csv."""
    w, tot = g.w[sid], g.total[sid]
    net, s = w.sum(axis=0), served.sum(axis=0)
    safe_t, safe_n = np.where(tot > 0, tot, 1.0), np.where(net > 0, net, 1.0)
    used = g.u_on[sid] + g.u_off[sid] + s + b * np.maximum(net - s, 0.0)
    ind = {"tonnage_coverage": np.where(net > 0, (w * a.covered[:, None]).sum(axis=0) / safe_n, 1.0),
           "recovery_rate": np.where(tot > 0, s / safe_t, 1.0),
           "utilisation_rate": np.where(tot > 0, np.minimum(1.0, used / safe_t), 1.0),
           "offsite_use_rate": np.where(tot > 0, (g.u_off[sid] + s) / safe_t, 1.0)}
    ind.update({k: np.full(len(s), v) for k, v in a.fixed_rates.items()})
    return {k: np.round(v, 6) for k, v in ind.items()}


def _ceiling(a: StreamArrays, g: _Gen, sid: str, capture: np.ndarray, b: np.ndarray) -> dict:
    """Each indicator's value per draw at the best any layout could do (the siting ceiling):
    every demand some layout could serve (``a.reach``, default all) served at the drawn capture
    rate, no capacity limit, full coverage. The rates are non-decreasing in the served tonnage
    (rates()'s formulas), so no layout of the candidates can exceed them; a target missed here in a
    draw is missed by every plan in that draw."""
    w, tot = g.w[sid], g.total[sid]
    net = w.sum(axis=0)
    s = (w if a.reach is None else w * a.reach[:, None]).sum(axis=0) * capture
    safe_t = np.where(tot > 0, tot, 1.0)
    used = g.u_on[sid] + g.u_off[sid] + s + b * np.maximum(net - s, 0.0)
    ind = {"recovery_rate": np.where(tot > 0, s / safe_t, 1.0),
           "utilisation_rate": np.where(tot > 0, np.minimum(1.0, used / safe_t), 1.0),
           "offsite_use_rate": np.where(tot > 0, (g.u_off[sid] + s) / safe_t, 1.0)}
    ind.update({k: np.ones(len(s)) for k in ("tonnage_coverage", *a.fixed_rates) if k not in ind})
    return {k: np.round(v, 6) for k, v in ind.items()}


def _exact(model: RiskModel, g: _Gen, values: np.ndarray) -> tuple[dict, dict]:
    """Served tonnage and indicators per draw through stream_flow, share_capacity and rates."""
    dem = model.supply.demands.set_index("demand_id")
    kind, town, farming = dem["kind"], dem["township_code"].astype(str), farming_townships(model.county)
    served = {sid: np.empty_like(g.w[sid]) for sid in model.streams}
    ind: dict[tuple[str, str], list[float]] = {}
    for k in range(values.shape[0]):
        _, scen = apply(model.params, values[k], model.coefficients, model.scenario)
        flows = _reference(scen, model.county, g.supplies[k], model.layout)
        for sid, sp in scen.streams.items():
            served[sid][:, k] = flows[sid].served_t_yr.to_numpy(dtype=float)
            for name, v in rates(flows[sid], sp, kind, town, farming).items():
                ind.setdefault((sid, name), []).append(round(float(v), 6))
    return served, {key: np.array(v) for key, v in ind.items()}


def _costs(model: RiskModel, g: _Gen, sid: str, served: np.ndarray, loads: Mapping[str, np.ndarray],
           col: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Transport (t·km × rate per link), per-tonne items and storage, fixed cost: CNY/yr per draw."""
    a = model.streams[sid]
    km0, km1, km2 = (np.nan_to_num(k, nan=0.0) for k in a.link_km)
    transport = (col["village_point"] * (km0 @ served) + col["township_station"] * (km1 @ loads["village_point"])
                 + col["county_center"] * (km2 @ loads["township_station"]))
    s = served.sum(axis=0)
    items = np.zeros(len(s))
    for k, coef in enumerate(g.coefs):
        c = coef.get(sid, {}) if isinstance(coef.get(sid), Mapping) else {}
        p = storage_params(coef, sid)
        rows = station_storage(dict(zip(a.site_ids["township_station"], loads["township_station"][:, k],
                                        strict=True)), p, model.scenario.discount_rate) if p else []
        it = item_costs(c.get("costs", {}), float(s[k]), sum(float(r["storage_t"]) for r in rows),
                        c.get("kg_per_item"))
        items[k] = sum(it.values()) + sum(float(r["yard_cost_cny_yr"]) for r in rows)
    return {"transport_cost_cny_yr": transport, "item_cost_cny_yr": items,
            "total_cost_cny_yr": a.fixed_cny_yr + transport + items}


def evaluate_draws(model: RiskModel, values: np.ndarray) -> dict[str, Any]:
    """Score the plan for each row of ``values`` (draws × params).

    Returns ``{"indicators": {(stream, indicator): (S,)}, "figures": {(stream, figure): (S,)},
    "inflow": {(stream, tier): (sites, S)}, "ceiling": {(stream, indicator): (S,)}}``; figures are
    generation_t_yr (the indicators' denominator), served_t_yr, transport_cost_cny_yr,
    item_cost_cny_yr (per-tonne items and storage) and total_cost_cny_yr, plus ("all",
    "total_cost_cny_yr"). Inflow is what is offered to a site before its own capacity applies
    (t/yr). Ceiling is each indicator at the best any layout could reach in that draw
    (:func:`_ceiling`).
    """
    values = np.atleast_2d(np.asarray(values, dtype=float))
    g = _generation(model, values)
    cols = {sid: _scenario_columns(model, values, sid) for sid in model.streams}
    own, inflow = {}, {}
    for sid, a in model.streams.items():
        own[sid], inflow[sid] = _own_caps(a, g.w[sid], cols[sid]["capture_rate"])
    out: dict[str, Any] = {"indicators": {}, "figures": {}, "inflow": {}, "ceiling": {}}
    if model.exact:
        served, out["indicators"] = _exact(model, g, values)
    else:
        served = _share(model, own)
    total = np.zeros(values.shape[0])
    for sid, a in model.streams.items():
        loads = _loads(a, served[sid])
        if not model.exact:
            for k, v in _indicators(a, g, sid, served[sid], cols[sid]["baseline_use_share"]).items():
                out["indicators"][(sid, k)] = v
        ceil = _ceiling(a, g, sid, cols[sid]["capture_rate"], cols[sid]["baseline_use_share"])
        out["ceiling"].update({(sid, k): v for k, v in ceil.items()})
        fig = {"generation_t_yr": g.total[sid], "served_t_yr": served[sid].sum(axis=0),
               **_costs(model, g, sid, served[sid], loads, cols[sid])}
        out["figures"].update({(sid, k): v for k, v in fig.items()})
        own_loads = _loads(a, own[sid])
        out["inflow"].update({(sid, "village_point"): inflow[sid]["village_point"],
                              (sid, "township_station"): inflow[sid]["township_station"],
                              (sid, "county_center"): own_loads["county_center"]})
        total = total + fig["total_cost_cny_yr"]
    out["figures"][("all", "total_cost_cny_yr")] = total
    return out
