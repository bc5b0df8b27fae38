"""Read a county folder (county.toml + boundary, townships, villages, farms, sites, roads) into a
:class:`~netplan.model.County` in WGS-84, collecting every problem on the way."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from netplan.errors import InputError, Problem
from netplan.inputs import checks, geom, size
from netplan.inputs.columns import area_factor, column_table, map_columns, tidy_table
from netplan.inputs.crs import WGS84, CrsSpec, metric_crs_for, parse_crs, strict_crs
from netplan.inputs.tables import GEO_SUFFIXES, SUFFIXES, read_table
from netplan.model import County

FILE_KEYS = ("boundary", "townships", "villages", "farms", "sites", "roads")
REQUIRED = ("boundary", "townships", "villages")
DEFAULT_FILES = {"boundary": "boundary.geojson", "townships": "townships.geojson",
                 "villages": "villages.csv", "farms": "farms.csv", "sites": "sites.csv",
                 "roads": "roads.osm"}
ROAD_SUFFIXES = (".osm", ".pbf", ".osm.pbf", ".gpkg", ".graphml", ".shp", ".bz2", ".gz")
LIVESTOCK = ("pigs", "cattle", "sheep", "poultry")
TERRAINS = ("plain", "hilly")
_FILE_OPTS = {"path", "file", "crs", "encoding", "columns", "area_unit", "sheet", "layer"}


@dataclass
class FileSpec:
    """How to read one file of the folder (from county.toml's ``[files]``)."""

    key: str
    path: Path | None
    crs: CrsSpec | None = None
    crs_explicit: bool = False
    encoding: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    area_unit: str | None = None
    sheet: str | int | None = None
    layer: str | None = None
    rows: list[int] | None = None  # file row of each table row, when summary rows were dropped

    @property
    def name(self) -> str:
        """File name for reports."""
        return self.path.name if self.path is not None else f"{self.key} file"


def _find(folder: Path, key: str) -> Path | None:
    """``<key>.<any supported suffix>`` in ``folder`` when county.toml names no file."""
    default = folder / DEFAULT_FILES[key]
    if default.exists():
        return default
    suffixes = ROAD_SUFFIXES if key == "roads" else SUFFIXES
    for suf in suffixes:
        p = folder / f"{key}{suf}"
        if p.exists():
            return p
    return None


def read_meta(folder: Path, problems: list[Problem], columns: Mapping[str, Any] | None
              ) -> tuple[dict[str, Any], dict[str, FileSpec]]:
    """county.toml's top-level keys and one :class:`FileSpec` per file key."""
    meta: dict[str, Any] = {}
    toml = folder / "county.toml"
    if toml.exists():
        try:
            with open(toml, "rb") as fh:
                meta = tomllib.load(fh)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            problems.append(Problem("county.toml", None, None, f"not valid TOML: {exc}"))
    else:
        problems.append(Problem("county.toml", None, None, "no county.toml; the county is named after "
                                "its folder and files are found by name", "note"))
    default_crs = None
    if "crs" in meta:
        try:
            default_crs = parse_crs(meta["crs"])
        except ValueError as exc:
            problems.append(Problem("county.toml", None, "crs", str(exc)))
    raw_files = meta.get("files", {})
    if not isinstance(raw_files, dict):
        problems.append(Problem("county.toml", None, "files", "[files] must be a table"))
        raw_files = {}
    for k in raw_files:
        if k not in FILE_KEYS:
            problems.append(Problem("county.toml", None, f"files.{k}", "unknown file key (known: "
                                    f"{', '.join(FILE_KEYS)})"))
    specs: dict[str, FileSpec] = {}
    for key in FILE_KEYS:
        raw = raw_files.get(key)
        opts: dict[str, Any] = {}
        if isinstance(raw, dict):
            opts = raw
            for k in raw:
                if k not in _FILE_OPTS:
                    problems.append(Problem("county.toml", None, f"files.{key}.{k}",
                                            f"unknown option (known: {', '.join(sorted(_FILE_OPTS))})"))
            raw = raw.get("path", raw.get("file"))
        if raw is not None and not isinstance(raw, str):
            problems.append(Problem("county.toml", None, f"files.{key}", "expected a file name"))
            raw = None
        path = (folder / raw) if raw else _find(folder, key)
        spec = FileSpec(key, path, crs=default_crs)
        if "crs" in opts:
            try:
                spec.crs = parse_crs(opts["crs"])
                spec.crs_explicit = True
            except ValueError as exc:
                problems.append(Problem("county.toml", None, f"files.{key}.crs", str(exc)))
        spec.encoding = opts.get("encoding")
        if spec.encoding is not None:
            try:
                "".encode(str(spec.encoding).lower().replace("gbk", "gb18030"))
            except LookupError:
                problems.append(Problem("county.toml", None, f"files.{key}.encoding",
                                        f"unknown encoding '{spec.encoding}' (use utf-8 or gbk)"))
                spec.encoding = None
        cols = dict(opts.get("columns", {}) or {})
        if columns and isinstance(columns.get(key), Mapping):
            cols.update(columns[key])
        spec.columns = {str(k): str(v) for k, v in cols.items()}
        unit = opts.get("area_unit")
        if unit is not None and str(unit).lower() not in ("mu", "ha", "亩", "公顷"):
            problems.append(Problem("county.toml", None, f"files.{key}.area_unit",
                                    f"unknown area unit '{unit}' (use mu or ha)"))
        elif unit is not None:
            spec.area_unit = {"亩": "mu", "公顷": "ha"}.get(str(unit), str(unit).lower())
        spec.sheet, spec.layer = opts.get("sheet"), opts.get("layer")
        specs[key] = spec
    return meta, specs


def _read(spec: FileSpec, problems: list[Problem], *, optional: bool) -> pd.DataFrame | None:
    if spec.path is not None and spec.path.is_symlink() and not spec.path.exists():
        problems.append(Problem(spec.name, None, None, "a broken symbolic link or a link loop: "
                                "point it at the file"))
        return None
    if spec.path is None or not spec.path.exists():
        if optional:
            problems.append(Problem(spec.name, None, None, f"no {spec.key} file; "
                                    f"using an empty {spec.key} table", "note"))
        else:
            where = f" ({spec.path.name})" if spec.path is not None else ""
            problems.append(Problem(spec.name, None, None, f"required {spec.key} file not found{where}"))
        return None
    try:
        df, note = read_table(spec.path, encoding=spec.encoding, sheet=spec.sheet, layer=spec.layer)
    except InputError as exc:
        problems.extend(exc.problems)
        return None
    if note:
        problems.append(Problem(spec.name, None, None, f"read with {note}", "note"))
    if not isinstance(df, gpd.GeoDataFrame) and spec.key != "roads":
        df = tidy_table(df, spec.key, spec.name, problems)
        spec.rows = df.attrs.get("rows")
    if len(df) == 0 and spec.key != "boundary":
        if optional:
            problems.append(Problem(spec.name, None, None, f"no data rows; using an empty "
                                    f"{spec.key} table", "warning"))
        else:
            problems.append(Problem(spec.name, None, None, "no data rows (only a header, or "
                                    "nothing): the table must list the " + spec.key))
        return None
    return df


def _renumber(problems: list[Problem], start: int, spec: FileSpec) -> None:
    """Rows of the problems found since ``start`` in ``spec``'s file, back to the file's numbering
    (after summary rows were dropped)."""
    if not spec.rows:
        return
    for k in range(start, len(problems)):
        p = problems[k]
        if p.file == spec.name and p.row is not None and 0 < p.row <= len(spec.rows) and \
                p.message != "summary row (合计/总计) skipped":
            problems[k] = replace(p, row=spec.rows[p.row - 1])


def _layer_crs(spec: FileSpec, gdf: gpd.GeoDataFrame) -> CrsSpec | None:
    """The CRS to impose on a layer: the file's own declaration always; the county-wide default
    only where the layer has no projected CRS of its own (GeoJSON always says WGS-84, even when
    its coordinates were digitised on Gaode maps)."""
    if spec.crs is None or spec.crs_explicit:
        return spec.crs
    own = gdf.crs
    if own is not None and not own.is_geographic:
        return None
    return spec.crs


def _metric(meta: Mapping[str, Any], boundary: shapely.Geometry | None, problems: list[Problem]) -> str:
    raw = meta.get("metric_crs")
    if raw is not None:
        try:
            crs = strict_crs(str(raw))
            if crs.is_projected:
                epsg = crs.to_epsg()
                return f"EPSG:{epsg}" if epsg else crs.to_wkt()
            problems.append(Problem("county.toml", None, "metric_crs",
                                    f"'{raw}' is not a projected CRS (use e.g. EPSG:4547)"))
        except ValueError as exc:
            problems.append(Problem("county.toml", None, "metric_crs", str(exc)))
    if boundary is not None and not boundary.is_empty:
        c = boundary.centroid
        return metric_crs_for(c.x, c.y)
    return "EPSG:4547"


def _geo_or_points(df: pd.DataFrame, spec: FileSpec, problems: list[Problem], metric: str | None,
                   *, required: bool = True) -> tuple[pd.DataFrame, list]:
    """Canonical-column frame and one WGS-84 point per row, from a table or a point layer."""
    if isinstance(df, gpd.GeoDataFrame) and spec.path is not None and \
            spec.path.suffix.lower() in GEO_SUFFIXES:
        layer = geom.layer_to_wgs84(df, spec.name, _layer_crs(spec, df), problems, metric_crs=metric)
        pts = geom.layer_points(layer, spec.name, problems)
        mapped = map_columns(pd.DataFrame(layer.drop(columns="geometry")), spec.key, spec.name,
                             override=spec.columns)
        problems.extend(mapped.problems)
        return mapped.frame, pts
    mapped = map_columns(df, spec.key, spec.name, override=spec.columns)
    problems.extend(mapped.problems)
    pts, _ = geom.table_points(mapped.frame, spec.name, spec.crs, problems, metric_crs=metric,
                               required=required)
    return mapped.frame, pts


def _area_factors(df: pd.DataFrame, spec: FileSpec) -> dict[str, float]:
    """Multiplier to mu per canonical area column, from its header's unit or the file's area_unit."""
    mapped = map_columns(df.iloc[:0], spec.key, spec.name, override=spec.columns)
    return {c: area_factor(u, spec.area_unit) for c, u in mapped.units.items()}


def load(folder: str | Path, *, columns: Mapping[str, Any] | None = None
         ) -> tuple[County | None, list[Problem]]:
    """Read and check a county folder; the County (None when the boundary or villages are unusable)
    and every problem found (errors, warnings, notes)."""
    root = Path(folder)
    problems: list[Problem] = []
    if not root.is_dir():
        what = ("is a file, not a folder" if root.exists() else "is a broken symbolic link or a "
                "link loop" if root.is_symlink() else "not found")
        problems.append(Problem(str(root), None, None, f"county folder {what}"))
        return None, problems
    meta, specs = read_meta(root, problems, columns)
    for key in ("name", "name_zh", "adcode", "terrain", "province", "prefecture"):
        if key in meta and not isinstance(meta[key], (str, int)):
            problems.append(Problem("county.toml", None, key, "expected text"))
    terrain = str(meta.get("terrain", "plain"))
    if terrain not in TERRAINS:
        problems.append(Problem("county.toml", None, "terrain",
                                f"unknown terrain '{terrain}' (use {' or '.join(TERRAINS)})"))
    adcode = str(meta.get("adcode", ""))
    if adcode and not (adcode.isdigit() and len(adcode) == 6):
        problems.append(Problem("county.toml", None, "adcode", f"'{adcode}' is not a 6-digit "
                                "administrative code", "warning"))

    if not _size_precheck(specs, problems):
        return None, problems
    boundary_geom, boundary = _boundary(specs["boundary"], problems, meta, root)
    metric = _metric(meta, boundary_geom, problems)
    n0 = len(problems)
    towns = _townships(specs["townships"], problems, metric, boundary_geom)
    _renumber(problems, n0, specs["townships"])
    n0 = len(problems)
    villages = _villages(specs["villages"], problems, metric, towns, boundary_geom)
    _renumber(problems, n0, specs["villages"])
    n0 = len(problems)
    farms = _farms(specs["farms"], problems, metric, towns, villages, boundary_geom)
    _renumber(problems, n0, specs["farms"])
    n0 = len(problems)
    sites = _sites(specs["sites"], problems, metric, towns, boundary_geom)
    _renumber(problems, n0, specs["sites"])
    if villages is not None:
        size.check_size(size.estimate(len(villages), len(farms) if farms is not None else 0,
                                      len(sites) if sites is not None else 0,
                                      len(towns) if towns is not None else 0),
                        specs["villages"].name, problems)
    rspec = specs["roads"]
    roads_path = rspec.path if rspec.path is not None and rspec.path.exists() else None
    if roads_path is None:
        problems.append(Problem(rspec.name, None, None, "no road file: distances fall back to "
                                "crow-fly estimates", "note"))
    if boundary is None or villages is None or towns is None:
        return None, problems
    notes = {
        "warnings": [str(p) for p in problems if p.severity == "warning"],
        "notes": [str(p) for p in problems if p.severity == "note"],
        "files": {k: s.name for k, s in specs.items() if s.path is not None and s.path.exists()},
        "crs": {k: s.crs.label for k, s in specs.items() if s.crs is not None},
        "province": str(meta.get("province", "")), "prefecture": str(meta.get("prefecture", "")),
        "credit": str(meta.get("credit", "")),   # data credit of county.toml (maps' attribution)
    }
    county = County(name=str(meta.get("name", root.name)),
                    name_zh=str(meta.get("name_zh", meta.get("name", root.name))),
                    adcode=adcode, terrain=terrain, folder=root, boundary=boundary,
                    townships=towns, villages=villages,
                    farms=farms if farms is not None else _empty("farms"),
                    sites=sites if sites is not None else _empty("sites"),
                    roads_path=roads_path, metric_crs=metric, notes=notes)
    return county, problems


_EMPTY_COLS = {
    "farms": ["farm_id", "name", "village_id", "township_code", "species", "stock_head"],
    "sites": ["site_id", "name", "kind", "township_code", "streams", "tiers", "capacity_t", "status"],
}


def _size_precheck(specs: Mapping[str, FileSpec], problems: list[Problem]) -> bool:
    """Refuse, before any table is parsed, tables whose line counts alone put the run beyond the
    machine's memory (a 200 MB villages.csv); False (with the error appended) when they do."""
    lines = {k: size.count_lines(specs[k].path) if specs[k].path is not None else None
             for k in ("villages", "farms", "sites")}
    if lines["villages"] is None:
        return True
    est = size.estimate(lines["villages"], lines["farms"] or 0, lines["sites"] or 0)
    scratch: list[Problem] = []
    ok = size.check_size(est, specs["villages"].name, scratch)
    problems.extend(p for p in scratch if p.severity == "error")
    return ok


def _empty(key: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: pd.Series(dtype=float if c in ("stock_head", "capacity_t") else object)
                             for c in _EMPTY_COLS[key]}, geometry=[], crs=WGS84)


def _boundary(spec: FileSpec, problems: list[Problem], meta: Mapping[str, Any], root: Path
              ) -> tuple[shapely.Geometry | None, gpd.GeoDataFrame | None]:
    df = _read(spec, problems, optional=False)
    if df is None:
        return None, None
    if not isinstance(df, gpd.GeoDataFrame):
        problems.append(Problem(spec.name, None, None, "the boundary must be a GeoJSON, GeoPackage or "
                                "Shapefile with polygons"))
        return None, None
    layer = geom.layer_to_wgs84(df, spec.name, _layer_crs(spec, df), problems)
    fixed = geom.repair_polygons(layer, spec.name, problems, missing="error")
    polys = [g for g in fixed.geometry if g is not None]
    if not polys:
        problems.append(Problem(spec.name, None, "geometry", "no usable boundary polygon"))
        return None, None
    outline = shapely.union_all(polys)
    if not outline.is_valid:
        outline = shapely.make_valid(outline)
    name = str(meta.get("name", root.name))
    gdf = gpd.GeoDataFrame({"name": [name], "name_zh": [str(meta.get("name_zh", name))],
                            "adcode": [str(meta.get("adcode", ""))]}, geometry=[outline], crs=WGS84)
    return outline, gdf


def _townships(spec: FileSpec, problems: list[Problem], metric: str,
               boundary: shapely.Geometry | None) -> gpd.GeoDataFrame | None:
    df = _read(spec, problems, optional=False)
    if df is None:
        return None
    f = spec.name
    if isinstance(df, gpd.GeoDataFrame):
        layer = geom.layer_to_wgs84(df, f, _layer_crs(spec, df), problems, metric_crs=metric)
        layer = geom.repair_polygons(layer, f, problems, missing="warning")
        polys = list(layer.geometry)
        attrs = pd.DataFrame(layer.drop(columns="geometry"))
    else:
        attrs, polys = df, [None] * len(df)
    mapped = map_columns(attrs, "townships", f, override=spec.columns)
    problems.extend(mapped.problems)
    t = mapped.frame
    codes = checks.check_ids(t, "township_code", f, problems)
    if "name" not in t.columns:
        problems.append(Problem(f, None, "name", "no township name column"))
        names = codes.astype(str)
    else:
        names = t["name"].astype(str).str.strip()
        first: dict[str, int] = {}
        for i, n in enumerate(names):
            if n in first:
                problems.append(Problem(f, i + 1, "name", f"duplicate township name '{n}' (also row "
                                        f"{first[n]}): rows naming it are matched to the first",
                                        "warning"))
            first.setdefault(n, i + 1)
    kinds = []
    for n, k in zip(names, t["kind"] if "kind" in t.columns else [""] * len(t), strict=True):
        k = str(k).strip() if k is not None and str(k).strip().lower() not in ("", "nan") else ""
        if not k:
            k = "街道" if n.endswith(("街道", "办事处")) else ("乡" if n.endswith("乡") else "镇")
        kinds.append(k)
    farming = []
    if "farming" not in t.columns:
        problems.append(Problem(f, None, "farming", "no farming column: towns and townships (镇/乡) "
                                "count as farming, street offices (街道) do not", "note"))
        farming = [k != "街道" for k in kinds]
    else:
        for i, v in enumerate(t["farming"].tolist()):
            b = checks.parse_bool(v)
            if b is None:
                problems.append(Problem(f, i + 1, "farming", f"expected yes/no (是/否, true/false), got '{v}'"))
                b = True
            farming.append(b)
    seats, _ = geom.table_points(t, f, spec.crs, problems, lon="seat_lon", lat="seat_lat",
                                 metric_crs=metric, required=False)
    for i, (s, p) in enumerate(zip(seats, polys, strict=True)):
        if s is None and p is not None:
            seats[i] = p.representative_point()
            problems.append(Problem(f, i + 1, "seat_lon", "no seat coordinates: a point inside the "
                                    "township polygon is used", "note"))
    checks.check_inside(seats, boundary, metric, f, problems, what="township seat",
                        severity="warning")
    out = pd.DataFrame({
        "township_code": codes.to_numpy(), "name": names.to_numpy(),
        "name_en": (t["name_en"].astype(str).replace("nan", "") if "name_en" in t.columns
                    else pd.Series([""] * len(t))).to_numpy(),
        "kind": kinds, "farming": np.asarray(farming, dtype=bool),
        "seat_lon": [s.x if s is not None else np.nan for s in seats],
        "seat_lat": [s.y if s is not None else np.nan for s in seats],
    })
    return gpd.GeoDataFrame(out, geometry=polys, crs=WGS84)


def _with_points(frame: pd.DataFrame, pts: list, front: dict[str, Any]) -> gpd.GeoDataFrame:
    """Canonical columns first, the file's other columns after; lon/lat replaced by WGS-84 values."""
    out = pd.DataFrame(front)
    for c in frame.columns:
        if c not in out.columns and c != "geometry":
            out[c] = frame[c].to_numpy()
    out["lon"] = [p.x if p is not None else np.nan for p in pts]
    out["lat"] = [p.y if p is not None else np.nan for p in pts]
    return gpd.GeoDataFrame(out, geometry=pts, crs=WGS84)


def _villages(spec: FileSpec, problems: list[Problem], metric: str, towns: gpd.GeoDataFrame | None,
              boundary: shapely.Geometry | None) -> gpd.GeoDataFrame | None:
    df = _read(spec, problems, optional=False)
    if df is None:
        return None
    f = spec.name
    scratch: list[Problem] = []
    if not size.check_size(size.estimate(len(df)), f, scratch):  # an XLSX/GIS file: its rows
        problems.extend(p for p in scratch if p.severity == "error")
        return None
    v, pts = _geo_or_points(df, spec, problems, metric)
    ids = checks.check_ids(v, "village_id", f, problems)
    codes = (checks.resolve_townships(v, f, towns, problems) if towns is not None
             else pd.Series([""] * len(v), dtype=object))
    if "name" not in v.columns:
        problems.append(Problem(f, None, "name", "no village name column"))
        v["name"] = ids
    checks.check_duplicate_names(v["name"], codes, f, problems)
    area_cols = [c for c in column_table()["villages"] if c.endswith("_mu")]
    factors = _area_factors(df if not isinstance(df, gpd.GeoDataFrame) else
                            pd.DataFrame(df.drop(columns="geometry")), spec)
    qty = ["households", "population", *area_cols, *LIVESTOCK]
    v = checks.check_numbers(v, qty, f, problems, table="villages", factor=factors,
                             integer=("households", "population", *LIVESTOCK))
    if "population" not in v.columns:
        problems.append(Problem(f, None, "population", "no population column: recyclables will be "
                                "zero", "warning"))
    if not any(c in v.columns for c in area_cols):
        problems.append(Problem(f, None, "cropland_mu", "no crop area columns: straw, film and "
                                "pesticide packaging will be zero", "warning"))
    n_out = checks.check_inside(pts, boundary, metric, f, problems, what="village")
    n_pts = sum(p is not None for p in pts)
    if n_pts >= 3 and n_out > n_pts / 2:
        problems.append(Problem(f, None, "lon", f"{n_out} of {n_pts} villages lie outside the county "
                                "boundary: the villages and the boundary are probably in different "
                                "coordinate systems - check the `crs` declarations in county.toml"))
    if towns is not None:
        checks.check_in_township(pts, list(codes), towns, f, problems)
    front = {"village_id": ids.to_numpy(), "name": v["name"].astype(str).str.strip().to_numpy(),
             "township_code": codes.to_numpy()}
    for c in qty:
        front[c] = v[c].to_numpy() if c in v.columns else np.zeros(len(v))
    return _with_points(v.drop(columns=[c for c in ("township",) if c in v.columns]), pts, front)


def _farms(spec: FileSpec, problems: list[Problem], metric: str, towns: gpd.GeoDataFrame | None,
           villages: gpd.GeoDataFrame | None, boundary: shapely.Geometry | None
           ) -> gpd.GeoDataFrame | None:
    df = _read(spec, problems, optional=True)
    if df is None:
        return None
    f = spec.name
    t, pts = _geo_or_points(df, spec, problems, metric)
    ids = checks.check_ids(t, "farm_id", f, problems)
    vid = t["village_id"].map(checks.clean_id) if "village_id" in t.columns else pd.Series([""] * len(t))
    known_v = dict(zip(villages["village_id"], villages["township_code"], strict=True)) \
        if villages is not None else {}
    for i, x in enumerate(vid):
        if x and villages is not None and x not in known_v:
            problems.append(Problem(f, i + 1, "village_id", f"unknown village '{x}'", "warning"))
    if "township_code" not in t.columns and "township" not in t.columns and "village_id" in t.columns:
        t = t.assign(township_code=[known_v.get(x, "") for x in vid])
    codes = (checks.resolve_townships(t, f, towns, problems) if towns is not None
             else pd.Series([""] * len(t), dtype=object))
    species = checks.check_values(t, "species", "species", f, problems)
    t = checks.check_numbers(t, ["stock_head"], f, problems, table="farms",
                             integer=("stock_head",))
    if "stock_head" not in t.columns:
        problems.append(Problem(f, None, "stock_head", "no stock_head column"))
    checks.check_inside(pts, boundary, metric, f, problems, what="farm")
    front = {"farm_id": ids.to_numpy(),
             "name": (t["name"].astype(str) if "name" in t.columns else ids).to_numpy(),
             "village_id": vid.to_numpy(), "township_code": codes.to_numpy(),
             "species": species.to_numpy(),
             "stock_head": t["stock_head"].to_numpy() if "stock_head" in t.columns else np.zeros(len(t))}
    return _with_points(t.drop(columns=[c for c in ("township",) if c in t.columns]), pts, front)


def _sites(spec: FileSpec, problems: list[Problem], metric: str, towns: gpd.GeoDataFrame | None,
           boundary: shapely.Geometry | None) -> gpd.GeoDataFrame | None:
    df = _read(spec, problems, optional=True)
    if df is None:
        return None
    f = spec.name
    t, pts = _geo_or_points(df, spec, problems, metric)
    ids = checks.check_ids(t, "site_id", f, problems)
    if "township_code" not in t.columns and "township" not in t.columns and towns is not None:
        t = t.assign(township_code=_locate(pts, towns))
    codes = (checks.resolve_townships(t, f, towns, problems) if towns is not None
             else pd.Series([""] * len(t), dtype=object))
    if "kind" not in t.columns:
        problems.append(Problem(f, None, "kind", "no kind column (agro_store, coop_outlet, "
                                "biomass_plant, ...)"))
        kinds = pd.Series([""] * len(t))
    else:
        kinds = t["kind"].astype(str).str.strip()
        for i, k in enumerate(kinds):
            if not k or k.lower() == "nan":
                problems.append(Problem(f, i + 1, "kind", "missing kind"))
    streams = checks.check_values(t, "streams", "streams", f, problems, multi=True, allow_star=True)
    tiers = checks.check_values(t, "tiers", "tiers", f, problems, multi=True, required=False)
    t = checks.check_numbers(t, ["capacity_t"], f, problems, table="sites")
    status = (t["status"].astype(str).str.strip().replace({"": "existing", "nan": "existing"})
              if "status" in t.columns else pd.Series(["existing"] * len(t)))
    checks.check_inside(pts, boundary, metric, f, problems, what="site", severity="warning")
    front = {"site_id": ids.to_numpy(),
             "name": (t["name"].astype(str) if "name" in t.columns else ids).to_numpy(),
             "kind": kinds.to_numpy(), "township_code": codes.to_numpy(),
             "streams": streams.to_numpy(), "tiers": tiers.to_numpy(),
             "capacity_t": t["capacity_t"].to_numpy() if "capacity_t" in t.columns
             else np.full(len(t), np.nan),
             "status": status.to_numpy()}
    return _with_points(t.drop(columns=[c for c in ("township",) if c in t.columns]), pts, front)


def _locate(pts: list, towns: gpd.GeoDataFrame) -> list[str]:
    """Township code of the polygon holding each point ("" where none does)."""
    out = []
    for p in pts:
        code = ""
        if p is not None:
            for c, g in zip(towns["township_code"], towns.geometry, strict=True):
                if g is not None and g.covers(p):
                    code = str(c)
                    break
        out.append(code)
    return out
