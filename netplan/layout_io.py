"""Layouts as files: a table of sites a planner writes by hand (or a county proposes), read, checked,
written back, and turned into a :class:`~netplan.layout.Layout` the evaluation scores with the same
code as an optimised plan.

Layout table columns (CSV UTF-8 or XLSX, English or Chinese headers):

==============  ========  ==========================================================================
site_id         站点编号    unique id; an id of the county's candidates (``V<village_id>``,
                          ``T<township_code>``, an existing site's id) reuses that site
streams         品类        ``;``-joined stream ids (``film;pesticide_packaging``) or ``*`` for all
tier            层级        village_point / township_station / county_center
lon, lat        经度, 纬度   WGS-84 degrees (``datum`` column ``gcj02`` / ``bd09`` converts)
capacity_t      处理能力_t   t/yr; empty = the scenario's capacity for the tier; ``film=50;
                          pesticide_packaging=20`` when the streams of one site differ
status          状态        existing / new / closed (closed sites are dropped, or forbidden with --fix)
name            名称        optional
parent_id       上级站点     optional: the next-tier site it sends to (default: nearest open one);
                          ``film=T1;straw=T2`` when the site's streams send to different sites
==============  ========  ==========================================================================
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from netplan.coords import bd09_to_wgs84, gcj02_to_wgs84
from netplan.errors import InputError, Problem
from netplan.layout import Layout
from netplan.model import TIERS, County
from netplan.scenario import Scenario

# turning a layout table into the model's terms is the siting adapter's; these names stay
# importable from here for callers written before the move
from netplan.siting_adapter import (  # noqa: E402, F401
    capacity_of,
    fix_masks,
    layout_from_table,
    merge_candidates,
    parent_of,
)

COLUMNS = ["site_id", "name", "streams", "tier", "lon", "lat", "capacity_t", "status", "parent_id"]
HEADERS_ZH = {"site_id": "站点编号", "name": "名称", "streams": "品类", "tier": "层级", "lon": "经度",
              "lat": "纬度", "capacity_t": "处理能力_t", "status": "状态", "parent_id": "上级站点",
              "datum": "坐标系"}
STATUSES = ("existing", "new", "closed")
REQUIRED = ("site_id", "streams", "tier", "lon", "lat", "status")


def _read_table(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            return pd.read_excel(path, dtype=str)
        return pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False,
                           na_values=[""])
    except FileNotFoundError as exc:
        msg = "layout file not found"
        raise InputError(msg, file=str(path)) from exc
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        msg = f"cannot read the layout table: {exc}"
        raise InputError(msg, file=str(path)) from exc


def read_layout(path: str | Path, *, streams: tuple[str, ...] | None = None) -> gpd.GeoDataFrame:
    """Read and check a layout table; one row per site, geometry in EPSG:4326.

    Parameters
    ----------
    streams
        Known stream ids (default: data/streams.toml); ``*`` in the streams column expands to them.

    Raises
    ------
    InputError
        Listing every bad cell with its row (1 = first data row) and column.
    """
    from netplan.streams import load_streams

    p = Path(path)
    raw = _read_table(p)
    back = {v: k for k, v in HEADERS_ZH.items()}
    raw = raw.rename(columns=lambda c: back.get(str(c).strip(), str(c).strip()))
    known = tuple(streams) if streams is not None else tuple(load_streams())
    probs: list[Problem] = []
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        msg = f"missing column(s) {', '.join(missing)} (expected {', '.join(COLUMNS)})"
        raise InputError(msg, file=str(p))
    rows = []
    seen: set[str] = set()
    for i, r in enumerate(raw.to_dict("records"), start=1):
        def bad(field: str, what: str, i: int = i) -> None:
            probs.append(Problem(str(p), i, field, what))

        sid = str(r.get("site_id") or "").strip()
        if not sid:
            bad("site_id", "empty")
        elif sid in seen:
            bad("site_id", f"duplicate id {sid!r}")
        seen.add(sid)
        st_raw = str(r.get("streams") or "").strip()
        sts = known if st_raw == "*" else tuple(s.strip() for s in st_raw.split(";") if s.strip())
        unknown = [s for s in sts if s not in known]
        if not sts or unknown:
            bad("streams", f"unknown stream(s) {', '.join(unknown) or '(empty)'}; known: {', '.join(known)}")
        tier = str(r.get("tier") or "").strip()
        if tier not in TIERS:
            bad("tier", f"{tier!r} is not one of {', '.join(TIERS)}")
        status = str(r.get("status") or "").strip()
        if status not in STATUSES:
            bad("status", f"{status!r} is not one of {', '.join(STATUSES)}")
        lon = pd.to_numeric(r.get("lon"), errors="coerce")
        lat = pd.to_numeric(r.get("lat"), errors="coerce")
        if not (np.isfinite(lon) and -180 <= lon <= 180):
            bad("lon", f"expected degrees of longitude, got {r.get('lon')!r}")
        if not (np.isfinite(lat) and -90 <= lat <= 90):
            bad("lat", f"expected degrees of latitude, got {r.get('lat')!r}")
        capv = _capacity_cell(r.get("capacity_t"), sts)
        if capv is None:
            bad("capacity_t", "expected t/yr >= 0, or stream=t/yr;… for the site's streams, got "
                f"{r.get('capacity_t')!r}")
        datum = str(r.get("datum") or "wgs84").strip().lower()
        if datum not in ("wgs84", "gcj02", "bd09"):
            bad("datum", f"{datum!r} is not wgs84, gcj02 or bd09")
        elif datum != "wgs84" and np.isfinite(lon) and np.isfinite(lat):
            f = gcj02_to_wgs84 if datum == "gcj02" else bd09_to_wgs84
            x, y = f(lon, lat)
            lon, lat = float(np.asarray(x)), float(np.asarray(y))
        par = r.get("parent_id")
        rows.append({"site_id": sid, "name": str(r.get("name") or sid), "streams": ";".join(sts),
                     "tier": tier, "lon": lon, "lat": lat, "capacity_t": capv, "status": status,
                     "parent_id": str(par).strip() if isinstance(par, str) and par.strip() else None})
    if probs:
        raise InputError(problems=probs)
    df = pd.DataFrame(rows, columns=COLUMNS)
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")


def _capacity_cell(cell: object, streams: tuple[str, ...]) -> float | str | None:
    """A capacity cell: NaN (empty), a number (t/yr), or a normalised ``stream=t;…`` string; None if bad."""
    if cell is None or (isinstance(cell, float) and np.isnan(cell)) or str(cell).strip() == "":
        return np.nan
    text = str(cell).strip()
    if "=" not in text:
        v = pd.to_numeric(text, errors="coerce")
        return float(v) if np.isfinite(v) and v >= 0 else None
    out = []
    for part in text.split(";"):
        k, _, v = part.partition("=")
        num = pd.to_numeric(v.strip(), errors="coerce")
        if k.strip() not in streams or not (np.isfinite(num) and num >= 0):
            return None
        out.append(f"{k.strip()}={float(num):g}")
    return ";".join(out)


def write_layout(table: pd.DataFrame, path: str | Path, *, chinese: bool = False) -> Path:
    """Write a layout table to CSV (UTF-8 with BOM) or XLSX, atomically; Chinese headers on request."""
    from netplan.export import write_csv

    p = Path(path)
    df = pd.DataFrame(table)[COLUMNS].copy()
    df["lon"] = df["lon"].astype(float).round(6)
    df["lat"] = df["lat"].astype(float).round(6)
    if chinese:
        df = df.rename(columns=HEADERS_ZH)
    tmp = p.with_name(f".{p.name}.tmp")
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.suffix.lower() == ".xlsx":
        df.to_excel(tmp, index=False, engine="openpyxl")
    else:
        write_csv(tmp, df)
    tmp.replace(p)
    return p


def _parents_cell(g: pd.DataFrame) -> str | None:
    par = g.dropna(subset=["parent_id"])
    if len(par) == 0:
        return None
    if par["parent_id"].nunique() == 1 and len(par) == len(g):
        return str(par["parent_id"].iloc[0])
    return ";".join(f"{r.stream}={r.parent_id}" for r in par.sort_values("stream").itertuples())


def layout_to_table(layout: Layout, cands: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A Layout (e.g. an optimised plan) as a layout table, one row per physical site and tier."""
    c = cands.set_index("site_id")
    rows = []
    for (site_id, tier), g in layout.sites.groupby(["site_id", "tier"], sort=True):
        pt = c.geometry[site_id]
        rows.append({"site_id": site_id, "name": str(c.at[site_id, "name"]),
                     "streams": ";".join(sorted(g["stream"])), "tier": tier, "lon": pt.x, "lat": pt.y,
                     "capacity_t": (float(g["capacity_t"].iloc[0]) if g["capacity_t"].nunique() == 1
                                    else ";".join(f"{r.stream}={float(r.capacity_t):g}"
                                                  for r in g.sort_values("stream").itertuples())),
                     "status": g["status"].iloc[0],
                     "parent_id": _parents_cell(g)})
    df = pd.DataFrame(rows, columns=COLUMNS)
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")


def proposed_layout(county: County, scenario: Scenario) -> gpd.GeoDataFrame:
    """The layout a county typically proposes: a village point in every village that has a supply
    co-op outlet (供销社网点) — at the outlet where the stream's tier-1 candidates include
    ``coop_outlet``, else at the village centre — a station at every township seat for every stream,
    and every existing county-level facility the scenario allows as a centre.

    Deterministic: same county and scenario → same table (rows sorted by tier, then id).
    """
    from netplan.candidates import build_candidates, candidate_mask

    cands = build_candidates(county)
    streams = scenario.stream_ids
    outlets = cands[cands["kind"] == "coop_outlet"]
    v = county.villages.set_index(county.villages["village_id"].astype(str))
    rows: dict[tuple[str, str], dict] = {}

    def add(site_id: str, tier: str, stream: str, geom, name: str, status: str) -> None:
        key = (site_id, tier)
        if key not in rows:
            rows[key] = {"site_id": site_id, "name": name, "streams": [], "tier": tier,
                         "lon": geom.x, "lat": geom.y, "capacity_t": np.nan, "status": status,
                         "parent_id": None}
        if stream not in rows[key]["streams"]:
            rows[key]["streams"].append(stream)

    # villages with an outlet: the outlet's village_id if the sites table has it, else the nearest village
    if len(outlets):
        vm = v.to_crs(county.metric_crs)
        om = outlets.to_crs(county.metric_crs)
        near = gpd.sjoin_nearest(om[["site_id", "geometry"]], vm[["geometry"]].reset_index(names="vid"),
                                 how="left")
        near = near[~near.index.duplicated()]
        outlet_village = dict(zip(near["site_id"], near["vid"], strict=True))
    else:
        outlet_village = {}
    for sid in streams:
        sp = scenario.streams[sid]
        at_outlet = "coop_outlet" in sp.tiers["village_point"].candidates
        for o in outlets.itertuples(index=False):
            vid = outlet_village[o.site_id]
            if at_outlet:
                add(o.site_id, "village_point", sid, o.geometry, o.name, o.status)
            else:
                add(f"V{vid}", "village_point", sid, v.geometry[vid], str(v.at[vid, "name"]), "new")
        seats = cands[cands["kind"] == "township_seat"]
        for s in seats.itertuples(index=False):
            add(s.site_id, "township_station", sid, s.geometry, s.name, "new")
        ok = candidate_mask(cands, sid, "county_center", sp.tiers["county_center"])
        for c in cands[ok & (cands["status"] == "existing").to_numpy()].itertuples(index=False):
            add(c.site_id, "county_center", sid, c.geometry, c.name, "existing")
    out = pd.DataFrame(list(rows.values()), columns=COLUMNS)
    out["streams"] = out["streams"].map(lambda xs: ";".join(s for s in streams if s in xs))
    out["_t"] = out["tier"].map(TIERS.index)
    out = out.sort_values(["_t", "site_id"]).drop(columns="_t").reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(out["lon"], out["lat"]), crs="EPSG:4326")


