"""The studio's in-memory model: a scenario and county prepared once (supply, candidates, road
matrices), a base layout table, and the evaluation of a change set against it.

A change set is what the page sends (``{"closed": [...], "open": [...], "moved": [...]}``): it is
applied to a copy of the base layout table, turned into a :class:`~netplan.layout.Layout` by the
same :func:`netplan.siting_adapter.layout_from_table` that ``netplan evaluate`` uses, and scored by the
same :func:`netplan.evaluate.evaluate` — on the matrices computed at start-up, so one evaluation
does no road routing. Every site the studio can place is a candidate of the county or a point
snapped to the road network (:mod:`netplan.studio.place`), which then joins the candidates with its
row and column of road distances: the matrices stay valid for every table.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from netplan.layout import Layout
from netplan.layout_io import COLUMNS, layout_to_table, read_layout
from netplan.model import TIERS, County
from netplan.scenario import Scenario
from netplan.siting_adapter import Matrices, layout_from_table, parent_of
from netplan.studio.place import ChangeError, Geo, make_geo, place_on_road
from netplan.supply import Supply

#: KPI rows (besides every row with a target) the panel shows, per stream and for the county
PANEL_EXTRA = ("served_t_yr", "total_cost_cny_yr", "cost_cny_per_t", "transport_co2_kg_yr",
               "sites_village_point", "sites_township_station", "sites_county_center")
#: KPI rows that need the collection rounds (routing), which the studio does not re-plan per change
NEEDS_ROUTES = ("collection_vehicle_km_yr", "haulage_vehicle_km_yr", "collection_co2_kg_yr",
                "haulage_co2_kg_yr")


@dataclass
class Prepared:
    """A scenario and county read once, with everything an evaluation reuses."""

    scenario: Scenario
    county: County
    supply: Supply
    boundary_m: Any
    geo: Geo
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def cands(self) -> gpd.GeoDataFrame:
        """The candidate sites of the current snapshot (EPSG:4326)."""
        return self.geo.cands

    @property
    def mats(self) -> Matrices:
        """The road matrices of the current snapshot."""
        return self.geo.mats

    @property
    def site_frame(self) -> pd.DataFrame:
        """Road distances among candidates (m), labelled by site id."""
        return self.geo.site_frame

    @property
    def cands_m(self) -> np.ndarray:
        """Candidate x, y in the county's metric CRS (m)."""
        return self.geo.cands_m


def prepare(scenario: Scenario, table: gpd.GeoDataFrame | None = None, *,
            progress: Any = None) -> Prepared:
    """Read the county, estimate supply, build candidates (plus ``table``'s sites) and road matrices
    (distances, and the travel times of the scenario's vehicles for the collection rounds)."""
    from netplan.planner import (
        candidate_sites,
        check_reachable,
        estimate_supply,
        load_inputs,
        road_network,
        travel_matrices,
    )

    say = progress or (lambda m: None)
    say(f"reading county folder {scenario.county_dir}")
    county = load_inputs(scenario)
    supply = estimate_supply(scenario, county)
    cands = candidate_sites(county, table)
    net = road_network(scenario, county)
    say(f"road network: {net.label}; travel distances for {len(cands)} candidates")
    mats = travel_matrices(net, supply, cands, scenario)
    check_reachable(supply, mats, scenario)
    for v in sorted({x for sp in scenario.streams.values() for x in (sp.collection_vehicle, sp.haul_vehicle)}):
        mats.site_site_s(v)  # computed once here; the forked route jobs inherit them
    boundary = county.boundary.to_crs(county.metric_crs).geometry.union_all()
    return Prepared(scenario=scenario, county=county, supply=supply, boundary_m=boundary,
                    geo=make_geo(cands, mats, county.metric_crs))


def base_table(prep: Prepared, layout: Layout, geo: Geo | None = None) -> gpd.GeoDataFrame:
    """A Layout (e.g. an optimised plan) as the studio's layout table (the ``netplan evaluate`` format)."""
    return layout_to_table(layout, (geo or prep.geo).cands)


def load_table(path: str | Path, scenario: Scenario) -> gpd.GeoDataFrame:
    """A layout table from a file (a run's layout.csv, or any table ``netplan evaluate`` reads)."""
    return read_layout(path, streams=scenario.stream_ids)


# ---------------------------------------------------------------------------------- change sets
def _ids(value: Any, key: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ChangeError(f"'{key}' must be a list")
    return value


def _cand_row(prep: Prepared, site_id: str) -> pd.Series:
    c = prep.cands
    hit = c.index[c["site_id"].astype(str) == site_id]
    if len(hit) == 0:
        raise ChangeError(f"unknown site id {site_id!r}: not a candidate site of the county")
    return c.loc[hit[0]]


def snap(prep: Prepared, lon: Any, lat: Any) -> str:
    """The site at a WGS-84 point inside the county, snapped to the road network
    (:func:`netplan.studio.place.place_on_road`); ChangeError outside the county or off the roads."""
    return place_on_road(prep, lon, lat)


def _row_mask(t: pd.DataFrame, site_id: str, tier: Any) -> np.ndarray:
    m = (t["site_id"].astype(str) == site_id).to_numpy().copy()
    if tier is not None:
        m &= (t["tier"] == tier).to_numpy()
    return m


def _entry(e: Any, key: str) -> tuple[str, Any, dict]:
    """(site_id, tier or None, the whole entry) of a change entry: an id, or an object with site_id."""
    if isinstance(e, str):
        return e, None, {}
    if isinstance(e, dict) and isinstance(e.get("site_id"), str):
        tier = e.get("tier")
        if tier is not None and tier not in TIERS:
            raise ChangeError(f"unknown tier {tier!r} in '{key}' (one of {', '.join(TIERS)})")
        return e["site_id"], tier, e
    raise ChangeError(f"each entry of '{key}' is a site id or an object with a 'site_id' string")


def apply_changes(prep: Prepared, table: pd.DataFrame, changes: Any) -> pd.DataFrame:
    """A copy of ``table`` with the change set applied (closed, opened or added, moved sites).

    Raises
    ------
    ChangeError
        A change set that is not an object of lists, an unknown site id, tier or stream, a point
        outside the county.
    """
    if not isinstance(changes, dict):
        raise ChangeError("the body must be a JSON object {\"closed\": [...], \"open\": [...], \"moved\": [...]}")
    unknown = set(changes) - {"closed", "open", "moved"}
    if unknown:
        raise ChangeError(f"unknown key(s) {', '.join(sorted(unknown))} (closed, open, moved)")
    t = pd.DataFrame(table)[COLUMNS].copy().reset_index(drop=True)
    for e in _ids(changes.get("closed"), "closed"):
        sid, tier, _ = _entry(e, "closed")
        m = _row_mask(t, sid, tier)
        if not m.any():
            raise ChangeError(f"unknown site id {sid!r} in 'closed': not in the layout")
        t.loc[m, "status"] = "closed"
    for e in _ids(changes.get("open"), "open"):
        if isinstance(e, dict) and "site_id" not in e and "lon" in e and "lat" in e:
            e = {**e, "site_id": snap(prep, e["lon"], e["lat"])}
        t = _open(prep, t, *_entry(e, "open"))
    for e in _ids(changes.get("moved"), "moved"):
        t = _move(prep, t, e)
    return _clean_parents(t)


def _open(prep: Prepared, t: pd.DataFrame, sid: str, tier: Any, e: dict) -> pd.DataFrame:
    m = _row_mask(t, sid, tier)
    if m.any():
        c = _cand_row(prep, sid)
        t.loc[m, "status"] = "existing" if c["status"] == "existing" else "new"
        return t
    if tier is None:
        raise ChangeError(f"site {sid!r} is not in the layout: adding it needs its 'tier'")
    c = _cand_row(prep, sid)
    streams = e.get("streams") or list(prep.scenario.stream_ids)
    if isinstance(streams, str):
        streams = streams.split(";")
    bad = [s for s in streams if s not in prep.scenario.stream_ids]
    if bad or not isinstance(streams, list):
        raise ChangeError(f"unknown stream(s) {bad} (the scenario's: {', '.join(prep.scenario.stream_ids)})")
    row = {"site_id": sid, "name": str(c.get("name", sid)), "streams": ";".join(streams), "tier": tier,
           "lon": c.geometry.x, "lat": c.geometry.y, "capacity_t": np.nan,
           "status": "existing" if c["status"] == "existing" else "new", "parent_id": None}
    return pd.concat([t, pd.DataFrame([row])], ignore_index=True)


def _move(prep: Prepared, t: pd.DataFrame, e: Any) -> pd.DataFrame:
    sid, tier, e = _entry(e, "moved")
    m = _row_mask(t, sid, tier)
    if not m.any():
        raise ChangeError(f"unknown site id {sid!r} in 'moved': not in the layout")
    if isinstance(e.get("to"), str):
        to = str(_cand_row(prep, e["to"])["site_id"])
    elif "lon" in e and "lat" in e:
        to = snap(prep, e["lon"], e["lat"])
    else:
        raise ChangeError("a move gives 'to' (a candidate site id) or 'lon' and 'lat'")
    if to == sid:
        return t
    c = _cand_row(prep, to)
    clash = _row_mask(t, to, None) & t["tier"].isin(t.loc[m, "tier"]).to_numpy()
    if clash.any():
        raise ChangeError(f"site {to!r} is already in the layout at that tier")
    t.loc[m, ["site_id", "name", "lon", "lat"]] = [to, str(c.get("name", to)), c.geometry.x, c.geometry.y]
    t.loc[m, "status"] = np.where(t.loc[m, "status"] == "closed", "closed",
                                  "existing" if c["status"] == "existing" else "new")
    t["parent_id"] = t["parent_id"].map(lambda p: _rename_parent(p, sid, to))
    return t


def _rename_parent(cell: Any, old: str, new: str) -> Any:
    if not isinstance(cell, str):
        return cell
    parts = [p.split("=", 1) if "=" in p else [None, p] for p in cell.split(";")]
    return ";".join(f"{k}={new if v == old else v}" if k else (new if v == old else v) for k, v in parts)


def _clean_parents(t: pd.DataFrame) -> pd.DataFrame:
    """Drop parent links to sites that are no longer an open next-tier site of that stream (the
    evaluation then sends to the nearest one, and ``netplan evaluate`` reads the table)."""
    open_ = t[t["status"] != "closed"]
    ok = {(r.site_id, s, r.tier) for r in open_.itertuples() for s in str(r.streams).split(";")}
    cells = []
    for r in t.itertuples():
        if not isinstance(r.parent_id, str) or r.tier == TIERS[-1]:
            cells.append(None)
            continue
        up = TIERS[TIERS.index(r.tier) + 1]
        streams = str(r.streams).split(";")
        par = {s: parent_of(r.parent_id, s) for s in streams}
        par = {s: p for s, p in par.items() if p is not None and (p, s, up) in ok}
        if not par:
            cells.append(None)
        elif len(set(par.values())) == 1 and len(par) == len(streams):
            cells.append(next(iter(par.values())))
        else:
            cells.append(";".join(f"{s}={p}" for s, p in sorted(par.items())))
    t["parent_id"] = cells
    return t


# ---------------------------------------------------------------------------------- evaluation
@dataclass
class Scored:
    """One evaluation: the layout, the evaluation (netplan.evaluate.Evaluation) and its time."""

    table: pd.DataFrame
    layout: Layout
    evaluation: Any
    elapsed_s: float


def score(prep: Prepared, table: pd.DataFrame) -> Scored:
    """Evaluate a layout table on the prepared matrices (the ``netplan evaluate`` definitions)."""
    import time

    from netplan.evaluate import evaluate

    t0 = time.perf_counter()
    g = prep.geo  # one snapshot for the whole evaluation (a concurrent placement appends a new one)
    layout = layout_from_table(table, prep.scenario, prep.supply.demands, g.cands,
                               g.mats.dem_site_m, g.mats.site_site_m, source="studio")
    ev = evaluate(prep.scenario, prep.county, prep.supply, layout, g.site_frame, detail=False)
    return Scored(table=table, layout=layout, evaluation=ev, elapsed_s=time.perf_counter() - t0)


def json_value(v: Any) -> Any:
    """A table cell as JSON: numpy scalars as Python numbers, NaN and inf as None."""
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (float, np.floating)):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    return v


def kpi_rows(ev: Any) -> list[dict]:
    """The panel's KPI rows: every row with a target, then the headline figures per stream and county."""
    k = ev.kpis
    keep = k["target"].notna() | k["indicator"].isin(PANEL_EXTRA + ("targets_met", "targets_missed"))
    out = []
    for r in k[keep].to_dict("records"):
        row = {c: json_value(r[c]) for c in k.columns}
        row["met"] = None if row["target"] is None else bool(row["met"])
        out.append(row)
    return out


def coverage(prep: Prepared, ev: Any) -> dict[str, list[int]]:
    """Per stream, 1/0 per demand (order of :func:`demands`) covered or not; -1 = no supply."""
    ids = prep.supply.demands["demand_id"].astype(str).to_numpy()
    out = {}
    for sid, g in ev.coverage.groupby("stream", sort=False):
        cov = dict(zip(g["demand_id"].astype(str), g["covered"].astype(bool), strict=True))
        out[str(sid)] = [(1 if cov[i] else 0) if i in cov else -1 for i in ids]
    return out


def catchments(prep: Prepared, ev: Any) -> dict[str, list[str | None]]:
    """Per stream, the village point each demand is assigned to (order of :func:`coverage`); None
    where it is not served (the map's catchment lines)."""
    ids = prep.supply.demands["demand_id"].astype(str).to_numpy()
    out = {}
    for sid, g in ev.coverage.groupby("stream", sort=False):
        pt = dict(zip(g["demand_id"].astype(str), g["point_id"], strict=True))
        out[str(sid)] = [str(pt[i]) if isinstance(pt.get(i), str) else None for i in ids]
    return out


def site_loads(ev: Any) -> dict[str, dict[str, float]]:
    """Per site id: load (t/yr, summed over streams and tiers) and capacity (t/yr, summed)."""
    s = ev.site_loads
    if len(s) == 0:
        return {}
    g = s.groupby("site_id")[["load_t", "capacity_t"]].sum()
    return {str(i): {"load": round(float(r.load_t), 3), "capacity": round(float(r.capacity_t), 3)}
            for i, r in g.iterrows()}
