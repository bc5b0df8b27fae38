"""The real administrative villages (村/居委会) of a county, reconciled with the 2023 townships.

Reads ``data/china_admin/villages_2016/<adcode>.csv.gz`` (Vonng/adcode, CC BY 4.0: names, 12-digit
codes and urban-rural classes from the NBS 2016 统计用区划代码; township and a few village points
from the Amap API, GCJ-02; see data/china_admin/PROVENANCE.md). The generator's townships are the
NBS **2023** list, so each 2016 town is matched to a 2023 township, in this order:

1. same 9-digit code and same name stem (杨埠镇 = 杨埠镇);
2. same name stem under a new code (乡 -> 镇 or 镇 -> 街道 upgrades: 郭楼镇 411723107 -> 郭楼街道
   411723004);
3. same code, renamed (吕河乡 -> 闾河乡, 人民街道办事处 -> 人民街街道).

A 2016 town with no 2023 match (e.g. an 产业集聚区 management unit) is dropped with its villages
and listed in :attr:`VillageList.dropped`. A village's ``village_id`` is its 2023 township code plus
the 3-digit serial of its 2016 code, so it equals the 2016 code wherever the township kept its code.
All points are converted to WGS-84 with :func:`netplan.coords.gcj02_to_wgs84`.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass, replace

import numpy as np

from netplan._paths import data_file
from netplan.coords import gcj02_to_wgs84
from netplan.errors import InputError
from netplan.synth.admin import ADMIN_DIR, Township

VILLAGE_DIR = "villages_2016"
CREDIT = ("Vonng/adcode (CC BY 4.0); codes and names from the National Bureau of Statistics 2016 "
          "统计用区划代码; points from the Amap API")
# 2016 column order (no header; data/china_admin/PROVENANCE.md)
_COLS = ("code", "parent", "name", "level", "rank", "adcode", "post_code", "area_code", "ur_code",
         "municipality", "virtual", "dummy", "longitude", "latitude", "center", "province", "city",
         "county", "town", "village")
_TOWN_SUFFIXES = ("街道办事处筹备处", "街道筹备组", "街道办事处", "管委会", "筹备处", "办事处", "街道", "镇", "乡")
_COMMUNITY_SUFFIXES = (("社区居民委员会", "社区"), ("居民委员会", "居委会"), ("居委会", "居委会"),
                       ("社区", "社区"))
_VILLAGE_SUFFIXES = ("村村民委员会", "村民委员会", "村委会")


@dataclass(frozen=True)
class AdminVillage:
    """One administrative village or urban community of the 2016 list."""

    code_2016: str          # 12-digit NBS 2016 code
    village_id: str         # 2023 township code + 3-digit 2016 serial
    name: str               # short name: 张庄村, 城西居委会, 滨河社区
    name_2016: str          # the name as listed (张庄村委会, 城西居民委员会 ...)
    township: int           # index into CountyAdmin.townships (2023)
    ur_code: str            # NBS urban-rural class: 1xx urban (111 main city, 121/122 town centre), 2xx rural
    community: bool         # 居委会/社区: urban residents' committee, no farmland
    lonlat: tuple[float, float] | None   # WGS-84, where the list has a point

    @property
    def town_centre(self) -> bool:
        """True for units the NBS classes urban (city or town centre, ur_code 1xx)."""
        return self.ur_code.startswith("1")


@dataclass(frozen=True)
class VillageList:
    """A county's real villages and township points, keyed to the 2023 townships."""

    villages: tuple[AdminVillage, ...]
    seat_lonlat: tuple[tuple[float, float] | None, ...]   # per 2023 township, WGS-84
    county_lonlat: tuple[float, float] | None
    town_map: dict[str, str]          # 2016 town code (9) -> 2023 township code (9)
    dropped: tuple[str, ...]          # 2016 towns with no 2023 township ("code name, n villages")
    towns_2016: tuple[tuple[str, str], ...] = ()   # (9-digit code, name) of every 2016 town
    n_listed: int = 0                 # village rows in the 2016 list (incl. dropped towns)


def town_stem(name: str) -> str:
    """A township name without its kind suffix (郭楼镇 / 郭楼街道 -> 郭楼)."""
    for s in _TOWN_SUFFIXES:
        if name.endswith(s) and len(name) > len(s):
            return name[: -len(s)]
    return name


def short_name(name_2016: str) -> tuple[str, bool]:
    """The usual short name of a 2016 unit and whether it is an urban community.

    张庄村委会 / 张庄村村民委员会 -> 张庄村; 赵村村委会 -> 赵村; 城西居民委员会 -> 城西居委会;
    滨河社区居民委员会 -> 滨河社区 (urban); 高庄社区村民委员会 -> 高庄社区 (a villagers' committee:
    rural, farming).
    """
    for long, short in _COMMUNITY_SUFFIXES:
        if name_2016.endswith(long) and len(name_2016) > len(long):
            return name_2016[: -len(long)] + short, True
    for s in _VILLAGE_SUFFIXES:
        if name_2016.endswith(s) and len(name_2016) > len(s):
            stem = name_2016[: -len(s)]
            return (stem if stem.endswith(("村", "社区")) else stem + "村"), False
    return name_2016, False


def village_base(name: str) -> str:
    """A village's name without a trailing 村 (张庄村 -> 张庄; 赵村 stays 赵村), for derived names."""
    return name[:-1] if name.endswith("村") and len(name) > 2 else name


def has_village_list(adcode: str) -> bool:
    """True if data/china_admin/villages_2016/ holds ``adcode``."""
    return data_file(*ADMIN_DIR, VILLAGE_DIR, f"{adcode}.csv.gz").exists()


def _point(row: dict[str, str]) -> tuple[float, float] | None:
    if not row["longitude"] or not row["latitude"]:
        return None
    lon, lat = gcj02_to_wgs84(np.array([float(row["longitude"])]), np.array([float(row["latitude"])]))
    return round(float(lon[0]), 6), round(float(lat[0]), 6)


def _read_rows(adcode: str) -> list[dict[str, str]]:
    path = data_file(*ADMIN_DIR, VILLAGE_DIR, f"{adcode}.csv.gz")
    if not path.exists():
        msg = f"no village list for county {adcode} in data/china_admin/{VILLAGE_DIR}/"
        raise InputError(msg, file=str(path), field="adcode")
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        rows = [dict(zip(_COLS, r, strict=False)) for r in csv.reader(f)]
    for i, r in enumerate(rows, start=1):
        if len(r) != len(_COLS) or r["level"] not in ("county", "town", "village"):
            msg = f"expected {len(_COLS)} columns and level county/town/village"
            raise InputError(msg, file=path.name, row=i, field="level")
    return rows


def match_towns(towns_2016: list[tuple[str, str]], townships: tuple[Township, ...]) -> dict[str, int]:
    """2016 town code (9 digits) -> index of its 2023 township (rules in the module docstring)."""
    by_code = {t.code: i for i, t in enumerate(townships)}
    by_stem = {town_stem(t.name): i for i, t in enumerate(townships)}
    out: dict[str, int] = {}
    for code, name in towns_2016:
        stem = town_stem(name)
        if code in by_code and town_stem(townships[by_code[code]].name) == stem:
            out[code] = by_code[code]
        elif stem in by_stem:
            out[code] = by_stem[stem]
        elif code in by_code:
            out[code] = by_code[code]
    return out


def load_villages(adcode: str, townships: tuple[Township, ...]) -> VillageList:
    """The real villages of ``adcode`` keyed to its 2023 ``townships`` (see the module docstring).

    Raises
    ------
    InputError
        If the county has no village list or the file is malformed.
    """
    rows = _read_rows(str(adcode))
    towns = [(r["code"][:9], r["name"]) for r in rows if r["level"] == "town"]
    tmatch = match_towns(towns, townships)
    county = next((r for r in rows if r["level"] == "county"), None)
    seat: list[tuple[float, float] | None] = [None] * len(townships)
    for r in rows:
        if r["level"] == "town" and r["code"][:9] in tmatch and seat[tmatch[r["code"][:9]]] is None:
            seat[tmatch[r["code"][:9]]] = _point(r)
    out: list[AdminVillage] = []
    used: set[str] = set()
    n_dropped: dict[str, int] = {}
    for r in rows:
        if r["level"] != "village":
            continue
        t9 = r["code"][:9]
        if t9 not in tmatch:
            n_dropped[t9] = n_dropped.get(t9, 0) + 1
            continue
        t = tmatch[t9]
        serial = int(r["code"][9:])
        vid = f"{townships[t].code}{serial:03d}"
        while vid in used:          # two 2016 towns merged into one 2023 township
            serial += 1
            vid = f"{townships[t].code}{serial:03d}"
        used.add(vid)
        name, comm = short_name(r["village"] or r["name"])
        out.append(AdminVillage(code_2016=r["code"], village_id=vid, name=name, name_2016=r["name"],
                                township=t, ur_code=r["ur_code"] or "220", community=comm,
                                lonlat=_point(r)))
    tname = dict(towns)
    dropped = tuple(f"{c} {tname.get(c, '?')}, {k} villages" for c, k in sorted(n_dropped.items()))
    return VillageList(villages=tuple(out), seat_lonlat=tuple(seat),
                       county_lonlat=_point(county) if county else None,
                       town_map={c: townships[i].code for c, i in tmatch.items()}, dropped=dropped,
                       towns_2016=tuple(towns), n_listed=sum(r["level"] == "village" for r in rows))


def subset(vl: VillageList, n: int, rng: np.random.Generator) -> VillageList:
    """``n`` of the county's real villages (for quick small regions): every township keeps its
    share (largest remainder), communities and villages in proportion, chosen at random."""
    from netplan.synth.places import allocate

    v = vl.villages
    if n >= len(v):
        return vl
    groups: dict[tuple[int, bool], list[int]] = {}
    for i, a in enumerate(v):
        groups.setdefault((a.township, a.community), []).append(i)
    keys = sorted(groups)
    k = allocate(n, np.array([len(groups[g]) for g in keys], dtype=float), minimum=0)
    keep: list[int] = []
    for g, m in zip(keys, k, strict=True):
        keep += [int(i) for i in rng.choice(groups[g], size=min(int(m), len(groups[g])), replace=False)]
    return replace(vl, villages=tuple(v[i] for i in sorted(keep)))


_NUMERALS = "一二三四五六七八九十"


def extend(vl: VillageList, n: int, rng: np.random.Generator) -> VillageList:
    """The real villages plus ``n - len`` villager groups (村民小组, e.g. 张庄村二组) of randomly chosen
    real rural villages, for benchmarks that need more demand points than the county has villages.
    Their names say which real village they belong to; their ids use serials 600-999 of the
    township; they carry no 2016 code."""
    extra = n - len(vl.villages)
    rural = [v for v in vl.villages if not v.community]
    if extra <= 0 or not rural:
        return vl
    groups: dict[str, int] = {}
    serial: dict[int, int] = {}
    out = list(vl.villages)
    for k in rng.choice(len(rural), size=extra, replace=True):
        v = rural[int(k)]
        g = groups[v.code_2016] = groups.get(v.code_2016, 1) + 1
        s = serial[v.township] = serial.get(v.township, 599) + 1
        if s > 999:
            msg = f"more than 400 villager groups asked of township {v.village_id[:9]}"
            raise InputError(msg, field="n_villages")
        label = _NUMERALS[g - 1] if g <= 10 else str(g)
        out.append(AdminVillage(code_2016="", village_id=f"{v.village_id[:9]}{s:03d}",
                                name=f"{v.name}{label}组", name_2016="", township=v.township,
                                ur_code=v.ur_code, community=False, lonlat=None))
    return replace(vl, villages=tuple(out))
