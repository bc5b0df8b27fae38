"""Score a layout (optimised or hand-made) with one set of definitions: the plans' indicators per
stream, per township and for the county against the scenario's targets, site loads, and the cost and
CO2 figures (docs/indicators.md).

The indicator arithmetic is in :mod:`netplan.indicators`, the cost arithmetic in :mod:`netplan.costs`;
this module strings them together into the tables a run writes (kpis.csv, kpis_township.csv,
costs.csv).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from netplan import runfolder
from netplan.costs import (
    LINKS,
    VehicleCost,
    item_costs,
    link_transport,
    load_vehicle_costs,
    site_costs,
)
from netplan.errors import InputError
from netplan.indicators import LABELS_ZH as _IND_ZH
from netplan.indicators import (
    StreamFlow,
    farming_townships,
    rates,
    share_capacity,
    stream_flow,
    township_rows,
    village_rounds,
)
from netplan.layout import Layout
from netplan.model import TIERS, County
from netplan.scenario import INDICATORS, Scenario
from netplan.storage import station_storage, storage_params
from netplan.streams import load_coefficients
from netplan.supply import Supply

KPI_COLUMNS = list(runfolder.KPI_COLUMNS)  # kpis.csv, as the run-folder contract gives them

#: extra KPI rows per stream and for the county (stream "all"): indicator -> (unit, Chinese label)
EXTRA = {
    "generation_t_yr": ("t/yr", "产生量(指标分母)"),
    "network_t_yr": ("t/yr", "需网络收集量"),
    "served_t_yr": ("t/yr", "收集量"),
    "used_onsite_t_yr": ("t/yr", "就地利用量(还田/场内)"),
    "used_offsite_t_yr": ("t/yr", "农户分散利用量"),
    "storage_t": ("t", "储存量"),
    "storage_yard_mu": ("mu", "堆场用地_亩"),
    "baling_cost_cny_yr": ("CNY/yr", "打捆成本"),
    "loading_cost_cny_yr": ("CNY/yr", "装卸成本"),
    "purchase_cost_cny_yr": ("CNY/yr", "收购成本"),
    "incentive_cost_cny_yr": ("CNY/yr", "回收奖补"),
    "treatment_cost_cny_yr": ("CNY/yr", "处理处置成本"),
    "storage_loss_cost_cny_yr": ("CNY/yr", "储存损耗"),
    "storage_cost_cny_yr": ("CNY/yr", "堆场年成本"),
    "cost_range_min_cny_per_t": ("CNY/t", "吨成本参考区间下限"),
    "cost_range_max_cny_per_t": ("CNY/t", "吨成本参考区间上限"),
    "sites_village_point": ("count", "村级点数量"),
    "sites_township_station": ("count", "乡镇站数量"),
    "sites_county_center": ("count", "县级中心数量"),
    "shared_village_point": ("count", "共建村级点数量(同组多品类)"),
    "shared_township_station": ("count", "共建乡镇站数量(同组多品类, 如两网融合)"),
    "shared_county_center": ("count", "共建县级中心数量(同组多品类)"),
    "capex_cny": ("CNY", "建设投资"),
    "capex_cny_yr": ("CNY/yr", "年化建设成本"),
    "opex_cny_yr": ("CNY/yr", "年运营成本"),
    "fixed_cost_cny_yr": ("CNY/yr", "设施年化成本"),
    "transport_tkm_yr": ("t.km/yr", "运输周转量"),
    "transport_cost_cny_yr": ("CNY/yr", "运输成本"),
    "total_cost_cny_yr": ("CNY/yr", "年总成本"),
    "cost_cny_per_t": ("CNY/t", "吨处理成本"),
    "vehicle_km_yr": ("km/yr", "车辆行驶里程"),
    "vehicle_days_yr": ("vehicle-days/yr", "车辆作业天数"),
    "fleet_collection": ("count", "收运车辆数(高峰)"),
    "fleet_haulage": ("count", "转运车辆数(高峰)"),
    "transport_co2_kg_yr": ("kg/yr", "运输二氧化碳排放"),
}
LABELS_ZH = {**_IND_ZH, **{k: v[1] for k, v in EXTRA.items()}}


@dataclass(frozen=True)
class Evaluation:
    """Per-demand coverage, per-site loads, the KPI table and the township, cost and transport tables."""

    coverage: pd.DataFrame   # stream, demand_id, point_id, dist_m, covered, served_t_yr, rounds_per_year
    site_loads: pd.DataFrame  # site_id, stream, tier, load_t, capacity_t, utilisation
    kpis: pd.DataFrame       # stream, indicator, value, target, met, unit, label_zh
    townships: pd.DataFrame = field(default_factory=pd.DataFrame)  # township_code, township, + kpis cols
    costs: pd.DataFrame = field(default_factory=pd.DataFrame)      # per site: capex, opex, fixed
    transport: pd.DataFrame = field(default_factory=pd.DataFrame)  # per stream and link
    storage: pd.DataFrame = field(default_factory=pd.DataFrame)    # per storing station (netplan.storage)
    plan_tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # netplan.plan_tables, by sheet


def _vehicles() -> dict[str, VehicleCost] | None:
    try:
        return load_vehicle_costs()
    except InputError:
        return None


def _link_origins(flow: StreamFlow, link: int, site_site_m: pd.DataFrame | None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Mass (t/yr) and road distance (m) per origin of link 0 (demand → point), 1 or 2."""
    if link == 0:
        m = flow.served_t_yr
        return m.to_numpy(), flow.dist_m.fillna(np.nan).to_numpy()
    child_tier = TIERS[link - 1]
    children = flow.sites[flow.sites["tier"] == child_tier]
    load = flow.loads_t_yr[child_tier]
    mass, dist = [], []
    for child, par in children["parent_id"].items():
        if not isinstance(par, str):
            continue
        d = np.nan
        if site_site_m is not None and child in site_site_m.index and par in site_site_m.columns:
            d = float(site_site_m.at[child, par])
        mass.append(float(load.get(child, 0.0)))
        dist.append(d)
    return np.asarray(mass, dtype=float), np.asarray(dist, dtype=float)


def _peak_factor(supply: Supply, sid: str) -> float:
    total = float(supply.mass_t_yr(sid).sum())
    peak = float(supply.peak_t_day(sid).sum())
    return max(1.0, peak / (total / 365.0)) if total > 0 else 1.0


def _kpi(stream: str, ind: str, value: float, target: float | None = None) -> dict:
    unit = "fraction" if ind in INDICATORS else EXTRA[ind][0]
    v = round(float(value), 6 if unit == "fraction" else 3)
    return {"stream": stream, "indicator": ind, "value": v, "target": target,
            "met": (v >= target - 1e-9) if target is not None else None, "unit": unit,
            "label_zh": LABELS_ZH[ind]}


def _site_load_rows(flow: StreamFlow, sid: str, storage: dict[str, dict]) -> list[dict]:
    rows = []
    for t in TIERS:
        ts = flow.sites[flow.sites["tier"] == t]
        ld = flow.loads_t_yr[t].reindex(ts.index).fillna(0.0)
        for site_id, row in ts.iterrows():
            cap = float(row["capacity_t"])
            st = storage.get(site_id, {}) if t == "township_station" else {}
            rows.append({"site_id": site_id, "stream": sid, "tier": t,
                         "load_t": round(float(ld[site_id]), 6), "capacity_t": cap,
                         "utilisation": round(float(ld[site_id]) / cap, 6) if cap > 0 else np.nan,
                         "storage_t": round(float(st.get("storage_t", 0.0)), 1) if st else np.nan,
                         "storage_m3": round(float(st.get("storage_m3", 0.0)), 0) if st else np.nan,
                         "yard_mu": round(float(st.get("yard_mu", 0.0)), 4) if st else np.nan})
    return rows


def _storage(coef: dict, sid: str, flow: StreamFlow, discount_rate: float) -> tuple[dict[str, dict], bool]:
    """Storage rows per township station of a stored stream (netplan.storage), and whether it is stored."""
    p = storage_params(coef, sid)
    if p is None:
        return {}, False
    st = flow.sites[flow.sites["tier"] == "township_station"].index
    loads = flow.loads_t_yr["township_station"].reindex(st).fillna(0.0)
    return {r["site_id"]: r for r in station_storage(loads.to_dict(), p, discount_rate)}, True


def _transport(scenario: Scenario, sp: Any, flow: StreamFlow, vehicles: dict | None,
               site_site_m: pd.DataFrame | None, pf: float, stored: bool) -> tuple[dict, list[dict]]:
    tr, rows = {}, []
    for li, (tier_in, _origin) in enumerate(LINKS):
        vname = sp.haul_vehicle if li == 2 else sp.collection_vehicle
        veh = vehicles.get(vname) if vehicles else None
        m, d = _link_origins(flow, li, site_site_m)
        if li > 0 and site_site_m is None:
            d = np.zeros_like(m)
        # haulage from a storing station runs on the even release over the year, not the harvest peak
        r = link_transport(m, d, rate_cny_per_tkm=sp.tiers[tier_in].rate_cny_per_tkm, vehicle=veh,
                           workday_h=scenario.workday_h, peak_factor=1.0 if (li == 2 and stored) else pf,
                           stream=sp.id)
        tr[li] = r
        rows.append({"stream": sp.id, "link": f"{_origin}->{tier_in}", "vehicle": vname, **r})
    return tr, rows


def evaluate(scenario: Scenario, county: County, supply: Supply, layout: Layout,
             site_site_m: pd.DataFrame | None = None, *, detail: bool = True) -> Evaluation:
    """Score ``layout`` against the scenario's targets.

    Parameters
    ----------
    detail
        False skips the per-township rows and the county-plan tables (``townships`` and
        ``plan_tables`` stay empty): the studio's per-change evaluation (netplan.studio).
    site_site_m
        Road distances between sites (m), a DataFrame indexed and columned by site_id; used for the
        point → station → centre transport (t·km, vehicle-km, CO2). Without it those links count 0 km.
    """
    dem = supply.demands.set_index("demand_id")
    kind, town = dem["kind"], dem["township_code"].astype(str)
    farming = farming_townships(county)
    vehicles = _vehicles()
    coef = load_coefficients(overrides=scenario.coefficients)
    sc = site_costs(scenario, layout.sites)
    flows = {sid: stream_flow(sp, supply, layout, county) for sid, sp in scenario.streams.items()}
    flows = share_capacity(flows, dict(scenario.sharing))
    cov_rows, load_rows, kpi_rows, town_rows, tr_rows, store_rows = [], [], [], [], [], []
    for sid, sp in scenario.streams.items():
        flow = flows[sid]
        targets = {ind: v for (s, ind), v in scenario.targets.items() if s == sid}
        vals = rates(flow, sp, kind, town, farming)
        for ind in INDICATORS:
            if ind in vals:  # sorting_coverage: only where the scenario declares sorting villages
                kpi_rows.append(_kpi(sid, ind, vals[ind], targets.get(ind)))
        if detail:
            town_rows += township_rows(flow, sp, county, supply, targets)
        storage, stored = _storage(coef, sid, flow, scenario.discount_rate)
        store_rows += [{"stream": sid, **r} for r in storage.values()]
        load_rows += _site_load_rows(flow, sid, storage)
        tr, rows = _transport(scenario, sp, flow, vehicles, site_site_m, _peak_factor(supply, sid), stored)
        tr_rows += rows
        scs = sc[sc["stream"] == sid]
        s = flow.sites
        served = float(flow.served_t_yr.sum())
        stored_t = sum(float(r["storage_t"]) for r in storage.values())
        c = coef.get(sid, {}) if isinstance(coef.get(sid), dict) else {}
        items = item_costs(c.get("costs", {}), served, stored_t, c.get("kg_per_item"))
        items["storage_cost_cny_yr"] = sum(float(r["yard_cost_cny_yr"]) for r in storage.values())
        fixed = float(scs["fixed_cny_yr"].sum())
        cost_t = sum(r["cost_cny_yr"] for r in tr.values())
        total = fixed + cost_t + sum(items.values())
        lo_hi = c.get("costs", {}).get("range_cny_per_t")
        extra = {
            "generation_t_yr": float(flow.total_t_yr.sum()) if flow.total_t_yr is not None
            else float(flow.weight_t_yr.sum()),
            "network_t_yr": float(flow.weight_t_yr.sum()), "served_t_yr": served,
            "used_onsite_t_yr": float(flow.used_onsite_t_yr.sum()) if flow.used_onsite_t_yr is not None else 0.0,
            "used_offsite_t_yr": float(flow.used_offsite_t_yr.sum())
            if flow.used_offsite_t_yr is not None else 0.0,
            "sites_village_point": float((s["tier"] == "village_point").sum()),
            "sites_township_station": float((s["tier"] == "township_station").sum()),
            "sites_county_center": float((s["tier"] == "county_center").sum()),
            "storage_t": stored_t, "storage_yard_mu": sum(float(r["yard_mu"]) for r in storage.values()),
            "capex_cny": float(scs["capex_cny"].sum())
            + sum(float(r["yard_capex_cny"]) for r in storage.values()),
            "capex_cny_yr": float(scs["capex_cny_yr"].sum()),
            "opex_cny_yr": float(scs["opex_cny_yr"].sum()), "fixed_cost_cny_yr": fixed,
            "transport_tkm_yr": sum(r["tkm_yr"] for r in tr.values()),
            "transport_cost_cny_yr": cost_t, **items, "total_cost_cny_yr": total,
            "cost_cny_per_t": total / served if served > 0 else 0.0,
        }
        if isinstance(lo_hi, list) and len(lo_hi) == 2:
            extra["cost_range_min_cny_per_t"], extra["cost_range_max_cny_per_t"] = map(float, lo_hi)
        if vehicles is not None and all("co2_kg_yr" in r for r in tr.values()):
            extra.update({
                "vehicle_km_yr": sum(r["vehicle_km_yr"] for r in tr.values()),
                "vehicle_days_yr": sum(r["vehicle_days_yr"] for r in tr.values()),
                "fleet_collection": tr[1]["fleet"], "fleet_haulage": tr[2]["fleet"],
                "transport_co2_kg_yr": sum(r["co2_kg_yr"] for r in tr.values()),
            })
        kpi_rows += [_kpi(sid, k, v) for k, v in extra.items()]
        cov_rows.append(pd.DataFrame({
            "stream": sid, "demand_id": flow.weight_t_yr.index, "point_id": flow.point_id.to_numpy(),
            "dist_m": flow.dist_m.to_numpy(), "covered": flow.covered.to_numpy(),
            "served_t_yr": flow.served_t_yr.round(6).to_numpy(),
            "rounds_per_year": village_rounds(sp, county).reindex(flow.weight_t_yr.index.astype(str))
            .fillna(sp.rounds_per_year).to_numpy(),   # collection rhythm (farms: the stream's)
        }))
    kpis = pd.DataFrame(kpi_rows, columns=KPI_COLUMNS)
    kpis = pd.concat([kpis, _county_rows(kpis, layout, scenario.sharing)], ignore_index=True)
    ev = Evaluation(
        coverage=pd.concat(cov_rows, ignore_index=True) if cov_rows else pd.DataFrame(),
        site_loads=pd.DataFrame(load_rows), kpis=kpis,
        townships=pd.DataFrame(town_rows, columns=list(runfolder.TOWNSHIP_KPI_COLUMNS)),
        costs=sc, transport=pd.DataFrame(tr_rows), storage=pd.DataFrame(store_rows))
    if not detail:
        return ev
    from netplan.plan_tables import plan_tables

    return replace(ev, plan_tables=plan_tables(ev, supply, county, scenario, coef))


def _county_rows(kpis: pd.DataFrame, layout: Layout,
                 sharing: Mapping[str, tuple[tuple[str, ...], ...]] | None = None) -> pd.DataFrame:
    """County totals (stream "all"): costs, t·km, vehicle figures, CO2, physical sites (and those
    shared by two or more streams of one ``[sharing]`` group: one capital cost), targets met."""
    rows = []
    per = kpis[kpis["stream"] != "all"]
    summable = ["capex_cny", "capex_cny_yr", "opex_cny_yr", "fixed_cost_cny_yr", "transport_tkm_yr",
                "transport_cost_cny_yr", "baling_cost_cny_yr", "loading_cost_cny_yr", "purchase_cost_cny_yr",
                "incentive_cost_cny_yr", "treatment_cost_cny_yr", "storage_loss_cost_cny_yr",
                "storage_cost_cny_yr", "storage_t", "storage_yard_mu", "total_cost_cny_yr", "vehicle_km_yr", "vehicle_days_yr",
                "fleet_collection", "fleet_haulage", "transport_co2_kg_yr"]
    for ind in summable:
        v = per.loc[per["indicator"] == ind, "value"]
        if len(v):
            rows.append(_kpi("all", ind, float(v.sum())))
    s = layout.sites
    for t in TIERS:
        n = s.loc[s["tier"] == t, "site_id"].nunique() if len(s) else 0
        rows.append(_kpi("all", f"sites_{t}", float(n)))
    for t in TIERS:  # sites where two or more streams of a [sharing] group meet (两网融合 at stations)
        groups = [set(g) for g in (sharing or {}).get(t, ())]
        at = s.loc[s["tier"] == t].groupby("site_id")["stream"].agg(set) if len(s) else pd.Series(dtype=object)
        n = sum(1 for st in at if any(len(st & g) >= 2 for g in groups))
        rows.append(_kpi("all", f"shared_{t}", float(n)))
    tg = per[per["target"].notna()]
    met = tg["met"].astype(bool)
    rows.append({"stream": "all", "indicator": "targets_met", "value": float(met.sum()), "target": None,
                 "met": None, "unit": "count", "label_zh": "达标指标数"})
    rows.append({"stream": "all", "indicator": "targets_missed", "value": float((~met).sum()),
                 "target": None, "met": None, "unit": "count", "label_zh": "未达标指标数"})
    return pd.DataFrame(rows, columns=KPI_COLUMNS)


def with_route_co2(kpis: pd.DataFrame, routes: pd.DataFrame, transport: pd.DataFrame) -> pd.DataFrame:
    """Replace the straight-line estimate of point → station → centre CO2 by the routed one.

    Adds ``collection_co2_kg_yr`` and ``haulage_co2_kg_yr`` per stream (distance × trips of each
    collection round and haulage trip, vehicle fuel × emission factor) and sets
    ``transport_co2_kg_yr`` (and ``vehicle_km_yr``) = village → point estimate + routed collection +
    routed haulage, for the streams and the county. Without a vehicle table or routes, ``kpis`` is returned unchanged.
    """
    from netplan.costs import route_co2_kg

    vehicles = _vehicles()
    if vehicles is None or len(routes) == 0 or "co2_kg_yr" not in transport:
        return kpis
    r = pd.DataFrame(routes).assign(co2=route_co2_kg(routes, vehicles).to_numpy())
    r["km"] = r["distance_m"].astype(float) / 1000.0 * r["trips_per_year"].astype(float)
    k = kpis.copy()
    rows = []
    link1 = transport[transport["link"].str.startswith("demand->")].set_index("stream")
    first = link1["co2_kg_yr"]
    for sid in first.index:
        rs = r[r["stream"] == sid]
        parts = {kind: float(rs.loc[rs["kind"] == kind, "co2"].sum()) for kind in ("collection", "haulage")}
        for kind, v in parts.items():
            rows.append({"stream": sid, "indicator": f"{kind}_co2_kg_yr", "value": round(v, 3),
                         "target": None, "met": None, "unit": "kg/yr",
                         "label_zh": "收运二氧化碳排放" if kind == "collection" else "转运二氧化碳排放"})
        m = (k["stream"] == sid) & (k["indicator"] == "transport_co2_kg_yr")
        k.loc[m, "value"] = round(float(first[sid]) + sum(parts.values()), 3)
        m = (k["stream"] == sid) & (k["indicator"] == "vehicle_km_yr")
        k.loc[m, "value"] = round(float(link1.at[sid, "vehicle_km_yr"]) + float(rs["km"].sum()), 3)
    for ind in ("transport_co2_kg_yr", "vehicle_km_yr"):
        per = k[(k["stream"] != "all") & (k["indicator"] == ind)]["value"].sum()
        k.loc[(k["stream"] == "all") & (k["indicator"] == ind), "value"] = round(per, 3)
    return pd.concat([k, pd.DataFrame(rows, columns=KPI_COLUMNS)], ignore_index=True)
