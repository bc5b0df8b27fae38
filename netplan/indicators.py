"""The plans' indicators for one stream of one layout: who is covered, what is served, site loads,
and the county and township rates (definitions and sources: docs/indicators.md).

A demand is *covered* for a stream when it delivers to an open village point of that stream within
the tier-1 radius (road distance) and that point is connected through an open township station to an
open county centre. Served tonnage = generation × capture rate, scaled down where the point or its
station is over capacity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from netplan.layout import Layout
from netplan.model import TIERS, County
from netplan.scenario import StreamParams
from netplan.supply import Supply

LABELS_ZH = {
    "village_coverage": "行政村覆盖率",
    "tonnage_coverage": "产生量覆盖率",
    "recovery_rate": "回收率",
    "utilisation_rate": "综合利用率",
    "township_coverage": "涉农乡镇覆盖率",
}


@dataclass(frozen=True)
class StreamFlow:
    """Per-demand coverage and served mass, and the loads up the chain, for one stream.

    Attributes
    ----------
    weight_t_yr, point_id, dist_m, covered, served_t_yr
        Series indexed by demand_id: generation (t/yr), the village point (or NaN), road distance to it
        (m), covered flag, tonnage that reaches the point and is handled (t/yr).
    loads_t_yr
        Per tier: Series of annual inflow (t/yr) indexed by site_id.
    sites
        The stream's open sites, indexed by site_id.
    chain_ok
        For each open village point: connected station → centre.
    """

    stream: str
    weight_t_yr: pd.Series
    point_id: pd.Series
    dist_m: pd.Series
    covered: pd.Series
    served_t_yr: pd.Series
    loads_t_yr: dict[str, pd.Series]
    sites: pd.DataFrame
    chain_ok: dict[str, bool]


def chain_ok(layout: Layout, stream: str) -> dict[str, bool]:
    """For each open village point of ``stream``: is it connected to an open station and centre?"""
    s = layout.sites[layout.sites["stream"] == stream]
    by_tier = {t: s[s["tier"] == t].set_index("site_id") for t in TIERS}
    centres = set(by_tier["county_center"].index)
    stations_ok = {k: (p in centres) for k, p in by_tier["township_station"]["parent_id"].items()}
    return {k: bool(stations_ok.get(p, False)) for k, p in by_tier["village_point"]["parent_id"].items()}


def _cap_ratio(capacity_t: pd.Series, load_t: pd.Series) -> pd.Series:
    """Share of the inflow a site can handle: min(1, capacity / load); 1 where the load is 0."""
    load = load_t.reindex(capacity_t.index).replace(0, np.nan)
    return (capacity_t.astype(float) / load).clip(upper=1).fillna(1.0)


def stream_flow(sp: StreamParams, supply: Supply, layout: Layout) -> StreamFlow:
    """Coverage, served tonnage and the loads of every open site of one stream."""
    sid = sp.id
    dem = supply.demands
    w = pd.Series(supply.mass_t_yr(sid), index=dem["demand_id"].to_numpy())
    dp = layout.demand_point[layout.demand_point["stream"] == sid].set_index("demand_id")
    ok = chain_ok(layout, sid)
    radius = sp.tiers["village_point"].radius_m
    pt = dp["point_id"].reindex(w.index)
    dist = dp["dist_m"].reindex(w.index).astype(float)
    within = dist.le(radius) if radius is not None else dist.notna()
    connected = pt.map(ok).fillna(False).astype(bool)
    covered = within.fillna(False).astype(bool) & connected & (w > 0)
    arrive = (w * sp.capture_rate).where(covered, 0.0)
    sites = layout.sites[layout.sites["stream"] == sid].set_index("site_id")
    vp = sites[sites["tier"] == "village_point"]
    st = sites[sites["tier"] == "township_station"]
    key = pt.where(covered)
    # capacity of the point scales what its villages deliver; then the station's capacity
    ratio_p = _cap_ratio(vp["capacity_t"], arrive.groupby(key).sum())
    served = arrive * pt.map(ratio_p).fillna(1.0)
    p_load = served.groupby(key).sum()
    s_load = p_load.groupby(vp["parent_id"].reindex(p_load.index)).sum()
    ratio_s = _cap_ratio(st["capacity_t"], s_load)
    served = served * pt.map(vp["parent_id"]).map(ratio_s).fillna(1.0)
    loads = {"village_point": served.groupby(key).sum()}
    loads["township_station"] = loads["village_point"].groupby(
        vp["parent_id"].reindex(loads["village_point"].index)).sum()
    loads["county_center"] = loads["township_station"].groupby(
        st["parent_id"].reindex(loads["township_station"].index)).sum()
    return StreamFlow(stream=sid, weight_t_yr=w, point_id=pt, dist_m=dist, covered=covered,
                      served_t_yr=served, loads_t_yr=loads, sites=sites, chain_ok=ok)


def rates(flow: StreamFlow, sp: StreamParams, kind: pd.Series, township: pd.Series,
          farming: set[str]) -> dict[str, float]:
    """The five indicators of one stream over the demands given (fractions 0–1).

    Parameters
    ----------
    kind, township
        Demand kind ("village" / "farm") and township code, indexed by demand_id; only the demands in
        ``kind``'s index are counted (pass a township's demands for a township figure).
    farming
        Codes of the farming townships (涉农乡镇) that ``township_coverage`` counts.
    """
    idx = kind.index
    w = flow.weight_t_yr.reindex(idx).fillna(0.0)
    cov = flow.covered.reindex(idx).fillna(False).astype(bool)
    served = flow.served_t_yr.reindex(idx).fillna(0.0)
    is_v = (kind == "village") & (w > 0)
    n_v = int(is_v.sum())
    total = float(w.sum())
    share = float(served.sum()) / total if total > 0 else 1.0
    towns_cov = set(township[cov].astype(str))
    towns_here = set(township.astype(str)) & farming
    return {
        "village_coverage": float(cov[is_v].sum()) / n_v if n_v else 1.0,
        "tonnage_coverage": float(w[cov].sum()) / total if total > 0 else 1.0,
        "recovery_rate": share,
        "utilisation_rate": sp.baseline_use_share + (1 - sp.baseline_use_share) * share,
        "township_coverage": len(towns_here & towns_cov) / len(towns_here) if towns_here else 1.0,
    }


def farming_townships(county: County) -> set[str]:
    """Codes of the farming townships (涉农乡镇): the townships table's ``farming`` flag."""
    t = county.townships
    return set(t.loc[t["farming"].astype(bool), "township_code"].astype(str))


def township_rows(flow: StreamFlow, sp: StreamParams, county: County, supply: Supply,
                  targets: dict[str, float]) -> list[dict]:
    """Per township: the indicators of one stream against the county's targets (same definitions)."""
    dem = supply.demands.set_index("demand_id")
    farming = farming_townships(county)
    names = dict(zip(county.townships["township_code"].astype(str),
                     county.townships["name"].astype(str), strict=True))
    rows = []
    town = dem["township_code"].astype(str)
    w = flow.weight_t_yr
    for code in sorted(set(town)):
        ids = town.index[(town == code).to_numpy()]
        if float(w.reindex(ids).fillna(0).sum()) <= 0:
            continue
        vals = rates(flow, sp, dem.loc[ids, "kind"], town.loc[ids], farming)
        gen = float(w.reindex(ids).sum())
        srv = float(flow.served_t_yr.reindex(ids).sum())
        for ind, v in vals.items():
            if ind == "township_coverage" and code not in farming:
                continue
            tgt = targets.get(ind)
            v = round(v, 6)
            rows.append({"township_code": code, "township": names.get(code, code), "stream": flow.stream,
                         "indicator": ind, "value": v, "target": tgt,
                         "met": (v >= tgt - 1e-9) if tgt is not None else None,
                         "unit": "fraction", "label_zh": LABELS_ZH[ind]})
        for ind, v, lab in (("generation_t_yr", gen, "产生量"), ("served_t_yr", srv, "收集量")):
            rows.append({"township_code": code, "township": names.get(code, code), "stream": flow.stream,
                         "indicator": ind, "value": round(v, 3), "target": None, "met": None,
                         "unit": "t/yr", "label_zh": lab})
    return rows
