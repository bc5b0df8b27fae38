"""The tables a county plan (实施方案) is written from, built from an evaluated layout: investment by
year and project, baseline → target, the village roster by township, per-township compliance with the
plans' norms (a point per 行政村, a station per 乡镇), straw off-field tonnes and their uses, storage
per 收储中心, and balers and vehicles by type. They go to plan.xlsx and report.html.

Phasing, baler throughput and the straw use of each centre kind are data (data/coefficients.toml
``[planning]``, ``straw.baling``, ``straw.use_by_centre_kind``), each with its source or tag.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from netplan.indicators import host_villages
from netplan.model import County

#: sheet name -> Chinese title (plan.xlsx sheet names and report.html headings)
TITLES = {
    "investment": "建设项目及投资 Investment by project",
    "investment_by_year": "分年度投资 Investment by year (万元)",
    "baseline_target": "基线—目标 Baseline → target",
    "village_roster": "分乡镇行政村名册 Village roster",
    "township_norms": "乡镇达标 Township compliance (a point per 行政村, a station per 乡镇)",
    "straw_uses": "秸秆离田量及去向 Straw off-field tonnes and uses",
    "storage": "收储中心储存能力及用地 Storage per 收储中心",
    "equipment": "打捆机与车辆 Balers and vehicles",
}


def _names(county: County) -> dict[str, str]:
    v = county.villages
    names = {f"V{i}": f"{n}村级点" for i, n in zip(v["village_id"].astype(str), v["name"].astype(str),
                                                  strict=True)}
    t = county.townships
    names.update({f"T{c}": f"{n}驻地" for c, n in zip(t["township_code"].astype(str), t["name"].astype(str),
                                                    strict=True)})
    if len(county.sites):
        names.update(dict(zip(county.sites["site_id"].astype(str), county.sites["name"].astype(str),
                              strict=True)))
    return names


def _site_town(county: County, site_id: str) -> str | None:
    if site_id.startswith("V"):
        v = county.villages
        m = v["village_id"].astype(str) == site_id[1:]
        if m.any():
            return str(v.loc[m, "township_code"].iloc[0])
    if len(county.sites):
        m = county.sites["site_id"].astype(str) == site_id
        if m.any():
            return str(county.sites.loc[m, "township_code"].iloc[0])
    return site_id[1:] if site_id.startswith("T") else None


def investment(ev: Any, county: County, coef: Mapping[str, Any]) -> pd.DataFrame:
    """One row per (site, stream, tier): name, township, scale (t/yr, yard 亩), capex 万元, year."""
    plan = coef.get("planning", {})
    start = int(plan.get("start_year", 2025))
    offset = plan.get("year_offset", {})
    names = _names(county)
    towns = dict(zip(county.townships["township_code"].astype(str), county.townships["name"].astype(str),
                     strict=True))
    store = ev.storage.set_index(["stream", "site_id"]) if len(ev.storage) else None
    rows = []
    for r in ev.costs.itertuples(index=False):
        yard = float(store.at[(r.stream, r.site_id), "yard_mu"]) if store is not None and \
            (r.stream, r.site_id) in store.index else 0.0
        ycap = float(store.at[(r.stream, r.site_id), "yard_capex_cny"]) if yard else 0.0
        load = ev.site_loads[(ev.site_loads["site_id"] == r.site_id) & (ev.site_loads["stream"] == r.stream)
                             & (ev.site_loads["tier"] == r.tier)]
        cap = float(load["capacity_t"].iloc[0]) if len(load) else np.nan
        rows.append({"site_id": r.site_id, "name": names.get(r.site_id, r.site_id),
                     "township": towns.get(_site_town(county, r.site_id) or "", ""), "stream": r.stream,
                     "tier": r.tier, "status": r.status, "capacity_t": cap, "yard_mu": round(yard, 1),
                     "capex_wan_cny": round((float(r.capex_cny) + ycap) / 1e4, 2),
                     "year": start if r.status == "existing" else start + int(offset.get(r.tier, 0))})
    return pd.DataFrame(rows)


def investment_by_year(inv: pd.DataFrame) -> pd.DataFrame:
    """Capex (万元) by year and stream, with totals."""
    if len(inv) == 0:
        return pd.DataFrame()
    t = inv.pivot_table(index="year", columns="stream", values="capex_wan_cny", aggfunc="sum", fill_value=0.0)
    t["all"] = t.sum(axis=1)
    return t.round(2).reset_index()


def baseline_target(ev: Any, supply: Any, county: County, scenario: Any) -> pd.DataFrame:
    """Per targeted indicator: the baseline without new sites, the plan's value and the target.

    Two baselines, since an existing plant's actual intake is not in the county's data:
    ``baseline_no_network`` counts only the uses outside the network (还田, household, on-farm use);
    ``baseline_max_existing`` adds what the existing county centres could take (their capacity, at
    most the network tonnage) — an upper bound. villages_with_point: the existing village points.
    Coverage indicators without a road-distance baseline are left blank.
    """
    k = ev.kpis.set_index(["stream", "indicator"])["value"]
    rows = []
    for (sid, ind), tgt in scenario.targets.items():
        if sid not in supply.streams:   # a target of a stream the scenario switched off
            continue
        total = float(supply.total_t_yr(sid).sum())
        net = float(supply.mass_t_yr(sid).sum())
        u_on = float(supply.used_t_yr(sid, "onsite").sum())
        u_off = float(supply.used_t_yr(sid, "offsite").sum())
        s = county.sites
        cap = 0.0
        if len(s):
            ex = s[s["streams"].astype(str).str.contains(sid) & s["tiers"].astype(str).str.contains("county_center")]
            cap = float(pd.to_numeric(ex["capacity_t"], errors="coerce").fillna(0).sum())
        served0 = min(cap, net)
        base: float | None = None
        base0: float | None = None
        if total > 0 and ind == "recovery_rate":
            base0, base = 0.0, served0 / total
        elif total > 0 and ind == "utilisation_rate":
            base0, base = (u_on + u_off) / total, (u_on + u_off + served0) / total
        elif total > 0 and ind == "offsite_use_rate":
            base0, base = u_off / total, (u_off + served0) / total
        elif ind == "villages_with_point" and len(s):
            pts = s[s["streams"].astype(str).str.contains(sid) & s["tiers"].astype(str).str.contains("village_point")]
            dem = supply.demands
            vil = dem[(dem["kind"] == "village") & (supply.total_t_yr(sid) > 0)]["demand_id"].astype(str)
            hosts = host_villages(county, list(pts["site_id"].astype(str)))
            base = base0 = len(set(vil) & hosts) / len(vil) if len(vil) else None
        val = float(k.get((sid, ind), np.nan))
        rows.append({"stream": sid, "indicator": ind,
                     "baseline_no_network": None if base0 is None else round(base0, 4),
                     "baseline_max_existing": None if base is None else round(base, 4),
                     "value": round(val, 4), "target": tgt, "met": bool(val >= tgt - 1e-9)})
    return pd.DataFrame(rows)


def village_roster(ev: Any, county: County, streams: tuple[str, ...]) -> pd.DataFrame:
    """Per administrative village (by township): per stream the point it hosts and the point it uses."""
    v = county.villages
    towns = dict(zip(county.townships["township_code"].astype(str), county.townships["name"].astype(str),
                     strict=True))
    out = pd.DataFrame({"township": v["township_code"].astype(str).map(towns).to_numpy(),
                        "village_id": v["village_id"].astype(str).to_numpy(), "name": v["name"].astype(str).to_numpy()})
    hosted = _hosted_points(ev, county)
    cov = ev.coverage.set_index(["stream", "demand_id"]) if len(ev.coverage) else None
    for s in streams:
        out[f"{s}_hosts"] = [hosted.get((s, vid), "") for vid in out["village_id"]]
        if cov is not None:
            pt = [cov["point_id"].get((s, vid)) for vid in out["village_id"]]
            ok = [bool(cov["covered"].get((s, vid), False)) for vid in out["village_id"]]
            out[f"{s}_uses"] = [p if isinstance(p, str) and c else "" for p, c in zip(pt, ok, strict=True)]
    return out.sort_values(["township", "village_id"]).reset_index(drop=True)


def _hosted_points(ev: Any, county: County) -> dict[tuple[str, str], str]:
    """(stream, village_id) -> the ';'-joined village points that village hosts."""
    out: dict[tuple[str, str], list[str]] = {}
    vp = ev.site_loads[ev.site_loads["tier"] == "village_point"] if len(ev.site_loads) else ev.site_loads
    for (s, site) in zip(vp.get("stream", []), vp.get("site_id", []), strict=True):
        for vid in host_villages(county, [str(site)]):
            out.setdefault((s, vid), []).append(str(site))
    return {k: ";".join(sorted(v)) for k, v in out.items()}


def township_norms(ev: Any, streams: tuple[str, ...]) -> pd.DataFrame:
    """Per township and stream: villages with a point (share), a station in the township (0/1)."""
    t = ev.townships
    if len(t) == 0:
        return pd.DataFrame()
    t = t[t["indicator"].isin(["villages_with_point", "station_in_township", "village_coverage"])]
    w = t.pivot_table(index=["township_code", "township"], columns=["stream", "indicator"], values="value",
                      aggfunc="first")
    w.columns = [f"{s}_{i}" for s, i in w.columns]
    cols = [c for s in streams for c in (f"{s}_villages_with_point", f"{s}_station_in_township") if c in w]
    return w[cols].reset_index()


def straw_uses(ev: Any, supply: Any, county: County, coef: Mapping[str, Any], stream: str = "straw"
               ) -> pd.DataFrame:
    """Collectable straw split by use: in-field, household, network by county user, left over (t/yr)."""
    if f"{stream}_t_yr" not in supply.demands:
        return pd.DataFrame()
    total = float(supply.total_t_yr(stream).sum())
    kinds = coef.get(stream, {}).get("use_by_centre_kind", {})
    rows = [{"use": "直接还田 in-field (肥料化)", "t_yr": float(supply.used_t_yr(stream, "onsite").sum())},
            {"use": "农户分散利用 household feed/fuel (离田)", "t_yr": float(supply.used_t_yr(stream, "offsite").sum())}]
    loads = ev.site_loads[(ev.site_loads["stream"] == stream) & (ev.site_loads["tier"] == "county_center")]
    kind_of = dict(zip(county.sites["site_id"].astype(str), county.sites["kind"].astype(str), strict=True)) \
        if len(county.sites) else {}
    kind_of.update({str(x): "township_seat" for x in loads["site_id"] if str(x).startswith("T")})
    for r in loads.itertuples(index=False):
        k = kind_of.get(r.site_id, "")
        rows.append({"use": f"离田 via {r.site_id}: {kinds.get(k, k)}", "t_yr": float(r.load_t)})
    served = float(loads["load_t"].sum())
    off = float(supply.mass_t_yr(stream).sum())
    rows.append({"use": "未利用 off-field straw the network leaves", "t_yr": off - served})
    df = pd.DataFrame(rows)
    df["share"] = (df["t_yr"] / total).round(4) if total > 0 else np.nan
    df["t_yr"] = df["t_yr"].round(0)
    return df


def equipment(ev: Any, supply: Any, coef: Mapping[str, Any]) -> pd.DataFrame:
    """Vehicles by stream, link and type (peak fleet, payload per trip) and balers for baled streams."""
    rows = []
    tr = ev.transport
    for r in tr.itertuples(index=False):
        if str(r.link).startswith("demand->"):
            continue
        rows.append({"stream": r.stream, "link": r.link, "type": r.vehicle,
                     "count": getattr(r, "fleet", np.nan), "payload_t": getattr(r, "payload_t", np.nan)})
    for s in supply.streams:
        b = coef.get(s, {}).get("baling") if isinstance(coef.get(s), Mapping) else None
        if not isinstance(b, Mapping):
            continue
        served = ev.kpis[(ev.kpis["stream"] == s) & (ev.kpis["indicator"] == "served_t_yr")]["value"]
        peak_day = float(supply.peak_t_day(s).sum())
        net = float(supply.mass_t_yr(s).sum())
        share = float(served.iloc[0]) / net if len(served) and net > 0 else 0.0
        n = math.ceil(peak_day * share / float(b["t_per_day"]) - 1e-9) if peak_day > 0 else 0
        rows.append({"stream": s, "link": "field", "type": "baler 打捆机", "count": float(n),
                     "payload_t": np.nan})
    return pd.DataFrame(rows)


def plan_tables(ev: Any, supply: Any, county: County, scenario: Any, coef: Mapping[str, Any]
                ) -> dict[str, pd.DataFrame]:
    """All the county-plan tables of :data:`TITLES`, keyed by sheet name."""
    inv = investment(ev, county, coef)
    streams = tuple(scenario.stream_ids)
    store = ev.storage.copy() if len(ev.storage) else pd.DataFrame()
    if len(store):
        names = _names(county)
        store.insert(1, "name", store["site_id"].map(lambda x: names.get(x, x)))
        store = store.round({"storage_t": 0, "storage_m3": 0, "stack_m2": 0, "yard_m2": 0, "yard_mu": 1,
                             "yard_capex_cny": 0, "yard_cost_cny_yr": 0, "load_t": 0})
    out = {"investment": inv, "investment_by_year": investment_by_year(inv),
           "baseline_target": baseline_target(ev, supply, county, scenario),
           "village_roster": village_roster(ev, county, streams),
           "township_norms": township_norms(ev, streams), "straw_uses": straw_uses(ev, supply, county, coef),
           "storage": store, "equipment": equipment(ev, supply, coef)}
    return out


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.4g}"


def tables_html(tables: Mapping[str, pd.DataFrame], *, max_rows: int = 400) -> str:
    """The plan tables as HTML sections for report.html (escaped; long tables cut at ``max_rows``
    with a note pointing to plan.xlsx)."""
    import html

    parts = []
    for name, title in TITLES.items():
        df = tables.get(name)
        if df is None or len(df) == 0:
            continue
        d = pd.DataFrame(df).drop(columns="geometry", errors="ignore")
        cut = len(d) > max_rows
        body = d.head(max_rows).to_html(index=False, na_rep="", escape=True, border=0,
                                        float_format=_num)
        parts.append(f"<h2>{html.escape(title)}</h2>{body}")
        if cut:
            parts.append(f"<p class=note>first {max_rows} of {len(d)} rows; all rows: plan.xlsx sheet "
                         f"{html.escape(name)}</p>")
    return "\n".join(parts)
