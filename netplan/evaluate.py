"""Indicators against targets, site loads and transport for a layout (optimised or hand-made).

Definitions (docs/indicators.md): a demand is *covered* for a stream when it delivers to an open
village point of that stream within the tier-1 radius (road distance) and that point is connected
through an open township station to an open county centre. Served tonnage is scaled down where a
site on the chain is over capacity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from netplan.layout import Layout
from netplan.model import TIERS, County
from netplan.scenario import INDICATORS, Scenario
from netplan.supply import Supply

LABELS_ZH = {
    "village_coverage": "行政村覆盖率",
    "tonnage_coverage": "产生量覆盖率",
    "recovery_rate": "回收率",
    "utilisation_rate": "综合利用率",
    "township_coverage": "涉农乡镇覆盖率",
    "generation_t_yr": "产生量",
    "served_t_yr": "收集量",
    "sites_village_point": "村级点数量",
    "sites_township_station": "乡镇站数量",
    "sites_county_center": "县级中心数量",
    "fixed_cost_cny_yr": "设施年化成本",
    "transport_tkm_yr": "运输周转量",
    "transport_cost_cny_yr": "运输成本",
    "total_cost_cny_yr": "年总成本",
}


@dataclass(frozen=True)
class Evaluation:
    """Per-demand coverage, per-site loads and the KPI table of one layout."""

    coverage: pd.DataFrame   # stream, demand_id, point_id, dist_m, covered, served_t_yr
    site_loads: pd.DataFrame  # site_id, stream, tier, load_t, capacity_t, utilisation
    kpis: pd.DataFrame       # stream, indicator, value, target, met, unit, label_zh


def _chain_ok(layout: Layout, stream: str) -> dict[str, bool]:
    """For each open village point of ``stream``: is it connected station → centre?"""
    s = layout.sites[layout.sites["stream"] == stream]
    by_tier = {t: s[s["tier"] == t].set_index("site_id") for t in TIERS}
    centres = set(by_tier["county_center"].index)
    stations_ok = {k: (p in centres) for k, p in by_tier["township_station"]["parent_id"].items()}
    return {k: bool(stations_ok.get(p, False)) for k, p in by_tier["village_point"]["parent_id"].items()}


def evaluate(scenario: Scenario, county: County, supply: Supply, layout: Layout,
             site_site_m: pd.DataFrame | None = None) -> Evaluation:
    """Score ``layout`` against the scenario's targets.

    Parameters
    ----------
    site_site_m
        Road distances between sites (m), a DataFrame indexed and columned by site_id; used for the
        point → station → centre transport (t·km). Without it those links count 0 km.
    """
    dem = supply.demands
    cov_rows = []
    load_rows = []
    kpi_rows = []
    farming = county.townships[county.townships["farming"].astype(bool)]["township_code"].astype(str)
    for sid, sp in scenario.streams.items():
        w = pd.Series(supply.mass_t_yr(sid), index=dem["demand_id"].to_numpy())
        dp = layout.demand_point[layout.demand_point["stream"] == sid].set_index("demand_id")
        chain = _chain_ok(layout, sid)
        radius = sp.tiers["village_point"].radius_m
        pt = dp["point_id"].reindex(w.index)
        dist = dp["dist_m"].reindex(w.index).astype(float)
        within = dist.le(radius) if radius is not None else dist.notna()
        connected = pt.map(chain).fillna(False).astype(bool)
        covered = within.fillna(False).astype(bool) & connected & (w > 0)
        arrive = (w * sp.capture_rate).where(covered, 0.0)
        # capacity along the chain: scale the served tonnage where a site is over capacity
        sites = layout.sites[layout.sites["stream"] == sid].set_index("site_id")
        scale = pd.Series(1.0, index=w.index)
        pload = arrive.groupby(pt.where(covered)).sum()
        vp = sites[sites["tier"] == "village_point"]
        ratio_p = (vp["capacity_t"] / pload.reindex(vp.index).replace(0, np.nan)).clip(upper=1).fillna(1)
        scale = scale * pt.map(ratio_p).fillna(1.0)
        served = arrive * scale
        # loads up the chain
        loads = {"village_point": served.groupby(pt.where(covered)).sum()}
        st = sites[sites["tier"] == "township_station"]
        loads["township_station"] = loads["village_point"].groupby(vp["parent_id"].reindex(
            loads["village_point"].index)).sum()
        loads["county_center"] = loads["township_station"].groupby(st["parent_id"].reindex(
            loads["township_station"].index)).sum()
        ratio_s = (st["capacity_t"] / loads["township_station"].reindex(st.index).replace(0, np.nan)
                   ).clip(upper=1).fillna(1)
        served = served * pt.map(vp["parent_id"]).map(ratio_s).fillna(1.0)
        tkm = float((served * dist.fillna(0)).sum() / 1000.0)
        cost_t = tkm * sp.tiers["village_point"].rate_cny_per_tkm
        for t in TIERS:
            ts = sites[sites["tier"] == t]
            ld = loads[t].reindex(ts.index).fillna(0.0)
            for site_id, row in ts.iterrows():
                cap = float(row["capacity_t"])
                load_rows.append({"site_id": site_id, "stream": sid, "tier": t,
                                  "load_t": round(float(ld[site_id]), 6), "capacity_t": cap,
                                  "utilisation": round(float(ld[site_id]) / cap, 6) if cap > 0 else np.nan})
            if t != "village_point" and site_site_m is not None:
                prev = sites[sites["tier"] == TIERS[TIERS.index(t) - 1]]
                pl = loads[TIERS[TIERS.index(t) - 1]]
                for child, par in prev["parent_id"].items():
                    if isinstance(par, str) and child in site_site_m.index:
                        km = float(site_site_m.at[child, par]) / 1000.0
                        if np.isfinite(km):
                            tkm_link = float(pl.get(child, 0.0)) * km
                            tkm += tkm_link
                            cost_t += tkm_link * sp.tiers[t].rate_cny_per_tkm
        fixed = 0.0
        for t in TIERS:
            tp = sp.tiers[t]
            for _, row in sites[sites["tier"] == t].iterrows():
                fixed += tp.annual_cost_cny(scenario.discount_rate, existing=row["status"] == "existing",
                                            existing_capex_share=scenario.existing_capex_share)
        is_v = (dem["kind"] == "village").to_numpy() & (w.to_numpy() > 0)
        total = float(w.sum())
        served_t = float(served.sum())
        share = served_t / total if total > 0 else 1.0
        n_v = int(is_v.sum())
        vals = {
            "village_coverage": float(covered.to_numpy()[is_v].sum()) / n_v if n_v else 1.0,
            "tonnage_coverage": float(w[covered].sum()) / total if total > 0 else 1.0,
            "recovery_rate": share,
            "utilisation_rate": sp.baseline_use_share + (1 - sp.baseline_use_share) * share,
        }
        # farming townships with at least one open, connected village point of the stream
        pts_ok = [p for p, ok in chain.items() if ok]
        pt_town = dem.set_index("demand_id")["township_code"]
        served_towns = set(pt_town.reindex(dp.index[dp["point_id"].isin(pts_ok)]).dropna().astype(str))
        vals["township_coverage"] = (len(set(farming) & served_towns) / len(farming)) if len(farming) else 1.0
        for ind in INDICATORS:
            tgt = scenario.targets.get((sid, ind))
            v = round(vals[ind], 6)
            kpi_rows.append({"stream": sid, "indicator": ind, "value": v,
                             "target": tgt, "met": (v >= tgt - 1e-9) if tgt is not None else None,
                             "unit": "fraction", "label_zh": LABELS_ZH[ind]})
        extra = {
            "generation_t_yr": (total, "t/yr"), "served_t_yr": (served_t, "t/yr"),
            "sites_village_point": (float((sites["tier"] == "village_point").sum()), "count"),
            "sites_township_station": (float((sites["tier"] == "township_station").sum()), "count"),
            "sites_county_center": (float((sites["tier"] == "county_center").sum()), "count"),
            "fixed_cost_cny_yr": (fixed, "CNY/yr"), "transport_tkm_yr": (tkm, "t.km/yr"),
            "transport_cost_cny_yr": (cost_t, "CNY/yr"), "total_cost_cny_yr": (fixed + cost_t, "CNY/yr"),
        }
        for ind, (v, unit) in extra.items():
            kpi_rows.append({"stream": sid, "indicator": ind, "value": round(v, 3), "target": None,
                             "met": None, "unit": unit, "label_zh": LABELS_ZH[ind]})
        cov_rows.append(pd.DataFrame({
            "stream": sid, "demand_id": w.index, "point_id": pt.to_numpy(), "dist_m": dist.to_numpy(),
            "covered": covered.to_numpy(), "served_t_yr": served.round(6).to_numpy(),
        }))
    kpis = pd.DataFrame(kpi_rows, columns=["stream", "indicator", "value", "target", "met", "unit",
                                           "label_zh"])
    return Evaluation(coverage=pd.concat(cov_rows, ignore_index=True) if cov_rows else pd.DataFrame(),
                      site_loads=pd.DataFrame(load_rows), kpis=kpis)
