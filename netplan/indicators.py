"""The plans' indicators for one stream of one layout: who is covered, what is served, site loads,
and the county and township rates (definitions and sources: docs/indicators.md).

A demand is *covered* for a stream when it delivers to an open village point of that stream within
the tier-1 radius (road distance) and that point is connected through an open township station to an
open county centre. Served tonnage = what the network can take (supply's ``<s>_t_yr``) × capture rate,
scaled down where the point or its station is over capacity. Rates divide by the official denominator
(supply's ``<s>_total_t_yr``: 可收集量, 使用量, 产生量), never by the network's share of it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from netplan.errors import InputError
from netplan.layout import Layout
from netplan.model import TIERS, County
from netplan.scenario import StreamParams
from netplan.supply import Supply

#: a site stands in a village when it is within this straight-line distance of the village's point
#: (E: an administrative village's main settlement spans ~0.5-1.5 km; village centres host exactly)
HOST_RADIUS_M = 1000.0

LABELS_ZH = {
    "village_coverage": "行政村覆盖率",
    "villages_with_point": "行政村设点率",
    "offsite_use_rate": "离田利用率",
    "tonnage_coverage": "产生量覆盖率",
    "recovery_rate": "回收率",
    "utilisation_rate": "综合利用率",
    "township_coverage": "涉农乡镇覆盖率",
    "station_in_township": "乡镇设站",
    "sorting_coverage": "分类覆盖率",
}

#: villages.csv cell values read as "this village sorts" / "does not" for a ``sorting_villages`` column
_YES = frozenset({"1", "true", "yes", "y", "是"})
_NO = frozenset({"0", "false", "no", "n", "否", ""})


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
    total_t_yr: pd.Series | None = None
    used_onsite_t_yr: pd.Series | None = None
    used_offsite_t_yr: pd.Series | None = None
    hosts: frozenset[str] = frozenset()
    #: the scenario's declared sorting villages (户分类): a share 0-1 or the set of village ids; None = none declared
    sorting: float | frozenset[str] | None = None


def sorting_villages(sp: StreamParams, county: County | None) -> float | frozenset[str] | None:
    """The villages ``sp.sorting_villages`` declares to sort: a share (0-1) as given, else the set
    of village ids (a list of ids, or a villages.csv column read as 1/true/yes/是 vs 0/false/no/否).

    Raises
    ------
    InputError
        An id that is no village of the county, a column the villages table lacks, or a cell that
        is neither yes nor no (naming villages.csv, row and column).
    """
    decl = sp.sorting_villages
    if decl is None or isinstance(decl, float):
        return decl
    key = f"streams.{sp.id}.sorting_villages"
    if county is None:
        raise InputError("the county's villages are needed to read the declared sorting villages", field=key)
    v = county.villages
    ids = v["village_id"].astype(str)
    if isinstance(decl, tuple):
        unknown = sorted(set(decl) - set(ids))
        if unknown:
            msg = f"not a village_id of the county: {', '.join(unknown[:5])}" + (" ..." if len(unknown) > 5 else "")
            raise InputError(msg, file="scenario", field=key)
        return frozenset(decl)
    if decl not in v.columns:
        msg = f"the villages table has no column {decl!r} (named by the scenario's {key})"
        raise InputError(msg, file="villages.csv", field=decl)
    cells = v[decl].astype(str).str.strip().str.lower()
    bad = ~cells.isin(_YES | _NO)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
        msg = f"expected 1/0, true/false, yes/no or 是/否 (does the village sort?), got {v[decl].iloc[row - 1]!r}"
        raise InputError(msg, file="villages.csv", row=row, field=decl)
    return frozenset(ids[cells.isin(_YES).to_numpy()])


def village_rounds(sp: StreamParams, county: County) -> pd.Series:
    """Collection rounds per year of every village (index village_id): the scenario's
    ``rounds_by_village`` (a villages.csv column — or a townships column such as ``kind``
    街道/镇/乡, read for each village's township — its cells mapped to rounds or read as rounds),
    else — and for cells neither mapped nor filled — the stream's ``rounds_per_year``.

    Raises
    ------
    InputError
        Neither table has the column, or (no mapping) a cell is not a number of rounds in (0, 8784].
    """
    v = county.villages
    ids = v["village_id"].astype(str).to_numpy()
    out = pd.Series(float(sp.rounds_per_year), index=ids)
    if sp.rounds_by_village is None:
        return out
    col, mapping = sp.rounds_by_village
    town = county.townships.set_index(county.townships["township_code"].astype(str))
    if col in v.columns:
        cells = v[col].astype(str).str.strip()
    elif col in town.columns:
        cells = v["township_code"].astype(str).map(town[col].astype(str).str.strip()).fillna("")
    else:
        msg = (f"neither the villages nor the townships table has a column {col!r} (named by the "
               f"scenario's streams.{sp.id}.rounds_by_village)")
        raise InputError(msg, file="villages.csv", field=col)
    if mapping:
        got = cells.map(mapping)
    else:
        got = pd.to_numeric(cells.replace("", np.nan), errors="coerce")
        bad = (cells != "") & ~(got.between(0.01, 366 * 24))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
            msg = f"expected collection rounds per year (e.g. 365 daily, 183 every other day), got {cells.iloc[row - 1]!r}"
            raise InputError(msg, file="villages.csv", row=row, field=col)
    got.index = ids
    return got.astype(float).fillna(float(sp.rounds_per_year))


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


def site_points(county: County) -> dict[str, tuple[float, float]]:
    """(lon, lat) of every candidate location: village centres ``V<id>``, township seats ``T<code>``
    and the county's listed sites (ids as in :func:`netplan.candidates.build_candidates`)."""
    v = county.villages
    pts = {f"V{i}": (g.x, g.y) for i, g in zip(v["village_id"].astype(str), v.geometry, strict=True)}
    t = county.townships
    for code, x, y in zip(t["township_code"].astype(str), pd.to_numeric(t["seat_lon"], errors="coerce"),
                          pd.to_numeric(t["seat_lat"], errors="coerce"), strict=True):
        if np.isfinite(x) and np.isfinite(y):
            pts[f"T{code}"] = (float(x), float(y))
    s = county.sites
    if len(s):
        pts.update({str(i): (g.x, g.y) for i, g in zip(s["site_id"], s.geometry, strict=True)})
    return pts


def host_villages(county: County, point_ids: list[str], *, radius_m: float = HOST_RADIUS_M) -> set[str]:
    """Administrative villages that host one of ``point_ids``: ``V<village_id>`` itself, else the
    nearest village of the point's township (any township when unknown) within ``radius_m``."""
    v = county.villages
    ids = v["village_id"].astype(str).to_numpy()
    lon = np.array([g.x for g in v.geometry])
    lat = np.array([g.y for g in v.geometry])
    town = v["township_code"].astype(str).to_numpy()
    site_town = {}
    if len(county.sites):
        site_town = dict(zip(county.sites["site_id"].astype(str),
                             county.sites["township_code"].astype(str), strict=True))
    pts = site_points(county)
    out: set[str] = set()
    for p in point_ids:
        if p.startswith("V") and p[1:] in set(ids):
            out.add(p[1:])
            continue
        if p not in pts:
            continue
        x, y = pts[p]
        tc = p[1:] if p.startswith("T") else site_town.get(p)
        m = (town == tc) if tc is not None and (town == tc).any() else np.ones(len(ids), dtype=bool)
        dx = (lon[m] - x) * 111_320.0 * np.cos(np.radians(y))
        d = np.hypot(dx, (lat[m] - y) * 110_574.0)
        if len(d) and d.min() <= radius_m:
            out.add(str(ids[m][int(np.argmin(d))]))
    return out


def _loads(served: pd.Series, key: pd.Series, vp: pd.DataFrame, st: pd.DataFrame) -> dict[str, pd.Series]:
    """Annual inflow per site of each tier from the served tonnage per demand and its point."""
    loads = {"village_point": served.groupby(key).sum()}
    loads["township_station"] = loads["village_point"].groupby(
        vp["parent_id"].reindex(loads["village_point"].index)).sum()
    loads["county_center"] = loads["township_station"].groupby(
        st["parent_id"].reindex(loads["township_station"].index)).sum()
    return loads


def share_capacity(flows: dict[str, StreamFlow], sharing: dict[str, tuple[tuple[str, ...], ...]]
                   ) -> dict[str, StreamFlow]:
    """One capacity per physical site: where several streams use the same existing site, or the same
    site of a ``[sharing]`` group, at one tier, their combined load is scaled down to the site's
    capacity (the largest ``capacity_t`` of its rows), in proportion, down the chains that reach it."""
    ratio: dict[tuple[str, str], float] = {}
    for tier in TIERS:
        rows = []
        for sid, f in flows.items():
            s = f.sites[f.sites["tier"] == tier]
            ld = f.loads_t_yr[tier].reindex(s.index).fillna(0.0)
            rows += [(site, sid, str(r["status"]), float(r["capacity_t"]), float(ld[site]))
                     for site, r in s.iterrows()]
        df = pd.DataFrame(rows, columns=["site", "stream", "status", "cap", "load"])
        groups = [set(g) for g in sharing.get(tier, ())]
        for site, g in df.groupby("site"):
            if len(g) < 2:
                continue
            shared = (g["status"] == "existing").all() or any(set(g["stream"]) <= grp for grp in groups)
            load = float(g["load"].sum())
            if shared and load > float(g["cap"].max()) > 0:
                for sid in g["stream"]:
                    ratio[(sid, site)] = float(g["cap"].max()) / load
    if not ratio:
        return flows
    out = {}
    for sid, f in flows.items():
        mine = {site: r for (s, site), r in ratio.items() if s == sid}
        if not mine:
            out[sid] = f
            continue
        vp = f.sites[f.sites["tier"] == "village_point"]
        st = f.sites[f.sites["tier"] == "township_station"]
        station = f.point_id.map(vp["parent_id"])
        centre = station.map(st["parent_id"])
        factor = pd.Series(1.0, index=f.point_id.index)
        for chain in (f.point_id, station, centre):
            factor = factor * chain.map(mine).fillna(1.0)
        served = f.served_t_yr * factor
        key = f.point_id.where(f.covered)
        out[sid] = replace(f, served_t_yr=served, loads_t_yr=_loads(served, key, vp, st))
    return out


def stream_flow(sp: StreamParams, supply: Supply, layout: Layout, county: County | None = None
                ) -> StreamFlow:
    """Coverage, served tonnage and the loads of every open site of one stream.

    With ``county``, the villages that host an open, connected village point are found too
    (``hosts``, for ``villages_with_point``).
    """
    sid = sp.id
    dem = supply.demands
    idx = dem["demand_id"].to_numpy()
    w = pd.Series(supply.mass_t_yr(sid), index=idx)
    dp = layout.demand_point[layout.demand_point["stream"] == sid].set_index("demand_id")
    ok = chain_ok(layout, sid)
    radius = sp.tiers["village_point"].radius_m
    pt = dp["point_id"].reindex(w.index)
    dist = dp["dist_m"].reindex(w.index).astype(float)
    within = dist.le(radius) if radius is not None else dist.notna()
    connected = pt.map(ok).eq(True)            # unserved (no point) or a broken chain: False
    covered = within.eq(True) & connected & (w > 0)
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
    loads = _loads(served, key, vp, st)
    hosts = host_villages(county, [p for p, good in ok.items() if good]) if county is not None else set()
    return StreamFlow(stream=sid, weight_t_yr=w, point_id=pt, dist_m=dist, covered=covered,
                      served_t_yr=served, loads_t_yr=loads, sites=sites, chain_ok=ok,
                      total_t_yr=pd.Series(supply.total_t_yr(sid), index=idx),
                      used_onsite_t_yr=pd.Series(supply.used_t_yr(sid, "onsite"), index=idx),
                      used_offsite_t_yr=pd.Series(supply.used_t_yr(sid, "offsite"), index=idx),
                      hosts=frozenset(hosts), sorting=sorting_villages(sp, county))


def rates(flow: StreamFlow, sp: StreamParams, kind: pd.Series, township: pd.Series,
          farming: set[str]) -> dict[str, float]:
    """The indicators of one stream over the demands given (fractions 0–1; docs/indicators.md).

    Parameters
    ----------
    kind, township
        Demand kind ("village" / "farm") and township code, indexed by demand_id; only the demands in
        ``kind``'s index are counted (pass a township's demands for a township figure).
    farming
        Codes of the farming townships (涉农乡镇) that ``township_coverage`` counts.

    Notes
    -----
    T = official denominator (可收集量 / 使用量 / 产生量), N = what the network can take, S = served,
    U_on / U_off = utilised without the network on site (还田, on-farm) / off site (农户分散利用):
    recovery = S / T; utilisation = (U_on + U_off + S + b × (N − S)) / T with b = baseline_use_share
    (share of the network's tonnage used anyway when left uncollected; 0 in the shipped scenarios);
    off-site use (离田利用率) = (U_off + S) / T. ``sorting_coverage`` (分类覆盖率) only where the scenario
    declares the stream's sorting villages (``sorting_villages``).
    """
    idx = kind.index
    w = flow.weight_t_yr.reindex(idx).fillna(0.0)
    tot_s = flow.total_t_yr if flow.total_t_yr is not None else flow.weight_t_yr
    tot = tot_s.reindex(idx).fillna(0.0)
    u_on = (flow.used_onsite_t_yr.reindex(idx).fillna(0.0).sum()
            if flow.used_onsite_t_yr is not None else 0.0)
    u_off = (flow.used_offsite_t_yr.reindex(idx).fillna(0.0).sum()
             if flow.used_offsite_t_yr is not None else 0.0)
    cov = flow.covered.reindex(idx).fillna(False).astype(bool)
    served = float(flow.served_t_yr.reindex(idx).fillna(0.0).sum())
    is_v = (kind == "village") & (tot > 0)
    n_v = int(is_v.sum())
    total = float(tot.sum())
    net = float(w.sum())
    hosted = pd.Series(idx.astype(str), index=idx).isin(flow.hosts)
    towns_cov = set(township[cov].astype(str))
    towns_here = set(township.astype(str)) & farming
    b = sp.baseline_use_share
    used = float(u_on) + float(u_off) + served + b * max(net - served, 0.0)
    out = {
        "village_coverage": float(cov[is_v].sum()) / n_v if n_v else 1.0,
        "villages_with_point": float(hosted[is_v].sum()) / n_v if n_v else 1.0,
        "tonnage_coverage": float(w[cov].sum()) / net if net > 0 else 1.0,
        "recovery_rate": served / total if total > 0 else 1.0,
        "utilisation_rate": min(1.0, used / total) if total > 0 else 1.0,
        "offsite_use_rate": (float(u_off) + served) / total if total > 0 else 1.0,
        "township_coverage": len(towns_here & towns_cov) / len(towns_here) if towns_here else 1.0,
    }
    if flow.sorting is not None:
        out["sorting_coverage"] = _sorting_coverage(flow.sorting, cov[is_v], n_v)
    return out


def _sorting_coverage(sorting: float | frozenset[str], cov_v: pd.Series, n_v: int) -> float:
    """分类覆盖率: villages that sort and are covered ÷ villages (with T > 0). A declared share s
    stands for villages spread evenly over covered and uncovered ones: s × covered ÷ villages."""
    if not n_v:
        return 1.0
    if isinstance(sorting, float):
        return sorting * float(cov_v.sum()) / n_v
    sorts = pd.Series(cov_v.index.astype(str), index=cov_v.index).isin(sorting)
    return float((cov_v & sorts).sum()) / n_v


def station_townships(flow: StreamFlow, county: County) -> set[str]:
    """Township codes that host an open township station of the stream connected to a centre
    (the plans' norm: a station per 乡镇)."""
    st = flow.sites[flow.sites["tier"] == "township_station"]
    centres = set(flow.sites.index[flow.sites["tier"] == "county_center"])
    known = {}
    if len(county.sites):
        known = dict(zip(county.sites["site_id"].astype(str), county.sites["township_code"].astype(str),
                         strict=True))
    out = set()
    for sid, par in st["parent_id"].items():
        if par not in centres:
            continue
        code = sid[1:] if sid.startswith("T") and sid not in known else known.get(sid)
        if code:
            out.add(code)
    return out


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
    w = flow.total_t_yr if flow.total_t_yr is not None else flow.weight_t_yr
    st_towns = station_townships(flow, county)
    for code in sorted(set(town)):
        ids = town.index[(town == code).to_numpy()]
        if float(w.reindex(ids).fillna(0).sum()) <= 0:
            continue
        vals = rates(flow, sp, dem.loc[ids, "kind"], town.loc[ids], farming)
        if code in farming:
            vals["station_in_township"] = 1.0 if code in st_towns else 0.0
        gen = float(w.reindex(ids).sum())
        srv = float(flow.served_t_yr.reindex(ids).sum())
        for ind, v in vals.items():
            if ind == "township_coverage" and code not in farming:
                continue
            tgt = targets.get(ind) if ind != "station_in_township" else 1.0
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
