"""Layouts as files: a table of sites a planner writes by hand (or a county proposes), read, checked,
written back, and turned into a :class:`~netplan.layout.Layout` the evaluation scores with the same
code as an optimised plan.

Layout table columns (CSV UTF-8 or XLSX, English or Chinese headers):

==============  ========  ==========================================================================
site_id         站点编号    site id, unique per tier (a site open at two tiers, e.g. a township
                          seat that is station and county centre, has one row per tier, same
                          lon/lat); an id of the county's candidates (``V<village_id>``,
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
from netplan.inputs.numbers import field_range, read_cell
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
              "datum": "坐标系", "open_year": "建设年份"}
#: optional column of a phased layout (issue 21): the year a site opens (blank = from the start)
OPEN_YEAR = "open_year"
STATUSES = ("existing", "new", "closed")
REQUIRED = ("site_id", "streams", "tier", "lon", "lat", "status")


def _read_table(path: Path) -> pd.DataFrame:
    if path.is_dir():
        msg = "a folder, not a file (give the layout table's .csv or .xlsx)"
        raise InputError(msg, file=str(path))
    if path.is_symlink() and not path.exists():
        raise InputError("a broken symbolic link or a link loop", file=str(path))
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            return pd.read_excel(path, dtype=str)
        return pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False,
                           na_values=[""])
    except FileNotFoundError:
        msg = "layout file not found"
        raise InputError(msg, file=str(path)) from None
    except pd.errors.EmptyDataError:
        raise InputError("the layout table is empty", file=str(path)) from None
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, OSError) as exc:
        msg = f"cannot read the layout table: {str(exc).splitlines()[0] if str(exc) else exc!r}"
        raise InputError(msg, file=str(path)) from None
    except Exception as exc:  # openpyxl's own classes for a damaged workbook
        msg = f"cannot read the layout table ({type(exc).__name__})"
        raise InputError(msg, file=str(path)) from None


def _text(v: object) -> str:
    """A cell as stripped text ("" when blank), without the ``'`` that CSV outputs put before a
    cell starting with = + - @ (netplan.export.escape_cell), so written layouts read back."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    s = str(v).strip()
    return s[1:] if s.startswith("'") and s[1:2] in ("=", "+", "-", "@") else s


def _degrees(v: object, lo: float, hi: float) -> float | None:
    """A lon/lat cell (the one numeric reader); None when not a number within [lo, hi]."""
    c = read_cell(_text(v))
    return c.value if c.value is not None and lo <= c.value <= hi else None


def read_layout(path: str | Path, *, streams: tuple[str, ...] | None = None) -> gpd.GeoDataFrame:
    """Read and check a layout table; one row per site and tier, geometry in EPSG:4326.

    Parameters
    ----------
    streams
        Known stream ids (default: data/streams.toml); ``*`` in the streams column expands to them.

    Raises
    ------
    InputError
        Listing every bad cell with its row (1 = first data row) and column: empty ids, an id
        twice at one tier, one site's rows at two points or both existing and new, unknown streams/tiers/statuses/datums, coordinates and capacities that are not
        plausible numbers, a ``parent_id`` naming no open next-tier site of that stream, no rows.
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
    if len(raw) == 0:
        raise InputError("the layout table has no rows (only a header)", file=str(p))
    rows = []
    for i, r in enumerate(raw.to_dict("records"), start=1):
        def bad(field: str, what: str, i: int = i) -> None:
            probs.append(Problem(str(p), i, field, what))

        row = _layout_row(r, known, bad)
        if not row["site_id"]:
            bad("site_id", "empty")
        rows.append(row)
    _check_duplicates(rows, str(p), probs)
    _check_parents(rows, str(p), probs)
    years = _open_years(raw, str(p), probs) if OPEN_YEAR in raw.columns else None
    if probs:
        raise InputError(problems=probs)
    df = pd.DataFrame(rows, columns=COLUMNS)
    if years is not None:
        df[OPEN_YEAR] = years
    out = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")
    out.attrs["file"] = str(p)
    return out


def _open_years(raw: pd.DataFrame, file: str, probs: list[Problem]) -> list[float]:
    """The ``open_year`` cells: a year 1990-2100, or blank (NaN: open from the first year)."""
    out = []
    for i, v in enumerate(raw[OPEN_YEAR].tolist(), start=1):
        text = _text(v)
        c = read_cell(text).value if text else None
        if not text:
            out.append(np.nan)
        elif c is None or not float(c).is_integer() or not 1990 <= c <= 2100:
            probs.append(Problem(file, i, OPEN_YEAR, f"expected a year (1990-2100) or blank, got "
                                 f"{text!r}"))
            out.append(np.nan)
        else:
            out.append(float(c))
    return out


def _layout_row(r: dict, known: tuple[str, ...], bad) -> dict:
    """One layout row checked cell by cell (problems through ``bad(field, message)``)."""
    sid = _text(r.get("site_id"))
    st_raw = _text(r.get("streams"))
    sts = known if st_raw == "*" else tuple(s.strip() for s in st_raw.split(";") if s.strip())
    unknown = [s for s in sts if s not in known]
    if not sts or unknown:
        bad("streams", f"unknown stream(s) {', '.join(unknown) or '(empty)'}; known: {', '.join(known)}")
    tier = _text(r.get("tier"))
    if tier not in TIERS:
        bad("tier", f"{tier!r} is not one of {', '.join(TIERS)}")
    status = _text(r.get("status"))
    if status not in STATUSES:
        bad("status", f"{status!r} is not one of {', '.join(STATUSES)}")
    lon, lat = _degrees(r.get("lon"), -180, 180), _degrees(r.get("lat"), -90, 90)
    if lon is None:
        bad("lon", f"expected degrees of longitude, got {_text(r.get('lon'))!r}")
    if lat is None:
        bad("lat", f"expected degrees of latitude, got {_text(r.get('lat'))!r}")
    capv = _capacity_cell(_text(r.get("capacity_t")), sts)
    if capv is None:
        rng = field_range("sites", "capacity_t")
        bad("capacity_t", f"expected t/yr in [0, {rng.hi:,.0f}], or stream=t/yr;… for the site's "
            f"streams, got {_text(r.get('capacity_t'))!r}")
    datum = (_text(r.get("datum")) or "wgs84").lower()
    if datum not in ("wgs84", "gcj02", "bd09"):
        bad("datum", f"{datum!r} is not wgs84, gcj02 or bd09")
    elif datum != "wgs84" and lon is not None and lat is not None:
        f = gcj02_to_wgs84 if datum == "gcj02" else bd09_to_wgs84
        x, y = f(lon, lat)
        lon, lat = float(np.asarray(x)), float(np.asarray(y))
    return {"site_id": sid, "name": _text(r.get("name")) or sid, "streams": ";".join(sts),
            "tier": tier, "lon": lon if lon is not None else np.nan,
            "lat": lat if lat is not None else np.nan, "capacity_t": capv, "status": status,
            "parent_id": _text(r.get("parent_id")) or None}


#: rows of one site at two tiers must give the same point (degrees; 1e-5 ≈ 1 m)
_SAME_POINT_DEG = 1e-5


def _check_duplicates(rows: list[dict], file: str, probs: list[Problem]) -> None:
    """A row is one site at one tier: the same ``site_id`` may come back at another tier (a township
    seat that is both a station and the county centre), never twice at the same tier; the rows of
    one site must agree on its point and on existing / new (``closed`` at one tier is allowed)."""
    first: dict[str, int] = {}
    at_tier: dict[tuple[str, str], int] = {}
    for i, r in enumerate(rows, start=1):
        sid = r["site_id"]
        if not sid:
            continue
        if (sid, r["tier"]) in at_tier:
            probs.append(Problem(file, i, "site_id", f"duplicate id {sid!r} at tier {r['tier']} "
                                 f"(first at row {at_tier[(sid, r['tier'])]}); one row per site "
                                 "and tier, with its streams ;-joined"))
            continue
        at_tier[(sid, r["tier"])] = i
        if sid not in first:
            first[sid] = i
            continue
        f = rows[first[sid] - 1]
        if any(abs(r[k] - f[k]) > _SAME_POINT_DEG for k in ("lon", "lat")
               if np.isfinite(r[k]) and np.isfinite(f[k])):
            probs.append(Problem(file, i, "lon", f"site {sid!r} is placed at another point than in "
                                 f"row {first[sid]} ({f['lon']:g}, {f['lat']:g})"))
        sts = {r["status"], f["status"]}
        if sts == {"existing", "new"}:
            probs.append(Problem(file, i, "status", f"site {sid!r} is {r['status']} here but "
                                 f"{f['status']} in row {first[sid]}"))


def _check_parents(rows: list[dict], file: str, probs: list[Problem]) -> None:
    """Each ``parent_id`` (or ``stream=id`` entry) must name a site of the table at the next tier
    that is not closed and carries that stream; it is never replaced by another site."""
    by_key = {(r["site_id"], r["tier"]): r for r in rows if r["site_id"]}
    tiers_of: dict[str, list[str]] = {}
    for r in rows:
        tiers_of.setdefault(r["site_id"], []).append(r["tier"])
    for i, r in enumerate(rows, start=1):
        cell = r["parent_id"]
        if not cell or r["tier"] not in TIERS:
            continue
        ti = TIERS.index(r["tier"])
        if ti == len(TIERS) - 1:
            probs.append(Problem(file, i, "parent_id", f"a {r['tier']} has no next tier to send "
                                 "to; leave parent_id empty"))
            continue
        up = TIERS[ti + 1]
        pairs = ([p.split("=", 1) for p in cell.split(";")] if "=" in cell
                 else [[s, cell] for s in r["streams"].split(";")])
        for pair in pairs:
            stream, pid = (pair[0].strip(), pair[1].strip()) if len(pair) == 2 else ("", "")
            if stream not in r["streams"].split(";") or not pid:
                probs.append(Problem(file, i, "parent_id", f"expected a site id, or stream=id;… "
                                     f"for the site's streams, got {cell!r}"))
                break
            par = by_key.get((pid, up))
            why = ("no site of the table has this id" if par is None and pid not in tiers_of
                   else f"it is a {'/'.join(tiers_of[pid])}, not a {up}" if par is None
                   else "it is closed" if par["status"] == "closed"
                   else f"it does not take {stream}" if stream not in par["streams"].split(";")
                   else "")
            if why:
                probs.append(Problem(file, i, "parent_id", f"unknown parent {pid!r} for {stream}: "
                                     f"{why} (a parent must be an open {up} of the table)"))


def _capacity_cell(cell: str, streams: tuple[str, ...]) -> float | str | None:
    """A capacity cell: NaN (empty), a number (t/yr), or a normalised ``stream=t;…`` string; None
    if bad (not a number, negative, infinite or beyond the plausible range of a site's capacity)."""
    if cell == "":
        return np.nan
    hi = field_range("sites", "capacity_t").hi

    def num(text: str) -> float | None:
        v = read_cell(text).value
        return v if v is not None and 0 <= v <= hi else None

    if "=" not in cell:
        return num(cell)
    out = []
    for part in cell.split(";"):
        k, _, v = part.partition("=")
        x = num(v.strip())
        if k.strip() not in streams or x is None:
            return None
        out.append(f"{k.strip()}={x:g}")
    return ";".join(out)


def write_layout(table: pd.DataFrame, path: str | Path, *, chinese: bool = False) -> Path:
    """Write a layout table to CSV (UTF-8 with BOM) or XLSX, atomically; Chinese headers on request."""
    from netplan.export import write_csv

    p = Path(path)
    df = pd.DataFrame(table)[COLUMNS + ([OPEN_YEAR] if OPEN_YEAR in table.columns else [])].copy()
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
                     "parent_id": _parents_cell(g),
                     **({OPEN_YEAR: int(g[OPEN_YEAR].min())} if OPEN_YEAR in g.columns else {})})
    df = pd.DataFrame(rows, columns=COLUMNS + ([OPEN_YEAR] if OPEN_YEAR in layout.sites.columns
                                               else []))
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


