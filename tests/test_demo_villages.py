"""The demo counties' villages are the real administrative villages of the NBS 2016 list
(data/china_admin/villages_2016/, Vonng/adcode, CC BY 4.0): names, codes and townships.

The list is parsed here independently of netplan.synth.villages (plain csv + suffix rules), so the
checks do not grade the generator with its own reading of the file.
"""

from __future__ import annotations

import csv
import gzip
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from netplan.coords import gcj02_to_wgs84
from netplan.synth import generate_county

REPO = Path(__file__).resolve().parent.parent
LISTS = REPO / "data" / "china_admin" / "villages_2016"
COUNTIES = [(REPO / "data" / "demo", "411723"), (REPO / "data" / "demo_hills", "410423")]
_COMMITTEE = re.compile(r"(村民委员会|居民委员会|村委会|居委会)$")
_TOWN = re.compile(r"(街道办事处|街道|办事处|镇|乡)$")


def _list(adcode: str) -> list[list[str]]:
    with gzip.open(LISTS / f"{adcode}.csv.gz", "rt", encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def _core(name_2016: str) -> str:
    return _COMMITTEE.sub("", name_2016)


def _same_name(csv_name: str, name_2016: str) -> bool:
    core = _core(name_2016)
    return csv_name in (core, core + "村", core + "居委会")


def _villages(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "villages.csv", dtype={"village_id": str, "township_code": str,
                                                        "nbs_code_2016": str, "ur_code_2016": str})


def _m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return float(np.hypot((lon1 - lon2) * 111320.0 * np.cos(np.radians(lat1)), (lat1 - lat2) * 110540.0))


@pytest.mark.parametrize(("folder", "adcode"), COUNTIES)
def test_listed_villages_appear_by_name_in_their_township(folder: Path, adcode: str) -> None:
    """>= 90 % (here: all, no 2016 town of either county lacks a 2023 township) of the list's
    villages are in villages.csv under their 12-digit code, by name, in the township whose name stem
    is that of their 2016 town (郭楼镇 -> 郭楼街道)."""
    rows = _list(adcode)
    town = {r[0][:9]: _TOWN.sub("", r[2]) for r in rows if r[3] == "town"}
    v = _villages(folder).set_index("nbs_code_2016")
    listed = [r for r in rows if r[3] == "village"]
    ok = 0
    for r in listed:
        if r[0] not in v.index:
            continue
        got = v.loc[r[0]]
        ok += _same_name(got["name"], r[2]) and _TOWN.sub("", got["township"]) == town[r[0][:9]]
    assert ok / len(listed) >= 0.9
    assert ok == len(listed)


@pytest.mark.parametrize(("folder", "adcode"), COUNTIES)
def test_no_village_has_an_invented_name(folder: Path, adcode: str) -> None:
    """Every row of villages.csv is a unit of the list: its code, its name, and 村 (villagers'
    committee) vs 居委会/社区 (residents' committee) as the list says; only 村 farm."""
    listed = {r[0]: r for r in _list(adcode) if r[3] == "village"}
    v = _villages(folder)
    assert v["nbs_code_2016"].isin(listed.keys()).all()
    assert v["nbs_code_2016"].is_unique
    for _, x in v.iterrows():
        r = listed[x["nbs_code_2016"]]
        assert _same_name(x["name"], r[2]), (x["name"], r[2])
        assert x["unit"] == ("community" if "居民委员会" in r[2] or r[2].endswith("居委会") else "village")
        assert x["ur_code_2016"] == r[8]
    comm = v["unit"] == "community"
    assert v.loc[comm, ["cropland_mu", "wheat_mu", "pigs", "cattle", "poultry"]].to_numpy().sum() == 0
    assert (v.loc[~comm, "cropland_mu"] > 0).mean() > 0.95


@pytest.mark.parametrize(("folder", "adcode"), COUNTIES)
def test_real_points_are_the_lists_points(folder: Path, adcode: str) -> None:
    """Villages marked location=real and seats marked seat_location=real lie within 150 m (the road
    lattice's node spacing) of the list's Amap point converted from GCJ-02 to WGS-84."""
    rows = {r[0]: r for r in _list(adcode)}
    v = _villages(folder)
    real = v[v["location"] == "real"]
    assert len(real) >= 5
    for _, x in real.iterrows():
        r = rows[x["nbs_code_2016"]]
        lon, lat = gcj02_to_wgs84(float(r[12]), float(r[13]))
        assert _m(x["lon"], x["lat"], float(lon), float(lat)) < 150.0, x["name"]
    tw = gpd.read_file(folder / "townships.geojson")
    by_stem = {_TOWN.sub("", r[2]): r for r in rows.values() if r[3] == "town" and r[12]}
    n_real = 0
    for _, t in tw[tw["seat_location"] == "real"].iterrows():
        r = by_stem.get(_TOWN.sub("", t["name"]))
        if r is None:           # seat from a town-centre unit's point: one of its real villages
            pts = v[(v["township_code"] == t["township_code"]) & (v["location"] == "real")]
            assert min(_m(t["seat_lon"], t["seat_lat"], a, b) for a, b in zip(pts["lon"], pts["lat"],
                                                                              strict=True)) < 150.0
            continue
        lon, lat = gcj02_to_wgs84(float(r[12]), float(r[13]))
        assert _m(t["seat_lon"], t["seat_lat"], float(lon), float(lat)) < 150.0, t["name"]
        n_real += 1
    assert n_real >= 0.75 * len(tw)


def test_fewer_and_more_villages_keep_real_names(tmp_path: Path) -> None:
    """With ``n_villages`` below the list a county keeps a subset of its real villages; above it,
    the extra demand points are villager groups named after a real village (张庄村二组)."""
    listed = {r[0]: r[2] for r in _list("410404") if r[3] == "village"}
    generate_county("410404", tmp_path / "few", seed=1, n_villages=8)
    few = _villages(tmp_path / "few")
    assert len(few) == 8 and few["nbs_code_2016"].isin(listed.keys()).all()
    generate_county("410404", tmp_path / "more", seed=1, n_villages=20)
    more = _villages(tmp_path / "more")
    groups = more[more["nbs_code_2016"].isna()]
    assert len(more) == 20 and len(groups) == 20 - len(listed)
    real_names = set(more.loc[more["nbs_code_2016"].notna(), "name"])
    assert all(re.sub(r"[一二三四五六七八九十\d]+组$", "", n) in real_names for n in groups["name"])
    assert more["village_id"].is_unique


def test_maps_credit_the_village_list() -> None:
    """The demo's county.toml credit reaches the map's attribution line (CC BY 4.0 asks for it)."""
    from netplan.inputs import load_county
    from netplan.maps.pages import DataAttribution, data_credit, new_map

    county = load_county(COUNTIES[0][0])
    assert "Vonng/adcode (CC BY 4.0)" in county.notes["credit"]
    boundary = county.boundary[["geometry"]].assign(credit=county.notes["credit"])
    credit = data_credit({"boundary": boundary})
    assert credit.startswith("村/Villages: Vonng/adcode (CC BY 4.0)")
    assert data_credit({"boundary": county.boundary[["geometry"]]}) == ""
    m = new_map([[32.8, 114.4], [33.2, 114.9]], "offline")
    DataAttribution(credit).add_to(m)
    page = m.get_root().render()
    assert ".attributionControl.addAttribution(" in page and "Vonng/adcode (CC BY 4.0)" in page
