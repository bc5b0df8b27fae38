"""Coordinate systems of planners' files: declared, or detected from the numbers; converted to WGS-84.

Declared names (county.toml ``crs = ...``, globally or per file):

- ``"wgs84"`` / ``"EPSG:4326"``, ``"cgcs2000"`` / ``"EPSG:4490"`` (GPS, 天地图; treated as equal,
  PROJ's WGS 84 <-> CGCS2000 is a null transform, sub-metre - domain.md section 5, A);
- ``"gcj02"`` (高德/Gaode/Amap, 腾讯/Tencent) and ``"bd09"`` (百度/Baidu): converted with the published
  formulas in :mod:`netplan.coords`;
- any ``"EPSG:nnnn"`` (e.g. ``EPSG:4526``, CGCS2000 3-degree Gauss-Krüger zone 38).

Detected when not declared: lon/lat ranges (assumed WGS-84/CGCS2000 - GCJ-02 and BD-09 cannot be
told apart from WGS-84 by their numbers, so they must be declared); Gauss-Krüger eastings carrying
their zone prefix (8 digits: 25-45 -> 3-degree zones, EPSG 4513-4533; 13-23 -> 6-degree zones,
EPSG 4491-4501), also when written the surveyor's way round (X = northing, Y = easting).
Eastings without a zone prefix cannot be placed and must be declared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from netplan import coords

WGS84 = "EPSG:4326"

_NAMES = {
    "wgs84": "wgs84", "wgs-84": "wgs84", "wgs 84": "wgs84", "epsg:4326": "wgs84", "4326": "wgs84",
    "gps": "wgs84", "cgcs2000": "wgs84", "epsg:4490": "wgs84", "4490": "wgs84", "天地图": "wgs84",
    "gcj02": "gcj02", "gcj-02": "gcj02", "gcj": "gcj02", "amap": "gcj02", "gaode": "gcj02",
    "高德": "gcj02", "tencent": "gcj02", "腾讯": "gcj02", "mars": "gcj02", "火星坐标": "gcj02",
    "bd09": "bd09", "bd-09": "bd09", "baidu": "bd09", "百度": "bd09", "bd09ll": "bd09",
}


@dataclass(frozen=True)
class CrsSpec:
    """A source coordinate system: ``kind`` "wgs84", "gcj02", "bd09" or "epsg" (then ``epsg`` set)."""

    kind: str
    epsg: int | None = None
    detected: bool = False

    @property
    def label(self) -> str:
        """Human name, e.g. "GCJ-02 (Gaode/Amap)" or "EPSG:4526"."""
        return {"wgs84": "WGS-84/CGCS2000 lon/lat", "gcj02": "GCJ-02 (Gaode/Amap/Tencent)",
                "bd09": "BD-09 (Baidu)"}.get(self.kind, f"EPSG:{self.epsg}")

    @property
    def geographic(self) -> bool:
        """True when coordinates are lon/lat degrees."""
        if self.kind != "epsg":
            return True
        return bool(CRS.from_epsg(int(self.epsg or 4326)).is_geographic)


def parse_crs(text: object) -> CrsSpec:
    """The :class:`CrsSpec` a county.toml ``crs`` value names; ValueError with the accepted names."""
    raw = str(text).strip()
    key = raw.lower()
    if key in _NAMES:
        return CrsSpec(_NAMES[key])
    try:
        crs = strict_crs(raw)
    except ValueError:
        msg = (f"unknown coordinate system '{raw}' (use wgs84, cgcs2000, gcj02 for Gaode/Amap, "
               "bd09 for Baidu, or EPSG:nnnn)")
        raise ValueError(msg) from None
    epsg = crs.to_epsg()
    if epsg is None:
        msg = f"coordinate system '{raw}' has no EPSG code; give it as EPSG:nnnn"
        raise ValueError(msg)
    if epsg in (4326, 4490):
        return CrsSpec("wgs84")
    return CrsSpec("epsg", epsg)


def strict_crs(text: str) -> CRS:
    """A pyproj CRS from "EPSG:nnnn", a bare EPSG number, a PROJ string or WKT - never from a
    fuzzy name search (which is slow and matches words like "hilly" to some CRS)."""
    raw = str(text).strip()
    m = re.fullmatch(r"(?:epsg:)?\s*(\d{4,6})", raw, flags=re.I)
    try:
        if m:
            return CRS.from_epsg(int(m.group(1)))
        if raw.startswith("+proj") or "[" in raw:
            return CRS.from_user_input(raw)
    except CRSError:
        pass
    msg = f"unknown CRS '{raw}' (give it as EPSG:nnnn)"
    raise ValueError(msg)


def classify(x: ArrayLike, y: ArrayLike) -> NDArray[np.str_]:
    """Per point, which family its numbers belong to.

    "geo" (lon/lat), "geo_swapped" (lat/lon given the wrong way round, in China), "gk3:<zone>" and
    "gk6:<zone>" (Gauss-Krüger easting with zone prefix), the same with "~" appended when X is the
    northing (surveyor's order), "gk_noprefix" (projected metres without a zone prefix), "nan"
    (missing) or "unknown".
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    out = np.full(x.shape, "unknown", dtype=object)
    fin = np.isfinite(x) & np.isfinite(y)
    out[~fin] = "nan"
    geo = fin & (np.abs(x) <= 180) & (np.abs(y) <= 90)
    out[geo] = "geo"
    sw = fin & ~geo & (y >= 72) & (y <= 138) & (x >= 0) & (x <= 56)
    out[sw] = "geo_swapped"
    north = (y > 0) & (y < 6.5e6)
    for east, nn, flip in ((x, y, ""), (y, x, "~")):
        nth = (nn > 0) & (nn < 6.5e6)
        zone = np.floor(np.where(np.isfinite(east), east, 0) / 1e6).astype(int)
        frac = east - zone * 1e6
        ok_e = (frac > 1e5) & (frac < 9e5)
        gk3 = fin & nth & ok_e & (zone >= 25) & (zone <= 45) & (out == "unknown")
        gk6 = fin & nth & ok_e & (zone >= 13) & (zone <= 23) & (out == "unknown")
        for mask, fam in ((gk3, "gk3"), (gk6, "gk6")):
            for i in np.flatnonzero(mask):
                out[i] = f"{fam}:{zone[i]}{flip}"
    nop = fin & (out == "unknown") & (x > 1e5) & (x < 9e5) & north & (y > 1e6)
    out[nop] = "gk_noprefix"
    return out.astype(str)


def spec_of_family(family: str) -> CrsSpec | None:
    """The CrsSpec a detected family stands for (None for families that cannot be placed)."""
    if family in ("geo", "geo_swapped"):
        return CrsSpec("wgs84", detected=True)
    if family.startswith(("gk3:", "gk6:")):
        zone = int(family[4:].rstrip("~"))
        base = 4513 - 25 if family.startswith("gk3") else 4491 - 13
        return CrsSpec("epsg", base + zone, detected=True)
    return None


def family_key(family: str) -> str:
    """Families that may share one table: "geo"/"geo_swapped" are one (both degrees), GK by zone."""
    return family.rstrip("~") if family.startswith("gk") else family


@lru_cache(maxsize=64)
def transformer(src: str, dst: str) -> Transformer:
    """A cached lon/lat-ordered pyproj Transformer (building one costs ~0.1-0.4 s)."""
    return Transformer.from_crs(src, dst, always_xy=True)


def points_to_wgs84(x: ArrayLike, y: ArrayLike, spec: CrsSpec) -> tuple[NDArray, NDArray]:
    """Convert coordinates in ``spec`` to WGS-84 lon/lat (degrees). x = easting or lon."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if spec.kind == "wgs84":
        return x.copy(), y.copy()
    if spec.kind == "gcj02":
        return coords.gcj02_to_wgs84(x, y)
    if spec.kind == "bd09":
        return coords.bd09_to_wgs84(x, y)
    lon, lat = transformer(f"EPSG:{spec.epsg}", WGS84).transform(x, y)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def geometries_to_wgs84(geoms: ArrayLike, spec: CrsSpec) -> NDArray:
    """Convert shapely geometries whose coordinates are in ``spec`` to WGS-84 (vertex by vertex)."""
    arr = np.asarray(geoms, dtype=object)
    if spec.kind == "wgs84":
        return arr

    def fn(xy: NDArray) -> NDArray:
        lon, lat = points_to_wgs84(xy[:, 0], xy[:, 1], spec)
        return np.column_stack([lon, lat])

    return shapely.transform(arr, fn)


def metric_crs_for(lon: float, lat: float) -> str:
    """Projected CRS for metric work at (lon, lat): the CGCS2000 3-degree Gauss-Krüger CM zone in
    China (EPSG 4534-4554, central meridians 75-135 E; domain.md section 5, A), else WGS-84 / UTM."""
    if bool(coords.in_china(lon, lat)) and 73.5 <= lon < 136.5:
        return f"EPSG:{4534 + int(round((lon - 75.0) / 3.0))}"
    return f"EPSG:{coords.utm_epsg(lon, lat)}"
