"""Field checks of the county folder's tables: ids, quantities, township references, categorical
values, points outside the county. Each appends :class:`~netplan.errors.Problem` s; none raises."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point

from netplan import coords
from netplan.errors import Problem
from netplan.inputs.columns import value_aliases
from netplan.inputs.crs import transformer
from netplan.inputs.numbers import check_cell, field_range

#: a point further than this outside the county boundary is an error; closer, a warning (metres)
OUTSIDE_ERROR_M = 250.0

_SINGULAR = {"streams": "stream", "tiers": "tier", "species": "species"}
_SUFFIXES = ("街道办事处", "办事处", "街道", "镇", "乡")


def clean_id(v: object) -> str:
    """An id cell as text: stripped, an Excel float's ".0" removed, "" when blank."""
    if v is None:
        return ""
    if isinstance(v, float):
        if v != v:
            return ""
        if v.is_integer():
            return str(int(v))
    s = str(v).strip()
    if s.lower() in ("nan", "none", "null"):
        return ""
    if re.fullmatch(r"\d+\.0+", s):
        s = s.split(".")[0]
    return s


def check_ids(df: pd.DataFrame, col: str, file: str, problems: list[Problem]) -> pd.Series:
    """Ids as clean strings; missing and duplicate ids reported per row (the first keeps its id)."""
    if col not in df.columns:
        problems.append(Problem(file, None, col, f"no '{col}' column (headers: "
                                f"{', '.join(map(str, df.columns[:25]))}); map it in county.toml"))
        return pd.Series([f"{file}#{i + 1}" for i in range(len(df))], index=df.index, dtype=object)
    ids = df[col].map(clean_id)
    first: dict[str, int] = {}
    for i, v in enumerate(ids):
        if v == "":
            problems.append(Problem(file, i + 1, col, "missing id"))
        elif v in first:
            problems.append(Problem(file, i + 1, col, f"duplicate id '{v}' (first at row {first[v]})"))
        else:
            first[v] = i + 1
    return ids


def check_numbers(df: pd.DataFrame, cols: Iterable[str], file: str, problems: list[Problem], *,
                  table: str, factor: dict[str, float] | None = None,
                  integer: Sequence[str] = ()) -> pd.DataFrame:
    """Quantities as floats (× ``factor`` per column for unit conversion), each cell read by
    :func:`netplan.inputs.numbers.check_cell` against ``table``'s range for the column
    (data/columns.toml ``[ranges]``): text, NaN-like markers, infinity, negative and implausible
    values are reported per row and never read as 0; a blank is 0, unknown (NaN) or an error as the
    range says. Refused cells hold NaN in the result (the caller raises on the errors)."""
    df = df.copy()
    for col in cols:
        if col not in df.columns:
            continue
        rng = field_range(table, col)
        vals = np.full(len(df), np.nan, dtype=float)
        for i, raw in enumerate(df[col].tolist()):
            v = check_cell(raw, rng, file, i + 1, col, problems, factor=(factor or {}).get(col, 1.0))
            if v is None:
                continue
            if col in integer and np.isfinite(v) and not float(v).is_integer():
                problems.append(Problem(file, i + 1, col, f"{v:g} is not a whole number of head",
                                        "warning"))
            vals[i] = v
        df[col] = vals
    return df


def _norm_name(name: str) -> str:
    s = re.sub(r"\s+", "", str(name))
    for suf in _SUFFIXES:
        if s.endswith(suf) and len(s) > len(suf):
            return s[: -len(suf)]
    return s


def resolve_townships(df: pd.DataFrame, file: str, towns: pd.DataFrame, problems: list[Problem]
                      ) -> pd.Series:
    """Township code per row, matched by code or by name (with or without 镇/乡/街道); unknown
    names and codes reported with the row and the known names."""
    codes = [str(c) for c in towns["township_code"]]
    by_code = set(codes)
    by_name: dict[str, str] = {}
    for code, name, name_en in zip(codes, towns["name"].astype(str),
                                   towns.get("name_en", pd.Series([""] * len(towns))).astype(str),
                                   strict=True):
        for key in (name, _norm_name(name), name_en.lower()):
            if key:
                by_name.setdefault(key, code)
    has_code = "township_code" in df.columns
    has_name = "township" in df.columns
    if not has_code and not has_name:
        problems.append(Problem(file, None, "township_code", "no township_code or township column "
                                f"(headers: {', '.join(map(str, df.columns[:25]))})"))
        return pd.Series([""] * len(df), index=df.index, dtype=object)
    known = "、".join(list(towns["name"].astype(str))[:12]) + ("…" if len(towns) > 12 else "")
    out = []
    for i in range(len(df)):
        code = clean_id(df["township_code"].iloc[i]) if has_code else ""
        name = str(df["township"].iloc[i]).strip() if has_name else ""
        hit = ""
        if code:
            hit = code if code in by_code else by_name.get(code, by_name.get(_norm_name(code), ""))
        if not hit and name and name.lower() not in ("nan", "none"):
            hit = by_name.get(name, by_name.get(_norm_name(name), by_name.get(name.lower(), "")))
            if hit and code:
                problems.append(Problem(file, i + 1, "township_code", f"unknown township code "
                                        f"'{code}'; matched by the name '{name}' ({hit})", "warning"))
        if not hit:
            field = "township_code" if code or not has_name else "township"
            given = code or name
            msg = (f"unknown township '{given}' (known: {known})" if given
                   else "missing township")
            problems.append(Problem(file, i + 1, field, msg))
        out.append(hit)
    return pd.Series(out, index=df.index, dtype=object)


def check_values(df: pd.DataFrame, col: str, kind: str, file: str, problems: list[Problem], *,
                 multi: bool = False, allow_star: bool = False, required: bool = True) -> pd.Series:
    """Categorical cells mapped to netplan ids via the value aliases of ``kind`` (species, streams,
    tiers); ``multi`` cells are lists split on ; , 、 / | and re-joined with ";"."""
    if col not in df.columns:
        if required:
            problems.append(Problem(file, None, col, f"no '{col}' column"))
        return pd.Series(["*" if allow_star else ""] * len(df), index=df.index, dtype=object)
    aliases = value_aliases(kind)
    known = ", ".join(sorted(set(aliases.values())))
    out = []
    for i, raw in enumerate(df[col].tolist()):
        text = "" if raw is None or (isinstance(raw, float) and raw != raw) else str(raw).strip()
        parts = [p.strip() for p in re.split(r"[;,，、/|；]", text)] if multi else [text]
        parts = [p for p in parts if p]
        if not parts:
            if allow_star:
                out.append("*")
                continue
            if required:
                problems.append(Problem(file, i + 1, col, f"missing value (one of: {known})"))
            out.append("")
            continue
        ids = []
        for p in parts:
            if allow_star and p in ("*", "all", "全部"):
                ids = ["*"]
                break
            v = aliases.get(p.lower())
            if v is None:
                problems.append(Problem(file, i + 1, col, f"unknown {_SINGULAR.get(kind, kind)} "
                                        f"'{p}' (known: {known})"))
            else:
                ids.append(v)
        out.append(";".join(dict.fromkeys(ids)))
    return pd.Series(out, index=df.index, dtype=object)


def check_duplicate_names(names: pd.Series, groups: pd.Series, file: str,
                          problems: list[Problem]) -> None:
    """Warn where two rows share a name within one township (often a copy-paste slip)."""
    seen: dict[tuple[str, str], int] = {}
    for i, (n, g) in enumerate(zip(names.astype(str), groups.astype(str), strict=True)):
        n = n.strip()
        if not n or n.lower() == "nan":
            problems.append(Problem(file, i + 1, "name", "missing name", "warning"))
            continue
        key = (g, n)
        if key in seen:
            problems.append(Problem(file, i + 1, "name", f"duplicate name '{n}' in the same township "
                                    f"(also row {seen[key]})", "warning"))
        else:
            seen[key] = i + 1


def check_inside(points: Sequence[Point | None], boundary: shapely.Geometry | None, metric_crs: str,
                 file: str, problems: list[Problem], *, what: str = "point",
                 severity: str = "error") -> int:
    """Points outside the county boundary, with their distance from it (m, in ``metric_crs``).

    Within :data:`OUTSIDE_ERROR_M` of the boundary is a warning (digitising slack); further is
    ``severity``. Returns how many points lie further out than that.
    """
    if boundary is None or boundary.is_empty:
        return 0
    idx = [i for i, p in enumerate(points) if p is not None]
    if not idx:
        return 0
    geo = gpd.GeoSeries([points[i] for i in idx], crs="EPSG:4326")
    inside = geo.intersects(boundary).to_numpy()
    if inside.all():
        return 0
    out_idx = [idx[k] for k in np.flatnonzero(~inside)]
    tr = transformer("EPSG:4326", metric_crs)

    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    pm = shapely.transform(np.asarray([points[i] for i in out_idx], dtype=object), fn)
    bm = shapely.transform(boundary, fn)
    dist = shapely.distance(pm, bm)
    for i, d in zip(out_idx, dist, strict=True):
        p = points[i]
        assert p is not None
        sev = "warning" if d <= OUTSIDE_ERROR_M else severity
        problems.append(Problem(file, i + 1, "lon", f"{what} at ({p.x:.6f}, {p.y:.6f}) lies "
                                f"{_fmt_m(d)} outside the county boundary{_datum_hint(p, boundary, d)}",
                                sev))
    return int((dist > OUTSIDE_ERROR_M).sum())


def _datum_hint(p: Point, boundary: shapely.Geometry, dist_m: float) -> str:
    """A hint when the point would be inside had one of the files been declared GCJ-02 (the
    ~540 m Gaode shift): either the point's file or the boundary (Amap outlines are GCJ-02)."""
    if dist_m > 1500:
        return ""
    wx, wy = coords.gcj02_to_wgs84(p.x, p.y)
    if boundary.covers(Point(float(wx), float(wy))):
        return ("; it would lie inside if its coordinates were GCJ-02 (Gaode/Amap): declare "
                "crs = \"gcj02\" for this file if they were picked on Gaode maps")
    gx, gy = coords.wgs84_to_gcj02(p.x, p.y)
    if boundary.covers(Point(float(gx), float(gy))):
        return ("; it would lie inside if the boundary were GCJ-02 (Amap outlines are): declare "
                "crs = \"gcj02\" for the boundary file")
    return ""


def _fmt_m(d: float) -> str:
    return f"{d / 1000:.2f} km" if d >= 1000 else f"{d:.0f} m"


def parse_bool(v: object) -> bool | None:
    """A yes/no cell (是/否, true/false, 1/0); None when not recognised."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, float, np.integer, np.floating)) and not (isinstance(v, float) and v != v):
        return bool(v)
    key = "" if v is None or (isinstance(v, float) and v != v) else str(v).strip().lower()
    return {"true": True, "false": False}.get(value_aliases("bool").get(key, ""), None)


def check_in_township(points: Sequence[Point | None], codes: Sequence[str], towns: gpd.GeoDataFrame,
                      file: str, problems: list[Problem], *, what: str = "village") -> None:
    """Warn where a point lies in another township's polygon than the one its row names (a wrong
    township, or a coordinate typo); silent where polygons are missing or overlap nothing."""
    polys = [(str(c), g) for c, g in zip(towns["township_code"], towns.geometry, strict=True)
             if g is not None and not g.is_empty]
    if not polys:
        return
    names = dict(zip(towns["township_code"].astype(str), towns["name"].astype(str), strict=True))
    tree = shapely.STRtree([g for _, g in polys])
    for i, (p, code) in enumerate(zip(points, codes, strict=True)):
        if p is None or not code:
            continue
        hits = [polys[j][0] for j in tree.query(p, predicate="covered_by")]
        if hits and code not in hits:
            problems.append(Problem(file, i + 1, "township_code", f"{what} lies in "
                                    f"{names.get(hits[0], hits[0])} ({hits[0]}) but is listed under "
                                    f"{names.get(code, code)} ({code})", "warning"))
