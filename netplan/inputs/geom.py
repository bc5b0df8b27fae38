"""Geometry of the county folder's tables and layers: points from lon/lat (or X/Y) columns, layers
reprojected to WGS-84, polygons repaired where that is safe. Every problem is appended to a list
(file, row, field), nothing is raised."""

from __future__ import annotations

import re
from collections import Counter

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point
from shapely.validation import explain_validity

from netplan.errors import Problem
from netplan.inputs.crs import (
    WGS84,
    CrsSpec,
    classify,
    family_key,
    geometries_to_wgs84,
    points_to_wgs84,
    spec_of_family,
)
from netplan.inputs.numbers import read_cell

_DMS = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*[°度]\s*(?:(\d+(?:\.\d+)?)\s*['′’分]\s*)?"
                  r"(?:(\d+(?:\.\d+)?)\s*(?:\"|″|”|''|秒)\s*)?([NSEWnsew东西南北]?)\s*$")
_FULLWIDTH = str.maketrans("０１２３４５６７８９．－，", "0123456789.-,")


def parse_number(text: object) -> float | None:
    """A coordinate cell as a float: decimal (thousands commas and full-width digits allowed) or
    degrees in d°m′s″ / 度分秒 form. None when blank or a NaN-like marker (``N/A``, ``-``: a missing
    coordinate); NaN when not a number (text, infinity). Quantities are read by
    :func:`netplan.inputs.numbers.check_cell` (the same decimal reader, with ranges)."""
    cell = read_cell(text)
    if cell.kind == "number":
        return cell.value
    if cell.kind in ("blank", "token"):
        return None
    if cell.kind == "inf":
        return float("nan")
    m = _DMS.match(str(text).translate(_FULLWIDTH).strip())
    if not m:
        return float("nan")
    d, mi, se, hemi = m.groups()
    v = abs(float(d)) + float(mi or 0) / 60.0 + float(se or 0) / 3600.0
    if d.startswith("-") or hemi in ("S", "W", "s", "w", "南", "西"):
        v = -v
    return v


def _gk_hint(metric_crs: str | None) -> str:
    if metric_crs:
        return f" (for this county probably crs = \"{metric_crs}\")"
    return ""


def table_points(df: pd.DataFrame, file: str, declared: CrsSpec | None, problems: list[Problem], *,
                 lon: str = "lon", lat: str = "lat", metric_crs: str | None = None,
                 required: bool = True) -> tuple[list[Point | None], CrsSpec | None]:
    """WGS-84 points from a table's coordinate columns; one entry per row (None where unusable).

    Parameters
    ----------
    df
        Table with canonical column names.
    declared
        The file's declared CRS, or None to detect it from the numbers.
    problems
        Problems are appended here (1-based data rows).
    metric_crs
        The county's projected CRS, named in the hint when eastings lack a zone prefix.
    required
        Whether a missing coordinate is an error (else the row gets None silently).
    """
    n = len(df)
    if lon not in df.columns or lat not in df.columns:
        missing = [c for c in (lon, lat) if c not in df.columns]
        if required:
            for c in missing:
                problems.append(Problem(file, None, c, f"no '{c}' column (headers: "
                                        f"{', '.join(map(str, df.columns[:25]))}); map it in county.toml"))
        return [None] * n, None
    xs = np.full(n, np.nan)
    ys = np.full(n, np.nan)
    bad = np.zeros(n, dtype=bool)
    for i, (a, b) in enumerate(zip(df[lon].tolist(), df[lat].tolist(), strict=True)):
        for col, raw, arr in ((lon, a, xs), (lat, b, ys)):
            v = parse_number(raw)
            if v is None:
                if required:
                    problems.append(Problem(file, i + 1, col, "missing coordinate"))
                bad[i] = True
            elif np.isnan(v):
                problems.append(Problem(file, i + 1, col, f"not a number: '{raw}'"))
                bad[i] = True
            else:
                arr[i] = v
    zero = ~bad & (xs == 0) & (ys == 0)
    for i in np.flatnonzero(zero):
        problems.append(Problem(file, int(i) + 1, lon, "coordinates (0, 0): a placeholder for a "
                                "missing position?"))
    bad |= zero
    fam = classify(xs, ys)
    usable = ~bad & (fam != "nan")
    spec = declared
    if spec is None:
        keys = Counter(family_key(f) for f, u in zip(fam, usable, strict=True)
                       if u and f not in ("unknown", "geo_swapped"))
        if keys:
            top = keys.most_common(1)[0][0]
            if top == "gk_noprefix":
                problems.append(Problem(file, None, lon,
                                        "projected coordinates without a Gauss-Krüger zone prefix: "
                                        "declare the file's crs in county.toml" + _gk_hint(metric_crs)))
                return [None] * n, None
            spec = spec_of_family(next(f for f in fam if family_key(f) == top))
    pts: list[Point | None] = [None] * n
    if spec is None:
        for i in np.flatnonzero(usable):
            problems.append(Problem(file, int(i) + 1, lon, _unknown_msg(xs[i], ys[i], fam[i])))
        return pts, None
    ok = usable.copy()
    for i in np.flatnonzero(usable):
        f = fam[i]
        msg = None
        if f == "geo_swapped" and spec.geographic:
            msg = (f"({xs[i]:g}, {ys[i]:g}) looks like latitude, longitude: the lon and lat columns "
                   "seem swapped")
        elif f == "unknown":
            msg = _unknown_msg(xs[i], ys[i], f)
        elif spec.geographic and f != "geo":
            msg = _mixed_msg(xs[i], ys[i], f, spec)
        elif not spec.geographic and (f in ("geo", "geo_swapped") or (
                spec.detected and spec_of_family(f) != spec)):
            msg = _mixed_msg(xs[i], ys[i], f, spec)
        if msg:
            problems.append(Problem(file, int(i) + 1, lon, msg))
            ok[i] = False
    x_in = xs.copy()
    y_in = ys.copy()
    flip = np.array([f.endswith("~") for f in fam]) & ok
    if flip.any():
        x_in[flip], y_in[flip] = ys[flip], xs[flip]
        problems.append(Problem(file, None, lon, f"{int(flip.sum())} rows give X as northing and Y as "
                                "easting (surveying order); read that way", "note"))
    idx = np.flatnonzero(ok)
    if len(idx):
        with np.errstate(all="ignore"):
            lo, la = points_to_wgs84(x_in[idx], y_in[idx], spec)
        for k, i in enumerate(idx):
            if np.isfinite(lo[k]) and np.isfinite(la[k]) and abs(la[k]) <= 90:
                pts[i] = Point(float(lo[k]), float(la[k]))
            else:
                problems.append(Problem(file, int(i) + 1, lon,
                                        f"({xs[i]:g}, {ys[i]:g}) cannot be converted from {spec.label}"))
    return pts, spec


def _mixed_msg(x: float, y: float, fam: str, spec: CrsSpec) -> str:
    other = spec_of_family(fam)
    what = "lon/lat degrees" if fam.startswith("geo") else (
        other.label if other else "projected metres without zone prefix")
    return (f"mixed coordinate systems: ({x:g}, {y:g}) looks like {what} while the file is "
            f"{spec.label}")


def _unknown_msg(x: float, y: float, fam: str) -> str:
    if fam == "gk_noprefix":
        return (f"({x:g}, {y:g}) looks like projected metres without a zone prefix, in a file of "
                "lon/lat degrees")
    return (f"({x:g}, {y:g}) is neither lon/lat degrees nor a Gauss-Krüger easting/northing "
            "with zone prefix")


def layer_to_wgs84(gdf: gpd.GeoDataFrame, file: str, declared: CrsSpec | None,
                   problems: list[Problem], *, metric_crs: str | None = None) -> gpd.GeoDataFrame:
    """A layer (GeoJSON/GPKG/SHP) in EPSG:4326: its own CRS, overridden by a declared one, or
    detected from its coordinates when it has none (.shp without .prj)."""
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    base = pd.DataFrame(gdf.drop(columns="geometry"))
    spec = declared
    own = gdf.crs
    if spec is None and own is not None:
        try:
            epsg = own.to_epsg()
        except Exception:  # pyproj raises several kinds for odd WKT
            epsg = None
        if epsg in (4326, 4490, None) and own.is_geographic:
            spec = CrsSpec("wgs84")
        else:
            try:
                out = gdf.to_crs(WGS84)
                return gpd.GeoDataFrame(base, geometry=list(out.geometry), crs=WGS84)
            except Exception as exc:  # unconvertible CRS
                problems.append(Problem(file, None, "geometry", f"cannot convert from the file's "
                                        f"CRS {own.name}: {exc}"))
                return gpd.GeoDataFrame(base, geometry=[None] * len(base), crs=WGS84)
    if spec is None:
        firsts = []
        for g in geoms:
            c = shapely.get_coordinates(g) if g is not None else np.empty((0, 2))
            firsts.append(c[0] if len(c) else (np.nan, np.nan))
        arr = np.asarray(firsts, dtype=float).reshape(-1, 2)
        fam = classify(arr[:, 0], arr[:, 1])
        keys = Counter(family_key(f) for f in fam if f not in ("nan", "unknown", "geo_swapped"))
        if not keys:
            if len(geoms) and any(g is not None and not g.is_empty for g in geoms):
                problems.append(Problem(file, None, "geometry", "coordinate system not recognised; "
                                        "declare the file's crs in county.toml" + _gk_hint(metric_crs)))
            return gpd.GeoDataFrame(base, geometry=list(geoms), crs=WGS84)
        top = keys.most_common(1)[0][0]
        if top == "gk_noprefix":
            problems.append(Problem(file, None, "geometry", "projected coordinates without a "
                                    "Gauss-Krüger zone prefix and no .prj: declare the file's crs in "
                                    "county.toml" + _gk_hint(metric_crs)))
            return gpd.GeoDataFrame(base, geometry=[None] * len(base), crs=WGS84)
        spec = spec_of_family(next(f for f in fam if family_key(f) == top))
        assert spec is not None
        for i, f in enumerate(fam):
            if f not in ("nan",) and family_key(f) != top:
                problems.append(Problem(file, i + 1, "geometry", "mixed coordinate systems: this "
                                        f"feature's coordinates do not look like {spec.label}"))
                geoms[i] = None
        problems.append(Problem(file, None, "geometry", f"no CRS in the file; detected {spec.label}",
                                "note"))
    elif own is not None and declared is not None and not own.is_geographic and declared.geographic:
        problems.append(Problem(file, None, "geometry", f"declared {declared.label} but the file is in "
                                f"{own.name} (projected); remove the declaration", "error"))
        return gpd.GeoDataFrame(base, geometry=[None] * len(base), crs=WGS84)
    with np.errstate(all="ignore"):
        out_g = geometries_to_wgs84(geoms, spec)
    return gpd.GeoDataFrame(base, geometry=list(out_g), crs=WGS84)


def repair_polygons(gdf: gpd.GeoDataFrame, file: str, problems: list[Problem], *,
                    missing: str = "error") -> gpd.GeoDataFrame:
    """Polygons made valid where that is safe (reported as a warning), empties reported.

    ``missing`` is the severity of an empty or missing geometry ("error" for the boundary,
    "warning" for township polygons that only serve the maps)."""
    out = []
    for i, g in enumerate(gdf.geometry):
        row = i + 1
        if g is None or g.is_empty:
            problems.append(Problem(file, row, "geometry", "empty or missing geometry", missing))
            out.append(None)
            continue
        if not np.isfinite(shapely.get_coordinates(g)).all():
            problems.append(Problem(file, row, "geometry", "geometry has non-finite coordinates",
                                    missing))
            out.append(None)
            continue
        if g.geom_type not in ("Polygon", "MultiPolygon", "GeometryCollection"):
            problems.append(Problem(file, row, "geometry",
                                    f"expected a polygon, found a {g.geom_type}", missing))
            out.append(None)
            continue
        if not g.is_valid:
            why = explain_validity(g)
            fixed = _polygonal(shapely.make_valid(g))
            if fixed is None or fixed.area <= 0:
                problems.append(Problem(file, row, "geometry", f"invalid polygon ({why}) that cannot "
                                        "be repaired", missing))
                out.append(None)
                continue
            problems.append(Problem(file, row, "geometry", f"invalid polygon ({why}) repaired; "
                                    f"area {g.area:.6g} -> {fixed.area:.6g} deg²", "warning"))
            g = fixed
        else:
            g = _polygonal(g)
            if g is None or g.area <= 0:
                problems.append(Problem(file, row, "geometry", "polygon has zero area", missing))
                out.append(None)
                continue
        out.append(g)
    return gpd.GeoDataFrame(pd.DataFrame(gdf.drop(columns="geometry")), geometry=out, crs=WGS84)


def _polygonal(g: shapely.Geometry | None) -> shapely.Geometry | None:
    """The polygonal part of ``g`` (from a GeometryCollection that make_valid may return)."""
    if g is None or g.is_empty:
        return None
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    if g.geom_type == "GeometryCollection":
        parts = [p for p in g.geoms if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty]
        if not parts:
            return None
        return shapely.union_all(parts)
    return None


def layer_points(gdf: gpd.GeoDataFrame, file: str, problems: list[Problem]) -> list[Point | None]:
    """Point per feature of a (WGS-84) layer: points as they are, a polygon's representative point
    (noted), empties reported."""
    pts: list[Point | None] = []
    for i, g in enumerate(gdf.geometry):
        if g is None or g.is_empty or not np.isfinite(shapely.get_coordinates(g)).all():
            problems.append(Problem(file, i + 1, "geometry", "empty or missing geometry"))
            pts.append(None)
        elif g.geom_type == "Point":
            pts.append(g)
        else:
            problems.append(Problem(file, i + 1, "geometry", f"{g.geom_type} reduced to a point "
                                    "inside it", "warning"))
            pts.append(g.representative_point() if g.is_valid else shapely.make_valid(g).centroid)
    return pts
